"""A product with its epilogue (passes/fuse_matmul_epilogues.py): the GEMM
runs in TILE mode and calls a generated per-tile function that evaluates
the rest of the fused body on each finished tile.

    kernel k<t>(tid, nthreads, ptrs..., symbols..., workspace):
        ctxblock = [ptrs..., symbols...]           (on the stack)
        gk_gemm(A, B, null, M, N, K, ..., flags | TILE [| COLUMNS],
                ws, ep_k<t>, ctxblock, tid, nthreads)
    ep_k<t>(ctxblock, i0, j0, mr, nr, src, ld):
        for r < mr, c < nr:   (i, j) = (i0 + r, j0 + c), product = src[r*ld + c]
            every elementwise output [i, j] = body at (i, j)
            every column sum s[j] = (i == 0 ? 0 : s[j]) + value at (i, j)
        mr == 0 (M == 0): s[j0 .. j0+nr) = 0

Invariants: the GEMM calls ep once per tile after its final value exists,
tiles of one column in increasing row order, each tile on one thread
(COLUMNS keeps a column on one thread when there are column sums), so a
column sum adds rows in order 0, 1, ..., whatever the thread count; the
epilogue reads its operands only at the element it writes (or broadcast),
so an output may share its buffer with such an operand (plan_memory's
identity_reads).
"""

from __future__ import annotations

from llvmlite import ir

from . import kernels as K
from .loops import for_range
from .lowering import Lowering, register_lowering, split_by_thread
from .matmul import EP_TYPE, declare_gemm, gemm_flags, thread_args, thread_workspace
from .scalar import I64, PTR, VOID, mem_type
from .target import host


def _c(v) -> ir.Constant:
    return ir.Constant(I64, int(v))


def emit_matmul_epilogue(ctx: K.KernelCtx, node, workspace,
                         vector_bytes: int) -> None:
    body = node.attrs["body"]
    product = next(n for n in body.nodes if n.op == "matmul")
    rest = [n for n in body.nodes if n is not product]
    sums = [n for n in rest if n.op == "reduce_sum"]
    module = ctx.b.module
    ep, names = _epilogue_function(module, ctx, node, product, rest, sums)

    b = ctx.b
    # the context block: the kernel's pointers and symbols, as the
    # epilogue reads them
    block = ctx.alloca(ir.ArrayType(I64, max(1, len(names))))
    for k, (kind, key) in enumerate(names):
        v = ctx.buffers[key][0] if kind == "ptr" else ctx.syms[key]
        if kind == "ptr":
            v = b.ptrtoint(v, I64)
        b.store(v, b.gep(block, [_c(0), _c(k)],
                         source_etype=ir.ArrayType(I64, max(1, len(names)))))

    a, bm = product.inputs
    ta, tb = product.attrs["transpose_a"], product.attrs["transpose_b"]
    out = product.outputs[0]
    dt = out.dtype
    M, N = ctx.dim(out.shape[0]), ctx.dim(out.shape[1])
    Kd = ctx.dim(a.shape[0] if ta else a.shape[1])
    gemm = declare_gemm(module, dt)
    tid, nth = thread_args(ctx)
    ws = thread_workspace(ctx, workspace)
    flags = gemm_flags(ta, tb, columns=bool(sums), tile=True,
                       bf16=product.attrs.get("precision") == "bfloat16")
    b.call(gemm, [ctx.addr(a.name, _c(0)), ctx.addr(bm.name, _c(0)),
                  ir.Constant(PTR, None), M, N, Kd, ctx.dim(a.shape[1]),
                  ctx.dim(bm.shape[1]), N, _c(flags), ws, ep, block, tid, nth])
    b.ret_void()


