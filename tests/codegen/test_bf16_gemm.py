"""bfloat16 products (codegen/bf16.py) against NumPy on bfloat16-rounded
operands: the conversion path (256-bit library, as on AVX2 hosts) and, on
a CPU with AVX512_BF16, the `vdpbf16ps` pair kernel (512-bit library):
odd K (pairs with an empty half), edge tiles, several K blocks, every
transpose, thread blocks identical to one thread, TILE mode."""

from __future__ import annotations

import numpy as np
import pytest
from gemm_lib import EP, WIDTHS, call

from graphkeras.codegen.bf16 import dot_pairs
from graphkeras.ir.bf16 import round_bf16


def _want(a, b, ta, tb):
    x = round_bf16(a.T if ta else a).astype(np.float64)
    y = round_bf16(b.T if tb else b).astype(np.float64)
    return x @ y


def test_rounding_is_to_nearest_even():
    x = np.array([1.0, 1 + 2 ** -8, 1 + 3 * 2 ** -8, 1 + 2 ** -9, -2.5e-3,
                  3.0e38], np.float32)
    r = round_bf16(x)
    assert r[0] == 1.0 and r[1] == 1.0  # tie: to even
    assert r[2] == 1 + 2 ** -6  # tie: up to even
    assert r[3] == 1.0
    assert (r.view(np.uint32) & 0xFFFF == 0).all()
    np.testing.assert_allclose(r, x, rtol=2 ** -8)


@pytest.mark.parametrize("vb", WIDTHS)
@pytest.mark.parametrize("m,k,n", [(1, 1, 1), (13, 7, 40), (30, 301, 33),
                                   (64, 3, 5), (7, 64, 100)])
@pytest.mark.parametrize("ta,tb", [(0, 0), (1, 0), (0, 1), (1, 1)])
def test_bf16_products_match_rounded_numpy(vb, m, k, n, ta, tb):
    rng = np.random.default_rng(m + 10 * k + n)
    a = rng.normal(size=(k, m) if ta else (m, k)).astype(np.float32)
    b = rng.normal(size=(n, k) if tb else (k, n)).astype(np.float32)
    got = call(vb, a, b, m, n, k, ta, tb, bf16=True)
    want = _want(a, b, ta, tb)
    # sums of exact products in float32: only the additions round
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=2e-6 * k)
    # and they are not float32 products
    full = (a.T if ta else a).astype(np.float64) @ (b.T if tb else b)
    if k >= 7 and m * n > 100:
        assert np.abs(got - full).max() > 1e-4
    for nth in (2, 3):
        np.testing.assert_array_equal(
            call(vb, a, b, m, n, k, ta, tb, nth, bf16=True), got)


@pytest.mark.parametrize("vb", WIDTHS)
def test_bf16_tile_mode(vb):
    m, k, n = 40, 51, 70
    rng = np.random.default_rng(5)
    a = rng.normal(size=(m, k)).astype(np.float32)
    b = rng.normal(size=(k, n)).astype(np.float32)
    got = np.zeros((m, n), np.float32)
    import ctypes

    def ep(_ctx, i0, j0, mr, nr, src, ld):
        tile = np.ctypeslib.as_array(ctypes.cast(src, ctypes.POINTER(
            ctypes.c_float)), shape=(max(mr, 1) * ld,))
        for r in range(mr):
            got[i0 + r, j0:j0 + nr] = tile[r * ld:r * ld + nr]

    cb = EP(ep)
    call(vb, a, b, m, n, k, 0, 0, 1, ep=cb, bf16=True)
    np.testing.assert_allclose(got, _want(a, b, 0, 0), rtol=1e-5, atol=1e-4)


def test_host_kernel_is_reported():
    assert dot_pairs(32) is False


def test_bf16_conversion_path_of_512_bit_hosts_without_avx512_bf16(
        monkeypatch):
    # an AVX-512 CPU without AVX512_BF16 (Skylake-X, Cascade Lake, Ice
    # Lake): the 512-bit library rounds and converts instead of vdpbf16ps
    import gemm_lib

    from graphkeras.codegen import bf16

    monkeypatch.setattr(bf16, "dot_pairs", lambda vector_bytes: False)
    monkeypatch.setattr(gemm_lib, "_LIBS", {})
    rng = np.random.default_rng(3)
    for m, k, n, ta, tb in [(13, 7, 40, 0, 0), (30, 301, 33, 1, 0),
                            (7, 64, 100, 0, 1), (1, 1, 1, 1, 1)]:
        a = rng.normal(size=(k, m) if ta else (m, k)).astype(np.float32)
        b = rng.normal(size=(n, k) if tb else (k, n)).astype(np.float32)
        got = call(64, a, b, m, n, k, ta, tb, bf16=True)
        np.testing.assert_allclose(got, _want(a, b, ta, tb), rtol=1e-5,
                                   atol=2e-6 * k)
        np.testing.assert_array_equal(
            call(64, a, b, m, n, k, ta, tb, 2, bf16=True), got)
