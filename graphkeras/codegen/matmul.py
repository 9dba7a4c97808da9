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
          pack A into MR-wide panels, zero padded (a column chunk of a
                 split with op(A) = A reads its full panels in place)
          for jr in nc step NR: for ir in mc step MR:
            micro-kernel MR x NR (MR*NR/W vector accumulators)
            after the last K block: ep(epctx, i, j, mr, nr)

Micro-kernel: 6 x 16 float32 with AVX2 (12 ymm accumulators), 12 x 32 with
AVX-512 (24 zmm), 4 x 8 with SSE; chosen by the host's vector width. With
AVX-512 a product of at most SHORT_M rows that 8-row panels pad less
(32 rows: 4 x 8, not 12 + 12 + 8; a scan's block, the recurrent weight's
gradient) runs on a second driver, gk_gemm_<dt>_m8, with an 8 x 32 kernel
and the same K blocks: each element is the same fma chain, so the bits do
not depend on which driver ran (measured 76 -> 95 GFLOP/s on 32x64x256). Edge
tiles (mr < MR or nr < NR) run the same kernel into a tile buffer that is
then copied, so every M, N, K works and loads never leave A, B or the
packed panels. At most SMALL_M rows (batch-1 inference) take an unpacked
path that streams B once, vectorised along N (masked vectors at the edge);
products with N or K at most NARROW (classifier heads and their
gradients) another unpacked path (codegen/narrow.py).

Threads: thread `tid` of `nthreads` computes a block of whole NR column
panels (or MR row panels when N is narrow), packing what it needs into its
own workspace `ws` (a column block would pack all of op(A) again in each
chunk: with op(A) = A, no bfloat16 and rows not 4 KB apart, the full MR-row
panels are read in place by a micro-kernel that loads A[r*lda + k], the
same fma chain as the packed one); K is never split, so every element of C is summed by
one thread in a fixed order and results do not depend on the thread count.
flags & COLUMNS forces the column split (epilogues that sum columns).
flags & PACKED_B: B is op(B) already packed by gk_pack_b_full_<dt> (NR-wide
panels over all of K, `packed_b_elements`; a scan packs its loop-invariant
weight once, not at every step): the packed path reads it in place, at
the same panel slices it would have packed, so the result is the same
bit for bit.

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

from ..ir import InternalCompilerError
from ..ir.dtypes import DType
from .loops import for_range
from . import bf16 as _bf16
from .lowering import Lowering, register_lowering, split_by_thread
from .narrow import NARROW, emit_narrow, narrow_ok
from .narrow import library_functions as narrow_functions
from .scalar import I1, I32, I64, PTR, VOID, alloca, intrinsic, reg_type, suffix
from .target import host

SMALL_M = 4  # up to this many rows: no packing (batch-1 inference)
PREFETCH_C = True
PREFETCH_AHEAD = 0  # k steps of A to prefetch ahead (0: none)
UNROLL = 4  # K steps per loop iteration of the micro-kernel (measured 10-15% faster than 1)
TRANS_A, TRANS_B, COLUMNS, TILE, BF16, PACKED_B = 1, 2, 4, 8, 16, 32
# ep(epctx, i0, j0, mr, nr, src, ld): the tile's values are src[r*ld + c]
EP_TYPE = ir.FunctionType(VOID, [PTR, I64, I64, I64, I64, PTR, I64])


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


def workspace_bytes(dt: DType, vector_bytes: int, k: int = 0) -> int:
    """Bytes of GEMM workspace one thread needs (packed A block, packed B
    block, one edge tile), each part 64-byte aligned; `k`: the K of a
    product run in TILE mode (one K block, so the blocks grow with K)."""
    bk = blocking(dt, vector_bytes)
    # (the packed A block is followed by W elements of slack: _packer)
    parts = (max(bk.mc * bk.kc, bk.mr * k) + bk.w,
             max(bk.kc * bk.nc, bk.nr * k), bk.mr * bk.nr)
    return sum(_round64(n * dt.itemsize) for n in parts)


def _round64(n: int) -> int:
    return (n + 63) // 64 * 64


# --- small helpers -------------------------------------------------------------------


def _c(v) -> ir.Constant:
    return ir.Constant(I64, int(v))


def _min(b, x, y):
    return b.select(b.icmp_signed("<", x, y), x, y)


def _max(b, x, y):
    return b.select(b.icmp_signed(">", x, y), x, y)


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


def wholly_read_rows(b: ir.IRBuilder, rows, ld, waste):
    """How many of an operand's `rows` (rows of stride `ld`, each holding
    the wanted values and then at least the rest of its row), from the
    first, can be read as whole vectors that run `waste` elements past
    the wanted ones: those with at least ceil(waste / ld) rows after them,
    so that every lane read lies within the operand. The rest are to be
    read masked. AVX2 has no cheap masked load (vmaskmovps in a k loop ran
    3x slower than whole loads on an AMD EPYC), so the loops of narrow
    products and small-M rows mask only their last rows; the extra lanes
    fill accumulator lanes that are never stored."""
    tail = _ceil_div(b, waste, _max(b, ld, _c(1)))
    return b.sub(rows, _min(b, rows, tail))


def k_loop(b: ir.IRBuilder, fn: ir.Function, K, acc: list, step, name: str,
           partial=None) -> list:
    """The sums over k = 0..K-1, in order: acc = step(k, acc, masked) per
    k. `partial` = (ld, waste): rows of stride ld read as whole vectors
    running `waste` lanes past the wanted ones, so the rows from
    wholly_read_rows on are read masked (step's `masked`)."""
    if partial is None:
        k, phis, finish = _counted_loop(b, fn, K, acc, name)
        return finish(step(k, phis, False))
    kp = wholly_read_rows(b, K, *partial)
    k, phis, finish = _counted_loop(b, fn, kp, acc, name + "w")
    acc = finish(step(k, phis, False))
    k, phis, finish = _counted_loop(b, fn, b.sub(K, kp), acc, name + "m")
    return finish(step(b.add(kp, k), phis, True))


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


