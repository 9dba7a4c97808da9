"""Depthwise convolutions (codegen/depthwise.py): conv with groups equal
to the channels and one output channel per group, its input gradient
(conv_transpose) and its filter gradient, compiled, against the float64
reference interpreter, over the shapes the kernel plans statically:
channel counts around the vector width (masked tails), depth multipliers
1 to 3, kernels 1, 3 and 5,
strides 1 to 3, dilation, "same" / "valid" / explicit pads, 1-D and 2-D,
batch 1 and more; and inside a model, with a fused epilogue, and the
layer's gradients against finite differences."""

from __future__ import annotations

import numpy as np
import pytest
from compiled_helpers import compile_function
from conv_helpers import check_identical_across_threads, draw_spatial
from hypothesis import given, settings
from hypothesis import strategies as st

from graphkeras import ir
from graphkeras.codegen import depthwise


def _promoted(fn: ir.Function) -> ir.Function:
    b = ir.Builder(fn.name)
    ps = [b.param(p.name, p.type.with_dtype(ir.float64)) for p in fn.params]
    node = fn.nodes[-1]
    return b.build([b.op(node.op, *ps, **dict(node.attrs))])


@st.composite
def depthwise_cases(draw, op: str):
    D = draw(st.sampled_from([1, 2, 2]))
    dtype = draw(st.sampled_from([ir.float32, ir.float32, ir.float64]))
    C = draw(st.sampled_from([2, 3, 16, 17, 33]))
    kernel = [draw(st.sampled_from([1, 3, 3, 5])) for _ in range(D)]
    strides = [draw(st.sampled_from([1, 2, 2, 3])) for _ in range(D)]
    # stride and dilation together: Keras refuses it, the op does not
    dilation = [draw(st.sampled_from([1, 1, 2])) for _ in strides]
    limit = {1: 40, 2: 14}[D]
    sizes, pads, outs = draw_spatial(draw, kernel, strides, dilation, limit)
    n = draw(st.sampled_from([1, 1, 2, 3]))
    M = draw(st.sampled_from([1, 1, 2, 3]))  # the depth multiplier
    attrs = {"strides": tuple(strides), "pads": tuple(pads),
             "dilation": tuple(dilation), "groups": C}
    x, w, g = ("N", *sizes, C), (*kernel, 1, C * M), ("N", *outs, C * M)
    taps = int(np.prod(kernel))
    if op == "conv":
        types, extra, terms = [x, w], {}, taps
    elif op == "conv_transpose":
        types, extra, terms = [g, w], {"shape": tuple(sizes)}, taps * M
    else:
        types, extra = [x, g], {"shape": tuple(kernel)}
        terms = n * int(np.prod(outs))
    return types, {**attrs, **extra}, dtype, n, terms, draw(st.integers(0, 2**31))


@pytest.mark.parametrize("op", ["conv", "conv_transpose", "conv_filter_grad"])
@settings(max_examples=12, deadline=None)
@given(data=st.data())
def test_depthwise_kernels_match_the_reference(op, data):
    types, attrs, dtype, n, terms, seed = data.draw(depthwise_cases(op))
    b = ir.Builder(op)
    ps = [b.param(f"x{i}", ir.TensorType(t, dtype)) for i, t in enumerate(types)]
    fn = b.build([b.op(op, *ps, **attrs)])
    assert depthwise.axes(fn.nodes[-1]) is not None  # the depthwise path runs
    rng = np.random.default_rng(seed)
    args = [rng.uniform(-1, 1, p.type.concrete_shape({"N": n})).astype(
        p.dtype.np) for p in fn.params]
    got = compile_function(fn).run(args)[0]
    want = ir.interpret(_promoted(fn), [a.astype(np.float64) for a in args])[0]
    assert got.shape == want.shape and got.dtype == dtype.np
    if dtype == ir.float64:
        np.testing.assert_allclose(got, want, rtol=1e-11, atol=1e-11)
        return
    bound = 4 * np.finfo(np.float32).eps * terms * max(1.0, np.sqrt(terms))
    err = float(np.max(np.abs(got - want), initial=0.0))
    assert err <= bound, f"max error {err:.3g} > {bound:.3g}"


def _mobile_block(C=19, stride=2):
    """MobileNetV2's depthwise step: conv, BatchNormalization in inference
    (scale, shift), ReLU6."""
    b = ir.Builder("block")
    x = b.param("x", ("N", 9, 8, C))
    w = b.param("w", (3, 3, 1, C))
    scale = b.param("scale", (C,))
    shift = b.param("shift", (C,))
    pads = ((0, 1), (0, 1)) if stride == 2 else ((1, 1), (1, 1))
    y = b.conv(x, w, strides=(stride, stride), pads=pads, dilation=(1, 1),
               groups=C)
    y = b.relu(b.add(b.mul(y, scale), shift))
    y = b.minimum(y, b.scalar_like(6.0, y))
    return b.build([y])


@pytest.mark.parametrize("stride", [1, 2])
def test_the_epilogue_runs_in_the_depthwise_kernel(stride):
    from compiled_helpers import check_compiled

    from graphkeras.passes.compile_pipeline import prepare_for_codegen

    fn = _mobile_block(stride=stride)
    prepared = prepare_for_codegen(fn, (0,))
    assert [n.attrs["body"].nodes[0].op if n.op == "fused" else n.op
            for n in prepared.nodes] == ["conv"], prepared
    rng = np.random.default_rng(stride)
    args = [rng.normal(size=p.type.concrete_shape({"N": 3})).astype(np.float32)
            * 3 for p in fn.params]
    check_compiled(fn, args, what=f"stride {stride}")


@settings(max_examples=4, deadline=None)
@given(data=st.data())
def test_depthwise_gradients_match_finite_differences(data):
    from helpers import check_grads

    C = data.draw(st.sampled_from([3, 17]))
    s = data.draw(st.sampled_from([1, 2]))
    k = data.draw(st.sampled_from([3, 5]))
    h, w = data.draw(st.integers(k, 9)), data.draw(st.integers(k - 2, 9))
    b = ir.Builder("chain")
    x = b.param("x", ("N", h, w, C), ir.float64)
    w1 = b.param("w1", (k, k, 1, C), ir.float64)
    w2 = b.param("w2", (3, 1, 1, C), ir.float64)
    y = b.conv(x, w1, strides=(s, s), pads=((k // 2, k // 2),) * 2,
               dilation=(1, 1), groups=C)
    y = b.conv(b.tanh(y), w2, strides=(1, 1), pads=((0, 0), (1, 0)),
               dilation=(1, 1), groups=C)
    fn = b.build([b.reduce_sum(b.mul(y, b.tanh(y)))])
    rng = np.random.default_rng(data.draw(st.integers(0, 2**31 - 1)))
    n = data.draw(st.sampled_from([1, 2]))
    args = [rng.normal(size=p.type.concrete_shape({"N": n})) * 0.5
            for p in fn.params]
    check_grads(fn, args, ["x", "w1", "w2"], rng=rng)


def test_depthwise_results_are_identical_for_one_two_and_three_threads():
    from graphkeras.passes import differentiate

    b = ir.Builder("dw_step")
    x = b.param("x", ("N", 9, 8, 21))
    w = b.param("w", (3, 3, 1, 21))
    h = b.conv(x, w, strides=(2, 2), pads=((1, 1), (1, 1)), dilation=(1, 1),
               groups=21)
    fn = differentiate(b.build([b.reduce_sum(b.mul(h, h))]), ["x", "w"])
    check_identical_across_threads(fn, batch=5)
