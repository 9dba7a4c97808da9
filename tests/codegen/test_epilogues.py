"""passes.fuse_matmul_epilogues and codegen/epilogue.py: a product with its
elementwise consumer (bias, activation, mask, residual add, an optimizer
update) and column sums of the result runs as one kernel; compiled results
match the interpreter at every batch size (0 included), for the unpacked
small-M path, several K blocks and 1/2/3 threads (bit-identical between
thread counts); what must not fuse stays apart."""

from __future__ import annotations

import numpy as np
import pytest
from compiled_helpers import check_compiled

from graphkeras import ir
from graphkeras.codegen.matmul import blocking
from graphkeras.codegen.target import host
from graphkeras.passes.compile_pipeline import prepare_for_codegen
from graphkeras.passes.fuse_elementwise import fuse_elementwise
from graphkeras.passes.fuse_matmul_epilogues import fuse_matmul_epilogues
from graphkeras.runtime import Program, StateStore
from graphkeras.runtime.compiled import CompiledExecutable

BK = blocking(ir.float32, host().vector_bytes)


def _dense_block(k: int, n: int):
    """(x @ w + bias) -> relu, its mask, + residual, column sums."""
    b = ir.Builder("dense")
    x = b.param("x", ("N", k))
    w = b.param("w", (k, n))
    bias = b.param("bias", (n,))
    r = b.param("r", ("N", n))
    h = b.add(b.matmul(x, w), bias)
    mask = b.greater(h, b.constant(0.0))
    y = b.add(b.relu(h), r)
    return b.build([y, mask, b.reduce_sum(y, axes=(0,))])


def _ops(fn):
    return [n.op for n in fn.nodes]


def test_product_epilogue_and_column_sums_are_one_kernel():
    fn = fuse_matmul_epilogues(fuse_elementwise(_dense_block(37, 29)))
    ir.verify(fn)
    assert _ops(fn) == ["fused"]
    body = fn.nodes[0].attrs["body"]
    assert body.nodes[0].op == "matmul"
    assert "reduce_sum" in [n.op for n in body.nodes]
    assert ir.parse(ir.print_function(fn)) == fn


@pytest.mark.parametrize("k,n", [(37, 29), (BK.kc + 9, 2 * BK.nr + 3)])
def test_epilogue_kernel_matches_interpreter(k, n):
    fn = _dense_block(k, n)
    names = tuple(p.name for p in fn.params)
    prog = Program(fn, state=(), inputs=names, updates=(), outputs=(0, 1, 2))
    exe = CompiledExecutable(prog, StateStore(), threads=1)
    rng = np.random.default_rng(k)
    for rows in (0, 1, 3, 5, 2 * BK.mr + 1, 40):
        args = [rng.normal(size=tuple(rows if d == "N" else d for d in p.shape))
                .astype(np.float32) for p in fn.params]
        results = []
        for t in (1, 2, 3):
            exe.fixed_threads = t
            got = exe.run(args)
            results.append(got)
            # sums of k products: float32 rounding grows with k
            for j, (a, w) in enumerate(zip(got, ir.interpret(fn, args))):
                np.testing.assert_allclose(
                    a, w, rtol=2e-4, atol=2e-4,
                    err_msg=f"result {j} rows={rows} threads={t}")
        for other in results[1:]:
            for a, b in zip(results[0], other):
                np.testing.assert_array_equal(a, b)


def test_optimizer_update_in_the_weight_gradient_product_updates_in_place():
    # w <- w - lr * (x^T g), m <- 0.9 m + x^T g: the gradient never lands in
    # memory, the state is written in place (no copies at the end)
    b = ir.Builder("sgd")
    x = b.param("x", ("N", 11))
    g = b.param("g", ("N", 7))
    w = b.param("w", (11, 7))
    m = b.param("m", (11, 7))
    dw = b.matmul(x, g, transpose_a=True)
    m2 = b.add(b.mul(b.constant(0.9), m), dw)
    w2 = b.sub(w, b.mul(b.constant(0.1), m2))
    fn = b.build([w2, m2])
    prog = Program(fn, state=("w", "m"), inputs=("x", "g"),
                   updates=(("w", 0), ("m", 1)), outputs=())
    rng = np.random.default_rng(0)
    w0 = rng.normal(size=(11, 7)).astype(np.float32)
    m0 = rng.normal(size=(11, 7)).astype(np.float32)
    store = StateStore()
    store.define("w", fn.params[2].type, w0)
    store.define("m", fn.params[3].type, m0)
    exe = CompiledExecutable(prog, store, threads=2)
    assert [n.op for n in exe.fn.nodes] == ["fused"]
    assert not exe.layout.end_copies
    xv = rng.normal(size=(9, 11)).astype(np.float32)
    gv = rng.normal(size=(9, 7)).astype(np.float32)
    exe.run([xv, gv])
    want_w, want_m = ir.interpret(fn, [xv, gv, w0, m0])
    np.testing.assert_allclose(store["w"], want_w, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(store["m"], want_m, rtol=1e-5, atol=1e-5)


def test_what_must_not_fuse_stays_apart():
    b = ir.Builder("apart")
    x = b.param("x", ("N", 6))
    w = [b.param(f"w{i}", (6, 5)) for i in range(3)]
    p1 = b.matmul(x, w[0])  # read by two kernels
    twice = b.add(b.exp(p1), b.reduce_sum(p1, axes=(1,), keepdims=True))
    # tanh joins its product; the transposing reader of tanh stays apart
    moved = b.transpose(b.tanh(b.matmul(x, w[1])), perm=(1, 0))
    p3 = b.matmul(x, w[2])  # a result itself
    fn = b.build([twice, moved, p3])
    fused = prepare_for_codegen(fn, (0, 1, 2))
    assert _ops(fused).count("matmul") == 2, ir.print_function(fused)
    rng = np.random.default_rng(4)
    check_compiled(fn, [rng.normal(size=p.type.concrete_shape({"N": 4}))
                        .astype(np.float32) for p in fn.params])


@pytest.mark.parametrize("rows, fused", [(11, True), (300, False)])
def test_large_static_updates_stay_apart_from_their_product(rows, fused):
    # an update streaming large weight-sized arrays runs better as its own
    # loop than per tile of the product (MAX_STREAM_BYTES); small ones fuse
    from graphkeras.passes.fuse_matmul_epilogues import MAX_STREAM_BYTES

    b = ir.Builder("update")
    x = b.param("x", ("N", rows))
    g = b.param("g", ("N", 128))
    w = b.param("w", (rows, 128))
    m = b.param("m", (rows, 128))
    m2 = b.add(b.mul(b.constant(0.9), m), b.matmul(x, g, transpose_a=True))
    fn = b.build([b.sub(w, b.mul(b.constant(0.1), m2)), m2])
    streams = 4 * rows * 128 * 4  # w, m in; w, m out
    assert (streams <= MAX_STREAM_BYTES) == fused
    out = fuse_matmul_epilogues(fuse_elementwise(fn))
    assert ("matmul" not in _ops(out)) == fused, ir.print_function(out)
    rng = np.random.default_rng(5)
    check_compiled(fn, [rng.normal(size=p.type.concrete_shape({"N": 7}))
                        .astype(np.float32) for p in fn.params])
