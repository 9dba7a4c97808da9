"""Kernel templates: the per-kernel context, index objects, the pointwise
expression generator (elementwise bodies fused with broadcasting and index
maps), and the loop templates for reductions, argmax/argmin, softmax and
scatter_add.

Invariants:
- A kernel reads and writes only the buffers named in its context; every
  index it forms is in bounds for in-bounds loop variables (gather,
  scatter_add, pad and concat clamp before they load).
- `Pointwise.at(v, idx)` returns v's element at `idx` where v's shape
  broadcasts (right-aligned, NumPy rules) to idx's space. Ops that only
  broadcast pass `idx` through unchanged; ops that move data build a new
  `MultiIndex` in their operand's space.
- Within one kernel all loads happen before the stores of the same
  iteration, so an output may share its buffer with an input read at the
  same position (in-place), never elsewhere.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable

import numpy as np
from llvmlite import ir

from ..ir import Value, get_op
from ..ir.dtypes import DType, float64, int64
from ..ir.ops import random as rnd
from ..ir.registry import has_op
from ..ir.types import is_symbol
from . import mathlib
from .lowering import Lowering, kernel_of, register_lowering, split_by_thread
from .loops import for_range, loop_nest
from .scalar import (
    F64,
    I1,
    I8,
    I32,
    I64,
    LLVMScalar,
    alloca,
    llvm_const,
    mem_type,
    reg_type,
)


def _i64(v: int) -> ir.Constant:
    return ir.Constant(I64, int(v))


class KernelCtx:
    """What one kernel function sees: its builder, buffers by value name,
    symbol values, and the module-level constant globals."""

    def __init__(self, fn: ir.Function, buffers: dict, syms: dict, consts):
        self.fn = fn
        self.entry = fn.append_basic_block("entry")
        self.b = ir.IRBuilder(self.entry)
        self.sb = LLVMScalar(self.b)
        self.buffers = buffers  # value name -> (pointer, DType)
        self.syms = syms  # symbol -> i64 value
        self.consts = consts  # callable(ConstArray) -> global pointer
        # work split: None runs everything; (tid, nthreads) takes thread
        # tid's share of the outermost loop; ("range", lo, hi) a given one
        self.threads = None
        # what a kind decided from sizes that are now runtime extents
        # (codegen/extents.py: Extents.note), "" when sizes are static
        self.note = ""

    def thread_range(self, n):
        """[lo, hi) of an outermost loop of n iterations for this thread."""
        th = self.threads
        if th is None:
            return _i64(0), n
        if th[0] == "range":
            return th[1], th[2]
        tid, nth = th
        b = self.b
        lo = b.sdiv(b.mul(n, tid), nth)
        hi = b.sdiv(b.mul(n, b.add(tid, _i64(1))), nth)
        return lo, hi

    def only_first_thread(self):
        """Context: code that one thread runs (thread 0) when split."""
        th = self.threads
        if th is None:
            return contextlib.nullcontext()
        if th[0] == "range":  # the one thread given a non-empty range
            return self.b.if_then(self.b.icmp_signed("<", th[1], th[2]))
        return self.b.if_then(self.b.icmp_signed("==", th[0], _i64(0)))

    def dim(self, d) -> ir.Value:
        return self.syms[d] if is_symbol(d) else _i64(d)

    def numel(self, shape) -> ir.Value:
        n = _i64(1)
        for d in shape:
            n = _i64(n.constant * d) if (isinstance(n, ir.Constant) and not
                                         is_symbol(d)) else self.b.mul(
                n, self.dim(d), flags=("nsw",))
        return n

    def mul(self, a, b):
        if isinstance(a, ir.Constant) and isinstance(b, ir.Constant):
            return _i64(a.constant * b.constant)
        if isinstance(a, ir.Constant) and a.constant == 1:
            return b
        if isinstance(b, ir.Constant) and b.constant == 1:
            return a
        return self.b.mul(a, b, flags=("nsw",))

    def add(self, a, b):
        if isinstance(a, ir.Constant) and isinstance(b, ir.Constant):
            return _i64(a.constant + b.constant)
        if isinstance(a, ir.Constant) and a.constant == 0:
            return b
        if isinstance(b, ir.Constant) and b.constant == 0:
            return a
        return self.b.add(a, b, flags=("nsw",))

    def alloca(self, t: ir.Type):
        with self.b.goto_entry_block():
            self.b.position_at_start(self.entry)
            return alloca(self.b, t)

    def ptr(self, name: str):
        return self.buffers[name]

    def addr(self, name: str, offset):
        p, dt = self.buffers[name]
        return self.b.gep(p, [offset], source_etype=mem_type(dt), inbounds=True)

    def load(self, name: str, offset):
        _, dt = self.buffers[name]
        v = self.b.load(self.addr(name, offset), typ=mem_type(dt))
        if dt.is_bool:
            v = self.b.icmp_unsigned("!=", v, ir.Constant(I8, 0))
        return v

    def store(self, name: str, offset, v) -> None:
        _, dt = self.buffers[name]
        if dt.is_bool:
            v = self.b.zext(v, I8)
        self.b.store(v, self.addr(name, offset))

    def same_buffer(self, a: str, b: str) -> bool:
        return self.buffers[a][0] is self.buffers[b][0]


# --- index objects -------------------------------------------------------------


class MultiIndex:
    """A position given by one coordinate per dimension of `space`."""

    def __init__(self, ctx: KernelCtx, coords, space: tuple, pinned=None):
        self.ctx = ctx
        self.cs = list(coords)
        self.space = tuple(space)
        self._off: dict = {}
        # {concat output name: (operand k, coordinate in it)}: at this
        # index that concat reads operand k only (emit_pointwise's split
        # innermost loop)
        self.pinned = pinned or {}

    def coords(self) -> list:
        return self.cs

    def offset(self, shape: tuple):
        shape = tuple(shape)
        if shape not in self._off:
            ctx, R, r = self.ctx, len(self.space), len(shape)
            off, stride = _i64(0), _i64(1)
            for k in range(r - 1, -1, -1):
                d = shape[k]
                if d != 1:
                    off = ctx.add(off, ctx.mul(self.cs[k + R - r], stride))
                    stride = ctx.mul(stride, ctx.dim(d))
            self._off[shape] = off
        return self._off[shape]


class GroupIndex:
    """A position in a space whose dimensions were merged into groups (only
    for kernels whose every access is a broadcast of the space)."""

    def __init__(self, ctx: KernelCtx, groups: list, vars_: list, space: tuple):
        self.ctx = ctx
        self.groups = groups  # lists of dimension positions in `space`
        self.vars = vars_
        self.space = tuple(space)
        self._off: dict = {}

    def coords(self) -> list:
        raise NotImplementedError("a collapsed index has no coordinates")

    def offset(self, shape: tuple):
        shape = tuple(shape)
        if shape not in self._off:
            ctx, R, r = self.ctx, len(self.space), len(shape)
            off, stride = _i64(0), _i64(1)
            for g, var in zip(reversed(self.groups), reversed(self.vars)):
                present = any(k - (R - r) >= 0 and shape[k - (R - r)] != 1
                              for k in g)
                size = _i64(1)
                for k in g:
                    j = k - (R - r)
                    if j >= 0:
                        size = ctx.mul(size, ctx.dim(shape[j]))
                if present:
                    off = ctx.add(off, ctx.mul(var, stride))
                stride = ctx.mul(stride, size)
            # dims of the value where the space has size 1 are 1 as well
            self._off[shape] = off
        return self._off[shape]


@contextlib.contextmanager
def split_nest(ctx: KernelCtx, extents, name: str = "d"):
    """loop_nest over extents whose outermost loop covers only this
    thread's range (ctx.thread_range); an empty nest runs on one thread."""
    if not extents:
        with ctx.only_first_thread():
            yield []
        return
    lo, hi = ctx.thread_range(extents[0])
    with for_range(ctx.b, hi, start=lo, name=f"{name}0") as i0, \
            loop_nest(ctx.b, extents[1:], name=f"{name}i") as rest:
        yield [i0, *rest]


