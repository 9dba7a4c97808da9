"""Concrete losses: per-sample functions (`mean_squared_error(y_true,
y_pred)` -> one value per sample, the last axis reduced) and their Loss
classes, with Keras 3's formulas, defaults and epsilon (1e-7).

A class wraps its function in `LossFunctionWrapper`, which first squeezes
or expands a trailing axis of size 1 so that y_true and y_pred have the
same rank (Keras's rule), then reduces with the loss's `reduction`.
"""

from __future__ import annotations

import math
import warnings

from .. import ops
from ..tensors import TracedTensor
from .loss import LossFunctionWrapper, squeeze_or_expand_to_same_rank

EPSILON = 1e-7  # Keras's default; the losses read config.epsilon()


def _epsilon() -> float:
    """keras.config.epsilon() when the loss is traced (Keras reads
    backend.epsilon() at call time)."""
    from ...config import epsilon

    return epsilon()


def _prep(y_true, y_pred):
    y_pred = ops.convert_to_tensor(y_pred)
    if not ops.dtype(y_pred).startswith("float"):
        y_pred = ops.cast(y_pred, "float32")
    y_true = ops.cast(y_true, ops.dtype(y_pred))
    return squeeze_or_expand_to_same_rank(y_true, y_pred)


def _float_pair(y_true, y_pred):
    y_pred = ops.convert_to_tensor(y_pred)
    if not ops.dtype(y_pred).startswith("float"):
        y_pred = ops.cast(y_pred, "float32")
    return ops.cast(y_true, ops.dtype(y_pred)), y_pred


# --- regression ----------------------------------------------------------------------


def mean_squared_error(y_true, y_pred):
    """mean((y_true - y_pred)^2) over the last axis."""
    y_true, y_pred = _prep(y_true, y_pred)
    return ops.mean(ops.square(ops.subtract(y_true, y_pred)), axis=-1)


def mean_absolute_error(y_true, y_pred):
    """mean(|y_true - y_pred|) over the last axis."""
    y_true, y_pred = _prep(y_true, y_pred)
    return ops.mean(ops.abs(ops.subtract(y_true, y_pred)), axis=-1)


def mean_absolute_percentage_error(y_true, y_pred):
    """100 * mean(|(y_true - y_pred) / max(|y_true|, epsilon)|)."""
    y_true, y_pred = _prep(y_true, y_pred)
    diff = ops.abs(ops.divide(ops.subtract(y_true, y_pred),
                              ops.maximum(ops.abs(y_true), _epsilon())))
    return ops.multiply(ops.mean(diff, axis=-1), 100.0)


def mean_squared_logarithmic_error(y_true, y_pred):
    """mean((log(max(y_pred, eps) + 1) - log(max(y_true, eps) + 1))^2)."""
    y_true, y_pred = _prep(y_true, y_pred)
    first = ops.log(ops.add(ops.maximum(y_pred, _epsilon()), 1.0))
    second = ops.log(ops.add(ops.maximum(y_true, _epsilon()), 1.0))
    return ops.mean(ops.square(ops.subtract(first, second)), axis=-1)


def cosine_similarity(y_true, y_pred, axis=-1):
    """-sum(l2_normalize(y_true) * l2_normalize(y_pred)) along `axis`
    (-1 for identical directions, as Keras's loss)."""
    y_true, y_pred = _prep(y_true, y_pred)
    y_pred = ops.normalize(y_pred, axis=axis)
    y_true = ops.normalize(y_true, axis=axis)
    return ops.negative(ops.sum(ops.multiply(y_true, y_pred), axis=axis))


def huber(y_true, y_pred, delta=1.0):
    """mean of 0.5 e^2 where |e| <= delta, delta |e| - 0.5 delta^2
    elsewhere (e = y_pred - y_true)."""
    y_true, y_pred = _prep(y_true, y_pred)
    delta = float(delta)
    error = ops.subtract(y_pred, y_true)
    abs_error = ops.abs(error)
    quad = ops.multiply(ops.square(error), 0.5)
    lin = ops.subtract(ops.multiply(abs_error, delta), 0.5 * delta * delta)
    return ops.mean(ops.where(ops.less_equal(abs_error, delta), quad, lin),
                    axis=-1)


def log_cosh(y_true, y_pred):
    """mean(log(cosh(y_pred - y_true))), as x + softplus(-2x) - log 2."""
    y_true, y_pred = _prep(y_true, y_pred)
    x = ops.subtract(y_pred, y_true)
    value = ops.subtract(ops.add(x, ops.softplus(ops.multiply(x, -2.0))),
                         math.log(2.0))
    return ops.mean(value, axis=-1)


