"""Sum, Mean and MeanMetricWrapper (a function of (y_true, y_pred) averaged
over the epoch, as Keras wraps "mae" or a custom metric function).

Weighting follows Keras 3's `reduce_to_samplewise_values`: values are
first reduced to one value per sample (mean over the trailing axes the
sample weight does not cover), multiplied by the sample weights, and
`Mean` divides the weighted sum by the sum of the weights (or by the
number of samples when there are none).
"""

from __future__ import annotations

import numpy as np

from .. import ops, tracing
from ..losses.loss import squeeze_or_expand_to_same_rank
from .metric import Metric


def _samplewise(values, sample_weight, reduce_fn, dtype, mask=None):
    """(per-sample values, per-sample weights or None)."""
    values = ops.cast(values, dtype)
    if mask is not None:
        mask = ops.cast(mask, dtype)
        sample_weight = mask if sample_weight is None else ops.multiply(
            *squeeze_or_expand_to_same_rank(mask, ops.cast(sample_weight,
                                                           dtype)))
    if sample_weight is not None:
        sample_weight = ops.cast(sample_weight, dtype)
        values, sample_weight = squeeze_or_expand_to_same_rank(
            values, sample_weight)
        w_nd, v_nd = len(ops.shape(sample_weight)), len(ops.shape(values))
        if v_nd > w_nd:
            values = reduce_fn(values, axis=list(range(w_nd, v_nd)))
        if ops.shape(sample_weight) != ops.shape(values):
            sample_weight = ops.multiply(sample_weight, ops.ones_like(values))
        values = ops.multiply(values, sample_weight)
        if w_nd > 1:
            sample_weight = reduce_fn(sample_weight, axis=list(range(1, w_nd)))
    v_nd = len(ops.shape(values))
    if v_nd > 1:
        values = reduce_fn(values, axis=list(range(1, v_nd)))
    return values, sample_weight


class Sum(Metric):
    """The running (weighted) sum of the values."""

    def __init__(self, name="sum", dtype=None):
        super().__init__(name=name, dtype=dtype)
        self.total = self.add_variable((), "zeros", name="total")

    def update_state(self, values, sample_weight=None):
        values, _ = _samplewise(values, sample_weight, ops.sum, self.dtype)
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

    def update_state(self, values, sample_weight=None, mask=None):
        values = ops.convert_to_tensor(values)
        values, w = _samplewise(values, sample_weight, ops.mean, self.dtype,
                                mask=mask)
        self.total.assign(ops.add(self.total, ops.sum(values)))
        if w is not None:
            n = ops.sum(w)
        elif len(ops.shape(values)) >= 1:
            n = ops.batch_size(values, self.dtype)
        else:
            n = 1.0
        self.count.assign(ops.add(self.count, n))

    def result(self):
        if tracing.current_trace() is None:
            # Eager fast path: the trainer reads results after every step.
            total, count = float(self.total), float(self.count)
            return np.asarray(total / count if count else 0.0, self.dtype)
        return ops.divide_no_nan(self.total, self.count)


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
        from .. import losses

        if fn in losses.ALL_OBJECTS.values():
            self._direction = "down"

    def update_state(self, y_true, y_pred, sample_weight=None):
        from ..layers.masks import get_keras_mask

        # Keras 3: the outputs' mask (a padded sequence's steps) weighs 0
        in_mask = get_keras_mask(y_pred)
        values = self._fn(y_true, y_pred, **self._fn_kwargs)
        mask = None
        if hasattr(values, "mask") and hasattr(values, "values"):
            values, mask = values.values, values.mask
        if in_mask is not None:
            mask = in_mask if mask is None else ops.logical_and(
                ops.cast(in_mask, "bool"), ops.cast(mask, "bool"))
        super().update_state(values, sample_weight=sample_weight, mask=mask)

    def get_config(self):
        from ..saving.serialization_lib import serialize_function

        return {**super().get_config(), "fn": serialize_function(self._fn),
                **self._fn_kwargs}

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        fn = config.get("fn")
        if isinstance(fn, (dict, str)):
            from ..saving.serialization_lib import deserialize_keras_object

            if isinstance(fn, str):
                fn = {"class_name": "function", "config": fn}
            config["fn"] = deserialize_keras_object(fn)
        return cls(**config)


class _NamedWrapper(MeanMetricWrapper):
    """A MeanMetricWrapper subclass whose config is its own arguments
    (Keras's built-in wrapper metrics); `_keys` lists the fn arguments."""

    _keys: tuple = ()

    def get_config(self):
        config = {"name": self.name, "dtype": self.dtype}
        config.update({k: self._fn_kwargs[k] for k in self._keys
                       if k in self._fn_kwargs})
        return config

    @classmethod
    def from_config(cls, config):
        return cls(**config)
