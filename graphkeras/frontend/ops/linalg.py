"""Keras's ops.linalg for small static matrices: norm, solve, inv, det,
slogdet, logdet, cholesky and triangular solves, by unrolled elimination
(each matrix dimension must be static and at most _MAX_LINALG).

The iterative decompositions (svd, qr, eigh, eig, lstsq, pinv,
matrix_rank, lu_factor) run eagerly with NumPy, as Keras's backends
compute them with LAPACK; on symbolic tensors they raise an error that
says so (jvp is in frontend/gradients.py)."""

from __future__ import annotations

import builtins

import numpy as np

from .core import _floatify, cast, convert_to_tensor, dtype, keras_op, shape
from .numpy import (
    _eager_only,
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


# --- decompositions (eager, NumPy) -------------------------------------------------


def _matrices(fn: str, *xs):
    arrays = _eager_only(f"linalg.{fn}", "its iterative LAPACK routine has "
                         "no compiled form here", *xs)
    out = []
    for a in arrays:
        if a.ndim < 2:
            raise ValueError(
                "Expected input to have rank >= 2. "
                f"Received input with shape {a.shape}.")
        out.append(a.astype("float64" if a.dtype == np.float64
                            else "float32"))
    return out


@keras_op
def svd(x, full_matrices=True, compute_uv=True):
    """(u, s, vh) of x (or s with compute_uv=False). Eager only."""
    (a,) = _matrices("svd", x)
    return np.linalg.svd(a, full_matrices=full_matrices,
                         compute_uv=compute_uv)


@keras_op
def qr(x, mode="reduced"):
    """(q, r) of x. Eager only."""
    if mode not in ("reduced", "complete"):
        raise ValueError(
            "`mode` argument value not supported. "
            "Expected one of {'reduced', 'complete'}. "
            f"Received: mode={mode}")
    (a,) = _matrices("qr", x)
    return np.linalg.qr(a, mode=mode)


@keras_op
def eigh(x):
    """(eigenvalues, eigenvectors) of a symmetric x, eigenvalues in
    ascending order. Eager only."""
    (a,) = _matrices("eigh", x)
    return np.linalg.eigh(a)


@keras_op
def eig(x):
    """(eigenvalues, eigenvectors) of a square x (complex arrays, as
    Keras returns them). Eager only."""
    (a,) = _matrices("eig", x)
    w, v = np.linalg.eig(a)
    dt = np.complex128 if a.dtype == np.float64 else np.complex64
    return w.astype(dt), v.astype(dt)


@keras_op
def lstsq(a, b, rcond=None):
    """The least-squares solution x of a @ x = b. Eager only."""
    arrays = _eager_only("linalg.lstsq", "its LAPACK routine has no "
                         "compiled form here", a, b)
    a_, b_ = arrays
    if a_.ndim != 2:
        raise ValueError(
            f"Expected `a` to have rank 2. Received a.shape={a_.shape}.")
    dt = "float64" if np.float64 in (a_.dtype, b_.dtype) else "float32"
    a_, b_ = a_.astype(dt), b_.astype(dt)
    if rcond is None:
        rcond = np.finfo(dt).eps * builtins.max(a_.shape)
    return np.linalg.lstsq(a_, b_, rcond=rcond)[0]


@keras_op
def pinv(x, rcond=None):
    """The Moore-Penrose pseudo-inverse (singular values below rcond
    times the largest are dropped; default 10 max(M, N) eps, as JAX).
    Eager only."""
    (a,) = _matrices("pinv", x)
    if rcond is None:
        rcond = 10 * builtins.max(a.shape[-2:]) * np.finfo(a.dtype).eps
    return np.linalg.pinv(a, rcond=rcond).astype(a.dtype)


@keras_op
def matrix_rank(x, tol=None):
    """The number of singular values above tol (default: the largest
    times max(M, N) eps). Eager only."""
    (a,) = _matrices("matrix_rank", x)
    return np.asarray(np.linalg.matrix_rank(a, tol=tol)).astype("int32")


@keras_op
def lu_factor(x):
    """(lu, pivots) of x's LU decomposition with partial pivoting, as
    jax.scipy.linalg.lu_factor: L below the diagonal (unit diagonal), U
    on and above it, pivots[i] the row swapped with row i. Eager only."""
    (a,) = _matrices("lu_factor", x)
    lead, (m, n) = a.shape[:-2], a.shape[-2:]
    lu = a.reshape((-1, m, n)).copy()
    piv = np.zeros((lu.shape[0], builtins.min(m, n)), np.int32)
    for b in range(lu.shape[0]):
        u = lu[b]
        for k in range(builtins.min(m, n)):
            p = k + int(np.argmax(np.abs(u[k:, k])))
            piv[b, k] = p
            if p != k:
                u[[k, p]] = u[[p, k]]
            if u[k, k] != 0:
                u[k + 1:, k] /= u[k, k]
                u[k + 1:, k + 1:] -= np.outer(u[k + 1:, k], u[k, k + 1:])
    return lu.reshape(a.shape), piv.reshape(lead + (piv.shape[-1],))
