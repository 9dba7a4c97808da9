"""Dispatch of `graphkeras.ops` (Keras's ops.core): how every op function
treats its operands, and the conversions.

Every function of `graphkeras.ops` works on three kinds of operands, as
Keras ops do:

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

Adding an op: see docs/architecture.md. A function composes `_apply` (one
IR op) or other op functions and is decorated with `@keras_op` so
KerasTensors work; its public name comes from the Keras op table
(frontend/saving/keras_ops.py).
"""

from __future__ import annotations

import builtins

import numpy as np

from ...ir import TensorType, as_dtype
from ...ir.builder import infer_types
from ...ir.registry import get_op
from ...ir.types import is_symbol
from .. import tracing
from ..operation import keras_op  # noqa: F401  (ops modules import it from here)
from ..tensors import KerasTensor, TracedTensor
from ..variables import Variable, standardize_dtype


_ORDER = {"bool": 0, "int32": 1, "int64": 2, "float32": 3, "float64": 4}


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
    dt = np.asarray(x).dtype
    if dt == np.float16:  # (computed as float32: _to_array)
        return "float32"
    return standardize_dtype(dt)


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
        return autocast_read(x, trace.read(x)).value
    arr = np.asarray(x, dtype=None if dt is None else as_dtype(dt).np)
    if dt is None and (arr.dtype == np.float16 or (
            arr.dtype == np.float64 and _is_weak(x))):
        arr = arr.astype(np.float32)
    return trace.builder.constant(arr)


def round_float16(x):
    """x's float32 values rounded to float16's (a traced tensor, or an
    array), the mixed_float16 policy's casts; anything else as it is."""
    if isinstance(x, TracedTensor):
        return _apply("round_float16", x) if x.dtype == "float32" else x
    if isinstance(x, np.ndarray) and x.dtype == np.float32:
        with np.errstate(over="ignore"):
            return x.astype(np.float16).astype(np.float32)
    return x


def autocast_read(var, value):
    """The value a layer's call reads for Variable `var`: rounded to
    float16 inside a mixed_float16 layer when the variable autocasts."""
    from ..mixed_precision import autocast_dtype

    if autocast_dtype() is None or not getattr(var, "autocast", True) \
            or var.dtype != "float32":
        return value
    return round_float16(value)



def _to_array(x, dt=None):
    if isinstance(x, Variable):
        x = autocast_read(x, x.value)
    arr = np.asarray(x)
    if dt is not None:
        arr = arr.astype(as_dtype(dt).np, copy=False)
    elif arr.dtype == np.float16 or (arr.dtype == np.float64
                                     and _is_weak(x)):
        # float16 arrays (a mixed_float16 model's outputs) compute as
        # float32, holding the same values
        arr = arr.astype(np.float32)
    return arr


def _apply(opname: str, *xs, **attrs):
    """Apply one IR op to xs (dtypes already aligned)."""
    trace = _trace_of(xs)
    if trace is not None:
        vals = [_to_value(x, trace) for x in xs]
        out = trace.builder.op(opname, *vals, **attrs)
        if trace.half_values:
            _follow_half(trace, xs, out)
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


def _follow_half(trace, xs, out) -> None:
    """Keras's dtype of an op's float32 result under mixed_float16:
    float16 when every floating tensor operand is (Python scalars are
    weak), else float32; Trace.half_values records the float16 ones."""
    half = trace.half_values
    if any(isinstance(x, Variable) and x.dtype.startswith("float")
           for x in xs):
        return  # a float32 variable (outside autocast) makes it float32
    floats = [x.value.name for x in xs
              if isinstance(x, TracedTensor) and x.dtype == "float32"]
    if floats and all(half.get(n, False) for n in floats):
        for o in (out if isinstance(out, tuple) else (out,)):
            if o.dtype.long_name == "float32":
                half[o.name] = True


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
        v = autocast_read(x, t.read(x) if t is not None else x.numpy())
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


def _half_name(dtype) -> str | None:
    """"float16" or "bfloat16" when dtype names one, else None."""
    name = getattr(dtype, "name", dtype)
    if name is np.float16:
        return "float16"
    if name in ("float16", "half", "bfloat16"):
        return "bfloat16" if name == "bfloat16" else "float16"
    return None


@keras_op
def cast(x, dtype):
    half = _half_name(dtype)
    if half is not None:
        # a cast to a mixed policy's compute dtype (ops.cast(x,
        # self.compute_dtype)): the tensors stay float32 here; "float16"
        # rounds them to float16's values, "bfloat16" leaves them (as
        # the tensors between mixed_bfloat16 layers)
        x = cast(x, "float32")
        return round_float16(x) if half == "float16" else x
    dt = standardize_dtype(dtype)
    if x is None:
        # NOTE: the usual source is Keras code reading the batch size as
        # ops.shape(x)[0], which Keras's backends make concrete in a step
        # (NeedsConcreteBatch: fit / evaluate / predict then trace the step
        # for each batch size, where ops.shape(x)[0] is a number)
        raise tracing.NeedsConcreteBatch(
            f"ops.cast received None (to cast to {dt}). Inside a traced "
            "step graphkeras's batch size is symbolic, so ops.shape(x)[0] is "
            "None: use ops.batch_size(x) for it as a tensor, or build "
            "batch-sized tensors from x (ops.ones_like(x[:, 0])).")
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


def shape(x) -> tuple:
    """The shape as a tuple; the batch dimension of a symbolic tensor is
    None."""
    if isinstance(x, (TracedTensor, KerasTensor, Variable)):
        return tuple(x.shape)
    return np.shape(x)