def _ukernel(module: ir.Module, dt: DType, bk: Blocking,
             rows: bool = False) -> ir.Function:
    """void uk(kc, Ap, Bp, C, ldc, accumulate): acc = sum_k Ap[k, :MR]
    (outer) Bp[k, :NR] over packed panels, then C[r, :NR] = acc[r]
    (accumulate == 0) or C[r, :NR] += acc[r].

    `rows`: void uk_rows(kc, A, lda, Bp, C, ldc, accumulate) reads the MR
    rows of A in place (A[r*lda + k]) instead of a packed panel: the same
    fma chain per element, so the same bits."""
    name = f"gk_uk_{dt.name}" + (f"_m{bk.mr}" if bk.mr != 12 else "") + (
        "_rows" if rows else "")
    fn = module.globals.get(name)
    if fn is not None:
        return fn
    fty = ir.FunctionType(VOID, [I64, PTR] + ([I64] if rows else []) + [
        PTR, PTR, I64, I64])
    fn = ir.Function(module, fty, name)
    fn.linkage = "internal"
    if rows:
        kc, Ap, lda, Bp, C, ldc, accumulate = fn.args
    else:
        kc, Ap, Bp, C, ldc, accumulate = fn.args
    for p in (Ap, Bp, C):
        p.add_attribute("noalias")
    b = ir.IRBuilder(fn.append_basic_block("entry"))
    v = _Vec(b, dt, bk.w)
    t = v.t
    nv = bk.nr // bk.w
    accs = [v.zero] * (bk.mr * nv)
    if PREFETCH_C:
        # the C tile is read (accumulate) or written at the end: start
        # fetching its lines now, while the loop runs from L1
        pf = intrinsic(module, "llvm.prefetch.p0", VOID, [PTR, I32, I32, I32])
        span = bk.nr * dt.itemsize
        for r in range(bk.mr):
            row = _gep(b, C, b.mul(_c(r), ldc), t)
            for off in range(0, span + 63, 64):
                p = b.gep(row, [_c(min(off, span - 1))], source_etype=ir.IntType(8))
                b.call(pf, [p, ir.Constant(I32, 1), ir.Constant(I32, 3),
                            ir.Constant(I32, 1)])
    # rows: the MR row starts, computed once
    arows = [_gep(b, Ap, b.mul(_c(r), lda), t)
             for r in range(bk.mr)] if rows else None

    def a_elem(k, ka, r):
        if rows:
            return _gep(b, arows[r], k, t)
        return _gep(b, Ap, b.add(ka, _c(r)), t)

    def step(k, acc):
        ka = b.mul(k, _c(bk.mr))
        kb = b.mul(k, _c(bk.nr))
        if PREFETCH_AHEAD and not rows:
            pf = intrinsic(module, "llvm.prefetch.p0", VOID,
                           [PTR, I32, I32, I32])
            ahead = b.gep(Ap, [b.add(ka, _c(PREFETCH_AHEAD * bk.mr))],
                          source_etype=t)
            b.call(pf, [ahead, ir.Constant(I32, 0), ir.Constant(I32, 3),
                        ir.Constant(I32, 1)])
        bvec = [v.load(_gep(b, Bp, b.add(kb, _c(c * bk.w)), t),
                       align=min(64, bk.w * dt.itemsize)) for c in range(nv)]
        new = []
        for r in range(bk.mr):
            a = v.splat(b.load(a_elem(k, ka, r), typ=t))
            for c in range(nv):
                new.append(v.madd(a, bvec[c], acc[r * nv + c]))
        return new

    # the K loop UNROLL steps at a time, then the rest one at a time
    ku = b.sdiv(kc, _c(UNROLL))
    k, phis, finish = _counted_loop(b, fn, ku, accs, "ku")
    acc = phis
    for u in range(UNROLL):
        acc = step(b.add(b.mul(k, _c(UNROLL)), _c(u)), acc)
    accs = finish(acc)
    k, phis, finish = _counted_loop(b, fn, b.sub(kc, b.mul(ku, _c(UNROLL))),
                                    accs, "k")
    accs = finish(step(b.add(b.mul(ku, _c(UNROLL)), k), phis))
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


