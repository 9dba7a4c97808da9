"""Lowering of `scan` (ir/ops/scan.py): one native loop over the steps
whose body is the body Function's own kernels.

    k<t>_scan(chunk, chunks, ptrs..., symbols..., workspace):
      for each block of rows this chunk runs (see below):
        scratch = aligned_alloc(64, arena(body) + carry buffer)
        for s in 0..T-1:                       t = s, or T-1-s reversed
            call every body kernel (as chunk 0 of 1) with
                carry-in  -> init (s = 0) or the buffer step s-1 wrote
                carry-out -> W[s % 2]
                x_j       -> xs_j + t * slice_j,  y_j -> ys_j + t * slice_j
                constants -> the operands, temporaries -> scratch
            (every pointer moved to the block's first row)
        free(scratch)

Threads: a scan that maps batch rows to rows (_separable_over: every
carry, slice and y has the batch symbol leading and every body op keeps
rows apart, as the built-in RNN cells' loops, forward and backward, do)
is cut into nb = min(ceil(N / ROW_BLOCK), C) blocks of even rows (N = 40
on two threads: 20 + 20; on one thread, C = 1: the whole batch, whose
products are the most efficient); each block runs the whole loop with the
batch symbol bound to its rows, and chunk c of C runs blocks
[c nb / C, (c+1) nb / C). Blocks never meet, so there is no barrier per
step. NOTE: every element is computed by the same operations in the same
order whatever the cut (the GEMM never splits K, and its kernel path is
chosen by N and K, not by the rows of a block of more than SMALL_M rows),
so every thread count gives the same numbers
(tests/sequence/test_compiled_scan.py checks it). Any other scan runs
whole on the thread taking chunk 0.

The body is prepared like a program (passes.compile_pipeline: simplify,
materialize_results, fuse_elementwise) and laid out with
passes.plan_memory.assign_storage, by the pass
passes.prepare_scan_bodies at the end of the pipeline: the
program's StorageLayout carries it (`bodies`). Its kernels are emitted by
kernel_function.emit_kernel, so a body gets every kernel kind (GEMM, fused
pointwise loops, reductions, nested scans). Each temporary of the body gets
its own slice of the scratch block (sizes depend on the batch symbols, read
at run time); the block is allocated once per call of the scan kernel.

Invariants:
- Carries are double-buffered and never copied: step 0 reads the init
  operand, step s reads what step s-1 wrote; the two write buffers are the
  node's carry output and a scratch buffer, ordered by the parity of T so
  that the last step writes the output (T = 0 copies init to it).
- Every pointer handed to a body kernel is a distinct, non-overlapping
  region (slices of different steps never meet; the scratch regions are
  disjoint), which keeps the body kernels' `noalias` promise.
- The GEMM workspace of body matmuls is the program's workspace
  (nested_matmuls() tells step_module.py what to size and link).
- A body matmul whose B is a constant of the scan (the recurrent kernel)
  gets it packed once per block, before the loop, into the block's
  scratch (_packed_weights; GEMM flag PACKED_B), instead of packing it
  again at every step; the product is the same bit for bit.
"""

from __future__ import annotations

from llvmlite import ir

from ..ir import InternalCompilerError
from ..ir.registry import get_op
from ..ir.types import is_symbol
from .kernel_function import emit_kernel, program_symbols
from .lowering import Lowering, register_lowering
from .loops import for_range
from .matmul import declare_pack_b_full, packed_b_elements
from .narrow import NARROW
from .scalar import I1, I64, PTR, VOID, intrinsic
from .target import host

ALIGN = 64


def _i64(v: int) -> ir.Constant:
    return ir.Constant(I64, int(v))


def nested_matmuls(node) -> list:
    """The matmul nodes inside the bodies of a scan node (recursively)."""
    out = []
    if node.op != "scan":
        return out
    for n in node.attrs["body"].nodes:
        if n.op == "matmul":
            out.append(n)
        elif n.op == "scan":
            out.extend(nested_matmuls(n))
    return out


def _aligned_alloc(module):
    return intrinsic(module, "aligned_alloc", PTR, [I64, I64])


def _free(module):
    return intrinsic(module, "free", VOID, [PTR])


def _memcpy(module):
    return intrinsic(module, "llvm.memcpy.p0.p0.i64", VOID, [PTR, PTR, I64, I1])


def _round(ctx, n):
    b = ctx.b
    return b.and_(b.add(n, _i64(ALIGN - 1)), _i64(-ALIGN))


ROW_BLOCK = 32  # batch rows of one block (at most) of a row-separable scan