def coords_for(v: Value, idx) -> list:
    """v's own coordinates at idx (v broadcasts to idx's space)."""
    cs = idx.coords()
    R, r = len(idx.space), v.rank
    return [cs[k + R - r] if v.shape[k] != 1 else _i64(0) for k in range(r)]


# --- pointwise expressions -------------------------------------------------------

PointwiseRule = Callable[["Pointwise", object, object], ir.Value]
POINTWISE: dict[str, PointwiseRule] = {}
# ops whose rule passes the index through unchanged (collapsible kernels)
BROADCAST_LINEAR: set[str] = set()


def pointwise(*names, linear: bool = False):
    def deco(fn):
        for n in names:
            POINTWISE[n] = fn
            if linear:
                BROADCAST_LINEAR.add(n)
        return fn

    return deco


class Pointwise:
    """Evaluates values of a body at index objects, memoised per index."""

    def __init__(self, ctx: KernelCtx, nodes):
        self.ctx = ctx
        self.producer = {}
        for n in nodes:
            for o in n.outputs:
                self.producer[o.name] = n
        self.memo: dict = {}
        self._keep: list = []

    def at(self, v: Value, idx):
        key = (v.name, id(idx))
        hit = self.memo.get(key)
        if hit is not None:
            return hit
        node = self.producer.get(v.name)
        if node is None:
            r = self.ctx.load(v.name, idx.offset(v.shape))
        else:
            rule = pointwise_rule(node.op)
            if rule is None:
                raise KeyError(f'op "{node.op}" has no pointwise lowering')
            if rule is _elementwise:
                return self._chain(v, node, idx)
            r = rule(self, node, idx)
        self.memo[key] = r
        self._keep.append(idx)  # ids stay unique while memo entries live
        return r

    def _chain(self, v: Value, node, idx):
        """v, an elementwise op's value, with the elementwise ops it reads
        at the same index evaluated by a loop, not by recursion (a fused
        chain thousands of ops long exceeded Python's recursion limit).
        The values are evaluated in the order the recursion took: operands
        left to right, depth first, each before its consumer."""
        stack = [(v, node, iter(node.inputs))]
        while stack:
            val, n, operands = stack[-1]
            x = next(operands, None)
            if x is None:
                stack.pop()
                r = _elementwise(self, n, idx)  # (its operands: memo hits)
                self.memo[(val.name, id(idx))] = r
                self._keep.append(idx)
                continue
            if (x.name, id(idx)) in self.memo:
                continue
            p = self.producer.get(x.name)
            if p is not None and pointwise_rule(p.op) is _elementwise:
                stack.append((x, p, iter(p.inputs)))
            else:  # a load, or an op whose rule moves the index
                self.at(x, idx)
        return self.memo[(v.name, id(idx))]


