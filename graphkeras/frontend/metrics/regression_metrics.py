"""Regression metrics: the mean of a loss function over the epoch
(MSE, MAE, MAPE, MSLE, log-cosh, cosine similarity), RootMeanSquaredError
and R2Score, with Keras 3's names and formulas."""

from __future__ import annotations

import numpy as np

from .. import ops, tracing
from ..losses.loss import squeeze_or_expand_to_same_rank
from ..losses.losses import (
    log_cosh,
    mean_absolute_error,
    mean_absolute_percentage_error,
    mean_squared_error,
    mean_squared_logarithmic_error,
)
from .metric import Metric
from .reduction_metrics import Mean, _NamedWrapper


def cosine_similarity(y_true, y_pred, axis=-1):
    """sum(l2_normalize(y_true) * l2_normalize(y_pred)) along `axis` (the
    metric is +1 for identical directions; the loss is its negative)."""
    y_pred = ops.convert_to_tensor(y_pred)
    y_true = ops.cast(y_true, ops.dtype(y_pred))
    y_true, y_pred = squeeze_or_expand_to_same_rank(y_true, y_pred)
    return ops.sum(ops.multiply(ops.normalize(y_true, axis=axis),
                                ops.normalize(y_pred, axis=axis)), axis=axis)


class MeanSquaredError(_NamedWrapper):
    """Mean of squared errors over the epoch."""

    def __init__(self, name="mean_squared_error", dtype=None):
        super().__init__(mean_squared_error, name=name, dtype=dtype)
        self._direction = "down"


class MeanAbsoluteError(_NamedWrapper):
    """Mean of absolute errors over the epoch."""

    def __init__(self, name="mean_absolute_error", dtype=None):
        super().__init__(mean_absolute_error, name=name, dtype=dtype)
        self._direction = "down"


class MeanAbsolutePercentageError(_NamedWrapper):
    """Mean absolute percentage error over the epoch."""

    def __init__(self, name="mean_absolute_percentage_error", dtype=None):
        super().__init__(mean_absolute_percentage_error, name=name,
                         dtype=dtype)
        self._direction = "down"


class MeanSquaredLogarithmicError(_NamedWrapper):
    """Mean squared logarithmic error over the epoch."""

    def __init__(self, name="mean_squared_logarithmic_error", dtype=None):
        super().__init__(mean_squared_logarithmic_error, name=name,
                         dtype=dtype)
        self._direction = "down"


class LogCoshError(_NamedWrapper):
    """Mean of log(cosh(error)) over the epoch."""

    def __init__(self, name="logcosh", dtype=None):
        super().__init__(log_cosh, name=name, dtype=dtype)
        self._direction = "down"


class CosineSimilarity(_NamedWrapper):
    """Mean cosine similarity of targets and predictions along `axis`."""

    def __init__(self, name="cosine_similarity", dtype=None, axis=-1):
        super().__init__(cosine_similarity, name=name, dtype=dtype, axis=axis)
        self._direction = "up"


class RootMeanSquaredError(Mean):
    """sqrt of the (weighted) mean of squared errors over the epoch."""

    def __init__(self, name="root_mean_squared_error", dtype=None):
        super().__init__(name=name, dtype=dtype)
        self._direction = "down"

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_pred = ops.cast(y_pred, self.dtype)
        y_true = ops.cast(y_true, self.dtype)
        y_true, y_pred = squeeze_or_expand_to_same_rank(y_true, y_pred)
        err = ops.square(ops.subtract(y_pred, y_true))
        super().update_state(err, sample_weight=sample_weight)

    def result(self):
        if tracing.current_trace() is None:
            return np.sqrt(super().result())
        return ops.sqrt(super().result())