def _separable_over(node):
    """The batch symbol S a scan can be cut along, or None.

    A scan is separable over S when row r of every carry, slice and y
    depends only on row r of the operands: every carry, slice and result
    of the body has S as its leading dimension and nowhere else, every
    constant either has S leading too (a per-row constant, as dropout
    masks) or no S at all, and every body op maps rows to rows (the
    whitelist below; anything else, a dim_size or an index, keeps the scan
    whole). Then each block of rows runs the whole loop on its own: blocks
    never meet, so they need no barrier per step."""
    body = node.attrs["body"]
    nc, nx = node.attrs["num_carry"], node.attrs["num_xs"]
    if nc == 0 or body.params[0].type.rank == 0:
        return None
    sym = body.params[0].type.shape[0]
    if not is_symbol(sym):
        return None

    def lead(t):
        return t.rank >= 1 and t.shape[0] == sym and sym not in t.shape[1:]

    def free(t):
        return sym not in t.shape

    for k, p in enumerate(body.params):
        if not (lead(p.type) or (k >= nc + nx and free(p.type))):
            return None
    if not all(lead(r.type) for r in body.results):
        return None
    return sym if all(_rowwise(n, lead, free) for n in body.nodes) else None


def _rowwise(n, lead, free) -> bool:
    """Whether node n maps rows to rows (see _separable_over)."""
    types = [v.type for v in (*n.inputs, *n.outputs)]
    if all(free(t) for t in types):
        return True  # computes on constants only
    if not all(lead(t) or free(t) for t in types) or not all(
            lead(o.type) for o in n.outputs):
        return False
    op, a = n.op, n.attrs
    x = n.inputs[0].type if n.inputs else None
    rank = n.outputs[0].type.rank
    if get_op(op).kind == "elementwise":
        return all(free(v.type) or v.type.rank == rank for v in n.inputs)
    if op in ("zeros", "ones"):
        return True
    if op == "matmul":
        return (lead(x) and x.rank == 2 and not a["transpose_a"]
                and free(n.inputs[1].type))
    if op == "reshape":
        return lead(x)
    if op == "broadcast_to":
        return free(x) or x.rank == rank
    if op == "slice":
        return (lead(x) and a["starts"][0] == 0 and a["stops"][0] is None
                and a["steps"][0] == 1)
    if op == "pad":
        return lead(x) and tuple(a["pads"][0]) == (0, 0)
    if op == "concat":
        return a["axis"] % rank != 0 and all(lead(v.type) for v in n.inputs)
    if op == "transpose":
        return lead(x) and a["perm"][0] == 0
    if op.startswith("reduce_"):
        axes = a.get("axes")
        return (lead(x) and axes is not None
                and all(ax % x.rank != 0 for ax in axes))
    if op in ("softmax", "log_softmax"):
        return lead(x) and a["axis"] % x.rank != 0
    return False


def emit_scan(ctx, node, t, workspace, layout_of_program) -> None:
    """The body of the scan kernel function `ctx.fn` (see the module
    docstring); `t` names the kernel (for the body kernels' names), and
    `layout_of_program` (the StorageLayout around the node) holds the
    prepared body."""
    b = ctx.b
    module = b.module
    a = node.attrs
    nc = a["num_carry"]
    prepared = layout_of_program.bodies.get(a["body"])
    if prepared is None:
        raise InternalCompilerError(
            f"the body of scan node %{node.outputs[0].name} was not prepared "
            "for codegen (passes.prepare_scan_bodies)")
    body, layout = prepared
    symbols = program_symbols(body)
    missing = [s for s in symbols if s not in ctx.syms]
    if missing:
        raise InternalCompilerError(
            f"scan body @{body.name} uses the dimension(s) {missing}, which the "
            "program around it does not bind")
    # the body's kernels, each an LLVM function of its own
    packs = _packed_weights(node, body, layout)
    kernels = [emit_kernel(module, f"{t}_s{k}", kn, layout, symbols,
                           ctx.consts, packed_b=k in packs)
               for k, kn in enumerate(layout.kernels)]
    chunk, chunks = ctx.fn.args[0], ctx.fn.args[1]
    sym = _separable_over(node)
    if sym is None:  # the whole loop, on the thread taking chunk 0
        with b.if_then(b.icmp_signed("==", chunk, _i64(0))):
            _emit_loop(ctx, node, body, layout, kernels, symbols, workspace,
                       None, _i64(0), None, packs)
        b.ret_void()
        return
    # nb = min(ceil(N / ROW_BLOCK), C) blocks (one thread: the whole batch,
    # the fastest on one core); chunk c runs blocks [c nb / C, (c+1) nb / C)
    rows = ctx.syms[sym]
    nb = b.sdiv(b.add(rows, _i64(ROW_BLOCK - 1)), _i64(ROW_BLOCK))
    nb = b.select(b.icmp_signed("<", chunks, nb), chunks, nb)
    lo_b = b.sdiv(b.mul(nb, chunk), chunks)
    hi_b = b.sdiv(b.mul(nb, b.add(chunk, _i64(1))), chunks)
    with for_range(b, hi_b, start=lo_b, name="blk") as blk:
        # block k: rows [k N / nb, (k+1) N / nb), as even as they come
        lo = b.sdiv(b.mul(rows, blk), nb)
        hi = b.sdiv(b.mul(rows, b.add(blk, _i64(1))), nb)
        _emit_loop(ctx, node, body, layout, kernels, symbols, workspace,
                   sym, lo, b.sub(hi, lo), packs)
    b.ret_void()


