"""`graphkeras.ops`: the NumPy-like functions layers are written with.

Every function works on three kinds of operands, as Keras ops do:

- NumPy arrays, Python scalars and Variables outside a trace: computed
  eagerly with the ops' NumPy references (the result is an ndarray);
- traced tensors (inside an active `Trace`, e.g. a layer's `call()` while a
  model is traced): the op appends IR nodes to the trace's builder, tagged
  with the calling layer's name;
- KerasTensors (`Input(...)` outside any layer): the call becomes a node of
  the functional graph (an automatic layer named after the op).

dtype rules (Keras's): Python scalars are weak and take the dtype of the
tensor they meet (`ops.add(x, 2.0)` keeps float32; an int tensor meeting a
Python float becomes float32); otherwise operands are promoted along
bool < int32 < int64 < float32 < float64. Functions that need floats (exp,
log, sqrt, mean, ...) cast integer operands to float32.

Adding an op: write a function here that composes the `_apply` primitive
(one IR op) or other ops functions, decorate it with `@keras_op` so
KerasTensors work, and export it from `graphkeras/ops.py`.
"""

from __future__ import annotations

import builtins
import functools
import math

import numpy as np

from ..ir import TensorType, as_dtype
from ..ir.builder import infer_types
from ..ir.registry import get_op
from ..ir.types import is_symbol
from . import tracing
from .tensors import KerasTensor, TracedTensor
from .tracing import to_ir_shape
from .variables import Variable, standardize_dtype

_ORDER = {"bool": 0, "int32": 1, "int64": 2, "float32": 3, "float64": 4}


# --- dispatch -------------------------------------------------------------------


def _flat(x):
    if isinstance(x, (list, tuple)):
        for y in x:
            yield from _flat(y)
    elif isinstance(x, dict):
        for y in x.values():
            yield from _flat(y)
    else:
        yield x


def _has_keras_tensor(items) -> bool:
    for a in items:
        if isinstance(a, KerasTensor):
            return True
        if isinstance(a, (list, tuple)) and _has_keras_tensor(a):
            return True
        if isinstance(a, dict) and _has_keras_tensor(a.values()):
            return True
    return False