def _elementwise(pw, node, idx):
    """Any elementwise op: its operands at the same index, then its body."""
    args = [pw.at(x, idx) for x in node.inputs]
    return get_op(node.op).emit(pw.ctx.sb, *args, **dict(node.attrs))


def pointwise_rule(op: str):
    """The pointwise lowering of op (every elementwise op has one through
    its `emit` body, also ops registered after this module was imported)."""
    rule = POINTWISE.get(op)
    if rule is None and has_op(op) and get_op(op).kind == "elementwise":
        return _elementwise
    return rule


def _broadcast_linear(op: str) -> bool:
    return op in BROADCAST_LINEAR or get_op(op).kind == "elementwise"


@pointwise("broadcast_to", linear=True)
def _broadcast_to(pw, node, idx):
    return pw.at(node.inputs[0], idx)


@pointwise("constant", linear=True)
def _constant(pw, node, idx):
    c = node.attrs["value"]
    dt = c.dtype
    if c.shape == () or c.array.size == 1 and all(d == 1 for d in c.shape):
        return llvm_const(c.array.reshape(()), dt)
    ptr = pw.ctx.consts(c)
    off = idx.offset(c.shape)
    v = pw.ctx.b.load(pw.ctx.b.gep(ptr, [off], source_etype=mem_type(dt)),
                      typ=mem_type(dt))
    if dt.is_bool:
        v = pw.ctx.b.icmp_unsigned("!=", v, ir.Constant(I8, 0))
    return v


@pointwise("zeros", "ones", linear=True)
def _fill(pw, node, idx):
    return llvm_const(0 if node.op == "zeros" else 1, node.attrs["dtype"])


@pointwise("dim_size", linear=True)
def _dim_size(pw, node, idx):
    d = node.inputs[0].shape[node.attrs["axis"]]
    dt = node.attrs["dtype"]
    if not is_symbol(d):
        return llvm_const(d, dt)
    return pw.ctx.sb.cast(pw.ctx.syms[d], dt)


@pointwise("iota")
def _iota(pw, node, idx):
    c = coords_for(node.outputs[0], idx)[node.attrs["axis"]]
    return pw.ctx.sb.cast(c, node.attrs["dtype"])


@pointwise("transpose")
def _transpose(pw, node, idx):
    x = node.inputs[0]
    oc = coords_for(node.outputs[0], idx)
    ic = [None] * x.rank
    for k, p in enumerate(node.attrs["perm"]):
        ic[p] = oc[k]
    return pw.at(x, MultiIndex(pw.ctx, ic, x.shape))


@pointwise("slice")
def _slice(pw, node, idx):
    x = node.inputs[0]
    ctx = pw.ctx
    oc = coords_for(node.outputs[0], idx)
    ic = []
    for c, s, st in zip(oc, node.attrs["starts"], node.attrs["steps"]):
        # (a start may be a runtime extent: codegen/extents.py)
        ic.append(ctx.add(ctx.dim(s), ctx.mul(c, _i64(st)))
                  if (s, st) != (0, 1) else c)
    return pw.at(x, MultiIndex(ctx, ic, x.shape))


def _clamp_index(b, j, n: ir.Value):
    """j clamped into [0, n-1] (0 when n == 0; callers never load then)."""
    zero = _i64(0)
    hi = b.sub(n, _i64(1))
    j = b.select(b.icmp_signed("<", j, zero), zero, j)
    j = b.select(b.icmp_signed(">", j, hi), hi, j)
    return b.select(b.icmp_signed("<", j, zero), zero, j)


@pointwise("pad")
def _pad(pw, node, idx):
    x = node.inputs[0]
    ctx, b = pw.ctx, pw.ctx.b
    fill = llvm_const(node.attrs["value"], x.dtype)
    if any(d == 0 for d in x.shape):
        return fill
    oc = coords_for(node.outputs[0], idx)
    ic, ok = [], None
    for c, d, (lo, hi) in zip(oc, x.shape, node.attrs["pads"]):
        if lo == 0 and hi == 0:
            ic.append(c)
            continue
        j = b.sub(c, _i64(lo)) if lo else c
        inside = b.icmp_unsigned("<", j, ctx.dim(d))
        ic.append(b.select(inside, j, _i64(0)))
        ok = inside if ok is None else b.and_(ok, inside)
    v = pw.at(x, MultiIndex(ctx, ic, x.shape))
    return v if ok is None else b.select(ok, v, fill)


@pointwise("concat")
def _concat(pw, node, idx):
    ctx, b = pw.ctx, pw.ctx.b
    axis = node.attrs["axis"]
    oc = coords_for(node.outputs[0], idx)
    pin = getattr(idx, "pinned", {}).get(node.outputs[0].name)
    if pin is not None:  # this stretch of the loop reads one operand
        k, j = pin
        ic = list(oc)
        ic[axis] = j
        x = node.inputs[k]
        return pw.at(x, MultiIndex(ctx, ic, x.shape))
    # offsets as i64 values: the pieces' sizes may be runtime extents
    pieces, off = [], _i64(0)
    for x in node.inputs:
        n = x.shape[axis]
        if n != 0:
            pieces.append((x, off, ctx.dim(n)))
        off = ctx.add(off, ctx.dim(n))
    result = None
    for x, start, n in reversed(pieces):
        at_zero = isinstance(start, ir.Constant) and start.constant == 0
        j = oc[axis] if at_zero else b.sub(oc[axis], start)
        j = _clamp_index(b, j, n)
        ic = list(oc)
        ic[axis] = j
        v = pw.at(x, MultiIndex(ctx, ic, x.shape))
        if result is None:
            result = v
        else:
            result = b.select(b.icmp_signed("<", oc[axis], ctx.add(start, n)),
                              v, result)
    return result


