"""Elementwise ops: unary, binary (NumPy broadcasting), where, cast, clip.

Each op is one class; the small factories below only remove repetition in
the class bodies. A binary op's operands must have equal dtypes (the
frontend promotes Python scalars before it records a node), and its result
shape is the NumPy broadcast of the operand shapes.
"""

from __future__ import annotations

import math

import numpy as np

from ..dtypes import as_dtype, bool_
from ..registry import (
    NOT_DIFFERENTIABLE,
    Attr,
    OpDef,
    a_dtype,
    a_float,
    register_op,
)
from ..scalar import np_erf, np_sigmoid
from ..types import TensorType, broadcast_shapes


def _need(t: TensorType, kinds: str, what: str) -> None:
    if t.dtype.kind not in kinds:
        names = {"float": "floating-point", "int": "integer", "bool": "boolean"}
        allowed = " or ".join(names[k] for k in ("float", "int", "bool") if k in kinds)
        raise TypeError(f"{what} must be {allowed}, got {t.dtype.long_name}")


class _Unary(OpDef):
    kind = "elementwise"
    dtypes = "float"  # which dtype kinds the operand may have

    def infer(self, x: TensorType, **attrs) -> TensorType:
        _need(x, self.dtypes, "the operand")
        return x


class _Binary(OpDef):
    kind = "elementwise"
    num_inputs = 2
    dtypes = "float int"
    result_bool = False

    def infer(self, a: TensorType, b: TensorType, **attrs) -> TensorType:
        if a.dtype != b.dtype:
            raise TypeError(
                f"operand dtypes differ ({a.dtype.long_name} vs "
                f"{b.dtype.long_name}); cast one of them first"
            )
        _need(a, self.dtypes, "the operands")
        shape = broadcast_shapes(a.shape, b.shape)
        return TensorType(shape, bool_ if self.result_bool else a.dtype)


def _where0(b, mask, g):
    """g where mask holds, else 0 (mask broadcasts against g)."""
    return b.where(mask, g, b.scalar_like(0.0, g))


# --- unary -------------------------------------------------------------------


@register_op
class Neg(_Unary):
    name, onnx, dtypes = "neg", "Neg", "float int"

    def reference(self, x):
        return np.negative(x)

    def vjp(self, b, g, inputs, outputs):
        return (b.neg(g),)

    def emit(self, s, x):
        return s.neg(x)


@register_op
class Exp(_Unary):
    name, onnx = "exp", "Exp"

    def reference(self, x):
        with np.errstate(over="ignore"):
            return np.exp(x)

    def vjp(self, b, g, inputs, outputs):
        return (b.mul(g, outputs[0]),)

    def emit(self, s, x):
        return s.exp(x)


@register_op
class Log(_Unary):
    name, onnx = "log", "Log"

    def reference(self, x):
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.log(x)

    def vjp(self, b, g, inputs, outputs):
        return (b.div(g, inputs[0]),)

    def emit(self, s, x):
        return s.log(x)


@register_op
class Log1p(_Unary):
    name, onnx = "log1p", "Log"  # exported as Log(Add(x, 1))

    def reference(self, x):
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.log1p(x)

    def vjp(self, b, g, inputs, outputs):
        x = inputs[0]
        return (b.div(g, b.add(x, b.scalar_like(1.0, x))),)

    def emit(self, s, x):
        return s.log1p(x)


@register_op
class Expm1(_Unary):
    name, onnx = "expm1", "Exp"  # exported as Sub(Exp(x), 1)

    def reference(self, x):
        with np.errstate(over="ignore"):
            return np.expm1(x)

    def vjp(self, b, g, inputs, outputs):
        y = outputs[0]
        return (b.mul(g, b.add(y, b.scalar_like(1.0, y))),)

    def emit(self, s, x):
        return s.expm1(x)


@register_op
class Tanh(_Unary):
    name, onnx = "tanh", "Tanh"

    def reference(self, x):
        return np.tanh(x)

    def vjp(self, b, g, inputs, outputs):
        y = outputs[0]
        return (b.mul(g, b.sub(b.scalar_like(1.0, y), b.square(y))),)

    def emit(self, s, x):
        return s.tanh(x)


