"""ONNX export of IR Functions.

`export_function(fn, initializers=..., ...)` turns one `ir.Function` into an
`onnx.ModelProto`: parameters with a value in `initializers` become ONNX
initializers of the same name (the model's weights), the other parameters
become graph inputs, the results become graph outputs. Symbolic dimensions
(the batch `N`) stay symbolic: they become ONNX `dim_param`s (`N` is called
"batch" by default), and every shape an op needs at run time is computed
from a graph input that carries the symbol (Shape -> Concat).

Invariants this file keeps:
- It reads only the IR: op names, types, attrs and `loc`. It knows nothing
  of layers, Keras or LLVM (docs/architecture.md).
- Every op in `ir.all_ops()` has an entry in `_CONVERTERS`, is a meta op
  whose body Function is inlined (fusion's kernels), is one ONNX node of
  its `OpDef.onnx` type with its own attributes (`_direct`: the ONNX name
  lives on the op only), or is listed in `_UNEXPORTABLE` with the reason
  (a test walks the registry and runs every op's samples); an op
  that cannot be exported raises `ExportError` naming the op, the node and
  its `loc` (the Keras layer).
- The ONNX graph computes what `ir.interpret` computes: the converters
  follow the ops' NumPy references, including their edge cases (gather and
  scatter_add clamp indices into range, one_hot gives an all-off row for an
  out-of-range index, slices take NumPy's stop/step rules, reductions over
  no axes are the identity).
- Only nodes that the results depend on are exported, so a training-only
  random op whose value is unused does not block export.
- The model passes `onnx.checker.check_model(model, full_check=True)`; a
  failure there is a graphkeras bug (InternalCompilerError).

Opset: DEFAULT_OPSET (18, where ReduceMean/ReduceMax take their axes as an
input like ReduceSum), any opset from MIN_OPSET to MAX_OPSET on request.
The IR version written is the smallest one that allows the opset, so older
runtimes can load the file.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from ..fileio import atomic_write, atomic_write_bytes
from ..version import __version__
from ..ir import Function, Node, get_op, live_nodes
from ..ir.dtypes import DType, bool_, float32, float64, int32, int64
from ..ir.errors import InternalCompilerError
from ..ir.types import TensorType, is_symbol

try:  # onnx is an optional dependency of graphkeras as a whole
    import onnx
    from onnx import TensorProto, helper, numpy_helper
except ImportError:  # pragma: no cover - onnx is installed where we test
    onnx = None

DEFAULT_OPSET = 18
MIN_OPSET = 17
MAX_OPSET = 23

# NOTE: these bounds are ONNX's "slice to the end" markers (the Slice spec
# recommends INT_MAX forward and INT_MIN backward for an open stop).
_INT64_MAX = np.iinfo(np.int64).max
_INT64_MIN = np.iinfo(np.int64).min


class ExportError(ValueError):
    """A program (or an argument of the exporter) that ONNX export cannot
    take. The message names the op, the node and the layer when there is
    one."""


# --- dtypes --------------------------------------------------------------


def _elem_type(dtype: DType) -> int:
    return {
        float32: TensorProto.FLOAT,
        float64: TensorProto.DOUBLE,
        int32: TensorProto.INT32,
        int64: TensorProto.INT64,
        bool_: TensorProto.BOOL,
    }[dtype]


# --- the emitter: ONNX nodes and names for one graph ---------------------


@dataclass
class _Emitter:
    """Collects the ONNX nodes of one graph and hands out unique names.

    `sym_src` maps a symbol (e.g. "N") to a graph input and axis that carry
    it at run time; `dim(sym)` reads it there once and caches it.
    """

    opset: int
    sym_src: dict = field(default_factory=dict)
    nodes: list = field(default_factory=list)
    used: set = field(default_factory=set)
    loc: str | None = None
    _consts: dict = field(default_factory=dict)
    _dims: dict = field(default_factory=dict)
    _node_count: int = 0

    def reserve(self, name: str) -> str:
        self.used.add(name)
        return name

    def fresh(self, hint: str) -> str:
        """A tensor name not used yet, based on `hint`."""
        name, k = hint, 1
        while name in self.used:
            name = f"{hint}__{k}"
            k += 1
        return self.reserve(name)

    def add(self, op_type: str, inputs: Sequence[str], out: str | None = None,
            **attrs) -> str:
        """Append one single-output node; return its output's name."""
        out = out if out is not None else self.fresh(f"{op_type.lower()}")
        self._node_count += 1
        prefix = f"{self.loc}/" if self.loc else ""
        self.nodes.append(
            helper.make_node(
                op_type, list(inputs), [out],
                name=f"{prefix}{op_type}_{self._node_count}", **attrs,
            )
        )
        return out

    def const(self, value, dtype=None) -> str:
        """A Constant node holding `value` (shared between identical uses)."""
        arr = np.asarray(value, dtype=None if dtype is None else dtype)
        key = (arr.dtype.str, arr.shape, arr.tobytes())
        if key not in self._consts:
            name = self.fresh("const")
            tensor = numpy_helper.from_array(arr, name=name)
            self._node_count += 1
            self.nodes.append(helper.make_node(
                "Constant", [], [name], value=tensor,
                name=f"Constant_{self._node_count}",
            ))
            self._consts[key] = name
        return self._consts[key]

    def ints(self, values) -> str:
        """A 1-D int64 constant (axes, shapes, pads, slice bounds)."""
        return self.const(np.asarray(list(values), dtype=np.int64).reshape(-1))

    def dim(self, sym: str) -> str:
        """The run-time size of symbol `sym`, as an int64 tensor of shape [1]."""
        if sym not in self._dims:
            if sym not in self.sym_src:
                raise ExportError(
                    f'The dimension "{sym}" is used by the program but no graph '
                    f"input carries it, so its size is unknown at run time. "
                    f"Give the program an input whose shape contains {sym}."
                )
            src, axis = self.sym_src[sym]
            self._dims[sym] = self.add(
                "Shape", [src], self.fresh(f"{sym}_size"),
                start=axis, end=axis + 1,
            )
        return self._dims[sym]

    def shape(self, dims: Sequence) -> str:
        """A 1-D int64 tensor holding `dims` (ints and symbols)."""
        if not any(is_symbol(d) for d in dims):
            return self.ints(dims)
        parts, run = [], []
        for d in dims:
            if is_symbol(d):
                if run:
                    parts.append(self.ints(run))
                    run = []
                parts.append(self.dim(d))
            else:
                run.append(d)
        if run:
            parts.append(self.ints(run))
        if len(parts) == 1:
            return parts[0]
        return self.add("Concat", parts, axis=0)

    def cast(self, x: str, dtype: DType) -> str:
        return self.add("Cast", [x], to=_elem_type(dtype))

    def scalar(self, value, dtype: DType) -> str:
        return self.const(np.asarray(value).astype(dtype.np))

    def where(self, c: str, a: str, b: str, dtype: DType,
              out: str | None = None) -> str:
        """Where(c, a, b); for booleans (c and a) or (not c and b), since
        onnxruntime has no boolean Where kernel."""
        if not dtype.is_bool:
            return self.add("Where", [c, a, b], out)
        return self.add("Or", [self.add("And", [c, a]),
                               self.add("And", [self.add("Not", [c]), b])], out)