class R2Score(Metric):
    """Coefficient of determination, per output column then aggregated
    ("uniform_average", "variance_weighted_average" or None)."""

    def __init__(self, class_aggregation="uniform_average", num_regressors=0,
                 name="r2_score", dtype=None):
        super().__init__(name=name, dtype=dtype)
        self._direction = "up"
        valid = (None, "uniform_average", "variance_weighted_average")
        if class_aggregation not in valid:
            raise ValueError(
                "Invalid value for argument `class_aggregation`. Expected one "
                f"of {valid}. Received: class_aggregation={class_aggregation}"
            )
        if num_regressors < 0:
            raise ValueError(
                "Invalid value for argument `num_regressors`. Expected a "
                f"value >= 0. Received: num_regressors={num_regressors}"
            )
        self.class_aggregation = class_aggregation
        self.num_regressors = num_regressors
        self.num_samples = self.add_variable((), "zeros", name="num_samples")
        self._built = False

    def _build(self, shape):
        if len(shape) != 2 or shape[-1] is None:
            raise ValueError(
                "R2Score expects 2D inputs with shape (batch_size, "
                f"output_dim). Received input shapes: y_pred.shape={shape}."
            )
        n = shape[-1]
        self.squared_sum = self.add_variable((n,), "zeros", name="squared_sum")
        self.sum = self.add_variable((n,), "zeros", name="sum")
        self.total_mse = self.add_variable((n,), "zeros", name="residual")
        self.count = self.add_variable((n,), "zeros", name="count")
        self._built = True

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_true = ops.cast(y_true, self.dtype)
        y_pred = ops.cast(y_pred, self.dtype)
        y_true, y_pred = squeeze_or_expand_to_same_rank(y_true, y_pred)
        if not self._built:
            t = tracing.current_trace()
            if t is not None:
                with t.suspended():
                    self._build(ops.shape(y_true))
            else:
                self._build(ops.shape(y_true))
        w = ops.ones_like(y_true) if sample_weight is None else ops.cast(
            sample_weight, self.dtype)
        if len(ops.shape(w)) == 1:
            w = ops.expand_dims(w, 1)
        w = ops.multiply(w, ops.ones_like(y_true))
        wy = ops.multiply(y_true, w)
        self.sum.assign(ops.add(self.sum, ops.sum(wy, axis=0)))
        self.squared_sum.assign(ops.add(self.squared_sum, ops.sum(
            ops.multiply(y_true, wy), axis=0)))
        self.total_mse.assign(ops.add(self.total_mse, ops.sum(ops.multiply(
            ops.square(ops.subtract(y_true, y_pred)), w), axis=0)))
        self.count.assign(ops.add(self.count, ops.sum(w, axis=0)))
        self.num_samples.assign(ops.add(self.num_samples, ops.multiply(
            ops.batch_size(y_true, self.dtype), float(ops.shape(y_true)[-1]))))

    def result(self):
        if not self._built:
            return np.asarray(0.0, self.dtype)
        mean = ops.divide(self.sum, self.count)
        total = ops.subtract(self.squared_sum, ops.multiply(self.sum, mean))
        raw = ops.subtract(1.0, ops.divide(self.total_mse, total))
        raw = ops.where(ops.equal(ops.abs(raw), np.inf), ops.zeros_like(raw),
                        raw)
        if self.class_aggregation == "uniform_average":
            r2 = ops.mean(raw)
        elif self.class_aggregation == "variance_weighted_average":
            r2 = ops.divide(ops.sum(ops.multiply(total, raw)), ops.sum(total))
        else:
            r2 = raw
        n = float(self.num_samples)
        p = float(self.num_regressors)
        if p and p < n - 1:
            r2 = ops.subtract(1.0, ops.divide(ops.multiply(
                ops.subtract(1.0, r2), n - 1.0), n - p - 1.0))
        return r2

    def reset_state(self):
        for v in self.variables:
            v.assign(np.zeros(v.shape, v.dtype))

    def get_config(self):
        return {**super().get_config(),
                "class_aggregation": self.class_aggregation,
                "num_regressors": self.num_regressors}
