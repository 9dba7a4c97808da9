"""Sum, Mean and MeanMetricWrapper (a function of (y_true, y_pred) averaged
over the epoch, as Keras wraps "mae" or a custom metric function)."""

from __future__ import annotations

import numpy as np

from .. import ops, tracing
from ..losses.loss import squeeze_or_expand_to_same_rank
from .metric import Metric


def _weighted(values, sample_weight, dtype):
    values = ops.cast(values, dtype)
    if sample_weight is None:
        return values, None
    sample_weight = ops.cast(sample_weight, dtype)
    values, sample_weight = squeeze_or_expand_to_same_rank(
        values, sample_weight, expand_rank_1=False)
    while len(ops.shape(sample_weight)) < len(ops.shape(values)):
        sample_weight = ops.expand_dims(sample_weight, -1)
    if ops.shape(sample_weight) != ops.shape(values):
        sample_weight = ops.multiply(sample_weight, ops.ones_like(values))
    return ops.multiply(values, sample_weight), sample_weight


def _count(values, dtype):
    shape = ops.shape(values)
    static = 1
    for d in shape[1:]:
        static *= d
    if shape and shape[0] is None:
        return ops.multiply(ops.batch_size(values, dtype), float(static))
    n = static * (shape[0] if shape else 1)
    return float(n)


class Sum(Metric):
    """The running sum of the values."""

    def __init__(self, name="sum", dtype=None):
        super().__init__(name=name, dtype=dtype)
        self.total = self.add_variable((), "zeros", name="total")

    def update_state(self, values, sample_weight=None):
        values, _ = _weighted(values, sample_weight, self.dtype)
        self.total.assign(ops.add(self.total, ops.sum(values)))

    def result(self):
        if tracing.current_trace() is None:
            return self.total.numpy()
        return ops.convert_to_tensor(self.total)


class Mean(Metric):
    """The (weighted) mean of the values seen so far."""

    def __init__(self, name="mean", dtype=None):
        super().__init__(name=name, dtype=dtype)
        self.total = self.add_variable((), "zeros", name="total")
        self.count = self.add_variable((), "zeros", name="count")

    def update_state(self, values, sample_weight=None):
        values = ops.convert_to_tensor(values)
        if sample_weight is not None and len(ops.shape(sample_weight)) == 0 \
                and len(ops.shape(values)) == 0:
            w = ops.cast(sample_weight, self.dtype)
            self.total.assign(ops.add(self.total, ops.multiply(
                ops.cast(values, self.dtype), w)))
            self.count.assign(ops.add(self.count, w))
            return
        weighted, w = _weighted(values, sample_weight, self.dtype)
        self.total.assign(ops.add(self.total, ops.sum(weighted)))
        n = _count(weighted, self.dtype) if w is None else ops.sum(w)
        self.count.assign(ops.add(self.count, n))

    def result(self):
        if tracing.current_trace() is None:
            # Eager fast path: the trainer reads results after every step.
            total, count = float(self.total), float(self.count)
            return np.asarray(total / count if count else 0.0, self.dtype)
        return _safe_div(self.total, self.count)


def _safe_div(a, b):
    return ops.where(ops.equal(b, 0.0), ops.zeros_like(a), ops.divide(
        a, ops.where(ops.equal(b, 0.0), ops.ones_like(b), b)))


class MeanMetricWrapper(Mean):
    """Averages `fn(y_true, y_pred, **kwargs)` over the epoch.

    Example:
        >>> m = MeanMetricWrapper(mean_absolute_error, name="mae")
    """

    def __init__(self, fn, name=None, dtype=None, **kwargs):
        super().__init__(name=name or getattr(fn, "__name__", "mean"),
                         dtype=dtype)
        self._fn = fn
        self._fn_kwargs = kwargs

    def update_state(self, y_true, y_pred, sample_weight=None):
        values = self._fn(y_true, y_pred, **self._fn_kwargs)
        super().update_state(values, sample_weight=sample_weight)

    def get_config(self):
        return {**super().get_config(), **self._fn_kwargs}
