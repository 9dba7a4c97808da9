"""The GEMM (codegen/matmul.py) against NumPy: every transpose combination,
odd and edge sizes (partial micro-tiles, several K / M / N blocks, the
unpacked small-M path, empty dimensions), integer and float dtypes, and
1, 2 and 3 threads giving bit-identical results (K is never split)."""

from __future__ import annotations

import numpy as np
import pytest

from graphkeras import ir
from graphkeras.codegen.matmul import SMALL_M, blocking
from graphkeras.codegen.target import host
from graphkeras.runtime import Program, StateStore
from graphkeras.runtime.compiled import CompiledExecutable

BK = blocking(ir.float32, host().vector_bytes)

SHAPES = [
    (1, 1, 1),
    (SMALL_M, 9, 2 * BK.nr + 3),  # small-M path, masked right edge
    (SMALL_M + 1, 7, BK.nr - 1),  # one partial row and column panel
    (2 * BK.mr + 1, BK.kc + 5, 2 * BK.nr + 1),  # two K blocks
    (BK.mc + 3, 3, 11),  # two M blocks
    # more row panels than column panels, M <= N: split by columns
    (11 * BK.mr - 4, 9, 8 * BK.nr),
    (0, 4, 5),
    (3, 0, 5),
]


def _product(m, k, n, ta, tb, dt=ir.float32):
    b = ir.Builder("mm")
    x = b.param("x", (k, m) if ta else (m, k), dt)
    w = b.param("w", (n, k) if tb else (k, n), dt)
    fn = b.build([b.matmul(x, w, transpose_a=ta, transpose_b=tb)])
    prog = Program(fn, state=(), inputs=("x", "w"), updates=(), outputs=(0,))
    return fn, CompiledExecutable(prog, StateStore(), threads=1)


def _run(exe, args, threads):
    exe.fixed_threads = threads
    return exe.run(args)[0]


@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: "x".join(map(str, s)))
@pytest.mark.parametrize("ta,tb", [(False, False), (True, False),
                                   (False, True), (True, True)])
def test_gemm_matches_numpy_for_every_thread_count(shape, ta, tb):
    m, k, n = shape
    fn, exe = _product(m, k, n, ta, tb)
    rng = np.random.default_rng(m * 1000 + k * 10 + n)
    # small integers: every product and sum is exact in float32
    args = [rng.integers(-4, 5, size=p.shape).astype(np.float32)
            for p in fn.params]
    a = args[0].T if ta else args[0]
    w = args[1].T if tb else args[1]
    want = a.astype(np.float64) @ w.astype(np.float64)
    for t in (1, 2, 3):
        got = _run(exe, args, t)
        np.testing.assert_array_equal(got, want.astype(np.float32),
                                      err_msg=f"{shape} ta={ta} tb={tb} "
                                              f"threads={t}")


def test_wide_product_spans_several_n_blocks():
    m, k, n = 7, 3, BK.nc + BK.nr + 1
    fn, exe = _product(m, k, n, False, False)
    rng = np.random.default_rng(1)
    args = [rng.integers(-4, 5, size=p.shape).astype(np.float32)
            for p in fn.params]
    for t in (1, 2):
        np.testing.assert_array_equal(_run(exe, args, t), args[0] @ args[1])


@pytest.mark.parametrize("threads", [2, 3])
def test_float_results_identical_across_runs_and_thread_counts(threads):
    m, k, n = 37, BK.kc + 40, 3 * BK.nr + 5
    fn, exe = _product(m, k, n, False, True)
    rng = np.random.default_rng(2)
    args = [rng.normal(size=p.shape).astype(np.float32) for p in fn.params]
    one = _run(exe, args, 1)
    first = _run(exe, args, threads)
    again = _run(exe, args, threads)
    np.testing.assert_array_equal(first, again)
    np.testing.assert_array_equal(first, one)
    want = ir.interpret(fn, args)[0]
    np.testing.assert_allclose(one, want, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("k", [2 * BK.kc + 3, 1024])
@pytest.mark.parametrize("tb", [False, True])
def test_column_chunks_read_a_rows_in_place_with_the_same_bits(k, tb):
    # several threads split by columns: full MR-row panels of A are read
    # in place, the partial last one packed (K = 1024: rows 4 KB apart,
    # every panel packed); the bits are those of one thread's packed run
    m, n = 10 * BK.mr + 7, 6 * BK.nr + 5
    fn, exe = _product(m, k, n, False, tb)
    rng = np.random.default_rng(k)
    args = [rng.normal(size=p.shape).astype(np.float32) for p in fn.params]
    one = _run(exe, args, 1)
    for t in (2, 3):
        np.testing.assert_array_equal(_run(exe, args, t), one,
                                      err_msg=f"threads={t}")
    w = args[1].T if tb else args[1]
    want = args[0].astype(np.float64) @ w.astype(np.float64)
    np.testing.assert_allclose(one, want, rtol=1e-4, atol=1e-3)


@pytest.mark.parametrize("dt", [ir.float64, ir.int32, ir.int64])
def test_other_dtypes(dt):
    for m, k, n, ta, tb in [(9, 13, 21, False, True), (2, 5, 19, True, False),
                            (BK.mr + 2, 3, BK.nr + 3, True, True),
                            # narrow, A transposed, within one vector
                            (BK.mr + 7, 6, 5, True, False),
                            (BK.mr + 7, 40, 7, True, True)]:
        fn, exe = _product(m, k, n, ta, tb, dt)
        rng = np.random.default_rng(m)
        args = [rng.integers(-9, 10, size=p.shape).astype(dt.np)
                for p in fn.params]
        want = ir.interpret(fn, args)[0]
        for t in (1, 2):
            np.testing.assert_array_equal(_run(exe, args, t), want)


def test_batched_product_with_broadcast_batch():
    b = ir.Builder("bmm")
    x = b.param("x", (3, 1, 5, 7))
    w = b.param("w", (4, 9, 7))
    fn = b.build([b.matmul(x, w, transpose_b=True)])
    prog = Program(fn, state=(), inputs=("x", "w"), updates=(), outputs=(0,))
    exe = CompiledExecutable(prog, StateStore(), threads=2)
    rng = np.random.default_rng(3)
    args = [rng.integers(-4, 5, size=p.shape).astype(np.float32)
            for p in fn.params]
    np.testing.assert_array_equal(exe.run(args)[0], ir.interpret(fn, args)[0])


def test_blocking_follows_the_caches():
    small = blocking(ir.float32, 32, caches=(32 * 1024, 256 * 1024, 1 << 20))
    big = blocking(ir.float32, 32, caches=(48 * 1024, 2 << 20, 32 << 20))
    assert (small.mr, small.nr) == (6, 16) and small.w == 8
    assert small.kc <= big.kc and small.mc < big.mc and small.nc < big.nc
    wide = blocking(ir.float32, 64)
    assert (wide.mr, wide.nr) == (12, 32)
    for bk in (small, big, wide):
        # the A and B micro-panels fit in L1, the A block in half of L2
        assert (bk.mr + bk.nr) * bk.kc * 4 <= 48 * 1024
        assert bk.mc % bk.mr == 0 and bk.nc % bk.nr == 0
