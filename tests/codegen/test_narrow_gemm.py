"""The unpacked path for narrow and skinny products (codegen/narrow.py)
against NumPy, for both vector widths whatever the host picks (the GEMM
library is built for 256- and 512-bit vectors and called directly; the
512-bit one runs where the CPU has AVX-512F): odd N and K (1, 7, 17, 31,
32), every transpose combination, thread blocks computed one after the
other giving the same bits as one thread, and TILE mode's epilogue seeing
every element once."""

from __future__ import annotations

import ctypes

import numpy as np
import pytest
from gemm_lib import EP, WIDTHS
from gemm_lib import call as _call

from graphkeras.codegen.narrow import NARROW, shapes

SIZES = [(5, 7, 1), (9, 31, 17), (40, 17, 7), (37, 200, 31), (64, 1, 100),
         (29, 7, 300), (13, 32, 32), (50, 33, 10), (100, 10, 256),
         (31, 40, 20), (26, 9, 24), (19, 12, 40), (23, 5, 57)]


@pytest.mark.parametrize("vb", WIDTHS)
@pytest.mark.parametrize("m,k,n", SIZES, ids=lambda *s: None)
@pytest.mark.parametrize("ta,tb", [(0, 0), (1, 0), (0, 1), (1, 1)])
def test_narrow_products_match_numpy(vb, m, k, n, ta, tb):
    assert n <= NARROW or k <= NARROW
    rng = np.random.default_rng(m * 7 + k * 3 + n)
    a = rng.integers(-4, 5, size=(k, m) if ta else (m, k)).astype(np.float32)
    b = rng.integers(-4, 5, size=(n, k) if tb else (k, n)).astype(np.float32)
    want = (a.T if ta else a).astype(np.float64) @ (b.T if tb else b)
    one = _call(vb, a, b, m, n, k, ta, tb)
    np.testing.assert_array_equal(one, want.astype(np.float32))
    for nth in (2, 3):
        np.testing.assert_array_equal(_call(vb, a, b, m, n, k, ta, tb, nth), one)


@pytest.mark.parametrize("vb", WIDTHS)
def test_float_narrow_products_are_identical_across_thread_counts(vb):
    rng = np.random.default_rng(3)
    a = rng.normal(size=(150, 257)).astype(np.float32)
    b = rng.normal(size=(257, 10)).astype(np.float32)
    one = _call(vb, a, b, 150, 10, 257, 0, 0)
    np.testing.assert_allclose(one, a.astype(np.float64) @ b, rtol=1e-4,
                               atol=1e-4)
    np.testing.assert_array_equal(_call(vb, a, b, 150, 10, 257, 0, 0, 2), one)


@pytest.mark.parametrize("vb", WIDTHS)
@pytest.mark.parametrize("m,n", [(150, 10), (64, 16), (100, 1), (33, 5)])
def test_rows_packed_for_the_transposed_kernel_give_its_bits(vb, m, n):
    """op(A) plain with N within one vector and enough rows: the rows are
    packed transposed and go through the kernel of op(A) transposed; the
    same bits as that path on A^T, and (thread blocks of fewer rows take
    the row-wise kernel) on any thread count."""
    rng = np.random.default_rng(m + n)
    k = 257
    a = rng.normal(size=(m, k)).astype(np.float32)
    b = rng.normal(size=(k, n)).astype(np.float32)
    plain = _call(vb, a, b, m, n, k, 0, 0)
    np.testing.assert_allclose(plain, a.astype(np.float64) @ b, rtol=1e-4,
                               atol=1e-4)
    np.testing.assert_array_equal(
        _call(vb, np.ascontiguousarray(a.T), b, m, n, k, 1, 0), plain)
    for nth in (2, 3):
        np.testing.assert_array_equal(_call(vb, a, b, m, n, k, 0, 0, nth),
                                      plain)


