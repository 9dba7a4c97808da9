"""Keras's ops.numpy: elementwise math, reductions, shapes, creation,
sorting and the NumPy-like compositions, over the dispatch of core.py.

Invariants:
- every function records only existing IR ops (through `_apply` or other
  op functions), so it runs eagerly on arrays, traces into IR,
  differentiates and compiles like the primitives it is made of;
- shape-dependent constructions (sort, diagonal, split, roll, ...) need the
  axis they work along to be static (not the batch axis of a symbolic
  tensor) and say so otherwise;
- dtype rules follow Keras: functions of floats cast integer inputs to
  float32; index results are int32.

Sorting is a rank computation: element i's position is the number of
elements below it plus the equal ones before it, and the sorted tensor is
gathered with a one-hot of those ranks. That is O(n^2) in the axis size:
meant for the sizes layers and metrics sort (tens to a few hundreds).

NOTE: `one_hot` (Keras's ops.nn.one_hot) is defined here because sorting
and bincount use it; nn.py re-exports it.
"""

from __future__ import annotations

import builtins
import itertools
import math

import numpy as np

from ...ir import as_dtype
from ...ir.types import is_symbol
from .. import tracing
from ..tensors import TracedTensor
from ..tracing import to_ir_shape
from ..variables import Variable, standardize_dtype
from .core import (
    _ORDER,
    _align,
    _apply,
    _floatify,
    _is_weak,
    _source,
    _to_value,
    cast,
    convert_to_tensor,
    dtype,
    keras_op,
    result_type,
    shape,
)


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


@keras_op
def one_hot(x, num_classes, axis=-1, dtype="float32"):
    x = convert_to_tensor(x)
    if not globals()["dtype"](x).startswith("int"):
        x = cast(x, "int64")
    return _apply("one_hot", x, depth=int(num_classes), axis=axis,
                  dtype=standardize_dtype(dtype))


