"""The GEMM: a packed, cache-blocked, register-blocked matrix product in
explicit vector code, compiled once per machine as a library object.

    void gk_gemm_<dt>(A, B, C, M, N, K, lda, ldb, ldc, flags, ws,
                      ep, epctx, tid, nthreads)

computes C[M,N] = op(A)[M,K] @ op(B)[K,N] (C row-major with row stride
ldc); op(A) is A (row-major, stride lda) or, with flags & TRANS_A, the
transpose of a row-major [K,M] array; likewise op(B) with TRANS_B. No
transpose is ever materialised: packing reads either layout.

Loops (the BLIS order; sizes from the host's caches, `blocking()`):

    for jc in N step NC:                  B block kc x nc in L3
      for pc in K step KC (balanced):     A block mc x kc in L2
        pack B[pc:, jc:] into NR-wide panels (zero padded)
        for ic in M step MC:
          pack A (op(A) transposed only: MR-wide panels, zero padded;
                  otherwise the micro-kernel reads A's rows in place)
          for jr in nc step NR: for ir in mc step MR:
            micro-kernel MR x NR (MR*NR/W vector accumulators)
            after the last K block: ep(epctx, i, j, mr, nr)

Micro-kernel: 6 x 16 float32 with AVX2 (12 ymm accumulators), 12 x 32 with
AVX-512 (24 zmm), 4 x 8 with SSE; chosen by the host's vector width. Edge
tiles (mr < MR or nr < NR) run the same kernel into a tile buffer that is
then copied, so every M, N, K works and loads never leave A, B or the
packed panels. At most SMALL_M rows (batch-1 inference) take an unpacked
path that streams B once, vectorised along N (masked vectors at the edge).

Threads: thread `tid` of `nthreads` computes a block of whole NR column
panels (or MR row panels when N is narrow), packing what it needs into its
own workspace `ws`; K is never split, so every element of C is summed by
one thread in a fixed order and results do not depend on the thread count.
flags & COLUMNS forces the column split (epilogues that sum columns).

Epilogue: `ep` (or null) is called once per C tile after its final value
is stored, as ep(epctx, i0, j0, mr, nr); tiles of one column range come in
increasing row order (column sums rely on it: the tile with i0 == 0 of a
column comes first). With M == 0 it is called once per column panel with
mr == 0, so column sums still start at zero.

Invariants: the workspace of one thread is `workspace_bytes()` bytes,
64-byte aligned; loads stay within op(A) [0,M)x[0,K), op(B) [0,K)x[0,N)
and the thread's workspace; stores stay within the thread's C block.
"""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass

from llvmlite import ir

from ..ir.dtypes import DType
from .loops import for_range
from .scalar import I1, I32, I64, PTR, VOID, alloca, intrinsic, reg_type, suffix

SMALL_M = 4  # up to this many rows: no packing (batch-1 inference)
TRANS_A, TRANS_B, COLUMNS = 1, 2, 4
EP_TYPE = ir.FunctionType(VOID, [PTR, I64, I64, I64, I64])


# --- blocking ----------------------------------------------------------------------


def _sysfs_caches() -> dict:
    """{level: (bytes, cpus sharing it)} of cpu0's data/unified caches."""
    out = {}
    base = "/sys/devices/system/cpu/cpu0/cache"
    try:
        entries = sorted(os.listdir(base))
    except OSError:
        return out
    for e in entries:
        if not e.startswith("index"):
            continue
        try:
            with open(os.path.join(base, e, "type")) as f:
                kind = f.read().strip()
            with open(os.path.join(base, e, "level")) as f:
                level = int(f.read())
            with open(os.path.join(base, e, "size")) as f:
                size = f.read().strip()
            with open(os.path.join(base, e, "shared_cpu_list")) as f:
                shared = f.read().strip()
        except (OSError, ValueError):
            continue
        if kind == "Instruction":
            continue
        mult = {"K": 1024, "M": 1024**2}.get(size[-1:], 1)
        nbytes = int(size.rstrip("KM")) * mult
        cpus = 0
        for part in shared.split(","):
            lo, _, hi = part.partition("-")
            cpus += int(hi or lo) - int(lo) + 1 if lo else 0
        out[level] = (nbytes, max(cpus, 1))
    return out