@pointwise("reshape")
def _reshape(pw, node, idx):
    ctx, b = pw.ctx, pw.ctx.b
    x, out = node.inputs[0], node.outputs[0]
    oc = coords_for(out, idx)
    lin = MultiIndex(ctx, oc, out.shape).offset(out.shape)
    ic = []
    stride = _i64(1)
    strides = []
    for d in reversed(x.shape):
        strides.append(stride)
        stride = ctx.mul(stride, ctx.dim(d))
    strides.reverse()
    for d, s in zip(x.shape, strides):
        q = b.udiv(lin, s) if not (isinstance(s, ir.Constant) and s.constant == 1) else lin
        ic.append(b.urem(q, ctx.dim(d)) if d != 1 else _i64(0))
    return pw.at(x, MultiIndex(ctx, ic, x.shape))


def _as_i64(b, v, dt: DType):
    return b.sext(v, I64) if dt.bits < 64 else v


@pointwise("gather")
def _gather(pw, node, idx):
    ctx, b = pw.ctx, pw.ctx.b
    x, ind = node.inputs
    axis = node.attrs["axis"]
    oc = coords_for(node.outputs[0], idx)
    k = ind.rank
    j = pw.at(ind, MultiIndex(ctx, oc[axis:axis + k], ind.shape))
    j = _clamp_index(b, _as_i64(b, j, ind.dtype), ctx.dim(x.shape[axis]))
    ic = oc[:axis] + [j] + oc[axis + k:]
    return pw.at(x, MultiIndex(ctx, ic, x.shape))


@pointwise("one_hot")
def _one_hot(pw, node, idx):
    ctx, b = pw.ctx, pw.ctx.b
    ind = node.inputs[0]
    a = node.attrs
    oc = coords_for(node.outputs[0], idx)
    ic = oc[:a["axis"]] + oc[a["axis"] + 1:]
    j = _as_i64(b, pw.at(ind, MultiIndex(ctx, ic, ind.shape)), ind.dtype)
    hot = b.icmp_signed("==", j, oc[a["axis"]])
    return b.select(hot, llvm_const(a["on_value"], a["dtype"]),
                    llvm_const(a["off_value"], a["dtype"]))


def _mix32(b, x):
    x = b.xor(x, b.lshr(x, ir.Constant(I32, 16)))
    x = b.mul(x, ir.Constant(I32, rnd.M1))
    x = b.xor(x, b.lshr(x, ir.Constant(I32, 15)))
    x = b.mul(x, ir.Constant(I32, rnd.M2))
    return b.xor(x, b.lshr(x, ir.Constant(I32, 16)))


def _random_bits(pw, node, idx, stream: int):
    """The hash of ir/ops/random.py, bit for bit."""
    b = pw.ctx.b
    counter = node.inputs[0]
    c = _as_i64(b, pw.at(counter, idx), counter.dtype)
    seed0 = int(rnd.mix32(np.uint32((node.attrs["seed"] ^ rnd.STREAMS[stream])
                                    & rnd.MASK32)))
    k = _mix32(b, b.xor(ir.Constant(I32, seed0), b.trunc(c, I32)))
    key = _mix32(b, b.xor(k, b.trunc(b.lshr(c, _i64(32)), I32)))
    i = b.trunc(idx.offset(node.outputs[0].shape), I32)
    if len(node.inputs) > 1:  # the element numbers start at the offset
        at = node.inputs[1]
        i = b.add(i, b.trunc(_as_i64(b, pw.at(at, idx), at.dtype), I32))
    h = _mix32(b, b.xor(b.mul(i, ir.Constant(I32, rnd.GOLDEN)), key))
    return _mix32(b, b.add(h, key))


def _uniform01(b, bits):
    u = b.sitofp(b.lshr(bits, ir.Constant(I32, 8)), F64)
    return b.fmul(u, ir.Constant(F64, 2.0 ** -24))


@pointwise("random_uniform", linear=True)
def _random_uniform(pw, node, idx):
    b = pw.ctx.b
    a = node.attrs
    dt = a["dtype"]
    t = reg_type(dt)
    u = _uniform01(b, _random_bits(pw, node, idx, 0))
    if dt != float64:
        u = b.fptrunc(u, t)
    lo = dt.np.type(a["low"])
    span = dt.np.type(a["high"]) - lo  # NumPy's rounding, as the reference
    # no `contract`: lo + span * u must round twice, bit-exact with NumPy
    return b.fadd(ir.Constant(t, float(lo)),
                  b.fmul(ir.Constant(t, float(span)), u))


@pointwise("random_normal", linear=True)
def _random_normal(pw, node, idx):
    b = pw.ctx.b
    sb = pw.ctx.sb
    a = node.attrs
    u1 = b.fadd(_uniform01(b, _random_bits(pw, node, idx, 1)),
                ir.Constant(F64, 2.0 ** -24))
    u2 = _uniform01(b, _random_bits(pw, node, idx, 2))
    r = sb.sqrt(b.fmul(ir.Constant(F64, -2.0), mathlib.log(sb, u1)))
    z = b.fmul(r, mathlib.cos_turns(sb, u2))
    v = b.fadd(ir.Constant(F64, a["mean"]), b.fmul(ir.Constant(F64, a["stddev"]), z))
    return sb.cast(v, a["dtype"])


