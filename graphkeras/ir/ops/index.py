"""Indexing ops: gather, scatter_add (its adjoint), one_hot.

Out-of-range indices are clamped into range by gather and scatter_add (so
compiled code never reads or writes outside a buffer), and give an all-off
row in one_hot (as TensorFlow does). Negative indices are not wrapped: they
clamp to 0.
"""

from __future__ import annotations

import numpy as np

from ..dtypes import float32
from ..registry import (
    NOT_DIFFERENTIABLE,
    Attr,
    OpDef,
    a_dtype,
    a_float,
    a_int,
    register_op,
)
from ..types import TensorType, format_shape, is_symbol
from ._util import norm_axis


def _check_indices(t: TensorType):
    if not t.dtype.is_int:
        raise TypeError(f"indices must be integers, got {t.dtype.long_name}")


def _clamped(indices: np.ndarray, dim: int) -> np.ndarray:
    return np.clip(indices.astype(np.int64), 0, max(dim - 1, 0))


def _gather_shape(x, idx, axis):
    return x.shape[:axis] + idx.shape + x.shape[axis + 1:]


@register_op
class Gather(OpDef):
    """out[..., i..., ...] = x[..., indices[i...], ...] along `axis`
    (np.take with clamped indices)."""

    name, onnx, num_inputs = "gather", "Gather", 2
    attrs = {"axis": Attr(a_int, 0)}
    diff_inputs = (0,)

    def normalize(self, types, attrs):
        return dict(attrs, axis=norm_axis(attrs["axis"], types[0].rank))

    def infer(self, x, indices, axis):
        _check_indices(indices)
        if is_symbol(x.shape[axis]):
            raise ValueError("cannot gather along a symbolic axis")
        if x.shape[axis] == 0:
            # NOTE: no index is in range; clamping cannot make a read safe
            raise ValueError(f"cannot gather along axis {axis}, of size 0")
        return TensorType(_gather_shape(x, indices, axis), x.dtype)

    def reference(self, x, indices, axis):
        return np.take(x, _clamped(indices, x.shape[axis]), axis=axis)

    def vjp(self, b, g, inputs, outputs, axis):
        x, indices = inputs
        return (b.scatter_add(b.zeros_like(x), indices, g, axis=axis), None)


@register_op
class ScatterAdd(OpDef):
    """x with `updates` added at `indices` along `axis`; repeated indices
    accumulate. updates.shape == x.shape[:axis] + indices.shape +
    x.shape[axis+1:]."""

    name, onnx, num_inputs = "scatter_add", "ScatterND", 3
    attrs = {"axis": Attr(a_int, 0)}
    diff_inputs = (0, 2)

    def flops(self, node, env: dict) -> int:
        """1 per update added."""
        return node.inputs[2].type.num_elements(env)

    def normalize(self, types, attrs):
        return dict(attrs, axis=norm_axis(attrs["axis"], types[0].rank))

    def infer(self, x, indices, updates, axis):
        _check_indices(indices)
        if updates.dtype != x.dtype:
            raise TypeError(
                f"updates are {updates.dtype.long_name}, x is "
                f"{x.dtype.long_name}"
            )
        want = _gather_shape(x, indices, axis)
        if tuple(updates.shape) != want:
            raise ValueError(
                f"updates must have shape {format_shape(want)}, got "
                f"{format_shape(updates.shape)}"
            )
        if is_symbol(x.shape[axis]):
            raise ValueError("cannot scatter along a symbolic axis")
        if x.shape[axis] == 0:
            raise ValueError(f"cannot scatter along axis {axis}, of size 0")
        return x

    def reference(self, x, indices, updates, axis):
        out = np.array(x, copy=True)
        idx = _clamped(indices, x.shape[axis])
        # move `axis` first, flatten the indices, then accumulate
        moved = np.moveaxis(out, axis, 0)
        k = indices.ndim
        upd = np.moveaxis(updates, list(range(axis, axis + k)), list(range(k)))
        upd = upd.reshape((idx.size,) + moved.shape[1:])
        np.add.at(moved, idx.reshape(-1), upd)
        return out

    def vjp(self, b, g, inputs, outputs, axis):
        x, indices, updates = inputs
        return (g, None, b.gather(g, indices, axis=axis))


@register_op
class OneHot(OpDef):
    name, onnx = "one_hot", "OneHot"
    attrs = {
        "depth": Attr(a_int),
        "axis": Attr(a_int, -1),
        "dtype": Attr(a_dtype, float32),
        "on_value": Attr(a_float, 1.0),
        "off_value": Attr(a_float, 0.0),
    }
    vjp = NOT_DIFFERENTIABLE

    def normalize(self, types, attrs):
        return dict(attrs, axis=norm_axis(attrs["axis"], types[0].rank + 1))

    def infer(self, indices, depth, axis, dtype, on_value, off_value):
        _check_indices(indices)
        if depth < 0:
            raise ValueError(f"depth must be >= 0, got {depth}")
        shape = list(indices.shape)
        shape.insert(axis, depth)
        return TensorType(tuple(shape), dtype)

    def reference(self, indices, depth, axis, dtype, on_value, off_value):
        hot = np.expand_dims(indices, axis) == np.arange(depth).reshape(
            [depth if i == axis else 1 for i in range(indices.ndim + 1)]
        )
        return np.where(hot, on_value, off_value).astype(dtype.np)
