"""Counter-based random numbers: a pure function of (seed, counter, index).

There is no global state. Element `i` (row-major) of a result is derived
from the `seed` attribute, the run-time `counter` operand (the train step
number, say) and `i` by the 32-bit hash below, so results are reproducible,
independent of thread count, and equal between the interpreter and compiled
code, which implements the same hash.

An optional second operand, `offset` (an integer scalar), numbers the
elements from `offset` instead of 0: a result is then a window of a larger
draw. A data-parallel rank draws its slice of the global batch's noise
this way (frontend/distributed_trainer.py).

    key   = mix32(mix32(mix32(seed ^ STREAM[s]) ^ counter_lo) ^ counter_hi)
    j     = (offset + i) mod 2**32
    bits  = mix32(mix32((j * 0x9E3779B9) ^ key) + key)        (uint32)
    u     = (bits >> 8) * 2**-24                               in [0, 1)

mix32 is a xorshift-multiply finalizer (constants 0x7feb352d, 0x846ca68b,
shifts 16, 15, 16). random_normal uses Box-Muller over two streams.
"""

from __future__ import annotations

import math

import numpy as np

from ..dtypes import float32
from ..registry import (
    NOT_DIFFERENTIABLE,
    Attr,
    OpDef,
    a_dtype,
    a_float,
    a_int,
    a_shape,
    register_op,
)
from ..types import TensorType

M1, M2 = 0x7FEB352D, 0x846CA68B
GOLDEN = 0x9E3779B9
STREAMS = (0x243F6A88, 0x85A308D3, 0x13198A2E)
MASK32 = 0xFFFFFFFF


def mix32(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, np.uint32)
    with np.errstate(over="ignore"):
        x = x ^ (x >> np.uint32(16))
        x = x * np.uint32(M1)
        x = x ^ (x >> np.uint32(15))
        x = x * np.uint32(M2)
        x = x ^ (x >> np.uint32(16))
    return x


def stream_key(seed: int, counter: int, stream: int) -> np.uint32:
    c = int(counter) & 0xFFFFFFFFFFFFFFFF
    k = mix32(np.uint32((seed ^ STREAMS[stream]) & MASK32))
    k = mix32(k ^ np.uint32(c & MASK32))
    k = mix32(k ^ np.uint32(c >> 32))
    return np.uint32(k)


def random_bits(seed: int, counter: int, n: int, stream: int = 0,
                offset: int = 0) -> np.ndarray:
    key = stream_key(seed, counter, stream)
    i = (np.arange(n, dtype=np.uint64)
         + np.uint64(int(offset) & 0xFFFFFFFF)).astype(np.uint32)
    with np.errstate(over="ignore"):
        h = mix32((i * np.uint32(GOLDEN)) ^ key)
        return mix32(h + key)


def uniform01(bits: np.ndarray) -> np.ndarray:
    """[0, 1) with 24 random bits, exact in float32."""
    return (bits >> np.uint32(8)).astype(np.float64) * 2.0**-24


def _check_scalar(t: TensorType, what: str):
    if not t.dtype.is_int or t.rank != 0:
        raise TypeError(f"the {what} must be an integer scalar, got {t}")


def _offset(rest) -> int:
    return int(rest[0]) if rest else 0


class _Random(OpDef):
    kind = "source"
    num_inputs = None  # counter, and optionally the offset
    vjp = NOT_DIFFERENTIABLE
    shape_attrs = ("shape",)

    def infer(self, counter, *rest, shape, dtype, **kw):
        _check_scalar(counter, "counter")
        if len(rest) > 1:
            raise TypeError(f"{self.name} takes a counter and optionally an "
                            f"offset, got {1 + len(rest)} operands")
        for t in rest:
            _check_scalar(t, "offset")
        if not dtype.is_float:
            raise TypeError(f"dtype must be floating-point, got {dtype}")
        return TensorType(shape, dtype)


@register_op
class RandomUniform(_Random):
    name, onnx = "random_uniform", "RandomUniform"
    attrs = {
        "shape": Attr(a_shape),
        "seed": Attr(a_int),
        "low": Attr(a_float, 0.0),
        "high": Attr(a_float, 1.0),
        "dtype": Attr(a_dtype, float32),
    }

    def reference(self, counter, *rest, shape, seed, low, high, dtype):
        n = int(np.prod(shape, dtype=np.int64))
        bits = random_bits(seed, int(counter), n, 0, _offset(rest))
        u = uniform01(bits).astype(dtype.np)
        lo, hi = np.asarray(low, dtype.np), np.asarray(high, dtype.np)
        return (lo + (hi - lo) * u).reshape(shape)


@register_op
class RandomNormal(_Random):
    name, onnx = "random_normal", "RandomNormal"
    attrs = {
        "shape": Attr(a_shape),
        "seed": Attr(a_int),
        "mean": Attr(a_float, 0.0),
        "stddev": Attr(a_float, 1.0),
        "dtype": Attr(a_dtype, float32),
    }

    def reference(self, counter, *rest, shape, seed, mean, stddev, dtype):
        n = int(np.prod(shape, dtype=np.int64))
        at = _offset(rest)
        u1 = uniform01(random_bits(seed, int(counter), n, 1, at)) + 2.0**-24
        u2 = uniform01(random_bits(seed, int(counter), n, 2, at))
        z = np.sqrt(-2.0 * np.log(u1)) * np.cos(2 * math.pi * u2)
        return (mean + stddev * z).astype(dtype.np).reshape(shape)