# --- converters ------------------------------------------------------------
#
# A converter gets the emitter, the IR node, the ONNX names of its inputs and
# the ONNX names its outputs must get; it appends the nodes that compute
# them. Attributes arrive canonical (as the Builder made them).

Converter = Callable[[_Emitter, Node, list, list], None]
_CONVERTERS: dict[str, Converter] = {}

# Ops ONNX cannot express, with the reason given to the user.
_UNEXPORTABLE = {
    "random_uniform": (
        "graphkeras's counter-based random numbers have no ONNX equivalent. "
        "Export the inference program, where training-only random layers "
        "such as Dropout are identities"
    ),
    "random_normal": (
        "graphkeras's counter-based random numbers have no ONNX equivalent. "
        "Export the inference program, where training-only random layers "
        "such as GaussianNoise are identities"
    ),
    "all_reduce_sum": (
        "a collective across the ranks of a distributed job has no ONNX "
        "equivalent. Export the inference program, which has none"
    ),
}


def _converts(*names: str):
    def deco(fn: Converter) -> Converter:
        for n in names:
            _CONVERTERS[n] = fn
        return fn

    return deco


def exportable_ops() -> set:
    """The names of the ops the exporter can convert: those with a
    converter, the meta ops, whose body Function is inlined, and every
    other op as the one ONNX node its OpDef names (`_direct`)."""
    from ..ir import all_ops

    return {name for name, op in all_ops().items()
            if name not in _UNEXPORTABLE and (
                name in _CONVERTERS or op.kind == "meta" or op.onnx)}


def unexportable_ops() -> dict:
    """Ops that cannot be exported, with the reason (a copy)."""
    return dict(_UNEXPORTABLE)


def _attrs(node: Node) -> dict:
    return dict(node.attrs)


# An op without a converter here is one ONNX node: its OpDef.onnx op type
# (ir/ops/), with the IR node's inputs and attributes (Add, Exp, Softmax,
# ...): the ONNX name of an op is written once, on its OpDef.


def _direct(e: _Emitter, node: Node, ins: list, outs: list) -> None:
    e.add(get_op(node.op).onnx, ins, outs[0], **_attrs(node))


@_converts("transpose")
def _transpose(e, node, ins, outs):
    perm = list(node.attrs["perm"])
    if perm == list(range(len(perm))):
        e.add("Identity", ins, outs[0])
    else:
        e.add("Transpose", ins, outs[0], perm=perm)


@_converts("erf")
def _erf(e, node, ins, outs):
    if node.inputs[0].dtype == float32:
        e.add("Erf", ins, outs[0])
        return
    # NOTE: onnxruntime has no double Erf kernel, so a float64 erf is
    # computed in float32 (relative error ~1e-7 instead of ~1e-16).
    e.add("Cast", [e.add("Erf", [e.cast(ins[0], float32)])], outs[0],
          to=_elem_type(node.inputs[0].dtype))


@_converts("relu")
def _relu(e, node, ins, outs):
    t = node.inputs[0].dtype
    if t.is_float:
        e.add("Relu", ins, outs[0])
    else:  # onnxruntime lacks integer Relu kernels at some opsets
        e.add("Max", [ins[0], e.scalar(0, t)], outs[0])


@_converts("square")
def _square(e, node, ins, outs):
    e.add("Mul", [ins[0], ins[0]], outs[0])


@_converts("bitwise_and", "bitwise_or", "bitwise_xor", "bitwise_not")
def _bitwise(e, node, ins, outs):
    onnx_op = get_op(node.op).onnx
    if e.opset < 18:
        raise ExportError(
            f"Cannot export {_where(node)} at ONNX opset {e.opset}: "
            f"{onnx_op} exists from opset 18 on. Export with opset=18 or "
            "later (the default).")
    e.add(onnx_op, ins, outs[0])


def _shift_count(e, n: str, t: DType) -> tuple:
    """(the count as the unsigned dtype of t's width, clamped into range;
    whether it was in [0, bits)): NumPy's shifts give 0 (or the sign)
    outside, ONNX's BitShift is undefined there and takes unsigned ints."""
    bits = 8 * np.dtype(t.np).itemsize
    ok = e.add("And", [e.add("GreaterOrEqual", [n, e.scalar(0, t)]),
                       e.add("Less", [n, e.scalar(bits, t)])])
    safe = e.add("Where", [ok, n, e.scalar(0, t)])
    return e.add("Cast", [safe], to=_unsigned(t)), ok


def _unsigned(t: DType) -> int:
    return TensorProto.UINT32 if t == int32 else TensorProto.UINT64


@_converts("left_shift")
def _left_shift(e, node, ins, outs):
    t = node.inputs[0].dtype
    n, ok = _shift_count(e, ins[1], t)
    x = e.add("Cast", [ins[0]], to=_unsigned(t))
    shifted = e.cast(e.add("BitShift", [x, n], direction="LEFT"), t)
    e.add("Where", [ok, shifted, e.scalar(0, t)], outs[0])


@_converts("right_shift")
def _right_shift(e, node, ins, outs):
    # arithmetic: ~((~x) >> n) for negative x, with a logical BitShift
    # (~v written -1 - v, which never overflows: BitwiseNot needs opset 18)
    t = node.inputs[0].dtype
    n, ok = _shift_count(e, ins[1], t)
    minus_one = e.scalar(-1, t)
    neg = e.add("Less", [ins[0], e.scalar(0, t)])
    pos = e.add("Where", [neg, e.add("Sub", [minus_one, ins[0]]), ins[0]])
    shifted = e.cast(e.add("BitShift", [
        e.add("Cast", [pos], to=_unsigned(t)), n], direction="RIGHT"), t)
    shifted = e.add("Where", [ok, shifted, e.scalar(0, t)])
    e.add("Where", [neg, e.add("Sub", [minus_one, shifted]), shifted],
          outs[0])


@_converts("rsqrt")
def _rsqrt(e, node, ins, outs):
    e.add("Reciprocal", [e.add("Sqrt", ins)], outs[0])


@_converts("log1p")
def _log1p(e, node, ins, outs):
    # log1p(x) = log(u) * x / (u - 1) with u = 1 + x (Goldberg): exact to a
    # few ulps where log(1 + x) alone loses every digit for tiny x. Where
    # u == 1 the result is x; where u is inf it is inf.
    x, t = ins[0], node.inputs[0].dtype
    one = e.scalar(1, t)
    u = e.add("Add", [x, one])
    d = e.add("Sub", [u, one])
    ratio = e.add("Div", [x, d])
    body = e.add("Mul", [e.add("Log", [u]), ratio])
    body = e.add("Where", [e.add("IsInf", [u]), u, body])
    e.add("Where", [e.add("Equal", [d, e.scalar(0, t)]), x, body], outs[0])


@_converts("expm1")
def _expm1(e, node, ins, outs):
    # expm1(x) = (u - 1) * x / log(u) with u = exp(x) (Kahan); the special
    # cases: u == 1 -> x, u - 1 == -1 -> -1, u == inf -> inf.
    x, t = ins[0], node.inputs[0].dtype
    one = e.scalar(1, t)
    u = e.add("Exp", [x])
    d = e.add("Sub", [u, one])
    body = e.add("Mul", [d, e.add("Div", [x, e.add("Log", [u])])])
    body = e.add("Where", [e.add("IsInf", [u]), u, body])
    minus1 = e.scalar(-1, t)
    body = e.add("Where", [e.add("Equal", [d, minus1]), minus1, body])
    e.add("Where", [e.add("Equal", [d, e.scalar(0, t)]), x, body], outs[0])


