"""Narrow and skinny products without packing: N or K at most NARROW (a
classifier head C[M, 10] = H @ W, its weight gradient H^T @ G, its input
gradient G @ W^T with K = 10).

The packed GEMM (codegen/matmul.py) pads N to its NR-wide panels (32
columns with AVX-512, so N = 10 computes 32) and packs both operands,
which for products of well under a megaflop costs more than the product:
15-34 GFLOP/s against OpenBLAS's 27-31 on the W1 head shapes. Here op(B)
is read in place, one row of N values per k (a transposed B, whose rows
are columns, is first copied transposed into the workspace: K x N values,
small since N or K is), op(A) one element at a time, broadcast:

    for each block of V vectors of columns (the last one masked):
      for each block of R rows:
        acc[r][c] = sum over k, in order, of op(A)(i+r, k) * B(k, j+c*W..)
        C (or, in TILE mode, the tile buffer) = acc; epilogue on the tile

With op(A) transposed and N within one vector (the weight gradient H^T @
G of a classifier head) the vectors run along C's rows instead: A's row
k holds op(A)'s column k, so S vectors of it times B[k, n] broadcast fill
N x S accumulators (C transposed) with every lane working, where rows of
N = 10 lanes would use 10 of 16 (`_uk_t`, one variant per width; the
tile leaves through a stack buffer, transposed). Each element is the same
fma chain either way, so the two give the same bits. A plain op(A) with N
within one vector (the head's forward, H @ W with N = 10) takes that
kernel too once a thread has PACK_ROWS rows: its rows are packed
transposed into the workspace first (W x W transposes; 128x256x10: 10.6
-> 9.8-10.1 us on one core, numpy 10.6).

R x V accumulators take the packed micro-kernel's registers (R * V * W
at most MR * NR: 24 zmm with AVX-512, 12 ymm with AVX2, fewer where V
vectors of B would not fit beside them: `shapes`), so an R x V*W tile
fits the GEMM's edge-tile buffer. Columns go in blocks of 4 vectors (1
when the thread's columns fit one), the last block with the fewest of 1
to 4 that cover it; rows left over after the R-row blocks go one at a
time. A partial block reads B's rows as whole vectors but for the last
row or two (matmul.wholly_read_rows) and stores only the lanes it owns:
AVX2 has no cheap masked load or store.

Every element is summed over k = 0..K-1 in order by one thread, whatever
the thread count (the driver's row or column split), so results are
identical between thread counts; whether this path runs depends only on
M, N, K and the operands' layout (`narrow_ok`), never on threads.
"""

from __future__ import annotations

from llvmlite import ir

from ..ir.dtypes import DType
from .loops import for_range
from .scalar import I64, PTR, VOID, alloca, reg_type

NARROW = 32  # N or K at most this: the unpacked path
# op(A) not transposed, N within one vector: from this many rows (of this
# thread's block) they are packed transposed for _uk_t (W1's head forward,
# 128x256x10: rows of N = 10 lanes use 10 of 16; the packing costs less
# than the idle lanes from a few dozen rows on)
PACK_ROWS = 32


def _c(v) -> ir.Constant:
    return ir.Constant(I64, int(v))


def _function(module, name: str, args: list, define: bool):
    """(the module's function `name`, whether its body is to be emitted
    now): a new function (void, `args`) when absent, internal if it is
    to be defined here, else a declaration (the library object of the
    narrow kernels defines it: library_functions)."""
    fn = module.globals.get(name)
    if fn is not None:
        return fn, False
    fn = ir.Function(module, ir.FunctionType(VOID, args), name)
    if define:
        fn.linkage = "internal"
    return fn, define