@register_op
class Sigmoid(_Unary):
    name, onnx = "sigmoid", "Sigmoid"

    def reference(self, x):
        return np_sigmoid(x)

    def vjp(self, b, g, inputs, outputs):
        y = outputs[0]
        return (b.mul(g, b.mul(y, b.sub(b.scalar_like(1.0, y), y))),)

    def emit(self, s, x):
        return s.sigmoid(x)


@register_op
class Relu(_Unary):
    """max(x, 0)."""

    name, onnx, dtypes = "relu", "Relu", "float int"

    def reference(self, x):
        return np.maximum(x, np.zeros((), x.dtype))

    def vjp(self, b, g, inputs, outputs):
        x = inputs[0]
        return (_where0(b, b.greater(x, b.scalar_like(0, x)), g),)

    def emit(self, s, x):
        return s.max(x, s.zero_like(x))


@register_op
class Sqrt(_Unary):
    name, onnx = "sqrt", "Sqrt"

    def reference(self, x):
        with np.errstate(invalid="ignore"):
            return np.sqrt(x)

    def vjp(self, b, g, inputs, outputs):
        y = outputs[0]
        return (b.div(b.mul(g, b.scalar_like(0.5, y)), y),)

    def emit(self, s, x):
        return s.sqrt(x)


@register_op
class Rsqrt(_Unary):
    """1 / sqrt(x)."""

    name, onnx = "rsqrt", "Sqrt"  # exported as Reciprocal(Sqrt(x))

    def reference(self, x):
        with np.errstate(divide="ignore", invalid="ignore"):
            return (1 / np.sqrt(x)).astype(x.dtype)

    def vjp(self, b, g, inputs, outputs):
        y = outputs[0]
        # d/dx x^(-1/2) = -1/2 y^3
        y3 = b.mul(b.square(y), y)
        return (b.mul(g, b.mul(y3, b.scalar_like(-0.5, y))),)

    def emit(self, s, x):
        return s.div(s.one_like(x), s.sqrt(x))


@register_op
class Abs(_Unary):
    name, onnx, dtypes = "abs", "Abs", "float int"

    def reference(self, x):
        return np.abs(x)

    def vjp(self, b, g, inputs, outputs):
        return (b.mul(g, b.sign(inputs[0])),)

    def emit(self, s, x):
        return s.abs(x)


@register_op
class Sign(_Unary):
    """-1, 0 or 1; its gradient is zero everywhere it exists."""

    name, onnx, dtypes = "sign", "Sign", "float int"

    def reference(self, x):
        return np.sign(x)

    def vjp(self, b, g, inputs, outputs):
        return (None,)

    def emit(self, s, x):
        z, one = s.zero_like(x), s.one_like(x)
        return s.select(s.gt(x, z), one, s.select(s.lt(x, z), s.neg(one), z))


@register_op
class Square(_Unary):
    name, onnx, dtypes = "square", "Mul", "float int"  # exported as Mul(x, x)

    def reference(self, x):
        return np.square(x)

    def vjp(self, b, g, inputs, outputs):
        x = inputs[0]
        return (b.mul(g, b.mul(x, b.scalar_like(2, x))),)

    def emit(self, s, x):
        return s.mul(x, x)


@register_op
class Erf(_Unary):
    name, onnx = "erf", "Erf"

    def reference(self, x):
        return np_erf(x)

    def vjp(self, b, g, inputs, outputs):
        x = inputs[0]
        e = b.exp(b.neg(b.square(x)))
        return (b.mul(g, b.mul(e, b.scalar_like(2 / math.sqrt(math.pi), x))),)

    def emit(self, s, x):
        return s.erf(x)


@register_op
class Floor(_Unary):
    """Largest integer <= x; its gradient is zero almost everywhere."""

    name, onnx = "floor", "Floor"

    def reference(self, x):
        return np.floor(x)

    def vjp(self, b, g, inputs, outputs):
        return (None,)

    def emit(self, s, x):
        return s.floor(x)


@register_op
class Round(_Unary):
    """Round half to even (NumPy's and Keras's rule)."""

    name, onnx = "round", "Round"
    vjp = NOT_DIFFERENTIABLE

    def reference(self, x):
        return np.round(x)

    def emit(self, s, x):
        return s.round(x)