@_converts("where")
def _where_op(e, node, ins, outs):
    e.where(*ins, node.outputs[0].dtype, outs[0])


@_converts("not_equal")
def _not_equal(e, node, ins, outs):
    e.add("Not", [e.add("Equal", ins)], outs[0])


_ORDER = {"less": "Less", "less_equal": "LessOrEqual", "greater": "Greater",
          "greater_equal": "GreaterOrEqual"}


@_converts(*_ORDER)
def _order(e, node, ins, outs):
    if node.inputs[0].dtype.is_bool:  # ONNX orders numbers only
        ins = [e.cast(i, int32) for i in ins]
    e.add(_ORDER[node.op], ins, outs[0])


@_converts("round_float16")
def _round_float16(e, node, ins, outs):
    half = e.add("Cast", ins, to=TensorProto.FLOAT16)
    e.add("Cast", [half], outs[0], to=TensorProto.FLOAT)


@_converts("cast")
def _cast(e, node, ins, outs):
    e.add("Cast", ins, outs[0], to=_elem_type(node.attrs["dtype"]))


def _bound(value: float, dtype: DType):
    """A clip bound in the operand's dtype, as the reference converts it;
    None for an infinite float bound (the ONNX input is then omitted)."""
    if dtype.is_float:
        return None if np.isinf(value) else np.asarray(value, dtype.np)
    info = np.iinfo(dtype.np)
    if np.isnan(value):
        raise ExportError("a clip bound is NaN")
    if np.isinf(value):  # open on that side: the dtype's extreme
        return np.asarray(info.min if value < 0 else info.max, dtype.np)
    v = min(max(int(np.trunc(value)), int(info.min)), int(info.max))
    return np.asarray(v, dtype.np)


@_converts("clip")
def _clip(e, node, ins, outs):
    t = node.inputs[0].dtype
    lo, hi = _bound(node.attrs["min"], t), _bound(node.attrs["max"], t)
    args = [ins[0], "" if lo is None else e.const(lo),
            "" if hi is None else e.const(hi)]
    while args[-1] == "":
        args.pop()
    e.add("Clip", args, outs[0])


# --- indexing --------------------------------------------------------------


def _clamped_indices(e, idx: str, idx_dtype: DType, dim: int) -> str:
    """Indices clipped into [0, dim - 1], as the IR's gather/scatter do
    (ONNX would wrap negative ones instead)."""
    return e.add("Clip", [idx, e.scalar(0, idx_dtype),
                          e.scalar(max(dim - 1, 0), idx_dtype)])


@_converts("gather")
def _gather(e, node, ins, outs):
    x, idx = node.inputs
    axis = node.attrs["axis"]
    safe = _clamped_indices(e, ins[1], idx.dtype, x.shape[axis])
    e.add("Gather", [ins[0], safe], outs[0], axis=axis)


@_converts("scatter_add")
def _scatter_add(e, node, ins, outs):
    # Move `axis` to the front of x, and the index dims to the front of the
    # updates; then one ScatterND(reduction="add") over flattened indices
    # accumulates repeated indices, and a transpose moves the axis back.
    x, idx, upd = node.inputs
    axis, k, r = node.attrs["axis"], idx.rank, x.rank
    rest = tuple(d for i, d in enumerate(x.shape) if i != axis)
    perm_x = [axis] + [i for i in range(r) if i != axis]
    perm_u = (list(range(axis, axis + k)) + list(range(axis))
              + list(range(axis + k, upd.rank)))
    xt = ins[0] if axis == 0 else e.add("Transpose", [ins[0]], perm=perm_x)
    ut = ins[2]
    if perm_u != list(range(upd.rank)):
        ut = e.add("Transpose", [ut], perm=perm_u)
    safe = _clamped_indices(e, ins[1], idx.dtype, x.shape[axis])
    if idx.dtype != int64:
        safe = e.cast(safe, int64)
    static_m = all(not is_symbol(d) for d in idx.shape)
    if static_m:
        m = int(np.prod(idx.shape, dtype=np.int64))
        flat_idx = e.add("Reshape", [safe, e.ints([m, 1])])
        ushape = e.shape((m,) + rest)
    else:
        flat_idx = e.add("Reshape", [safe, e.ints([-1, 1])])
        count = e.add("Reshape", [e.add("Size", [safe]), e.ints([1])])
        ushape = e.add("Concat", [count, e.shape(rest)], axis=0) if rest \
            else count
    ut = e.add("Reshape", [ut, ushape])
    if axis == 0:
        e.add("ScatterND", [xt, flat_idx, ut], outs[0], reduction="add")
    else:
        y = e.add("ScatterND", [xt, flat_idx, ut], reduction="add")
        inv = [int(i) for i in np.argsort(perm_x)]
        e.add("Transpose", [y], outs[0], perm=inv)


@_converts("one_hot")
def _one_hot(e, node, ins, outs):
    # hot = (unsqueeze(indices, axis) == arange(depth) laid along axis); a
    # negative or too large index matches nothing: an all-off row, as the
    # reference gives (ONNX OneHot would wrap negative indices).
    a = node.attrs
    idx = node.inputs[0]
    axis, depth, dtype = a["axis"], a["depth"], a["dtype"]
    lay = [1] * (idx.rank + 1)
    lay[axis] = depth
    ar = e.const(np.arange(depth, dtype=idx.dtype.np).reshape(lay))
    hot = e.add("Equal", [e.add("Unsqueeze", [ins[0], e.ints([axis])]), ar])
    on = np.asarray(a["on_value"]).astype(dtype.np)
    off = np.asarray(a["off_value"]).astype(dtype.np)
    e.where(hot, e.const(on), e.const(off), dtype, outs[0])


# --- linear algebra and reductions -------------------------------------


def _swap_last(e, x: str, rank: int) -> str:
    perm = list(range(rank))
    perm[-1], perm[-2] = perm[-2], perm[-1]
    return e.add("Transpose", [x], perm=perm)


def _round_bf16(e, x: str) -> str:
    """x (float32) rounded to bfloat16 and back: round to nearest, ties to
    even, as ir/bf16.py's round_bf16 (onnxruntime's Cast rounds the same
    way, NaN and infinities included)."""
    return e.add("Cast", [e.add("Cast", [x], to=TensorProto.BFLOAT16)],
                 to=TensorProto.FLOAT)


@_converts("matmul")
def _matmul(e, node, ins, outs):
    a, b = ins
    # NOTE: precision="bfloat16" (the mixed_bfloat16 policy) multiplies the
    # operands rounded to bfloat16 and sums in float32. The products of two
    # bfloat16 values are exact in float32, so the ONNX model differs from
    # the compiled program only by the order of the sum.
    if node.attrs.get("precision", "float32") == "bfloat16":
        a, b = _round_bf16(e, a), _round_bf16(e, b)
    if node.attrs["transpose_a"]:
        a = _swap_last(e, a, node.inputs[0].rank)
    if node.attrs["transpose_b"]:
        b = _swap_last(e, b, node.inputs[1].rank)
    e.add("MatMul", [a, b], outs[0])