# --- probabilistic -------------------------------------------------------------------


def kl_divergence(y_true, y_pred):
    """sum(y_true * log(y_true / y_pred)), both clipped to [eps, 1]."""
    y_true, y_pred = _float_pair(y_true, y_pred)
    y_true = ops.clip(y_true, _epsilon(), 1.0)
    y_pred = ops.clip(y_pred, _epsilon(), 1.0)
    return ops.sum(ops.multiply(y_true, ops.log(ops.divide(y_true, y_pred))),
                   axis=-1)


def poisson(y_true, y_pred):
    """mean(y_pred - y_true * log(y_pred + eps))."""
    y_true, y_pred = _float_pair(y_true, y_pred)
    return ops.mean(ops.subtract(y_pred, ops.multiply(
        y_true, ops.log(ops.add(y_pred, _epsilon())))), axis=-1)


def _smooth_labels(y_true, label_smoothing, num_classes):
    if not label_smoothing:
        return y_true
    return ops.add(ops.multiply(y_true, 1.0 - label_smoothing),
                   label_smoothing / num_classes)


def _check_axis(axis):
    if isinstance(axis, bool):
        raise ValueError(  # noqa: TRY004  (Keras raises ValueError)
            f"`axis` must be of type `int`. Received: axis={axis} of type "
            f"{type(axis)}"
        )


def _warn_one_class(name, y_pred):
    if ops.shape(y_pred)[-1] == 1:
        warnings.warn(
            f"In loss {name}, expected y_pred.shape to be (batch_size, "
            f"num_classes) with num_classes > 1. Received: y_pred.shape="
            f"{ops.shape(y_pred)}. Consider using 'binary_crossentropy' if "
            "you only have 2 classes.", SyntaxWarning, stacklevel=3)


def categorical_crossentropy(y_true, y_pred, from_logits=False,
                             label_smoothing=0.0, axis=-1):
    """-sum(y_true * log(p)) with p the normalized, clipped y_pred (or
    log_softmax of the logits)."""
    _check_axis(axis)
    y_true, y_pred = _float_pair(y_true, y_pred)
    _warn_one_class("categorical_crossentropy", y_pred)
    if label_smoothing:
        y_true = _smooth_labels(y_true, label_smoothing,
                                ops.shape(y_true)[-1])
    return ops.categorical_crossentropy(y_true, y_pred, from_logits=from_logits,
                                        axis=axis)


def sparse_categorical_crossentropy(y_true, y_pred, from_logits=False,
                                    ignore_class=None, axis=-1):
    """categorical_crossentropy with integer class labels; labels equal to
    `ignore_class` give 0 and are left out of the mean."""
    y_pred = ops.convert_to_tensor(y_pred)
    y_true = ops.convert_to_tensor(y_true)
    if len(ops.shape(y_true)) == len(ops.shape(y_pred)) and \
            ops.shape(y_true)[axis] == 1:
        y_true = ops.squeeze(y_true, axis)
    if ignore_class is None:
        return ops.sparse_categorical_crossentropy(
            y_true, y_pred, from_logits=from_logits, axis=axis)
    valid = ops.not_equal(ops.cast(y_true, "float32"), float(ignore_class))
    labels = ops.where(valid, y_true, ops.zeros_like(y_true))
    res = ops.sparse_categorical_crossentropy(labels, y_pred,
                                              from_logits=from_logits, axis=axis)
    return _Masked(ops.where(valid, res, ops.zeros_like(res)), valid)


class _Masked:
    """Per-sample losses with a validity mask (sparse_categorical_crossentropy
    with ignore_class): the reduction counts the valid entries only."""

    def __init__(self, values, mask):
        self.values, self.mask = values, mask


def binary_crossentropy(y_true, y_pred, from_logits=False, label_smoothing=0.0,
                        axis=-1):
    """mean(-(y log p + (1 - y) log(1 - p))) over `axis`, p clipped to
    [eps, 1 - eps] (or from the logits, stably)."""
    y_true, y_pred = _float_pair(y_true, y_pred)
    if label_smoothing:
        y_true = ops.add(ops.multiply(y_true, 1.0 - label_smoothing),
                         0.5 * label_smoothing)
    return ops.mean(ops.binary_crossentropy(y_true, y_pred,
                                            from_logits=from_logits), axis=axis)