def _transpose(b, rows: list) -> list:
    """W vectors of W lanes, transposed (Eklundh: log2(W) stages, each
    swapping off-diagonal blocks of h lanes between rows h apart, as
    two-input shuffles that x86 has single instructions for)."""
    w = len(rows)
    v = list(rows)
    h = w // 2
    while h >= 1:
        nv = list(v)
        for i in range(w):
            if (i // h) % 2 == 0:
                j = i + h
                lo = [e if (e // h) % 2 == 0 else w + e - h for e in range(w)]
                hi = [e + h if (e // h) % 2 == 0 else w + e for e in range(w)]
                nv[i] = b.shuffle_vector(v[i], v[j], ir.Constant(
                    ir.VectorType(I32, w), lo))
                nv[j] = b.shuffle_vector(v[i], v[j], ir.Constant(
                    ir.VectorType(I32, w), hi))
        v = nv
        h //= 2
    return v


def _packer_type() -> ir.FunctionType:
    # X, rs, cs, i0, n, k0, kc, dst
    return ir.FunctionType(VOID, [PTR, I64, I64, I64, I64, I64, I64, PTR])


def _packer(module, dt: DType, bk: Blocking, P: int,
            name: str) -> ir.Function:
    """void pack(X, rs, cs, i0, n, k0, kc, dst): panels of P along i of
    the block X(i0:i0+n, k0:k0+kc), element (i, k) at X[i*rs + k*cs]:
    dst[q*kc*P + k*P + r] = X(i0 + q*P + r, k0 + k), zero past row n.

    Fast paths for full panels: rs == 1 (contiguous along i) copies P
    values per k, reading X row by row; cs == 1 (contiguous along k)
    transposes W x W blocks (panels narrower than W are padded with their
    last row and stored overlapping: each k's store runs W - P lanes into
    the next k's place, rewritten right after, so the block needs W
    elements of slack after it). Everything else: one element at a time."""
    fn = module.globals.get(name)
    if fn is not None:
        return fn
    fn = ir.Function(module, _packer_type(), name)
    fn.linkage = "internal"
    X, rs, cs, i0, n, k0, kc, dst = fn.args
    for p in (X, dst):
        p.add_attribute("noalias")
    b = ir.IRBuilder(fn.append_basic_block("entry"))
    v = _Vec(b, dt, bk.w)
    t = v.t
    W = bk.w
    zero = ir.Constant(t, None)
    nfull = b.sdiv(n, _c(P))
    panel = b.mul(kc, _c(P))
    base = _gep(b, X, b.add(b.mul(i0, rs), b.mul(k0, cs)), t)
    contiguous_i = b.icmp_signed("==", rs, _c(1))
    contiguous_k = b.icmp_signed("==", cs, _c(1))
    done_full = fn.append_basic_block("full.done")
    def copy_row(k, last: bool):
        """Row k of the block into every full panel. The rest of a panel
        (A's 12 rows of 16 lanes, 6 of 8 with AVX2) goes as one whole
        vector, its extra lanes read from the next row along i (or what
        lies between: the block's row k + 1 follows) and written into
        row k + 1's place, rewritten next; the block's last row masks
        both (masked loads and stores in this loop cost AVX2 EPYC ~10%
        of a weight-gradient product)."""
        row = _gep(b, base, b.mul(k, cs), t)
        with for_range(b, nfull, name="q") as q:
            src = _gep(b, row, b.mul(q, _c(P)), t)
            out = _gep(b, dst, b.add(b.mul(q, panel), b.mul(k, _c(P))), t)
            for c in range(P // W):
                v.store(v.load(_gep(b, src, _c(c * W), t)),
                        _gep(b, out, _c(c * W), t))
            if P % W:
                c0 = P // W * W
                s, o = _gep(b, src, _c(c0), t), _gep(b, out, _c(c0), t)
                if last:
                    m = ir.Constant(ir.VectorType(I1, W),
                                    [1] * (P - c0) + [0] * (W - P + c0))
                    v.masked_store(v.masked_load(s, m), o, m)
                else:
                    v.store(v.load(s), o)

    with b.if_else(contiguous_i) as (along_i, other):
        with along_i:
            if P % W:
                with for_range(b, b.sub(kc, _c(1)), name="k") as k:
                    copy_row(k, False)
                with b.if_then(b.icmp_signed(">", kc, _c(0))):
                    copy_row(b.sub(kc, _c(1)), True)
            else:
                with for_range(b, kc, name="k") as k:
                    copy_row(k, False)
        with other, b.if_then(contiguous_k):
            _pack_transposing(b, v, base, rs, nfull, kc, dst, P, W)
    b.branch(done_full)
    b.position_at_end(done_full)
    # the last, partial panel, and whatever the fast paths left
    first = b.select(b.icmp_signed("==", b.or_(
        b.icmp_signed("==", rs, _c(1)), b.icmp_signed("==", cs, _c(1))),
        ir.Constant(I1, 1)), nfull, _c(0))
    npan = _ceil_div(b, n, P)
    with for_range(b, b.sub(npan, first), name="qs") as qq:
        q = b.add(first, qq)
        valid = _min(b, _c(P), b.sub(n, b.mul(q, _c(P))))
        last = b.sub(valid, _c(1))
        with for_range(b, kc, name="ks") as k:
            out = _gep(b, dst, b.add(b.mul(q, panel), b.mul(k, _c(P))), t)

            def element(r):
                i = b.add(b.mul(q, _c(P)), _min(b, r, last))
                x = b.load(_gep(b, base, b.add(b.mul(i, rs), b.mul(k, cs)), t),
                           typ=t)
                b.store(b.select(b.icmp_signed("<", r, valid), x, zero),
                        _gep(b, out, r, t))

            _each_row(b, P, element)
    b.ret_void()
    return fn


def _each_row(b, P: int, element) -> None:
    """element(r) for r in 0..P-1, unrolled (r a constant)."""
    for r in range(P):
        element(_c(r))


def _pack_transposing(b, v, base, rs, nfull, kc, dst, P, W):
    """Full panels of a block contiguous along k: W x W transposes over
    the whole k chunks, single elements for the last kc % W."""
    t = v.t
    groups = -(-P // W)  # W-row groups of a panel, the last one padded
    nchunk = b.sdiv(kc, _c(W))
    panel = b.mul(kc, _c(P))
    with for_range(b, nfull, name="tq") as q:
        qbase = b.mul(q, _c(P))
        _pack_transposed_chunks(b, v, base, rs, q, qbase, nchunk, dst,
                                panel, P, W, groups)
        with for_range(b, b.sub(kc, b.mul(nchunk, _c(W))), name="tr") as kr:
            k = b.add(b.mul(nchunk, _c(W)), kr)
            out = _gep(b, dst, b.add(b.mul(q, panel), b.mul(k, _c(P))), t)

            def element(r):
                src = _gep(b, base, b.add(b.mul(b.add(qbase, r), rs), k), t)
                b.store(b.load(src, typ=t), _gep(b, out, r, t))

            _each_row(b, P, element)


def _pack_transposed_chunks(b, v, base, rs, q, qbase, nchunk, dst, panel,
                            P, W, groups):
    """_pack_transposing's W-column chunks of one panel, unrolled over its
    groups (the last one padded to a whole group)."""
    t = v.t
    with for_range(b, nchunk, name="tk") as ch:
        k = b.mul(ch, _c(W))
        cols = []
        for g in range(groups):
            rows = []
            for r in range(W):
                rr = min(g * W + r, P - 1)
                src = _gep(b, base, b.add(b.mul(b.add(qbase, _c(rr)), rs), k),
                           t)
                rows.append(v.load(src))
            cols.append(_transpose(b, rows))
        # NOTE: stores in increasing address order, so a padded group's
        # extra lanes are always rewritten by a later store
        for kk in range(W):
            for g in range(groups):
                out = _gep(b, dst, b.add(b.mul(q, panel), b.add(b.mul(
                    b.add(k, _c(kk)), _c(P)), _c(g * W))), t)
                v.store(cols[g][kk], out)


# --- the small-M path ----------------------------------------------------------------


def _small_m(b, fn, dt: DType, bk: Blocking, A, B, C, M, K, lda, ldb, ldc,
             ta, tb, n0, n1, ep, epctx, tile_mode, tile, row_ws):
    """At most SMALL_M rows, columns n0:n1, one row at a time: no packing.
    Row-major B: B streams through once per row of A, in blocks of
    columns whose sums stay in registers over all of k (_small_row); in
    TILE mode the row is built in the workspace (`row_ws`, at least N
    elements). Transposed B: one dot product per
    element, NR columns a chunk. Then the epilogue takes the whole row."""
    t = reg_type(dt)
    has_ep = b.icmp_unsigned("!=", b.ptrtoint(ep, I64), _c(0))
    rsa = b.select(ta, _c(1), lda)
    csa = b.select(ta, lda, _c(1))

    with for_range(b, M, name="si") as i:
        arow = _gep(b, A, b.mul(i, rsa), t)

        def a_at(k):
            return b.load(_gep(b, arow, b.mul(k, csa), t), typ=t)

        def out_ptr(j0):
            """Where the values of columns j0.. go."""
            return b.select(tile_mode, tile,
                            _gep(b, C, b.add(b.mul(i, ldc), j0), t))

        def call_ep(j0, nr, src):
            with b.if_then(has_ep):
                b.call(ep, [epctx, i, j0, _c(1), nr, src, nr])

        with b.if_else(b.icmp_signed("!=", tb, _c(0))) as (trans, plain):
            with trans:
                _small_dots(b, dt, bk, a_at, B, K, ldb, n0, n1, out_ptr,
                            call_ep)
            # (in pieces that fit the workspace's packed-B part)
            cap = bk.kc * bk.nc
            with plain, for_range(b, _ceil_div(b, b.sub(n1, n0), cap),
                                  name="sp") as piece:
                r0 = b.add(n0, b.mul(piece, _c(cap)))
                r1 = _min(b, b.add(r0, _c(cap)), n1)
                row = b.select(tile_mode, row_ws,
                               _gep(b, C, b.add(b.mul(i, ldc), r0), t))
                _small_row(b, dt, bk, arow, csa, B, K, ldb, r0, r1, row)
                call_ep(r0, b.sub(r1, r0), row)


def _small_dots(b, dt, bk, a_at, B, K, ldb, n0, n1, out_ptr, call_ep):
    """One row times a transposed B: dot products, NR columns a chunk."""
    t = reg_type(dt)
    nch = _ceil_div(b, b.sub(n1, n0), bk.nr)
    with for_range(b, nch, name="dc") as ch:
        j0 = b.add(n0, b.mul(ch, _c(bk.nr)))
        nr = _min(b, _c(bk.nr), b.sub(n1, j0))
        out = out_ptr(j0)
        with for_range(b, nr, name="dj") as jj:
            brow = _gep(b, B, b.mul(b.add(j0, jj), ldb), t)
            acc = alloca(b, t)
            b.store(ir.Constant(t, None), acc)
            with for_range(b, K, name="dk") as k:
                x, y = a_at(k), b.load(_gep(b, brow, k, t), typ=t)
                old = b.load(acc, typ=t)
                if dt.is_float:
                    s = b.fadd(old, b.fmul(x, y, flags=("contract",)),
                               flags=("contract",))
                else:
                    s = b.add(old, b.mul(x, y))
                b.store(s, acc)
            b.store(b.load(acc, typ=t), _gep(b, out, jj, t))
        call_ep(j0, nr, out)


GEMV_VECTORS = 8  # column vectors a small-M row keeps in registers


def _gemv_fn(module, dt: DType, w: int, U: int, masked: bool) -> ir.Function:
    """void f(arow, csa, B, ldb, K, out, width): out[c] = sum_k arow[k*csa]
    * B[k*ldb + c] for c < U*w (masked: c < width; lanes past it are
    not written, and read only within B: wholly_read_rows): U accumulators stay in registers over the
    whole k loop, so each vector of B costs one load and one fma, and a
    narrow row (a classifier head at batch 1) is one fma chain, not a
    chain through a store and a load of the row every few k."""
    name = f"gk_gemv_{dt.name}_{U}{'m' if masked else ''}"
    fn = module.globals.get(name)
    if fn is not None:
        return fn
    fn = ir.Function(module, ir.FunctionType(
        VOID, [PTR, I64, PTR, I64, I64, PTR, I64]), name)
    fn.linkage = "internal"
    arow, csa, B, ldb, K, out, width = fn.args
    for p in (arow, B, out):
        p.add_attribute("noalias")
    b = ir.IRBuilder(fn.append_basic_block("entry"))
    v = _Vec(b, dt, w)
    t = v.t
    masks = [v.mask(b.sub(width, _c(u * w))) for u in range(U)] if masked \
        else None

    def step(k, acc, masked_loads):
        a = v.splat(b.load(_gep(b, arow, b.mul(k, csa), t), typ=t))
        brow = _gep(b, B, b.mul(k, ldb), t)
        new = []
        for u in range(U):
            p = _gep(b, brow, _c(u * w), t)
            x = v.masked_load(p, masks[u]) if masked_loads else v.load(p)
            new.append(v.madd(a, x, acc[u]))
        return new

    # masked: whole vectors but for the last rows (wholly_read_rows)
    acc = k_loop(b, fn, K, [v.zero] * U, step, "gk",
                 (ldb, b.sub(_c(U * w), width)) if masked else None)
    for u in range(U):
        p = _gep(b, out, _c(u * w), t)
        if masked:
            v.masked_store(acc[u], p, masks[u])
        else:
            v.store(acc[u], p)
    b.ret_void()
    return fn


def _small_row(b, dt, bk, arow, csa, B, K, ldb, n0, n1, row):
    """row[0:n1-n0] = sum_k arow[k*csa] * B[k, n0:n1]: blocks of
    GEMV_VECTORS vectors of columns, each summed over all of k in
    registers (_gemv_fn); the last block masked, with only as many vectors
    as it needs. Each element is the fma chain over k = 0..K-1 in order."""
    w = bk.w
    t = reg_type(dt)
    U = GEMV_VECTORS
    span = U * w
    width = b.sub(n1, n0)
    full = _gemv_fn(b.module, dt, w, U, False)
    nfull = b.sdiv(width, _c(span))
    with for_range(b, nfull, name="gb") as q:
        j = b.mul(q, _c(span))
        b.call(full, [arow, csa, _gep(b, B, b.add(n0, j), t), ldb, K,
                      _gep(b, row, j, t), _c(span)])
    jt = b.mul(nfull, _c(span))
    rest = b.sub(width, jt)
    # the tail: the smallest of 1, 2, 4, U vectors that covers it
    fn = b.function
    done = fn.append_basic_block("gt.done")
    cases = [u for u in (1, 2, 4) if u < U] + [U]
    for u in cases:
        go = fn.append_basic_block(f"gt.{u}")
        nxt = fn.append_basic_block(f"gt.not{u}")
        lo = 0 if u == cases[0] else cases[cases.index(u) - 1] * w
        b.cbranch(b.and_(b.icmp_signed(">", rest, _c(lo)),
                         b.icmp_signed("<=", rest, _c(u * w))), go, nxt)
        b.position_at_end(go)
        f = _gemv_fn(b.module, dt, w, u, True)
        b.call(f, [arow, csa, _gep(b, B, b.add(n0, jt), t), ldb, K,
                   _gep(b, row, jt, t), rest])
        b.branch(done)
        b.position_at_end(nxt)
    b.branch(done)
    b.position_at_end(done)


# --- the driver ------------------------------------------------------------------------


def gemm_name(dt: DType) -> str:
    return f"gk_gemm_{dt.name}"


def _gemm_type() -> ir.FunctionType:
    # A, B, C, M, N, K, lda, ldb, ldc, flags, ws, ep, epctx, tid, nthreads
    return ir.FunctionType(VOID, [PTR, PTR, PTR] + [I64] * 7 + [
        PTR, EP_TYPE.as_pointer(), PTR, I64, I64])


def _declared(module: ir.Module, name: str, fty) -> ir.Function:
    """The function `name` of the module, declared with fty if absent."""
    fn = module.globals.get(name)
    if fn is None:
        fn = ir.Function(module, fty, name)
    return fn


def declare_gemm(module: ir.Module, dt: DType) -> ir.Function:
    return _declared(module, gemm_name(dt), _gemm_type())


def _split(b, n, parts, tid, nth):
    """[lo, hi) of `parts` units for thread tid of nth (balanced)."""
    lo = b.sdiv(b.mul(parts, tid), nth)
    hi = b.sdiv(b.mul(parts, b.add(tid, _c(1))), nth)
    return lo, hi


SHORT_M = 96  # up to this many rows an 8-row micro-kernel may waste fewer
SHORT_MR = 8


def _short_blocking(bk: Blocking) -> Blocking | None:
    """The blocking of the 8-row driver beside the 12-row one (AVX-512):
    the same K blocks (so every element is summed in the same order and
    gets the same bits), 8-row A panels."""
    if bk.mr != 12:
        return None
    return Blocking(bk.w, SHORT_MR, bk.nr, bk.kc, bk.mc // SHORT_MR * SHORT_MR,
                    bk.nc)


def gemm_function(module: ir.Module, dt: DType, bk: Blocking,
                  name: str | None = None, short: bool = False,
                  short_apart: bool = False) -> ir.Function:
    """The driver (module docstring); `short`: the 8-row variant the
    12-row driver hands products of a few rows to (no bfloat16);
    `short_apart`: the two are library objects of their own (compiled
    side by side): the 12-row driver's object only declares the 8-row
    one, and defines the B packer both call (the 8-row one's declares
    it)."""
    name = name or gemm_name(dt)
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
    uk_rows = _ukernel(module, dt, bk, rows=True)
    pack_b = _pack_b(module, dt, bk, apart=short and short_apart)
    pack_a = _packer(module, dt, bk, bk.mr, f"gk_pack_a_{dt.name}" + (
        f"_m{bk.mr}" if bk.mr != 12 else ""))
    t = reg_type(dt)
    MR, NR = bk.mr, bk.nr
    b = ir.IRBuilder(fn.append_basic_block("entry"))
    done = fn.append_basic_block("done")
    sbk = None if short else _short_blocking(bk)
    if sbk is not None:
        # a product of a few rows (a scan's block of 32 rows: 12 + 12 + 8
        # with 12-row panels, 4 x 8 with 8-row ones) runs on the 8-row
        # driver when that pads fewer rows; plain products only (no
        # epilogue, TILE or bfloat16), not narrow ones (codegen/narrow.py)
        short_fn = (_declared(module, name + "_m8", _gemm_type())
                    if short_apart else
                    gemm_function(module, dt, sbk, name + "_m8", short=True))
        waste12 = b.sub(b.mul(_ceil_div(b, M, MR), _c(MR)), M)
        waste8 = b.sub(b.mul(_ceil_div(b, M, SHORT_MR), _c(SHORT_MR)), M)
        go = b.and_(b.icmp_signed("<", waste8, waste12), b.and_(
            b.icmp_signed(">", M, _c(SMALL_M)), b.icmp_signed("<=", M, _c(
                SHORT_M))))
        go = b.and_(go, b.and_(b.icmp_signed(">", N, _c(NARROW)),
                               b.icmp_signed(">", K, _c(NARROW))))
        go = b.and_(go, b.icmp_unsigned("==", b.ptrtoint(ep, I64), _c(0)))
        go = b.and_(go, b.icmp_signed("==", b.and_(flags, _c(TILE | BF16)),
                                      _c(0)))
        with b.if_then(go):
            b.call(short_fn, list(fn.args))
            b.branch(done)
    ta = b.and_(flags, _c(TRANS_A))
    tb = b.and_(flags, _c(TRANS_B))
    forced = b.icmp_signed("!=", b.and_(flags, _c(COLUMNS)), _c(0))
    has_ep = b.icmp_unsigned("!=", b.ptrtoint(ep, I64), _c(0))
    tile_mode = b.icmp_signed("!=", b.and_(flags, _c(TILE)), _c(0))
    packed = b.icmp_signed("!=", b.and_(flags, _c(PACKED_B)), _c(0))
    # bfloat16 products (codegen/bf16.py): float32 only, the packed path
    bf16 = b.and_(b.icmp_signed("!=", b.and_(flags, _c(BF16 if dt.name in (
        "f32", "float32") else 0)), _c(0)), b.not_(packed))
    pairs = not short and dt.name in ("f32", "float32") and _bf16.dot_pairs(
        bk.w * dt.itemsize)
    if short:
        bf16 = ir.Constant(I1, 0)
    # workspace: packed A block, packed B block, edge tile (workspace_bytes)
    per_line = 64 // dt.itemsize

    def part(n):  # elements rounded up to whole cache lines
        return b.mul(_ceil_div(b, n, per_line), _c(per_line))

    kk = b.select(tile_mode, K, _c(0))
    a_cap = part(b.add(_max(b, _c(bk.mc * bk.kc), b.mul(kk, _c(bk.mr))),
                       _c(bk.w)))
    b_cap = part(_max(b, _c(bk.kc * bk.nc), b.mul(kk, _c(bk.nr))))
    ap_ws = ws
    bp_ws = _gep(b, ws, a_cap, t)
    tile = _gep(b, bp_ws, b_cap, t)

    # which block of C is this thread's
    mp = _ceil_div(b, M, MR)
    np_ = _ceil_div(b, N, NR)
    small = b.icmp_signed("<=", M, _c(SMALL_M))
    # columns unless rows are the wider split (or columns are forced); also
    # columns when there are enough column panels and M <= N: a column
    # block packs all of op(A) (M x K), a row block all of op(B) (K x N),
    # so the other split packs more again (W1's 128x256x512 product: 11
    # row panels in 4 chunks went 2,3,3,3 and each chunk packed the whole
    # 512 KB B; 8 column panels go 2 each)
    by_cols = b.or_(b.or_(forced, small), b.or_(
        b.icmp_signed(">=", np_, mp), b.icmp_signed("<", mp, nth)))
    by_cols = b.or_(by_cols, b.and_(b.icmp_signed(">=", np_, nth),
                                    b.icmp_signed("<=", M, N)))
    # A column block of a product cut into several chunks packs all of
    # op(A) again in every chunk: there, with op(A) = A (row-major) and no
    # bfloat16 rounding, the full MR-row panels are read in place
    # (uk_rows; only the last partial one is packed), unless A's rows lie
    # a multiple of 4 KB apart (the MR rows then share L1 sets: 1024^3 ran
    # 8% slower in place). W4's 256x512x256 at batch 256, 2 threads: 340
    # -> 322 us; one thread (no repacking) keeps the panels (measured
    # neutral to 8% slower in place).
    a_rows = b.and_(b.and_(b.icmp_signed("==", ta, _c(0)), b.not_(bf16)),
                    b.and_(b.and_(by_cols, b.icmp_signed(">", nth, _c(1))),
                           b.icmp_signed("!=", b.urem(b.mul(
                               lda, _c(dt.itemsize)), _c(4096)), _c(0))))
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
            b.call(ep, [epctx, _c(0), j, _c(0), _min(b, _c(NR), b.sub(n1, j)),
                        ir.Constant(PTR, None), _c(0)])
        b.branch(done)
    b.position_at_end(nonzero)
    b.cbranch(b.icmp_signed(">=", m0, m1), done, fn.append_basic_block("go"))
    b.position_at_end(fn.blocks[-1])

    big_blk = fn.append_basic_block("big")
    if short:
        # the 12-row driver hands over neither small nor narrow products:
        # the packed path alone (half the code to compile)
        b.branch(big_blk)
    else:
        _small_and_narrow(b, fn, dt, bk, big_blk, done, A, B, C, M, N, K,
                          lda, ldb, ldc, ta, tb, m0, m1, n0, n1, ep, epctx,
                          tile_mode, tile, bp_ws, ap_ws, a_cap, small,
                          b.or_(bf16, packed))
    b.position_at_end(big_blk)

    # balanced K blocks (784 -> 262, 262, 260 rather than 256 x 3 + 16);
    # TILE mode: one K block, M and N blocks shrunk to keep their bytes
    nkb = b.select(b.icmp_signed(">", K, _c(0)), _ceil_div(b, K, bk.kc), _c(1))
    nkb = b.select(tile_mode, _c(1), nkb)
    kcb = _ceil_div(b, K, nkb)
    k1 = _max(b, K, _c(1))
    MC = b.select(tile_mode, _max(b, _c(bk.mr), _min(b, _c(bk.mc), b.mul(
        b.sdiv(b.sdiv(_c(bk.mc * bk.kc), k1), _c(bk.mr)), _c(bk.mr)))),
        _c(bk.mc))
    NC = b.select(tile_mode, _max(b, _c(bk.nr), _min(b, _c(bk.nc), b.mul(
        b.sdiv(b.sdiv(_c(bk.nc * bk.kc), k1), _c(bk.nr)), _c(bk.nr)))),
        _c(bk.nc))
    ncount = _ceil_div(b, b.sub(n1, n0), NC)
    convert_a = (_bf16.pair_panels if pairs else _bf16.round_panels)(
        b.module, MR)
    convert_b = (_bf16.pair_panels if pairs else _bf16.round_panels)(
        b.module, NR)
    uk16 = _bf16.pair_ukernel(b.module, bk) if pairs else None
    with for_range(b, ncount, name="jc") as jci:
        jc = b.add(n0, b.mul(jci, NC))
        nc = _min(b, NC, b.sub(n1, jc))
        with for_range(b, nkb, name="pc") as pci:
            pc = b.mul(pci, kcb)
            kc = _min(b, kcb, b.sub(K, pc))
            kc = b.select(b.icmp_signed("<", kc, _c(0)), _c(0), kc)
            first = b.icmp_signed("==", pci, _c(0))
            last = b.icmp_signed("==", pci, b.sub(nkb, _c(1)))
            # op(B)(k, j) = B[k*ldb + j], or B[j*ldb + k] when transposed
            is_tb = b.icmp_signed("!=", tb, _c(0))
            with b.if_then(b.not_(packed)):
                b.call(pack_b, [B, b.select(is_tb, ldb, _c(1)),
                                b.select(is_tb, _c(1), ldb), jc, nc, pc, kc,
                                bp_ws])
            # PACKED_B: panel jc / NR starts at B + jc K, its rows pc.. at
            # + pc NR; panels lie K NR apart (kc NR in the workspace)
            bp_base = b.select(packed, _gep(b, B, b.add(b.mul(jc, K), b.mul(
                pc, _c(NR))), t), bp_ws)
            bp_step = b.select(packed, K, kc)
            with b.if_then(bf16):
                b.call(convert_b, [bp_ws, _ceil_div(b, nc, NR), kc])
            kpn = b.sdiv(b.add(kc, _c(1)), _c(2))  # bfloat16 pairs
            mcount = _ceil_div(b, b.sub(m1, m0), MC)
            with for_range(b, mcount, name="ic") as ici:
                ic = b.add(m0, b.mul(ici, MC))
                mc = _min(b, MC, b.sub(m1, ic))
                is_ta = b.icmp_signed("!=", ta, _c(0))
                skip = b.select(a_rows, b.sdiv(mc, _c(MR)), _c(0))
                b.call(pack_a, [A, b.select(is_ta, _c(1), lda),
                                b.select(is_ta, lda, _c(1)),
                                b.add(ic, b.mul(skip, _c(MR))),
                                b.sub(mc, b.mul(skip, _c(MR))), pc, kc,
                                _gep(b, ap_ws, b.mul(skip, b.mul(kc, _c(MR))),
                                     t)])
                with b.if_then(bf16):
                    b.call(convert_a, [ap_ws, _ceil_div(b, mc, MR), kc])
                with for_range(b, _ceil_div(b, nc, NR), name="jr") as jri:
                    jr = b.mul(jri, _c(NR))
                    nr = _min(b, _c(NR), b.sub(nc, jr))
                    bp = _gep(b, bp_base, b.mul(jr, bp_step), t)
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
                        direct = b.and_(full, b.not_(tile_mode))
                        if pairs:  # pair panels: kpn words per row of MR / NR
                            ap16 = _gep(b, ap_ws, b.mul(iri, b.mul(kpn, _c(MR))),
                                        I32)
                            bp16 = _gep(b, bp_ws, b.mul(jri, b.mul(kpn, _c(NR))),
                                        I32)

                        in_place = b.and_(a_rows, b.icmp_signed(
                            "==", mr, _c(MR)))
                        arow = _gep(b, A, b.add(b.mul(row, lda), pc), t)

                        def plain_uk(dst, ld, accumulate):
                            with b.if_else(in_place) as (rows_, panel):
                                with rows_:
                                    b.call(uk_rows, [kc, arow, lda, bp, dst,
                                                     ld, accumulate])
                                with panel:
                                    b.call(uk, [kc, ap, bp, dst, ld,
                                                accumulate])

                        def micro(dst, ld, accumulate):
                            if not pairs:
                                plain_uk(dst, ld, accumulate)
                                return
                            with b.if_else(bf16) as (dot, plain):
                                with dot:
                                    b.call(uk16, [kpn, ap16, bp16, dst, ld,
                                                  accumulate])
                                with plain:
                                    plain_uk(dst, ld, accumulate)

                        with b.if_else(direct) as (whole, edge):
                            with whole:
                                micro(cp, ldc, acc)
                            with edge:
                                micro(tile, _c(NR), _c(0))
                                with b.if_then(b.not_(tile_mode)):
                                    _copy_tile(b, dt, tile, NR, cp, ldc, mr,
                                               nr, first)
                        with b.if_then(b.and_(last, has_ep)):
                            src = b.select(tile_mode, tile, cp)
                            ld = b.select(tile_mode, _c(NR), ldc)
                            b.call(ep, [epctx, row, col, mr, nr, src, ld])
    b.branch(done)
    b.position_at_end(done)
    b.ret_void()
    return fn


def _pack_b(module: ir.Module, dt: DType, bk: Blocking,
            apart: bool = False) -> ir.Function:
    """The B packer (NR-wide panels): defined here and visible to the
    other library objects (the 8-row driver's object calls it), or with
    `apart` only declared (so it is compiled once, not in each object)."""
    name = f"gk_pack_b_{dt.name}"
    if apart:
        return _declared(module, name, _packer_type())
    fn = _packer(module, dt, bk, bk.nr, name)
    fn.linkage = ""
    return fn


def pack_b_full_name(dt: DType) -> str:
    return f"gk_pack_b_full_{dt.name}"


def _pack_full_type() -> ir.FunctionType:
    # B, ldb, trans, K, N, dst
    return ir.FunctionType(VOID, [PTR, I64, I64, I64, I64, PTR])


def declare_pack_b_full(module: ir.Module, dt: DType) -> ir.Function:
    return _declared(module, pack_b_full_name(dt), _pack_full_type())


def packed_b_elements(dt: DType, vector_bytes: int, k: int, n: int) -> int:
    """Elements of op(B) [k, n] packed for PACKED_B (whole NR-wide
    panels, zero padded), plus a vector of slack."""
    bk = blocking(dt, vector_bytes)
    return -(-n // bk.nr) * bk.nr * k + bk.w


def pack_b_full_function(module: ir.Module, dt: DType,
                         bk: Blocking) -> ir.Function:
    """void gk_pack_b_full_<dt>(B, ldb, trans, K, N, dst): op(B) [K, N]
    (B row-major with row stride ldb, transposed when trans != 0) into
    the PACKED_B layout: panel q of NR columns at dst + q K NR, element
    (k, r) at [k NR + r], zero past column N. dst must be 64-byte aligned
    (the micro-kernel reads the panels with aligned vector loads)."""
    fn = declare_pack_b_full(module, dt)
    if not fn.is_declaration:
        return fn
    B, ldb, trans, K, N, dst = fn.args
    pack_b = _pack_b(module, dt, bk)
    b = ir.IRBuilder(fn.append_basic_block("entry"))
    tr = b.icmp_signed("!=", trans, _c(0))
    b.call(pack_b, [B, b.select(tr, ldb, _c(1)), b.select(tr, _c(1), ldb),
                    _c(0), N, _c(0), K, dst])
    b.ret_void()
    return fn


def _small_and_narrow(b, fn, dt, bk, big_blk, done, A, B, C, M, N, K, lda,
                      ldb, ldc, ta, tb, m0, m1, n0, n1, ep, epctx, tile_mode,
                      tile, bp_ws, ap_ws, a_cap, small, packed_only):
    """The driver's unpacked paths: at most SMALL_M rows, then N or K
    narrow (codegen/narrow.py); anything else (or `packed_only`, i1)
    branches to big_blk."""
    small_blk = fn.append_basic_block("small")
    not_small = fn.append_basic_block("not_small")
    narrow_blk = fn.append_basic_block("narrow")
    b.cbranch(b.and_(small, b.not_(packed_only)), small_blk, not_small)
    with b.goto_block(small_blk):
        _small_m(b, fn, dt, bk, A, B, C, M, K, lda, ldb, ldc,
                 b.icmp_signed("!=", ta, _c(0)), tb, n0, n1, ep, epctx,
                 tile_mode, tile, bp_ws)
        b.branch(done)
    with b.goto_block(not_small):
        b.cbranch(b.and_(narrow_ok(b, bk, M, N, K, tb, small),
                         b.not_(packed_only)), narrow_blk, big_blk)
    with b.goto_block(narrow_blk):
        emit_narrow(b, dt, bk, A, B, C, K, lda, ldb, ldc, ta, tb, m0, m1,
                    n0, n1, ep, epctx, tile_mode, tile, bp_ws, ap_ws, a_cap)
        b.branch(done)


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
    pairs = "_dpbf16" if dt.name in ("f32", "float32") and \
        _bf16.dot_pairs(vector_bytes) else ""
    return f"gemm_{dt.name}_{blocking(dt, vector_bytes).key()}{pairs}"


def gemm_library(dt: DType, vector_bytes: int,
                 part: str | None = None) -> ir.Module:
    """The GEMM library: the drivers, the packers and the narrow path's
    kernels in one module, or one `part` of it (library_modules):
    "main" (the 12-row driver, calling the others by name, and the
    packers), "narrow" (the narrow path's kernels, codegen/narrow.py) or
    "m8" (the 8-row driver alone)."""
    bk = blocking(dt, vector_bytes)
    module = ir.Module(name=library_name(dt, vector_bytes) + (
        f"_{part}" if part else ""))
    if part == "m8":
        gemm_function(module, dt, _short_blocking(bk), gemm_name(dt) + "_m8",
                      short=True, short_apart=True)
        return module
    if part is not None:  # the narrow kernels: here, or declared only
        narrow_functions(module, dt, bk, define=part == "narrow")
        if part == "narrow":
            return module
    gemm_function(module, dt, bk, short_apart=part == "main")
    pack_b_full_function(module, dt, bk)
    return module


def library_modules(dt: DType, ta: bool = False, tb: bool = False,
                    vector_bytes: int | None = None) -> tuple:
    """(name, builder) of the library objects a matmul of dt needs (one
    driver serves every transpose combination). The builder takes the
    vector width; each object is compiled once per machine and cached
    (codegen/jit.py). Parts of one library (gemm_library), compiled side
    by side on a cold start (jit.py prefetch_libraries): the 12-row
    driver's, the narrow kernels' (a third of the code), and with
    AVX-512 the 8-row driver's."""
    if vector_bytes is None:
        from .target import host

        vector_bytes = host().vector_bytes
    name = library_name(dt, vector_bytes)
    parts = ["main", "narrow"]
    if _short_blocking(blocking(dt, vector_bytes)) is not None:
        parts.append("m8")
    return tuple((name if p == "main" else f"{name}_{p}",
                  lambda vb, p=p: gemm_library(dt, vb, p)) for p in parts)


def gemm_flags(ta: bool, tb: bool, columns: bool = False,
               tile: bool = False, bf16: bool = False,
               packed_b: bool = False) -> int:
    return (TRANS_A if ta else 0) | (TRANS_B if tb else 0) | (
        COLUMNS if columns else 0) | (TILE if tile else 0) | (
        BF16 if bf16 else 0) | (PACKED_B if packed_b else 0)


def thread_args(ctx):
    """(tid, nthreads) of the kernel function being emitted (every kernel
    function takes them first)."""
    return ctx.fn.args[0], ctx.fn.args[1]


WORKSPACE_HEADER = 64  # bytes before the first thread's slice


def thread_workspace(ctx, workspace):
    """The workspace slice of the thread running the kernel: kernels get
    it as their workspace argument (codegen/step_module.py computes it from
    the header the runtime writes, WORKSPACE_HEADER bytes before slice 0)."""
    _ = ctx
    return workspace


def emit_matmul(ctx, node, workspace, vector_bytes: int, *, ep=None,
                epctx=None, columns: bool = False, ret: bool = True,
                packed_b: bool = False) -> None:
    """Call the GEMM for every batch index of `node` (the calling kernel's
    thread takes its share of each product). `ep`/`epctx`: an epilogue
    (2-D products only). `packed_b`: B's buffer holds op(B) packed
    (PACKED_B; 2-D float32 products without an epilogue only)."""
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
    ws = thread_workspace(ctx, workspace)
    null = ir.Constant(PTR, None)
    bf16 = node.attrs.get("precision") == "bfloat16"
    if packed_b and (batch or ep is not None or bf16):
        raise InternalCompilerError(
            f"matmul %{out.name}: a packed B serves 2-D float32 products "
            "without an epilogue only")
    flags = _c(gemm_flags(ta, tb, columns, bf16=bf16, packed_b=packed_b))
    if batch and len(bm.shape) == 2 and not ta and tuple(a.shape[:-2]) == \
            tuple(batch) and ep is None:
        # (..., M, K) @ (K, N): one product of all the batch's rows
        # (contiguous A and C rows), B packed once rather than per index
        rows = M
        for d in batch:
            rows = ctx.mul(rows, ctx.dim(d))
        b.call(gemm, [ctx.addr(a.name, _c(0)), ctx.addr(bm.name, _c(0)),
                      ctx.addr(out.name, _c(0)), rows, N, K, lda, ldb, N,
                      flags, ws, ir.Constant(EP_TYPE.as_pointer(), None),
                      null, tid, nth])
        if ret:
            b.ret_void()
        return
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


class _MatmulLowering(Lowering):
    """A `matmul` node: the GEMM over its batch (codegen/lowering.py)."""

    kind, ops, threaded, workspace = "matmul", ("matmul",), True, True
    runtime_extents = True  # the GEMM takes its sizes at run time anyway

    def emit(self, ctx, site) -> None:
        split_by_thread(ctx)
        emit_matmul(ctx, site.node, site.workspace, host().vector_bytes,
                    packed_b=site.packed_b)


register_lowering(_MatmulLowering())


PAIRED_K = 4096  # rows from which matmul_sum's chunks go in pairs


def emit_matmul_sum(ctx, node, workspace) -> None:
    """`matmul_sum` (ir/ops/linalg.py): a (B.., K, M) and b (B.., K, N) are
    row-major [B*K, M] and [B*K, N] arrays, so sum_b a[b]^T b[b] is one
    GEMM op(A) = A^T with every row of the batch contracted (the calling
    kernel's thread takes its share of the columns or rows, K never
    split: the sum's order does not depend on the thread count)."""
    b = ctx.b
    a, bm = node.inputs
    out = node.outputs[0]
    dt = out.dtype
    M, N = ctx.dim(a.shape[-1]), ctx.dim(bm.shape[-1])
    K = _c(1)
    for d in a.shape[:-1]:
        K = ctx.mul(K, ctx.dim(d))
    tid, nth = thread_args(ctx)
    # K in the thousands (T x batch rows): each share of C packs all of
    # the operand it does not split at every K block, so the chunks go in
    # pairs, one share per pair (the even chunk computes it; the odd one
    # has nothing): half the shares, half the repacking
    pair = b.and_(b.icmp_signed(">=", nth, _c(2)),
                  b.icmp_signed(">=", K, _c(PAIRED_K)))
    with b.if_then(b.and_(pair, b.icmp_signed(
            "!=", b.and_(tid, _c(1)), _c(0)))):
        b.ret_void()
    tid = b.select(pair, b.ashr(tid, _c(1)), tid)
    nth = b.select(pair, b.ashr(nth, _c(1)), nth)
    b.call(declare_gemm(b.module, dt), [
        ctx.addr(a.name, _c(0)), ctx.addr(bm.name, _c(0)),
        ctx.addr(out.name, _c(0)), M, N, K, M, N, N,
        _c(gemm_flags(True, False)), thread_workspace(ctx, workspace),
        ir.Constant(EP_TYPE.as_pointer(), None), ir.Constant(PTR, None),
        tid, nth])
    b.ret_void()


class _MatmulSumLowering(Lowering):
    """A `matmul_sum` node: one GEMM over all the batch's rows."""

    kind, ops, threaded, workspace = "matmul_sum", ("matmul_sum",), True, True
    runtime_extents = True

    def emit(self, ctx, site) -> None:
        split_by_thread(ctx)
        emit_matmul_sum(ctx, site.node, site.workspace)

    def workspace_bytes(self, node, vector_bytes: int) -> int:
        return workspace_bytes(node.outputs[0].dtype, vector_bytes)

    def libraries(self, node) -> tuple:
        return library_modules(node.outputs[0].dtype, True, False)


register_lowering(_MatmulSumLowering())