@_converts("matmul_sum")
def _matmul_sum(e, node, ins, outs):
    # sum_b a[b]^T b[b]: the batch's rows stacked, then one product
    a = e.add("Reshape", [ins[0], e.ints([-1, node.inputs[0].shape[-1]])])
    b = e.add("Reshape", [ins[1], e.ints([-1, node.inputs[1].shape[-1]])])
    e.add("MatMul", [e.add("Transpose", [a], perm=[1, 0]), b], outs[0])


_REDUCE = {"reduce_sum": "ReduceSum", "reduce_mean": "ReduceMean",
           "reduce_max": "ReduceMax", "reduce_min": "ReduceMin"}


@_converts(*_REDUCE)
def _reduce(e, node, ins, outs):
    axes, keep = node.attrs["axes"], int(node.attrs["keepdims"])
    if not axes:  # a reduction over no axes is the identity
        e.add("Identity", ins, outs[0])
        return
    op = _REDUCE[node.op]
    # NOTE: ReduceSum takes its axes as an input since opset 13, the others
    # only since 18.
    if op == "ReduceSum" or e.opset >= 18:
        e.add(op, [ins[0], e.ints(axes)], outs[0], keepdims=keep)
    else:
        e.add(op, ins, outs[0], axes=list(axes), keepdims=keep)


@_converts("argmax", "argmin")
def _arg(e, node, ins, outs):
    a = node.attrs
    op = "ArgMax" if node.op == "argmax" else "ArgMin"
    kw = {"axis": a["axis"], "keepdims": int(a["keepdims"]),
          "select_last_index": 0}
    if a["dtype"] == int64:
        e.add(op, ins, outs[0], **kw)
    else:
        e.add("Cast", [e.add(op, ins, **kw)], outs[0], to=_elem_type(a["dtype"]))


# --- shapes ---------------------------------------------------------------


@_converts("reshape")
def _reshape(e, node, ins, outs):
    shape = node.attrs["shape"]
    syms = [d for d in shape if is_symbol(d)]
    static = int(np.prod([d for d in shape if not is_symbol(d)], dtype=np.int64))
    if len(syms) == 1 and static > 0:
        # one symbol: let ONNX infer it (-1), no Shape op needed
        target = e.ints([-1 if is_symbol(d) else d for d in shape])
    else:
        target = e.shape(shape)
    e.add("Reshape", [ins[0], target], outs[0])


@_converts("slice")
def _slice(e, node, ins, outs):
    a = node.attrs
    starts, ends, axes, steps = [], [], [], []
    for ax, (d, s, z, st) in enumerate(
        zip(node.inputs[0].shape, a["starts"], a["stops"], a["steps"])
    ):
        if s == 0 and z is None and st == 1:
            continue  # the whole axis
        if z is None:
            z = _INT64_MAX if st > 0 else _INT64_MIN
        starts.append(s)
        ends.append(z)
        axes.append(ax)
        steps.append(st)
    if not axes:
        e.add("Identity", ins, outs[0])
        return
    e.add("Slice", [ins[0], e.ints(starts), e.ints(ends), e.ints(axes),
                    e.ints(steps)], outs[0])


@_converts("concat")
def _concat(e, node, ins, outs):
    e.add("Concat", ins, outs[0], axis=node.attrs["axis"])


@_converts("pad")
def _pad(e, node, ins, outs):
    pads = node.attrs["pads"]
    if not any(lo or hi for lo, hi in pads):
        e.add("Identity", ins, outs[0])
        return
    flat = [lo for lo, _ in pads] + [hi for _, hi in pads]
    value = e.scalar(node.attrs["value"], node.inputs[0].dtype)
    e.add("Pad", [ins[0], e.ints(flat), value], outs[0], mode="constant")


def _expand_shape(e: _Emitter, src: tuple, target: tuple) -> str:
    """The shape operand of an Expand from `src` to `target`. Expand
    broadcasts both ways, so a symbol the source already has in that
    position can be given as 1 and needs no run-time Shape."""
    lead = len(target) - len(src)
    dims = []
    for i, d in enumerate(target):
        j = i - lead
        if is_symbol(d) and j >= 0 and src[j] == d:
            dims.append(1)
        else:
            dims.append(d)
    return e.shape(dims)


@_converts("broadcast_to")
def _broadcast_to(e, node, ins, outs):
    shape = tuple(node.attrs["shape"])
    src = tuple(node.inputs[0].shape)
    if src == shape:
        e.add("Identity", ins, outs[0])
        return
    e.add("Expand", [ins[0], _expand_shape(e, src, shape)], outs[0])


# --- convolution, pooling, resizing (channels-last in the IR) ---------------


def _to_cf(e, x: str, rank: int) -> str:
    """(N, *spatial, C) -> (N, C, *spatial), ONNX's layout."""
    return e.add("Transpose", [x], perm=[0, rank - 1] + list(range(1, rank - 1)))


def _to_cl(e, x: str, rank: int, out: str | None = None) -> str:
    return e.add("Transpose", [x], out, perm=[0] + list(range(2, rank)) + [1])


def _filter_oihw(e, w: str, rank: int) -> str:
    """A filter (*kernel, cin // groups, cout) -> (cout, cin // groups,
    *kernel)."""
    return e.add("Transpose", [w], perm=[rank - 1, rank - 2] + list(range(rank - 2)))


def _spatial_window(e, x: str, starts, stops, first_axis: int) -> str:
    """x[start:stop] along consecutive spatial axes (None: to the end)."""
    axes, st, sp = [], [], []
    for k, (a, z) in enumerate(zip(starts, stops)):
        if a == 0 and z is None:
            continue
        axes.append(first_axis + k)
        st.append(a)
        sp.append(_INT64_MAX if z is None else z)
    if not axes:
        return x
    return e.add("Slice", [x, e.ints(st), e.ints(sp), e.ints(axes)])


def _crop_pad(e, x: str, rank: int, lows, lengths, fulls) -> str:
    """Channels-first x with spatial sizes `fulls` -> out[i] = x[i + low]
    for i < length (zeros outside x)."""
    x = _spatial_window(e, x, [max(lo, 0) for lo in lows],
                        [min(lo + n, f) if lo + n < f else None
                         for lo, n, f in zip(lows, lengths, fulls)], 2)
    before = [max(-lo, 0) for lo in lows]
    after = [max(lo + n - f, 0) for lo, n, f in zip(lows, lengths, fulls)]
    if any(before) or any(after):
        pads = [0, 0] + before + [0, 0] + after
        x = e.add("Pad", [x, e.ints(pads)], mode="constant")
    return x


def _nonneg_pads(e, x: str, pads, sizes) -> tuple:
    """Crop channels-last x where pads are negative; return (x, pads >= 0)."""
    stops = [i + hi if hi < 0 else None for (_, hi), i in zip(pads, sizes)]
    x = _spatial_window(e, x, [max(-lo, 0) for lo, _ in pads], stops, 1)
    return x, [(max(lo, 0), max(hi, 0)) for lo, hi in pads]