# --- kernels ---------------------------------------------------------------------


def _collapse(nodes, params, space: tuple):
    """Groups of adjacent space dims that every value of the body sees the
    same way (all present or all broadcast), or None when some op needs
    real coordinates."""
    if any(not _broadcast_linear(n.op) for n in nodes):
        return None
    R = len(space)
    keep = [k for k in range(R) if space[k] != 1]
    values = list(params) + [o for n in nodes for o in n.outputs]

    def mask(k):
        out = []
        for v in values:
            j = k - (R - v.rank)
            out.append(j >= 0 and v.shape[j] != 1)
        return tuple(out)

    groups: list = []
    for k in keep:
        if groups and mask(groups[-1][-1]) == mask(k):
            groups[-1].append(k)
        else:
            groups.append([k])
    return groups


def emit_pointwise(ctx: KernelCtx, nodes, params, outputs, out_keys=None) -> None:
    """One loop nest over the outputs' common shape storing every output
    (output k into the buffer named out_keys[k], default its value name)."""
    out_keys = list(out_keys or [o.name for o in outputs])
    space = outputs[0].shape
    pw = Pointwise(ctx, nodes)
    groups = _collapse(nodes, params, space)
    if groups is not None:
        extents = []
        for g in groups:
            n = _i64(1)
            for k in g:
                n = ctx.mul(n, ctx.dim(space[k]))
            extents.append(n)
        with split_nest(ctx, extents) as vars_:
            idx = GroupIndex(ctx, groups, vars_, space)
            _store_all(ctx, pw, outputs, out_keys, idx)
    elif (cat := _last_axis_concat(nodes, space)) is not None:
        # the innermost loop split at the operands' boundaries: in each
        # stretch the concat reads one operand, a plain vector loop (a
        # select among every operand at each element ran at ~7 GB/s in
        # DenseNet's concat + BatchNormalization + relu kernels)
        with split_nest(ctx, [ctx.dim(d) for d in space[:-1]]) as vars_:
            start = _i64(0)
            for k, x in enumerate(cat.inputs):
                n = ctx.dim(x.shape[-1])
                with for_range(ctx.b, n, name=f"cat{k}") as j:
                    idx = MultiIndex(ctx, [*vars_, ctx.add(start, j)], space,
                                     pinned={cat.outputs[0].name: (k, j)})
                    _store_all(ctx, pw, outputs, out_keys, idx)
                start = ctx.add(start, n)
    else:
        with split_nest(ctx, [ctx.dim(d) for d in space]) as vars_:
            idx = MultiIndex(ctx, vars_, space)
            _store_all(ctx, pw, outputs, out_keys, idx)
    ctx.b.ret_void()


def _last_axis_concat(nodes, space):
    """The one concat of a fused body along the last axis of the loop
    space, whose output has the space's shape (then every index the body
    hands it is the loop's own, through elementwise ops), or None."""
    cats = [n for n in nodes if n.op == "concat"]
    if len(cats) != 1 or len(space) < 2:
        return None
    cat = cats[0]
    out = cat.outputs[0]
    if out.shape != tuple(space) or cat.attrs["axis"] != out.rank - 1:
        return None
    return cat


def copy_concat(ctx: KernelCtx, node, out_key: str) -> bool:
    """A concat kernel of stored operands as row copies: for each of the
    output's rows (the axes before `axis`, this thread's share), each
    operand's contiguous run copied to its place, a loop the vectoriser
    turns into whole-vector moves. The pointwise rule instead loads every
    operand at every element and selects one (a patch matrix of nine
    slices, 5.3 MB, took 8.5 ms). False (nothing emitted) when the
    concatenation is along the first axis (no rows to share)."""
    axis, out = node.attrs["axis"], node.outputs[0]
    if axis == 0:
        return False
    b = ctx.b
    rows = ctx.numel(out.shape[:axis])
    inner = ctx.numel(out.shape[axis + 1:])
    row_len = ctx.mul(ctx.dim(out.shape[axis]), inner)
    lo, hi = ctx.thread_range(rows)
    with for_range(b, hi, start=lo, name="row") as r:
        at = ctx.mul(r, row_len)
        for x in node.inputs:
            n = ctx.mul(ctx.dim(x.shape[axis]), inner)
            src = ctx.mul(r, n)
            with for_range(b, n, name="j") as j:
                ctx.store(out_key, ctx.add(at, j),
                          ctx.load(x.name, ctx.add(src, j)))
            at = ctx.add(at, n)
    b.ret_void()
    return True


def _store_all(ctx, pw, outputs, out_keys, idx):
    vals = [pw.at(o, idx) for o in outputs]
    for o, key, v in zip(outputs, out_keys, vals):
        ctx.store(key, idx.offset(o.shape), v)


def _identity(op: str, dt: DType):
    if op in ("reduce_sum", "reduce_mean"):
        return llvm_const(0, dt)
    if dt.is_float:
        return ir.Constant(reg_type(dt), -math.inf if op == "reduce_max" else math.inf)
    info = np.iinfo(dt.np)
    return ir.Constant(reg_type(dt), int(info.min if op == "reduce_max" else info.max))


