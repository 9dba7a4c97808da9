"""PearsonCorrelation and ConcordanceCorrelation (functions and classes),
with Keras 3's formulas.

NOTE: concordance_correlation reproduces Keras 3's formula, including
its covariance term (y_true - mean(y_pred)) * (y_pred - mean(y_pred)), so
results agree with Keras.
"""

from __future__ import annotations

from .. import ops
from ..losses.loss import squeeze_or_expand_to_same_rank
from .f_score_metrics import EPSILON
from .reduction_metrics import _NamedWrapper

def _pair(y_true, y_pred):
    y_pred = ops.convert_to_tensor(y_pred)
    if not ops.dtype(y_pred).startswith("float"):
        y_pred = ops.cast(y_pred, "float32")
    y_true = ops.cast(y_true, ops.dtype(y_pred))
    return squeeze_or_expand_to_same_rank(y_true, y_pred)


def pearson_correlation(y_true, y_pred, axis=-1):
    """Pearson correlation of y_true and y_pred along `axis`."""
    y_true, y_pred = _pair(y_true, y_pred)
    t = ops.subtract(y_true, ops.mean(y_true, axis=axis, keepdims=True))
    p = ops.subtract(y_pred, ops.mean(y_pred, axis=axis, keepdims=True))
    t = ops.divide(t, ops.std(t, axis=axis, keepdims=True))
    p = ops.divide(p, ops.std(p, axis=axis, keepdims=True))
    return ops.mean(ops.multiply(t, p), axis=axis)


def concordance_correlation(y_true, y_pred, axis=-1):
    """Lin's concordance correlation along `axis` (Keras 3's formula)."""
    y_true, y_pred = _pair(y_true, y_pred)
    mt = ops.mean(y_true, axis=axis, keepdims=True)
    mp = ops.mean(y_pred, axis=axis, keepdims=True)
    vt = ops.var(ops.subtract(y_true, mt), axis=axis, keepdims=True)
    vp = ops.var(ops.subtract(y_pred, mp), axis=axis, keepdims=True)
    covar = ops.multiply(ops.subtract(y_true, mp), ops.subtract(y_pred, mp))
    norm = ops.add(ops.add(vt, vp), ops.square(ops.subtract(mt, mp)))
    return ops.mean(ops.divide(ops.multiply(covar, 2.0),
                               ops.add(norm, EPSILON)), axis=axis)


class PearsonCorrelation(_NamedWrapper):
    """Mean Pearson correlation (per sample, along `axis`) over the epoch."""

    _keys = ("axis",)

    def __init__(self, name="pearson_correlation", dtype=None, axis=-1):
        super().__init__(pearson_correlation, name=name, dtype=dtype,
                         axis=axis)
        self.axis = axis
        self._direction = "up"


class ConcordanceCorrelation(_NamedWrapper):
    """Mean concordance correlation (along `axis`) over the epoch."""

    _keys = ("axis",)

    def __init__(self, name="concordance_correlation", dtype=None, axis=-1):
        super().__init__(concordance_correlation, name=name, dtype=dtype,
                         axis=axis)
        self.axis = axis
        self._direction = "up"
