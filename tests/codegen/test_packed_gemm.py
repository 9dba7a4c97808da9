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
