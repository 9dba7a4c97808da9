"""The matmul template: a packed, register-blocked GEMM in explicit vector
code (a first version; issue 5 tunes it to BLAS class).

C[M,N] = op(A)[M,K] @ op(B)[K,N] for every (broadcast) batch index. op(A)
and op(B) are read through strides, so transpose_a / transpose_b never
materialise a transpose. Per K block of KC and N panel of NR = 2 vector
widths, the B panel is packed (zero padded) into the workspace, then an
MR x NR micro-kernel with MR*2 vector accumulators sweeps the rows of A.

Invariants: the workspace holds KC*NR elements (64-byte aligned, from the
runtime); loads of A and B stay within [0, M) x [0, K) and [0, K) x [0, N);
partial panels are stored through a scalar loop, never past column N.
"""

from __future__ import annotations

from llvmlite import ir

from ..ir.dtypes import DType
from .loops import for_range
from .scalar import I1, I64, PTR, VOID, alloca, intrinsic, reg_type, suffix

KC = 320  # upper bound of a K block; blocks are balanced
SMALL_M = 3  # up to this many rows, no packing (batch-1 inference)


def tile_sizes(dt: DType, vector_bytes: int) -> tuple:
    """(W lanes, MR rows, NR columns) for dtype on this target."""
    w = max(1, vector_bytes // dt.itemsize)
    mr = {64: 12, 32: 6}.get(vector_bytes, 4)
    return w, mr, 2 * w


def workspace_bytes(dt: DType, vector_bytes: int) -> int:
    _, _, nr = tile_sizes(dt, vector_bytes)
    return KC * nr * dt.itemsize


def _c(v):
    return ir.Constant(I64, v)


def _vec_ops(b, dt, vt):
    module = b.module
    if dt.is_float:
        fma = intrinsic(module, f"llvm.fmuladd.{suffix(vt)}", vt, [vt, vt, vt])

        def madd(a, x, acc):
            return b.call(fma, [a, x, acc])

        def add(x, y):
            return b.fadd(x, y)
    else:
        def madd(a, x, acc):
            return b.add(b.mul(a, x), acc)

        def add(x, y):
            return b.add(x, y)
    return madd, add


def _uk_type():
    return ir.FunctionType(VOID, [PTR, I64, I64, PTR, PTR, I64, I64, I64, I1])


def _ukernel(module: ir.Module, dt: DType, vector_bytes: int, mr: int,
             define: bool = True):
    """void uk(A, ars, acs, Bp, C, ldc, nr, kc, first); declared only when
    `define` is False (it then comes from the ukernel library object)."""
    name = f"gk_uk_{dt.name}_{mr}"
    fn = module.globals.get(name)
    if fn is not None:
        return fn
    if not define:
        return ir.Function(module, _uk_type(), name)
    w, _, NR = tile_sizes(dt, vector_bytes)
    t = reg_type(dt)
    vt = ir.VectorType(t, w)
    fty = ir.FunctionType(VOID, [PTR, I64, I64, PTR, PTR, I64, I64, I64, I1])
    fn = ir.Function(module, fty, name)
    A, ars, acs, Bp, C, ldc, nr, kc, first = fn.args
    for p in (A, Bp, C):
        p.add_attribute("noalias")
    b = ir.IRBuilder(fn.append_basic_block("entry"))
    madd, add = _vec_ops(b, dt, vt)
    accs = [[alloca(b, vt) for _ in range(2)] for _ in range(mr)]
    zero = ir.Constant(vt, None)
    for row in accs:
        for a in row:
            b.store(zero, a)
    with for_range(b, kc, name="k") as k:
        bo = b.mul(k, _c(NR))
        bv = [b.load(b.gep(Bp, [b.add(bo, _c(c * w))], source_etype=t),
                     typ=vt, align=w * dt.itemsize) for c in range(2)]
        ko = b.mul(k, acs)
        for r in range(mr):
            ao = b.add(b.mul(_c(r), ars), ko)
            a = b.load(b.gep(A, [ao], source_etype=t), typ=t)
            av = b.insert_element(ir.Constant(vt, ir.Undefined), a, ir.Constant(
                ir.IntType(32), 0))
            av = b.shuffle_vector(av, ir.Constant(vt, ir.Undefined),
                                  ir.Constant(ir.VectorType(ir.IntType(32), w),
                                              [0] * w))
            for c in range(2):
                b.store(madd(av, bv[c], b.load(accs[r][c])), accs[r][c])
    full = b.icmp_signed("==", nr, _c(NR))
    with b.if_else(full) as (then, other):
        with then:
            for r in range(mr):
                for c in range(2):
                    p = b.gep(C, [b.add(b.mul(_c(r), ldc), _c(c * w))],
                              source_etype=t)
                    v = b.load(accs[r][c], typ=vt)
                    with b.if_else(first) as (f_then, f_else):
                        with f_then:
                            b.store(v, p, align=dt.itemsize)
                        with f_else:
                            old = b.load(p, typ=vt, align=dt.itemsize)
                            b.store(add(old, v), p, align=dt.itemsize)
        with other:
            tmp = alloca(b, ir.ArrayType(t, NR))
            for r in range(mr):
                for c in range(2):
                    b.store(b.load(accs[r][c], typ=vt),
                            b.gep(tmp, [_c(0), _c(c * w)],
                                  source_etype=ir.ArrayType(t, NR)),
                            align=dt.itemsize)
                with for_range(b, nr, name="j") as j:
                    v = b.load(b.gep(tmp, [_c(0), j],
                                     source_etype=ir.ArrayType(t, NR)), typ=t)
                    p = b.gep(C, [b.add(b.mul(_c(r), ldc), j)], source_etype=t)
                    old = b.load(p, typ=t)
                    b.store(b.select(first, v, add(old, v)), p)
    b.ret_void()
    return fn


def _small_m(b, dt, A, B, C, M, N, K, ars, acs, brs, bcs, tb, acc):
    """A few rows (batch-1 inference): no packing; stream B once per row.
    Row-major B: C[i, :] += A[i, k] * B[k, :] (vectorised along N);
    transposed B: C[i, j] = dot(A[i, :], Bt[j, :]) (vectorised along K)."""
    t = reg_type(dt)
    fl = dt.is_float

    def mul(x, y):
        return b.fmul(x, y, flags=("contract",)) if fl else b.mul(x, y)

    def add(x, y, reassoc=False):
        if fl:
            return b.fadd(x, y, flags=("contract", "reassoc") if reassoc
                          else ("contract",))
        return b.add(x, y)

    with for_range(b, M, name="si") as i:
        crow = b.mul(i, N)
        if not tb:
            with for_range(b, N, name="sz") as j:
                b.store(ir.Constant(t, None), b.gep(C, [b.add(crow, j)],
                                                     source_etype=t))
            with for_range(b, K, name="sk") as k:
                a = b.load(b.gep(A, [b.add(b.mul(i, ars), b.mul(k, acs))],
                                 source_etype=t), typ=t)
                brow = b.mul(k, brs)
                with for_range(b, N, name="sj") as j:
                    pc = b.gep(C, [b.add(crow, j)], source_etype=t)
                    bv = b.load(b.gep(B, [b.add(brow, j)], source_etype=t), typ=t)
                    b.store(add(b.load(pc, typ=t), mul(a, bv)), pc)
        else:
            with for_range(b, N, name="sj") as j:
                b.store(ir.Constant(t, None), acc)
                bcol = b.mul(j, bcs)
                with for_range(b, K, name="sk") as k:
                    a = b.load(b.gep(A, [b.add(b.mul(i, ars), b.mul(k, acs))],
                                     source_etype=t), typ=t)
                    bv = b.load(b.gep(B, [b.add(bcol, k)], source_etype=t), typ=t)
                    b.store(add(b.load(acc, typ=t), mul(a, bv), True), acc)
                b.store(b.load(acc, typ=t), b.gep(C, [b.add(crow, j)],
                                                  source_etype=t))


def gemm_name(dt: DType, ta: bool, tb: bool) -> str:
    return f"gk_gemm_{dt.name}_{int(ta)}{int(tb)}"


def _gemm_type():
    return ir.FunctionType(VOID, [PTR, PTR, PTR, I64, I64, I64, PTR])


def library_modules(dt: DType, ta: bool, tb: bool) -> tuple:
    """(name, builder) of the library objects a matmul of this kind needs:
    the micro-kernels of dt and the GEMM driver for (ta, tb). They are
    compiled once per machine and cached like programs (codegen/jit.py)."""
    return ((f"uk_{dt.name}", lambda vb: ukernel_library(dt, vb)),
            (gemm_name(dt, ta, tb)[3:], lambda vb: gemm_library(dt, vb, ta, tb)))


def ukernel_library(dt: DType, vector_bytes: int) -> ir.Module:
    module = ir.Module(name=f"gk_uk_{dt.name}")
    _, MR, _ = tile_sizes(dt, vector_bytes)
    for r in range(1, MR + 1):
        _ukernel(module, dt, vector_bytes, r)
    return module


def gemm_library(dt: DType, vector_bytes: int, ta: bool, tb: bool) -> ir.Module:
    module = ir.Module(name=gemm_name(dt, ta, tb))
    gemm_function(module, dt, vector_bytes, ta, tb, define_ukernels=False)
    return module


def declare_gemm(module: ir.Module, dt: DType, ta: bool, tb: bool) -> ir.Function:
    name = gemm_name(dt, ta, tb)
    fn = module.globals.get(name)
    if fn is None:
        fn = ir.Function(module, _gemm_type(), name)
    return fn


def gemm_function(module: ir.Module, dt: DType, vector_bytes: int,
                  ta: bool, tb: bool, define_ukernels: bool = True) -> ir.Function:
    """void gemm(A, B, C, M, N, K, ws): C = op(A) op(B), C row-major."""
    name = gemm_name(dt, ta, tb)
    fn = module.globals.get(name)
    if fn is not None:
        return fn
    _, MR, NR = tile_sizes(dt, vector_bytes)
    t = reg_type(dt)
    fn = ir.Function(module, _gemm_type(), name)
    A, B, C, M, N, K, ws = fn.args
    for p in (A, B, C, ws):
        p.add_attribute("noalias")
    uks = [_ukernel(module, dt, vector_bytes, r, define_ukernels)
           for r in range(1, MR + 1)]
    entry = fn.append_basic_block("entry")
    b = ir.IRBuilder(entry)
    ars, acs = (_c(1), M) if ta else (K, _c(1))
    brs, bcs = (_c(1), K) if tb else (N, _c(1))
    k0p = alloca(b, I64)
    acc = alloca(b, t)
    b.store(_c(0), k0p)
    body = fn.append_basic_block("kblock")
    done = fn.append_basic_block("done")
    small = fn.append_basic_block("small_m")
    b.cbranch(b.icmp_signed("<=", M, _c(SMALL_M)), small, body)
    with b.goto_block(small):
        _small_m(b, dt, A, B, C, M, N, K, ars, acs, brs, bcs, tb, acc)
        b.branch(done)
    b.position_at_end(body)
    k0 = b.load(k0p, typ=I64)
    rem = b.sub(K, k0)
    # equal K blocks (784 -> 262, 262, 260 rather than 256, 256, 256, 16)
    nkb = b.udiv(b.add(K, _c(KC - 1)), _c(KC))
    kbal = b.udiv(b.add(K, b.sub(nkb, _c(1))), b.select(
        b.icmp_signed(">", nkb, _c(0)), nkb, _c(1)))
    kc = b.select(b.icmp_signed("<", rem, kbal), rem, kbal)
    first = b.icmp_signed("==", k0, _c(0))
    npanels = b.udiv(b.add(N, _c(NR - 1)), _c(NR))
    with for_range(b, npanels, name="jp") as jp:
        j0 = b.mul(jp, _c(NR))
        nrem = b.sub(N, j0)
        nr = b.select(b.icmp_signed("<", nrem, _c(NR)), nrem, _c(NR))
        # pack B[k0:k0+kc, j0:j0+nr] as kc rows of NR, zero padded
        if tb:
            with for_range(b, _c(NR), name="pj") as jj:
                inside = b.icmp_signed("<", jj, nr)
                jc = b.select(inside, jj, _c(0))
                col = b.mul(b.add(j0, jc), bcs)
                with for_range(b, kc, name="pk") as kk:
                    src = b.add(col, b.mul(b.add(k0, kk), brs))
                    v = b.load(b.gep(B, [src], source_etype=t), typ=t)
                    v = b.select(inside, v, ir.Constant(t, None))
                    b.store(v, b.gep(ws, [b.add(b.mul(kk, _c(NR)), jj)],
                                     source_etype=t))
        else:
            full = b.icmp_signed("==", nr, _c(NR))
            with b.if_else(full) as (whole, part):
                # a plain copy of NR contiguous values per row
                with whole, for_range(b, kc, name="pk") as kk:
                    row = b.add(b.mul(b.add(k0, kk), brs), j0)
                    with for_range(b, _c(NR), name="pj") as jj:
                        v = b.load(b.gep(B, [b.add(row, jj)], source_etype=t),
                                   typ=t)
                        b.store(v, b.gep(ws, [b.add(b.mul(kk, _c(NR)), jj)],
                                         source_etype=t))
                with part, for_range(b, kc, name="pk") as kk:
                    row = b.mul(b.add(k0, kk), brs)
                    with for_range(b, _c(NR), name="pj") as jj:
                        inside = b.icmp_signed("<", jj, nr)
                        jc = b.select(inside, jj, _c(0))
                        src = b.add(row, b.mul(b.add(j0, jc), bcs))
                        v = b.load(b.gep(B, [src], source_etype=t), typ=t)
                        v = b.select(inside, v, ir.Constant(t, None))
                        b.store(v, b.gep(ws, [b.add(b.mul(kk, _c(NR)), jj)],
                                         source_etype=t))
        nrows = b.udiv(b.add(M, _c(MR - 1)), _c(MR))
        with for_range(b, nrows, name="ip") as ip:
            i0 = b.mul(ip, _c(MR))
            mrem = b.sub(M, i0)
            aptr = b.gep(A, [b.add(b.mul(i0, ars), b.mul(k0, acs))],
                         source_etype=t)
            cptr = b.gep(C, [b.add(b.mul(i0, N), j0)], source_etype=t)
            args = [aptr, ars, acs, ws, cptr, N, nr, kc, first]
            tail = b.icmp_signed("<", mrem, _c(MR))
            with b.if_else(tail) as (then, other):
                with then:
                    sw_end = fn.append_basic_block("sw.end")
                    sw = b.switch(mrem, sw_end)
                    for r in range(1, MR):
                        blk = fn.append_basic_block(f"mr{r}")
                        sw.add_case(ir.Constant(I64, r), blk)
                        with b.goto_block(blk):
                            b.call(uks[r - 1], args)
                            b.branch(sw_end)
                    b.position_at_end(sw_end)
                with other:
                    b.call(uks[MR - 1], args)
    k1 = b.add(k0, kc)
    b.store(k1, k0p)
    b.cbranch(b.icmp_signed("<", k1, K), body, done)
    b.position_at_end(done)
    b.ret_void()
    return fn


def emit_matmul(ctx, node, workspace, vector_bytes: int) -> None:
    """Call the module's GEMM for every batch index of `node`."""
    from .kernels import MultiIndex
    from .loops import loop_nest

    b = ctx.b
    a, bm = node.inputs
    out = node.outputs[0]
    ta, tb = node.attrs["transpose_a"], node.attrs["transpose_b"]
    dt = out.dtype
    gemm = declare_gemm(b.module, dt, ta, tb)
    M, N = ctx.dim(out.shape[-2]), ctx.dim(out.shape[-1])
    K = ctx.dim(a.shape[-2] if ta else a.shape[-1])
    batch = out.shape[:-2]
    a_mat = ctx.mul(ctx.dim(a.shape[-2]), ctx.dim(a.shape[-1]))
    b_mat = ctx.mul(ctx.dim(bm.shape[-2]), ctx.dim(bm.shape[-1]))
    c_mat = ctx.mul(M, N)
    with loop_nest(b, [ctx.dim(d) for d in batch], name="bt") as bc:
        idx = MultiIndex(ctx, list(bc), batch)
        ao = ctx.mul(idx.offset(a.shape[:-2]), a_mat)
        bo = ctx.mul(idx.offset(bm.shape[:-2]), b_mat)
        co = ctx.mul(idx.offset(batch), c_mat)
        b.call(gemm, [ctx.addr(a.name, ao), ctx.addr(bm.name, bo),
                      ctx.addr(out.name, co), M, N, K, workspace])
    b.ret_void()