def _onnx_pads(pads) -> list:
    return [lo for lo, _ in pads] + [hi for _, hi in pads]


def _float32_for_f64(converter):
    """onnxruntime has no double Conv, ConvTranspose, AveragePool or
    Resize: a float64 node is computed in float32 between two Casts (as
    erf is), so it matches the interpreter to float32 precision."""

    def convert(e, node, ins, outs):
        if node.outputs[0].dtype != float64:
            return converter(e, node, ins, outs, np.dtype(node.outputs[0].dtype.np))
        ins32 = [e.cast(x, float32) if v.dtype == float64 else x
                 for x, v in zip(ins, node.inputs)]
        tmp = [e.fresh("f32") for _ in outs]
        converter(e, node, ins32, tmp, np.dtype(np.float32))
        for t, o in zip(tmp, outs):
            e.add("Cast", [t], o, to=_elem_type(float64))

    return convert


@_converts("conv")
@_float32_for_f64
def _conv(e, node, ins, outs, dt):
    a = node.attrs
    x = node.inputs[0]
    r = x.rank
    xs, pads = _nonneg_pads(e, ins[0], a["pads"], x.shape[1:-1])
    y = e.add("Conv", [_to_cf(e, xs, r), _filter_oihw(e, ins[1], r)],
              strides=list(a["strides"]), dilations=list(a["dilation"]),
              pads=_onnx_pads(pads), group=a["groups"])
    _to_cl(e, y, r, outs[0])


@_converts("conv_transpose")
@_float32_for_f64
def _conv_transpose(e, node, ins, outs, dt):
    # the full transposed conv (no padding), then out[i] = full[i + lo]
    a = node.attrs
    g, w = node.inputs
    r = g.rank
    D = r - 2
    kernel = w.shape[:D]
    full = [(o - 1) * s + (k - 1) * d + 1 for o, s, k, d in
            zip(g.shape[1:-1], a["strides"], kernel, a["dilation"])]
    y = e.add("ConvTranspose", [_to_cf(e, ins[0], r), _filter_oihw(e, ins[1], r)],
              strides=list(a["strides"]), dilations=list(a["dilation"]),
              pads=[0] * (2 * D), group=a["groups"])
    y = _crop_pad(e, y, r, [lo for lo, _ in a["pads"]], a["shape"], full)
    _to_cl(e, y, r, outs[0])


@_converts("conv_filter_grad")
@_float32_for_f64
def _conv_filter_grad(e, node, ins, outs, dt):
    # dw[k, ci, co] = sum_{n,o} x[n, o s + k d - lo, ci] g[n, o, co] is a
    # Conv with batch ci, channels n, filter g: stride d, dilation s.
    a = node.attrs
    x, g = node.inputs
    r = x.rank
    D = r - 2
    G = a["groups"]
    cig, cog = x.shape[-1] // G, g.shape[-1] // G
    xs, pads = _nonneg_pads(e, ins[0], a["pads"], x.shape[1:-1])
    first = [D + 1, 0] + list(range(1, D + 1))
    parts = []
    for k in range(G):
        xg = e.add("Slice", [xs, e.ints([k * cig]), e.ints([(k + 1) * cig]),
                             e.ints([r - 1])]) if G > 1 else xs
        gg = e.add("Slice", [ins[1], e.ints([k * cog]), e.ints([(k + 1) * cog]),
                             e.ints([r - 1])]) if G > 1 else ins[1]
        y = e.add("Conv", [e.add("Transpose", [xg], perm=first),
                           e.add("Transpose", [gg], perm=first)],
                  strides=list(a["dilation"]), dilations=list(a["strides"]),
                  pads=_onnx_pads(pads))
        # (cig, cog, >= kernel) -> the kernel's extent -> (*kernel, cig, cog)
        y = _spatial_window(e, y, [0] * D, list(a["shape"]), 2)
        parts.append(e.add("Transpose", [y], perm=list(range(2, r)) + [0, 1]))
    if len(parts) == 1:
        e.add("Identity", parts, outs[0])
    else:
        e.add("Concat", parts, outs[0], axis=r - 1)


def _pool_kw(a) -> dict:
    return {"kernel_shape": list(a["window"]), "strides": list(a["strides"]),
            "pads": _onnx_pads(a["pads"])}


@_converts("max_pool")
def _max_pool(e, node, ins, outs):
    r = node.inputs[0].rank
    y = e.add("MaxPool", [_to_cf(e, ins[0], r)], **_pool_kw(node.attrs))
    _to_cl(e, y, r, outs[0])


@_converts("avg_pool")
@_float32_for_f64
def _avg_pool(e, node, ins, outs, dt):
    r = node.inputs[0].rank
    y = e.add("AveragePool", [_to_cf(e, ins[0], r)], count_include_pad=0,
              **_pool_kw(node.attrs))
    _to_cl(e, y, r, outs[0])


@_converts("max_pool_grad")
def _max_pool_grad(e, node, ins, outs):
    # MaxPool's Indices (the first maximum of each window, flattened over
    # the channels-first input), then a scatter-add of g at them
    x = node.inputs[0]
    r = x.rank
    xt = _to_cf(e, ins[0], r)
    pooled, idx = e.fresh("pooled"), e.fresh("argmax")
    e._node_count += 1
    e.nodes.append(helper.make_node(
        "MaxPool", [xt], [pooled, idx], name=f"MaxPool_{e._node_count}",
        **_pool_kw(node.attrs)))
    flat = e.ints([-1])
    zeros = e.add("Mul", [e.add("Reshape", [xt, flat]), e.scalar(0.0, x.dtype)])
    upd = e.add("Reshape", [_to_cf(e, ins[1], r), flat])
    dx = e.add("ScatterElements", [zeros, e.add("Reshape", [idx, flat]), upd],
               axis=0, reduction="add")
    _to_cl(e, e.add("Reshape", [dx, e.add("Shape", [xt])]), r, outs[0])


@_converts("avg_pool_grad")
@_float32_for_f64
def _avg_pool_grad(e, node, ins, outs, dt):
    from ..ir.ops.conv import pool_counts

    a = node.attrs
    g = node.inputs[0]
    r = g.rank
    D = r - 2
    c = g.shape[-1]
    counts = pool_counts(a["shape"], a["window"], a["strides"], a["pads"])
    inv = (1.0 / counts).reshape((1,) + counts.shape + (1,)).astype(dt)
    gs = e.add("Mul", [ins[0], e.const(inv)])
    ones = e.const(np.ones((c, 1) + tuple(a["window"]), dt))
    y = e.add("ConvTranspose", [_to_cf(e, gs, r), ones],
              strides=list(a["strides"]), pads=[0] * (2 * D), group=c)
    full = [(o - 1) * s + k for o, s, k in
            zip(g.shape[1:-1], a["strides"], a["window"])]
    y = _crop_pad(e, y, r, [lo for lo, _ in a["pads"]], a["shape"], full)
    _to_cl(e, y, r, outs[0])


