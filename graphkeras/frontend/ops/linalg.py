"""Keras's ops.linalg for small static matrices: norm, solve, inv, det,
slogdet, logdet, cholesky and triangular solves, by unrolled elimination
(each matrix dimension must be static and at most _MAX_LINALG)."""

from __future__ import annotations

import builtins

import numpy as np

from .core import _floatify, cast, convert_to_tensor, dtype, keras_op, shape
from .numpy import (
    _f,
    abs,
    add,
    argmax,
    concatenate,
    divide,
    expand_dims,
    full_like,
    getitem,
    log,
    matmul,
    multiply,
    one_hot,
    sign,
    sqrt,
    square,
    squeeze,
    stack,
    stop_gradient,
    subtract,
    sum,
    swapaxes,
    tril,
    triu,
    where,
    zeros_like,
)


@keras_op
def norm(x, ord=None, axis=None, keepdims=False):
    if ord not in (None, 2, "euclidean", "fro"):
        raise ValueError(f"ops.norm supports the 2-norm only, received ord={ord!r}.")
    return sqrt(sum(square(_floatify(convert_to_tensor(x))), axis=axis,
                    keepdims=keepdims))


_MAX_LINALG = 64


def _square(a, fn: str):
    a = _f(a)
    if len(shape(a)) < 2 or shape(a)[-1] != shape(a)[-2] or shape(a)[-1] is None:
        raise ValueError(f"ops.linalg.{fn} expects square matrices (..., n, "
                         f"n) with a static n, received shape {shape(a)}.")
    n = shape(a)[-1]
    if n > _MAX_LINALG:
        raise ValueError(
            f"ops.linalg.{fn} unrolls its elimination and supports n <= "
            f"{_MAX_LINALG}, received matrices of size {n}.")
    return a, n


def _eliminate(a, b, n: int):
    """Gauss-Jordan with partial pivoting on [a | b]: returns (x with
    a x = b, det(a))."""
    aug = concatenate([a, b], axis=-1)
    det = None
    for k in range(n):
        col = getitem(aug, (Ellipsis, builtins.slice(None), k))  # (..., n)
        below = np.arange(n) >= k
        mag = where(below, abs(col), full_like(col, -1.0))
        p = stop_gradient(one_hot_argmax(mag, n))  # (..., n) one-hot row
        ek = np.eye(n, dtype=np.float32)[k]
        # row swap k <-> p as a permutation matrix
        pk = multiply(expand_dims(p, -1), ek)  # [i, j] = p_i [j == k]
        perm = add(subtract(np.eye(n, dtype=np.float32) - np.outer(ek, ek),
                            multiply(expand_dims(p, -1), expand_dims(p, -2))),
                   add(pk, swapaxes(pk, -1, -2)))
        aug = matmul(perm, aug)
        swapped = subtract(1.0, getitem(p, (Ellipsis, k)))  # 1 if p != k
        pivot = getitem(aug, (Ellipsis, k, k))
        sgn = subtract(1.0, multiply(swapped, 2.0))
        term = multiply(pivot, sgn)
        det = term if det is None else multiply(det, term)
        row = divide(getitem(aug, (Ellipsis, builtins.slice(k, k + 1),
                                   builtins.slice(None))),
                     expand_dims(expand_dims(pivot, -1), -1))
        factor = getitem(aug, (Ellipsis, builtins.slice(None),
                               builtins.slice(k, k + 1)))
        factor = multiply(factor, (1.0 - ek)[:, None])
        aug = subtract(aug, multiply(factor, row))
        aug = add(multiply(aug, (1.0 - ek)[:, None]),
                  multiply(row, ek[:, None]))
    return getitem(aug, (Ellipsis, builtins.slice(n, None))), det


def one_hot_argmax(x, n):
    return one_hot(argmax(x, axis=-1), n, dtype=dtype(x))


@keras_op
def solve(a, b):
    """x with a x = b (b: (..., n) or (..., n, k))."""
    a, n = _square(a, "solve")
    b = cast(b, dtype(a))
    vec = len(shape(b)) == len(shape(a)) - 1
    if vec:
        b = expand_dims(b, -1)
    x, _ = _eliminate(a, b, n)
    return squeeze(x, -1) if vec else x


@keras_op
def inv(a):
    a, n = _square(a, "inv")
    eye_ = add(zeros_like(a), np.eye(n, dtype=dtype(a)))
    x, _ = _eliminate(a, eye_, n)
    return x


@keras_op
def det(a):
    a, n = _square(a, "det")
    _, d = _eliminate(a, getitem(a, (Ellipsis, builtins.slice(0, 1))), n)
    return d


@keras_op
def slogdet(x):
    d = det(x)
    return sign(d), log(abs(d))


@keras_op
def logdet(x):
    """log(det(x)) (NaN for a negative determinant, as Keras)."""
    return log(det(x))


@keras_op
def cholesky(x, upper=False):
    """The lower factor L of x = L L^T (x symmetric positive definite),
    column by column."""
    a, n = _square(x, "cholesky")
    cols = []
    for j in range(n):
        col = getitem(a, (Ellipsis, builtins.slice(None), j))  # (..., n)
        for k, lk in enumerate(cols):
            col = subtract(col, multiply(lk, expand_dims(
                getitem(lk, (Ellipsis, j)), -1)))
        d = sqrt(getitem(col, (Ellipsis, j)))
        mask = (np.arange(n) >= j).astype(np.float32)
        cols.append(multiply(divide(col, expand_dims(d, -1)), mask))
    low = stack(cols, axis=-1)
    return swapaxes(low, -1, -2) if upper else low


@keras_op
def solve_triangular(a, b, lower=False):
    a, _ = _square(a, "solve_triangular")
    a = tril(a) if lower else triu(a)
    return solve(a, b)


@keras_op
def cholesky_inverse(x, upper=False):
    """inv(x x^T) for a Cholesky factor x (lower, or upper if `upper`)."""
    f = _f(x)
    prod_ = matmul(swapaxes(f, -1, -2), f) if upper else matmul(
        f, swapaxes(f, -1, -2))
    return inv(prod_)