def library_functions(module, dt: DType, bk, define: bool) -> None:
    """Every function the driver's narrow path calls (emit_narrow), with
    external linkage: defined (the library object of the narrow kernels,
    compiled beside the driver's: matmul.library_modules) or declared (in
    the driver's object, before the driver is emitted)."""
    w = bk.w
    fns = [_row_packer(module, dt, w, define)]
    for r, v in shapes(w, bk.mr, bk.nr):
        fns += [_uk(module, dt, w, r, v, define),
                _uk(module, dt, w, 1, v, define)]
    for nb in range(1, w + 1):
        fns.append(_uk_t(module, dt, w, nb, _rows_t(w, bk.mr, bk.nr, nb),
                         define))
    for fn in fns:
        fn.linkage = ""


def shapes(w: int, mr: int, nr: int) -> tuple:
    """((R, V), ...) for V = 1 to 4 vectors of w lanes: R * V * w at most
    mr * nr (the micro-kernel's accumulators), and R * V accumulators, V
    vectors of B and a broadcast within the register file (16 vectors
    where the micro-kernel has at most 16 accumulators, else 32): with
    AVX2, 3 x 4 spilled in the k loop (N = 24: 2.4x slower than N = 16)."""
    acc = mr * nr // w
    regs = 32 if acc > 16 else 16
    return tuple((min(acc // v, (regs - v - 1) // v), v)
                 for v in (1, 2, 3, 4))


def _uk(module, dt: DType, w: int, R: int, V: int,
        define: bool = True) -> ir.Function:
    """void f(A, rsa, csa, B, ldb, K, out, ldo, nb): for r < R, c < nb
    (nb <= V*w): out[r*ldo + c] = sum_k A[r*rsa + k*csa] * B[k*ldb + c]."""
    from .matmul import _gep, _Vec, k_loop

    fn, new = _function(module, f"gk_narrow_{dt.name}_{R}x{V}", [
        PTR, I64, I64, PTR, I64, I64, PTR, I64, I64], define)
    if not new:
        return fn
    A, rsa, csa, B, ldb, K, out, ldo, nb = fn.args
    for p in (A, B, out):
        p.add_attribute("noalias")
    b = ir.IRBuilder(fn.append_basic_block("entry"))
    v = _Vec(b, dt, w)
    t = v.t
    rows = [_gep(b, A, b.mul(_c(r), rsa), t) for r in range(R)]
    full = b.icmp_signed("==", nb, _c(V * w))
    masks = [v.mask(b.sub(nb, _c(c * w))) for c in range(V)]

    def product(masked: bool):
        def step(k, acc, masked_loads):
            brow = _gep(b, B, b.mul(k, ldb), t)
            bv = []
            for c in range(V):
                p = _gep(b, brow, _c(c * w), t)
                bv.append(v.masked_load(p, masks[c]) if masked_loads
                          else v.load(p))
            koff = b.mul(k, csa)
            new = []
            for r in range(R):
                a = v.splat(b.load(_gep(b, rows[r], koff, t), typ=t))
                for c in range(V):
                    new.append(v.madd(a, bv[c], acc[r * V + c]))
            return new

        # masked: whole vectors of B's rows while the lanes past nb stay
        # within B (masked loads in the loop ran 3x slower on AVX2 EPYC),
        # masked ones for the last rows (wholly_read_rows)
        acc = k_loop(b, fn, K, [v.zero] * (R * V), step, "nk",
                     (ldb, b.sub(_c(V * w), nb)) if masked else None)
        if not masked:
            for r in range(R):
                orow = _gep(b, out, b.mul(_c(r), ldo), t)
                for c in range(V):
                    v.store(acc[r * V + c], _gep(b, orow, _c(c * w), t))
            return
        # whole vectors stored whole, the one nb ends in masked, those
        # past nb not at all (a masked store with no lane set cost ~100
        # cycles on AVX2 EPYC: N = 24 in 4 vectors ran 2.5x slower)
        for c in range(V):
            lo = _c(c * w)
            whole = b.icmp_signed(">=", nb, _c((c + 1) * w))
            some = b.icmp_signed(">", nb, lo)
            with b.if_else(whole) as (all_lanes, part):
                with all_lanes:
                    for r in range(R):
                        p = _gep(b, out, b.add(b.mul(_c(r), ldo), lo), t)
                        v.store(acc[r * V + c], p)
                with part, b.if_then(some):
                    for r in range(R):
                        p = _gep(b, out, b.add(b.mul(_c(r), ldo), lo), t)
                        v.masked_store(acc[r * V + c], p, masks[c])

    with b.if_else(full) as (whole, edge):
        with whole:
            product(False)
        with edge:
            product(True)
    b.ret_void()
    return fn


def _uk_t(module, dt: DType, w: int, NB: int, S: int,
          define: bool = True) -> ir.Function:
    """void f(A, lda, B, ldb, K, out, ldo, rows): op(A) transposed (A is
    K x M, rows of stride lda, so the rows of C a tile covers lie side by
    side in each row of A): for r < rows (<= S*w) and n < NB,
    out[r*ldo + n] = sum_k A[k*lda + r] * B[k*ldb + n].

    Vectors run along C's rows: S vectors of A's row k, times B[k, n]
    broadcast, into NB x S accumulators (C transposed, in registers), so
    every lane works even when N is 10 (row-wise vectors of N = 10 lanes
    use 10 of 16); the tile then goes out through a small stack buffer,
    transposed. Each element is the same fma chain over k = 0..K-1 as in
    the row-wise kernel (_uk), so the results are the same bits."""
    from .matmul import _counted_loop, _gep, _Vec

    fn, new = _function(module, f"gk_narrow_t_{dt.name}_{NB}x{S}", [
        PTR, I64, PTR, I64, I64, PTR, I64, I64], define)
    if not new:
        return fn
    A, lda, B, ldb, K, out, ldo, rows = fn.args
    for p in (A, B, out):
        p.add_attribute("noalias")
    b = ir.IRBuilder(fn.append_basic_block("entry"))
    v = _Vec(b, dt, w)
    t = v.t
    span = S * w
    tmp = alloca(b, ir.ArrayType(t, NB * span))  # C^T: tmp[n*span + r]
    full = b.icmp_signed("==", rows, _c(span))
    masks = [v.mask(b.sub(rows, _c(s * w))) for s in range(S)]

    def product(masked: bool):
        def step(k, acc):
            arow = _gep(b, A, b.mul(k, lda), t)
            av = []
            for s in range(S):
                p = _gep(b, arow, _c(s * w), t)
                av.append(v.masked_load(p, masks[s]) if masked else v.load(p))
            brow = _gep(b, B, b.mul(k, ldb), t)
            new = []
            for n in range(NB):
                bs = v.splat(b.load(_gep(b, brow, _c(n), t), typ=t))
                for s in range(S):
                    new.append(v.madd(bs, av[s], acc[n * S + s]))
            return new

        k, phis, finish = _counted_loop(b, fn, K, [v.zero] * (NB * S),
                                        "tk" + ("m" if masked else ""))
        acc = finish(step(k, phis))
        for n in range(NB):
            for s in range(S):
                v.store(acc[n * S + s], _gep(b, tmp, _c(n * span + s * w), t))

    with b.if_else(full) as (whole, edge):
        with whole:
            product(False)
        with edge:
            product(True)
    with for_range(b, rows, name="tr") as r:
        orow = _gep(b, out, b.mul(r, ldo), t)
        for n in range(NB):
            x = b.load(_gep(b, tmp, b.add(r, _c(n * span)), t), typ=t)
            b.store(x, _gep(b, orow, _c(n), t))
    b.ret_void()
    return fn


def _rows_t(w: int, mr: int, nr: int, nb: int) -> int:
    """S of _uk_t for NB = nb: NB x S accumulators within the micro-kernel's
    (mr * nr / w) and an S*w x NB tile within its edge-tile buffer; at most
    4 vectors of rows."""
    return max(1, min(4, mr * nr // (w * nb)))


def _row_packer(module, dt: DType, w: int,
                define: bool = True) -> ir.Function:
    """void gk_pack_rows_<dt>(A, lda, m0, rows, K, span, dst): rows
    m0:m0+rows of A (row-major, row stride lda) in panels of `span` rows
    (a multiple of w, the same function for every S of _uk_t), transposed:
    dst[q*K*span + k*span + r] = A[(m0 + q*span + r)*lda + k], zero past
    `rows`. Whole groups of w rows go as w x w transposes over whole
    chunks of w k's (matmul._transpose), the rest one element at a time."""
    from .matmul import _ceil_div, _gep, _max, _min, _transpose, _Vec

    fn, new = _function(module, f"gk_pack_rows_{dt.name}", [
        PTR, I64, I64, I64, I64, I64, PTR], define)
    if not new:
        return fn
    A, lda, m0, rows, K, span, dst = fn.args
    for p in (A, dst):
        p.add_attribute("noalias")
    b = ir.IRBuilder(fn.append_basic_block("entry"))
    v = _Vec(b, dt, w)
    t = v.t
    zero = ir.Constant(t, None)
    nchunk = b.sdiv(K, _c(w))
    groups = b.sdiv(span, _c(w))
    panel = b.mul(K, span)
    with for_range(b, _ceil_div(b, rows, span), name="q") as q, \
            for_range(b, groups, name="g") as g:
        r0 = b.add(b.mul(q, span), b.mul(g, _c(w)))  # the group's first row
        out = _gep(b, dst, b.add(b.mul(q, panel), b.mul(g, _c(w))), t)
        src = _gep(b, A, b.mul(b.add(m0, r0), lda), t)
        valid = b.sub(rows, r0)
        with b.if_else(b.icmp_signed(">=", valid, _c(w))) as (whole, part):
            with whole:
                with for_range(b, nchunk, name="c") as c:
                    k = b.mul(c, _c(w))
                    cols = _transpose(b, [v.load(_gep(b, src, b.add(
                        b.mul(_c(r), lda), k), t)) for r in range(w)])
                    for kk in range(w):
                        v.store(cols[kk], _gep(b, out, b.mul(
                            b.add(k, _c(kk)), span), t))
                with for_range(b, b.sub(K, b.mul(nchunk, _c(w))),
                               name="kr") as kr, \
                        for_range(b, _c(w), name="r") as r:
                    k = b.add(b.mul(nchunk, _c(w)), kr)
                    x = b.load(_gep(b, src, b.add(b.mul(r, lda), k), t), typ=t)
                    b.store(x, _gep(b, out, b.add(b.mul(k, span), r), t))
            with part:  # the last rows: zero past them
                last = b.sub(_min(b, valid, _c(w)), _c(1))
                with for_range(b, K, name="kp") as k, \
                        for_range(b, _c(w), name="rp") as r:
                    # (a group wholly past the rows reads the block's
                    # first row: every load stays within the rows)
                    i = _max(b, _min(b, r, last), b.sub(_c(0), r0))
                    x = b.load(_gep(b, src, b.add(b.mul(i, lda), k), t), typ=t)
                    b.store(b.select(b.icmp_signed("<=", r, last), x, zero),
                            _gep(b, out, b.add(b.mul(k, span), r), t))
    b.ret_void()
    return fn


def _emit_transposed(b, dt, bk, A, C, K, lda, ldc, bsrc, ldb2, m0, m1, n0,
                     width, ep, epctx, has_ep, tile_mode, tile,
                     pack_to=None) -> None:
    """Columns n0:n0+width (width <= w) of C = op(A) @ op(B) with op(A)
    transposed, rows m0:m1 in tiles of S*w rows (_uk_t, one variant per
    width), with the epilogue per tile. With `pack_to` (a workspace
    pointer) A is not transposed (M x K, rows of stride lda): rows m0:m1
    are first packed into panels of S*w rows (_row_packer, W x W
    transposes), panel q holding op(A)(m0 + q*S*w + r, k) at
    [q*K*S*w + k*S*w + r], which is what _uk_t reads with lda = S*w."""
    from .matmul import _ceil_div, _gep, _min

    module = b.module
    t = reg_type(dt)
    w = bk.w
    fn = b.function
    done = fn.append_basic_block("nt.done")
    sw = b.switch(width, done)
    for nb in range(1, w + 1):
        blk = fn.append_basic_block(f"nt.{nb}")
        sw.add_case(ir.Constant(I64, nb), blk)
        b.position_at_end(blk)
        S = _rows_t(w, bk.mr, bk.nr, nb)
        f = _uk_t(module, dt, w, nb, S)
        span = S * w
        if pack_to is not None:
            b.call(_row_packer(module, dt, w),
                   [A, lda, m0, b.sub(m1, m0), K, _c(span), pack_to])
        with for_range(b, _ceil_div(b, b.sub(m1, m0), span),
                       name=f"nti{nb}") as ib:
            i = b.add(m0, b.mul(ib, _c(span)))
            r = _min(b, _c(span), b.sub(m1, i))
            if pack_to is None:
                a, la = _gep(b, A, i, t), lda
            else:
                a, la = _gep(b, pack_to, b.mul(ib, b.mul(K, _c(span))), t), \
                    _c(span)
            direct = _gep(b, C, b.add(b.mul(i, ldc), n0), t)
            dst = b.select(tile_mode, tile, direct)
            ld = b.select(tile_mode, _c(nb), ldc)
            b.call(f, [a, la, bsrc, ldb2, K, dst, ld, r])
            with b.if_then(has_ep):
                b.call(ep, [epctx, i, n0, r, _c(nb), dst, ld])
        b.branch(done)
    b.position_at_end(done)


def narrow_ok(b, bk, M, N, K, tb, small):
    """i1: the product takes the unpacked path (only sizes and layout
    decide, never the thread count): N or K at most NARROW, more than the
    small-M path's rows, and a transposed B's K x N copy fits the packed
    B part of the workspace."""
    nar = b.or_(b.icmp_signed("<=", N, _c(NARROW)),
                b.icmp_signed("<=", K, _c(NARROW)))
    fits = b.or_(b.icmp_signed("==", tb, _c(0)),
                 b.icmp_signed("<=", b.mul(K, N), _c(bk.kc * bk.nc)))
    return b.and_(b.and_(nar, fits), b.not_(small))


def emit_narrow(b, dt: DType, bk, A, B, C, K, lda, ldb, ldc, ta, tb,
                m0, m1, n0, n1, ep, epctx, tile_mode, tile, bt_ws,
                at_ws=None, at_cap=None) -> None:
    """Rows m0:m1, columns n0:n1 of C = op(A) @ op(B) (this thread's
    block), with the epilogue per tile; see the module docstring.
    `at_ws`: workspace of `at_cap` elements (an i64 value) for op(A)'s
    rows packed for _uk_t when A is not transposed and N is within one
    vector."""
    from .matmul import _ceil_div, _gep, _min

    module = b.module
    t = reg_type(dt)
    w = bk.w
    has_ep = b.icmp_unsigned("!=", b.ptrtoint(ep, I64), _c(0))
    is_ta = b.icmp_signed("!=", ta, _c(0))
    rsa = b.select(is_ta, _c(1), lda)
    csa = b.select(is_ta, lda, _c(1))
    width = b.sub(n1, n0)
    # op(B) rows: B itself, or its columns n0:n1 copied transposed
    is_tb = b.icmp_signed("!=", tb, _c(0))
    with b.if_then(is_tb):
        with for_range(b, K, name="tk") as k, \
                for_range(b, width, name="tj") as j:
            x = b.load(_gep(b, B, b.add(b.mul(b.add(n0, j), ldb), k), t),
                       typ=t)
            b.store(x, _gep(b, bt_ws, b.add(b.mul(k, width), j), t))
    bsrc = b.select(is_tb, bt_ws, _gep(b, B, n0, t))
    ldb2 = b.select(is_tb, width, ldb)

    variants = shapes(w, bk.mr, bk.nr)
    fns = {v: (_uk(module, dt, w, r, v), _uk(module, dt, w, 1, v))
           for r, v in variants}
    rows_of = dict((v, r) for r, v in variants)

    def block(V, jl, nb):
        """Columns jl:jl+nb of this thread's (nb <= V*w), all its rows:
        tiles of R rows by _uk R x V, the rows left one at a time."""
        R = rows_of[V]
        big, one = fns[V]
        span = V * w
        j = b.add(n0, jl)
        bp = _gep(b, bsrc, jl, t)
        nrows = b.sub(m1, m0)
        nfull = b.sdiv(nrows, _c(R))

        def tile_at(i, r, f):
            a = _gep(b, A, b.mul(i, rsa), t)
            with b.if_else(tile_mode) as (tl, direct):
                with tl:
                    b.call(f, [a, rsa, csa, bp, ldb2, K, tile, _c(span), nb])
                with direct:
                    b.call(f, [a, rsa, csa, bp, ldb2, K,
                               _gep(b, C, b.add(b.mul(i, ldc), j), t), ldc,
                               nb])
            with b.if_then(has_ep):
                src = b.select(tile_mode, tile,
                               _gep(b, C, b.add(b.mul(i, ldc), j), t))
                ld = b.select(tile_mode, _c(span), ldc)
                b.call(ep, [epctx, i, j, _c(r), nb, src, ld])

        with for_range(b, nfull, name=f"ni{V}") as ib:
            tile_at(b.add(m0, b.mul(ib, _c(R))), R, big)
        with for_range(b, b.sub(nrows, b.mul(nfull, _c(R))),
                       name=f"nr{V}") as ir_:
            tile_at(b.add(b.add(m0, b.mul(nfull, _c(R))), ir_), 1, one)

    def run(V):
        """Blocks of V vectors of columns; the last, partial one by the
        variant of the fewest vectors that cover it (N = 40 with AVX2: 32
        + 8 columns, the 8 in one vector, not four)."""
        span = V * w
        nblocks = b.sdiv(width, _c(span))
        with for_range(b, nblocks, name=f"nj{V}") as jb:
            block(V, b.mul(jb, _c(span)), _c(span))
        jl = b.mul(nblocks, _c(span))
        rest = b.sub(width, jl)
        below = 0
        for u in sorted(rows_of):
            if u > V:
                break
            with b.if_then(b.and_(b.icmp_signed(">", rest, _c(below * w)),
                                  b.icmp_signed("<=", rest, _c(u * w)))):
                block(u, jl, rest)
            below = u

    one_vec = b.icmp_signed("<=", width, _c(w))
    with b.if_else(one_vec) as (v1, more):
        with v1:
            # op(A) transposed (weight gradients H^T @ G): vectors along
            # C's rows, every lane used (_uk_t); else rows of N lanes
            with b.if_else(is_ta) as (tr, plain):
                with tr:
                    _emit_transposed(b, dt, bk, A, C, K, lda, ldc, bsrc, ldb2,
                                     m0, m1, n0, width, ep, epctx, has_ep,
                                     tile_mode, tile)
                with plain:
                    if at_ws is None:
                        run(1)
                    else:
                        # rows packed S*w at a time (at most 4 vectors),
                        # when they fit the workspace and are worth it
                        rows = b.sub(m1, m0)
                        need = b.mul(b.add(rows, _c(4 * w)), K)
                        ok = b.and_(b.icmp_signed("<=", need, at_cap),
                                    b.icmp_signed(">=", rows, _c(PACK_ROWS)))
                        with b.if_else(ok) as (packed, rowwise):
                            with packed:
                                _emit_transposed(
                                    b, dt, bk, A, C, K, lda, ldc, bsrc, ldb2,
                                    m0, m1, n0, width, ep, epctx, has_ep,
                                    tile_mode, tile, pack_to=at_ws)
                            with rowwise:
                                run(1)
        with more:
            run(max(rows_of))