@_converts("resize")
def _resize(e, node, ins, outs):
    x = node.inputs[0]
    if node.attrs["method"] == "nearest":
        # NOTE: nearest takes source index floor((o + 0.5) * in / out)
        # (resize_taps): one Gather per spatial axis with those indices is
        # exact, where Resize would need the deprecated
        # "tf_half_pixel_for_nn" mode (onnxruntime warns on every load).
        from ..ir.ops.conv import resize_taps

        y = ins[0]
        for k, (i, o) in enumerate(zip(x.shape[1:-1], node.attrs["shape"])):
            if i == o:
                continue
            idx, _, _ = resize_taps(i, o, "nearest")
            y = e.add("Gather", [y, e.ints(idx)], axis=k + 1)
        e.add("Identity", [y], outs[0])
    else:
        _resize_linear(e, node, ins, outs)


@_float32_for_f64
def _resize_linear(e, node, ins, outs, dt):
    x = node.inputs[0]
    r = x.rank
    sizes = e.shape((x.shape[0], x.shape[-1]) + tuple(node.attrs["shape"]))
    y = e.add("Resize", [_to_cf(e, ins[0], r), "", "", sizes], mode="linear",
              coordinate_transformation_mode="half_pixel")
    _to_cl(e, y, r, outs[0])


@_converts("resize_grad")
def _resize_grad(e, node, ins, outs):
    # the adjoint, one spatial axis at a time: (..., out) @ M (out, in)
    from ..ir.ops.conv import resize_matrix

    g = node.inputs[0]
    r = g.rank
    y = ins[0]
    for k, (o, i) in enumerate(zip(g.shape[1:-1], node.attrs["shape"])):
        ax = k + 1
        perm = [p for p in range(r) if p != ax] + [ax]
        inv = list(np.argsort(perm))
        m = resize_matrix(i, o, node.attrs["method"]).astype(g.dtype.np)
        y = e.add("MatMul", [e.add("Transpose", [y], perm=perm), e.const(m)])
        y = e.add("Transpose", [y], perm=[int(p) for p in inv])
    e.add("Identity", [y], outs[0])


# --- sources ----------------------------------------------------------------


@_converts("constant")
def _constant(e, node, ins, outs):
    arr = node.attrs["value"].array
    e.add("Constant", [], outs[0],
          value=numpy_helper.from_array(np.array(arr), name=outs[0]))


@_converts("zeros", "ones")
def _fill(e, node, ins, outs):
    dtype = node.attrs["dtype"]
    fill = np.asarray([0 if node.op == "zeros" else 1]).astype(dtype.np)
    e.add("ConstantOfShape", [e.shape(node.attrs["shape"])], outs[0],
          value=numpy_helper.from_array(fill))


@_converts("iota")
def _iota(e, node, ins, outs):
    a = node.attrs
    shape, axis, dtype = tuple(a["shape"]), a["axis"], a["dtype"]
    n = shape[axis]
    if is_symbol(n):
        limit = e.cast(e.add("Squeeze", [e.dim(n), e.ints([0])]), dtype)
    else:
        limit = e.scalar(n, dtype)
    r = e.add("Range", [e.scalar(0, dtype), limit, e.scalar(1, dtype)])
    lay = tuple(n if i == axis else 1 for i in range(len(shape)))
    if len(shape) > 1:
        r = e.add("Reshape", [r, e.shape(lay)])
    if lay == shape:
        e.add("Identity", [r], outs[0])
    else:
        e.add("Expand", [r, _expand_shape(e, lay, shape)], outs[0])


@_converts("dim_size")
def _dim_size(e, node, ins, outs):
    x = node.inputs[0]
    axis, dtype = node.attrs["axis"], node.attrs["dtype"]
    d = x.shape[axis]
    if not is_symbol(d):
        e.add("Identity", [e.scalar(d, dtype)], outs[0])
        return
    n = e.add("Shape", ins, start=axis, end=axis + 1)
    n = e.add("Squeeze", [n, e.ints([0])])
    e.add("Cast", [n], outs[0], to=_elem_type(dtype))



@_converts("scan")
def _scan(e, node, ins, outs):
    # ONNX Scan: state variables, then the scanned inputs; the body graph
    # reads the constants from the outer scope. Reversed scans read and
    # write their sequences backwards (ys keep the index of their slice,
    # as the IR's scan does). Scan needs one scanned input: a scan without
    # sequences scans a dummy (length,) tensor.
    a = node.attrs
    body, nc, nx = a["body"], a["num_carry"], a["num_xs"]
    if a["length"] == 0:  # onnxruntime's Scan cannot slice a 0-length axis
        for i in range(nc):
            e.add("Identity", [ins[i]], outs[i])
        for o, name in zip(node.outputs[nc:], outs[nc:]):
            fill = np.zeros(1, o.dtype.np)
            e.add("ConstantOfShape", [e.shape(o.shape)], name,
                  value=numpy_helper.from_array(fill))
        return
    inner = _Emitter(e.opset, sym_src=e.sym_src, used=e.used,
                     loc=f"{e.loc or 'scan'}/body")
    env, graph_inputs = {}, []
    for k, p in enumerate(body.params):
        if k < nc + nx:
            name = inner.fresh(f"{p.name}_in")
            env[p.name] = name
            graph_inputs.append(_value_info(name, p.type, {}))
        else:
            env[p.name] = ins[k]  # an outer-scope constant
    scanned = list(ins[nc:nc + nx])
    if not nx:
        name = inner.fresh("step_in")
        graph_inputs.append(_value_info(name, TensorType((), float32), {}))
        scanned = [e.const(np.zeros(a["length"], np.float32))]
    body_outs = [inner.fresh(f"{r.name}_out") for r in body.results]
    _emit_body(inner, body, env, body_outs)
    graph = helper.make_graph(
        inner.nodes, f"{body.name}_scan", graph_inputs,
        [_value_info(n, r.type, {}) for n, r in zip(body_outs, body.results)])
    direction = 1 if a["reverse"] else 0
    ny = len(body.results) - nc
    extra = {"scan_output_directions": [direction] * ny} if ny else {}
    e._node_count += 1
    e.nodes.append(helper.make_node(
        "Scan", list(ins[:nc]) + scanned, list(outs),
        name=f"{e.loc + '/' if e.loc else ''}Scan_{e._node_count}",
        body=graph, num_scan_inputs=len(scanned),
        scan_input_directions=[direction] * len(scanned), **extra))


# --- the driver ---------------------------------------------------------------


def _where(node: Node) -> str:
    outs = ", ".join(f"%{o.name}" for o in node.outputs)
    loc = f' in layer "{node.loc}"' if node.loc else ""
    return f'op "{node.op}" (node {outs} = {node.op}){loc}'


def _inline_body(node: Node):
    """The body Function of a meta op (e.g. a fused kernel) whose operands
    and results map one to one onto the body's params and results, or
    None."""
    if get_op(node.op).kind != "meta":
        return None
    bodies = [v for v in node.attrs.values() if isinstance(v, Function)]
    if len(bodies) != 1:
        return None
    body = bodies[0]
    if len(body.params) != len(node.inputs) or len(body.results) != len(
        node.outputs
    ):
        return None
    return body