@register_op
class RoundFloat16(_Unary):
    """float32 rounded to the nearest float16 (ties to even; inf from 65520
    on) and kept as float32: the `mixed_float16` policy's casts to the
    compute dtype. Its gradient is rounded the same way: the gradient of
    a float16 tensor is a float16 tensor in Keras (too large: inf, which
    the LossScaleOptimizer detects; too small: flushed to zero)."""

    name, onnx = "round_float16", "Cast"  # exported as Cast(Cast(x, f16), f32)

    def infer(self, x):
        if x.dtype.name != "f32":
            raise TypeError("round_float16 takes a float32 operand, got "
                            f"{x.dtype.long_name}")
        return x

    def reference(self, x):
        with np.errstate(over="ignore"):
            return x.astype(np.float16).astype(x.dtype)

    def vjp(self, b, g, inputs, outputs):
        return (b.round_float16(g),)

    def emit(self, s, x):
        return s.round_float16(x)


@register_op
class LogicalNot(_Unary):
    name, onnx, dtypes = "logical_not", "Not", "bool"
    vjp = NOT_DIFFERENTIABLE

    def reference(self, x):
        return np.logical_not(x)

    def emit(self, s, x):
        return s.not_(x)


@register_op
class StopGradient(_Unary):
    """The identity, through which no gradient flows."""

    name, onnx, dtypes = "stop_gradient", "Identity", "float int bool"
    diff_inputs = ()  # no gradient reaches the operand (differentiate relies on it)

    def reference(self, x):
        return np.array(x, copy=True)

    def vjp(self, b, g, inputs, outputs):
        return (None,)

    def emit(self, s, x):
        return x


@register_op
class Cast(_Unary):
    """Convert to `dtype` (float to int truncates toward zero, like NumPy)."""

    name, onnx, dtypes = "cast", "Cast", "float int bool"
    attrs = {"dtype": Attr(a_dtype)}

    def infer(self, x, dtype):
        return x.with_dtype(dtype)

    def reference(self, x, dtype):
        with np.errstate(invalid="ignore"):
            return np.asarray(x).astype(dtype.np)

    def vjp(self, b, g, inputs, outputs, dtype):
        x = inputs[0]
        if not (x.dtype.is_float and dtype.is_float):
            return (None,)
        return (b.cast(g, dtype=x.dtype),)

    def emit(self, s, x, dtype):
        return s.cast(x, dtype)


@register_op
class Clip(_Unary):
    """min(max(x, min), max), with scalar bounds as attributes."""

    name, onnx, dtypes = "clip", "Clip", "float int"
    attrs = {"min": Attr(a_float), "max": Attr(a_float)}

    def infer(self, x, min, max):
        _need(x, self.dtypes, "the operand")
        return x

    def reference(self, x, min, max):
        lo, hi = clip_bounds(min, max, as_dtype(x.dtype))
        lo, hi = np.asarray(lo, x.dtype), np.asarray(hi, x.dtype)
        return np.minimum(np.maximum(x, lo), hi)

    def vjp(self, b, g, inputs, outputs, min, max):
        x = inputs[0]
        inside = b.logical_and(
            b.greater_equal(x, b.scalar_like(min, x)),
            b.less_equal(x, b.scalar_like(max, x)),
        )
        return (_where0(b, inside, g),)

    def emit(self, s, x, min, max):
        t = s.dtype_of(x)
        lo, hi = clip_bounds(min, max, t)
        return s.min(s.max(x, s.const(lo, t)), s.const(hi, t))


def clip_bounds(lo: float, hi: float, dtype) -> tuple:
    """Clip's float bounds in the operand's dtype: for integers, the
    integers inside [lo, hi], saturated to the dtype's range (so that an
    infinite bound means "no bound")."""
    if not dtype.is_int:
        return lo, hi
    info = np.iinfo(dtype.np)

    def sat(v: float) -> int:
        if math.isnan(v):
            raise ValueError("clip bounds cannot be NaN for integer tensors")
        return int(min(max(v, info.min), info.max))

    return sat(math.ceil(lo) if math.isfinite(lo) else lo), sat(
        math.floor(hi) if math.isfinite(hi) else hi
    )