@functools.cache
def cache_sizes() -> tuple:
    """(L1d, L2, L3 per core) in bytes: sysfs when readable, else typical
    sizes of current x86 cores."""
    c = _sysfs_caches()
    l1 = c.get(1, (32 * 1024, 1))[0]
    l2 = c.get(2, (512 * 1024, 1))[0]
    l3, share = c.get(3, (2 * 1024 * 1024, 1))
    return l1, l2, max(l3 // share, l2)


@dataclass(frozen=True)
class Blocking:
    w: int  # lanes of one vector
    mr: int  # micro-tile rows
    nr: int  # micro-tile columns (a multiple of w)
    kc: int  # K block (A and B micro-panels stay in L1)
    mc: int  # M block (the A block stays in L2)
    nc: int  # N block (the B block stays in L3)

    def key(self) -> str:
        return f"{self.w}x{self.mr}x{self.nr}k{self.kc}m{self.mc}n{self.nc}"


def blocking(dt: DType, vector_bytes: int, caches: tuple | None = None) \
        -> Blocking:
    """Tile and block sizes for dt on a host with this vector width and
    these cache sizes (cache_sizes() by default)."""
    l1, l2, l3 = caches or cache_sizes()
    size = dt.itemsize
    w = max(1, vector_bytes // size)
    # accumulators: MR * NR / w of the 16 (32 with AVX-512) vector registers
    mr = {64: 12, 32: 6}.get(vector_bytes, 4)
    nr = 2 * w
    # micro-panels of A (mr x kc) and B (kc x nr) in about 3/4 of L1
    kc = (l1 * 3 // 4) // ((mr + nr) * size)
    kc = max(64, min(512, kc // 8 * 8))
    mc = max(mr, min(1020, (l2 // 2) // (kc * size) // mr * mr))
    nc = max(nr, min(4096, (l3 // 2) // (kc * size) // nr * nr))
    return Blocking(w, mr, nr, kc, mc, nc)


def tile_sizes(dt: DType, vector_bytes: int) -> tuple:
    """(W lanes, MR rows, NR columns) for dtype on this target."""
    bk = blocking(dt, vector_bytes)
    return bk.w, bk.mr, bk.nr


def workspace_bytes(dt: DType, vector_bytes: int) -> int:
    """Bytes of GEMM workspace one thread needs (packed A block, packed B
    block, one edge tile), each part 64-byte aligned."""
    bk = blocking(dt, vector_bytes)
    parts = (bk.mc * bk.kc, bk.kc * bk.nc, bk.mr * bk.nr)
    return sum(_round64(n * dt.itemsize) for n in parts)


def _round64(n: int) -> int:
    return (n + 63) // 64 * 64


# --- small helpers -------------------------------------------------------------------


def _c(v) -> ir.Constant:
    return ir.Constant(I64, int(v))


def _min(b, x, y):
    return b.select(b.icmp_signed("<", x, y), x, y)


def _ceil_div(b, x, d):
    if isinstance(d, int):
        return b.sdiv(b.add(x, _c(d - 1)), _c(d))
    return b.sdiv(b.add(x, b.sub(d, _c(1))), d)


def _gep(b, p, off, t):
    return b.gep(p, [off], source_etype=t)


class _Vec:
    """Vector arithmetic of one element type (FMA for floats)."""

    def __init__(self, b: ir.IRBuilder, dt: DType, w: int):
        self.b = b
        self.dt = dt
        self.t = reg_type(dt)
        self.vt = ir.VectorType(self.t, w)
        self.w = w
        self.zero = ir.Constant(self.vt, None)
        if dt.is_float:
            self._fma = intrinsic(b.module, f"llvm.fma.{suffix(self.vt)}",
                                  self.vt, [self.vt] * 3)

    def madd(self, a, x, acc):
        if self.dt.is_float:
            return self.b.call(self._fma, [a, x, acc])
        return self.b.add(self.b.mul(a, x), acc)

    def add(self, x, y):
        if self.dt.is_float:
            return self.b.fadd(x, y)
        return self.b.add(x, y)

    def splat(self, s):
        b = self.b
        v = b.insert_element(ir.Constant(self.vt, ir.Undefined), s,
                             ir.Constant(I32, 0))
        return b.shuffle_vector(v, ir.Constant(self.vt, ir.Undefined),
                                ir.Constant(ir.VectorType(I32, self.w),
                                            [0] * self.w))

    def load(self, p, align=None):
        return self.b.load(p, typ=self.vt, align=align or self.dt.itemsize)

    def store(self, v, p, align=None):
        self.b.store(v, p, align=align or self.dt.itemsize)

    def mask(self, n):
        """<w x i1>: lane < n (n an i64)."""
        b = self.b
        lanes = ir.Constant(ir.VectorType(I64, self.w), list(range(self.w)))
        nv = b.insert_element(ir.Constant(ir.VectorType(I64, self.w),
                                          ir.Undefined), n, ir.Constant(I32, 0))
        nv = b.shuffle_vector(nv, ir.Constant(ir.VectorType(I64, self.w),
                                              ir.Undefined),
                              ir.Constant(ir.VectorType(I32, self.w),
                                          [0] * self.w))
        return b.icmp_signed("<", lanes, nv)

    def masked_load(self, p, m):
        mt = ir.VectorType(I1, self.w)
        fn = intrinsic(self.b.module, f"llvm.masked.load.{suffix(self.vt)}.p0",
                       self.vt, [PTR, I32, mt, self.vt])
        return self.b.call(fn, [p, ir.Constant(I32, self.dt.itemsize), m,
                                self.zero])

    def masked_store(self, v, p, m):
        mt = ir.VectorType(I1, self.w)
        fn = intrinsic(self.b.module,
                       f"llvm.masked.store.{suffix(self.vt)}.p0", VOID,
                       [self.vt, PTR, I32, mt])
        self.b.call(fn, [v, p, ir.Constant(I32, self.dt.itemsize), m])


def _counted_loop(b: ir.IRBuilder, fn: ir.Function, n, carried: list,
                  name: str):
    """A loop k = 0..n-1 carrying the values `carried` (phis). Returns
    (k, phis, finish) where finish(new_values) closes the loop and returns
    the carried values after it (the builder is left after the loop)."""
    pre = b.block
    head = fn.append_basic_block(f"{name}.head")
    body = fn.append_basic_block(f"{name}.body")
    end = fn.append_basic_block(f"{name}.end")
    b.branch(head)
    b.position_at_end(head)
    k = b.phi(I64, name=name)
    k.add_incoming(_c(0), pre)
    phis = []
    for v in carried:
        p = b.phi(v.type)
        p.add_incoming(v, pre)
        phis.append(p)
    b.cbranch(b.icmp_signed("<", k, n), body, end)
    b.position_at_end(body)

    def finish(new_values):
        latch = b.block
        k.add_incoming(b.add(k, _c(1), flags=("nsw",)), latch)
        for p, v in zip(phis, new_values):
            p.add_incoming(v, latch)
        b.branch(head)
        b.position_at_end(end)
        return phis

    return k, phis, finish


# --- the micro-kernel ----------------------------------------------------------------


def _ukernel(module: ir.Module, dt: DType, bk: Blocking) -> ir.Function:
    """void uk(kc, Ap, Bp, C, ldc, accumulate): acc = sum_k Ap[k, :MR]
    (outer) Bp[k, :NR] over packed panels, then C[r, :NR] = acc[r]
    (accumulate == 0) or C[r, :NR] += acc[r]."""
    name = f"gk_uk_{dt.name}"
    fn = module.globals.get(name)
    if fn is not None:
        return fn
    fty = ir.FunctionType(VOID, [I64, PTR, PTR, PTR, I64, I64])
    fn = ir.Function(module, fty, name)
    fn.linkage = "internal"
    kc, Ap, Bp, C, ldc, accumulate = fn.args
    for p in (Ap, Bp, C):
        p.add_attribute("noalias")
    b = ir.IRBuilder(fn.append_basic_block("entry"))
    v = _Vec(b, dt, bk.w)
    t = v.t
    nv = bk.nr // bk.w
    accs = [v.zero] * (bk.mr * nv)
    k, phis, finish = _counted_loop(b, fn, kc, accs, "k")
    ka = b.mul(k, _c(bk.mr))
    kb = b.mul(k, _c(bk.nr))
    bvec = [v.load(_gep(b, Bp, b.add(kb, _c(c * bk.w)), t),
                   align=min(64, bk.w * dt.itemsize)) for c in range(nv)]
    new = []
    for r in range(bk.mr):
        a = v.splat(b.load(_gep(b, Ap, b.add(ka, _c(r)), t), typ=t))
        for c in range(nv):
            new.append(v.madd(a, bvec[c], phis[r * nv + c]))
    accs = finish(new)
    acc_on = b.icmp_signed("!=", accumulate, _c(0))
    with b.if_else(acc_on) as (add, put):
        with add:
            for r in range(bk.mr):
                row = b.mul(_c(r), ldc)
                for c in range(nv):
                    p = _gep(b, C, b.add(row, _c(c * bk.w)), t)
                    v.store(v.add(v.load(p), accs[r * nv + c]), p)
        with put:
            for r in range(bk.mr):
                row = b.mul(_c(r), ldc)
                for c in range(nv):
                    v.store(accs[r * nv + c],
                            _gep(b, C, b.add(row, _c(c * bk.w)), t))
    b.ret_void()
    return fn


# --- packing ---------------------------------------------------------------------------


def _pack_b(module, dt: DType, bk: Blocking) -> ir.Function:
    """void pack_b(B, ldb, tb, k0, kc, j0, nc, Bp): op(B)[k0:k0+kc,
    j0:j0+nc] into ceil(nc/NR) panels of kc x NR (zero padded)."""
    name = f"gk_pack_b_{dt.name}"
    fn = module.globals.get(name)
    if fn is not None:
        return fn
    fn = ir.Function(module, ir.FunctionType(
        VOID, [PTR, I64, I64, I64, I64, I64, I64, PTR]), name)
    fn.linkage = "internal"
    B, ldb, tb, k0, kc, j0, nc, Bp = fn.args
    for p in (B, Bp):
        p.add_attribute("noalias")
    b = ir.IRBuilder(fn.append_basic_block("entry"))
    t = reg_type(dt)
    NR = bk.nr
    zero = ir.Constant(t, None)
    npan = _ceil_div(b, nc, NR)
    with for_range(b, npan, name="p") as p:
        jp = b.add(j0, b.mul(p, _c(NR)))
        nrp = _min(b, _c(NR), b.sub(nc, b.mul(p, _c(NR))))
        base = b.mul(p, b.mul(kc, _c(NR)))
        full = b.icmp_signed("==", nrp, _c(NR))
        with b.if_else(b.icmp_signed("!=", tb, _c(0))) as (trans, plain):
            # op(B)[k, j] = B[j*ldb + k]: column c of the panel is a
            # contiguous run of B's row jp + c
            with trans, for_range(b, _c(NR), name="c") as c:
                inside = b.icmp_signed("<", c, nrp)
                src = _gep(b, B, b.add(b.mul(b.add(jp, _min(b, c, b.sub(
                    nrp, _c(1)))), ldb), k0), t)
                with for_range(b, kc, name="k") as k:
                    x = b.load(_gep(b, src, k, t), typ=t)
                    b.store(b.select(inside, x, zero), _gep(
                        b, Bp, b.add(base, b.add(b.mul(k, _c(NR)), c)), t))
            with plain, b.if_else(full) as (whole, part):
                with whole, for_range(b, kc, name="k") as k:
                    src = b.add(b.mul(b.add(k0, k), ldb), jp)
                    dst = b.add(base, b.mul(k, _c(NR)))
                    for c in range(NR // bk.w):
                        vv = _Vec(b, dt, bk.w)
                        x = vv.load(_gep(b, B, b.add(src, _c(c * bk.w)), t))
                        vv.store(x, _gep(b, Bp, b.add(dst, _c(c * bk.w)), t),
                                 align=min(64, bk.w * dt.itemsize))
                with part, for_range(b, kc, name="k") as k:
                    src = b.add(b.mul(b.add(k0, k), ldb), jp)
                    dst = b.add(base, b.mul(k, _c(NR)))
                    with for_range(b, _c(NR), name="c") as c:
                        inside = b.icmp_signed("<", c, nrp)
                        x = b.load(_gep(b, B, b.add(src, _min(b, c, b.sub(
                            nrp, _c(1)))), t), typ=t)
                        b.store(b.select(inside, x, zero),
                                _gep(b, Bp, b.add(dst, c), t))
    b.ret_void()
    return fn


def _pack_a(module, dt: DType, bk: Blocking) -> ir.Function:
    """void pack_a(A, lda, ta, i0, mc, k0, kc, Ap): op(A)[i0:i0+mc,
    k0:k0+kc] into ceil(mc/MR) panels of kc x MR (zero padded); op(A)[i, k]
    is A[i*lda + k], or A[k*lda + i] when ta."""
    name = f"gk_pack_a_{dt.name}"
    fn = module.globals.get(name)
    if fn is not None:
        return fn
    fn = ir.Function(module, ir.FunctionType(
        VOID, [PTR, I64, I64, I64, I64, I64, I64, PTR]), name)
    fn.linkage = "internal"
    A, lda, ta, i0, mc, k0, kc, Ap = fn.args
    for p in (A, Ap):
        p.add_attribute("noalias")
    b = ir.IRBuilder(fn.append_basic_block("entry"))
    t = reg_type(dt)
    MR = bk.mr
    zero = ir.Constant(t, None)
    is_ta = b.icmp_signed("!=", ta, _c(0))
    rs = b.select(is_ta, _c(1), lda)  # element (i, k) at i*rs + k*cs
    cs = b.select(is_ta, lda, _c(1))
    npan = _ceil_div(b, mc, MR)
    with for_range(b, npan, name="q") as q:
        iq = b.add(i0, b.mul(q, _c(MR)))
        mrq = _min(b, _c(MR), b.sub(mc, b.mul(q, _c(MR))))
        base = b.mul(q, b.mul(kc, _c(MR)))
        full = b.icmp_signed("==", mrq, _c(MR))
        rows = [_gep(b, A, b.add(b.mul(_min(b, _c(r), b.sub(mrq, _c(1))), rs),
                                 b.add(b.mul(iq, rs), b.mul(k0, cs))), t)
                for r in range(MR)]
        with b.if_else(full) as (whole, part):
            with whole, for_range(b, kc, name="k") as k:
                ko = b.mul(k, cs)
                dst = b.add(base, b.mul(k, _c(MR)))
                for r in range(MR):
                    x = b.load(_gep(b, rows[r], ko, t), typ=t)
                    b.store(x, _gep(b, Ap, b.add(dst, _c(r)), t))
            with part, for_range(b, kc, name="k") as k:
                ko = b.mul(k, cs)
                dst = b.add(base, b.mul(k, _c(MR)))
                for r in range(MR):
                    x = b.load(_gep(b, rows[r], ko, t), typ=t)
                    x = b.select(b.icmp_signed("<", _c(r), mrq), x, zero)
                    b.store(x, _gep(b, Ap, b.add(dst, _c(r)), t))
    b.ret_void()
    return fn


# --- the small-M path ----------------------------------------------------------------


def _small_m(b, fn, dt: DType, bk: Blocking, A, B, C, M, K, lda, ldb, ldc,
             ta, tb, n0, n1, ep, epctx):
    """M <= SMALL_M rows, columns n0:n1: no packing. Row-major B streams
    once, U vectors of columns at a time (U*m accumulators), masked vectors
    at the right edge; transposed B: one dot product per element."""
    t = reg_type(dt)
    has_ep = b.icmp_unsigned("!=", b.ptrtoint(ep, I64), _c(0))
    rsa = b.select(ta, _c(1), lda)
    csa = b.select(ta, lda, _c(1))

    def a_at(i, k):
        return b.load(_gep(b, A, b.add(b.mul(_c(i), rsa), b.mul(k, csa)), t),
                      typ=t)

    def call_ep(j0, nr):
        with b.if_then(has_ep):
            b.call(ep, [epctx, _c(0), j0, M, nr])

    with b.if_else(b.icmp_signed("!=", tb, _c(0))) as (trans, plain):
        with trans, for_range(b, b.sub(n1, n0), name="sj") as jj:
            j = b.add(n0, jj)
            brow = _gep(b, B, b.mul(j, ldb), t)
            with for_range(b, M, name="si") as i:
                acc = alloca(b, t)
                b.store(ir.Constant(t, None), acc)
                arow = _gep(b, A, b.mul(i, rsa), t)
                with for_range(b, K, name="sk") as k:
                    x = b.load(_gep(b, arow, b.mul(k, csa), t), typ=t)
                    y = b.load(_gep(b, brow, k, t), typ=t)
                    old = b.load(acc, typ=t)
                    if dt.is_float:
                        s = b.fadd(old, b.fmul(x, y, flags=("contract",)),
                                   flags=("contract", "reassoc"))
                    else:
                        s = b.add(old, b.mul(x, y))
                    b.store(s, acc)
                b.store(b.load(acc, typ=t), _gep(b, C, b.add(b.mul(i, ldc), j),
                                                 t))
            call_ep(j, _c(1))
        with plain:
            sw_end = fn.append_basic_block("small.end")
            sw = b.switch(M, sw_end)
            for m in range(1, SMALL_M + 1):
                blk = fn.append_basic_block(f"small.m{m}")
                sw.add_case(_c(m), blk)
                with b.goto_block(blk):
                    _small_rows(b, fn, dt, bk, m, a_at, B, C, K, ldb, ldc,
                                n0, n1, call_ep)
                    b.branch(sw_end)
            b.position_at_end(sw_end)


def _small_rows(b, fn, dt, bk, m, a_at, B, C, K, ldb, ldc, n0, n1, call_ep):
    v = _Vec(b, dt, bk.w)
    w = bk.w
    t = v.t
    u = max(1, min(8, 8 // m))  # vectors per chunk: m * u accumulators
    cw = u * w
    nfull = b.sdiv(b.sub(n1, n0), _c(cw))
    with for_range(b, nfull, name="sc") as ch:
        j0 = b.add(n0, b.mul(ch, _c(cw)))
        k, phis, finish = _counted_loop(b, fn, K, [v.zero] * (m * u), "sk")
        brow = b.add(b.mul(k, ldb), j0)
        bv = [v.load(_gep(b, B, b.add(brow, _c(c * w)), t)) for c in range(u)]
        new = []
        for i in range(m):
            a = v.splat(a_at(i, k))
            for c in range(u):
                new.append(v.madd(a, bv[c], phis[i * u + c]))
        accs = finish(new)
        for i in range(m):
            for c in range(u):
                v.store(accs[i * u + c], _gep(b, C, b.add(b.add(
                    b.mul(_c(i), ldc), j0), _c(c * w)), t))
        call_ep(j0, _c(cw))
    # the rest: single vectors, the last one masked
    jt = b.add(n0, b.mul(nfull, _c(cw)))
    nvec = _ceil_div(b, b.sub(n1, jt), w)
    with for_range(b, nvec, name="sv") as q:
        j0 = b.add(jt, b.mul(q, _c(w)))
        msk = v.mask(b.sub(n1, j0))
        k, phis, finish = _counted_loop(b, fn, K, [v.zero] * m, "skm")
        bv = v.masked_load(_gep(b, B, b.add(b.mul(k, ldb), j0), t), msk)
        accs = finish([v.madd(v.splat(a_at(i, k)), bv, phis[i])
                       for i in range(m)])
        for i in range(m):
            v.masked_store(accs[i], _gep(b, C, b.add(b.mul(_c(i), ldc), j0), t),
                           msk)
        call_ep(j0, _min(b, _c(w), b.sub(n1, j0)))


# --- the driver ------------------------------------------------------------------------


def gemm_name(dt: DType) -> str:
    return f"gk_gemm_{dt.name}"


def _gemm_type() -> ir.FunctionType:
    # A, B, C, M, N, K, lda, ldb, ldc, flags, ws, ep, epctx, tid, nthreads
    return ir.FunctionType(VOID, [PTR, PTR, PTR] + [I64] * 7 + [
        PTR, EP_TYPE.as_pointer(), PTR, I64, I64])


def declare_gemm(module: ir.Module, dt: DType) -> ir.Function:
    name = gemm_name(dt)
    fn = module.globals.get(name)
    if fn is None:
        fn = ir.Function(module, _gemm_type(), name)
    return fn


def _split(b, n, parts, tid, nth):
    """[lo, hi) of `parts` units for thread tid of nth (balanced)."""
    lo = b.sdiv(b.mul(parts, tid), nth)
    hi = b.sdiv(b.mul(parts, b.add(tid, _c(1))), nth)
    return lo, hi


def gemm_function(module: ir.Module, dt: DType, bk: Blocking) -> ir.Function:
    name = gemm_name(dt)
    fn = module.globals.get(name)
    if fn is not None and not fn.is_declaration:
        return fn
    if fn is None:
        fn = ir.Function(module, _gemm_type(), name)
    (A, B, C, M, N, K, lda, ldb, ldc, flags, ws, ep, epctx, tid,
     nth) = fn.args
    for p in (A, B, C, ws):
        p.add_attribute("noalias")
    uk = _ukernel(module, dt, bk)
    pack_b = _pack_b(module, dt, bk)
    pack_a = _pack_a(module, dt, bk)
    t = reg_type(dt)
    MR, NR = bk.mr, bk.nr
    b = ir.IRBuilder(fn.append_basic_block("entry"))
    done = fn.append_basic_block("done")
    ta = b.and_(flags, _c(TRANS_A))
    tb = b.and_(flags, _c(TRANS_B))
    forced = b.icmp_signed("!=", b.and_(flags, _c(COLUMNS)), _c(0))
    has_ep = b.icmp_unsigned("!=", b.ptrtoint(ep, I64), _c(0))
    # workspace: packed A block, packed B block, edge tile
    sz = dt.itemsize
    ap_ws = ws
    bp_ws = _gep(b, ws, _c(_round64(bk.mc * bk.kc * sz) // sz), t)
    tile = _gep(b, bp_ws, _c(_round64(bk.kc * bk.nc * sz) // sz), t)

    # which block of C is this thread's
    mp = _ceil_div(b, M, MR)
    np_ = _ceil_div(b, N, NR)
    small = b.icmp_signed("<=", M, _c(SMALL_M))
    # columns unless rows are the wider split (or columns are forced)
    by_cols = b.or_(b.or_(forced, small), b.or_(
        b.icmp_signed(">=", np_, mp), b.icmp_signed("<", mp, nth)))
    clo, chi = _split(b, N, np_, tid, nth)
    rlo, rhi = _split(b, M, mp, tid, nth)
    n0 = b.select(by_cols, b.mul(clo, _c(NR)), _c(0))
    n1 = b.select(by_cols, _min(b, b.mul(chi, _c(NR)), N), N)
    m0 = b.select(by_cols, _c(0), b.mul(rlo, _c(MR)))
    m1 = b.select(by_cols, M, _min(b, b.mul(rhi, _c(MR)), M))
    empty_cols = b.icmp_signed(">=", n0, n1)
    b.cbranch(empty_cols, done, fn.append_basic_block("cols"))
    b.position_at_end(fn.blocks[-1])

    # M == 0: no tile; column epilogues still run once per panel
    zero_rows = fn.append_basic_block("zero_rows")
    nonzero = fn.append_basic_block("rows")
    b.cbranch(b.icmp_signed("==", M, _c(0)), zero_rows, nonzero)
    with b.goto_block(zero_rows):
        with b.if_then(has_ep), for_range(
                b, _ceil_div(b, b.sub(n1, n0), NR), name="zp") as p:
            j = b.add(n0, b.mul(p, _c(NR)))
            b.call(ep, [epctx, _c(0), j, _c(0), _min(b, _c(NR), b.sub(n1, j))])
        b.branch(done)
    b.position_at_end(nonzero)
    b.cbranch(b.icmp_signed(">=", m0, m1), done, fn.append_basic_block("go"))
    b.position_at_end(fn.blocks[-1])

    small_blk = fn.append_basic_block("small")
    big_blk = fn.append_basic_block("big")
    b.cbranch(small, small_blk, big_blk)
    with b.goto_block(small_blk):
        _small_m(b, fn, dt, bk, A, B, C, M, K, lda, ldb, ldc,
                 b.icmp_signed("!=", ta, _c(0)), tb, n0, n1, ep, epctx)
        b.branch(done)
    b.position_at_end(big_blk)

    # balanced K blocks (784 -> 262, 262, 260 rather than 256 x 3 + 16)
    nkb = b.select(b.icmp_signed(">", K, _c(0)), _ceil_div(b, K, bk.kc), _c(1))
    kcb = _ceil_div(b, K, nkb)
    ncount = _ceil_div(b, b.sub(n1, n0), bk.nc)
    with for_range(b, ncount, name="jc") as jci:
        jc = b.add(n0, b.mul(jci, _c(bk.nc)))
        nc = _min(b, _c(bk.nc), b.sub(n1, jc))
        with for_range(b, nkb, name="pc") as pci:
            pc = b.mul(pci, kcb)
            kc = _min(b, kcb, b.sub(K, pc))
            kc = b.select(b.icmp_signed("<", kc, _c(0)), _c(0), kc)
            first = b.icmp_signed("==", pci, _c(0))
            last = b.icmp_signed("==", pci, b.sub(nkb, _c(1)))
            b.call(pack_b, [B, ldb, tb, pc, kc, jc, nc, bp_ws])
            mcount = _ceil_div(b, b.sub(m1, m0), bk.mc)
            with for_range(b, mcount, name="ic") as ici:
                ic = b.add(m0, b.mul(ici, _c(bk.mc)))
                mc = _min(b, _c(bk.mc), b.sub(m1, ic))
                b.call(pack_a, [A, lda, ta, ic, mc, pc, kc, ap_ws])
                with for_range(b, _ceil_div(b, nc, NR), name="jr") as jri:
                    jr = b.mul(jri, _c(NR))
                    nr = _min(b, _c(NR), b.sub(nc, jr))
                    bp = _gep(b, bp_ws, b.mul(jr, kc), t)
                    with for_range(b, _ceil_div(b, mc, MR), name="ir") as iri:
                        ir_ = b.mul(iri, _c(MR))
                        mr = _min(b, _c(MR), b.sub(mc, ir_))
                        ap = _gep(b, ap_ws, b.mul(iri, b.mul(kc, _c(MR))), t)
                        row = b.add(ic, ir_)
                        col = b.add(jc, jr)
                        cp = _gep(b, C, b.add(b.mul(row, ldc), col), t)
                        acc = b.zext(b.not_(first), I64)
                        full = b.and_(b.icmp_signed("==", mr, _c(MR)),
                                      b.icmp_signed("==", nr, _c(NR)))
                        with b.if_else(full) as (whole, edge):
                            with whole:
                                b.call(uk, [kc, ap, bp, cp, ldc, acc])
                            with edge:
                                b.call(uk, [kc, ap, bp, tile, _c(NR), _c(0)])
                                _copy_tile(b, dt, tile, NR, cp, ldc, mr, nr,
                                           first)
                        with b.if_then(b.and_(last, has_ep)):
                            b.call(ep, [epctx, row, col, mr, nr])
    b.branch(done)
    b.position_at_end(done)
    b.ret_void()
    return fn


def _copy_tile(b, dt, tile, ldt, cp, ldc, mr, nr, first):
    """C[:mr, :nr] (+)= tile[:mr, :nr]."""
    t = reg_type(dt)
    with for_range(b, mr, name="tr") as r, for_range(b, nr, name="tc") as c:
        x = b.load(_gep(b, tile, b.add(b.mul(r, _c(ldt)), c), t), typ=t)
        p = _gep(b, cp, b.add(b.mul(r, ldc), c), t)
        old = b.load(p, typ=t)
        s = b.fadd(old, x) if dt.is_float else b.add(old, x)
        b.store(b.select(first, x, s), p)


# --- library objects and the program-side call ----------------------------------------


def library_name(dt: DType, vector_bytes: int) -> str:
    return f"gemm_{dt.name}_{blocking(dt, vector_bytes).key()}"


def gemm_library(dt: DType, vector_bytes: int) -> ir.Module:
    module = ir.Module(name=library_name(dt, vector_bytes))
    gemm_function(module, dt, blocking(dt, vector_bytes))
    return module


def library_modules(dt: DType, ta: bool = False, tb: bool = False,
                    vector_bytes: int | None = None) -> tuple:
    """(name, builder) of the library object a matmul of dt needs (one
    driver serves every transpose combination). The builder takes the
    vector width; the object is compiled once per machine and cached
    (codegen/jit.py)."""
    if vector_bytes is None:
        from .target import host

        vector_bytes = host().vector_bytes
    return ((library_name(dt, vector_bytes),
             lambda vb: gemm_library(dt, vb)),)


def gemm_flags(ta: bool, tb: bool, columns: bool = False) -> int:
    return (TRANS_A if ta else 0) | (TRANS_B if tb else 0) | (
        COLUMNS if columns else 0)


def thread_args(ctx):
    """(tid, nthreads) of the kernel function being emitted (every kernel
    function takes them first)."""
    return ctx.fn.args[0], ctx.fn.args[1]


def thread_workspace(ctx, workspace, dt: DType, vector_bytes: int):
    """This thread's slice of the program's GEMM workspace."""
    tid, _ = thread_args(ctx)
    per = workspace_bytes(dt, vector_bytes)
    return ctx.b.gep(workspace, [ctx.b.mul(tid, _c(per))],
                     source_etype=ir.IntType(8))


def emit_matmul(ctx, node, workspace, vector_bytes: int, *, ep=None,
                epctx=None, columns: bool = False, ret: bool = True) -> None:
    """Call the GEMM for every batch index of `node` (the calling kernel's
    thread takes its share of each product). `ep`/`epctx`: an epilogue
    (2-D products only)."""
    from .kernels import MultiIndex
    from .loops import loop_nest

    b = ctx.b
    a, bm = node.inputs
    out = node.outputs[0]
    ta, tb = node.attrs["transpose_a"], node.attrs["transpose_b"]
    dt = out.dtype
    gemm = declare_gemm(b.module, dt)
    M, N = ctx.dim(out.shape[-2]), ctx.dim(out.shape[-1])
    K = ctx.dim(a.shape[-2] if ta else a.shape[-1])
    lda = ctx.dim(a.shape[-1])
    ldb = ctx.dim(bm.shape[-1])
    batch = out.shape[:-2]
    a_mat = ctx.mul(ctx.dim(a.shape[-2]), ctx.dim(a.shape[-1]))
    b_mat = ctx.mul(ctx.dim(bm.shape[-2]), ctx.dim(bm.shape[-1]))
    c_mat = ctx.mul(M, N)
    tid, nth = thread_args(ctx)
    ws = thread_workspace(ctx, workspace, dt, vector_bytes)
    null = ir.Constant(PTR, None)
    flags = _c(gemm_flags(ta, tb, columns))
    with loop_nest(b, [ctx.dim(d) for d in batch], name="bt") as bc:
        idx = MultiIndex(ctx, list(bc), batch)
        ao = ctx.mul(idx.offset(a.shape[:-2]), a_mat)
        bo = ctx.mul(idx.offset(bm.shape[:-2]), b_mat)
        co = ctx.mul(idx.offset(batch), c_mat)
        b.call(gemm, [ctx.addr(a.name, ao), ctx.addr(bm.name, bo),
                      ctx.addr(out.name, co), M, N, K, lda, ldb, N, flags,
                      ws, ep or ir.Constant(EP_TYPE.as_pointer(), None),
                      epctx or null, tid, nth])
    if ret:
        b.ret_void()