def _check_epilogue(vb, a, b, m, n, k, ta, tb, columns):
    """TILE mode on 1 and 2 threads: the epilogue sees every element of
    op(A) @ op(B) once; with `columns`, a column's tiles in row order."""
    want = (a.T if ta else a) @ (b.T if tb else b)
    got = np.zeros((m, n), np.float32)
    seen = np.zeros((m, n), np.int64)
    order = []

    def ep(_ctx, i0, j0, mr, nr, src, ld):
        tile = np.ctypeslib.as_array(ctypes.cast(src, ctypes.POINTER(
            ctypes.c_float)), shape=(max(mr, 1) * ld,))
        for r in range(mr):
            got[i0 + r, j0:j0 + nr] = tile[r * ld:r * ld + nr]
            seen[i0 + r, j0:j0 + nr] += 1
        order.append((j0, i0))

    cb = EP(ep)
    for nth in (1, 2):
        got[:] = 0
        seen[:] = 0
        order.clear()
        _call(vb, a, b, m, n, k, ta, tb, nth, ep=cb, columns=columns)
        np.testing.assert_array_equal(got, want)
        assert (seen == 1).all()
        if columns:  # a column's tiles come in increasing row order
            for j in {j for j, _ in order}:
                rows = [i for jj, i in order if jj == j]
                assert rows == sorted(rows) and rows[0] == 0


@pytest.mark.parametrize("vb", WIDTHS)
@pytest.mark.parametrize("columns", [False, True])
def test_tile_mode_epilogue_sees_every_element_once(vb, columns):
    m, k, n = 45, 13, 70
    rng = np.random.default_rng(4)
    a = rng.integers(-3, 4, size=(m, k)).astype(np.float32)
    b = rng.integers(-3, 4, size=(n, k)).astype(np.float32)
    _check_epilogue(vb, a, b, m, n, k, 0, 1, columns)


def test_tiles_fit_the_register_file():
    """R x V accumulators at most the micro-kernel's, and beside them V
    vectors of B and a broadcast within 16 registers (AVX2, SSE) or 32
    (AVX-512); 1 to 4 vectors of columns."""
    for w, mr, nr, regs in ((4, 4, 8, 16), (8, 6, 16, 16),
                            (16, 12, 32, 32), (8, 12, 16, 32)):
        got = shapes(w, mr, nr)
        assert [v for _, v in got] == [1, 2, 3, 4]
        for r, v in got:
            assert r >= 1 and r * v * w <= mr * nr
            assert r * v + v + 1 <= regs
        assert got[0][0] * w == mr * nr  # one vector: every accumulator