@keras_op
def matmul(x1, x2):
    _, (a, b) = _align(x1, x2)
    ra, rb = len(shape(a)), len(shape(b))
    if ra == 1:
        a = expand_dims(a, 0)
    if rb == 1:
        b = expand_dims(b, -1)
    from ..mixed_precision import matmul_precision

    precision = matmul_precision()
    if precision and dtype(a) == "float32":  # a mixed_bfloat16 layer
        out = _apply("matmul", a, b, precision=precision)
    else:
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
        raise tracing.NeedsConcreteBatch(
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
    shapes = [_ir_shape(x) for x in xs]
    rank = len(shapes[0])
    if -rank <= axis < rank and any(
            len(s) == rank and is_symbol(s[axis]) for s in shapes):
        shown = ", ".join(str(to_keras(s)) for s in shapes)
        raise ValueError(
            f"ops.concatenate cannot join tensors along axis {axis}, whose "
            f"size is the batch size, in a compiled step (received shapes "
            f"{shown}): graphkeras compiles one program for every batch "
            "size, in which that size is one unknown. Apply what follows "
            "to each part separately instead (the GAN guide's "
            "discriminator to the fake and the real images one by one, "
            "adding their losses); see docs/custom_training.md.")
    return _apply("concat", *xs, axis=axis)


@keras_op
def stack(xs, axis=0):
    return concatenate([expand_dims(x, axis) for x in xs], axis=axis)


_PAD_MODES = ("constant", "edge", "reflect", "symmetric", "wrap")


def _pad_widths(pad_width, rank: int) -> tuple:
    """Keras's pad_width forms (an int, one (before, after) pair for every
    axis, or one pair or one-element tuple per axis) as a pair per axis."""
    if isinstance(pad_width, (int, np.integer)):
        return ((int(pad_width), int(pad_width)),) * rank
    pw = [tuple(p) if isinstance(p, (tuple, list)) else p for p in pad_width]
    if pw and all(isinstance(p, (int, np.integer)) for p in pw):
        pw = [tuple(pw)]  # one pair (or one width) for every axis
    pairs = []
    for p in pw:
        if not isinstance(p, tuple) or len(p) not in (1, 2):
            raise ValueError(
                "`pad_width` should be a list of tuples of length 1 or 2. "
                f"Received: pad_width={pad_width}")
        pairs.append((int(p[0]), int(p[-1])))
    if len(pairs) == 1:
        pairs = pairs * rank
    if len(pairs) != rank:
        raise ValueError(
            "`pad_width` must have the same length as `x.shape`. Received: "
            f"pad_width={pad_width} (of length {len(pw)}) and x.shape of "
            f"length {rank}")
    if any(a < 0 or b < 0 for a, b in pairs):
        raise ValueError(f"ops.pad: pad widths must be >= 0. Received: "
                         f"pad_width={pad_width}")
    return tuple(pairs)


@keras_op
def pad(x, pad_width, mode="constant", constant_values=None):
    """x padded along each axis by (before, after). mode: constant (with
    constant_values, 0 by default), edge, reflect, symmetric or wrap, as
    NumPy's (the modes other than constant need a known size on the axes
    they pad)."""
    name = str(mode).lower()
    if name not in _PAD_MODES:
        raise ValueError(
            f"ops.pad supports mode in {_PAD_MODES}; received mode={mode!r}.")
    if constant_values is not None and name != "constant":
        raise ValueError(
            "Argument `constant_values` can only be provided when `mode == "
            f"'constant'`. Received: mode={mode}")
    x = convert_to_tensor(x)
    dims = shape(x)
    pads = _pad_widths(pad_width, len(dims))
    if name == "constant":
        value = 0 if constant_values is None else constant_values
        return _apply("pad", x, pads=pads, value=float(value))
    for ax, (lo, hi) in enumerate(pads):
        if lo == hi == 0:
            continue
        n = dims[ax]
        if n is None:
            raise ValueError(
                f"ops.pad with mode={mode!r} needs a known size along axis "
                f"{ax}, which it pads by {(lo, hi)}; received x of shape "
                f"{tuple(dims)}.")
        if n == 0 or (name == "reflect" and n == 1 and (lo or hi)):
            if name == "reflect" and n == 1:  # NumPy repeats the element
                name_ax = "edge"
            else:
                raise ValueError(
                    f"ops.pad with mode={mode!r} cannot pad the empty axis "
                    f"{ax} of x of shape {tuple(dims)}.")
        else:
            name_ax = name
        # the source element of each position, by NumPy's rule itself
        index = np.pad(np.arange(n, dtype=np.int32), (lo, hi), mode=name_ax)
        x = take(x, index, axis=ax)
    return x


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


def _f(x):
    return _floatify(convert_to_tensor(x))


def _static_axis(x, axis: int, fn: str) -> tuple:
    """(axis normalized, its size); refuses the batch axis."""
    n = len(shape(x))
    if not -n <= axis < n:
        raise ValueError(f"ops.{fn}: axis {axis} is out of range for an "
                         f"input of shape {shape(x)}.")
    axis %= n
    size = shape(x)[axis]
    if size is None:
        raise ValueError(f"ops.{fn} needs a static axis, received axis={axis} "
                         f"of shape {shape(x)} (the batch axis).")
    return axis, size


def _take_range(x, axis: int, start: int, stop: int):
    """x[..., start:stop, ...] along a static axis."""
    key = [builtins.slice(None)] * len(shape(x))
    key[axis] = builtins.slice(start, stop)
    return getitem(x, tuple(key))


def _where0(cond, x):
    return where(cond, x, zeros_like(x))


@keras_op
def tan(x):
    """Elementwise tangent (sin / cos)."""
    return divide(sin(x), cos(x))


@keras_op
def sinh(x):
    x = _f(x)
    return multiply(subtract(expm1(x), expm1(multiply(x, -1.0))), 0.5)


@keras_op
def cosh(x):
    x = _f(x)
    return multiply(add(exp(x), exp(multiply(x, -1.0))), 0.5)


@keras_op
def arcsinh(x):
    x = _f(x)
    a = abs(x)
    s = square(a)
    return multiply(sign(x), log1p(add(a, divide(s, add(sqrt(add(s, 1.0)),
                                                          1.0)))))


@keras_op
def arccosh(x):
    x = _f(x)
    return log(add(x, sqrt(subtract(square(x), 1.0))))


@keras_op
def arctanh(x):
    x = _f(x)
    return multiply(log1p(divide(multiply(x, 2.0), subtract(1.0, x))), 0.5)


# atan(t) = t - t^3/3 + t^5/5 - ...: after two argument halvings |t| <= 0.2,
# where 9 terms leave a truncation error below 1e-13.
_ATAN = [(-1) ** i / (2 * i + 1) for i in range(9)]


@keras_op
def arctan(x):
    """Elementwise arctangent: |x| > 1 is reflected (atan x = pi/2 - atan
    1/x), then two halvings atan t = 2 atan(t / (1 + sqrt(1 + t^2))) and a
    series."""
    x = _f(x)
    big = greater(abs(x), 1.0)
    safe = where(big, x, ones_like(x))  # NOTE: no 1/0 on the unused branch
    t = where(big, divide(1.0, safe), x)
    for _ in range(2):
        t = divide(t, add(sqrt(add(square(t), 1.0)), 1.0))
    t2 = square(t)
    acc = full_like(t, _ATAN[-1])
    for c in reversed(_ATAN[:-1]):
        acc = add(multiply(acc, t2), c)
    small = multiply(multiply(acc, t), 4.0)
    return where(big, subtract(multiply(sign(x), math.pi / 2), small), small)


@keras_op
def arctan2(x1, x2):
    """Elementwise angle of the point (x2, x1), in [-pi, pi]."""
    dt = result_type(x1, x2)
    dt = dt if _ORDER[dt] >= 3 else "float32"
    _, (y, x) = _align(x1, x2, to=dt)
    r = sqrt(add(square(x), square(y)))
    pos = greater(x, 0.0)
    yzero = equal(y, 0.0)
    den_a = where(pos, add(r, x), ones_like(x))
    den_b = where(yzero, ones_like(y), y)
    a = multiply(arctan(divide(y, den_a)), 2.0)
    b = multiply(arctan(divide(subtract(r, x), den_b)), 2.0)
    axis_val = where(less(x, 0.0), full_like(x, math.pi), zeros_like(x))
    return where(pos, a, where(yzero, axis_val, b))


@keras_op
def arcsin(x):
    x = _f(x)
    return arctan2(x, sqrt(relu(subtract(1.0, square(x)))))


@keras_op
def arccos(x):
    x = _f(x)
    return arctan2(sqrt(relu(subtract(1.0, square(x)))), x)


@keras_op
def trunc(x):
    x = convert_to_tensor(x)
    if not dtype(x).startswith("float"):
        return x
    return multiply(sign(x), floor(abs(x)))


@keras_op
def fmod(x1, x2):
    """Remainder with the sign of x1 (C's fmod)."""
    dt, (a, b) = _align(x1, x2)
    af, bf = _floatify(a), _floatify(b)
    out = subtract(af, multiply(trunc(divide(af, bf)), bf))
    return cast(out, dt) if dt != dtype(out) else out


@keras_op
def hypot(x1, x2):
    dt = result_type(x1, x2)
    dt = dt if _ORDER[dt] >= 3 else "float32"
    _, (a, b) = _align(x1, x2, to=dt)
    return sqrt(add(square(a), square(b)))


@keras_op
def logaddexp(x1, x2):
    """log(exp(x1) + exp(x2)) without overflow."""
    dt = result_type(x1, x2)
    dt = dt if _ORDER[dt] >= 3 else "float32"
    _, (a, b) = _align(x1, x2, to=dt)
    delta = subtract(a, b)
    # -|a - b|, taken on the side maximum's gradient takes at a tie (a), so
    # that both operands get 1/2 of it where a == b (abs: 1 and 0)
    ge = greater_equal(a, b)
    out = add(maximum(a, b), log1p(exp(where(ge, negative(delta), delta))))
    return where(isnan(delta), add(a, b), out)


@keras_op
def logical_xor(x1, x2):
    return not_equal(cast(x1, "bool"), cast(x2, "bool"))


@keras_op
def isinf(x):
    x = convert_to_tensor(x)
    if not dtype(x).startswith("float"):
        return cast(zeros_like(x), "bool")
    return equal(abs(x), np.inf)


@keras_op
def isfinite(x):
    x = convert_to_tensor(x)
    if not dtype(x).startswith("float"):
        return cast(ones_like(x), "bool")
    return less(abs(x), np.inf)


@keras_op
def nan_to_num(x, nan=0.0, posinf=None, neginf=None):
    """NaN -> `nan`, +inf / -inf -> `posinf` / `neginf` (the dtype's
    largest / lowest finite value by default)."""
    x = convert_to_tensor(x)
    if not dtype(x).startswith("float"):
        return x
    info = np.finfo(np.dtype(dtype(x)))
    hi = float(info.max) if posinf is None else float(posinf)
    lo = float(info.min) if neginf is None else float(neginf)
    x = where(isnan(x), full_like(x, nan), x)
    x = where(equal(x, np.inf), full_like(x, hi), x)
    return where(equal(x, -np.inf), full_like(x, lo), x)


@keras_op
def cbrt(x):
    x = _f(x)
    return multiply(sign(x), power(abs(x), 1.0 / 3.0))


@keras_op
def exp2(x):
    return exp(multiply(_f(x), math.log(2.0)))


@keras_op
def deg2rad(x):
    return multiply(_f(x), math.pi / 180.0)


@keras_op
def rad2deg(x):
    return multiply(_f(x), 180.0 / math.pi)


@keras_op
def heaviside(x1, x2):
    """0 where x1 < 0, x2 where x1 == 0, 1 where x1 > 0."""
    dt, (a, b) = _align(x1, x2)
    if _ORDER[dt] < 3:
        dt, (a, b) = _align(a, b, to="float32")
    b = add(b, zeros_like(a))
    return where(less(a, 0.0), zeros_like(b),
                 where(greater(a, 0.0), ones_like(b), b))


@keras_op
def signbit(x):
    """x < 0 (a negative zero counts as not negative here)."""
    x = convert_to_tensor(x)
    if dtype(x) == "bool":
        return cast(zeros_like(x), "bool")
    return less(x, 0)


@keras_op
def copy(x):
    return convert_to_tensor(x)


def array(x, dtype=None):
    return convert_to_tensor(x, dtype=dtype)


def empty(shape, dtype=None):
    return np.zeros(shape, standardize_dtype(dtype))


def empty_like(x, dtype=None):
    return zeros_like(x, dtype=dtype)


@keras_op
def isclose(x1, x2, rtol=1e-5, atol=1e-8, equal_nan=False):
    dt = result_type(x1, x2)
    dt = dt if _ORDER[dt] >= 3 else "float32"
    _, (a, b) = _align(x1, x2, to=dt)
    close = less_equal(abs(subtract(a, b)), add(multiply(abs(b), float(rtol)),
                                                float(atol)))
    close = logical_or(close, equal(a, b))  # equal infinities
    if equal_nan:
        close = logical_or(close, logical_and(isnan(a), isnan(b)))
    return close


@keras_op
def allclose(x1, x2, rtol=1e-5, atol=1e-8, equal_nan=False):
    return all_(isclose(x1, x2, rtol=rtol, atol=atol, equal_nan=equal_nan))


@keras_op
def count_nonzero(x, axis=None):
    return sum(cast(not_equal(convert_to_tensor(x), 0), "int32"), axis=axis)


def eye(N, M=None, k=0, dtype=None):
    return np.eye(int(N), None if M is None else int(M), int(k),
                  dtype=standardize_dtype(dtype))


def identity(n, dtype=None):
    return eye(n, dtype=dtype)


def tri(N, M=None, k=0, dtype=None):
    return np.tri(int(N), None if M is None else int(M), int(k),
                  dtype=standardize_dtype(dtype))


def _traced(*xs) -> bool:
    return builtins.any(isinstance(x, TracedTensor) for x in xs)


@keras_op
def linspace(start, stop, num=50, endpoint=True, retstep=False, dtype=None,
             axis=0):
    """`num` evenly spaced values from start to stop (tensors of starts and
    stops give one sequence per element, stacked along `axis`)."""
    num = int(num)
    if not _traced(start, stop):
        out = np.linspace(np.asarray(start), np.asarray(stop), num,
                          endpoint=endpoint, retstep=retstep, axis=axis)
        dt = standardize_dtype(dtype)
        if retstep:
            return out[0].astype(dt), np.asarray(out[1], dt)
        return out.astype(dt)
    start, stop = _f(start), _f(stop)
    div = (num - 1) if endpoint else num
    step = divide(subtract(stop, start), float(builtins.max(div, 1)))
    t = np.arange(num, dtype=np.float32).reshape(
        (num,) + (1,) * len(shape(add(start, stop))))
    out = add(multiply(expand_dims(step, 0), t), expand_dims(start, 0))
    if axis != 0:
        out = moveaxis(out, 0, axis)
    if dtype is not None:
        out = cast(out, standardize_dtype(dtype))
    return (out, step) if retstep else out


@keras_op
def logspace(start, stop, num=50, endpoint=True, base=10, dtype=None, axis=0):
    if not _traced(start, stop):
        return np.logspace(np.asarray(start), np.asarray(stop), int(num),
                           endpoint=endpoint, base=base, axis=axis).astype(
            standardize_dtype(dtype))
    out = power(float(base), linspace(start, stop, num, endpoint, axis=axis))
    return out if dtype is None else cast(out, standardize_dtype(dtype))


@keras_op
def geomspace(start, stop, num=50, endpoint=True, dtype=None, axis=0):
    if not _traced(start, stop):
        return np.geomspace(np.asarray(start), np.asarray(stop), int(num),
                            endpoint=endpoint, axis=axis).astype(
            standardize_dtype(dtype))
    out = exp(linspace(log(_f(start)), log(_f(stop)), num, endpoint,
                       axis=axis))
    return out if dtype is None else cast(out, standardize_dtype(dtype))


@keras_op
def meshgrid(*x, indexing="xy"):
    if indexing not in ("xy", "ij"):
        raise ValueError(f"ops.meshgrid: indexing must be 'xy' or 'ij', "
                         f"received indexing={indexing!r}.")
    xs = [reshape(convert_to_tensor(v), (-1,)) for v in x]
    sizes = [shape(v)[0] for v in xs]
    if indexing == "xy" and len(xs) > 1:
        sizes[0], sizes[1] = sizes[1], sizes[0]
    out = []
    for i, v in enumerate(xs):
        pos = i
        if indexing == "xy" and len(xs) > 1 and i < 2:
            pos = 1 - i
        s = [1] * len(xs)
        s[pos] = sizes[pos]
        out.append(add(reshape(v, s), np.zeros(sizes, dtype(v))))
    return out


def _last_two(x, fn: str) -> tuple:
    if len(shape(x)) < 2 or None in shape(x)[-2:]:
        raise ValueError(f"ops.{fn} needs an input of rank >= 2 with static "
                         f"last two axes, received shape {shape(x)}.")
    return shape(x)[-2:]


@keras_op
def tril(x, k=0):
    x = convert_to_tensor(x)
    n, m = _last_two(x, "tril")
    return where(np.tri(n, m, k, dtype=bool), x, zeros_like(x))


@keras_op
def triu(x, k=0):
    x = convert_to_tensor(x)
    n, m = _last_two(x, "triu")
    return where(np.tri(n, m, k - 1, dtype=bool), zeros_like(x), x)


@keras_op
def diagonal(x, offset=0, axis1=0, axis2=1):
    """The diagonal x[..., i, i + offset] of the (axis1, axis2) planes,
    as the last axis."""
    x = convert_to_tensor(x)
    r = len(shape(x))
    a1, n = _static_axis(x, axis1, "diagonal")
    a2, m = _static_axis(x, axis2, "diagonal")
    rest = [i for i in range(r) if i not in (a1, a2)]
    x = transpose(x, rest + [a1, a2])
    rows = np.arange(n) if offset >= 0 else np.arange(-offset, n)
    cols = rows + offset
    keep = (cols >= 0) & (cols < m) & (rows < n)
    idx = (rows[keep] * m + cols[keep]).astype(np.int32)
    lead = [-1 if d is None else d for d in shape(x)[:-2]]
    flat = reshape(x, lead + [n * m])
    return take(flat, idx, axis=len(lead))


@keras_op
def diag(x, k=0):
    """A 1-D x gives the 2-D matrix with x on diagonal k; a 2-D x gives its
    diagonal k."""
    x = convert_to_tensor(x)
    if len(shape(x)) == 2:
        return diagonal(x, offset=k)
    if len(shape(x)) != 1:
        raise ValueError(f"ops.diag expects a 1-D or 2-D input, received "
                         f"shape {shape(x)}.")
    m = shape(x)[0]
    n = m + builtins.abs(int(k))
    sel = np.zeros((m, n * n), dtype(x))
    for i in range(m):
        r, c = (i, i + k) if k >= 0 else (i - k, i)
        sel[i, r * n + c] = 1
    if dtype(x) == "bool":
        return cast(diag(cast(x, "int32"), k), "bool")
    return reshape(matmul(reshape(x, (1, m)), sel), (n, n))


@keras_op
def trace(x, offset=0, axis1=0, axis2=1):
    x = convert_to_tensor(x)
    d = diagonal(x, offset, axis1, axis2)
    if dtype(d) == "bool":
        d = cast(d, "int32")
    return sum(d, axis=-1)


_LETTERS = "abcdefghijklmnopqrstuvwxyz"


@keras_op
def tensordot(x1, x2, axes=2):
    """Sum of products over axes[0] of x1 and axes[1] of x2 (an int n:
    the last n of x1 and the first n of x2)."""
    _, (a, b) = _align(x1, x2)
    ra, rb = len(shape(a)), len(shape(b))
    if isinstance(axes, int):
        ax_a = list(range(ra - axes, ra))
        ax_b = list(range(axes))
    else:
        ax_a, ax_b = axes
        ax_a = [ax_a] if isinstance(ax_a, int) else list(ax_a)
        ax_b = [ax_b] if isinstance(ax_b, int) else list(ax_b)
    ax_a = [i % ra for i in ax_a]
    ax_b = [i % rb for i in ax_b]
    if len(ax_a) != len(ax_b):
        raise ValueError(f"ops.tensordot: axes must pair up, received "
                         f"axes={axes!r}.")
    la = _LETTERS[:ra]
    lb = [None] * rb
    for i, j in zip(ax_a, ax_b):
        lb[j] = la[i]
    free = iter(_LETTERS[ra:])
    lb = "".join(c if c is not None else next(free) for c in lb)
    out = ("".join(c for i, c in enumerate(la) if i not in ax_a)
           + "".join(c for j, c in enumerate(lb) if j not in ax_b))
    return einsum(f"{la},{lb}->{out}", a, b)


@keras_op
def outer(x1, x2):
    _, (a, b) = _align(x1, x2)
    return multiply(reshape(a, (-1, 1)), reshape(b, (1, -1)))


@keras_op
def inner(x1, x2):
    _, (a, b) = _align(x1, x2)
    if len(shape(a)) == 0 or len(shape(b)) == 0:
        return multiply(a, b)
    return tensordot(a, b, axes=([-1], [-1]))


@keras_op
def vdot(x1, x2):
    _, (a, b) = _align(x1, x2)
    return sum(multiply(ravel(a), ravel(b)))


@keras_op
def swapaxes(x, axis1, axis2):
    x = convert_to_tensor(x)
    perm = list(range(len(shape(x))))
    a, b = axis1 % len(perm), axis2 % len(perm)
    perm[a], perm[b] = perm[b], perm[a]
    return transpose(x, perm)


@keras_op
def ravel(x):
    return reshape(convert_to_tensor(x), (-1,))


def _split_points(size: int, indices_or_sections, fn: str, even: bool):
    if isinstance(indices_or_sections, (list, tuple, np.ndarray)):
        pts = [int(i) for i in indices_or_sections]
        return [0, *[builtins.min(builtins.max(p % size if p < 0 else p, 0),
                                  size) for p in pts], size]
    k = int(indices_or_sections)
    if k <= 0 or (even and size % k):
        raise ValueError(
            f"ops.{fn}: the axis of size {size} cannot be split into "
            f"{k} equal sections. Pass the split indices instead, or use "
            "ops.array_split.")
    q, r = divmod(size, k)
    pts, at = [0], 0
    for i in range(k):
        at += q + (1 if i < r else 0)
        pts.append(at)
    return pts


@keras_op
def split(x, indices_or_sections, axis=0):
    """Sub-tensors along a static axis (a count of equal sections or the
    split indices)."""
    x = convert_to_tensor(x)
    axis, size = _static_axis(x, axis, "split")
    pts = _split_points(size, indices_or_sections, "split", even=True)
    return [_take_range(x, axis, a, builtins.max(a, b))
            for a, b in itertools.pairwise(pts)]


@keras_op
def array_split(x, indices_or_sections, axis=0):
    x = convert_to_tensor(x)
    axis, size = _static_axis(x, axis, "array_split")
    pts = _split_points(size, indices_or_sections, "array_split", even=False)
    return [_take_range(x, axis, a, builtins.max(a, b))
            for a, b in itertools.pairwise(pts)]


def _atleast(x, n: int, where_: str):
    x = convert_to_tensor(x)
    r = len(shape(x))
    if r >= n:
        return x
    if n == 1:
        return reshape(x, (1,))
    if n == 2:
        return reshape(x, (1, -1) if r else (1, 1))
    s = [1, 1, 1] if r == 0 else ([1, shape(x)[0], 1] if r == 1 else
                                  [*shape(x), 1])
    return reshape(x, [-1 if d is None else d for d in s])


@keras_op
def hstack(xs):
    xs = [_atleast(x, 1, "h") for x in xs]
    axis = 0 if len(shape(xs[0])) == 1 else 1
    return concatenate(xs, axis=axis)


@keras_op
def vstack(xs):
    return concatenate([_atleast(x, 2, "v") for x in xs], axis=0)


@keras_op
def dstack(xs):
    return concatenate([_atleast(x, 3, "d") for x in xs], axis=2)


@keras_op
def unstack(x, num=None, axis=0):
    x = convert_to_tensor(x)
    axis, size = _static_axis(x, axis, "unstack")
    if num is not None and int(num) != size:
        raise ValueError(f"ops.unstack: num={num} does not match the size "
                         f"{size} of axis {axis} (shape {shape(x)}).")
    return [squeeze(_take_range(x, axis, i, i + 1), axis=axis)
            for i in range(size)]


@keras_op
def roll(x, shift, axis=None):
    x = convert_to_tensor(x)
    if axis is None:
        return reshape(roll(ravel(x), shift, 0),
                       [-1 if d is None else d for d in shape(x)])
    shifts = [int(s) for s in _axes(shift)]
    axes_ = list(_axes(axis))
    if len(shifts) == 1 and len(axes_) > 1:
        shifts = shifts * len(axes_)
    for s, a in zip(shifts, axes_):
        a, size = _static_axis(x, a, "roll")
        s %= size
        if s:
            x = concatenate([_take_range(x, a, size - s, size),
                             _take_range(x, a, 0, size - s)], axis=a)
    return x


@keras_op
def fliplr(x):
    return flip(x, axis=1)


@keras_op
def flipud(x):
    return flip(x, axis=0)


@keras_op
def rot90(array, k=1, axes=(0, 1)):
    x = convert_to_tensor(array)
    a0, a1 = (a % len(shape(x)) for a in axes)
    k %= 4
    if k == 0:
        return x
    if k == 2:
        return flip(flip(x, a0), a1)
    if k == 1:
        return swapaxes(flip(x, a1), a0, a1)
    return flip(swapaxes(x, a0, a1), a1)


@keras_op
def diff(a, n=1, axis=-1, prepend=None, append=None):
    x = convert_to_tensor(a)
    if prepend is not None or append is not None:
        ax, _ = _static_axis(x, axis, "diff")

        def edge(p):
            # a scalar (or lower-rank) value is broadcast to one slice
            # along `axis`, as NumPy does
            p = convert_to_tensor(p, dtype=dtype(x))
            if len(p.shape) < len(x.shape):
                shape = list(x.shape)
                shape[ax] = 1
                p = broadcast_to(p, tuple(shape))
            return p

        parts = [edge(p) if p is not None else x
                 for p in (prepend, x, append) if p is not None]
        parts = [x if p is x else p for p in parts]
        x = concatenate(parts, axis=ax)
    for _ in range(int(n)):
        ax, size = _static_axis(x, axis, "diff")
        if dtype(x) == "bool":
            x = not_equal(_take_range(x, ax, 1, size),
                          _take_range(x, ax, 0, size - 1))
        else:
            x = subtract(_take_range(x, ax, 1, size),
                         _take_range(x, ax, 0, size - 1))
    return x


@keras_op
def cumprod(x, axis=None, dtype=None):
    """Cumulative product along a static axis (exp of a cumulative sum of
    log-magnitudes, with signs and zeros counted separately)."""
    x = convert_to_tensor(x)
    if dtype is not None:
        x = cast(x, dtype)
    if axis is None:
        x, axis = ravel(x), 0
    out_dt = globals()["dtype"](x)
    xf = _floatify(x) if out_dt != "bool" else cast(x, "float32")
    zero = equal(xf, 0.0)
    mag = exp(cumsum(log(where(zero, ones_like(xf), abs(xf))), axis=axis))
    negs = cumsum(cast(less(xf, 0.0), "float32"), axis=axis)
    sgn = subtract(1.0, multiply(subtract(negs, multiply(
        floor(multiply(negs, 0.5)), 2.0)), 2.0))
    zeros_seen = greater(cumsum(cast(zero, "float32"), axis=axis), 0.0)
    out = _where0(logical_not(zeros_seen), multiply(mag, sgn))
    if out_dt != globals()["dtype"](out):
        if out_dt != "bool":
            out = floor(add(out, 0.5))
        out = cast(out, out_dt)
    return out


def _ranks(x):
    """The position each element of the last axis takes in ascending order
    (ties keep their order): an int32 tensor of x's shape."""
    n = shape(x)[-1]
    xi = expand_dims(x, -1)  # (..., n, 1): element i
    xj = expand_dims(x, -2)  # (..., 1, n): element j
    before = np.tril(np.ones((n, n), bool), -1)  # [i, j]: j < i
    below = logical_or(less(xj, xi), logical_and(equal(xj, xi), before))
    return sum(cast(below, "int32"), axis=-1)


def _rank_onehot(x):
    """(..., n_in, n_out) bool: element i goes to position p."""
    n = shape(x)[-1]
    return equal(expand_dims(_ranks(x), -1), np.arange(n, dtype=np.int32))


@keras_op
def sort(x, axis=-1):
    """Values sorted ascending along a static axis."""
    x = convert_to_tensor(x)
    ax, _ = _static_axis(x, axis, "sort")
    last = len(shape(x)) - 1
    if ax != last:
        x = moveaxis(x, ax, -1)
    hot = _rank_onehot(x)
    vals = expand_dims(x, -1)
    if dtype(x) == "bool":
        out = greater(sum(cast(logical_and(hot, vals), "int32"), axis=-2), 0)
    else:
        out = sum(_where0(hot, add(vals, zeros_like(cast(hot, dtype(x))))),
                  axis=-2)
    return moveaxis(out, -1, ax) if ax != last else out


@keras_op
def argsort(x, axis=-1):
    """Indices that sort x ascending along a static axis (stable)."""
    x = convert_to_tensor(x)
    if axis is None:
        x, axis = ravel(x), 0
    ax, n = _static_axis(x, axis, "argsort")
    last = len(shape(x)) - 1
    if ax != last:
        x = moveaxis(x, ax, -1)
    hot = cast(_rank_onehot(x), "int32")
    out = sum(multiply(hot, np.arange(n, dtype=np.int32).reshape(n, 1)),
              axis=-2)
    return moveaxis(out, -1, ax) if ax != last else out


@keras_op
def take_along_axis(x, indices, axis=None):
    """x's entries at `indices` along `axis` (indices broadcast with x on
    the other axes; negative indices count from the end)."""
    x = convert_to_tensor(x)
    indices = cast(convert_to_tensor(indices), "int32")
    if axis is None:
        x, indices, axis = ravel(x), ravel(indices), 0
    ax, n = _static_axis(x, axis, "take_along_axis")
    last = len(shape(x)) - 1
    if ax != last:
        x = moveaxis(x, ax, -1)
        indices = moveaxis(indices, ax, -1)
    indices = where(less(indices, 0), add(indices, n), indices)
    hot = one_hot(indices, n, dtype="bool")  # (..., m, n)
    vals = expand_dims(x, -2)  # (..., 1, n)
    if dtype(x) == "bool":
        out = greater(sum(cast(logical_and(hot, vals), "int32"), axis=-1), 0)
    else:
        out = sum(_where0(hot, add(vals, zeros_like(cast(hot, dtype(x))))),
                  axis=-1)
    return moveaxis(out, -1, ax) if ax != last else out


@keras_op
def select(condlist, choicelist, default=0):
    if len(condlist) != len(choicelist) or not condlist:
        raise ValueError(
            f"ops.select: condlist and choicelist must have the same "
            f"non-zero length, received {len(condlist)} and "
            f"{len(choicelist)}.")
    out = default
    for c, v in reversed(list(zip(condlist, choicelist))):
        dt = result_type(v, out)
        _, (v2, o2) = _align(v, out, to=dt)
        out = where(c, v2, o2)
    return out


_METHODS = ("linear", "lower", "higher", "midpoint", "nearest")


@keras_op
def quantile(x, q, axis=None, method="linear", keepdims=False):
    """q-th quantiles (q in [0, 1], static) of x along axis (None: all),
    NumPy's interpolation methods."""
    if method not in _METHODS:
        raise ValueError(f"ops.quantile: method must be one of {_METHODS}, "
                         f"received method={method!r}.")
    if isinstance(q, (TracedTensor,)):
        raise ValueError(  # noqa: TRY004  (Keras raises ValueError)
            "ops.quantile needs q as numbers or an array, "
                         "received a symbolic tensor.")
    qs = np.asarray(q, np.float64)
    if np.any((qs < 0) | (qs > 1)):
        raise ValueError(f"ops.quantile: q must lie in [0, 1], received "
                         f"q={q!r}.")
    x = _f(x)
    r = len(shape(x))
    axes_ = tuple(range(r)) if axis is None else tuple(
        a % r for a in _axes(axis))
    rest = [i for i in range(r) if i not in axes_]
    xt = transpose(x, rest + list(axes_))
    lead = [-1 if shape(x)[i] is None else shape(x)[i] for i in rest]
    n = int(np.prod([shape(x)[a] for a in axes_]))
    if builtins.any(shape(x)[a] is None for a in axes_):
        raise ValueError("ops.quantile needs static axes, received the batch "
                         f"axis of shape {shape(x)}.")
    s = sort(reshape(xt, lead + [n]), axis=-1)
    outs = []
    for qv in qs.reshape(-1):
        pos = qv * (n - 1)
        lo, hi = math.floor(pos), math.ceil(pos)
        a = _take_range(s, len(lead), lo, lo + 1)
        b = _take_range(s, len(lead), hi, hi + 1)
        frac = pos - lo
        if method == "lower":
            v = a
        elif method == "higher":
            v = b
        elif method == "midpoint":
            v = multiply(add(a, b), 0.5)
        elif method == "nearest":
            v = a if np.around(pos) == lo else b
        else:
            v = add(a, multiply(subtract(b, a), frac))
        outs.append(squeeze(v, axis=-1))
    out = stack(outs, axis=0) if qs.ndim else outs[0]
    if keepdims:
        for a in sorted(axes_):
            out = expand_dims(out, a + (1 if qs.ndim else 0))
    return out


@keras_op
def percentile(x, q, axis=None, method="linear", keepdims=False):
    return quantile(x, np.asarray(q, np.float64) / 100.0, axis=axis,
                    method=method, keepdims=keepdims)


@keras_op
def median(x, axis=None, keepdims=False):
    return quantile(x, 0.5, axis=axis, keepdims=keepdims)


@keras_op
def average(x, axis=None, weights=None):
    x = _f(x)
    if weights is None:
        return mean(x, axis=axis)
    w = cast(weights, dtype(x))
    if len(shape(w)) == 1 and len(shape(x)) > 1:
        if axis is None:
            raise ValueError("ops.average: 1-D weights need an axis, received "
                             "axis=None for an input of shape "
                             f"{shape(x)}.")
        ax = axis % len(shape(x))
        w = reshape(w, [-1 if i == ax else 1 for i in range(len(shape(x)))])
    return divide(sum(multiply(x, w), axis=axis),
                  sum(multiply(ones_like(x), w), axis=axis))


@keras_op
def nansum(x, axis=None, keepdims=False):
    x = convert_to_tensor(x)
    return sum(_where0(logical_not(isnan(x)), x), axis=axis, keepdims=keepdims)


@keras_op
def nanmean(x, axis=None, keepdims=False):
    x = _f(x)
    ok = cast(logical_not(isnan(x)), dtype(x))
    return divide(nansum(x, axis, keepdims), sum(ok, axis=axis,
                                                  keepdims=keepdims))


@keras_op
def nanmax(x, axis=None, keepdims=False):
    x = convert_to_tensor(x)
    low = full_like(x, -np.inf)
    out = max(where(isnan(x), low, x), axis=axis, keepdims=keepdims)
    allnan = all_(isnan(x), axis=axis, keepdims=keepdims)
    return where(allnan, full_like(out, np.nan), out)


@keras_op
def nanmin(x, axis=None, keepdims=False):
    x = convert_to_tensor(x)
    high = full_like(x, np.inf)
    out = min(where(isnan(x), high, x), axis=axis, keepdims=keepdims)
    allnan = all_(isnan(x), axis=axis, keepdims=keepdims)
    return where(allnan, full_like(out, np.nan), out)


@keras_op
def nanprod(x, axis=None, keepdims=False):
    x = _f(x)
    return prod(where(isnan(x), ones_like(x), x), axis=axis,
                keepdims=keepdims)


@keras_op
def nanvar(x, axis=None, keepdims=False):
    x = _f(x)
    m = nanmean(x, axis=axis, keepdims=True)
    return nanmean(square(subtract(x, m)), axis=axis, keepdims=keepdims)


@keras_op
def nanstd(x, axis=None, keepdims=False):
    return sqrt(nanvar(x, axis=axis, keepdims=keepdims))


@keras_op
def fabs(x):
    return abs(_f(x))


@keras_op
def logaddexp2(x1, x2):
    ln2 = math.log(2.0)
    return divide(logaddexp(multiply(_f(x1), ln2), multiply(_f(x2), ln2)), ln2)


@keras_op
def isposinf(x):
    x = convert_to_tensor(x)
    return equal(x, np.inf) if dtype(x).startswith("float") else cast(
        zeros_like(x), "bool")


@keras_op
def isneginf(x):
    x = convert_to_tensor(x)
    return equal(x, -np.inf) if dtype(x).startswith("float") else cast(
        zeros_like(x), "bool")


@keras_op
def fmax(x1, x2):
    """Elementwise maximum that ignores a NaN operand."""
    _, (a, b) = _align(x1, x2)
    return where(isnan(a), b, where(isnan(b), a, maximum(a, b)))


@keras_op
def fmin(x1, x2):
    """Elementwise minimum that ignores a NaN operand."""
    _, (a, b) = _align(x1, x2)
    return where(isnan(a), b, where(isnan(b), a, minimum(a, b)))


@keras_op
def ptp(x, axis=None, keepdims=False):
    x = convert_to_tensor(x)
    return subtract(max(x, axis=axis, keepdims=keepdims),
                    min(x, axis=axis, keepdims=keepdims))


@keras_op
def sinc(x):
    """sin(pi x) / (pi x), 1 at 0."""
    x = _f(x)
    zero = equal(x, 0.0)
    safe = where(zero, ones_like(x), multiply(x, math.pi))
    return where(zero, ones_like(x), divide(sin(safe), safe))


@keras_op
def real(x):
    return convert_to_tensor(x)


@keras_op
def imag(x):
    return zeros_like(convert_to_tensor(x))


@keras_op
def conj(x):
    return convert_to_tensor(x)


conjugate = conj


@keras_op
def isreal(x):
    return cast(ones_like(convert_to_tensor(x)), "bool")


@keras_op
def angle(x):
    """0 for non-negative reals, pi for negative ones."""
    x = _f(x)
    return where(less(x, 0.0), full_like(x, math.pi), zeros_like(x))


@keras_op
def append(x1, x2, axis=None):
    _, (a, b) = _align(x1, x2)
    if axis is None:
        return concatenate([ravel(a), ravel(b)], axis=0)
    return concatenate([a, b], axis=axis)


@keras_op
def hsplit(x, indices_or_sections):
    return split(x, indices_or_sections,
                 axis=0 if len(shape(x)) == 1 else 1)


@keras_op
def vsplit(x, indices_or_sections):
    return split(x, indices_or_sections, axis=0)


@keras_op
def dsplit(x, indices_or_sections):
    return split(x, indices_or_sections, axis=2)


def get_item(x, key):
    return getitem(x, key)


@keras_op
def cross(x1, x2, axisa=-1, axisb=-1, axisc=-1, axis=None):
    """Cross product of 3-vectors along the last axes (2-vectors are
    padded with a zero z, as NumPy does)."""
    if axis is not None:
        axisa = axisb = axisc = axis
    _, (a, b) = _align(x1, x2)
    a, b = moveaxis(a, axisa, -1), moveaxis(b, axisb, -1)

    def comps(v):
        n = shape(v)[-1]
        if n not in (2, 3):
            raise ValueError(f"ops.cross: vectors must have 2 or 3 "
                             f"components, received shape {shape(v)}.")
        parts = [getitem(v, (Ellipsis, i)) for i in range(n)]
        if n == 2:
            parts.append(zeros_like(parts[0]))
        return parts

    (a0, a1, a2), (b0, b1, b2) = comps(a), comps(b)
    out = stack([subtract(multiply(a1, b2), multiply(a2, b1)),
                 subtract(multiply(a2, b0), multiply(a0, b2)),
                 subtract(multiply(a0, b1), multiply(a1, b0))], axis=-1)
    if shape(a)[-1] == 2 and shape(b)[-1] == 2:
        return getitem(out, (Ellipsis, 2))
    return moveaxis(out, -1, axisc)


@keras_op
def kron(x1, x2):
    _, (a, b) = _align(x1, x2)
    r = builtins.max(len(shape(a)), len(shape(b)))
    a = reshape(a, (1,) * (r - len(shape(a))) + tuple(shape(a)))
    b = reshape(b, (1,) * (r - len(shape(b))) + tuple(shape(b)))
    ea = reshape(a, [d for s in shape(a) for d in (s, 1)])
    eb = reshape(b, [d for s in shape(b) for d in (1, s)])
    return reshape(multiply(ea, eb),
                   [p * q for p, q in zip(shape(a), shape(b))])


@keras_op
def trapezoid(y, x=None, dx=1.0, axis=-1):
    y = _f(y)
    ax, n = _static_axis(y, axis, "trapezoid")
    mid = multiply(add(_take_range(y, ax, 1, n), _take_range(y, ax, 0, n - 1)),
                   0.5)
    if x is None:
        return multiply(sum(mid, axis=ax), float(dx))
    return sum(multiply(mid, diff(_f(x), axis=axis)), axis=ax)


@keras_op
def vander(x, N=None, increasing=False):
    x = convert_to_tensor(x)
    n = shape(x)[0] if N is None else int(N)
    pw = np.arange(n) if increasing else np.arange(n)[::-1]
    cols = [power(x, int(p)) if p else ones_like(x) for p in pw]
    return stack(cols, axis=-1)


@keras_op
def corrcoef(x):
    """Pearson correlation of the rows of x."""
    x = _f(x)
    xc = subtract(x, mean(x, axis=-1, keepdims=True))
    cov = matmul(xc, transpose(xc))
    d = sqrt(diagonal(cov))
    return divide(cov, multiply(expand_dims(d, 1), expand_dims(d, 0)))


@keras_op
def searchsorted(sorted_sequence, values, side="left"):
    """Insertion indices of values into a sorted 1-D sequence (a count of
    the entries below, or not above, each value)."""
    if side not in ("left", "right"):
        raise ValueError(f"ops.searchsorted: side must be 'left' or 'right', "
                         f"received side={side!r}.")
    s = convert_to_tensor(sorted_sequence)
    if len(shape(s)) != 1:
        raise ValueError("ops.searchsorted expects a 1-D sorted_sequence, "
                         f"received shape {shape(s)}.")
    _, (s, v) = _align(s, values)
    cmp = less if side == "left" else less_equal
    return sum(cast(cmp(s, expand_dims(v, -1)), "int32"), axis=-1)


@keras_op
def digitize(x, bins):
    """Index of the bin of each x (bins increasing): the number of bin
    edges <= x."""
    return searchsorted(bins, x, side="right")


@keras_op
def isin(x1, x2, assume_unique=False, invert=False):
    x1 = convert_to_tensor(x1)
    _, (a, b) = _align(x1, x2)
    hit = any_(equal(expand_dims(a, -1), ravel(b)), axis=-1)
    return logical_not(hit) if invert else hit


@keras_op
def bincount(x, weights=None, minlength=0, sparse=False):
    """Counts of each value of x (a static length: minlength, or the
    largest value + 1 of a concrete x)."""
    if sparse:
        raise ValueError("ops.bincount: sparse=True is not supported.")
    x = convert_to_tensor(x)
    n = int(minlength)
    if not isinstance(x, TracedTensor):
        n = builtins.max(n, int(np.max(x)) + 1 if np.size(x) else 0)
    elif n <= 0:
        raise ValueError("ops.bincount of a symbolic tensor needs minlength "
                         "(the number of bins), received minlength=0.")
    hot = one_hot(cast(x, "int32"), n, dtype="float32")
    if weights is not None:
        w = convert_to_tensor(weights)
        hot = multiply(hot, expand_dims(_floatify(w), -1))
        out_dt = dtype(w) if dtype(w).startswith("float") else "int32"
    else:
        out_dt = "int32"
    out = sum(hot, axis=-2)
    return cast(out, out_dt) if out_dt != dtype(out) else out


@keras_op
def cdist(x1, x2, p=2):
    """Distances between the rows of x1 and x2 (the p-norm)."""
    a, b = _f(x1), _f(x2)
    d = subtract(expand_dims(a, -2), expand_dims(b, -3))
    if p == 2:
        return sqrt(sum(square(d), axis=-1))
    if p == 1:
        return sum(abs(d), axis=-1)
    return power(sum(power(abs(d), float(p)), axis=-1), 1.0 / p)


@keras_op
def saturate_cast(x, dtype):
    """cast after clipping to the target dtype's range."""
    dt = standardize_dtype(dtype)
    x = convert_to_tensor(x)
    if dt.startswith("int") and globals()["dtype"](x).startswith("float"):
        info = np.iinfo(np.dtype(dt))
        # the float32 neighbours inside the range (2^31 - 1 is not a float32)
        hi = float(np.nextafter(np.float32(info.max), np.float32(0)))
        x = clip(x, float(info.min), hi)
    return cast(x, dt)


@keras_op
def nancumsum(x, axis=None, dtype=None):
    x = convert_to_tensor(x)
    x = where(isnan(x), zeros_like(x), x) if globals()["dtype"](
        x).startswith("float") else x
    out = cumsum(x, axis=axis)
    return out if dtype is None else cast(out, dtype)


@keras_op
def nancumprod(x, axis=None, dtype=None):
    x = convert_to_tensor(x)
    x = where(isnan(x), ones_like(x), x) if globals()["dtype"](
        x).startswith("float") else x
    return cumprod(x, axis=axis, dtype=dtype)


@keras_op
def nanargmax(x, axis=None, keepdims=False):
    x = convert_to_tensor(x)
    x = where(isnan(x), full_like(x, -np.inf), x)
    if axis is None:
        x, axis = ravel(x), 0
    return argmax(x, axis=axis, keepdims=keepdims)


@keras_op
def nanargmin(x, axis=None, keepdims=False):
    x = convert_to_tensor(x)
    x = where(isnan(x), full_like(x, np.inf), x)
    if axis is None:
        x, axis = ravel(x), 0
    return argmin(x, axis=axis, keepdims=keepdims)


@keras_op
def unravel_index(indices, shape):
    """Coordinates of flat `indices` in an array of `shape` (a tuple of
    index tensors)."""
    idx = cast(convert_to_tensor(indices), "int32")
    out = []
    for d in reversed([int(s) for s in shape]):
        q = floor(divide(cast(idx, "float32"), float(d)))
        qi = cast(q, "int32")
        out.append(subtract(idx, multiply(qi, d)))
        idx = qi
    return tuple(reversed(out))


# --- scatter and slice updates (Keras's ops.core) ------------------------------


def _flat_index(indices, dims: tuple, fn: str):
    """The row-major position of each index tuple `indices[..., :]` in an
    array of shape `dims` (negative indices wrap, as NumPy's)."""
    indices = convert_to_tensor(indices)
    if not dtype(indices).startswith("int"):
        indices = cast(indices, "int32")
    depth = shape(indices)[-1] if len(shape(indices)) else None
    if depth is None or depth > len(dims):
        raise ValueError(
            f"ops.{fn}: the last axis of `indices` holds one index per "
            f"leading axis of the target (at most {len(dims)}); received "
            f"indices of shape {tuple(shape(indices))}.")
    flat = None
    for k in range(depth):
        d = int(dims[k])
        i = getitem(indices, (Ellipsis, k))
        i = where(less(i, 0), add(i, d), i)
        flat = i if flat is None else add(multiply(flat, d), i)
    return cast(flat, "int32"), depth


def _static_dims(x, fn: str, what: str) -> tuple:
    dims = shape(x)
    if any(d is None for d in dims):
        raise ValueError(f"ops.{fn} needs a static shape of `{what}`; "
                         f"received {what}.shape={tuple(dims)}.")
    return tuple(int(d) for d in dims)


def _scatter_rows(base, flat, values, depth: int):
    """base (dims) with `values` added at the flat positions of its first
    `depth` axes."""
    dims = tuple(shape(base))
    rows = int(np.prod(dims[:depth], dtype=np.int64))
    out = _apply("scatter_add", reshape(base, (rows,) + dims[depth:]), flat,
                 reshape(values, tuple(shape(flat)) + dims[depth:]), axis=0)
    return reshape(out, dims)


@keras_op
def scatter(indices, values, shape):
    """A zero tensor of `shape` with `values` added at `indices` (an
    index tuple along the last axis of `indices`; repeated indices add up).

    Example:
        >>> scatter(np.array([[0, 1], [1, 0]]), np.array([1.0, 2.0]), (2, 2))
        array([[0., 1.],
               [2., 0.]], dtype=float32)
    """
    values = convert_to_tensor(values)
    dims = tuple(int(d) for d in shape)
    flat, depth = _flat_index(indices, dims, "scatter")
    return _scatter_rows(zeros(dims, dtype(values)), flat, values, depth)


@keras_op
def scatter_update(inputs, indices, updates, reduction=None):
    """`inputs` with `updates` written at `indices` (index tuples along
    the last axis of `indices`). `reduction`: None (replace; a position
    listed twice gets the sum of its updates, where Keras leaves the
    result unspecified), "add", "max", "min" or "mul" (combined with the
    value already there).

    Example:
        >>> scatter_update(np.zeros((2, 3)), np.array([[1, 2]]), np.array([5.0]))
        array([[0., 0., 0.],
               [0., 0., 5.]])
    """
    inputs = convert_to_tensor(inputs)
    dims = _static_dims(inputs, "scatter_update", "inputs")
    updates = cast(convert_to_tensor(updates), dtype(inputs))
    flat, depth = _flat_index(indices, dims, "scatter_update")
    if reduction == "add":
        return _scatter_rows(inputs, flat, updates, depth)
    counts = _scatter_rows(zeros(dims[:depth], "int32"), flat,
                           ones_like(flat, "int32"), depth)
    hit = greater(counts, 0)
    hit = reshape(hit, dims[:depth] + (1,) * (len(dims) - depth))
    if reduction is None:
        put = _scatter_rows(zeros(dims, dtype(inputs)), flat, updates, depth)
        return where(hit, put, inputs)
    if reduction not in ("max", "min", "mul"):
        raise ValueError(
            f"Unsupported reduction: {reduction}. Expected None, 'add', "
            "'max', 'min' or 'mul'.")
    rows = int(np.prod(dims[:depth], dtype=np.int64))
    from .math import segment_max, segment_min, segment_prod

    seg = {"max": segment_max, "min": segment_min,
           "mul": segment_prod}[reduction]
    upd = reshape(updates, (-1,) + dims[depth:])
    combined = reshape(seg(upd, reshape(flat, (-1,)), num_segments=rows),
                       dims)
    both = {"max": maximum, "min": minimum,
            "mul": multiply}[reduction](inputs, combined)
    return where(hit, both, inputs)


@keras_op
def slice_update(inputs, start_indices, updates):
    """`inputs` with the block `updates` written from `start_indices` on
    (each start clamped so the block fits, as jax.lax.dynamic_update_slice;
    starts may be tensors).

    Example:
        >>> slice_update(np.zeros((3, 3)), (1, 1), np.ones((2, 2)))
        array([[0., 0., 0.],
               [0., 1., 1.],
               [0., 1., 1.]])
    """
    inputs = convert_to_tensor(inputs)
    updates = cast(convert_to_tensor(updates), dtype(inputs))
    rank = len(shape(inputs))
    if len(shape(updates)) != rank or len(start_indices) != rank:
        raise ValueError(
            "ops.slice_update needs `updates` of the rank of `inputs` and one "
            f"start index per axis; received inputs.shape="
            f"{tuple(shape(inputs))}, updates.shape={tuple(shape(updates))}, "
            f"start_indices={start_indices}.")
    out, inside = updates, None
    for axis, start in enumerate(start_indices):
        n, u = shape(inputs)[axis], shape(updates)[axis]
        if n == u:  # the whole axis (also the batch axis)
            continue
        if n is None or u is None or u > n:
            raise ValueError(
                f"ops.slice_update: axis {axis} of `updates` ({u}) must fit "
                f"axis {axis} of `inputs` ({n}).")
        if isinstance(start, (int, np.integer)):
            s = builtins.min(builtins.max(int(start), 0), n - u)
            pos = np.arange(n) - s
        else:
            s = clip(cast(convert_to_tensor(start), "int32"), 0, n - u)
            pos = subtract(arange(n, dtype="int32"), s)
        ok = logical_and(greater_equal(pos, 0), less(pos, u))
        out = take(out, clip(pos, 0, u - 1), axis=axis)
        ok = reshape(ok, [n if a == axis else 1 for a in range(rank)])
        inside = ok if inside is None else logical_and(inside, ok)
    if inside is None:
        return out
    return where(inside, out, inputs)


# --- window functions ------------------------------------------------------------


def _window_length(x, fn: str) -> int:
    if isinstance(x, (TracedTensor, Variable)):
        raise ValueError(f"ops.{fn} needs a Python int window length; "
                         f"received a tensor {x!r}.")
    n = int(np.asarray(x))
    if n < 0:
        raise ValueError(f"ops.{fn}: the window length must be >= 0; "
                         f"received x={x}.")
    return n


def _window(name: str, make, what: str):
    @keras_op
    def fn(x):
        return make(_window_length(x, name)).astype("float32")

    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = f"The {what} window of length x (as np.{make.__name__})."
    return fn


hamming = _window("hamming", np.hamming, "Hamming")


hanning = _window("hanning", np.hanning, "Hann")


bartlett = _window("bartlett", np.bartlett, "Bartlett (triangular)")


blackman = _window("blackman", np.blackman, "Blackman")


@keras_op
def kaiser(x, beta):
    """The Kaiser window of length x and shape `beta` (as np.kaiser)."""
    return np.kaiser(_window_length(x, "kaiser"), float(beta)).astype(
        "float32")


# --- more of ops.numpy -----------------------------------------------------------


def _eager_only(fn: str, why: str, *xs):
    """Raise if any of xs is symbolic: `fn` computes with NumPy only."""
    if builtins.any(isinstance(x, TracedTensor) for x in xs) or (
            builtins.any(isinstance(x, Variable) for x in xs)
            and tracing.current_trace() is not None):
        raise ValueError(
            f"ops.{fn} runs eagerly only in graphkeras: {why}. Call it on "
            "arrays, outside a traced step (e.g. on what model.predict "
            "returned).")
    return [np.asarray(x.numpy() if isinstance(x, Variable) else x)
            for x in xs]


@keras_op
def argpartition(x, kth, axis=-1):
    """Indices that partition x around its kth smallest entry along axis
    (entries before position kth are not larger, those after not smaller;
    here the whole axis comes out sorted, which is one such partition)."""
    x = convert_to_tensor(x)
    if axis is None:
        x, axis = reshape(x, (-1,)), 0
    n = shape(x)[axis]
    if n is not None and not -n <= int(kth) < n:
        raise ValueError(f"ops.argpartition: kth={kth} is out of range for "
                         f"axis {axis} of size {n}.")
    return argsort(x, axis=axis)


@keras_op
def diagflat(x, k=0):
    """The 2-D matrix with the flattened x on diagonal k."""
    return diag(reshape(convert_to_tensor(x), (-1,)), k)


@keras_op
def correlate(x1, x2, mode="valid"):
    """Cross-correlation of two 1-D sequences (np.correlate's modes
    "valid", "same" and "full")."""
    if mode not in ("valid", "same", "full"):
        raise ValueError("ops.correlate: mode must be 'valid', 'same' or "
                         f"'full', received mode={mode!r}.")
    dt = result_type(x1, x2)
    dt = dt if _ORDER[dt] >= 3 else "float32"
    _, (a, v) = _align(x1, x2, to=dt)
    if len(shape(a)) != 1 or len(shape(v)) != 1:
        raise ValueError("ops.correlate expects two 1-D tensors, received "
                         f"shapes {shape(a)} and {shape(v)}.")
    la, lv = shape(a)[0], shape(v)[0]
    if la is None or lv is None:
        raise ValueError("ops.correlate needs static lengths.")
    swap = lv > la
    if swap:  # NumPy: correlate(v, a) reversed
        a, v, la, lv = v, a, lv, la
    # full[j] = sum_n a[n + j - (lv - 1)] v[n], j = 0 .. la + lv - 2
    padded = pad(a, [(lv - 1, lv - 1)])
    index = (np.arange(la + lv - 1)[:, None]
             + np.arange(lv)[None, :]).astype("int32")
    full = matmul(take(padded, index, axis=0), v)
    start = {"full": 0, "valid": lv - 1, "same": (lv - 1) // 2}[mode]
    size = {"full": la + lv - 1, "valid": la - lv + 1, "same": la}[mode]
    if swap:
        full = flip(full, 0)
        start = {"full": 0, "valid": lv - 1, "same": lv // 2}[mode]
    return full[start:start + size]


@keras_op
def histogram(x, bins=10, range=None):  # noqa: A002  (Keras's name)
    """(counts, bin_edges) of the flattened x over `bins` equal bins of
    `range` (default: x's min and max); the last bin holds its right
    edge, values outside the range are not counted."""
    x = _f(x)
    x = reshape(x, (-1,))
    bins = int(bins)
    if bins < 1:
        raise ValueError(f"ops.histogram needs bins >= 1, received "
                         f"bins={bins}.")
    if range is None:
        lo, hi = min(x), max(x)
    else:
        lo, hi = (cast(r, dtype(x)) for r in range)
    # NumPy and JAX widen an empty range to [lo - 0.5, hi + 0.5]
    same = equal(lo, hi)
    lo = where(same, subtract(lo, 0.5), lo)
    hi = where(same, add(hi, 0.5), hi)
    steps = np.linspace(0.0, 1.0, bins + 1).astype(as_dtype(dtype(x)).np)
    edges = add(lo, multiply(subtract(hi, lo), steps))
    above = sum(cast(greater_equal(expand_dims(x, 0), expand_dims(edges, 1)),
                     "int32"), axis=1)  # (bins + 1,): count of x >= edge
    beyond = sum(cast(greater(x, hi), "int32"))
    counts = subtract(above[:-1], concatenate(
        [above[1:-1], expand_dims(beyond, 0)], axis=0))
    return cast(counts, dtype(x)), edges


def _i0_nonnegative(x):
    """I0 of a non-negative float tensor: its power series up to 15, the
    asymptotic expansion beyond."""
    small = where(less_equal(x, 15.0), x, zeros_like(x))
    q = multiply(multiply(small, small), 0.25)
    term, total = ones_like(q), ones_like(q)
    for k in builtins.range(1, 60):
        term = divide(multiply(term, q), float(k * k))
        total = add(total, term)
    big = where(greater(x, 15.0), x, full_like(x, 16.0))
    inv = divide(1.0, multiply(big, 8.0))
    term, series = ones_like(big), ones_like(big)
    for k in builtins.range(1, 16):
        term = multiply(term, multiply(inv, float((2 * k - 1) ** 2) / k))
        series = add(series, term)
    # e^x / sqrt(2 pi x) without overflowing before the multiplication
    half = exp(multiply(big, 0.5))
    asym = multiply(multiply(half, divide(half, sqrt(multiply(
        big, 2.0 * math.pi)))), series)
    return where(less_equal(x, 15.0), total, asym)


@keras_op
def i0(x):
    """The modified Bessel function of the first kind, order 0."""
    x = convert_to_tensor(x)
    dt = "float64" if dtype(x) in ("int64", "float64") else "float32"
    return _i0_nonnegative(abs(cast(x, dt)))


@keras_op
def ldexp(x1, x2):
    """x1 * 2**x2 (x2 integers)."""
    if not dtype(x2).startswith("int"):
        raise TypeError(
            "ldexp exponent must be an integer type. "
            f"Received: x2 dtype={dtype(x2)}")
    x1 = _f(x1)
    return multiply(x1, power(full_like(x1, 2.0), cast(x2, dtype(x1))))


def _int_pair(x1, x2, fn: str):
    dt = result_type(x1, x2)
    if not dt.startswith("int"):
        raise TypeError(f"ops.{fn} expects integer tensors, received dtypes "
                        f"{dtype(x1)} and {dtype(x2)}.")
    return _align(x1, x2, to=dt)


@keras_op
def gcd(x1, x2):
    """The greatest common divisor of |x1| and |x2| (Euclid's algorithm,
    unrolled over as many steps as the dtype's worst case needs)."""
    dt, (a, b) = _int_pair(x1, x2, "gcd")
    a, b = abs(a), abs(b)
    a, b = add(a, zeros_like(b)), add(b, zeros_like(a))
    for _ in builtins.range(48 if dt == "int32" else 96):
        nz = not_equal(b, 0)
        safe = where(nz, b, ones_like(b))
        a, b = where(nz, b, a), where(nz, mod(a, safe), b)
    return a


@keras_op
def lcm(x1, x2):
    """The least common multiple of |x1| and |x2| (0 if either is 0)."""
    _, (a, b) = _int_pair(x1, x2, "lcm")
    g = gcd(a, b)
    q = floor_divide(abs(a), where(equal(g, 0), ones_like(g), g))
    return where(equal(g, 0), zeros_like(g), abs(multiply(q, b)))


@keras_op
def nextafter(x1, x2):
    """The next representable float after x1 towards x2 (eager only: it
    steps through the bits of the float)."""
    a, b = _eager_only("nextafter", "it reads the bits of floats", x1, x2)
    dt = result_type(x1, x2)
    dt = dt if _ORDER[dt] >= 3 else "float32"
    return np.nextafter(a.astype(dt), b.astype(dt))


def _nan_quantile(x, q, axis, method, keepdims, fn):
    if method not in _METHODS:
        raise ValueError(f"ops.{fn}: method must be one of {_METHODS}, "
                         f"received method={method!r}.")
    if isinstance(q, TracedTensor):
        raise ValueError(f"ops.{fn} needs q as numbers or an array, "
                         "received a symbolic tensor.")
    qs = np.asarray(q, np.float64)
    if np.any((qs < 0) | (qs > 1)):
        raise ValueError(f"ops.{fn}: q must lie in [0, 1], received q={q!r}.")
    x = _f(x)
    r = len(shape(x))
    axes_ = tuple(range(r)) if axis is None else tuple(
        a % r for a in _axes(axis))
    if builtins.any(shape(x)[a] is None for a in axes_):
        raise ValueError(f"ops.{fn} needs static axes, received the batch "
                         f"axis of shape {shape(x)}.")
    rest = [i for i in range(r) if i not in axes_]
    lead = [-1 if shape(x)[i] is None else shape(x)[i] for i in rest]
    n = int(np.prod([shape(x)[a] for a in axes_]))
    flat = reshape(transpose(x, rest + list(axes_)), lead + [n])
    bad = isnan(flat)
    s = sort(where(bad, full_like(flat, np.inf), flat), axis=-1)
    count = sum(cast(logical_not(bad), dtype(x)), axis=-1, keepdims=True)
    top = maximum(subtract(count, 1.0), 0.0)
    outs = []
    for qv in qs.reshape(-1):
        pos = multiply(top, float(qv))
        lo, hi = floor(pos), ceil(pos)

        def at(p):
            return take_along_axis(s, cast(p, "int32"), axis=-1)

        a, b = at(lo), at(hi)
        if method == "lower":
            v = a
        elif method == "higher":
            v = b
        elif method == "midpoint":
            v = multiply(add(a, b), 0.5)
        elif method == "nearest":
            v = at(round(pos))
        else:
            v = add(a, multiply(subtract(b, a), subtract(pos, lo)))
        v = where(equal(count, 0.0), full_like(v, np.nan), v)
        outs.append(squeeze(v, axis=-1))
    out = stack(outs, axis=0) if qs.ndim else outs[0]
    if keepdims:
        for a in sorted(axes_):
            out = expand_dims(out, a + (1 if qs.ndim else 0))
    return out


@keras_op
def nanquantile(x, q, axis=None, method="linear", keepdims=False):
    """quantile ignoring NaNs (NaN where a slice has no other value)."""
    return _nan_quantile(x, q, axis, method, keepdims, "nanquantile")


@keras_op
def nanpercentile(x, q, axis=None, method="linear", keepdims=False):
    """percentile ignoring NaNs."""
    return _nan_quantile(x, np.asarray(q, np.float64) / 100.0, axis, method,
                         keepdims, "nanpercentile")


@keras_op
def nanmedian(x, axis=None, keepdims=False):
    """median ignoring NaNs."""
    return _nan_quantile(x, 0.5, axis, "linear", keepdims, "nanmedian")


def _unique_traced(x, size: int, fill_value, flags):
    """unique(x, size=size) of a symbolic x (flattened) with ops: sort,
    mark each run's first entry, number the runs, and gather by one-hot
    products (O(n size); JAX's padding: fill_value, default the minimum;
    indices padded with the first one, counts with 0)."""
    flat = reshape(x, (-1,))
    n = shape(flat)[0]
    if n is None:
        raise ValueError("ops.unique with `size` needs a static number of "
                         "elements (not the batch axis).")
    dt = dtype(flat)
    order = argsort(flat)
    s = take(flat, order)
    first = concatenate([ones((1,), "bool"),
                         not_equal(s[1:], s[:-1])], axis=0) if n > 1 else \
        ones((1,), "bool")
    run = subtract(cumsum(cast(first, "int32")), 1)  # (n,): run number
    hot = cast(logical_and(one_hot(run, size, dtype="bool"),
                           expand_dims(first, 1)), "int32")  # (n, size)
    count = sum(cast(first, "int32"))
    valid = less(arange(size, dtype="int32"), count)
    num = "float32" if dt == "bool" else dt
    values = sum(multiply(cast(hot, num), expand_dims(cast(s, num), 1)),
                 axis=0)
    fill = min(flat) if fill_value is None else fill_value
    values = cast(where(valid, values, cast(fill, num)), dt)
    out = [values]
    index = sum(multiply(hot, expand_dims(order, 1)), axis=0)
    if flags[0]:
        out.append(where(valid, index, index[0]))
    if flags[1]:
        ranks = argsort(order)
        out.append(reshape(take(run, ranks), shape(x)))
    if flags[2]:
        counts = sum(cast(one_hot(run, size, dtype="bool"), "int32"), axis=0)
        out.append(counts)
    return out[0] if len(out) == 1 else tuple(out)


@keras_op
def unique(x, sorted=True, return_index=False, return_inverse=False,
           return_counts=False, axis=None, size=None, fill_value=None):
    """The unique values of x (sorted), with np.unique's optional indices,
    inverse and counts. With `size`, padded (with `fill_value`, default
    the smallest value; indices with the first index, counts with 0) or
    cut to that many, as JAX: then it also traces (axis=None). Without
    `size` it runs eagerly only: the result's size depends on the values.
    """
    flags = (return_index, return_inverse, return_counts)
    if size is not None and axis is None and isinstance(x, TracedTensor):
        return _unique_traced(x, int(size), fill_value, flags)
    (a,) = _eager_only("unique", "the number of unique values depends on "
                       "the data, which a compiled step does not have (give "
                       "`size` to fix it)", x)
    res = np.unique(a, return_index=True, return_inverse=True,
                    return_counts=True, axis=axis)
    values, index, inverse, counts = res
    if size is not None:
        size = int(size)
        k = values.shape[0]
        fill = (np.min(a) if fill_value is None else fill_value)
        if k < size:
            extra = size - k
            pad_shape = (extra,) + values.shape[1:]
            values = np.concatenate([values, np.full(pad_shape, fill,
                                                     values.dtype)])
            index = np.concatenate([index, np.full(extra, index[0],
                                                   index.dtype)])
            counts = np.concatenate([counts, np.zeros(extra, counts.dtype)])
        values, index, counts = values[:size], index[:size], counts[:size]
    if axis is None:
        inverse = inverse.reshape(a.shape)
    out = [values]
    if return_index:
        out.append(index.astype("int32"))
    if return_inverse:
        out.append(inverse.astype("int32"))
    if return_counts:
        out.append(counts.astype("int32"))
    return out[0] if len(out) == 1 else tuple(out)


@keras_op
def nonzero(x):
    """The indices of the non-zero entries, one int32 array per axis.
    Eager only: their number depends on the data."""
    (a,) = _eager_only("nonzero", "the number of non-zero entries depends "
                       "on the data, which a compiled step does not have", x)
    return tuple(i.astype("int32") for i in np.nonzero(a))


def vectorize(pyfunc, *, excluded=None, signature=None):
    """np.vectorize for functions written with graphkeras.ops: eagerly it
    calls pyfunc per element (or per core block of `signature`) as
    np.vectorize does; on symbolic tensors pyfunc gets the whole tensors,
    so it must be elementwise (ops broadcast), and a `signature` is refused.
    """
    excluded = set(excluded or ())
    eager = np.vectorize(pyfunc, excluded=excluded, signature=signature)

    def wrapped(*args, **kwargs):
        traced = builtins.any(isinstance(a, TracedTensor) for a in
                              list(args) + list(kwargs.values()))
        if not traced:
            return eager(*args, **kwargs)
        if signature is not None:
            raise ValueError(
                "ops.vectorize with a `signature` runs eagerly only in "
                f"graphkeras; received signature={signature!r} on symbolic "
                "tensors. Write the function for whole tensors instead.")
        return pyfunc(*args, **kwargs)

    wrapped.__name__ = getattr(pyfunc, "__name__", "vectorized")
    return wrapped


@keras_op
def view(x, dtype=None):
    """x's bytes read as `dtype` (NumPy's view; the last axis scales by
    the ratio of the item sizes). Symbolic tensors only keep their own
    dtype (a view as another dtype runs eagerly)."""
    if dtype is None:
        return convert_to_tensor(x)
    dt = standardize_dtype(dtype)
    if isinstance(x, TracedTensor) and globals()["dtype"](x) == dt:
        return x
    (a,) = _eager_only("view", f"viewing {globals()['dtype'](x)} bytes as "
                       f"{dt} has no compiled form", x)
    return a.view(np.dtype(dt))


def _einops_side(side: str, pattern: str) -> list:
    """The groups of one side of an einops pattern: [["b"], ["h", "w"]]."""
    groups, i = [], 0
    tokens = side.replace("(", " ( ").replace(")", " ) ").split()
    while i < len(tokens):
        t = tokens[i]
        if t == "(":
            j = tokens.index(")", i) if ")" in tokens[i:] else -1
            if j < 0:
                raise ValueError(f"ops.rearrange: unbalanced parentheses in "
                                 f"pattern {pattern!r}.")
            groups.append(tokens[i + 1:j])
            i = j + 1
        elif t == ")" or not t.isidentifier():
            raise ValueError(f"ops.rearrange: cannot read {t!r} in pattern "
                             f"{pattern!r} (axis names, parentheses and one "
                             "'->' only).")
        else:
            groups.append([t])
            i += 1
    return groups


@keras_op
def rearrange(tensor, pattern, **axes_lengths):
    """Rearranges the axes of `tensor` einops-style:
    "b h w c -> b (h w) c" merges, "b (h p) c -> b h p c" splits (with
    p=... given), a permutation of names transposes.

    Example:
        >>> rearrange(np.zeros((2, 3, 4)), "b h w -> b (w h)").shape
        (2, 12)
    """
    x = convert_to_tensor(tensor)
    if pattern.count("->") != 1:
        raise ValueError(f"ops.rearrange expects one '->' in the pattern, "
                         f"received pattern={pattern!r}.")
    left, right = (_einops_side(s, pattern) for s in pattern.split("->"))
    dims = shape(x)
    if len(left) != len(dims):
        raise ValueError(
            f"ops.rearrange: the pattern's input side names {len(left)} axes "
            f"for a tensor of rank {len(dims)} (shape {tuple(dims)}).")
    sizes = {k: int(v) for k, v in axes_lengths.items()}
    for group, d in zip(left, dims):
        unknown = [a for a in group if a not in sizes]
        if d is None:
            if len(group) != 1:
                raise ValueError("ops.rearrange cannot split the batch axis; "
                                 f"received group {group} for it.")
            sizes[group[0]] = None
            continue
        known = int(np.prod([sizes[a] for a in group if a in sizes]))
        if len(unknown) > 1:
            raise ValueError(
                f"ops.rearrange: give the lengths of all but one of {group} "
                f"(received {axes_lengths}).")
        if unknown:
            sizes[unknown[0]] = int(d) // known
        if int(np.prod([sizes[a] for a in group])) != int(d):
            raise ValueError(
                f"ops.rearrange: axes {group} of lengths "
                f"{[sizes[a] for a in group]} do not make the input's "
                f"axis of size {d}.")
    atoms_in = [a for g in left for a in g]
    atoms_out = [a for g in right for a in g]
    if sorted(atoms_in) != sorted(atoms_out) or len(set(atoms_in)) != len(
            atoms_in):
        raise ValueError(
            "ops.rearrange: both sides must name the same axes, each once; "
            f"received pattern={pattern!r}.")
    x = reshape(x, [-1 if sizes[a] is None else sizes[a] for a in atoms_in])
    order = [atoms_in.index(a) for a in atoms_out]
    if order != list(range(len(order))):
        x = transpose(x, order)
    out_shape = []
    for g in right:
        if builtins.any(sizes[a] is None for a in g):
            if len(g) != 1:
                raise ValueError("ops.rearrange cannot merge the batch axis "
                                 f"with others; received group {g}.")
            out_shape.append(-1)
        else:
            out_shape.append(int(np.prod([sizes[a] for a in g])))
    return reshape(x, out_shape)


# --- bitwise -----------------------------------------------------------------------


def _bit_operands(x, y, fn: str):
    dt, (a, b) = _align(x, y)
    if dt.startswith("float"):
        raise TypeError(f"ops.{fn} expects integer or boolean tensors, "
                        f"received dtypes {dtype(x)} and {dtype(y)}.")
    return dt, a, b


@keras_op
def bitwise_and(x, y):
    """x & y of integers (logical and of booleans)."""
    dt, a, b = _bit_operands(x, y, "bitwise_and")
    return logical_and(a, b) if dt == "bool" else _apply("bitwise_and", a, b)


@keras_op
def bitwise_or(x, y):
    """x | y of integers (logical or of booleans)."""
    dt, a, b = _bit_operands(x, y, "bitwise_or")
    return logical_or(a, b) if dt == "bool" else _apply("bitwise_or", a, b)


@keras_op
def bitwise_xor(x, y):
    """x ^ y of integers (logical xor of booleans)."""
    dt, a, b = _bit_operands(x, y, "bitwise_xor")
    return not_equal(a, b) if dt == "bool" else _apply("bitwise_xor", a, b)


@keras_op
def bitwise_invert(x):
    """~x of integers (-x - 1; logical not of booleans)."""
    x = convert_to_tensor(x)
    if dtype(x).startswith("float"):
        raise TypeError("ops.bitwise_invert expects an integer or boolean "
                        f"tensor, received dtype {dtype(x)}.")
    return logical_not(x) if dtype(x) == "bool" else _apply("bitwise_not", x)


@keras_op
def bitwise_not(x):
    """~x (the same as bitwise_invert)."""
    return bitwise_invert(x)


def _shift(x, y, fn: str, opname: str):
    dt, a, b = _bit_operands(x, y, fn)
    if dt == "bool":
        raise TypeError(f"ops.{fn} expects integer tensors, received "
                        "booleans.")
    return _apply(opname, a, b)


@keras_op
def bitwise_left_shift(x, y):
    """x << y of integers (0 where y is negative or not below the width,
    as NumPy)."""
    return _shift(x, y, "bitwise_left_shift", "left_shift")


@keras_op
def left_shift(x, y):
    """x << y (the same as bitwise_left_shift)."""
    return _shift(x, y, "left_shift", "left_shift")


@keras_op
def bitwise_right_shift(x, y):
    """x >> y of integers, arithmetic (the sign, 0 or -1, where y is
    negative or not below the width, as NumPy)."""
    return _shift(x, y, "bitwise_right_shift", "right_shift")


@keras_op
def right_shift(x, y):
    """x >> y (the same as bitwise_right_shift)."""
    return _shift(x, y, "right_shift", "right_shift")
