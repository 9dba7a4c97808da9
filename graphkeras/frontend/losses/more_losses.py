"""Dice, Tversky, Circle and CategoricalGeneralizedCrossEntropy losses
(functions and classes), with Keras 3's formulas, defaults and configs.

Dice and Tversky reduce over `axis` (None: every axis, one value for the
batch). Circle compares every pair of embeddings in the batch (an N x N
matrix; the diagonal, each sample with itself, is left out by default) and
reports per-sample values; the Circle class masks the zero ones out of
its mean, as Keras does.
"""

from __future__ import annotations

from .. import ops
from ..tensors import TracedTensor
from .loss import LossFunctionWrapper
from .losses import _Masked

EPSILON = 1e-7


def _float_pair(y_true, y_pred):
    y_pred = ops.convert_to_tensor(y_pred)
    if not ops.dtype(y_pred).startswith("float"):
        y_pred = ops.cast(y_pred, "float32")
    return ops.cast(y_true, ops.dtype(y_pred)), y_pred


def dice(y_true, y_pred, axis=None):
    """1 - 2 sum(y_true y_pred) / (sum(y_true) + sum(y_pred) + eps)."""
    y_true, y_pred = _float_pair(y_true, y_pred)
    inter = ops.sum(ops.multiply(y_true, y_pred), axis=axis)
    den = ops.add(ops.add(ops.sum(y_true, axis=axis),
                          ops.sum(y_pred, axis=axis)), EPSILON)
    return ops.subtract(1.0, ops.divide(ops.multiply(inter, 2.0), den))


def tversky(y_true, y_pred, alpha=0.5, beta=0.5, axis=None):
    """1 - TP / (TP + alpha FP + beta FN + eps), with Keras's naming (its
    FP is sum((1 - y_pred) y_true))."""
    y_true, y_pred = _float_pair(y_true, y_pred)
    inter = ops.sum(ops.multiply(y_true, y_pred), axis=axis)
    fp = ops.sum(ops.multiply(ops.subtract(1.0, y_pred), y_true), axis=axis)
    fn = ops.sum(ops.multiply(y_pred, ops.subtract(1.0, y_true)), axis=axis)
    den = ops.add(ops.add(ops.add(inter, ops.multiply(fp, float(alpha))),
                          ops.multiply(fn, float(beta))), EPSILON)
    return ops.subtract(1.0, ops.divide(inter, den))


def _not_eye(rows, cols):
    """A bool (len(rows), len(cols)) matrix, False on the diagonal (the
    batch dim of a traced tensor included)."""
    if isinstance(rows, TracedTensor) or isinstance(cols, TracedTensor):
        ref = rows if isinstance(rows, TracedTensor) else cols
        n = rows.value.shape[0] if isinstance(rows, TracedTensor) else ops.shape(
            rows)[0]
        m = cols.value.shape[0] if isinstance(cols, TracedTensor) else ops.shape(
            cols)[0]
        i = ops._source("iota", like=ref, shape=(n, m), axis=0,
                        dtype="int32")
        j = ops._source("iota", like=ref, shape=(n, m), axis=1,
                        dtype="int32")
        return ops.not_equal(i, j)
    import numpy as np

    return ~np.eye(ops.shape(rows)[0], ops.shape(cols)[0], dtype=bool)