@pytest.mark.parametrize("vb", WIDTHS)
@pytest.mark.parametrize("m,k", [(5, 1), (37, 9), (70, 128), (129, 33)])
def test_transposed_a_takes_every_width_with_the_row_kernels_bits(vb, m, k):
    """op(A) transposed with N up to one vector (weight gradients H^T @ G):
    the kernel with vectors along C's rows (one variant per width) gives
    exactly the bits of the row-wise kernel on A's transpose copied (the
    same fma chain over k), on every thread count."""
    rng = np.random.default_rng(m + k)
    for n in range(1, vb // 4 + 1):
        a = rng.normal(size=(k, m)).astype(np.float32)
        b = rng.normal(size=(k, n)).astype(np.float32)
        want = _call(vb, np.ascontiguousarray(a.T), b, m, n, k, 0, 0)
        np.testing.assert_allclose(want, a.T.astype(np.float64) @ b,
                                   rtol=1e-4, atol=1e-4)
        for nth in (1, 2, 3):
            got = _call(vb, a, b, m, n, k, 1, 0, nth)
            np.testing.assert_array_equal(got, want, err_msg=f"n={n}")
        bt = np.ascontiguousarray(b.T)  # and with B transposed too
        np.testing.assert_array_equal(_call(vb, a, bt, m, n, k, 1, 1), want)


@pytest.mark.parametrize("vb", WIDTHS)
@pytest.mark.parametrize("n", [1, 3, 10])
def test_transposed_a_tiles_reach_the_epilogue_in_row_order(vb, n):
    m, k = 133, 21
    rng = np.random.default_rng(n)
    a = rng.integers(-3, 4, size=(k, m)).astype(np.float32)
    b = rng.integers(-3, 4, size=(k, n)).astype(np.float32)
    _check_epilogue(vb, a, b, m, n, k, 1, 0, True)


@pytest.mark.parametrize("vb", WIDTHS)
@pytest.mark.parametrize("k,n", [(256, 10), (31, 1), (20, 17), (9, 33),
                                 (31, 300), (7, 520)])
def test_a_batch_one_row_has_the_bits_of_the_same_row_in_a_batch(vb, k, n):
    """Rows 0..3 alone (the small-M path: column blocks summed in
    registers, tails of 1, 2, 4 or 8 vectors) give exactly the bits of the
    same rows among 9 (the narrow path): both are the fma chain over
    k = 0..K-1 in order."""
    rng = np.random.default_rng(k * 1000 + n)
    a = rng.normal(size=(9, k)).astype(np.float32)
    b = rng.normal(size=(k, n)).astype(np.float32)
    many = _call(vb, a, b, 9, n, k, 0, 0)
    np.testing.assert_allclose(many, a.astype(np.float64) @ b, rtol=1e-4,
                               atol=1e-4)
    for m in (1, 2, 4):
        for nth in (1, 2):
            got = _call(vb, np.ascontiguousarray(a[:m]), b, m, n, k, 0, 0, nth)
            np.testing.assert_array_equal(got, many[:m], err_msg=f"m={m}")


_GUARDED = """
import ctypes, mmap, sys
import numpy as np
sys.path.insert(0, {here!r})
from gemm_lib import call

libc = ctypes.CDLL(None)
page = mmap.PAGESIZE
keep = []


def guarded(shape, rng):
    # an array whose last element is the last one before a page that may
    # not be read
    size = int(np.prod(shape)) * 4
    pages = (size + page - 1) // page + 1
    mem = mmap.mmap(-1, pages * page)
    base = ctypes.addressof(ctypes.c_char.from_buffer(mem))
    guard = base + (pages - 1) * page
    assert libc.mprotect(ctypes.c_void_p(guard), page, 0) == 0
    x = np.frombuffer(mem, np.float32, size // 4, guard - base - size)
    x = x.reshape(shape)
    x[...] = rng.integers(-4, 5, size=shape)
    keep.append(mem)
    return x


vb = {vb}
for m, k, n, ta, tb in {cases!r}:
    rng = np.random.default_rng(m + k + n)
    a = guarded((k, m) if ta else (m, k), rng)
    b = guarded((n, k) if tb else (k, n), rng)
    want = (a.T if ta else a).astype(np.float64) @ (b.T if tb else b)
    for nth in (1, 2):
        got = call(vb, a, b, m, n, k, ta, tb, nth)
        assert np.array_equal(got, want.astype(np.float32)), (m, k, n, ta, tb)
print("ok")
"""


@pytest.mark.parametrize("vb", WIDTHS)
def test_partial_vectors_never_read_past_b(vb):
    """A partial block of columns reads B's rows as whole vectors but for
    the last rows, and the packer reads a transposed A's panels as whole
    vectors but for the block's last row: with each operand's last element
    just before a page that may not be read, the narrow, small-M and
    packed paths give NumPy's numbers and do not fault (run in a child
    process, so a fault is a failure here)."""
    import os
    import subprocess
    import sys

    from gemm_lib import _gemm

    _gemm(vb)  # skips a width this CPU cannot run
    cases = [(m, k, n, 0, 0) for m in (1, 3, 40) for k, n in
             ((9, 10), (1, 3), (5, 20), (2, 33), (64, 7), (3, 45))]
    cases += [(40, 9, 10, 0, 1), (40, 9, 10, 1, 0), (18, 70, 50, 1, 0),
              (101, 300, 64, 1, 0), (13, 40, 40, 1, 1)]
    code = _GUARDED.format(here=os.path.dirname(__file__), vb=vb,
                           cases=cases)
    run = subprocess.run([sys.executable, "-c", code], capture_output=True,
                         text=True, timeout=300)
    assert run.returncode == 0 and run.stdout.strip() == "ok", (
        run.returncode, run.stderr[-2000:])
