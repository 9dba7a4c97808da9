"""Softmax and log-softmax as their own ops, for stable numerics: both
subtract the maximum along the axis before exponentiating."""

from __future__ import annotations

import numpy as np

from ..registry import Attr, OpDef, a_int, register_op
from ..types import TensorType
from ._util import norm_axis


class _SoftmaxBase(OpDef):
    kind = "reduce"
    attrs = {"axis": Attr(a_int, -1)}

    def flops(self, node, env: dict) -> int:
        """5 per element: max, subtract, exp, sum, divide (or log)."""
        return 5 * node.outputs[0].type.num_elements(env)

    def normalize(self, types, attrs):
        return dict(attrs, axis=norm_axis(attrs["axis"], types[0].rank))

    def infer(self, x: TensorType, axis: int) -> TensorType:
        if not x.dtype.is_float:
            raise TypeError(f"the operand must be floating-point, got "
                            f"{x.dtype.long_name}")
        return x


def _log_softmax(x: np.ndarray, axis: int) -> np.ndarray:
    m = np.max(x, axis=axis, keepdims=True)
    m = np.where(np.isfinite(m), m, 0).astype(x.dtype)
    z = x - m
    with np.errstate(divide="ignore"):
        return z - np.log(np.sum(np.exp(z), axis=axis, keepdims=True))


@register_op
class Softmax(_SoftmaxBase):
    name, onnx = "softmax", "Softmax"

    def reference(self, x, axis):
        return np.exp(_log_softmax(x, axis)).astype(x.dtype)

    def vjp(self, b, g, inputs, outputs, axis):
        y = outputs[0]
        # dx = y * (g - sum(g * y))
        s = b.reduce_sum(b.mul(g, y), axes=(axis,), keepdims=True)
        return (b.mul(y, b.sub(g, s)),)


@register_op
class LogSoftmax(_SoftmaxBase):
    name, onnx = "log_softmax", "LogSoftmax"

    def reference(self, x, axis):
        return _log_softmax(x, axis).astype(x.dtype)

    def vjp(self, b, g, inputs, outputs, axis):
        y = outputs[0]
        # dx = g - softmax(x) * sum(g)
        s = b.reduce_sum(g, axes=(axis,), keepdims=True)
        return (b.sub(g, b.mul(b.exp(y), s)),)