def circle(y_true, y_pred, ref_labels=None, ref_embeddings=None,
           remove_diagonal=True, gamma=80, margin=0.4):
    """Circle loss (Sun et al. 2020) over cosine distances of L2-normalized
    embeddings `y_pred` (N, D) with integer labels `y_true` (N,)."""
    y_pred = ops.convert_to_tensor(y_pred)
    if not ops.dtype(y_pred).startswith("float"):
        y_pred = ops.cast(y_pred, "float32")
    y_true = ops.cast(y_true, "int32")
    ref_emb = y_pred if ref_embeddings is None else ops.convert_to_tensor(
        ref_embeddings)
    ref_lab = y_true if ref_labels is None else ops.cast(ref_labels, "int32")
    dist = ops.maximum(ops.subtract(1.0, ops.matmul(
        y_pred, ops.transpose(ref_emb))), 0.0)
    q = ops.reshape(y_true, (-1, 1)) if len(ops.shape(y_true)) == 1 else y_true
    k = ops.reshape(ref_lab, (-1, 1)) if len(ops.shape(ref_lab)) == 1 else (
        ref_lab)
    pos = ops.equal(q, ops.transpose(k))
    neg = ops.logical_not(pos)
    if remove_diagonal:
        pos = ops.logical_and(pos, _not_eye(q, k))
    posf, negf = ops.cast(pos, ops.dtype(dist)), ops.cast(neg, ops.dtype(dist))
    pos_w = ops.maximum(ops.multiply(ops.add(dist, float(margin)), posf), 0.0)
    neg_w = ops.maximum(ops.multiply(ops.subtract(1.0 + margin, dist), negf),
                        0.0)
    pos_d = ops.multiply(ops.multiply(pos_w, ops.subtract(margin, dist)),
                         -float(gamma))
    neg_d = ops.multiply(ops.multiply(neg_w, ops.subtract(1.0 - margin, dist)),
                         float(gamma))
    # NOTE: a large finite stand-in for -inf: a row without positives (or
    # negatives) sums to ~-1e30 and softplus gives exactly 0, as Keras's -inf
    # does, with no inf - inf = NaN in logsumexp or in the gradients.
    low = ops.full_like(dist, -1e30)
    p_loss = ops.logsumexp(ops.where(pos, pos_d, low), axis=1)
    n_loss = ops.logsumexp(ops.where(neg, neg_d, low), axis=1)
    return ops.softplus(ops.add(p_loss, n_loss))


def categorical_generalized_cross_entropy(y_true, y_pred, q):
    """(1 - p^q) / q, p the predicted probability of the integer label."""
    y_pred = ops.convert_to_tensor(y_pred)
    if not ops.dtype(y_pred).startswith("float"):
        y_pred = ops.cast(y_pred, "float32")
    hot = ops.one_hot(ops.cast(y_true, "int32"), ops.shape(y_pred)[-1],
                      dtype=ops.dtype(y_pred))
    p = ops.sum(ops.multiply(y_pred, hot), axis=-1)
    return ops.divide(ops.subtract(1.0, ops.power(p, float(q))), float(q))


class Dice(LossFunctionWrapper):
    """Dice loss. Example: `Dice(axis=(1, 2))` for per-image segmentation
    losses."""

    def __init__(self, reduction="sum_over_batch_size", name="dice",
                 axis=None, dtype=None):
        super().__init__(dice, reduction=reduction, name=name, dtype=dtype,
                         axis=axis)
        self.axis = axis


class Tversky(LossFunctionWrapper):
    """Tversky loss (alpha weighs false positives, beta false negatives)."""

    def __init__(self, alpha=0.5, beta=0.5, reduction="sum_over_batch_size",
                 name="tversky", axis=None, dtype=None):
        super().__init__(tversky, reduction=reduction, name=name, dtype=dtype,
                         alpha=alpha, beta=beta, axis=axis)
        self.alpha, self.beta, self.axis = alpha, beta, axis


class Circle(LossFunctionWrapper):
    """Circle loss for embeddings (labels (N,), L2-normalized (N, D))."""

    def __init__(self, gamma=80.0, margin=0.4, remove_diagonal=True,
                 reduction="sum_over_batch_size", name="circle", dtype=None):
        super().__init__(circle, reduction=reduction, name=name, dtype=dtype,
                         gamma=gamma, margin=margin,
                         remove_diagonal=remove_diagonal)
        self.gamma, self.margin = gamma, margin
        self.remove_diagonal = remove_diagonal

    def call(self, y_true, y_pred):
        # labels (N,) and embeddings (N, D) have different ranks on purpose;
        # zero losses are masked out of the mean, as Keras masks them
        out = self.fn(y_true, y_pred, **self._fn_kwargs)
        return _Masked(out, ops.greater(out, 0.0))


class CategoricalGeneralizedCrossEntropy(LossFunctionWrapper):
    """Generalized cross entropy (Zhang & Sabuncu 2018) for noisy integer
    labels; q in (0, 1) moves from cross entropy (q -> 0) to MAE (q = 1)."""

    def __init__(self, q=0.5, reduction="sum_over_batch_size",
                 name="categorical_generalized_cross_entropy", dtype=None):
        if not 0 < q < 1:
            raise ValueError(f"q must be in the interval (0, 1), received "
                             f"q={q}.")
        super().__init__(categorical_generalized_cross_entropy,
                         reduction=reduction, name=name, dtype=dtype, q=q)
        self.q = q

    def call(self, y_true, y_pred):
        return self.fn(y_true, y_pred, **self._fn_kwargs)
