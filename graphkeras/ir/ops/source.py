"""Ops that make tensors from attributes: constant, zeros, ones, iota, and
dim_size (a dimension of its operand, read at run time)."""

from __future__ import annotations

import numpy as np

from ..dtypes import float32, int64
from ..function import ConstArray
from ..registry import (
    NOT_DIFFERENTIABLE,
    Attr,
    OpDef,
    a_dtype,
    a_int,
    a_shape,
    register_op,
)
from ..types import TensorType
from ._util import norm_axis


def _a_const(v):
    if not isinstance(v, ConstArray):
        v = ConstArray(v)
    return v


@register_op
class Constant(OpDef):
    """A constant tensor (usually a scalar, broadcast by its users)."""

    name, onnx, kind, num_inputs = "constant", "Constant", "source", 0
    attrs = {"value": Attr(_a_const)}
    vjp = NOT_DIFFERENTIABLE

    def infer(self, value):
        return TensorType(value.shape, value.dtype)

    def reference(self, value):
        return np.array(value.array, copy=True)


class _Fill(OpDef):
    kind, num_inputs = "source", 0
    attrs = {"shape": Attr(a_shape), "dtype": Attr(a_dtype, float32)}
    shape_attrs = ("shape",)
    vjp = NOT_DIFFERENTIABLE
    fill = 0

    def infer(self, shape, dtype):
        return TensorType(shape, dtype)

    def reference(self, shape, dtype):
        return np.full(shape, self.fill, dtype.np)


@register_op
class Zeros(_Fill):
    name, onnx, fill = "zeros", "ConstantOfShape", 0


@register_op
class Ones(_Fill):
    name, onnx, fill = "ones", "ConstantOfShape", 1


@register_op
class Iota(OpDef):
    """The index along `axis`, broadcast over `shape` (0, 1, 2, ...)."""

    name, onnx, kind, num_inputs = "iota", "Range", "source", 0
    attrs = {
        "shape": Attr(a_shape),
        "axis": Attr(a_int, 0),
        "dtype": Attr(a_dtype, int64),
    }
    shape_attrs = ("shape",)
    vjp = NOT_DIFFERENTIABLE

    def normalize(self, types, attrs):
        return dict(attrs, axis=norm_axis(attrs["axis"], len(attrs["shape"])))

    def infer(self, shape, axis, dtype):
        if dtype.is_bool:
            raise TypeError("iota cannot be boolean")
        return TensorType(shape, dtype)

    def reference(self, shape, axis, dtype):
        r = np.arange(shape[axis], dtype=dtype.np)
        r = r.reshape([shape[axis] if i == axis else 1 for i in range(len(shape))])
        return np.array(np.broadcast_to(r, shape))


@register_op
class DimSize(OpDef):
    """The size of dimension `axis` of the operand, as a scalar of `dtype`
    (how a mean over the batch divides by a batch size known at run time)."""

    name, onnx = "dim_size", "Shape"
    attrs = {"axis": Attr(a_int), "dtype": Attr(a_dtype, float32)}
    vjp = NOT_DIFFERENTIABLE
    diff_inputs = ()  # reads the operand's shape, never its values

    def normalize(self, types, attrs):
        return dict(attrs, axis=norm_axis(attrs["axis"], types[0].rank))

    def infer(self, x, axis, dtype):
        return TensorType((), dtype)

    def reference(self, x, axis, dtype):
        return np.asarray(x.shape[axis], dtype.np)