def _combine(ctx, op: str, acc, v, inner: bool):
    b, sb = ctx.b, ctx.sb
    if op in ("reduce_sum", "reduce_mean"):
        if sb.dtype_of(acc).is_float:
            # reassoc lets the vectoriser split the sum into lanes
            return b.fadd(acc, v, flags=("reassoc", "contract"))
        return b.add(acc, v)
    return sb.max(acc, v) if op == "reduce_max" else sb.min(acc, v)


def emit_reduce(ctx: KernelCtx, nodes, root) -> None:
    """reduce_{sum,mean,max,min} of a (possibly fused) input over any axes.

    Loops over the input in row-major order; a trailing run of reduced
    axes accumulates in a register (vectorised with reassoc), other
    reduced axes accumulate into the output in place. Threads split the
    first kept axis (each owns a contiguous range of the output and sums
    in the same order as one thread would); a reduction to one element
    runs on thread 0."""
    b = ctx.b
    x, out = root.inputs[0], root.outputs[0]
    axes = set(root.attrs["axes"])
    pw = Pointwise(ctx, nodes)
    dt = out.dtype
    ident = _identity(root.op, dt)
    S = x.shape
    R = len(S)
    t = 0
    while t < R and (R - 1 - t) in axes:
        t += 1
    prefix = list(range(R - t))
    kept = [k for k in prefix if k not in axes]
    if not kept:
        with ctx.only_first_thread():
            _reduce_body(ctx, pw, root, prefix, t, None, _i64(0),
                         ctx.numel(out.shape), ident)
        b.ret_void()
        return
    d = kept[0]
    lo, hi = ctx.thread_range(ctx.dim(S[d]))
    inner = _i64(1)
    for k in range(d + 1, R):
        if k not in axes:
            inner = ctx.mul(inner, ctx.dim(S[k]))
    _reduce_body(ctx, pw, root, prefix, t, (d, lo, hi), ctx.mul(lo, inner),
                 ctx.mul(hi, inner), ident)
    b.ret_void()


def _reduce_body(ctx, pw, root, prefix, t, split, o_lo, o_hi, ident):
    b = ctx.b
    x, out = root.inputs[0], root.outputs[0]
    axes = set(root.attrs["axes"])
    keepdims = root.attrs["keepdims"]
    dt = out.dtype
    S = x.shape
    R = len(S)
    # NOTE: a float32 sum over reduced axes outside the trailing run adds
    # into each output element once per row, in order: over N*H*W rows
    # (BatchNormalization's moments and its beta / gamma gradients) the
    # float32 running sum lost up to ~1e-4 relative, 10-100x Keras-JAX's
    # error. Such sums run in a float64 buffer on the stack when the
    # output is small and static.
    wide = None
    n_out = _static_numel(out.shape)
    if ctx.note in ("wide", "narrow"):  # sizes at run time (extents.py)
        if ctx.note == "wide":
            # NOTE: at most WIDE_SUM_MAX doubles, as the static case
            n = ctx.numel(out.shape)
            wide = b.alloca(F64, size=b.select(
                b.icmp_signed(">", n, _i64(1)), n, _i64(1)))
    elif wide_sum(root):
        wide = ctx.alloca(ir.ArrayType(F64, max(n_out, 1)))
    if wide is not None:
        with for_range(b, o_hi, start=o_lo, name="winit") as i:
            b.store(ir.Constant(F64, 0.0), _wide_at(b, wide, i))
    with for_range(b, o_hi, start=o_lo, name="init") as i:
        ctx.store(out.name, i, ident)

    def out_offset(pc):
        cs = [pc[k] if k not in axes else _i64(0) for k in range(len(pc))]
        if keepdims:
            return MultiIndex(ctx, cs, S).offset(out.shape)
        kept = [pc[k] for k in range(len(pc)) if k not in axes]
        return MultiIndex(ctx, kept, out.shape).offset(out.shape)

    with contextlib.ExitStack() as stack:
        pc = []
        for k in prefix:
            if split is not None and k == split[0]:
                pc.append(stack.enter_context(for_range(
                    b, split[2], start=split[1], name=f"p{k}")))
            else:
                pc.append(stack.enter_context(for_range(
                    b, ctx.dim(S[k]), name=f"p{k}")))
        full_pc = pc + [_i64(0)] * t
        o = out_offset(full_pc)
        if t:
            acc = ctx.alloca(reg_type(dt))
            b.store(ident, acc)
            with loop_nest(b, [ctx.dim(S[k]) for k in range(R - t, R)],
                           name="r") as tc:
                v = pw.at(x, MultiIndex(ctx, pc + list(tc), S))
                b.store(_combine(ctx, root.op, b.load(acc, typ=reg_type(dt)), v,
                                 True), acc)
            v = b.load(acc, typ=reg_type(dt))
        else:
            v = pw.at(x, MultiIndex(ctx, pc, S))
        if wide is not None:
            p = _wide_at(b, wide, o)
            b.store(b.fadd(b.load(p, typ=F64), b.fpext(v, F64)), p)
        else:
            ctx.store(out.name, o, _combine(ctx, root.op,
                                            ctx.load(out.name, o), v, False))
    if wide is not None:
        with for_range(b, o_hi, start=o_lo, name="wout") as i:
            p = _wide_at(b, wide, i)
            ctx.store(out.name, i, b.fptrunc(b.load(p, typ=F64),
                                             reg_type(dt)))
    if root.op == "reduce_mean":
        count = _i64(1)
        for k in axes:
            count = ctx.mul(count, ctx.dim(S[k]))
        cnt = b.sitofp(count, reg_type(dt))
        with for_range(b, o_hi, start=o_lo, name="mean") as i:
            ctx.store(out.name, i, b.fdiv(ctx.load(out.name, i), cnt))