def _epilogue_function(module, kctx, node, product, rest, sums):
    """The per-tile function and the layout of its context block: a list
    of ("ptr", value name) / ("sym", symbol). The EP_TYPE function unpacks
    the block and calls the body function, whose pointer arguments are
    `noalias` (distinct storages never overlap, as for kernels), so the
    loop over a tile row vectorises without run-time alias checks."""
    names = []
    ptr_keys = {}
    for key, (p, _) in kctx.buffers.items():
        # one slot per distinct pointer argument of the kernel
        if isinstance(p, ir.Argument) and p not in ptr_keys:
            ptr_keys[p] = key
            names.append(("ptr", key))
    nptr = len(names)
    for s in kctx.syms:
        names.append(("sym", s))

    # the body: (ptrs..., syms..., i0, j0, mr, nr, src, ld)
    inner = ir.Function(module, ir.FunctionType(
        VOID, [PTR] * nptr + [I64] * (len(names) - nptr) + [I64] * 4
        + [PTR, I64]), f"{kctx.fn.name}_epb")
    inner.linkage = "internal"
    inner.attributes.add("nounwind")
    inner.attributes.add("alwaysinline")
    for a in inner.args[:nptr]:
        a.add_attribute("noalias")
    inner.args[-2].add_attribute("noalias")
    i0, j0, mr, nr, src, ld = inner.args[-6:]
    ctx = K.KernelCtx(inner, {}, {}, kctx.consts)
    by_key = {}
    for k, (kind, key) in enumerate(names):
        if kind == "ptr":
            by_key[key] = inner.args[k]
        else:
            ctx.syms[key] = inner.args[k]
    for key, (p, dt) in kctx.buffers.items():
        if isinstance(p, ir.Argument):
            ctx.buffers[key] = (by_key[ptr_keys[p]], dt)
        else:  # a constant global
            ctx.buffers[key] = (p, dt)
    _tile_loop(ctx, node, product, rest, sums, i0, j0, mr, nr, src, ld)

    fn = ir.Function(module, EP_TYPE, f"{kctx.fn.name}_ep")
    fn.linkage = "internal"
    fn.attributes.add("nounwind")
    cblock = fn.args[0]
    eb = ir.IRBuilder(fn.append_basic_block("entry"))
    arr = ir.ArrayType(I64, max(1, len(names)))
    args = []
    for k, (kind, _) in enumerate(names):
        v = eb.load(eb.gep(cblock, [_c(0), _c(k)], source_etype=arr), typ=I64)
        args.append(eb.inttoptr(v, PTR) if kind == "ptr" else v)
    eb.call(inner, args + list(fn.args[1:]))
    eb.ret_void()
    return fn, names


def _tile_loop(ctx, node, product, rest, sums, i0, j0, mr, nr, src, ld):
    b = ctx.b
    # outputs of the node are stored through the kernel's buffers "@out<k>"
    out_key = {o.name: f"@out{k}" for k, o in enumerate(node.outputs)}
    space = product.outputs[0].shape
    t_prod = mem_type(product.outputs[0].dtype)
    sum_outs = {r.outputs[0].name for r in sums}
    stores = [o for o in node.outputs if o.name not in sum_outs]

    # no rows (M == 0): the column sums of this panel are zero
    with b.if_then(b.icmp_signed("==", mr, _c(0))), for_range(
            b, nr, name="z") as c:
        j = b.add(j0, c)
        for r in sums:
            o = r.outputs[0]
            ctx.store(out_key[o.name], j, K.llvm_const(0, o.dtype))
    with for_range(b, mr, name="r") as r_, for_range(b, nr, name="c") as c_:
        i = b.add(i0, r_)
        j = b.add(j0, c_)
        idx = K.MultiIndex(ctx, [i, j], space)
        pw = K.Pointwise(ctx, rest)
        val = b.load(b.gep(src, [b.add(b.mul(r_, ld), c_)], source_etype=t_prod),
                     typ=t_prod)
        pw.memo[(product.outputs[0].name, id(idx))] = val
        pw._keep.append(idx)
        vals = [(o, pw.at(o, idx)) for o in stores]
        sum_vals = [(r, pw.at(r.inputs[0], idx)) for r in sums]
        for o, v in vals:
            ctx.store(out_key[o.name], idx.offset(o.shape), v)
        first_row = b.icmp_signed("==", i, _c(0))
        for r, v in sum_vals:
            o = r.outputs[0]
            old = ctx.load(out_key[o.name], j)
            acc = ctx.sb.add(old, v)
            ctx.store(out_key[o.name], j, b.select(first_row, v, acc))
    b.ret_void()


class _MatmulEpilogueLowering(Lowering):
    """A fused node around a product: the GEMM with its elementwise
    consumers (and column sums) as the epilogue (lowering.kernel_of picks
    it for a fused body holding a matmul)."""

    kind, threaded, workspace = "matmul_epilogue", True, True

    def emit(self, ctx, site) -> None:
        split_by_thread(ctx)
        emit_matmul_epilogue(ctx, site.node, site.workspace,
                             host().vector_bytes)


register_lowering(_MatmulEpilogueLowering())