def _emit_nodes(e: _Emitter, fn: Function, env: dict, out_names: dict) -> None:
    """Emit fn's live nodes. `env` maps IR value names to ONNX names (the
    params on entry); `out_names` gives the ONNX names some values must get
    (graph outputs)."""
    for node in live_nodes(fn.nodes, fn.results):
        ins = [env[v.name] for v in node.inputs]
        outs = [out_names.get(o.name) or e.fresh(o.name) for o in node.outputs]
        old_loc, e.loc = e.loc, node.loc or e.loc
        try:
            if node.op in _UNEXPORTABLE:
                raise ExportError(
                    f"Cannot export {_where(node)} to ONNX: "
                    f"{_UNEXPORTABLE[node.op]}."
                )
            conv = _CONVERTERS.get(node.op)
            if conv is not None:
                conv(e, node, ins, outs)
            elif (body := _inline_body(node)) is not None:
                inner = {p.name: i for p, i in zip(body.params, ins)}
                _emit_body(e, body, inner, outs)
            elif get_op(node.op).kind != "meta" and get_op(node.op).onnx:
                _direct(e, node, ins, outs)
            else:
                raise ExportError(
                    f"Cannot export {_where(node)} to ONNX: no ONNX mapping is "
                    f"defined for this op yet (graphkeras/export/onnx.py)."
                )
        except ExportError as err:
            if "Cannot export" in str(err):
                raise
            raise ExportError(f"Cannot export {_where(node)} to ONNX: {err}") \
                from None
        finally:
            e.loc = old_loc
        for o, name in zip(node.outputs, outs):
            env[o.name] = name


def _emit_body(e: _Emitter, body: Function, env: dict, outs: list) -> None:
    """Emit a Function's nodes so that its results get the ONNX names
    `outs` (in order); `env` maps its params to ONNX names."""
    # A result produced by a node takes its name directly; a result that is
    # a param, or is returned twice, goes through an Identity.
    direct: dict[str, str] = {}
    for r, name in zip(body.results, outs):
        if r.name not in env and r.name not in direct:
            direct[r.name] = name
    _emit_nodes(e, body, env, direct)
    for r, name in zip(body.results, outs):
        if env[r.name] != name:
            e.add("Identity", [env[r.name]], name)


def _check_names(kind: str, names, count: int) -> list:
    names = list(names)
    if len(names) != count:
        raise ExportError(
            f"{kind} must give {count} name(s), received {len(names)}: {names}."
        )
    for n in names:
        if not isinstance(n, str) or not n:
            raise ExportError(f"{kind} must be non-empty strings, received {n!r}.")
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise ExportError(f"{kind} repeat the name(s) {dup}.")
    return names


def _initializer(p, value) -> np.ndarray:
    t: TensorType = p.type
    if not t.is_static:
        raise ExportError(
            f'Initializer "{p.name}": parameter %{p.name} has the symbolic '
            f"shape {t}; only parameters with a static shape can be weights."
        )
    arr = np.asarray(value)
    if arr.shape != tuple(t.shape):
        raise ExportError(
            f'Initializer "{p.name}" must have shape {tuple(t.shape)} (its '
            f"parameter is {t}), received shape {arr.shape}."
        )
    if arr.dtype != t.dtype.np:
        if not np.can_cast(arr.dtype, t.dtype.np, casting="same_kind"):
            raise ExportError(
                f'Initializer "{p.name}" must have dtype {t.dtype.long_name}, '
                f"received {arr.dtype}."
            )
        arr = arr.astype(t.dtype.np)
    return np.ascontiguousarray(arr)


def _value_info(name: str, t: TensorType, dim_params: Mapping):
    dims = [dim_params.get(d, d) if is_symbol(d) else d for d in t.shape]
    return helper.make_tensor_value_info(name, _elem_type(t.dtype), dims)


def export_function(fn: Function, **kwargs) -> onnx.ModelProto:
    """Convert `fn` to an ONNX model (see `_export` for the arguments).

    Weights of 2 GiB or more do not fit in one protobuf: such a model can
    only be saved (save_function), which keeps them in a side file."""
    return _export(fn, **kwargs)[0]


def _export(
    fn: Function,
    *,
    initializers: Mapping[str, np.ndarray] | None = None,
    input_names: Sequence[str] | None = None,
    output_names: Sequence[str] | None = None,
    opset: int | None = None,
    dim_params: Mapping[str, str] | None = None,
    doc_string: str = "",
    external: str | None = None,
) -> tuple:
    """Convert `fn` to an ONNX model; return (model, blobs).

    Args:
        fn: the Function to export (it should verify).
        initializers: values of parameters that are weights, by parameter
            name; they become ONNX initializers of that name. The other
            parameters become graph inputs.
        input_names: names of the graph inputs (the non-initializer
            parameters, in order); default: the parameter names.
        output_names: names of the graph outputs; default: `output_0`, ...
        opset: the ONNX opset, MIN_OPSET to MAX_OPSET; default DEFAULT_OPSET.
        dim_params: the ONNX names of symbolic dimensions; default
            `{"N": "batch"}` (other symbols keep their names).
        doc_string: stored as the graph's doc string.
        external: where weights too large for one protobuf go (a file name
            relative to the model's); None: such weights are an error.

    Returns:
        An `onnx.ModelProto` that passes `onnx.checker.check_model(...,
        full_check=True)`, and None or, when the weights went to
        `external`, the (offset, array) pairs that file must hold.

    Raises:
        ExportError: an op ONNX cannot express (naming the op and layer),
            or bad arguments.
    """
    if onnx is None:  # pragma: no cover
        raise ImportError("ONNX export needs the onnx package: pip install onnx")
    opset = DEFAULT_OPSET if opset is None else opset
    if isinstance(opset, bool) or not isinstance(opset, int) or not (
        MIN_OPSET <= opset <= MAX_OPSET
    ):
        raise ExportError(
            f"opset must be an integer from {MIN_OPSET} to {MAX_OPSET}, "
            f"received {opset!r}."
        )
    if opset > onnx.defs.onnx_opset_version():
        raise ExportError(
            f"opset {opset} needs a newer onnx package: the installed onnx "
            f"{onnx.__version__} knows opsets up to "
            f"{onnx.defs.onnx_opset_version()}. Upgrade it (pip install -U "
            f"onnx) or ask for an older opset."
        )
    dim_params = {"N": "batch", **dict(dim_params or {})}
    initializers = dict(initializers or {})
    pnames = [p.name for p in fn.params]
    unknown = sorted(set(initializers) - set(pnames))
    if unknown:
        raise ExportError(
            f"initializers name(s) {unknown} that are not parameters of "
            f"@{fn.name} (its parameters: {pnames})."
        )
    graph_inputs = [p for p in fn.params if p.name not in initializers]
    in_names = _check_names(
        "input_names",
        [p.name for p in graph_inputs] if input_names is None else input_names,
        len(graph_inputs),
    )
    out_names = _check_names(
        "output_names",
        [f"output_{i}" for i in range(len(fn.results))]
        if output_names is None else output_names,
        len(fn.results),
    )
    clash = sorted((set(in_names) | set(initializers)) & set(out_names))
    if clash:
        raise ExportError(
            f"output_names {clash} are also input or initializer names; ONNX "
            f"needs distinct names."
        )
    clash = sorted(set(in_names) & set(initializers))
    if clash:
        raise ExportError(
            f"input_names {clash} are also initializer names; ONNX needs "
            f"distinct names."
        )

    e = _Emitter(opset)
    env: dict[str, str] = {}
    inputs_vi, inits = [], []
    for p, name in zip(graph_inputs, in_names):
        env[p.name] = e.reserve(name)
        inputs_vi.append(_value_info(name, p.type, dim_params))
        for axis, d in enumerate(p.type.shape):
            if is_symbol(d):
                e.sym_src.setdefault(d, (name, axis))
    weights = []
    for p in fn.params:
        if p.name in initializers:
            env[p.name] = e.reserve(p.name)
            weights.append((p.name, _initializer(p, initializers[p.name])))
    inits, blobs = _initializer_protos(weights, external)
    for n in out_names:
        e.reserve(n)

    _emit_body(e, fn, env, out_names)

    graph = helper.make_graph(
        e.nodes, fn.name, inputs_vi,
        [_value_info(n, r.type, dim_params) for r, n in zip(fn.results, out_names)],
        initializer=inits, doc_string=doc_string or None,
    )
    opsets = [helper.make_opsetid("", opset)]
    model = helper.make_model(graph, opset_imports=opsets,
                              producer_name="graphkeras",
                              producer_version=_version())
    model.ir_version = helper.find_min_ir_version_for(opsets)
    try:
        onnx.checker.check_model(
            model if blobs is None else _skeleton(model), full_check=True)
    except (onnx.checker.ValidationError, onnx.shape_inference.InferenceError) \
            as err:
        raise InternalCompilerError(
            f"the ONNX model exported from @{fn.name} fails onnx.checker: "
            f"{str(err).strip().splitlines()[0]}"
        ) from err
    return model, blobs