WIDE_SUM_MAX = 4096  # output elements of a float64-accumulated sum (stack)


def wide_sum(root) -> bool:
    """Whether the reduction `root` sums in a float64 buffer (a float32
    sum over reduced axes outside the trailing run, into a small static
    output: _reduce_body)."""
    S, axes = root.inputs[0].shape, set(root.attrs["axes"])
    t = 0
    while t < len(S) and (len(S) - 1 - t) in axes:
        t += 1
    n_out = _static_numel(root.outputs[0].shape)
    return (root.op in ("reduce_sum", "reduce_mean")
            and root.outputs[0].dtype.np == np.float32
            and any(k in axes for k in range(len(S) - t))
            and n_out is not None and n_out <= WIDE_SUM_MAX)


def _wide_at(b, wide, i):
    """The address of element i of the float64 buffer (a static array
    or a runtime-sized alloca)."""
    if isinstance(wide.allocated_type, ir.ArrayType):
        return b.gep(wide, [_i64(0), i], source_etype=wide.allocated_type)
    return b.gep(wide, [i], source_etype=F64)


def _static_numel(shape):
    n = 1
    for d in shape:
        if is_symbol(d):
            return None
        n *= d
    return n


def _rows(ctx, S, axis):
    """loop_nest over every dim of S except `axis` (the outermost split
    between threads); yields coordinate lists without `axis`."""
    dims = [ctx.dim(S[k]) for k in range(len(S)) if k != axis]
    return split_nest(ctx, dims, name="o")


def _with(cs, axis, k):
    cs = list(cs)
    cs.insert(axis, k)
    return cs


def emit_arg(ctx: KernelCtx, nodes, root) -> None:
    """argmax / argmin along one axis: the first extreme, nan counting as
    the extreme (NumPy's rule)."""
    b, sb = ctx.b, ctx.sb
    x, out = root.inputs[0], root.outputs[0]
    axis = root.attrs["axis"]
    pw = Pointwise(ctx, nodes)
    S = x.shape
    n = ctx.dim(S[axis])
    is_max = root.op == "argmax"
    with _rows(ctx, S, axis) as oc:
        oc = list(oc)
        ocs = _with(oc, axis, _i64(0))
        if root.attrs["keepdims"]:
            o = MultiIndex(ctx, ocs, S).offset(out.shape)
        else:
            o = MultiIndex(ctx, oc, out.shape).offset(out.shape)
        ctx.store(out.name, o, llvm_const(0, out.dtype))
        nonempty = b.icmp_signed(">", n, _i64(0))
        with b.if_then(nonempty):
            best = ctx.alloca(reg_type(x.dtype))
            bi = ctx.alloca(I64)
            b.store(pw.at(x, MultiIndex(ctx, ocs, S)), best)
            b.store(_i64(0), bi)
            with for_range(b, n, start=1, name="k") as k:
                v = pw.at(x, MultiIndex(ctx, _with(oc, axis, k), S))
                cur = b.load(best, typ=reg_type(x.dtype))
                take = sb.gt(v, cur) if is_max else sb.lt(v, cur)
                if x.dtype.is_float:
                    vnan = b.fcmp_unordered("uno", v, v)
                    cnan = b.fcmp_unordered("uno", cur, cur)
                    take = b.or_(b.and_(take, b.not_(cnan)),
                                 b.and_(vnan, b.not_(cnan)))
                b.store(b.select(take, v, cur), best)
                b.store(b.select(take, k, b.load(bi, typ=I64)), bi)
            ctx.store(out.name, o, sb.cast(b.load(bi, typ=I64), out.dtype)
                      if out.dtype != int64 else b.load(bi, typ=I64))
    b.ret_void()


def emit_softmax(ctx: KernelCtx, nodes, root) -> None:
    """softmax / log_softmax along one axis: max, then sum of exp, then the
    output; the max is taken as 0 when it is not finite (the reference's
    rule)."""
    b, sb = ctx.b, ctx.sb
    x, out = root.inputs[0], root.outputs[0]
    axis = root.attrs["axis"]
    pw = Pointwise(ctx, nodes)
    S = x.shape
    n = ctx.dim(S[axis])
    t = reg_type(x.dtype)
    with _rows(ctx, S, axis) as oc:
        oc = list(oc)
        m = ctx.alloca(t)
        b.store(ir.Constant(t, -math.inf), m)
        with for_range(b, n, name="k1") as k:
            v = pw.at(x, MultiIndex(ctx, _with(oc, axis, k), S))
            cur = b.load(m, typ=t)
            b.store(b.select(b.fcmp_ordered(">", v, cur), v, cur), m)
        mv = b.load(m, typ=t)
        finite = b.fcmp_ordered("<", sb.abs(mv), ir.Constant(t, math.inf))
        mv = b.select(finite, mv, ir.Constant(t, 0.0))
        s = ctx.alloca(t)
        b.store(ir.Constant(t, 0.0), s)
        with for_range(b, n, name="k2") as k:
            idx = MultiIndex(ctx, _with(oc, axis, k), S)
            e = sb.exp(b.fsub(pw.at(x, idx), mv))
            b.store(b.fadd(b.load(s, typ=t), e, flags=("reassoc", "contract")), s)
            if root.op == "softmax":
                ctx.store(out.name, idx.offset(S), e)
        sv = b.load(s, typ=t)
        if root.op == "softmax":
            r = b.fdiv(ir.Constant(t, 1.0), sv)
            with for_range(b, n, name="k3") as k:
                off = MultiIndex(ctx, _with(oc, axis, k), S).offset(S)
                ctx.store(out.name, off, b.fmul(ctx.load(out.name, off), r))
        else:
            ls = sb.log(sv)
            with for_range(b, n, name="k3") as k:
                idx = MultiIndex(ctx, _with(oc, axis, k), S)
                z = b.fsub(pw.at(x, idx), mv)
                ctx.store(out.name, idx.offset(S), b.fsub(z, ls))
    b.ret_void()