def binary_focal_crossentropy(y_true, y_pred, apply_class_balancing=False,
                              alpha=0.25, gamma=2.0, from_logits=False,
                              label_smoothing=0.0, axis=-1):
    """Binary crossentropy scaled by (1 - p_t)^gamma (and the class
    balance alpha when `apply_class_balancing`)."""
    y_true, y_pred = _float_pair(y_true, y_pred)
    if label_smoothing:
        y_true = ops.add(ops.multiply(y_true, 1.0 - label_smoothing),
                         0.5 * label_smoothing)
    if from_logits:
        y_pred = ops.sigmoid(y_pred)
    bce = ops.binary_crossentropy(y_true, y_pred, from_logits=False)
    p_t = ops.add(ops.multiply(y_true, y_pred), ops.multiply(
        ops.subtract(1.0, y_true), ops.subtract(1.0, y_pred)))
    focal = ops.multiply(ops.power(ops.subtract(1.0, p_t), float(gamma)), bce)
    if apply_class_balancing:
        weight = ops.add(ops.multiply(y_true, alpha),
                         ops.multiply(ops.subtract(1.0, y_true), 1.0 - alpha))
        focal = ops.multiply(weight, focal)
    return ops.mean(focal, axis=axis)


def categorical_focal_crossentropy(y_true, y_pred, alpha=0.25, gamma=2.0,
                                   from_logits=False, label_smoothing=0.0,
                                   axis=-1):
    """Categorical crossentropy scaled by alpha (1 - p)^gamma per class."""
    _check_axis(axis)
    y_true, y_pred = _float_pair(y_true, y_pred)
    _warn_one_class("categorical_focal_crossentropy", y_pred)
    if label_smoothing:
        y_true = _smooth_labels(y_true, label_smoothing,
                                ops.shape(y_true)[-1])
    if from_logits:
        y_pred = ops.softmax(y_pred, axis=axis)
    output = ops.divide(y_pred, ops.sum(y_pred, axis=axis, keepdims=True))
    output = ops.clip(output, _epsilon(), 1.0 - _epsilon())
    cce = ops.multiply(ops.negative(y_true), ops.log(output))
    factor = ops.multiply(ops.power(ops.subtract(1.0, output), float(gamma)),
                          float(alpha))
    return ops.sum(ops.multiply(factor, cce), axis=axis)


# --- hinge -----------------------------------------------------------------------


def _hinge_labels(y_true):
    """Labels in {0, 1} (the whole batch) become {-1, 1}; other labels are
    kept, as Keras converts them."""
    binary = ops.all_(ops.logical_or(ops.equal(y_true, 0.0),
                                     ops.equal(y_true, 1.0)))
    return ops.where(binary, ops.subtract(ops.multiply(y_true, 2.0), 1.0),
                     y_true)


def hinge(y_true, y_pred):
    """mean(max(1 - y_true * y_pred, 0)), labels -1 / 1 (0 / 1 converted)."""
    y_true, y_pred = _float_pair(y_true, y_pred)
    y_true = _hinge_labels(y_true)
    return ops.mean(ops.maximum(ops.subtract(1.0, ops.multiply(
        y_true, y_pred)), 0.0), axis=-1)


def squared_hinge(y_true, y_pred):
    """mean(max(1 - y_true * y_pred, 0)^2)."""
    y_true, y_pred = _float_pair(y_true, y_pred)
    y_true = _hinge_labels(y_true)
    return ops.mean(ops.square(ops.maximum(ops.subtract(1.0, ops.multiply(
        y_true, y_pred)), 0.0)), axis=-1)


def categorical_hinge(y_true, y_pred):
    """max(max((1 - y_true) * y_pred) - sum(y_true * y_pred) + 1, 0)."""
    y_true, y_pred = _float_pair(y_true, y_pred)
    pos = ops.sum(ops.multiply(y_true, y_pred), axis=-1)
    neg = ops.max(ops.multiply(ops.subtract(1.0, y_true), y_pred), axis=-1)
    return ops.maximum(ops.add(ops.subtract(neg, pos), 1.0), 0.0)


# --- classes -------------------------------------------------------------------------


class MeanSquaredError(LossFunctionWrapper):
    """Mean of squares of errors."""

    def __init__(self, reduction="sum_over_batch_size",
                 name="mean_squared_error", dtype=None):
        super().__init__(mean_squared_error, reduction=reduction, name=name,
                         dtype=dtype)


class MeanAbsoluteError(LossFunctionWrapper):
    """Mean of absolute errors."""

    def __init__(self, reduction="sum_over_batch_size",
                 name="mean_absolute_error", dtype=None):
        super().__init__(mean_absolute_error, reduction=reduction, name=name,
                         dtype=dtype)