def _packed_weights(node, body, layout) -> dict:
    """{body kernel index: (storage id of B, body param index of B, K, N,
    transpose_b, dtype)} of the body's plain 2-D matmuls whose B is a
    constant of the scan (the same at every step) with K and N static and
    wider than NARROW (narrower products take the unpacked path, which
    packs nothing), float32 precision."""
    nc, nx = node.attrs["num_carry"], node.attrs["num_xs"]
    const_params = {p.name: k for k, p in enumerate(body.params)
                    if k >= nc + nx}
    vs, st = layout.value_storage, layout.storages
    out = {}
    for k, kn in enumerate(layout.kernels):
        if kn.op != "matmul" or kn.attrs.get("precision") == "bfloat16":
            continue
        a, bm = kn.inputs
        if kn.outputs[0].type.rank != 2 or bm.type.rank != 2:
            continue
        sb = st[vs[bm.name]]
        if sb.kind != "input" or sb.name not in const_params or \
                st[vs[a.name]].id == sb.id:
            continue
        tb = bool(kn.attrs["transpose_b"])
        kk, n = (bm.type.shape[::-1] if tb else bm.type.shape)
        if is_symbol(kk) or is_symbol(n) or kk <= NARROW or n <= NARROW:
            continue
        out[k] = (sb.id, const_params[sb.name], kk, n, tb, bm.type.dtype)
    return out


