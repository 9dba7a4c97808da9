"""passes/fuse_conv_epilogues: the bias add, BatchNormalization in
inference, the activation (and a residual add) run inside the conv kernel,
with the interpreter's results; consumers that re-index the conv's value
or are not alone stay outside."""

from __future__ import annotations

import numpy as np
from compiled_helpers import check_compiled

from graphkeras import ir
from graphkeras.passes.compile_pipeline import prepare_for_codegen
from graphkeras.passes.fuse_conv_epilogues import fuse_conv_epilogues


def _block(residual: bool = False, transpose_out: bool = False):
    b = ir.Builder("block")
    x = b.param("x", ("N", 7, 6, 5))
    w = b.param("w", (3, 3, 5, 5))
    bias = b.param("bias", (5,))
    scale = b.param("scale", (5,))
    shift = b.param("shift", (5,))
    y = b.conv(x, w, strides=(1, 1), pads=((1, 1), (1, 1)), dilation=(1, 1))
    y = b.add(b.mul(b.add(y, bias), scale), shift)  # bias, then BN (inference)
    if residual:
        y = b.add(y, x)
    y = b.relu(y)
    if transpose_out:
        y = b.transpose(y, perm=(0, 3, 1, 2))
    return b.build([y])


def _heads(fn):
    return [n.attrs["body"].nodes[0].op if n.op == "fused" else n.op
            for n in fn.nodes]


def test_bias_batchnorm_activation_and_residual_run_in_the_conv_kernel():
    rng = np.random.default_rng(0)
    for residual in (False, True):
        fn = _block(residual)
        prepared = prepare_for_codegen(fn, (0,))
        assert _heads(prepared) == ["conv"], prepared
        args = [rng.normal(size=p.type.concrete_shape({"N": 3})).astype(
            np.float32) for p in fn.params]
        check_compiled(fn, args, what=f"residual={residual}")


def test_a_conv_read_elsewhere_or_reindexed_keeps_its_own_kernel():
    b = ir.Builder("two_users")
    x = b.param("x", ("N", 5, 5, 2))
    w = b.param("w", (3, 3, 2, 4))
    c = b.conv(x, w, strides=(1, 1), pads=((0, 0), (0, 0)), dilation=(1, 1))
    fn = b.build([b.relu(c), b.reduce_sum(c)])
    out = fuse_conv_epilogues(fn)
    assert [n.op for n in out.nodes] == [n.op for n in fn.nodes]
    b = ir.Builder("moved")
    x = b.param("x", ("N", 5, 5, 2))
    w = b.param("w", (3, 3, 2, 4))
    c = b.conv(x, w, strides=(1, 1), pads=((0, 0), (0, 0)), dilation=(1, 1))
    fn = b.build([b.exp(b.transpose(c, perm=(0, 2, 1, 3)))])
    prepared = prepare_for_codegen(fn, (0,))
    assert "conv" in _heads(prepared) and len(prepared.nodes) == 2
    xv = np.random.default_rng(1).normal(size=(2, 5, 5, 2)).astype(np.float32)
    wv = np.random.default_rng(2).normal(size=(3, 3, 2, 4)).astype(np.float32)
    check_compiled(fn, [xv, wv], what="transposed consumer")


def test_inference_pooling_joins_the_conv_kernel():
    rng = np.random.default_rng(3)
    for pool in ("max_pool", "avg_pool"):
        for act in (True, False):
            b = ir.Builder("infer")
            x = b.param("x", ("N", 9, 8, 3))
            w = b.param("w", (3, 3, 3, 20))
            bias = b.param("bias", (20,))
            y = b.conv(x, w, strides=(1, 1), pads=((0, 0), (1, 1)),
                       dilation=(1, 1))
            if act:
                y = b.relu(b.add(y, bias))
            y = b.op(pool, y, window=(2, 3), strides=(2, 2),
                     pads=((0, 1), (1, 1)))
            fn = b.build([b.reshape(y, shape=("N", 4 * 4 * 20))])
            prepared = prepare_for_codegen(fn, (0,))
            bodies = [[m.op for m in n.attrs["body"].nodes]
                      for n in prepared.nodes if n.op == "fused"]
            assert any(ops[0] == "conv" and ops[-1] == pool for ops in bodies), (
                bodies)
            args = [rng.normal(size=p.type.concrete_shape({"N": 5})).astype(
                np.float32) for p in fn.params]
            check_compiled(fn, args, what=f"{pool} act={act}")
    # a residual (a second full-size operand) keeps the pooling apart
    b = ir.Builder("residual")
    x = b.param("x", ("N", 6, 6, 4))
    w = b.param("w", (3, 3, 4, 4))
    y = b.relu(b.add(b.conv(x, w, strides=(1, 1), pads=((1, 1), (1, 1)),
                            dilation=(1, 1)), x))
    fn = b.build([b.max_pool(y, window=(2, 2), strides=(2, 2),
                             pads=((0, 0), (0, 0)))])
    prepared = prepare_for_codegen(fn, (0,))
    assert "max_pool" in [n.op for n in prepared.nodes]


def test_training_pooling_joins_the_conv_kernel_and_the_activation_is_kept():
    from conv_helpers import check_identical_across_threads

    from graphkeras.passes import differentiate

    for pool, window, strides, pads in (
            ("max_pool", (2, 2), (2, 2), ((0, 0), (0, 0))),
            ("avg_pool", (3, 2), (2, 1), ((1, 1), (0, 1)))):
        b = ir.Builder("train_step")
        x = b.param("x", ("N", 9, 8, 3))
        w = b.param("w", (3, 3, 3, 20))
        bias = b.param("bias", (20,))
        act = b.relu(b.add(b.conv(x, w, strides=(1, 1), pads=((0, 0), (1, 1)),
                                  dilation=(1, 1)), bias))
        y = b.op(pool, act, window=window, strides=strides, pads=pads)
        fn = differentiate(b.build([b.reduce_sum(b.mul(y, y))]),
                           ["w", "bias"])
        prepared = prepare_for_codegen(fn, tuple(range(len(fn.results))))
        bodies = [[m.op for m in n.attrs["body"].nodes]
                  for n in prepared.nodes if n.op == "fused"]
        assert any(ops[0] == "conv" and ops[-1] == pool for ops in bodies), (
            bodies)
        assert pool not in [n.op for n in prepared.nodes]
        # the activation stays a result of the kernel (the pooling's
        # gradient reads it)
        assert any(n.op == "fused" and len(n.outputs) >= 2 and
                   n.attrs["body"].nodes[-1].op == pool
                   for n in prepared.nodes)
        check_identical_across_threads(fn, batch=5)
        check_identical_across_threads(fn, batch=1)