class MeanAbsolutePercentageError(LossFunctionWrapper):
    """Mean absolute percentage error."""

    def __init__(self, reduction="sum_over_batch_size",
                 name="mean_absolute_percentage_error", dtype=None):
        super().__init__(mean_absolute_percentage_error, reduction=reduction, name=name,
                         dtype=dtype)


class MeanSquaredLogarithmicError(LossFunctionWrapper):
    """Mean squared logarithmic error."""

    def __init__(self, reduction="sum_over_batch_size",
                 name="mean_squared_logarithmic_error", dtype=None):
        super().__init__(mean_squared_logarithmic_error, reduction=reduction, name=name,
                         dtype=dtype)


class CosineSimilarity(LossFunctionWrapper):
    """Negative cosine similarity along `axis`."""

    def __init__(self, axis=-1, reduction="sum_over_batch_size",
                 name="cosine_similarity", dtype=None):
        super().__init__(cosine_similarity, reduction=reduction, name=name,
                         dtype=dtype, axis=axis)
        self.axis = axis


class Huber(LossFunctionWrapper):
    """Huber loss (quadratic below `delta`, linear above)."""

    def __init__(self, delta=1.0, reduction="sum_over_batch_size",
                 name="huber_loss", dtype=None):
        super().__init__(huber, reduction=reduction, name=name,
                         dtype=dtype, delta=delta)
        self.delta = delta


class LogCosh(LossFunctionWrapper):
    """Logarithm of the hyperbolic cosine of the error."""

    def __init__(self, reduction="sum_over_batch_size",
                 name="log_cosh", dtype=None):
        super().__init__(log_cosh, reduction=reduction, name=name,
                         dtype=dtype)


class KLDivergence(LossFunctionWrapper):
    """Kullback-Leibler divergence."""

    def __init__(self, reduction="sum_over_batch_size",
                 name="kl_divergence", dtype=None):
        super().__init__(kl_divergence, reduction=reduction, name=name,
                         dtype=dtype)


class Poisson(LossFunctionWrapper):
    """Poisson loss: y_pred - y_true * log(y_pred)."""

    def __init__(self, reduction="sum_over_batch_size",
                 name="poisson", dtype=None):
        super().__init__(poisson, reduction=reduction, name=name,
                         dtype=dtype)


class Hinge(LossFunctionWrapper):
    """Hinge loss (labels -1 / 1; 0 / 1 converted)."""

    def __init__(self, reduction="sum_over_batch_size",
                 name="hinge", dtype=None):
        super().__init__(hinge, reduction=reduction, name=name,
                         dtype=dtype)


class SquaredHinge(LossFunctionWrapper):
    """Squared hinge loss."""

    def __init__(self, reduction="sum_over_batch_size",
                 name="squared_hinge", dtype=None):
        super().__init__(squared_hinge, reduction=reduction, name=name,
                         dtype=dtype)


class CategoricalHinge(LossFunctionWrapper):
    """Categorical hinge loss (one-hot labels)."""

    def __init__(self, reduction="sum_over_batch_size",
                 name="categorical_hinge", dtype=None):
        super().__init__(categorical_hinge, reduction=reduction, name=name,
                         dtype=dtype)


class BinaryCrossentropy(LossFunctionWrapper):
    """Crossentropy of binary (0 / 1) labels; label smoothing moves them
    towards 0.5."""

    def __init__(self, from_logits=False, label_smoothing=0.0, axis=-1,
                 reduction="sum_over_batch_size",
                 name="binary_crossentropy", dtype=None):
        super().__init__(binary_crossentropy, reduction=reduction, name=name,
                         dtype=dtype, from_logits=from_logits,
                         label_smoothing=label_smoothing, axis=axis)
        self.from_logits = from_logits
        self.label_smoothing = label_smoothing
        self.axis = axis


class CategoricalCrossentropy(LossFunctionWrapper):
    """Crossentropy of one-hot labels; label smoothing mixes them with the
    uniform distribution."""

    def __init__(self, from_logits=False, label_smoothing=0.0, axis=-1,
                 reduction="sum_over_batch_size",
                 name="categorical_crossentropy", dtype=None):
        super().__init__(categorical_crossentropy, reduction=reduction, name=name,
                         dtype=dtype, from_logits=from_logits,
                         label_smoothing=label_smoothing, axis=axis)
        self.from_logits = from_logits
        self.label_smoothing = label_smoothing
        self.axis = axis