def _emit_loop(ctx, node, body, layout, kernels, symbols, workspace, sym,
               lo, rows, packs) -> None:
    """The loop over the steps for rows [lo, lo + rows) of symbol `sym`
    (sym None: all of them, lo 0); `packs`: _packed_weights."""
    b = ctx.b
    module = b.module
    a = node.attrs
    nc, nx, length, reverse = a["num_carry"], a["num_xs"], a["length"], \
        a["reverse"]
    inputs = list(node.inputs)
    outputs = list(node.outputs)

    def numel_bytes(ty, own=False):
        """Bytes of a value of type ty: at the program's sizes, or (own)
        at the block's (sym bound to its rows)."""
        n = _i64(ty.dtype.itemsize)
        for d in ty.shape:
            n = ctx.mul(n, rows if own and sym is not None and d == sym
                        else ctx.dim(d))
        return n

    def row_bytes(ty):
        """Bytes of one row of sym in ty (0: ty has no such rows)."""
        if sym is None or ty.rank == 0 or ty.shape[0] != sym:
            return _i64(0)
        return numel_bytes(ty.with_shape(ty.shape[1:]))

    # scratch: every arena storage of the body, then one carry buffer each
    st = layout.storages
    offsets, total = {}, _i64(0)
    for s in st:
        if s.kind == "arena":
            offsets[s.id] = total
            total = ctx.add(total, _round(ctx, numel_bytes(s.type, True)))
    carry_off = []
    for i in range(nc):
        carry_off.append(total)
        total = ctx.add(total, _round(ctx, numel_bytes(inputs[i].type, True)))
    vb = host().vector_bytes
    pack_off = {}
    for k, (_, _, kk, n, _, dt) in packs.items():
        pack_off[k] = total
        total = ctx.add(total, _round(ctx, _i64(
            packed_b_elements(dt, vb, kk, n) * dt.itemsize)))
    total = b.add(total, _i64(ALIGN))  # never zero bytes
    scratch = b.call(_aligned_alloc(module), [_i64(ALIGN), total])
    with b.if_then(b.icmp_unsigned("==", scratch, ir.Constant(PTR, None)),
                   likely=False):
        b.call(intrinsic(module, "llvm.trap", VOID, []), [])
        b.unreachable()

    def at(base, off):
        return b.gep(base, [off], source_etype=ir.IntType(8))

    # the operands, moved to the block's first row
    outer = {}
    for v in inputs[:nc] + inputs[nc + nx:] + outputs[:nc]:
        outer[v.name] = at(ctx.buffers[v.name][0],
                           b.mul(lo, row_bytes(v.type)))
    for v in inputs[nc:nc + nx] + outputs[nc:]:
        outer[v.name] = at(ctx.buffers[v.name][0], b.mul(
            lo, row_bytes(v.type.with_shape(v.type.shape[1:]))))
    init = [outer[v.name] for v in inputs[:nc]]
    # the loop-invariant weights, packed once for the whole loop
    packed = {}
    for k, (sid, pi, kk, n, tb, dt) in packs.items():
        dst = at(scratch, pack_off[k])
        w = body.params[pi].type
        b.call(declare_pack_b_full(module, dt), [
            outer[inputs[pi].name], _i64(w.shape[-1]), _i64(int(tb)),
            _i64(kk), _i64(n), dst])
        packed[k] = (sid, dst)
    out_carry = [outer[v.name] for v in outputs[:nc]]
    spare = [at(scratch, off) for off in carry_off]
    # writes alternate W0, W1, ...; the last step (T-1) must write the output
    if length % 2 == 1:
        w0, w1 = out_carry, spare
    else:
        w0, w1 = spare, out_carry
    if length == 0:
        for i in range(nc):
            b.call(_memcpy(module), [out_carry[i], init[i],
                                     numel_bytes(inputs[i].type, True),
                                     ir.Constant(I1, 0)])

    roles = {}  # body param name -> ("c"|"x"|"k", index)
    for k, p in enumerate(body.params):
        if k < nc:
            roles[p.name] = ("c", k)
        elif k < nc + nx:
            roles[p.name] = ("x", k - nc)
        else:
            roles[p.name] = ("k", k)
    # a step's slice of a sequence: at the program's sizes (the block's
    # rows are a part of it)
    slice_bytes = [numel_bytes(body.params[nc + j].type) for j in range(nx)]
    y_bytes = [numel_bytes(r.type) for r in body.results[nc:]]
    body_syms = [rows if s == sym else ctx.syms[s] for s in symbols]

    with for_range(b, _i64(length), name="step") as s:
        tt = b.sub(_i64(length - 1), s) if reverse else s
        odd = b.icmp_unsigned("!=", b.and_(s, _i64(1)), _i64(0))
        first = b.icmp_unsigned("==", s, _i64(0))
        cur = [b.select(first, init[i], b.select(odd, w0[i], w1[i]))
               for i in range(nc)]
        nxt = [b.select(odd, w1[i], w0[i]) for i in range(nc)]
        xs = [at(outer[inputs[nc + j].name], b.mul(tt, slice_bytes[j]))
              for j in range(nx)]
        ys = [at(outer[outputs[nc + j].name], b.mul(tt, y_bytes[j]))
              for j in range(len(y_bytes))]

        def pointer(sid):
            s_ = st[sid]
            if s_.kind == "arena":
                return at(scratch, offsets[sid])
            if s_.kind == "input":
                role, k = roles[s_.name]
                if role == "c":
                    return cur[k]
                if role == "x":
                    return xs[k]
                return outer[inputs[k].name]
            if s_.kind == "output":
                k = int(s_.name[3:])  # "out<k>": result k of the body
                return nxt[k] if k < nc else ys[k - nc]
            raise InternalCompilerError(
                f"scan body @{body.name}: storage s{sid} of kind {s_.kind} "
                "has no place in the loop")

        for k, (kfn, sids, wants_ws) in enumerate(kernels):
            # NOTE: a body kernel runs whole on this thread: (chunk 0 of 1)
            args = [_i64(0), _i64(1)]
            psid, pptr = packed.get(k, (None, None))
            args += [pptr if sid == psid else pointer(sid) for sid in sids]
            args += body_syms
            if wants_ws:
                args.append(workspace)
            b.call(kfn, args)
    b.call(_free(module), [scratch])


class _ScanLowering(Lowering):
    """A `scan` node: one native loop over the steps calling the body's
    kernels (its GEMMs take the workspace); a scan separable over the
    batch runs its blocks of rows on the threads, any other whole on the
    thread taking chunk 0."""

    kind, ops, threaded, workspace = "scan", ("scan",), True, True

    def emit(self, ctx, site) -> None:
        emit_scan(ctx, site.node, site.name, site.workspace, site.layout)


register_lowering(_ScanLowering())
