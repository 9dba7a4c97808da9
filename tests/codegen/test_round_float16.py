"""round_float16 compiled: bit for bit NumPy's float32 -> float16 -> float32
(ties to even, float16 subnormals, overflow to inf from 65520, signed
zeros, inf, nan) over every float32 exponent that float16 can hold, on the
vector and the scalar tail of the loop."""

from __future__ import annotations

import numpy as np
import pytest
from compiled_helpers import compile_function

from graphkeras import ir


@pytest.fixture(scope="module")
def rounder():
    b = ir.Builder("round16")
    x = b.param("x", ("N",), ir.float32)
    return compile_function(b.build([b.round_float16(x)]))


def _numpy(x):
    with np.errstate(over="ignore"):
        return x.astype(np.float16).astype(np.float32)


def _same_bits(got, want):
    equal = got.view(np.uint32) == want.view(np.uint32)
    return equal | (np.isnan(got) & np.isnan(want))


def test_dense_sweep_of_float16_exponents(rounder):
    # from 2^-26 (rounds to 0) to 2^16 (inf), every 37th float32, both signs
    bits = np.arange(0x32800000, 0x47800000, 37, dtype=np.uint32)
    x = bits.view(np.float32)
    x = np.concatenate([x, -x])
    got = rounder.run([x])[0]
    bad = ~_same_bits(got, _numpy(x))
    assert not bad.any(), (x[bad][:5], got[bad][:5])


@pytest.mark.parametrize("n", [1, 7, 16, 33])
def test_specials_and_odd_lengths(rounder, n):
    specials = np.float32([0.0, -0.0, np.inf, -np.inf, np.nan, 65504.0,
                           65519.996, 65520.0, -65520.0, 1e9, 2.0 ** -25,
                           3 * 2.0 ** -25, 2.0 ** -24, 2.0 ** -14,
                           1 + 2.0 ** -11, 1 + 3 * 2.0 ** -11, -2.5e-6])
    x = np.resize(specials, n).astype(np.float32)
    got = rounder.run([x])[0]
    bad = ~_same_bits(got, _numpy(x))
    assert not bad.any(), (x[bad], got[bad])


def test_random_bit_patterns(rounder):
    rng = np.random.default_rng(7)
    x = rng.integers(0, 2 ** 32, size=100_003, dtype=np.uint64)
    x = x.astype(np.uint32).view(np.float32)
    # float32 subnormals are read as zero by the kernels (DAZ); keep them out
    x = np.where(np.abs(x) < np.float32(2.0 ** -126), np.float32(0.5), x)
    got = rounder.run([x])[0]
    bad = ~_same_bits(got, _numpy(x))
    assert not bad.any(), (x[bad][:5], got[bad][:5])
