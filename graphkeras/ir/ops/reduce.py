"""Reductions over axes: sum, mean, max, min; and argmax / argmin.

`axes` is canonical once built: sorted, non-negative, no repeats (None at
build time means every axis).
"""

from __future__ import annotations

import numpy as np

from ..dtypes import int64
from ..registry import (
    NOT_DIFFERENTIABLE,
    Attr,
    OpDef,
    a_bool,
    a_dtype,
    a_int,
    a_opt_ints,
    register_op,
)
from ..types import TensorType
from ._util import count_value, expand_to, norm_axes, norm_axis, reduced_shape


class _Reduce(OpDef):
    kind = "reduce"
    attrs = {"axes": Attr(a_opt_ints, None), "keepdims": Attr(a_bool, False)}
    dtypes = "float int"

    def normalize(self, types, attrs):
        return dict(attrs, axes=norm_axes(attrs["axes"], types[0].rank))

    def infer(self, x, axes, keepdims):
        if x.dtype.kind not in self.dtypes:
            raise TypeError(f"cannot reduce a {x.dtype.long_name} tensor")
        return TensorType(reduced_shape(x.shape, axes, keepdims), x.dtype)


@register_op
class ReduceSum(_Reduce):
    name, onnx = "reduce_sum", "ReduceSum"

    def reference(self, x, axes, keepdims):
        return np.sum(x, axis=axes, keepdims=keepdims, dtype=x.dtype)

    def vjp(self, b, g, inputs, outputs, axes, keepdims):
        return (expand_to(b, g, inputs[0], axes, keepdims),)


@register_op
class ReduceMean(_Reduce):
    name, onnx, dtypes = "reduce_mean", "ReduceMean", "float"

    def reference(self, x, axes, keepdims):
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.mean(x, axis=axes, keepdims=keepdims, dtype=x.dtype)

    def vjp(self, b, g, inputs, outputs, axes, keepdims):
        x = inputs[0]
        n = count_value(b, x, axes, x.dtype)
        return (b.div(expand_to(b, g, x, axes, keepdims), n),)


def _check_not_empty(name: str, x: TensorType, axes: tuple) -> None:
    """An extreme over no elements has no value: reject a static size-0
    reduced axis when building (a batch of 0 fails in the reference)."""
    for a in axes:
        if x.shape[a] == 0:
            raise ValueError(f"{name} over axis {a}, of size 0, has no value")


class _ReduceExtreme(_Reduce):
    np_fn = None

    def infer(self, x, axes, keepdims):
        _check_not_empty(self.name, x, axes)
        return super().infer(x, axes, keepdims)

    def reference(self, x, axes, keepdims):
        # a batch of 0 reduced over other (non-empty) axes is an empty result
        if any(x.shape[a] == 0 for a in (axes if axes is not None
                                         else range(x.ndim))):
            raise ValueError(f"{self.name} of an empty tensor")
        return type(self).np_fn(x, axis=axes, keepdims=keepdims)

    def vjp(self, b, g, inputs, outputs, axes, keepdims):
        # The gradient is shared equally among the elements equal to the
        # extreme (as TensorFlow and JAX do).
        x, y = inputs[0], outputs[0]
        yb = expand_to(b, y, x, axes, keepdims)
        mask = b.cast(b.equal(x, yb), dtype=x.dtype)
        ties = b.reduce_sum(mask, axes=axes, keepdims=True)
        share = b.div(mask, ties)
        return (b.mul(share, expand_to(b, g, x, axes, keepdims)),)


@register_op
class ReduceMax(_ReduceExtreme):
    name, onnx, np_fn = "reduce_max", "ReduceMax", np.max


@register_op
class ReduceMin(_ReduceExtreme):
    name, onnx, np_fn = "reduce_min", "ReduceMin", np.min


class _Arg(OpDef):
    kind = "reduce"
    attrs = {
        "axis": Attr(a_int, -1),
        "keepdims": Attr(a_bool, False),
        "dtype": Attr(a_dtype, int64),
    }
    vjp = NOT_DIFFERENTIABLE
    np_fn = None

    def normalize(self, types, attrs):
        return dict(attrs, axis=norm_axis(attrs["axis"], types[0].rank))

    def infer(self, x, axis, keepdims, dtype):
        _check_not_empty(self.name, x, (axis,))
        if not dtype.is_int:
            raise TypeError(f"the result dtype must be an integer, got {dtype}")
        if x.dtype.is_bool:
            raise TypeError("cannot take the arg-extreme of a boolean tensor")
        return TensorType(reduced_shape(x.shape, (axis,), keepdims), dtype)

    def reference(self, x, axis, keepdims, dtype):
        out = type(self).np_fn(x, axis=axis, keepdims=keepdims)
        return np.asarray(out).astype(dtype.np)


@register_op
class Argmax(_Arg):
    """Index of the first maximum along `axis`."""

    name, onnx, np_fn = "argmax", "ArgMax", np.argmax


@register_op
class Argmin(_Arg):
    """Index of the first minimum along `axis`."""

    name, onnx, np_fn = "argmin", "ArgMin", np.argmin