# --- binary ------------------------------------------------------------------


@register_op
class Add(_Binary):
    name, onnx = "add", "Add"

    def reference(self, a, b):
        return np.add(a, b)

    def vjp(self, b, g, inputs, outputs):
        x, y = inputs
        return (b.sum_to(g, x.shape), b.sum_to(g, y.shape))

    def emit(self, s, x, y):
        return s.add(x, y)


@register_op
class Sub(_Binary):
    name, onnx = "sub", "Sub"

    def reference(self, a, b):
        return np.subtract(a, b)

    def vjp(self, b, g, inputs, outputs):
        x, y = inputs
        return (b.sum_to(g, x.shape), b.sum_to(b.neg(g), y.shape))

    def emit(self, s, x, y):
        return s.sub(x, y)


@register_op
class Mul(_Binary):
    name, onnx = "mul", "Mul"

    def reference(self, a, b):
        return np.multiply(a, b)

    def vjp(self, b, g, inputs, outputs):
        x, y = inputs
        return (b.sum_to(b.mul(g, y), x.shape), b.sum_to(b.mul(g, x), y.shape))

    def emit(self, s, x, y):
        return s.mul(x, y)


@register_op
class Div(_Binary):
    name, onnx, dtypes = "div", "Div", "float"

    def reference(self, a, b):
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.divide(a, b)

    def vjp(self, b, g, inputs, outputs):
        x, y = inputs
        gx = b.div(g, y)
        gy = b.neg(b.mul(gx, outputs[0]))  # -g x / y^2 = -(g / y) * (x / y)
        return (b.sum_to(gx, x.shape), b.sum_to(gy, y.shape))

    def emit(self, s, x, y):
        return s.div(x, y)


@register_op
class Maximum(_Binary):
    """Elementwise max; on ties the gradient goes to the first operand."""

    name, onnx = "maximum", "Max"

    def reference(self, a, b):
        return np.maximum(a, b)

    def vjp(self, b, g, inputs, outputs):
        x, y = inputs
        m = b.greater_equal(x, y)
        return (
            b.sum_to(_where0(b, m, g), x.shape),
            b.sum_to(_where0(b, b.logical_not(m), g), y.shape),
        )

    def emit(self, s, x, y):
        return s.max(x, y)


@register_op
class Minimum(_Binary):
    """Elementwise min; on ties the gradient goes to the first operand."""

    name, onnx = "minimum", "Min"

    def reference(self, a, b):
        return np.minimum(a, b)

    def vjp(self, b, g, inputs, outputs):
        x, y = inputs
        m = b.less_equal(x, y)
        return (
            b.sum_to(_where0(b, m, g), x.shape),
            b.sum_to(_where0(b, b.logical_not(m), g), y.shape),
        )

    def emit(self, s, x, y):
        return s.min(x, y)


@register_op
class Pow(_Binary):
    name, onnx, dtypes = "pow", "Pow", "float"

    def reference(self, a, b):
        with np.errstate(all="ignore"):
            return np.power(a, b)

    def vjp(self, b, g, inputs, outputs):
        x, y = inputs
        one = b.scalar_like(1.0, x)
        gx = b.mul(g, b.mul(y, b.pow(x, b.sub(y, one))))
        # d/dy x^y = x^y log x, taken as 0 where x <= 0 (where it is undefined)
        pos = b.greater(x, b.scalar_like(0.0, x))
        safe = b.where(pos, x, one)
        gy = _where0(b, pos, b.mul(g, b.mul(outputs[0], b.log(safe))))
        return (b.sum_to(gx, x.shape), b.sum_to(gy, y.shape))

    def emit(self, s, x, y):
        return s.pow(x, y)


def _compare(cls_name, op_name, onnx, np_fn, method):
    def reference(self, a, b):
        return np_fn(a, b)

    def emit(self, s, x, y):
        return getattr(s, method)(x, y)

    cls = type(
        cls_name,
        (_Binary,),
        {
            "name": op_name,
            "onnx": onnx,
            "dtypes": "float int bool",
            "result_bool": True,
            "vjp": NOT_DIFFERENTIABLE,
            "reference": reference,
            "emit": emit,
            "__doc__": f"Elementwise {op_name}, giving booleans.",
        },
    )
    return register_op(cls)