def keras_op(fn):
    """Make `fn` record a functional-graph node when given KerasTensors."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        if _has_keras_tensor(args) or (kwargs and _has_keras_tensor(
                kwargs.values())):
            from .layers.core import OpLayer

            tensors = [a for a in _flat((args, kwargs))
                       if isinstance(a, KerasTensor)]
            return OpLayer(fn, template=(args, kwargs))(tensors)
        return fn(*args, **kwargs)

    wrapper.raw = fn
    return wrapper


def _trace_of(xs):
    found = None
    for x in xs:
        if isinstance(x, TracedTensor):
            if found is not None and x.trace is not found:
                raise ValueError(
                    "Tensors from two different traces were combined in one "
                    "op. Do not keep traced tensors across model calls."
                )
            found = x.trace
    if found is None:
        t = tracing.current_trace()
        if t is not None and any(isinstance(x, Variable) for x in xs):
            return t
    return found


def is_tensor(x) -> bool:
    return isinstance(x, (TracedTensor, KerasTensor, Variable, np.ndarray))


def dtype(x) -> str:
    """The dtype name of x ("float32", ...)."""
    if isinstance(x, (TracedTensor, KerasTensor, Variable)):
        return x.dtype
    if isinstance(x, bool):
        return "bool"
    if isinstance(x, int):
        return "int32"
    if isinstance(x, float):
        return "float32"
    return standardize_dtype(np.asarray(x).dtype)


def _is_weak(x) -> bool:
    return isinstance(x, (bool, int, float)) and not isinstance(x, np.generic)


def result_type(*xs) -> str:
    """The dtype ops give when combining xs (Keras's promotion rules)."""
    strong = [dtype(x) for x in xs if not _is_weak(x)]
    weak = [x for x in xs if _is_weak(x)]
    if not strong:
        if any(isinstance(w, float) for w in weak):
            return "float32"
        if any(isinstance(w, int) and not isinstance(w, bool) for w in weak):
            return "int32"
        return "bool"
    best = builtins.max(strong, key=lambda d: _ORDER[d])
    if any(isinstance(w, float) for w in weak) and _ORDER[best] < 3:
        best = "float32"
    elif any(isinstance(w, int) and not isinstance(w, bool) for w in weak) and (
        best == "bool"
    ):
        best = "int32"
    return best


def _to_value(x, trace, dt=None):
    if isinstance(x, TracedTensor):
        return x.value
    if isinstance(x, Variable):
        return trace.read(x).value
    arr = np.asarray(x, dtype=None if dt is None else as_dtype(dt).np)
    if dt is None and arr.dtype == np.float64 and _is_weak(x):
        arr = arr.astype(np.float32)
    return trace.builder.constant(arr)


def _to_array(x, dt=None):
    if isinstance(x, Variable):
        x = x.value
    arr = np.asarray(x)
    if dt is not None:
        arr = arr.astype(as_dtype(dt).np, copy=False)
    elif arr.dtype == np.float64 and _is_weak(x):
        arr = arr.astype(np.float32)
    return arr


def _apply(opname: str, *xs, **attrs):
    """Apply one IR op to xs (dtypes already aligned)."""
    trace = _trace_of(xs)
    if trace is not None:
        vals = [_to_value(x, trace) for x in xs]
        out = trace.builder.op(opname, *vals, **attrs)
        if isinstance(out, tuple):
            return tuple(trace.wrap(o) for o in out)
        return trace.wrap(out)
    arrays = [_to_array(x) for x in xs]
    attrs, types = infer_types(
        opname, [TensorType(a.shape, a.dtype) for a in arrays], attrs
    )
    op = get_op(opname)
    with np.errstate(all="ignore"):
        out = op.reference(*arrays, **attrs)
    outs = out if isinstance(out, tuple) else (out,)
    outs = tuple(np.asarray(o).astype(t.dtype.np, copy=False)
                 for o, t in zip(outs, types))
    return outs if isinstance(out, tuple) else outs[0]


def _source(opname: str, like=None, **attrs):
    """A zero-operand op (zeros, iota, ...): traced if a trace is active
    and `like` is traced (or attrs name the batch symbol)."""
    trace = like.trace if isinstance(like, TracedTensor) else None
    shape = attrs.get("shape", ())
    if trace is None and any(is_symbol(d) for d in shape):
        trace = tracing.current_trace()
    if trace is not None:
        return trace.wrap(trace.builder.op(opname, **attrs))
    return _apply(opname, **attrs)


def convert_to_tensor(x, dtype=None):
    """x as a tensor of `dtype`: traced stays traced, everything else
    becomes a NumPy array (a Variable is read)."""
    if isinstance(x, TracedTensor):
        return x if dtype is None else cast(x, dtype)
    if isinstance(x, Variable):
        t = tracing.current_trace()
        v = t.read(x) if t is not None else x.numpy()
        return v if dtype is None else cast(v, dtype)
    if isinstance(x, KerasTensor):
        return x if dtype is None else cast(x, dtype)
    return _to_array(x, None if dtype is None else standardize_dtype(dtype))


def convert_to_numpy(x) -> np.ndarray:
    if isinstance(x, (TracedTensor, KerasTensor)):
        raise ValueError(  # noqa: TRY004  (Keras raises ValueError)
            "A symbolic tensor has no value: convert_to_numpy needs arrays. "
            f"Received {x!r}."
        )
    return np.array(x.numpy() if isinstance(x, Variable) else x)


@keras_op
def cast(x, dtype):
    dt = standardize_dtype(dtype)
    if isinstance(x, (TracedTensor, Variable)) or (
        isinstance(x, np.ndarray) and x.dtype.name != dt
    ) or not isinstance(x, np.ndarray):
        if isinstance(x, (TracedTensor, Variable)) and globals()["dtype"](x) == dt:
            return convert_to_tensor(x)
        if isinstance(x, (TracedTensor, Variable)):
            return _apply("cast", x, dtype=dt)
        return _to_array(x, dt)
    return x


def _align(*xs, to=None):
    dt = to or result_type(*xs)
    return dt, [cast(x, dt) if not _is_weak(x) else _to_array(x, dt) for x in xs]


def _floatify(x):
    d = dtype(x)
    if d in ("float32", "float64"):
        return x
    return cast(x, "float32")


# --- elementwise -----------------------------------------------------------------


def _binary(opname):
    def fn(x1, x2):
        _, (a, b) = _align(x1, x2)
        return _apply(opname, a, b)

    fn.__name__ = opname
    return fn


@keras_op
def add(x1, x2):
    return _binary("add")(x1, x2)


@keras_op
def subtract(x1, x2):
    return _binary("sub")(x1, x2)


@keras_op
def multiply(x1, x2):
    return _binary("mul")(x1, x2)


@keras_op
def divide(x1, x2):
    dt = result_type(x1, x2)
    if _ORDER[dt] < 3:
        dt = "float32"
    _, (a, b) = _align(x1, x2, to=dt)
    return _apply("div", a, b)


true_divide = divide


@keras_op
def power(x1, x2):
    dt = result_type(x1, x2)
    if _ORDER[dt] < 3:
        dt = "float32"
    _, (a, b) = _align(x1, x2, to=dt)
    return _apply("pow", a, b)


@keras_op
def maximum(x1, x2):
    return _binary("maximum")(x1, x2)


@keras_op
def minimum(x1, x2):
    return _binary("minimum")(x1, x2)


def _compare(opname):
    @keras_op
    def fn(x1, x2):
        _, (a, b) = _align(x1, x2)
        return _apply(opname, a, b)

    fn.__name__ = opname
    return fn


equal = _compare("equal")
not_equal = _compare("not_equal")
less = _compare("less")
less_equal = _compare("less_equal")
greater = _compare("greater")
greater_equal = _compare("greater_equal")


@keras_op
def logical_and(x1, x2):
    return _apply("logical_and", cast(x1, "bool"), cast(x2, "bool"))


@keras_op
def logical_or(x1, x2):
    return _apply("logical_or", cast(x1, "bool"), cast(x2, "bool"))


@keras_op
def logical_not(x):
    return _apply("logical_not", cast(x, "bool"))


def _unary_float(opname, public=None):
    @keras_op
    def fn(x):
        return _apply(opname, _floatify(convert_to_tensor(x)))

    fn.__name__ = public or opname
    return fn


exp = _unary_float("exp")
log = _unary_float("log")
log1p = _unary_float("log1p")
expm1 = _unary_float("expm1")
sqrt = _unary_float("sqrt")
rsqrt = _unary_float("rsqrt")
tanh = _unary_float("tanh")
sigmoid = _unary_float("sigmoid")
erf = _unary_float("erf")
floor = _unary_float("floor")
round = _unary_float("round")


def _unary_any(opname, public=None):
    @keras_op
    def fn(x):
        return _apply(opname, convert_to_tensor(x))

    fn.__name__ = public or opname
    return fn


negative = _unary_any("neg", "negative")
abs = _unary_any("abs")
absolute = abs
sign = _unary_any("sign")
square = _unary_any("square")
relu = _unary_any("relu")
stop_gradient = _unary_any("stop_gradient")


@keras_op
def reciprocal(x):
    return divide(1.0, _floatify(convert_to_tensor(x)))


@keras_op
def where(condition, x1=None, x2=None):
    if x1 is None or x2 is None:
        raise ValueError(
            "ops.where(condition) with one argument is not supported: pass "
            "x1 and x2 too."
        )
    _, (a, b) = _align(x1, x2)
    return _apply("where", cast(condition, "bool"), a, b)


@keras_op
def clip(x, x_min, x_max):
    x = convert_to_tensor(x)
    if _is_weak(x_min) and _is_weak(x_max) or (
        np.ndim(x_min) == 0 and np.ndim(x_max) == 0
        and not isinstance(x_min, (TracedTensor, Variable))
        and not isinstance(x_max, (TracedTensor, Variable))
    ):
        return _apply("clip", x, min=float(x_min), max=float(x_max))
    return minimum(maximum(x, x_min), x_max)


# --- activations (composites) -------------------------------------------------


@keras_op
def softmax(x, axis=-1):
    return _apply("softmax", _floatify(convert_to_tensor(x)), axis=axis)


@keras_op
def log_softmax(x, axis=-1):
    return _apply("log_softmax", _floatify(convert_to_tensor(x)), axis=axis)


@keras_op
def softplus(x):
    x = _floatify(convert_to_tensor(x))
    return add(relu(x), log1p(exp(negative(abs(x)))))


@keras_op
def log_sigmoid(x):
    return negative(softplus(negative(x)))


@keras_op
def softsign(x):
    x = _floatify(convert_to_tensor(x))
    return divide(x, add(abs(x), 1.0))


@keras_op
def silu(x):
    x = _floatify(convert_to_tensor(x))
    return multiply(x, sigmoid(x))


swish = silu


@keras_op
def relu6(x):
    return clip(x, 0.0, 6.0)


@keras_op
def leaky_relu(x, negative_slope=0.2):
    x = _floatify(convert_to_tensor(x))
    return where(greater(x, 0.0), x, multiply(x, negative_slope))


@keras_op
def elu(x, alpha=1.0):
    x = _floatify(convert_to_tensor(x))
    neg = multiply(expm1(minimum(x, 0.0)), alpha)
    return where(greater(x, 0.0), x, neg)


@keras_op
def selu(x):
    alpha, scale = 1.6732632423543772, 1.0507009873554805
    return multiply(elu(x, alpha), scale)


@keras_op
def gelu(x, approximate=True):
    x = _floatify(convert_to_tensor(x))
    if approximate:
        c = math.sqrt(2.0 / math.pi)
        inner = multiply(add(x, multiply(power(x, 3.0), 0.044715)), c)
        return multiply(multiply(x, 0.5), add(tanh(inner), 1.0))
    return multiply(multiply(x, 0.5), add(erf(divide(x, math.sqrt(2.0))), 1.0))


@keras_op
def hard_sigmoid(x):
    """relu6(x + 3) / 6 (Keras 3's formula)."""
    x = _floatify(convert_to_tensor(x))
    return divide(clip(add(x, 3.0), 0.0, 6.0), 6.0)


@keras_op
def one_hot(x, num_classes, axis=-1, dtype="float32"):
    x = convert_to_tensor(x)
    if not globals()["dtype"](x).startswith("int"):
        x = cast(x, "int64")
    return _apply("one_hot", x, depth=int(num_classes), axis=axis,
                  dtype=standardize_dtype(dtype))


# --- linear algebra ------------------------------------------------------------


@keras_op
def matmul(x1, x2):
    _, (a, b) = _align(x1, x2)
    ra, rb = len(shape(a)), len(shape(b))
    if ra == 1:
        a = expand_dims(a, 0)
    if rb == 1:
        b = expand_dims(b, -1)
    out = _apply("matmul", a, b)
    if rb == 1:
        out = squeeze(out, -1)
    if ra == 1:
        out = squeeze(out, -2 if rb != 1 else -1)
    return out


@keras_op
def dot(x1, x2):
    if len(shape(x1)) == 0 or len(shape(x2)) == 0:
        return multiply(x1, x2)
    return matmul(x1, x2)


# --- reductions ------------------------------------------------------------------


def _axes(axis):
    if axis is None:
        return None
    if isinstance(axis, (list, tuple)):
        return tuple(int(a) for a in axis)
    return (int(axis),)


@keras_op
def sum(x, axis=None, keepdims=False):
    x = convert_to_tensor(x)
    if dtype(x) == "bool":
        x = cast(x, "int32")
    return _apply("reduce_sum", x, axes=_axes(axis), keepdims=keepdims)


@keras_op
def mean(x, axis=None, keepdims=False):
    x = _floatify(convert_to_tensor(x))
    return _apply("reduce_mean", x, axes=_axes(axis), keepdims=keepdims)


@keras_op
def max(x, axis=None, keepdims=False):
    return _apply("reduce_max", convert_to_tensor(x), axes=_axes(axis),
                  keepdims=keepdims)


amax = max


@keras_op
def min(x, axis=None, keepdims=False):
    return _apply("reduce_min", convert_to_tensor(x), axes=_axes(axis),
                  keepdims=keepdims)


amin = min


@keras_op
def argmax(x, axis=-1, keepdims=False):
    x = convert_to_tensor(x)
    if axis is None:
        x, axis = reshape(x, (-1,)), 0
    return _apply("argmax", x, axis=axis, keepdims=keepdims, dtype="int32")


@keras_op
def argmin(x, axis=-1, keepdims=False):
    x = convert_to_tensor(x)
    if axis is None:
        x, axis = reshape(x, (-1,)), 0
    return _apply("argmin", x, axis=axis, keepdims=keepdims, dtype="int32")


@keras_op
def var(x, axis=None, keepdims=False):
    x = _floatify(convert_to_tensor(x))
    m = mean(x, axis=axis, keepdims=True)
    return mean(square(subtract(x, m)), axis=axis, keepdims=keepdims)


@keras_op
def std(x, axis=None, keepdims=False):
    return sqrt(var(x, axis=axis, keepdims=keepdims))


@keras_op
def moments(x, axes, keepdims=False):
    """(mean, variance) over `axes`."""
    x = _floatify(convert_to_tensor(x))
    m = mean(x, axis=axes, keepdims=True)
    v = mean(square(subtract(x, m)), axis=axes, keepdims=keepdims)
    if not keepdims:
        m = squeeze(m, axis=_axes(axes))
    return m, v


@keras_op
def norm(x, ord=None, axis=None, keepdims=False):
    if ord not in (None, 2, "euclidean", "fro"):
        raise ValueError(f"ops.norm supports the 2-norm only, received ord={ord!r}.")
    return sqrt(sum(square(_floatify(convert_to_tensor(x))), axis=axis,
                    keepdims=keepdims))


# --- shapes ------------------------------------------------------------------------


def shape(x) -> tuple:
    """The shape as a tuple; the batch dimension of a symbolic tensor is
    None."""
    if isinstance(x, (TracedTensor, KerasTensor, Variable)):
        return tuple(x.shape)
    return np.shape(x)


def ndim(x) -> int:
    return len(shape(x))


def size(x):
    return int(np.prod(shape(x)))


def batch_size(x, dtype="float32"):
    """The size of axis 0 as a scalar tensor (known only at run time for a
    traced tensor)."""
    if isinstance(x, TracedTensor):
        # NOTE: read as an integer, then cast: an integer result carries no
        # gradient, so a loss divided by the batch size stays differentiable.
        n = _apply("dim_size", x, axis=0, dtype="int64")
        return _apply("cast", n, dtype=standardize_dtype(dtype))
    return np.asarray(np.shape(x)[0], standardize_dtype(dtype))


def _resolve_reshape(in_shape: tuple, new_shape) -> tuple:
    """Resolve -1 / None in `new_shape` against an IR shape (with symbols)."""
    new = []
    for d in new_shape:
        if d is None:
            new.append("N" if any(is_symbol(s) for s in in_shape) else -1)
        elif isinstance(d, str):
            new.append(d)
        else:
            new.append(int(d))
    if new.count(-1) > 1:
        raise ValueError(f"ops.reshape: only one dimension can be -1, received "
                         f"{tuple(new_shape)}.")
    if -1 not in new:
        return tuple(new)
    known = int(np.prod([d for d in new if isinstance(d, int) and d != -1]))
    static_in = int(np.prod([d for d in in_shape if not is_symbol(d)]))
    syms_in = [d for d in in_shape if is_symbol(d)]
    syms_new = [d for d in new if is_symbol(d)]
    missing = [s for s in syms_in if s not in syms_new]
    if not missing:
        if known == 0 or static_in % known:
            raise ValueError(
                f"Cannot reshape a tensor of shape {to_keras(in_shape)} into "
                f"shape {tuple(new_shape)}."
            )
        fill = static_in // known
    elif len(missing) == 1 and known == static_in:
        fill = missing[0]
    else:
        raise ValueError(
            f"Cannot reshape a tensor of shape {to_keras(in_shape)} into shape "
            f"{tuple(new_shape)}: the batch dimension must stay a dimension "
            "of its own."
        )
    return tuple(fill if d == -1 else d for d in new)


def to_keras(ir_shape) -> tuple:
    return tuple(None if is_symbol(d) else d for d in ir_shape)


def _ir_shape(x) -> tuple:
    if isinstance(x, TracedTensor):
        return x.value.shape
    return tuple(np.shape(x))


@keras_op
def reshape(x, newshape):
    x = convert_to_tensor(x)
    if isinstance(newshape, int):
        newshape = (newshape,)
    if not isinstance(x, TracedTensor):
        return np.reshape(x, tuple(-1 if d is None else d for d in newshape))
    target = _resolve_reshape(_ir_shape(x), newshape)
    if target == x.value.shape:
        return x
    return _apply("reshape", x, shape=target)


@keras_op
def transpose(x, axes=None):
    x = convert_to_tensor(x)
    n = len(shape(x))
    perm = tuple(reversed(range(n))) if axes is None else tuple(
        a % n for a in axes
    )
    return _apply("transpose", x, perm=perm)


@keras_op
def expand_dims(x, axis):
    x = convert_to_tensor(x)
    s = list(_ir_shape(x))
    axes = sorted(a % (len(s) + len(_axes(axis))) for a in _axes(axis))
    for a in axes:
        s.insert(a, 1)
    if isinstance(x, TracedTensor):
        return _apply("reshape", x, shape=tuple(s))
    return np.reshape(x, s)


@keras_op
def squeeze(x, axis=None):
    x = convert_to_tensor(x)
    s = _ir_shape(x)
    if axis is None:
        axes = {i for i, d in enumerate(s) if d == 1}
    else:
        axes = {a % len(s) for a in _axes(axis)}
        bad = [a for a in axes if s[a] != 1]
        if bad:
            raise ValueError(
                f"Cannot squeeze axis {bad[0]} of a tensor of shape "
                f"{to_keras(s)}: its size is not 1."
            )
    new = tuple(d for i, d in enumerate(s) if i not in axes)
    if isinstance(x, TracedTensor):
        return _apply("reshape", x, shape=new)
    return np.reshape(x, new)


@keras_op
def broadcast_to(x, shape):
    x = convert_to_tensor(x)
    if not isinstance(x, TracedTensor) and any(d is None for d in shape):
        # eager: a None keeps the operand's size (aligned from the right)
        xs, off = np.shape(x), len(shape) - np.ndim(x)
        shape = tuple(xs[i - off] if d is None and i >= off else d
                      for i, d in enumerate(shape))
    target = to_ir_shape(shape, strict=False)
    if isinstance(x, TracedTensor) or any(is_symbol(d) for d in target):
        if tuple(_ir_shape(x)) == target:
            return x
        trace = x.trace if isinstance(x, TracedTensor) else (
            tracing.current_trace())
        if not isinstance(x, TracedTensor):
            x = trace.wrap(_to_value(x, trace))
        return _apply("broadcast_to", x, shape=target)
    return np.array(np.broadcast_to(x, target))


@keras_op
def concatenate(xs, axis=0):
    xs = list(xs)
    _, xs = _align(*xs)
    if len(xs) == 1:
        return xs[0]
    return _apply("concat", *xs, axis=axis)


@keras_op
def stack(xs, axis=0):
    return concatenate([expand_dims(x, axis) for x in xs], axis=axis)


@keras_op
def pad(x, pad_width, mode="constant", constant_values=0):
    if mode != "constant":
        raise ValueError(f'ops.pad supports mode="constant" only, received '
                         f"mode={mode!r}.")
    x = convert_to_tensor(x)
    pads = tuple((int(a), int(b)) for a, b in pad_width)
    return _apply("pad", x, pads=pads, value=float(constant_values))


@keras_op
def take(x, indices, axis=None):
    x = convert_to_tensor(x)
    if axis is None:
        x, axis = reshape(x, (-1,)), 0
    idx = convert_to_tensor(indices)
    if not dtype(idx).startswith("int"):
        idx = cast(idx, "int32")
    return _apply("gather", x, idx, axis=axis)


@keras_op
def slice(x, start_indices, shape):
    x = convert_to_tensor(x)
    starts = tuple(int(s) for s in start_indices)
    stops = tuple(None if n is None else s + int(n)
                  for s, n in zip(starts, shape))
    return _apply("slice", x, starts=starts, stops=stops,
                  steps=(1,) * len(starts))


@keras_op
def getitem(x, key):
    """x[key] with ints, slices, None and Ellipsis."""
    x = convert_to_tensor(x)
    if not isinstance(x, TracedTensor):
        return np.asarray(x)[key]
    if not isinstance(key, tuple):
        key = (key,)
    s = _ir_shape(x)
    n_real = builtins.sum(1 for k in key if k is not None and k is not Ellipsis)
    if Ellipsis in key:
        i = key.index(Ellipsis)
        key = key[:i] + (builtins.slice(None),) * (len(s) - n_real) + key[i + 1:]
    key = key + (builtins.slice(None),) * (len(s) - builtins.sum(
        1 for k in key if k is not None))
    starts, stops, steps, out_shape, axis = [], [], [], [], 0
    drop = []
    for k in key:
        if k is None:
            out_shape.append(("new", None))
            continue
        d = s[axis]
        if isinstance(k, builtins.slice):
            step = 1 if k.step is None else k.step
            if k.start is not None:
                starts.append(k.start)
            else:  # None starts at the far end for a negative step
                starts.append(0 if step > 0 or is_symbol(d) else d - 1)
            stops.append(k.stop)
            steps.append(step)
            out_shape.append(("keep", axis))
        elif isinstance(k, (int, np.integer)):
            if is_symbol(d):
                raise ValueError("Cannot index the batch dimension of a "
                                 "symbolic tensor with an integer.")
            i = int(k) % d
            starts.append(i)
            stops.append(i + 1)
            steps.append(1)
            drop.append(axis)
        else:
            raise TypeError(f"Unsupported index {k!r} for a symbolic tensor.")
        axis += 1
    y = x
    if any(st != 0 or sp is not None or sd != 1
           for st, sp, sd in zip(starts, stops, steps)):
        y = _apply("slice", x, starts=tuple(starts), stops=tuple(stops),
                   steps=tuple(steps))
    ys = y.value.shape
    final = []
    for kind, ax in out_shape:
        final.append(1 if kind == "new" else ys[ax])
    if tuple(final) != ys:
        y = _apply("reshape", y, shape=tuple(final))
    return y


# --- creation --------------------------------------------------------------------


def zeros(shape, dtype="float32"):
    return _source("zeros", shape=to_ir_shape(shape, strict=False),
                   dtype=standardize_dtype(dtype))


def ones(shape, dtype="float32"):
    return _source("ones", shape=to_ir_shape(shape, strict=False),
                   dtype=standardize_dtype(dtype))


def full(shape, fill_value, dtype="float32"):
    return multiply(ones(shape, dtype), cast(fill_value, dtype))


def _like(x, dt):
    x = convert_to_tensor(x)
    return x, standardize_dtype(dt) if dt is not None else dtype(x)


@keras_op
def zeros_like(x, dtype=None):
    x, dt = _like(x, dtype)
    return _source("zeros", like=x, shape=_ir_shape(x), dtype=dt)


@keras_op
def ones_like(x, dtype=None):
    x, dt = _like(x, dtype)
    return _source("ones", like=x, shape=_ir_shape(x), dtype=dt)


@keras_op
def full_like(x, fill_value, dtype=None):
    x, dt = _like(x, dtype)
    return multiply(ones_like(x, dt), cast(fill_value, dt))


def arange(start, stop=None, step=None, dtype=None):
    """Evenly spaced values in [start, stop) (a constant). dtype None:
    float32 if any bound or the step is a float, int32 otherwise (Keras)."""
    step = 1 if step is None else step
    if dtype is None:
        given = [v for v in (start, stop, step) if v is not None]
        floats = builtins.any(np.asarray(v).dtype.kind == "f" for v in given)
        dtype = "float32" if floats else "int32"
    return np.arange(start, stop, step, dtype=standardize_dtype(dtype))


# --- losses as ops (Keras's ops.nn) -------------------------------------------------


@keras_op
def categorical_crossentropy(target, output, from_logits=False, axis=-1):
    output = _floatify(convert_to_tensor(output))
    target = cast(target, dtype(output))
    if from_logits:
        logp = log_softmax(output, axis=axis)
    else:
        output = divide(output, sum(output, axis=axis, keepdims=True))
        logp = log(clip(output, 1e-7, 1.0 - 1e-7))
    return negative(sum(multiply(target, logp), axis=axis))


@keras_op
def sparse_categorical_crossentropy(target, output, from_logits=False, axis=-1):
    output = _floatify(convert_to_tensor(output))
    target = convert_to_tensor(target)
    if len(shape(target)) == len(shape(output)) and shape(target)[-1] == 1:
        target = squeeze(target, -1)
    n = shape(output)[axis]
    hot = one_hot(cast(target, "int32"), n, axis=axis, dtype=dtype(output))
    return categorical_crossentropy(hot, output, from_logits=from_logits,
                                    axis=axis)


@keras_op
def binary_crossentropy(target, output, from_logits=False):
    output = _floatify(convert_to_tensor(output))
    target = cast(target, dtype(output))
    if from_logits:
        # max(x, 0) - x z + log(1 + exp(-|x|))
        return add(subtract(relu(output), multiply(output, target)),
                   log1p(exp(negative(abs(output)))))
    p = clip(output, 1e-7, 1.0 - 1e-7)
    return negative(add(multiply(target, log(p)),
                        multiply(subtract(1.0, target), log(subtract(1.0, p)))))


# --- more composites ------------------------------------------------------------


@keras_op
def logsumexp(x, axis=None, keepdims=False):
    x = _floatify(convert_to_tensor(x))
    m = stop_gradient(max(x, axis=axis, keepdims=True))
    out = add(log(sum(exp(subtract(x, m)), axis=axis, keepdims=True)), m)
    return out if keepdims else squeeze(out, axis=_axes(axis) if axis is not None
                                        else None)


@keras_op
def isnan(x):
    x = convert_to_tensor(x)
    return not_equal(x, x)


@keras_op
def floor_divide(x1, x2):
    dt, (a, b) = _align(x1, x2)
    q = floor(divide(a, b))
    return q if _ORDER[dt] >= 3 else cast(q, dt)


@keras_op
def mod(x1, x2):
    _, (a, b) = _align(x1, x2)
    return subtract(a, multiply(floor_divide(a, b), b))


@keras_op
def log2(x):
    return divide(log(x), math.log(2.0))


@keras_op
def log10(x):
    return divide(log(x), math.log(10.0))


# Exported as ops.any / ops.all by graphkeras/ops.py (here they would shadow
# the builtins this module uses).
@keras_op
def any_(x, axis=None, keepdims=False):
    return greater(max(cast(x, "int32"), axis=axis, keepdims=keepdims), 0)


@keras_op
def all_(x, axis=None, keepdims=False):
    return greater(min(cast(x, "int32"), axis=axis, keepdims=keepdims), 0)


@keras_op
def flip(x, axis=None):
    x = convert_to_tensor(x)
    n = len(shape(x))
    axes = set(range(n)) if axis is None else {a % n for a in _axes(axis)}
    key = tuple(builtins.slice(None, None, -1) if i in axes else builtins.slice(
        None) for i in range(n))
    return getitem(x, key)


@keras_op
def tile(x, repeats):
    """Repeat the whole tensor `repeats[i]` times along axis i (static
    axes only)."""
    x = convert_to_tensor(x)
    s = list(_ir_shape(x))
    reps = [int(r) for r in (repeats if isinstance(repeats, (list, tuple))
                             else (repeats,))]
    while len(s) < len(reps):
        s.insert(0, 1)
        x = expand_dims(x, 0)
    reps = [1] * (len(s) - len(reps)) + reps
    out = x
    for axis, r in enumerate(reps):
        if r == 1:
            continue
        out = concatenate([out] * r, axis=axis)
    return out


@keras_op
def repeat(x, repeats, axis=None):
    """Repeat each element `repeats` times along `axis` (an int count)."""
    x = convert_to_tensor(x)
    if axis is None:
        x, axis = reshape(x, (-1,)), 0
    r = int(repeats)
    n = len(shape(x))
    axis %= n
    y = expand_dims(x, axis + 1)
    target = tuple(shape(y)[:axis + 1]) + (r,) + tuple(shape(y)[axis + 2:])
    y = broadcast_to(y, target)
    s = list(shape(x))
    s[axis] = None if s[axis] is None else s[axis] * r
    return reshape(y, tuple(-1 if d is None else d for d in s))


# --- trigonometry and rounding (composites) ---------------------------------------

# pi split in three float32 parts with short mantissas (Cody-Waite), so that
# k * _PI_A and k * _PI_B are exact for the k the schedules and layers meet.
_PI_A = float(np.float32(np.round(math.pi * 2**10) / 2**10))
_PI_B = float(np.float32(np.round((math.pi - _PI_A) * 2**22) / 2**22))
_PI_C = float(np.float32(math.pi - _PI_A - _PI_B))
# Taylor coefficients of sin and cos on [-pi/2, pi/2] (truncation error below
# 1e-9, under float32 rounding).
_SIN = [(-1) ** i / math.factorial(2 * i + 1) for i in range(7)]
_COS = [(-1) ** i / math.factorial(2 * i) for i in range(8)]


def _horner(r2, coefs):
    out = multiply(r2, coefs[-1])
    for c in reversed(coefs[1:-1]):
        out = multiply(r2, add(out, c))
    return add(out, coefs[0])


def _reduce_pi(x):
    """(r, sign): x = k pi + r with |r| <= pi/2, sign = (-1)^k."""
    x = _floatify(convert_to_tensor(x))
    k = stop_gradient(floor(add(divide(x, math.pi), 0.5)))
    r = subtract(subtract(subtract(x, multiply(k, _PI_A)), multiply(k, _PI_B)),
                 multiply(k, _PI_C))
    parity = subtract(k, multiply(floor(multiply(k, 0.5)), 2.0))
    return r, subtract(1.0, multiply(parity, 2.0))


@keras_op
def sin(x):
    """Elementwise sine (a polynomial after reduction modulo pi)."""
    r, sign = _reduce_pi(x)
    return multiply(sign, multiply(r, _horner(square(r), _SIN)))


@keras_op
def cos(x):
    """Elementwise cosine (a polynomial after reduction modulo pi)."""
    r, sign = _reduce_pi(x)
    return multiply(sign, _horner(square(r), _COS))


@keras_op
def ceil(x):
    return negative(floor(negative(_floatify(convert_to_tensor(x)))))


@keras_op
def divide_no_nan(x1, x2):
    """x1 / x2, and 0 where x2 == 0."""
    dt = result_type(x1, x2)
    if _ORDER[dt] < 3:
        dt = "float32"
    _, (a, b) = _align(x1, x2, to=dt)
    zero = equal(b, 0.0)
    safe = where(zero, ones_like(b), b)
    q = divide(a, safe)
    return where(zero, zeros_like(q), q)


@keras_op
def cumsum(x, axis=None):
    """Cumulative sum along a static axis (a matmul with a triangular
    matrix of ones)."""
    x = convert_to_tensor(x)
    if axis is None:
        x, axis = reshape(x, (-1,)), 0
    n = len(shape(x))
    axis %= n
    size_ = shape(x)[axis]
    if size_ is None:
        raise ValueError("ops.cumsum needs a static axis, received the batch "
                         "axis of a symbolic tensor.")
    tri = np.triu(np.ones((size_, size_), np.float32))
    xt = moveaxis(_floatify(x), axis, -1) if axis != n - 1 else _floatify(x)
    out = matmul(xt, tri.astype(as_dtype(dtype(xt)).np))
    if axis != n - 1:
        out = moveaxis(out, -1, axis)
    if dtype(x) != dtype(out):
        out = cast(out, dtype(x))
    return out


@keras_op
def moveaxis(x, source, destination):
    x = convert_to_tensor(x)
    n = len(shape(x))
    order = [i for i in range(n) if i != source % n]
    order.insert(destination % n, source % n)
    return transpose(x, order)


@keras_op
def in_top_k(targets, predictions, k):
    """Whether each target class is among the k largest predictions (a
    class ties with the others at its value, as Keras counts rank)."""
    predictions = _floatify(convert_to_tensor(predictions))
    targets = convert_to_tensor(targets)
    if not dtype(targets).startswith("int"):
        targets = cast(targets, "int32")
    n = shape(predictions)[-1]
    hot = one_hot(targets, n, dtype=dtype(predictions))
    at_label = sum(multiply(predictions, hot), axis=-1, keepdims=True)
    at_label = where(isnan(at_label), full_like(at_label, -np.inf), at_label)
    rank = add(sum(cast(greater(predictions, at_label), "int32"), axis=-1), 1)
    return less_equal(rank, int(k))


@keras_op
def prod(x, axis=None, keepdims=False):
    """Product of elements (as exp(sum(log|x|)) with the sign counted
    separately; zeros give zero)."""
    x = _floatify(convert_to_tensor(x))
    zero = equal(x, 0.0)
    mag = exp(sum(log(where(zero, ones_like(x), abs(x))), axis=axis,
                  keepdims=keepdims))
    negs = sum(cast(less(x, 0.0), "float32"), axis=axis, keepdims=keepdims)
    sign_ = subtract(1.0, multiply(subtract(negs, multiply(
        floor(multiply(negs, 0.5)), 2.0)), 2.0))
    anyzero = greater(max(cast(zero, "float32"), axis=axis, keepdims=keepdims),
                      0.0)
    out = multiply(mag, cast(sign_, dtype(mag)))
    return where(anyzero, zeros_like(out), out)


# --- more activations (Keras's ops.nn) ---------------------------------------------


@keras_op
def hard_silu(x):
    x = _floatify(convert_to_tensor(x))
    return multiply(x, hard_sigmoid(x))


hard_swish = hard_silu


@keras_op
def hard_tanh(x):
    return clip(_floatify(convert_to_tensor(x)), -1.0, 1.0)


@keras_op
def mish(x):
    x = _floatify(convert_to_tensor(x))
    return multiply(x, tanh(softplus(x)))


@keras_op
def celu(x, alpha=1.0):
    x = _floatify(convert_to_tensor(x))
    neg = multiply(expm1(divide(minimum(x, 0.0), alpha)), alpha)
    return add(relu(x), minimum(neg, 0.0))


@keras_op
def glu(x, axis=-1):
    x = _floatify(convert_to_tensor(x))
    n = shape(x)[axis]
    if n is None or n % 2:
        raise ValueError(
            f"ops.glu splits axis {axis} in two halves: its size must be "
            f"even, received shape {shape(x)}.")
    rank = len(shape(x))
    ax = axis % rank
    starts = [0] * rank
    sizes = list(shape(x))
    sizes[ax] = n // 2
    a = slice(x, starts, sizes)
    starts[ax] = n // 2
    b = slice(x, starts, sizes)
    return multiply(a, sigmoid(b))


@keras_op
def soft_shrink(x, threshold=0.5):
    x = _floatify(convert_to_tensor(x))
    return where(greater(x, threshold), subtract(x, threshold),
                 where(less(x, -threshold), add(x, threshold), zeros_like(x)))


@keras_op
def hard_shrink(x, threshold=0.5):
    x = _floatify(convert_to_tensor(x))
    return where(greater(abs(x), threshold), x, zeros_like(x))


@keras_op
def tanh_shrink(x):
    x = _floatify(convert_to_tensor(x))
    return subtract(x, tanh(x))


@keras_op
def threshold(x, threshold, default_value):
    x = _floatify(convert_to_tensor(x))
    return where(greater(x, threshold), x, full_like(x, default_value))


@keras_op
def squareplus(x, b=4):
    x = _floatify(convert_to_tensor(x))
    return divide(add(x, sqrt(add(square(x), float(b)))), 2.0)


@keras_op
def sparse_plus(x):
    x = _floatify(convert_to_tensor(x))
    mid = multiply(square(add(x, 1.0)), 0.25)
    return where(less_equal(x, -1.0), zeros_like(x),
                 where(less(x, 1.0), mid, x))


@keras_op
def sparse_sigmoid(x):
    x = _floatify(convert_to_tensor(x))
    return clip(multiply(add(x, 1.0), 0.5), 0.0, 1.0)


@keras_op
def normalize(x, axis=-1, order=2, epsilon=None):
    """x scaled to unit L2 norm along `axis`: x * min(rsqrt(sum(x^2)),
    1 / epsilon) (Keras's formula, epsilon 1e-7 by default)."""
    if order != 2:
        raise ValueError(f"ops.normalize supports order=2 only, received "
                         f"order={order!r}.")
    x = _floatify(convert_to_tensor(x))
    eps = 1e-7 if epsilon is None else float(epsilon)
    inv = rsqrt(sum(square(x), axis=axis, keepdims=True))
    return multiply(x, minimum(inv, 1.0 / eps))


# --- einsum and top_k (composites, for Keras's Einsum / TopK op nodes) -------


def _einsum_parse(subscripts: str, n: int) -> tuple:
    spec = subscripts.replace(" ", "")
    ins, arrow, out = spec.partition("->")
    terms = ins.split(",")
    if "." in spec or len(terms) != n or not builtins.all(
            t.isalpha() for t in terms) or not (out.isalpha() or out == ""):
        raise ValueError(
            f"ops.einsum supports subscripts of letters, one term per operand "
            f"(no '...'), received subscripts={subscripts!r} for {n} "
            "operand(s)."
        )
    if not arrow:  # implicit output: the letters seen once, sorted
        joined = "".join(terms)
        out = "".join(sorted(c for c in set(joined) if joined.count(c) == 1))
    for t in terms:
        if len(set(t)) != len(t):
            raise ValueError(
                f"ops.einsum does not support a letter repeated within one "
                f"operand (a diagonal), received subscripts={subscripts!r}."
            )
    return terms, out


def _einsum_reduce(x, letters: str, keep: set) -> tuple:
    """Sum out the letters of x that are not in `keep`."""
    gone = [i for i, c in enumerate(letters) if c not in keep]
    if gone:
        x = sum(x, axis=tuple(gone))
        letters = "".join(c for c in letters if c in keep)
    return x, letters


def _einsum_group(dims: list):
    """The size of a run of dims merged into one (None: the batch dim
    alone); False if they cannot be merged statically."""
    if len(dims) == 1:
        return dims[0]
    if builtins.any(d is None for d in dims):
        return False
    return int(np.prod(dims, dtype=np.int64))


def _einsum_pair(a, la: str, b, lb: str, keep: set) -> tuple:
    """Contract a and b over their shared letters not in `keep`, with one
    matmul: a -> (batch, a_only, shared), b -> (batch, shared, b_only)."""
    a, la = _einsum_reduce(a, la, keep | set(lb))
    b, lb = _einsum_reduce(b, lb, keep | set(la))
    batch = [c for c in la if c in lb and c in keep]
    shared = [c for c in la if c in lb and c not in keep]
    a_only = [c for c in la if c not in lb]
    b_only = [c for c in lb if c not in la]
    size: dict = {}  # letter -> size (a size-1 dim broadcasts)
    for c, d in [*zip(la, shape(a)), *zip(lb, shape(b))]:
        if c not in size or size[c] == 1:
            size[c] = d
    groups = [_einsum_group([size[c] for c in g]) if g else 1
              for g in (a_only, shared, b_only)]
    if builtins.any(g is False for g in groups):  # the batch dim among merged ones
        return _einsum_broadcast(a, la, b, lb, keep)
    m, k, n = groups
    bdims = [size[c] for c in batch]
    a = transpose(a, [la.index(c) for c in batch + a_only + shared])
    b = transpose(b, [lb.index(c) for c in batch + shared + b_only])
    a_batch = list(shape(a)[:len(batch)])
    b_batch = list(shape(b)[:len(batch)])
    a = reshape(a, a_batch + [m, k])
    b = reshape(b, b_batch + [k, n])
    out = matmul(a, b)
    out = reshape(out, bdims + [size[c] for c in a_only + b_only])
    return out, "".join(batch + a_only + b_only)


def _einsum_broadcast(a, la, b, lb, keep):
    letters = la + "".join(c for c in lb if c not in la)

    def spread(x, lx):
        x = transpose(x, sorted(range(len(lx)), key=lambda i: letters.index(
            lx[i])))
        lx = "".join(sorted(lx, key=letters.index))
        for i, c in enumerate(letters):
            if c not in lx:
                x = expand_dims(x, i)
        return x

    out = multiply(spread(a, la), spread(b, lb))
    return _einsum_reduce(out, letters, keep)


@keras_op
def einsum(subscripts, *operands):
    """Einstein summation over letters (no '...', no repeated letter in one
    operand), as a chain of matmuls: each pair of operands is contracted
    with one batched matmul, the letters no later term needs summed out.

    Example:
        >>> ops.einsum("bij,bjk->bik", a, b)  # batched matmul
    """
    xs = [convert_to_tensor(x) for x in operands]
    terms, out = _einsum_parse(subscripts, len(xs))
    for t, x in zip(terms, xs):
        if len(t) != len(shape(x)):
            raise ValueError(
                f"ops.einsum: the term {t!r} of subscripts={subscripts!r} has "
                f"{len(t)} letters but its operand has shape {shape(x)}."
            )
    sizes: dict = {}
    for t, x in zip(terms, xs):
        for c, d in zip(t, shape(x)):
            seen = sizes.setdefault(c, d)
            if seen != d and 1 not in (seen, d):
                raise ValueError(
                    f"ops.einsum: the letter {c!r} has sizes {seen} and {d} "
                    f"in subscripts={subscripts!r} (operand shapes "
                    f"{[shape(y) for y in xs]}); they must agree or be 1."
                )
            if seen == 1:
                sizes[c] = d
    x, letters = xs[0], terms[0]
    for i in range(1, len(xs)):
        keep = set(out).union(*terms[i + 1:])
        x, letters = _einsum_pair(x, letters, xs[i], terms[i], keep)
    x, letters = _einsum_reduce(x, letters, set(out))
    if letters != out:
        x = transpose(x, [letters.index(c) for c in out])
    return x


@keras_op
def top_k(x, k, sorted=True):
    """(values, indices) of the k largest entries along the last axis, in
    decreasing order (also for sorted=False). Built from k argmax / max
    steps, each masking the entry it took: meant for small k."""
    x = convert_to_tensor(x)
    n = shape(x)[-1]
    k = int(k)
    if n is None or not 0 < k <= n:
        raise ValueError(
            f"ops.top_k needs 0 < k <= the size of the last axis, received "
            f"k={k} for an input of shape {shape(x)}."
        )
    dt = globals()["dtype"](x)
    low = (-np.inf if dt.startswith("float")
           else np.iinfo(as_dtype(dt).np).min)
    values, indices = [], []
    for _ in range(k):
        i = argmax(x, axis=-1)
        values.append(max(x, axis=-1))
        indices.append(i)
        x = where(one_hot(i, n, dtype="bool"), low, x)
    return stack(values, axis=-1), stack(indices, axis=-1)
