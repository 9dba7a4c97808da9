"""The abstract scalar builder that elementwise ops write their bodies with.

An elementwise OpDef's `emit(b, *xs, **attrs)` computes one output element
from its input elements using only the methods of `ScalarBuilder`. codegen
implements the protocol with llvmlite (vector-friendly code); `NumpyScalar`
here implements it with NumPy arrays, so tests can check each `emit` against
the op's `reference`.
"""

from __future__ import annotations

import math

import numpy as np

from .dtypes import DType, as_dtype


class ScalarBuilder:
    """The protocol. Values are opaque handles; `dtype_of` tells their type.

    Arithmetic on two values requires equal dtypes; `const(v, dtype)` makes a
    constant of a given dtype; comparisons return bool values.
    """

    def dtype_of(self, x) -> DType: ...
    def const(self, value, dtype) -> object: ...
    def add(self, a, b): ...
    def sub(self, a, b): ...
    def mul(self, a, b): ...
    def div(self, a, b): ...
    def neg(self, a): ...
    def abs(self, a): ...
    def max(self, a, b): ...
    def min(self, a, b): ...
    def pow(self, a, b): ...
    def sqrt(self, a): ...
    def exp(self, a): ...
    def log(self, a): ...
    def log1p(self, a): ...
    def expm1(self, a): ...
    def tanh(self, a): ...
    def sigmoid(self, a): ...
    def erf(self, a): ...
    def floor(self, a): ...
    def round(self, a): ...  # half to even
    def round_float16(self, a): ...  # to the nearest float16, as a float32
    def select(self, cond, a, b): ...
    def eq(self, a, b): ...
    def ne(self, a, b): ...
    def lt(self, a, b): ...
    def le(self, a, b): ...
    def gt(self, a, b): ...
    def ge(self, a, b): ...
    def and_(self, a, b): ...  # bitwise on integers, logical on bools
    def or_(self, a, b): ...
    def xor(self, a, b): ...
    def not_(self, a): ...  # bools only
    def shl(self, a, b): ...  # NumPy's: 0 for shifts outside [0, bits)
    def shr(self, a, b): ...  # arithmetic; 0 or -1 outside [0, bits)
    def cast(self, a, dtype): ...

    # derived helpers, available to every implementation
    def zero_like(self, x):
        return self.const(0, self.dtype_of(x))

    def one_like(self, x):
        return self.const(1, self.dtype_of(x))


def _sig(x):
    with np.errstate(over="ignore"):
        return np.where(
            x >= 0, 1 / (1 + np.exp(-x)), np.exp(x) / (1 + np.exp(x))
        ).astype(x.dtype)


_erf_vec = np.vectorize(math.erf, otypes=[np.float64])


def np_erf(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x)
    return _erf_vec(x.astype(np.float64)).astype(x.dtype) if x.size else x.copy()


def np_sigmoid(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x)
    return _sig(x)


class NumpyScalar(ScalarBuilder):
    """ScalarBuilder over NumPy arrays (all elements at once)."""

    def dtype_of(self, x) -> DType:
        return as_dtype(np.asarray(x).dtype)

    def const(self, value, dtype):
        return np.asarray(value, as_dtype(dtype).np)

    def add(self, a, b):
        return np.add(a, b)

    def sub(self, a, b):
        return np.subtract(a, b)

    def mul(self, a, b):
        return np.multiply(a, b)

    def div(self, a, b):
        return np.divide(a, b)

    def neg(self, a):
        return np.negative(a)

    def abs(self, a):
        return np.abs(a)

    def max(self, a, b):
        return np.maximum(a, b)

    def min(self, a, b):
        return np.minimum(a, b)

    def pow(self, a, b):
        return np.power(a, b)

    def sqrt(self, a):
        return np.sqrt(a)

    def exp(self, a):
        return np.exp(a)

    def log(self, a):
        return np.log(a)

    def log1p(self, a):
        return np.log1p(a)

    def expm1(self, a):
        return np.expm1(a)

    def tanh(self, a):
        return np.tanh(a)

    def sigmoid(self, a):
        return np_sigmoid(a)

    def erf(self, a):
        return np_erf(a)

    def floor(self, a):
        return np.floor(a)

    def round(self, a):
        return np.round(a)

    def round_float16(self, a):
        with np.errstate(over="ignore"):
            return a.astype(np.float16).astype(a.dtype)

    def select(self, cond, a, b):
        return np.where(cond, a, b)

    def eq(self, a, b):
        return np.equal(a, b)

    def ne(self, a, b):
        return np.not_equal(a, b)

    def lt(self, a, b):
        return np.less(a, b)

    def le(self, a, b):
        return np.less_equal(a, b)

    def gt(self, a, b):
        return np.greater(a, b)

    def ge(self, a, b):
        return np.greater_equal(a, b)

    def and_(self, a, b):
        return np.bitwise_and(a, b)

    def or_(self, a, b):
        return np.bitwise_or(a, b)

    def xor(self, a, b):
        return np.bitwise_xor(a, b)

    def shl(self, a, b):
        return np.left_shift(a, b)

    def shr(self, a, b):
        return np.right_shift(a, b)

    def not_(self, a):
        return np.logical_not(a)

    def cast(self, a, dtype):
        return np.asarray(a).astype(as_dtype(dtype).np)