Equal = _compare("Equal", "equal", "Equal", np.equal, "eq")
NotEqual = _compare("NotEqual", "not_equal", "Equal", np.not_equal, "ne")
Less = _compare("Less", "less", "Less", np.less, "lt")
LessEqual = _compare("LessEqual", "less_equal", "LessOrEqual", np.less_equal, "le")
Greater = _compare("Greater", "greater", "Greater", np.greater, "gt")
GreaterEqual = _compare(
    "GreaterEqual", "greater_equal", "GreaterOrEqual", np.greater_equal, "ge"
)


@register_op
class LogicalAnd(_Binary):
    name, onnx, dtypes = "logical_and", "And", "bool"
    vjp = NOT_DIFFERENTIABLE

    def reference(self, a, b):
        return np.logical_and(a, b)

    def emit(self, s, x, y):
        return s.and_(x, y)


@register_op
class LogicalOr(_Binary):
    name, onnx, dtypes = "logical_or", "Or", "bool"
    vjp = NOT_DIFFERENTIABLE

    def reference(self, a, b):
        return np.logical_or(a, b)

    def emit(self, s, x, y):
        return s.or_(x, y)


# --- bitwise (integers) ---------------------------------------------------------


def _bitwise(cls_name, op_name, onnx, np_fn, method):
    """A binary integer op whose body is one ScalarBuilder method."""

    def reference(self, a, b):
        return np_fn(a, b)

    def emit(self, s, x, y):
        return getattr(s, method)(x, y)

    cls = type(cls_name, (_Binary,), {
        "name": op_name, "onnx": onnx, "dtypes": "int",
        "vjp": NOT_DIFFERENTIABLE, "reference": reference, "emit": emit,
        "__doc__": f"Elementwise {np_fn.__name__} of integers."})
    return register_op(cls)


BitwiseAnd = _bitwise("BitwiseAnd", "bitwise_and", "BitwiseAnd",
                      np.bitwise_and, "and_")
BitwiseOr = _bitwise("BitwiseOr", "bitwise_or", "BitwiseOr", np.bitwise_or,
                     "or_")
BitwiseXor = _bitwise("BitwiseXor", "bitwise_xor", "BitwiseXor",
                      np.bitwise_xor, "xor")
# NumPy's shifts: by a count outside [0, bits) they give 0 (right: the
# sign, 0 or -1); exported with converters (ONNX's BitShift is unsigned)
LeftShift = _bitwise("LeftShift", "left_shift", "BitShift", np.left_shift,
                     "shl")
RightShift = _bitwise("RightShift", "right_shift", "BitShift",
                      np.right_shift, "shr")


@register_op
class BitwiseNot(_Unary):
    """~x of integers (two's complement: -x - 1)."""

    name, onnx, dtypes = "bitwise_not", "BitwiseNot", "int"
    vjp = NOT_DIFFERENTIABLE

    def reference(self, x):
        return np.invert(x)

    def emit(self, s, x):
        return s.xor(x, s.const(-1, s.dtype_of(x)))


# --- ternary -----------------------------------------------------------------


@register_op
class Where(OpDef):
    """`a` where `cond` holds, else `b`; all three broadcast together."""

    name, onnx, kind, num_inputs = "where", "Where", "elementwise", 3
    diff_inputs = (1, 2)

    def infer(self, c, a, b):
        if not c.dtype.is_bool:
            raise TypeError(
                f"the condition must be boolean, got {c.dtype.long_name}"
            )
        if a.dtype != b.dtype:
            raise TypeError(
                f"the two branches' dtypes differ ({a.dtype.long_name} vs "
                f"{b.dtype.long_name})"
            )
        return TensorType(broadcast_shapes(c.shape, a.shape, b.shape), a.dtype)

    def reference(self, c, a, b):
        return np.where(c, a, b)

    def vjp(self, b, g, inputs, outputs):
        c, x, y = inputs
        return (
            None,
            b.sum_to(_where0(b, c, g), x.shape),
            b.sum_to(_where0(b, b.logical_not(c), g), y.shape),
        )

    def emit(self, s, c, x, y):
        return s.select(c, x, y)