class SparseCategoricalCrossentropy(LossFunctionWrapper):
    """Crossentropy of integer class labels; `ignore_class` labels do not
    count."""

    def __init__(self, from_logits=False, ignore_class=None, axis=-1,
                 reduction="sum_over_batch_size",
                 name="sparse_categorical_crossentropy", dtype=None):
        super().__init__(sparse_categorical_crossentropy, reduction=reduction,
                         name=name, dtype=dtype, from_logits=from_logits,
                         ignore_class=ignore_class, axis=axis)
        self.from_logits = from_logits
        self.ignore_class = ignore_class
        self.axis = axis


class BinaryFocalCrossentropy(LossFunctionWrapper):
    """Binary focal crossentropy (down-weights easy examples)."""

    def __init__(self, apply_class_balancing=False, alpha=0.25, gamma=2.0,
                 from_logits=False, label_smoothing=0.0, axis=-1,
                 reduction="sum_over_batch_size",
                 name="binary_focal_crossentropy", dtype=None):
        super().__init__(binary_focal_crossentropy, reduction=reduction, name=name,
                         dtype=dtype, apply_class_balancing=apply_class_balancing,
                         alpha=alpha, gamma=gamma, from_logits=from_logits,
                         label_smoothing=label_smoothing, axis=axis)
        self.apply_class_balancing = apply_class_balancing
        self.alpha = alpha
        self.gamma = gamma
        self.from_logits = from_logits
        self.label_smoothing = label_smoothing
        self.axis = axis


class CategoricalFocalCrossentropy(LossFunctionWrapper):
    """Categorical focal crossentropy."""

    def __init__(self, alpha=0.25, gamma=2.0, from_logits=False, label_smoothing=0.0,
                 axis=-1, reduction="sum_over_batch_size",
                 name="categorical_focal_crossentropy", dtype=None):
        super().__init__(categorical_focal_crossentropy, reduction=reduction, name=name,
                         dtype=dtype, alpha=alpha, gamma=gamma, from_logits=from_logits,
                         label_smoothing=label_smoothing, axis=axis)
        self.alpha = alpha
        self.gamma = gamma
        self.from_logits = from_logits
        self.label_smoothing = label_smoothing
        self.axis = axis


# --- Dice, Tversky, Circle, generalized cross entropy ----------------------
# Dice, Tversky, Circle and CategoricalGeneralizedCrossEntropy losses
# (functions and classes), with Keras 3's formulas, defaults and configs.
# 
# Dice and Tversky reduce over `axis` (None: every axis, one value for the
# batch). Circle compares every pair of embeddings in the batch (an N x N
# matrix; the diagonal, each sample with itself, is left out by default) and
# reports per-sample values; the Circle class masks the zero ones out of
# its mean, as Keras does.


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


# --- sequences -------------------------------------------------------------------


def ctc(y_true, y_pred):
    """CTC (Connectionist Temporal Classification) loss.

    Args:
        y_true: A tensor of shape `(batch_size, max_length)` containing
            the true labels in integer format. `0` always represents
            the blank/mask index and should not be used for classes.
        y_pred: A tensor of shape `(batch_size, max_length, num_classes)`
            containing logits (the output of your model).
            They should *not* be normalized via softmax.

    Returns:
        The per-sequence loss, shape `(batch_size,)`: every label that is
        not 0 counts (the label length), every time step too.
    """
    from ..ops.ctc import ctc_loss  # above the ops core (ops/ctc.py)

    if len(ops.shape(y_true)) != 2:
        raise ValueError(
            "Targets `y_true` are expected to be a tensor of shape "
            "`(batch_size, max_length)` in integer format. "
            f"Received: y_true.shape={ops.shape(y_true)}")
    if len(ops.shape(y_pred)) != 3:
        raise ValueError(
            "Logits `y_pred` are expected to be a tensor of shape "
            "`(batch_size, max_length, num_classes)`. "
            f"Received: y_pred.shape={ops.shape(y_pred)}")
    y_true = ops.cast(y_true, "int32")
    label_length = ops.sum(ops.cast(ops.not_equal(y_true, 0), "int32"),
                           axis=-1)
    input_length = ops.full_like(label_length, ops.shape(y_pred)[1])
    return ctc_loss(y_true, y_pred, label_length, input_length, mask_index=0)


class CTC(LossFunctionWrapper):
    """CTC (Connectionist Temporal Classification) loss: `ctc` averaged
    over the batch (labels padded with 0, the blank class; logits over
    every time step).

    Example:
        >>> loss = CTC()
        >>> y_pred = np.zeros((2, 4, 3), "float32")  # logits
        >>> round(float(loss(np.array([[1, 2], [2, 0]]), y_pred)), 3)
        1.889
    """

    def __init__(self, reduction="sum_over_batch_size", name="ctc",
                 dtype=None):
        super().__init__(ctc, reduction=reduction, name=name, dtype=dtype)