def emit_scatter_add(ctx: KernelCtx, nodes, root) -> None:
    """out = x, then out[..., clamp(indices[i...]), ...] += updates[...].

    Threads split the elements of one update (the axes after the indexed
    ones: an embedding row's 128 values, 64 each on two threads) and each
    copies and adds its own columns: every element of out receives its
    updates in the same order (the updates' row-major order) whatever the
    thread count, and no two threads touch the same element."""
    b = ctx.b
    x, ind, upd = root.inputs
    out = root.outputs[0]
    axis = root.attrs["axis"]
    pw = Pointwise(ctx, nodes)
    k = ind.rank
    trail = tuple(upd.shape[axis + k:])  # == out.shape[axis + 1:]
    lo, hi = ctx.thread_range(ctx.numel(trail))

    def columns(c):
        """The coordinates in `trail` of column c."""
        return [c] if len(trail) == 1 else _unflat(ctx, c, trail)

    if not (x.name in ctx.buffers and ctx.same_buffer(x.name, out.name)):
        with loop_nest(b, [ctx.dim(d) for d in out.shape[:axis + 1]],
                       name="r") as rc, \
                for_range(b, hi, start=lo, name="copy") as c:
            idx = MultiIndex(ctx, list(rc) + columns(c), out.shape)
            v = pw.at(x, idx) if x.name in pw.producer else \
                ctx.load(x.name, idx.offset(x.shape))
            ctx.store(out.name, idx.offset(out.shape), v)
    with loop_nest(b, [ctx.dim(d) for d in upd.shape[:axis + k]],
                   name="u") as uc:
        uc = list(uc)
        j = pw.at(ind, MultiIndex(ctx, uc[axis:axis + k], ind.shape))
        j = _clamp_index(b, _as_i64(b, j, ind.dtype), ctx.dim(x.shape[axis]))
        with for_range(b, hi, start=lo, name="uc") as c:
            cs = columns(c)
            o = MultiIndex(ctx, uc[:axis] + [j] + cs, out.shape).offset(
                out.shape)
            v = pw.at(upd, MultiIndex(ctx, uc + cs, upd.shape))
            ctx.store(out.name, o, ctx.sb.add(ctx.load(out.name, o), v))
    b.ret_void()


def _unflat(ctx, i, shape):
    b = ctx.b
    cs = []
    rem = i
    strides = []
    s = _i64(1)
    for d in reversed(shape):
        strides.append(s)
        s = ctx.mul(s, ctx.dim(d))
    for d, st in zip(shape, reversed(strides)):
        cs.append(b.urem(b.udiv(rem, st), ctx.dim(d)) if d != 1 else _i64(0))
    return cs


# --- the kinds of this file (codegen/lowering.py) ------------------------------


class RootLowering(Lowering):
    """A loop template built around its root node (a reduction, argmax,
    softmax, scatter_add, a collective), with the elementwise producers of
    a fused body evaluated inside its loops: `emit(ctx, nodes, root)`."""

    root = True

    def __init__(self, kind: str, ops: tuple, emit, threaded: bool,
                 ordered: bool = False, runtime_extents: bool = False):
        self.kind, self.ops, self._emit = kind, tuple(ops), emit
        self.threaded, self.ordered = threaded, ordered
        self.runtime_extents = runtime_extents

    def emit(self, ctx, site) -> None:
        if self.threaded:
            split_by_thread(ctx)
        self._emit(ctx, site.nodes, site.root)

    def extents_note(self, node) -> str:
        if self.kind != "reduce":
            return ""
        return "wide" if wide_sum(kernel_of(node).root) else "narrow"


class _NoKernel(Lowering):
    """Ops that never become kernels: reshape is a view of its operand's
    storage, a constant a module global (passes/plan_memory.py)."""

    def __init__(self, kind: str, ops: tuple):
        self.kind, self.ops = kind, ops


for _lowering in (
        RootLowering("reduce", ("reduce_sum", "reduce_mean", "reduce_max",
                                 "reduce_min"), emit_reduce, threaded=True,
                     runtime_extents=True),
        RootLowering("arg", ("argmax", "argmin"), emit_arg, threaded=True,
                     runtime_extents=True),
        RootLowering("softmax", ("softmax", "log_softmax"), emit_softmax,
                     threaded=True, runtime_extents=True),
        RootLowering("scatter", ("scatter_add",), emit_scatter_add,
                      threaded=True),
        _NoKernel("view", ("reshape",)),
        _NoKernel("const", ("constant",))):
    register_lowering(_lowering)
del _lowering
_ = I1  # re-exported for callers