def _version() -> str:
    return __version__


# NOTE: protobuf cannot hold a message of 2 GiB or more, so a model whose
# weights come near that keeps them in a side file (ONNX "external data"),
# which onnxruntime and onnx.load read from beside the model. Nodes and
# Constants are small; the margin covers them.
_EXTERNAL_DATA_BYTES = 2**31 - 2**27


def _initializer_protos(weights: list, external: str | None) -> tuple:
    """(TensorProtos of the (name, array) weights, None), or with their
    bytes left out, in `external` at 64-byte aligned offsets, (protos,
    [(offset, array)]) when they are too large for one protobuf."""
    total = sum(arr.nbytes for _, arr in weights)
    if total <= _EXTERNAL_DATA_BYTES:
        return [numpy_helper.from_array(a, name=n) for n, a in weights], None
    if external is None:
        raise ExportError(
            f"The weights take {total / 1e9:.2f} GB, and one ONNX protobuf "
            "holds less than 2 GiB. Save the model to a file instead "
            "(model.export or save_function), which writes the weights to "
            "'<file>.data' beside it."
        )
    protos, blobs, offset = [], [], 0
    for name, arr in weights:
        offset += -offset % 64
        t = TensorProto(name=name, dims=arr.shape,
                        data_type=helper.np_dtype_to_tensor_dtype(arr.dtype),
                        data_location=TensorProto.EXTERNAL)
        for key, value in (("location", external), ("offset", str(offset)),
                           ("length", str(arr.nbytes))):
            entry = t.external_data.add()
            entry.key, entry.value = key, value
        protos.append(t)
        blobs.append((offset, arr))
        offset += arr.nbytes
    return protos, blobs


def _skeleton(model):
    """A copy of `model` whose initializers (held in a side file) are
    graph inputs of the same name and type instead: it checks every node
    and shape just the same, without reading the weights."""
    g = model.graph
    skeleton = helper.make_graph(
        list(g.node), g.name,
        list(g.input) + [helper.make_tensor_value_info(
            t.name, t.data_type, list(t.dims)) for t in g.initializer],
        list(g.output))
    out = helper.make_model(skeleton, opset_imports=list(model.opset_import))
    out.ir_version = model.ir_version
    return out


def _write_blobs(f, blobs) -> None:
    pos = 0
    for offset, arr in blobs:
        f.write(b"\0" * (offset - pos))
        # ONNX stores tensors little-endian
        data = arr.astype(arr.dtype.newbyteorder("<"), copy=False)
        f.write(memoryview(np.ascontiguousarray(data)).cast("B"))
        pos = offset + arr.nbytes


def save_model_proto(model: onnx.ModelProto, path, blobs=None) -> None:
    """Write `model` to `path` atomically (a temporary file in the same
    directory, then os.replace), so a reader never sees half a file.

    With `blobs` (weights too large for one protobuf, see _export), the
    side file `<path>.data` is written first, the same way; if the model
    file then fails, a side file that did not exist before is removed."""
    if os.path.isdir(path):
        raise IsADirectoryError(
            f"Cannot write the ONNX model to {os.fspath(path)}: it is a "
            f"directory. Give a file path, e.g. "
            f"{os.path.join(os.fspath(path), 'model.onnx')}."
        )
    try:
        _save(model, path, blobs)
    except PermissionError as err:  # it names our temporary file
        raise PermissionError(
            err.errno, f"Cannot write the ONNX model to {os.fspath(path)}: "
            f"permission denied in {os.path.dirname(os.path.abspath(path))}"
        ) from None


def _save(model, path, blobs) -> None:
    if blobs is None:
        atomic_write_bytes(path, model.SerializeToString())
        return
    data_path = _data_path(path)
    existed = os.path.exists(data_path)

    def write(tmp):
        with open(tmp, "wb") as f:
            _write_blobs(f, blobs)

    atomic_write(data_path, write)
    try:
        atomic_write_bytes(path, model.SerializeToString())
    except BaseException:
        if not existed:  # leave nothing behind for a model never written
            os.unlink(data_path)
        raise


def _data_path(path) -> str:
    return os.fspath(path) + ".data"


def save_function(fn: Function, path, **kwargs) -> onnx.ModelProto:
    """`export_function(fn, **kwargs)`, written atomically to `path`
    (weights of 2 GiB or more to `<path>.data` beside it). Returns the
    model."""
    if os.path.isdir(path):
        save_model_proto(None, path)  # the directory error
    model, blobs = _export(
        fn, external=os.path.basename(_data_path(path)), **kwargs)
    save_model_proto(model, path, blobs)
    return model


# --- the seam for the Keras frontend ----------------------------------------


@dataclass(frozen=True)
class ExportSpec:
    """What a Keras model hands the exporter: its inference Function (built
    with training=False, so training-only layers are identities), its
    weights by parameter name, and the input and output names."""

    fn: Function
    initializers: Mapping[str, np.ndarray]
    input_names: Sequence[str] | None = None
    output_names: Sequence[str] | None = None


def export_model(model, path, opset: int | None = None) -> onnx.ModelProto:
    """Write `model`'s inference program as ONNX to `path`.

    This is what `model.export(path, format="onnx")` calls. The model
    provides an `_onnx_export_spec()` method returning an ExportSpec (the
    frontend implements it); nothing here knows about layers.
    """
    make_spec = getattr(model, "_onnx_export_spec", None)
    if make_spec is None:
        raise ExportError(
            f"Cannot export a {type(model).__name__} to ONNX: it does not "
            f"provide an inference program (no _onnx_export_spec method)."
        )
    spec: ExportSpec = make_spec()
    return save_function(
        spec.fn, path, initializers=spec.initializers,
        input_names=spec.input_names, output_names=spec.output_names,
        opset=opset,
    )
