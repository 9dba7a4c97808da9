"""One kernel node -> one LLVM function, through the lowering table.

    k<t>_<label>(i64 chunk, i64 chunks, ptr storages..., i64 symbols...
                 i64 extents... [, ptr workspace])

The storages are the distinct non-constant storages the node reads or
writes, in first-use order; constants are module globals. The symbols
are the program's (the batch), the extents the sizes the kernel takes
at run time (codegen/extents.py). The kind's
Lowering (codegen/lowering.py) writes the body; this file only builds the
signature and the buffer map, the same for a program's kernels and for
the kernels of a scan body (codegen/scan.py).

Invariant: the pointer arguments are distinct storages, which never
overlap (plan_memory), so they are marked `noalias`.
"""

from __future__ import annotations

import dataclasses

from llvmlite import ir

from ..ir import Function
from ..ir.types import is_symbol
from .kernels import KernelCtx
from .lowering import kernel_of, lowering
from .scalar import I64, PTR, VOID


def program_symbols(fn: Function) -> tuple:
    """The shape symbols of fn's values, sorted (the order of their slots)."""
    syms = set()
    for v in fn.values():
        syms.update(d for d in v.shape if is_symbol(d))
    return tuple(sorted(syms))


def emit_kernel(module, t, node, layout, symbols: tuple, consts,
                packed_b: bool = False, extents=None) -> tuple:
    """(LLVM function, storage ids of its pointer arguments, whether it
    takes the workspace) of kernel node `node`, named after `t`;
    `packed_b`: a matmul's B argument will hold op(B) packed (KernelSite);
    `extents`: an extents.Extents whose node is emitted in place of
    `node`, its symbols taken as arguments after the program's."""
    ext = extents.symbols if extents is not None else ()
    if extents is not None:
        node = extents.node
    vs = layout.value_storage
    st = layout.storages
    sids = []
    for v in list(node.inputs) + list(node.outputs):
        s = st[vs[v.name]]
        if s.kind != "const" and s.id not in sids:
            sids.append(s.id)
    low = lowering(node)
    wants_ws = low.workspace
    symbols = (*symbols, *ext)
    argtys = [I64, I64] + [PTR] * len(sids) + [I64] * len(symbols)
    if wants_ws:
        argtys.append(PTR)
    label = node.op if node.op != "fused" else "fused_" + "_".join(
        sorted({m.op for m in node.attrs["body"].nodes}))[:40]
    fn = ir.Function(module, ir.FunctionType(VOID, argtys), f"k{t}_{label}")
    fn.linkage = "internal"
    fn.attributes.add("noinline")
    fn.attributes.add("nounwind")
    pargs = fn.args[2:2 + len(sids)]
    for a in pargs:
        a.add_attribute("noalias")
    syms = dict(zip(symbols, fn.args[2 + len(sids):2 + len(sids) + len(symbols)]))
    ptr_of = dict(zip(sids, pargs))

    def buffer(v):
        s = st[vs[v.name]]
        if s.kind == "const":
            return consts(layout.const_values[v.name]), v.dtype
        return ptr_of[s.id], v.dtype

    site = kernel_of(node, str(t), layout)
    if packed_b:
        site = dataclasses.replace(site, packed_b=True)
    buffers = {}
    # names as the kernel body sees them: a fused body has its own names
    for inner, outer in zip(site.params, node.inputs):
        buffers[inner.name] = buffer(outer)
    for key, inner, outer in zip(site.out_keys, site.outputs, node.outputs):
        buffers[key] = buffer(outer)
        if site.root is not None:
            buffers[inner.name] = buffer(outer)
    ctx = KernelCtx(fn, buffers, syms, consts)
    if extents is not None:
        ctx.note = extents.note
    if wants_ws:
        site = dataclasses.replace(site, workspace=fn.args[-1])
    low.emit(ctx, site)
    return fn, sids, wants_ws
