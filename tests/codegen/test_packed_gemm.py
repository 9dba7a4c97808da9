"""The GEMM with B packed ahead (flag PACKED_B, gk_pack_b_full: a scan
packs its recurrent kernel once per loop, codegen/scan.py) against the
same product packing B itself, for both vector widths: several K blocks,
partial column panels, every transpose combination, 1 and 2 threads; the
bits must not change (the packed path reads the same panel slices it
would have packed)."""

from __future__ import annotations

import numpy as np
import pytest
from gemm_lib import WIDTHS, call, pack_b

from graphkeras import ir
from graphkeras.codegen.matmul import SMALL_M, blocking

SIZES = [(1, 40, 33), (SMALL_M + 1, 64, 256), (29, 300, 70),
         (64, 256, 64), (13, 33, 100)]


@pytest.mark.parametrize("vb", WIDTHS)
@pytest.mark.parametrize("m,k,n", SIZES, ids=lambda *s: None)
@pytest.mark.parametrize("ta,tb", [(0, 0), (1, 0), (0, 1), (1, 1)])
def test_packed_b_gives_the_same_bits(vb, m, k, n, ta, tb):
    rng = np.random.default_rng(m * 7 + k * 3 + n)
    a = rng.normal(size=(k, m) if ta else (m, k)).astype(np.float32)
    b = rng.normal(size=(n, k) if tb else (k, n)).astype(np.float32)
    packed = pack_b(vb, b, n, k, tb)
    want = (a.T if ta else a).astype(np.float64) @ (b.T if tb else b)
    for nth in (1, 2):
        got = call(vb, a, packed, m, n, k, ta, tb, nth, packed_b=True)
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4)
        if m > SMALL_M:  # the unpacked call takes the same packed path
            np.testing.assert_array_equal(
                got, call(vb, a, b, m, n, k, ta, tb, nth))


def test_sizes_span_several_k_blocks_and_partial_panels():
    for vb in WIDTHS:
        bk = blocking(ir.float32, vb)
        assert any(k > bk.kc for _, k, _ in SIZES)
        assert any(n % bk.nr for _, _, n in SIZES)


@pytest.mark.parametrize("vb", WIDTHS)
@pytest.mark.parametrize("ta,tb", [(0, 0), (1, 0), (0, 1), (1, 1)])
def test_few_rows_give_the_bits_of_a_taller_product(vb, ta, tb):
    """Up to SHORT_M rows may run on the 8-row driver (AVX-512: 32 rows
    are 4 panels of 8, not 12 + 12 + 8); every row must get the bits the
    12-row driver gives it in a taller product (the same K blocks, the
    same fma chain per element), also with B packed ahead."""
    from graphkeras.codegen.matmul import SHORT_M

    k, n, tall = 300, 80, SHORT_M + 1
    rng = np.random.default_rng(tall)
    a = rng.normal(size=(k, tall) if ta else (tall, k)).astype(np.float32)
    b = rng.normal(size=(n, k) if tb else (k, n)).astype(np.float32)
    want = call(vb, a, b, tall, n, k, ta, tb)
    packed = pack_b(vb, b, n, k, tb)
    for m in (SMALL_M + 1, 16, 20, 32, 40, 64, SHORT_M):
        part = np.ascontiguousarray(a[:, :m] if ta else a[:m])
        for nth in (1, 2):
            np.testing.assert_array_equal(
                call(vb, part, b, m, n, k, ta, tb, nth), want[:m],
                err_msg=f"{m} rows, {nth} threads")
            np.testing.assert_array_equal(
                call(vb, part, packed, m, n, k, ta, tb, nth, packed_b=True),
                want[:m], err_msg=f"{m} rows, B packed, {nth} threads")


def test_long_matmul_sum_gives_the_same_bits_on_every_thread_count():
    """A weight gradient over T x batch rows (matmul_sum, K >= PAIRED_K:
    its chunks go in pairs, codegen/matmul.py) against NumPy, and to the
    bit on 1, 2 and 3 threads."""
    from graphkeras.codegen.matmul import PAIRED_K
    from graphkeras.runtime import Program, StateStore
    from graphkeras.runtime.compiled import CompiledExecutable

    t, n = 40, PAIRED_K // 40 + 3
    rng = np.random.default_rng(5)
    a = rng.normal(size=(t, n, 70)).astype(np.float32)
    g = rng.normal(size=(t, n, 100)).astype(np.float32)
    bld = ir.Builder("f")
    f = bld.build([bld.matmul_sum(bld.param("a", a.shape),
                                  bld.param("g", g.shape))])
    prog = Program(f, state=(), inputs=("a", "g"), updates=(), outputs=(0,))
    outs = [CompiledExecutable(prog, StateStore(), threads=k).run([a, g])[0]
            for k in (1, 2, 3)]
    want = np.einsum("tnm,tnk->mk", a.astype(np.float64), g)
    np.testing.assert_allclose(outs[0], want, rtol=1e-4, atol=1e-3)
    for k, o in zip((2, 3), outs[1:]):
        np.testing.assert_array_equal(o, outs[0], err_msg=f"{k} threads")
