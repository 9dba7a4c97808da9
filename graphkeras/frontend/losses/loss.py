"""The Loss base class and Keras's reductions.

A Loss maps (y_true, y_pred) to per-sample values in `call()` (written
with graphkeras.ops, so it traces into the train step), then `__call__`
weights them by `sample_weight` and reduces them:

- "sum_over_batch_size" (default): sum(w * l) / number of elements of l;
- "sum": sum(w * l);
- "mean_with_sample_weight": sum(w * l) / sum(w);
- None / "none": w * l, unreduced.

Adding a loss: subclass `Loss` (implement `call(y_true, y_pred)` and
`get_config`) or write a function `fn(y_true, y_pred)` and wrap it with
`LossFunctionWrapper(fn, name=...)`; register both names in
`losses/__init__.py`'s `ALL_OBJECTS`.
"""

from __future__ import annotations

from .. import ops
from ..naming import to_snake_case

REDUCTIONS = ("sum", "sum_over_batch_size", "mean", "mean_with_sample_weight",
              "none", None)


def standardize_reduction(reduction):
    if reduction not in REDUCTIONS:
        raise ValueError(
            f"Invalid value for argument `reduction`. Expected one of "
            f"{REDUCTIONS}. Received: reduction={reduction!r}"
        )
    return reduction


def squeeze_or_expand_to_same_rank(x1, x2, expand_rank_1=True):
    """Make the ranks of x1 and x2 equal by squeezing or expanding a last
    axis of size 1 (Keras's rule)."""
    r1, r2 = len(ops.shape(x1)), len(ops.shape(x2))
    if r1 == r2:
        return x1, x2
    if r1 == r2 + 1 and ops.shape(x1)[-1] == 1:
        if r2 == 1 and expand_rank_1:
            return x1, ops.expand_dims(x2, -1)
        return ops.squeeze(x1, -1), x2
    if r2 == r1 + 1 and ops.shape(x2)[-1] == 1:
        if r1 == 1 and expand_rank_1:
            return ops.expand_dims(x1, -1), x2
        return x1, ops.squeeze(x2, -1)
    return x1, x2


def _num_elements(x):
    shape = ops.shape(x)
    static = 1
    for d in shape[1:]:
        static *= d
    if not shape:
        return 1.0
    if shape[0] is None:
        return ops.multiply(ops.batch_size(x, "float32"), float(static))
    return float(static * shape[0])


def reduce_weighted_values(values, sample_weight=None, reduction=
                           "sum_over_batch_size"):
    values = ops.convert_to_tensor(values)
    if not ops.dtype(values).startswith("float"):
        values = ops.cast(values, "float32")
    if sample_weight is not None:
        sample_weight = ops.cast(sample_weight, ops.dtype(values))
        values, sample_weight = squeeze_or_expand_to_same_rank(
            values, sample_weight, expand_rank_1=False)
        while len(ops.shape(sample_weight)) < len(ops.shape(values)):
            sample_weight = ops.expand_dims(sample_weight, -1)
        values = ops.multiply(values, sample_weight)
    if reduction in (None, "none"):
        return values
    total = ops.sum(values)
    if reduction == "sum":
        return total
    if reduction == "mean_with_sample_weight" and sample_weight is not None:
        w = ops.sum(ops.broadcast_to(sample_weight, ops.shape(values))
                    if ops.shape(sample_weight) != ops.shape(values)
                    else sample_weight)
        return ops.divide(total, ops.maximum(w, 1e-7))
    return ops.divide(total, _num_elements(values))


class Loss:
    """Base class of losses.

    Args:
        name: the loss's name (snake_case class name by default).
        reduction: see the module docstring; "sum_over_batch_size" default.
        dtype: the dtype of the computation (float32).
    """

    def __init__(self, name=None, reduction="sum_over_batch_size", dtype=None):
        self.name = name or to_snake_case(type(self).__name__)
        self.reduction = standardize_reduction(reduction)
        self.dtype = dtype or "float32"

    def __call__(self, y_true, y_pred, sample_weight=None):
        y_pred = ops.convert_to_tensor(y_pred)
        if ops.dtype(y_pred) != self.dtype and ops.dtype(y_pred).startswith(
                "float"):
            y_pred = ops.cast(y_pred, self.dtype)
        y_true = ops.convert_to_tensor(y_true)
        losses = self.call(y_true, y_pred)
        return reduce_weighted_values(losses, sample_weight, self.reduction)

    def call(self, y_true, y_pred):
        raise NotImplementedError

    def get_config(self) -> dict:
        return {"name": self.name, "reduction": self.reduction}

    @classmethod
    def from_config(cls, config):
        return cls(**config)


class LossFunctionWrapper(Loss):
    """A Loss made from a function `fn(y_true, y_pred, **kwargs)` returning
    per-sample values."""

    def __init__(self, fn, reduction="sum_over_batch_size", name=None,
                 dtype=None, **kwargs):
        super().__init__(name=name or getattr(fn, "__name__", None),
                         reduction=reduction, dtype=dtype)
        self.fn = fn
        self._fn_kwargs = kwargs

    def call(self, y_true, y_pred):
        return self.fn(y_true, y_pred, **self._fn_kwargs)

    def get_config(self):
        return {**super().get_config(), **self._fn_kwargs}
