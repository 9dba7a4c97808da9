"""The Loss base class and Keras's reductions.

A Loss maps (y_true, y_pred) to per-sample values in `call()` (written
with graphkeras.ops, so it traces into the train step), then `__call__`
weights them by `sample_weight` and reduces them:

- "sum_over_batch_size" (default) and "mean": sum(w * l) / number of
  elements of l;
- "sum": sum(w * l);
- "mean_with_sample_weight": sum(w * l) / sum(w);
- None / "none": w * l, unreduced.

Divisions are divide_no_nan (an empty or all-zero-weight batch gives 0).
`call()` may return an object with `.values` and `.mask` (per-sample
losses with a validity mask, as sparse_categorical_crossentropy with
ignore_class does); masked-out entries then do not count in the mean.

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
                           "sum_over_batch_size", mask=None):
    """Weight per-sample `values` by `sample_weight` (and a validity
    `mask`), then reduce them (Keras 3's reduce_weighted_values)."""
    values = ops.convert_to_tensor(values)
    if not ops.dtype(values).startswith("float"):
        values = ops.cast(values, "float32")
    dt = ops.dtype(values)
    if mask is not None:
        mask = ops.cast(mask, dt)
        if reduction in ("mean", "sum_over_batch_size"):
            # valid entries weigh total / valid, so that the mean over all
            # entries is the mean over the valid ones
            total = _num_elements(mask)
            mask = ops.multiply(mask, ops.divide_no_nan(total, ops.sum(mask)))
        if sample_weight is None:
            sample_weight = mask
        else:
            sample_weight = ops.cast(sample_weight, dt)
            mask, sample_weight = squeeze_or_expand_to_same_rank(
                mask, sample_weight)
            sample_weight = ops.multiply(sample_weight, mask)
    if sample_weight is not None:
        sample_weight = ops.cast(sample_weight, dt)
        values, sample_weight = squeeze_or_expand_to_same_rank(
            values, sample_weight)
        # NOTE: Keras would broadcast a (N,) weight against (N, T) values
        # from the right; weights name samples, so align them from the left.
        while len(ops.shape(sample_weight)) < len(ops.shape(values)):
            sample_weight = ops.expand_dims(sample_weight, -1)
        values = ops.multiply(values, sample_weight)
    if reduction in (None, "none") or len(ops.shape(values)) == 0:
        return values
    total = ops.sum(values)
    if reduction == "sum":
        return total
    if reduction == "mean_with_sample_weight" and sample_weight is not None:
        return ops.divide_no_nan(total, ops.sum(sample_weight))
    return ops.divide_no_nan(total, _num_elements(values))


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
        from ..layers.masks import get_keras_mask

        in_mask = get_keras_mask(y_pred)  # Keras: masked outputs do not count
        y_pred = ops.convert_to_tensor(y_pred)
        if ops.dtype(y_pred) != self.dtype and ops.dtype(y_pred).startswith(
                "float"):
            y_pred = ops.cast(y_pred, self.dtype)
        y_true = ops.convert_to_tensor(y_true)
        losses = self.call(y_true, y_pred)
        mask = None
        if hasattr(losses, "mask") and hasattr(losses, "values"):
            losses, mask = losses.values, losses.mask
        if in_mask is not None:
            mask = in_mask if mask is None else ops.logical_and(
                ops.cast(in_mask, "bool"), ops.cast(mask, "bool"))
        return reduce_weighted_values(losses, sample_weight, self.reduction,
                                      mask=mask)

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
        y_true, y_pred = squeeze_or_expand_to_same_rank(y_true, y_pred)
        return self.fn(y_true, y_pred, **self._fn_kwargs)

    def get_config(self):
        """The Loss config and the function's keyword arguments; a subclass
        names its function by its class, so only the wrapper itself
        serializes `fn`."""
        config = {**super().get_config(), **self._fn_kwargs}
        if type(self) is LossFunctionWrapper:
            from ..saving.serialization_lib import serialize_function

            config["fn"] = serialize_function(self.fn)
        return config

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        if isinstance(config.get("fn"), (dict, str)):
            from ..saving.serialization_lib import deserialize_keras_object

            fn = config["fn"]
            if isinstance(fn, str):
                fn = {"class_name": "function", "config": fn}
            config["fn"] = deserialize_keras_object(fn)
        return cls(**config)

    def __repr__(self) -> str:
        return (f"<LossFunctionWrapper({getattr(self.fn, '__name__', self.fn)}, "
                f"kwargs={self._fn_kwargs})>")
