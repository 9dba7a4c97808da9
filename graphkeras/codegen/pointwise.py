"""The pointwise kernel kind: elementwise bodies (a fused node's, or one
elementwise / data-movement node) as one loop nest over the output space
(kernels.emit_pointwise), or, when the body is one flat loop, a call of a
shared flat-loop function.

A kernel is flat when it holds only elementwise ops and scalar constants
and every value has the output's shape or is a scalar; its shape-free
signature names a function `gk_flat<k>(buffers..., n, lo, hi)` shared by
every kernel with the same signature (the Adam update of every weight,
say), which saves compile time.

Invariant: the kernel's chunk of the work is [lo, hi) of the flat range,
split as every threaded kernel splits its outermost loop.
"""

from __future__ import annotations

import hashlib

from llvmlite import ir

from ..ir import TensorType, Value, get_op
from ..ir.function import Node
from .kernels import KernelCtx, copy_concat, emit_pointwise, pointwise_rule
from .lowering import Lowering, lowering_of_op, register_lowering, split_by_thread
from .scalar import I64, PTR, VOID


class PointwiseLowering(Lowering):
    kind = "pointwise"
    threaded = True
    runtime_extents = True

    def handles(self, op: str) -> bool:
        return pointwise_rule(op) is not None

    def emit(self, ctx, site) -> None:
        split_by_thread(ctx)
        flat = _flat_signature(site.nodes, site.params, site.outputs,
                               ctx.buffers, site.out_keys)
        if flat is not None:
            _call_flat(ctx.fn.module, ctx, flat, site.nodes, site.params,
                       site.outputs, site.out_keys)
        elif not _copied_concat(ctx, site):
            emit_pointwise(ctx, site.nodes, site.params, site.outputs,
                           site.out_keys)


def _copied_concat(ctx, site) -> bool:
    """A kernel that is one concat of stored operands, emitted as row
    copies (kernels.copy_concat); False when it is not one."""
    node = site.nodes[0]
    if len(site.nodes) != 1 or node.op != "concat" or not {
            v.name for v in node.inputs} <= {p.name for p in site.params}:
        return False
    key = site.out_keys[0] if site.out_keys else site.outputs[0].name
    return copy_concat(ctx, node, key)


POINTWISE_LOWERING = register_lowering(PointwiseLowering())


def _scalar_like(shape) -> bool:
    return all(d == 1 for d in shape)


def _flat_signature(nodes, params, outs, buffers, out_keys):
    """A shape-free signature when the kernel is one flat loop: only
    elementwise ops and scalar constants, every value of the output shape
    or a scalar. Kernels with equal signatures share one native function
    (the Adam update of every weight, say), which saves compile time."""
    space = outs[0].shape
    for n in nodes:
        if lowering_of_op(n.op) is not POINTWISE_LOWERING or (
                n.op not in ("constant", "zeros", "ones")
                and ir_kind(n.op) != "elementwise"):
            return None
        if n.op == "constant" and n.attrs["value"].array.size != 1:
            return None
    values = list(params) + [o for n in nodes for o in n.outputs]
    if any(v.shape != space and not _scalar_like(v.shape) for v in values):
        return None
    index = {}
    parts = []
    classes = []  # distinct buffers in first-use order
    for p in params:
        ptr = buffers[p.name][0]
        if ptr not in classes:
            classes.append(ptr)
        index[p.name] = len(index)
        parts.append(f"p{classes.index(ptr)}:{p.dtype.name}:{_scalar_like(p.shape)}")
    for n in nodes:
        ins = ",".join(str(index[v.name]) for v in n.inputs)
        attrs = {k: v for k, v in n.attrs.items() if k != "shape"}
        if n.op == "constant":
            attrs = {"value": n.attrs["value"].array.reshape(-1)[0].item(),
                     "dtype": n.attrs["value"].dtype.name}
        for o in n.outputs:
            index[o.name] = len(index)
            parts.append(f"{n.op}({ins}){sorted(attrs.items())!r}:"
                         f"{o.dtype.name}:{_scalar_like(o.shape)}")
    for o, key in zip(outs, out_keys):
        ptr = buffers[key][0]
        if ptr not in classes:
            classes.append(ptr)
        parts.append(f"out{classes.index(ptr)}={index[o.name]}")
    return ";".join(parts), classes


def ir_kind(op: str) -> str:
    return get_op(op).kind


def _call_flat(module, ctx, flat, nodes, params, outs, out_keys):
    sig, classes = flat
    # one cache per module (a scan body's kernels share the program's)
    shared = module.__dict__.setdefault("_gk_flat_loops", {})
    fn = shared.get(sig)
    if fn is None:
        # named by content, as step_module._Consts (identical kernels are
        # found by text)
        name = "gk_flat_" + hashlib.sha1(sig.encode()).hexdigest()[:20]
        # (buffers..., n, lo, hi): elements [lo, hi) of n
        fn = ir.Function(module, ir.FunctionType(VOID, [PTR] * len(classes)
                                                 + [I64, I64, I64]),
                         name)
        fn.linkage = "internal"
        fn.attributes.add("noinline")
        fn.attributes.add("nounwind")
        for a in fn.args[:-3]:
            a.add_attribute("noalias")
        shared[sig] = fn
        space = outs[0].shape

        def flat_value(v):
            shape = ("gk_n",) if v.shape == space and not _scalar_like(space) else ()
            return Value(v.name, TensorType(shape, v.dtype))

        fparams = [flat_value(p) for p in params]
        fnodes = [Node(n.op, tuple(flat_value(v) for v in n.inputs), n.attrs,
                       tuple(flat_value(o) for o in n.outputs)) for n in nodes]
        fouts = [flat_value(o) for o in outs]
        bufs = {}
        for p in params:
            bufs[p.name] = (fn.args[classes.index(ctx.buffers[p.name][0])],
                            ctx.buffers[p.name][1])
        for k in out_keys:
            bufs[k] = (fn.args[classes.index(ctx.buffers[k][0])], ctx.buffers[k][1])
        inner = KernelCtx(fn, bufs, {"gk_n": fn.args[-3]}, ctx.consts)
        inner.threads = ("range", fn.args[-2], fn.args[-1])
        emit_pointwise(inner, fnodes, fparams, fouts, out_keys)
    n = ctx.numel(outs[0].shape)
    lo, hi = ctx.thread_range(n)
    ctx.b.call(fn, list(classes) + [n, lo, hi])
    ctx.b.ret_void()
