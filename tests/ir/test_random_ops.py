"""Counter-based random ops: reproducible for a (seed, counter), different
across counters and seeds, with the right distribution, and bit-exact to the
hash documented in graphkeras/ir/ops/random.py (which compiled code must
implement too)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from graphkeras import ir

BIG = 100_000  # elements for the statistical checks


def _random_fn(op: str, shape, counter_dtype=ir.int64, **attrs) -> ir.Function:
    b = ir.Builder(op)
    c = b.param("counter", (), counter_dtype)
    return b.build([b.op(op, c, shape=shape, **attrs)])


def _run(op, shape, counter, env=None, **attrs) -> np.ndarray:
    fn = _random_fn(op, shape, **attrs)
    return ir.interpret(fn, [np.int64(counter)], env=env)[0]


@pytest.mark.parametrize("op", ["random_uniform", "random_normal"])
def test_reproducible_for_the_same_seed_and_counter(op):
    a = _run(op, (7, 13), 5, seed=42)
    b = _run(op, (7, 13), 5, seed=42)
    np.testing.assert_array_equal(a, b)
    assert len(np.unique(a)) == a.size  # no repeats within one draw


@pytest.mark.parametrize("op", ["random_uniform", "random_normal"])
@pytest.mark.parametrize(
    "other", [{"counter": 6}, {"seed": 43}, {"counter": 5 + 2**32}],
    ids=["counter", "seed", "counter-high-bits"],
)
def test_differs_for_other_counters_and_seeds(op, other):
    base = {"counter": 5, "seed": 42}
    a = _run(op, (1000,), base["counter"], seed=base["seed"])
    args = dict(base, **other)
    b = _run(op, (1000,), args["counter"], seed=args["seed"])
    # independent streams: (almost) no element coincides
    assert np.mean(a == b) < 0.01
    assert abs(np.corrcoef(a, b)[0, 1]) < 0.1


@pytest.mark.parametrize("op", ["random_uniform", "random_normal"])
def test_prefix_does_not_depend_on_the_batch_size(op):
    # element i depends on i only (row-major), so a smaller batch is a prefix
    small = _run(op, ("N", 3), 1, env={"N": 2}, seed=7)
    large = _run(op, ("N", 3), 1, env={"N": 5}, seed=7)
    assert small.shape == (2, 3) and large.shape == (5, 3)
    np.testing.assert_array_equal(small, large[:2])


@pytest.mark.parametrize("dtype", [ir.float32, ir.float64])
@pytest.mark.parametrize("low, high", [(0.0, 1.0), (-2.0, 3.0)])
def test_uniform_distribution(dtype, low, high):
    u = _run("random_uniform", (BIG,), 3, seed=11, low=low, high=high,
             dtype=dtype)
    assert u.dtype == dtype.np
    assert u.min() >= low and u.max() < high
    mean, var = (low + high) / 2, (high - low) ** 2 / 12
    # 6 standard errors: fails by chance with probability ~1e-9
    assert abs(u.mean() - mean) < 6 * math.sqrt(var / BIG)
    assert abs(u.var() - var) < 6 * var * math.sqrt(0.8 / BIG)
    # flat histogram: every bin within 6 sigma of its expected count
    counts, _ = np.histogram(u, bins=16, range=(low, high))
    expected = BIG / 16
    assert np.all(np.abs(counts - expected) < 6 * math.sqrt(expected))
    # neighbours uncorrelated
    assert abs(np.corrcoef(u[:-1], u[1:])[0, 1]) < 6 / math.sqrt(BIG)


@pytest.mark.parametrize("dtype", [ir.float32, ir.float64])
@pytest.mark.parametrize("mean, stddev", [(0.0, 1.0), (0.5, 0.25)])
def test_normal_distribution(dtype, mean, stddev):
    z = _run("random_normal", (BIG,), 3, seed=11, mean=mean, stddev=stddev,
             dtype=dtype)
    assert z.dtype == dtype.np and np.all(np.isfinite(z))
    assert abs(z.mean() - mean) < 6 * stddev / math.sqrt(BIG)
    # the standard error of the sample std is about stddev / sqrt(2 n)
    assert abs(z.std() - stddev) < 6 * stddev / math.sqrt(2 * BIG)
    # tails: P(|z| > 2 sigma) = 4.55%, P(|z| > 3 sigma) = 0.27%
    t = np.abs(z - mean) / stddev
    assert abs(np.mean(t > 2) - 0.0455) < 0.005
    assert abs(np.mean(t > 3) - 0.0027) < 0.001


def test_counter_may_be_int32():
    fn = _random_fn("random_uniform", (4,), ir.int32, seed=1)
    a = ir.interpret(fn, [np.int32(9)])[0]
    np.testing.assert_array_equal(a, _run("random_uniform", (4,), 9, seed=1))


@pytest.mark.parametrize("op", ["random_uniform", "random_normal"])
def test_an_offset_draws_a_window_of_the_larger_draw(op):
    # a data-parallel rank draws rows [3, 5) of one process's (5, 3) noise
    whole = _run(op, (5, 3), 4, seed=7)
    b = ir.Builder(op)
    c = b.param("counter", (), ir.int64)
    at = b.param("offset", (), ir.int32)
    fn = b.build([b.op(op, c, at, shape=("N", 3), seed=7)])
    part = ir.interpret(fn, [np.int64(4), np.int32(9)], env={"N": 2})[0]
    np.testing.assert_array_equal(part, whole[3:])
    with pytest.raises(ir.IRTypeError, match="offset must be an integer"):
        b = ir.Builder(op)
        c = b.param("counter", (), ir.int64)
        b.op(op, c, b.param("at", (2,), ir.int64), shape=(2,), seed=1)


# --- the documented hash, re-derived with Python integers --------------------

_M32 = 0xFFFFFFFF


def _mix32(x: int) -> int:
    x ^= x >> 16
    x = (x * 0x7FEB352D) & _M32
    x ^= x >> 15
    x = (x * 0x846CA68B) & _M32
    x ^= x >> 16
    return x


def _bits(seed: int, counter: int, i: int, stream: int) -> int:
    streams = (0x243F6A88, 0x85A308D3, 0x13198A2E)
    key = _mix32((seed ^ streams[stream]) & _M32)
    key = _mix32(key ^ (counter & _M32))
    key = _mix32(key ^ (counter >> 32))
    h = _mix32(((i * 0x9E3779B9) & _M32) ^ key)
    return _mix32((h + key) & _M32)


@pytest.mark.parametrize("seed, counter", [(0, 0), (42, 7), (2**31 - 1, 2**33 + 5)])
def test_uniform_matches_the_documented_hash(seed, counter):
    got = _run("random_uniform", (50,), counter, seed=seed, dtype=ir.float64)
    want = [(_bits(seed, counter, i, 0) >> 8) * 2.0**-24 for i in range(50)]
    np.testing.assert_array_equal(got, want)


def test_normal_matches_the_documented_box_muller():
    seed, counter = 3, 9
    got = _run("random_normal", (50,), counter, seed=seed, dtype=ir.float64)
    want = []
    for i in range(50):
        u1 = (_bits(seed, counter, i, 1) >> 8) * 2.0**-24 + 2.0**-24
        u2 = (_bits(seed, counter, i, 2) >> 8) * 2.0**-24
        want.append(math.sqrt(-2 * math.log(u1)) * math.cos(2 * math.pi * u2))
    np.testing.assert_allclose(got, want, rtol=1e-14, atol=1e-15)
