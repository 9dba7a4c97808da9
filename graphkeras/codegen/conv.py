"""Kernels of the convolution, pooling and resizing ops (ir/ops/conv.py).

Convolutions are direct ("implicit GEMM") convolutions over channels-last
images with a register-blocked micro-kernel in explicit vector code: MR
output pixels times NR = 2 vector widths of output channels accumulate in
MR x 2 vector registers while the loop runs over the taps and the input
channels (a broadcast of one input element times one packed filter row).
No im2col matrix is materialised. Two library functions, compiled once per
machine and dtype like the GEMM (codegen/jit.py), do the work of one image:

    gk_convfwd_<dt>(prm, src, wp, out, scratch)
        out = valid convolution of P with the packed filter wp, where P is
        src itself or, when padding or input dilation is needed, a copy of
        src built in `scratch` (zero padding, zeros between dilated rows);
    gk_convwg_<dt>(prm, x, g, dwp, scratch, t0, t1)
        dwp += the filter gradient of one image, for tiles [t0, t1).

`prm` is an i64 array laid out as FIELDS. The three conv ops map onto them:
- conv: P = x padded by the pads; stride s, dilation d;
- conv_transpose (the input gradient): P = g dilated by s and padded by
  (K-1) d - lo before; stride 1, dilation d, with the filter flipped and
  its channel axes swapped while packing;
- conv_filter_grad: P = x padded, g copied with its channels padded to NR.

The program-side kernel (one per conv node, in the program's module)
packs the filter into the workspace, calls the library once per image and,
when fusion put elementwise consumers into the kernel (passes/
fuse_conv_epilogues.py), applies them to each image's output while it is in
cache. Pooling and resize_grad are plain loop nests vectorised over
channels; resize is a pointwise rule (it fuses like any re-indexing op).
Stride-1 3x3 convolutions (and input gradients) with enough channels run
as Winograd F(2x2, 3x3): 16 products of transformed tiles by transformed
filters, which the library runs as one 1x1 convolution with 16 groups
(see "Winograd" below; W2's conv2 and its input gradient ~1.4x faster).
Depthwise convolutions (groups == channels, one output channel per group)
and their gradients go to codegen/depthwise.py, which vectorises over the
channels instead of padding each group to a panel (DW.axes says which).

Invariants:
- Every load of the micro-kernels stays inside P, the packed filter or g:
  rows beyond the last output pixel (or filter row) are clamped to the last
  one, computed and never stored; channel tails are stored element by
  element.
- The packed filter is zero beyond each group's output channels, so padded
  lanes never change a stored value.
- Threads: every kernel here splits its work by its (tid, nthreads)
  arguments, which the program's schedule hands out as (chunk, chunks):
  convolutions, pooling and resize_grad take a contiguous share of the
  images (their outputs per image are disjoint), a convolution with fewer
  images than chunks (batch 1) a share of row bands of each image (the
  library computes the pixels [m_lo, m_hi) of the grid u_d x u_h x u_w,
  the corner of the output a fused pooling reads; a Winograd convolution
  instead a share of the blocks of NR output channels, [cb_lo, cb_hi)),
  conv_filter_grad a
  share of the filter tiles (each chunk sums every image for its tiles). The
  workspace a kernel receives belongs to the thread running the chunk
  (the runtime's slices are at least workspace_bytes() long): the packed
  filter, then the library's scratch, each 64-byte aligned.
"""

from __future__ import annotations

import contextlib
import math

import numpy as np
from llvmlite import ir

from ..ir import ConstArray
from ..ir.dtypes import DType
from ..ir.ops.conv import (
    POOL_OPS,
    pool_counts,
    resize_taps,
    spatial,
)
from . import depthwise as DW
from . import kernels as K
from .loops import for_range, loop_nest
from .lowering import Lowering, register_lowering
from .scalar import I64, PTR, VOID, alloca, intrinsic, reg_type, suffix

FIELDS = (
    "src_d", "src_h", "src_w", "chan",  # source image and its channels
    "lo_d", "lo_h", "lo_w",  # P[p] = src[(p - lo) / dil] ...
    "dil_d", "dil_h", "dil_w",  # ... input dilation (zeros between)
    "prep",  # 1: build P in scratch; 0: P is src
    "p_d", "p_h", "p_w",  # P's spatial size
    "st_d", "st_h", "st_w",  # conv strides
    "dl_d", "dl_h", "dl_w",  # conv (kernel) dilation
    "k_d", "k_h", "k_w",  # kernel
    "o_d", "o_h", "o_w",  # output spatial size
    "cout",  # output channels (all groups)
    "groups", "cig", "cog", "copad",  # per group: in, out, out padded to NR
    "gcopy",  # wgrad: 1: copy g with channels padded to copad
    "u_d", "u_h", "u_w",  # fwd: the output grid computed (<= o_*) ...
    "m_lo", "m_hi",  # ... and its pixels [m_lo, m_hi) (row-major) stored
    "cb_lo", "cb_hi",  # fwd: the blocks of NR output channels (each group)
)
F = {name: i for i, name in enumerate(FIELDS)}
ALIGN = 64
FEW_CHANNELS = 8  # below: one loop over (tap, channel) rows (see _define_fwd)


def tile_sizes(dt: DType, vector_bytes: int) -> tuple:
    """(W lanes, MR pixels, NR channels) of the micro-kernel."""
    w = max(1, vector_bytes // dt.itemsize)
    mr = {64: 12, 32: 6}.get(vector_bytes, 4)
    return w, mr, 2 * w


def _c(v) -> ir.Constant:
    return ir.Constant(I64, int(v))


def _round_up(n: int, k: int) -> int:
    return -(-n // k) * k


# --- the library -----------------------------------------------------------------


class _Lib:
    """Builder state of one library function."""

    def __init__(self, fn: ir.Function, dt: DType, vector_bytes: int):
        self.fn = fn
        self.dt = dt
        self.t = reg_type(dt)
        self.W, self.MR, self.NR = tile_sizes(dt, vector_bytes)
        self.vt = ir.VectorType(self.t, self.W)
        self.entry = fn.append_basic_block("entry")
        self.b = ir.IRBuilder(self.entry)
        self.fma = intrinsic(fn.module, f"llvm.fmuladd.{suffix(self.vt)}",
                             self.vt, [self.vt] * 3)

    def field(self, prm, name: str):
        return self.b.load(self.b.gep(prm, [_c(F[name])], source_etype=I64),
                           typ=I64, name=name)

    def at(self, p, off):
        return self.b.gep(p, [off], source_etype=self.t, inbounds=True)

    def vload(self, p, off):
        return self.b.load(self.at(p, off), typ=self.vt, align=self.dt.itemsize)

    def vstore(self, v, p, off):
        self.b.store(v, self.at(p, off), align=self.dt.itemsize)

    def bcast(self, p, off):
        b = self.b
        a = b.load(self.at(p, off), typ=self.t)
        v = b.insert_element(ir.Constant(self.vt, ir.Undefined), a,
                             ir.Constant(ir.IntType(32), 0))
        return b.shuffle_vector(v, ir.Constant(self.vt, ir.Undefined),
                                ir.Constant(ir.VectorType(ir.IntType(32),
                                                          self.W), [0] * self.W))

    def madd(self, a, x, acc):
        return self.b.call(self.fma, [a, x, acc])

    def mul(self, *xs):
        out = xs[0]
        for x in xs[1:]:
            out = self.b.mul(out, x, flags=("nsw",))
        return out

    def add(self, *xs):
        out = xs[0]
        for x in xs[1:]:
            out = self.b.add(out, x, flags=("nsw",))
        return out

    def min(self, a, c):
        return self.b.select(self.b.icmp_signed("<", a, c), a, c)

    def ceil_div(self, a, k):
        return self.b.udiv(self.b.add(a, self.b.sub(k, _c(1))), k)


def _prep(L: _Lib, f: dict, src, dst) -> None:
    """dst = P: dst[p] = src[(p - lo) / dil] where that is a whole in-range
    index, else 0 (per spatial axis; all channels copied)."""
    b = L.b
    C = f["chan"]
    zero = ir.Constant(L.t, 0.0)

    def axis(p, lo, dil, n):
        j = b.sub(p, lo)
        jj = b.select(b.icmp_signed("<", j, _c(0)), _c(0), j)
        q = b.udiv(jj, dil)
        ok = b.and_(b.icmp_signed(">=", j, _c(0)),
                    b.and_(b.icmp_unsigned("==", b.urem(jj, dil), _c(0)),
                           b.icmp_unsigned("<", q, n)))
        return ok, q

    with for_range(b, f["p_d"], name="pd") as pd:
        okd, qd = axis(pd, f["lo_d"], f["dil_d"], f["src_d"])
        with for_range(b, f["p_h"], name="ph") as ph:
            okh, qh = axis(ph, f["lo_h"], f["dil_h"], f["src_h"])
            row = L.mul(L.add(L.mul(pd, f["p_h"]), ph), f["p_w"])
            srow = L.mul(L.add(L.mul(qd, f["src_h"]), qh), f["src_w"])
            okdh = b.and_(okd, okh)
            with for_range(b, f["p_w"], name="pw") as pw:
                okw, qw = axis(pw, f["lo_w"], f["dil_w"], f["src_w"])
                ok = b.and_(okdh, okw)
                dbase = L.mul(L.add(row, pw), C)
                sbase = L.mul(L.add(srow, b.select(ok, qw, _c(0))), C)
                with b.if_else(ok) as (then, other):
                    with then, for_range(b, C, name="pc") as c:
                        v = b.load(L.at(src, L.add(sbase, c)), typ=L.t)
                        b.store(v, L.at(dst, L.add(dbase, c)))
                    with other, for_range(b, C, name="pz") as c:
                        b.store(zero, L.at(dst, L.add(dbase, c)))


def _fields(L: _Lib, prm) -> dict:
    return {name: L.field(prm, name) for name in FIELDS}


def _p_elems(L: _Lib, f: dict):
    return L.mul(f["p_d"], f["p_h"], f["p_w"], f["chan"])


def _aligned_after(L: _Lib, base, elems, etype=None):
    """The first 64-byte aligned address after `elems` elements (of the
    dtype, or of `etype`) at base."""
    b = L.b
    size = 8 if etype is I64 else L.dt.itemsize
    nbytes = L.mul(elems, _c(size))
    addr = b.add(b.ptrtoint(base, I64), nbytes)
    addr = b.and_(b.add(addr, _c(ALIGN - 1)), _c(-ALIGN))
    return b.inttoptr(addr, PTR)


def _pixel_table(L: _Lib, f: dict, tab, otab) -> None:
    """tab[m] = offset in P of computed pixel m's window origin, otab[m] =
    offset of its output pixel in out (m row-major over the computed grid
    u_d x u_h x u_w, a corner of the output's; no division per block)."""
    b = L.b
    C = f["chan"]
    with for_range(b, f["u_d"], name="td") as od, \
            for_range(b, f["u_h"], name="th") as oh:
        row = L.mul(L.add(L.mul(od, f["u_h"]), oh), f["u_w"])
        orow = L.mul(L.add(L.mul(od, f["o_h"]), oh), f["o_w"])
        org = L.mul(L.add(L.mul(od, f["st_d"], f["p_h"]), L.mul(oh, f["st_h"])),
                    f["p_w"])
        with for_range(b, f["u_w"], name="tw") as ow:
            v = L.mul(L.add(org, L.mul(ow, f["st_w"])), C)
            m = L.add(row, ow)
            b.store(v, b.gep(tab, [m], source_etype=I64))
            b.store(L.mul(L.add(orow, ow), f["cout"]),
                    b.gep(otab, [m], source_etype=I64))


def _tap_table(L: _Lib, f: dict, tab) -> None:
    """tab[r] = offset in P of filter row r = (tap, input channel) from a
    window's origin (before the group's channel offset)."""
    b = L.b
    C = f["chan"]
    with for_range(b, f["k_d"], name="kd") as kd, \
            for_range(b, f["k_h"], name="kh") as kh, \
            for_range(b, f["k_w"], name="kw") as kw:
        toff = L.mul(L.add(L.mul(L.add(L.mul(kd, f["dl_d"], f["p_h"]),
                                       L.mul(kh, f["dl_h"])), f["p_w"]),
                           L.mul(kw, f["dl_w"])), C)
        tap = L.add(L.mul(L.add(L.mul(kd, f["k_h"]), kh), f["k_w"]), kw)
        with for_range(b, f["cig"], name="ci") as ci:
            b.store(L.add(toff, ci), b.gep(tab, [L.add(L.mul(tap, f["cig"]), ci)],
                                            source_etype=I64))


def fwd_name(dt: DType) -> str:
    return f"gk_convfwd_{dt.name}"


def wgrad_name(dt: DType) -> str:
    return f"gk_convwg_{dt.name}"


def _fwd_type():
    return ir.FunctionType(VOID, [PTR] * 5)


def _wgrad_type():
    return ir.FunctionType(VOID, [PTR] * 5 + [I64, I64])


def _define_fwd(module: ir.Module, dt: DType, vector_bytes: int) -> None:
    fn = ir.Function(module, _fwd_type(), fwd_name(dt))
    prm, src, wp, out, scratch = fn.args
    for a in (src, wp, out, scratch):
        a.add_attribute("noalias")
    L = _Lib(fn, dt, vector_bytes)
    b, MR, NR, W = L.b, L.MR, L.NR, L.W
    accs = [[alloca(b, L.vt) for _ in range(2)] for _ in range(MR)]
    tmp = alloca(b, ir.ArrayType(L.t, NR))
    wslot = alloca(b, I64)
    f = _fields(L, prm)
    prep = b.icmp_unsigned("!=", f["prep"], _c(0))
    with b.if_then(prep):
        _prep(L, f, src, scratch)
    P = b.select(prep, scratch, src)
    M = L.mul(f["u_d"], f["u_h"], f["u_w"])
    m_lo, m_hi = f["m_lo"], f["m_hi"]
    kg = L.mul(f["k_d"], f["k_h"], f["k_w"], f["cig"])
    pix = _aligned_after(L, scratch, b.select(prep, _p_elems(L, f), _c(0)))
    opx = _aligned_after(L, pix, M, I64)
    _pixel_table(L, f, pix, opx)
    ktab = _aligned_after(L, opx, M, I64)
    _tap_table(L, f, ktab)
    zero = ir.Constant(L.vt, None)
    with for_range(b, f["groups"], name="g") as g:
        goff = L.mul(g, f["cig"])
        with for_range(b, f["cb_hi"], start=f["cb_lo"], name="cb") as cb:
            c0 = L.mul(cb, _c(NR))
            ncols = L.min(b.sub(f["cog"], c0), _c(NR))
            full = b.icmp_signed("==", ncols, _c(NR))
            wpanel = L.add(L.mul(g, kg, f["copad"]), c0)
            obase = L.add(L.mul(g, f["cog"]), c0)
            # pixels [m_lo, m_hi) (m_lo < m_hi <= M: the caller's band)
            with for_range(b, L.ceil_div(b.sub(m_hi, m_lo), _c(MR)),
                           name="mb") as mb:
                m0 = L.add(m_lo, L.mul(mb, _c(MR)))
                ptrs = []
                for p in range(MR):
                    m = L.min(L.add(m0, _c(p)), b.sub(m_hi, _c(1)))
                    base = b.load(b.gep(pix, [m], source_etype=I64), typ=I64)
                    ptrs.append(L.at(P, L.add(base, goff)))
                for row in accs:
                    for a in row:
                        b.store(zero, a)
                def fma_row(ptr_off, wo):
                    wv = [L.vload(wp, wo), L.vload(wp, L.add(wo, _c(W)))]
                    for p in range(MR):
                        a = L.bcast(ptrs[p], ptr_off)
                        for h in range(2):
                            b.store(L.madd(a, wv[h], b.load(accs[p][h],
                                                            typ=L.vt)),
                                    accs[p][h])

                # few input channels (a first layer): one loop over the
                # (tap, channel) rows, ktab[r] their offsets in P; many:
                # the taps, then a contiguous run of channels each
                few = b.icmp_signed("<", f["cig"], _c(FEW_CHANNELS))
                b.store(wpanel, wslot)
                with b.if_else(few) as (flat, nested):
                    with flat, for_range(b, kg, name="r") as r:
                        off = b.load(b.gep(ktab, [r], source_etype=I64), typ=I64)
                        wo = b.load(wslot, typ=I64)
                        fma_row(off, wo)
                        b.store(L.add(wo, f["copad"]), wslot)
                    with nested, for_range(b, L.mul(f["k_d"], f["k_h"], f["k_w"]),
                                           name="tap") as tap:
                        off0 = b.load(b.gep(ktab, [L.mul(tap, f["cig"])],
                                            source_etype=I64), typ=I64)
                        with for_range(b, f["cig"], name="ci") as ci:
                            wo = b.load(wslot, typ=I64)
                            fma_row(L.add(off0, ci), wo)
                            b.store(L.add(wo, f["copad"]), wslot)
                mrem = b.sub(m_hi, m0)
                for p in range(MR):
                    with b.if_then(b.icmp_signed(">", mrem, _c(p))):
                        o = L.add(b.load(b.gep(opx, [L.add(m0, _c(p))],
                                               source_etype=I64), typ=I64),
                                  obase)
                        vs = [b.load(accs[p][h], typ=L.vt) for h in range(2)]
                        with b.if_else(full) as (whole, part):
                            with whole:
                                L.vstore(vs[0], out, o)
                                L.vstore(vs[1], out, L.add(o, _c(W)))
                            with part:
                                for h in range(2):
                                    b.store(vs[h], b.gep(
                                        tmp, [_c(0), _c(h * W)],
                                        source_etype=ir.ArrayType(L.t, NR)),
                                        align=L.dt.itemsize)
                                with for_range(b, ncols, name="tail") as j:
                                    v = b.load(b.gep(tmp, [_c(0), j],
                                                     source_etype=ir.ArrayType(
                                                         L.t, NR)), typ=L.t)
                                    b.store(v, L.at(out, L.add(o, j)))
    b.ret_void()


def _define_wgrad(module: ir.Module, dt: DType, vector_bytes: int) -> None:
    fn = ir.Function(module, _wgrad_type(), wgrad_name(dt))
    prm, x, g_img, dwp, scratch, t0, t1 = fn.args
    for a in (x, g_img, dwp, scratch):
        a.add_attribute("noalias")
    L = _Lib(fn, dt, vector_bytes)
    b, MR, NR, W = L.b, L.MR, L.NR, L.W
    accs = [[alloca(b, L.vt) for _ in range(2)] for _ in range(MR)]
    pslot, gslot = alloca(b, I64), alloca(b, I64)
    f = _fields(L, prm)
    C = f["chan"]
    prep = b.icmp_unsigned("!=", f["prep"], _c(0))
    with b.if_then(prep):
        _prep(L, f, x, scratch)
    P = b.select(prep, scratch, x)
    M = L.mul(f["o_d"], f["o_h"], f["o_w"])
    gbuf = _aligned_after(L, scratch, b.select(prep, _p_elems(L, f), _c(0)))
    gcopy = b.icmp_unsigned("!=", f["gcopy"], _c(0))
    # gbuf[g][m][c] = g_img[m][g cog + c] for c < cog, else 0
    with b.if_then(gcopy), for_range(b, f["groups"], name="cg") as g, \
            for_range(b, M, name="cm") as m, \
            for_range(b, f["copad"], name="cc") as c:
        inside = b.icmp_signed("<", c, f["cog"])
        src = L.add(L.mul(m, f["cout"]), L.mul(g, f["cog"]),
                    b.select(inside, c, _c(0)))
        v = b.load(L.at(g_img, src), typ=L.t)
        v = b.select(inside, v, ir.Constant(L.t, 0.0))
        b.store(v, L.at(gbuf, L.add(L.mul(L.add(L.mul(g, M), m),
                                          f["copad"]), c)))
    G = b.select(gcopy, gbuf, g_img)
    ldg = b.select(gcopy, f["copad"], f["cout"])
    gstride = b.select(gcopy, L.mul(M, f["copad"]), _c(0))
    kg = L.mul(f["k_d"], f["k_h"], f["k_w"], f["cig"])
    roff = _aligned_after(L, gbuf, b.select(gcopy, L.mul(f["groups"], M,
                                                         f["copad"]), _c(0)))
    _tap_table(L, f, roff)
    rb_n = L.ceil_div(kg, _c(MR))
    cb_n = b.udiv(f["copad"], _c(NR))
    zero = ir.Constant(L.vt, None)
    with for_range(b, t1, start=t0, name="tile") as tile:
        per_g = L.mul(rb_n, cb_n)
        g = b.udiv(tile, per_g)
        rem = b.urem(tile, per_g)
        rb = b.udiv(rem, cb_n)
        cb = b.urem(rem, cb_n)
        r0 = L.mul(rb, _c(MR))
        goff = L.mul(g, f["cig"])
        ptrs = []
        for q in range(MR):
            r = L.min(L.add(r0, _c(q)), b.sub(kg, _c(1)))
            off = b.load(b.gep(roff, [r], source_etype=I64), typ=I64)
            ptrs.append(L.at(P, L.add(off, goff)))
        gcol = L.add(L.mul(g, gstride), L.mul(cb, _c(NR)))
        for row in accs:
            for a in row:
                b.store(zero, a)
        with for_range(b, f["o_d"], name="od") as od, \
                for_range(b, f["o_h"], name="oh") as oh:
            rowb = L.mul(L.add(L.mul(od, f["st_d"], f["p_h"]),
                               L.mul(oh, f["st_h"])), f["p_w"], C)
            grow = L.add(L.mul(L.add(L.mul(od, f["o_h"]), oh), f["o_w"], ldg),
                         gcol)
            step = L.mul(f["st_w"], C)
            b.store(rowb, pslot)
            b.store(grow, gslot)
            with for_range(b, f["o_w"], name="ow"):
                base = b.load(pslot, typ=I64)
                go = b.load(gslot, typ=I64)
                gv = [L.vload(G, go), L.vload(G, L.add(go, _c(W)))]
                for q in range(MR):
                    a = L.bcast(ptrs[q], base)
                    for h in range(2):
                        b.store(L.madd(a, gv[h], b.load(accs[q][h], typ=L.vt)),
                                accs[q][h])
                b.store(L.add(base, step), pslot)
                b.store(L.add(go, ldg), gslot)
        rrem = b.sub(kg, r0)
        for q in range(MR):
            with b.if_then(b.icmp_signed(">", rrem, _c(q))):
                o = L.add(L.mul(L.add(L.mul(g, kg), r0, _c(q)), f["copad"]),
                          L.mul(cb, _c(NR)))
                for h in range(2):
                    oo = L.add(o, _c(h * W))
                    L.vstore(b.fadd(L.vload(dwp, oo),
                                    b.load(accs[q][h], typ=L.vt)), dwp, oo)
    b.ret_void()


def conv_library(dt: DType, vector_bytes: int) -> ir.Module:
    module = ir.Module(name=f"gk_conv_{dt.name}")
    _define_fwd(module, dt, vector_bytes)
    _define_wgrad(module, dt, vector_bytes)
    return module


def library_modules(dt: DType) -> tuple:
    return ((f"conv_{dt.name}", lambda vb: conv_library(dt, vb)),)


def _declare(module: ir.Module, name: str, fty: ir.FunctionType) -> ir.Function:
    fn = module.globals.get(name)
    if fn is None:
        fn = ir.Function(module, fty, name)
    return fn


# --- program-side planning (Python ints) ------------------------------------------


def _pad3(v, fill) -> list:
    v = list(v)
    return [fill] * (3 - len(v)) + v


class ConvPlan:
    """The library calls of one conv-family node: parameter values, packed
    filter size and scratch size, all static."""

    def __init__(self, node, vector_bytes: int):
        op = node.op
        a = node.attrs
        self.op = op
        self.dt = node.outputs[0].dtype
        _, _, NR = tile_sizes(self.dt, vector_bytes)
        D = node.inputs[0].rank - 2
        strides, dilation, groups = a["strides"], a["dilation"], a["groups"]
        pads = a["pads"]
        if op == "conv":
            x, w = node.inputs
            kernel = w.shape[:D]
            src_sp, out_sp = spatial(x.type), spatial(node.outputs[0].type)
            chan, cout = x.shape[-1], w.shape[-1]
            cig, cog = w.shape[-2], cout // groups
            lo = [p[0] for p in pads]
            dil_in = [1] * D
            st, dl = strides, dilation
        elif op == "conv_transpose":
            g, w = node.inputs
            kernel = w.shape[:D]
            src_sp, out_sp = spatial(g.type), tuple(a["shape"])
            chan, cout = g.shape[-1], w.shape[-2] * groups
            cig, cog = chan // groups, w.shape[-2]
            lo = [(k - 1) * d - p[0] for k, d, p in zip(kernel, dilation, pads)]
            dil_in = list(strides)
            st, dl = (1,) * D, dilation
        else:  # conv_filter_grad
            x, g = node.inputs
            kernel = tuple(a["shape"])
            src_sp, out_sp = spatial(x.type), spatial(g.type)
            chan, cout = x.shape[-1], g.shape[-1]
            cig, cog = chan // groups, cout // groups
            lo = [p[0] for p in pads]
            dil_in = [1] * D
            st, dl = strides, dilation
        p_sp = [(o - 1) * s + (k - 1) * d + 1
                for o, s, k, d in zip(out_sp, st, kernel, dl)]
        prep = any(lo) or any(x != 1 for x in dil_in) or any(
            p > i for p, i in zip(p_sp, src_sp))
        if not prep:
            p_sp = list(src_sp)
        copad = _round_up(cog, NR)
        gcopy = op == "conv_filter_grad" and (groups > 1 or cout % NR != 0)
        vals = {
            "chan": chan, "prep": int(prep), "cout": cout, "groups": groups,
            "cig": cig, "cog": cog, "copad": copad, "gcopy": int(gcopy),
            "m_lo": 0, "m_hi": int(np.prod(out_sp)),
            "cb_lo": 0, "cb_hi": copad // NR,
        }
        for ax, x_ in zip("dhw", _pad3(out_sp, 1)):
            vals[f"u_{ax}"] = int(x_)
        for key, v, fill in (("src", src_sp, 1), ("lo", lo, 0), ("dil", dil_in, 1),
                             ("p", p_sp, 1), ("st", st, 1), ("dl", dl, 1),
                             ("k", kernel, 1), ("o", out_sp, 1)):
            for ax, x_ in zip("dhw", _pad3(v, fill)):
                vals[f"{key}_{ax}"] = int(x_)
        self.values = [vals[name] for name in FIELDS]
        self.kernel, self.D, self.groups = tuple(kernel), D, groups
        self.nr = NR
        self.cig, self.cog, self.copad, self.cout = cig, cog, copad, cout
        self.kg = int(np.prod(kernel)) * cig
        self.packed = groups * self.kg * copad
        # a forward filter w[tap, ci, co] with one group and whole panels
        # of output channels is its own packed form: no copy (at batch 1
        # packing cost as much as a tenth of the convolution)
        self.packed_as_is = op == "conv" and groups == 1 and cout == copad
        m = int(np.prod(out_sp))
        self.pixels = m
        scratch = (int(np.prod(p_sp)) * chan if prep else 0)
        scratch = _round_up(scratch * self.dt.itemsize, ALIGN) // self.dt.itemsize
        if gcopy:
            scratch += groups * m * copad
        self.scratch = scratch
        self.tiles = groups * (-(-self.kg // tile_sizes(self.dt, vector_bytes)[1])) \
            * (copad // NR)

    def workspace_bytes(self) -> int:
        isz = self.dt.itemsize
        # the library's offset tables (output pixels, filter rows), i64
        tables = 2 * _round_up(self.pixels * 8, ALIGN) + _round_up(
            self.kg * 8, ALIGN)
        return _round_up(self.packed * isz, ALIGN) + _round_up(
            max(self.scratch, 1) * isz, ALIGN) + tables + ALIGN


# --- program-side emitters ---------------------------------------------------------


def _share(ctx, total):
    """(start, stop): this chunk's contiguous share of range(total); the
    kernels split their images (or filter tiles) this way."""
    b = ctx.b
    tid, nth = ctx.fn.args[0], ctx.fn.args[1]
    start = b.udiv(b.mul(tid, total), nth)
    stop = b.udiv(b.mul(b.add(tid, _c(1)), total), nth)
    return start, stop


def _prm(ctx, values):
    b = ctx.b
    arr = ctx.alloca(ir.ArrayType(I64, len(values)))
    for k, v in enumerate(values):
        b.store(_c(v), b.gep(arr, [_c(0), _c(k)],
                             source_etype=ir.ArrayType(I64, len(values))))
    return arr


def _wsplit(ctx, ws, plan: ConvPlan):
    """(packed filter pointer, scratch pointer) inside the workspace."""
    off = _round_up(plan.packed * plan.dt.itemsize, ALIGN)
    return ws, ctx.b.gep(ws, [_c(off)], source_etype=ir.IntType(8))


def _pack(ctx, plan: ConvPlan, w_name: str, wp, transposed: bool) -> None:
    """wp[g][(tap, ci)][c] = filter value, zero for c >= cog.

    Forward: w[tap, ci, g cog + c]. Transposed (conv_transpose): the conv's
    filter flipped along every spatial axis with its channel axes swapped,
    w[K - 1 - tap, c, g ci' + ci] where the packed "input" channels run over
    the conv's output channels."""
    b = ctx.b
    t = reg_type(plan.dt)
    kern = plan.kernel
    ntap = int(np.prod(kern))
    cig, cog, copad, G = plan.cig, plan.cog, plan.copad, plan.groups
    wchan_in = plan.cog if transposed else plan.cig  # w's axis -2 size
    wlast = (plan.cig * G) if transposed else plan.cout  # w's axis -1 size
    with loop_nest(b, [_c(G), _c(ntap), _c(cig), _c(copad)], name="pk") as \
            (g, tap, ci, c):
        inside = b.icmp_signed("<", c, _c(cog))
        cc = b.select(inside, c, _c(0))
        if transposed:
            src_tap = b.sub(_c(ntap - 1), tap)
            # conv filter index [K-1-tap, c (conv in-channel), g cig + ci]
            src = ctx.add(ctx.mul(ctx.add(ctx.mul(src_tap, _c(wchan_in)), cc),
                                  _c(wlast)), ctx.add(ctx.mul(g, _c(cig)), ci))
        else:
            src = ctx.add(ctx.mul(ctx.add(ctx.mul(tap, _c(wchan_in)), ci),
                                  _c(wlast)), ctx.add(ctx.mul(g, _c(cog)), cc))
        v = ctx.load(w_name, src)
        v = b.select(inside, v, ir.Constant(t, 0.0))
        dst = ctx.add(ctx.mul(ctx.add(ctx.mul(ctx.add(ctx.mul(g, _c(ntap)), tap),
                                              _c(cig)), ci), _c(copad)), c)
        b.store(v, b.gep(wp, [dst], source_etype=t))


def _image_ptr(ctx, name: str, n, shape) -> ir.Value:
    per = int(np.prod(shape[1:]))
    return ctx.addr(name, ctx.mul(n, _c(per)))


def _epilogue(ctx, body_nodes, results, out_keys, n, space, r0=None,
              r1=None, used=None, c0=None, c1=None) -> None:
    """Evaluate the fused consumers for image n (results to out_keys), or
    for its rows [r0, r1) of the first spatial axis (and the corner
    `used` of the other spatial axes, the channels [c0, c1))."""
    if not body_nodes:
        return
    pw = K.Pointwise(ctx, body_nodes)
    dims = [ctx.dim(d) for d in space[1:]]
    if used is not None:
        dims = [_c(u) for u in used] + dims[len(used):]
    with contextlib.ExitStack() as stack:
        if r0 is None:
            cs = stack.enter_context(loop_nest(ctx.b, dims, name="ep"))
        else:
            r = stack.enter_context(for_range(ctx.b, r1, start=r0, name="er"))
            inner = dims[1:] if c0 is None else dims[1:-1]
            cs = [r] + stack.enter_context(loop_nest(ctx.b, inner, name="ep"))
            if c0 is not None:
                cs.append(stack.enter_context(for_range(ctx.b, c1, start=c0,
                                                        name="ec")))
        idx = K.MultiIndex(ctx, [n] + list(cs), space)
        vals = [pw.at(r, idx) for r in results]
        for r, key, v in zip(results, out_keys, vals):
            ctx.store(key, idx.offset(r.shape), v)


def _split_fused(ctx, node):
    """(conv node, epilogue nodes, results, out keys) of a kernel node; for a
    fused node the conv's output is given the buffer of a result of its
    type (in place: the epilogue reads each element where it writes)."""
    if node.op != "fused":
        return node, [], [], []
    body = node.attrs["body"]
    first = next(m for m in body.nodes if m.op in NODE_OPS)
    rest = [m for m in body.nodes if m is not first]
    keys = [f"@out{k}" for k in range(len(body.results))]
    params = {p.name for p in body.params}
    for r, key in zip(body.results, keys):
        if r.name not in params:
            ctx.buffers[r.name] = ctx.buffers[key]
    out = first.outputs[0]
    if out.name not in ctx.buffers:
        for r, key in zip(body.results, keys):
            if r.type == out.type:
                ctx.buffers[out.name] = ctx.buffers[key]
                break
    return first, rest, list(body.results), keys


def _pool_tail(rest):
    """The pooling that ends a fused conv kernel's body (or None)."""
    return rest[-1] if rest and rest[-1].op in ("max_pool", "avg_pool") else None


# --- Winograd F(2x2, 3x3) ------------------------------------------------------------
#
# A stride-1 3x3 convolution of one image as 16 products instead of 9 taps:
# each 2x2 block of outputs ("tile") is A^T [(G g G^T) . (B^T d B)] A for
# the 4x4 input patch d at its corner, so the 16 points xi of the
# transformed patch each need one (tiles x cin) by (cin x cout) product:
# 16 cin cout multiply-adds per 4 outputs instead of 36. The products run
# in the conv library as one 1x1 convolution with 16 groups (transformed
# patches V[tile][xi][ci], filters U[xi][ci][co] packed as its panels,
# results M[tile][xi][co]); the transforms are channel loops here. Error:
# the transforms add a few float32 roundings per output (the interpreter
# comparison of the conv tests holds).

WINOGRAD_MIN_CHANNELS = 16  # cin and cout at least this (else taps win)


def winograd_dims(plan: "ConvPlan", used_hw=None):
    """(tiles high, tiles wide) of a Winograd plan for the output corner
    used_hw (default: all of it), or None when the plan is not a stride-1
    3x3 float32 one-group convolution with enough channels."""
    v = dict(zip(FIELDS, plan.values))
    if (plan.D != 2 or plan.kernel != (3, 3) or plan.groups != 1
            or plan.dt.np != np.float32
            or min(plan.cig, plan.cout) < WINOGRAD_MIN_CHANNELS
            or any(v[f"{k}_{a}"] != 1 for k in ("st", "dl", "dil")
                   for a in "hw")):
        return None
    oh, ow = used_hw or (v["o_h"], v["o_w"])
    return -(-oh // 2), -(-ow // 2)


def _winograd_parts(plan: "ConvPlan", th: int, tw: int) -> list:
    """[(name, bytes)] of the Winograd buffers of one thread."""
    t, isz = th * tw, plan.dt.itemsize
    return [("U", 16 * plan.cig * plan.copad * isz),
            ("V", t * 16 * plan.cig * isz), ("M", t * 16 * plan.cout * isz),
            ("S", 2 * _round_up(t * 8, ALIGN) + _round_up(plan.cig * 8, ALIGN)
             + ALIGN)]


def winograd_bytes(plan: "ConvPlan") -> int:
    dims = winograd_dims(plan)
    if dims is None:
        return 0
    return sum(_round_up(n, ALIGN) for _, n in _winograd_parts(plan, *dims))


def _winograd_gemm_values(plan: "ConvPlan", th: int, tw: int) -> list:
    """The library parameters of the 16 products: a 1x1 convolution of
    the (th, tw) image V with 16 groups of cin -> cout channels."""
    vals = {name: 1 for name in FIELDS}
    vals.update({"lo_d": 0, "lo_h": 0, "lo_w": 0, "prep": 0, "gcopy": 0,
                 "chan": 16 * plan.cig, "cout": 16 * plan.cout, "groups": 16,
                 "cig": plan.cig, "cog": plan.cout, "copad": plan.copad,
                 "m_lo": 0, "m_hi": th * tw,
                 "cb_lo": 0, "cb_hi": plan.copad // plan.nr})
    for key in ("src", "p", "o", "u"):
        vals[f"{key}_h"], vals[f"{key}_w"] = th, tw
    return [vals[name] for name in FIELDS]


def _bt(d):
    """B^T d B's rows from d's, for 4 values per row (one point each)."""
    return [d[0] - d[2], d[1] + d[2], d[2] - d[1], d[1] - d[3]]


def _winograd_filter(ctx, plan: "ConvPlan", w_name: str, U, transposed: bool,
                     c0, c1):
    """U[xi][ci][co] = (G g G^T)[xi] for the filter g[kh][kw] of (ci, co),
    co in [c0, c1), zero for co >= cout: the packed panels of the 16
    grouped products."""
    b = ctx.b
    t = reg_type(plan.dt)
    cin, cout, copad = plan.cig, plan.cout, plan.copad
    half = ir.Constant(t, 0.5)
    zero = ir.Constant(t, 0.0)
    # (co runs over cout, so reads and stores are contiguous in it: the
    # loop vectorises; the panels' padding is zeroed apart)
    with for_range(b, _c(cin), name="wci") as ci, \
            for_range(b, c1, start=c0, name="wco") as co:
        g = []
        for kh in range(3):
            row = []
            for kw in range(3):
                if transposed:  # w[2 - kh, 2 - kw, co, ci]
                    tap = (2 - kh) * 3 + (2 - kw)
                    src = ctx.add(ctx.mul(ctx.add(_c(tap * cout), co), _c(cin)),
                                  ci)
                else:  # w[kh, kw, ci, co]
                    src = ctx.add(ctx.mul(ctx.add(_c((kh * 3 + kw) * cin), ci),
                                          _c(cout)), co)
                row.append(ctx.load(w_name, src))
            g.append(row)

        def gmul(r):  # G r for a 3-vector r -> 4 values
            return [r[0], b.fmul(half, b.fadd(b.fadd(r[0], r[1]), r[2])),
                    b.fmul(half, b.fadd(b.fsub(r[0], r[1]), r[2])), r[2]]
        cols = [gmul([g[kh][kw] for kh in range(3)]) for kw in range(3)]
        for i in range(4):
            u = gmul([cols[kw][i] for kw in range(3)])
            for j in range(4):
                dst = ctx.add(ctx.mul(ctx.add(_c((4 * i + j) * cin), ci),
                                      _c(copad)), co)
                b.store(u[j], b.gep(U, [dst], source_etype=t))
    if copad > cout:
        with for_range(b, _c(16 * cin), name="wz") as r, \
                for_range(b, _c(copad), start=_c(cout), name="wzc") as co:
            b.store(zero, b.gep(U, [ctx.add(ctx.mul(r, _c(copad)), co)],
                                source_etype=t))


def _winograd_input(ctx, plan: "ConvPlan", src_name: str, n, V, th: int,
                    tw: int) -> None:
    """V[tile][xi][c] = (B^T d B)[xi] for each tile's 4x4 patch d of the
    padded source P (P[p] = src[p - lo], zero outside src)."""
    b = ctx.b
    t = reg_type(plan.dt)
    v = dict(zip(FIELDS, plan.values))
    cin, sh, sw = plan.cig, v["src_h"], v["src_w"]
    img = ctx.mul(n, _c(sh * sw * cin))
    zero = ir.Constant(t, 0.0)
    with for_range(b, _c(th), name="vy") as ty, \
            for_range(b, _c(tw), name="vx") as tx:
        base, ok = [], []
        for i in range(4):
            y = b.sub(ctx.add(ctx.mul(ty, _c(2)), _c(i)), _c(v["lo_h"]))
            oky = b.icmp_unsigned("<", y, _c(sh))
            for j in range(4):
                x = b.sub(ctx.add(ctx.mul(tx, _c(2)), _c(j)), _c(v["lo_w"]))
                okx = b.and_(oky, b.icmp_unsigned("<", x, _c(sw)))
                pix = ctx.add(ctx.mul(b.select(oky, y, _c(0)), _c(sw)),
                              b.select(okx, x, _c(0)))
                base.append(ctx.add(img, ctx.mul(pix, _c(cin))))
                ok.append(okx)
        tile = ctx.add(ctx.mul(ty, _c(tw)), tx)
        with for_range(b, _c(cin), name="vc") as c:
            d = [[b.select(ok[4 * i + j], ctx.load(src_name, ctx.add(
                base[4 * i + j], c)), zero) for j in range(4)] for i in range(4)]
            fs = _Float(b)
            rows = _bt([fs.vec(r) for r in d])  # B^T d: rows of 4
            for i, r in enumerate(rows):
                for j, val in enumerate(_bt(r.items)):
                    dst = ctx.add(ctx.mul(ctx.add(ctx.mul(tile, _c(16)),
                                                  _c(4 * i + j)), _c(cin)), c)
                    b.store(val.v, b.gep(V, [dst], source_etype=t))


class _Float:
    """Scalar float arithmetic with operators (the transforms' algebra)."""

    def __init__(self, b):
        self.b = b

    def vec(self, xs):
        return _FVec(self.b, [_FVal(self.b, x) for x in xs])


class _FVal:
    def __init__(self, b, v):
        self.b, self.v = b, v

    def __add__(self, o):
        return _FVal(self.b, self.b.fadd(self.v, o.v))

    def __sub__(self, o):
        return _FVal(self.b, self.b.fsub(self.v, o.v))


class _FVec:
    """A row of 4 values; + and - act elementwise (rows of B^T d)."""

    def __init__(self, b, items):
        self.b, self.items = b, items

    def __getitem__(self, k):
        return self.items[k]

    def __add__(self, o):
        return _FVec(self.b, [x + y for x, y in zip(self.items, o.items)])

    def __sub__(self, o):
        return _FVec(self.b, [x - y for x, y in zip(self.items, o.items)])


def _winograd_output(ctx, plan: "ConvPlan", M, dst_name: str, th: int,
                     tw: int, oh: int, ow: int, out_w: int, c0, c1) -> None:
    """dst[2 ty + i, 2 tx + j, co] = (A^T M A)[i][j] for the tiles' outputs
    inside the (oh, ow) corner of an image out_w wide, co in [c0, c1)."""
    b = ctx.b
    t = reg_type(plan.dt)
    cout = plan.cout

    def tile_values(tile, co):
        m = [[_FVal(b, b.load(b.gep(M, [ctx.add(ctx.mul(ctx.add(ctx.mul(
            tile, _c(16)), _c(4 * i + j)), _c(cout)), co)], source_etype=t),
            typ=t)) for j in range(4)] for i in range(4)]
        # A^T m: rows s0 = m0 + m1 + m2, s1 = m1 - m2 - m3; then columns
        s = [[m[0][j] + m[1][j] + m[2][j] for j in range(4)],
             [m[1][j] - m[2][j] - m[3][j] for j in range(4)]]
        return [[r[0] + r[1] + r[2], r[1] - r[2] - r[3]] for r in s]

    with for_range(b, _c(th), name="oy") as ty, \
            for_range(b, _c(tw), name="ox") as tx:
        tile = ctx.add(ctx.mul(ty, _c(tw)), tx)
        y0, x0 = ctx.mul(ty, _c(2)), ctx.mul(tx, _c(2))
        pix = [[ctx.mul(ctx.add(ctx.mul(ctx.add(y0, _c(i)), _c(out_w)),
                                ctx.add(x0, _c(j))), _c(cout))
                for j in range(2)] for i in range(2)]
        inside = [[b.and_(b.icmp_signed("<", ctx.add(y0, _c(i)), _c(oh)),
                          b.icmp_signed("<", ctx.add(x0, _c(j)), _c(ow)))
                   for j in range(2)] for i in range(2)]
        whole = b.and_(inside[1][1], inside[0][0])
        with b.if_else(whole) as (then, other):
            with then, for_range(b, c1, start=c0, name="oc") as co:
                y = tile_values(tile, co)
                for i in range(2):
                    for j in range(2):
                        ctx.store(dst_name, ctx.add(pix[i][j], co), y[i][j].v)
            with other:
                for i in range(2):
                    for j in range(2):
                        with b.if_then(inside[i][j]), \
                                for_range(b, c1, start=c0, name="oe") as co:
                            y = tile_values(tile, co)
                            ctx.store(dst_name, ctx.add(pix[i][j], co),
                                      y[i][j].v)


def _band_rows(ctx, total, units, k):
    """[lo, hi): band k's share of range(total) rows when one image is cut
    into `units` bands (runtime values)."""
    b = ctx.b
    return (b.udiv(b.mul(k, total), units),
            b.udiv(b.mul(b.add(k, _c(1)), total), units))


def _conv_rows_for(ctx, tail, q0, q1, rows: int):
    """The conv rows (first spatial axis) the pooling rows [q0, q1) of
    `tail` read, clipped to [0, rows)."""
    b = ctx.b
    (lo, _), s, k = tail.attrs["pads"][0], tail.attrs["strides"][0], \
        tail.attrs["window"][0]
    r0 = b.sub(b.mul(q0, _c(s)), _c(lo))
    r1 = b.add(b.sub(b.mul(b.sub(q1, _c(1)), _c(s)), _c(lo)), _c(k))
    r0 = b.select(b.icmp_signed("<", r0, _c(0)), _c(0), r0)
    r1 = b.select(b.icmp_signed(">", r1, _c(rows)), _c(rows), r1)
    return r0, r1


def emit_conv_node(ctx, node, ws) -> None:
    """conv / conv_transpose, with an optional fused epilogue and pooling.

    Work units are images, or with fewer images than chunks (batch 1)
    bands of B rows of the first spatial axis of each image (of the
    pooled output when a pooling is fused, which reads only the conv rows
    it needs), B = ceil(chunks / images); each pixel is computed the same
    way in any band, so results do not depend on the split. A pooling
    whose input is also a result (a training step: _stored_tail in
    passes/fuse_conv_epilogues.py) pools each whole image after its
    epilogue wrote it. A chunk packs
    the filter into its workspace (unless the filter is its own packed
    form) and runs its contiguous share of the units."""
    b = ctx.b
    conv, rest, results, keys = _split_fused(ctx, node)
    from .target import host

    tail = _pool_tail(rest)
    if tail is None and DW.axes(conv) is not None:
        DW.emit_gather(ctx, conv, rest, results, keys, host().vector_bytes)
        return
    plan = ConvPlan(conv, host().vector_bytes)
    wp, scratch = _wsplit(ctx, ws, plan)
    src, w = conv.inputs
    out = conv.outputs[0]
    stored = None  # (a training step) the pooled activation is a result too
    if tail is not None and tail.inputs[0].name in {r.name for r in results}:
        stored, tail = tail, None
        rest = rest[:-1]
        kept = [k for k, r in enumerate(results) if r not in stored.outputs]
        results, keys = [results[k] for k in kept], [keys[k] for k in kept]
    if tail is not None:
        # the image's activation lives in scratch after the conv's own
        # workspace (image 0 of a one-image tensor), only the pool is stored
        img = b.gep(ws, [_c(plan.workspace_bytes())], source_etype=ir.IntType(8))
        act = tail.inputs[0]
        ctx.buffers[out.name] = (img, out.dtype)
        ctx.buffers[act.name] = (img, act.dtype)
        rest = rest[:-1]
    crows = out.shape[1]  # conv rows: the first spatial axis
    used = list(out.shape[1:-1])  # the conv's output grid computed
    if tail is not None:
        # a fused pooling reads only a corner of it (W2's conv2: the
        # 10 x 10 of 11 x 11 its 2 x 2 windows cover)
        a = tail.attrs
        for ax in range(1, len(used)):
            need = (tail.outputs[0].shape[1 + ax] - 1) * a["strides"][ax] - \
                a["pads"][ax][0] + a["window"][ax]
            used[ax] = max(1, min(used[ax], need))
        values = dict(zip(FIELDS, plan.values))
        for ax, u in zip("dhw", _pad3(used, 1)):
            values[f"u_{ax}"] = u
        plan.values = [values[name] for name in FIELDS]
    inner = int(np.prod(used[1:]))  # computed pixels of one row
    rows = tail.outputs[0].shape[1] if tail is not None else crows
    need_h = crows  # the conv rows a whole image needs
    if tail is not None:
        a = tail.attrs
        need_h = max(1, min(crows, (rows - 1) * a["strides"][0]
                            - a["pads"][0][0] + a["window"][0]))
    wino = winograd_dims(plan, (need_h, used[1])) if len(used) == 2 else None
    nch = ctx.fn.args[1]
    N = ctx.dim(src.shape[0])
    # whole images when there are enough, or when the activation is stored
    # (every row of it, each by one unit); else each image in `parts`
    # units: row bands, or for Winograd (whole 2x2 tiles) shares of the
    # blocks of NR output channels
    one = b.icmp_signed("<=", nch, N)
    if stored is not None:
        one = ir.Constant(ir.IntType(1), 1)
    panels = plan.copad // plan.nr
    nn = b.select(b.icmp_signed("<", N, _c(1)), _c(1), N)
    parts_n = b.udiv(b.add(nch, b.sub(nn, _c(1))), nn)
    cap = panels if wino is not None else rows
    parts_n = b.select(b.icmp_signed(">", parts_n, _c(cap)), _c(cap), parts_n)
    parts_n = b.select(one, _c(1), parts_n)
    u0, u1 = _share(ctx, b.mul(N, parts_n))
    arr = ir.ArrayType(I64, len(FIELDS))

    def set_field(prm_, name, v):
        b.store(v, b.gep(prm_, [_c(0), _c(F[name])], source_etype=arr))

    with b.if_then(b.icmp_signed("<", u0, u1)):
        fwd = _declare(b.module, fwd_name(plan.dt), _fwd_type())
        whole = b.icmp_signed("==", parts_n, _c(1))
        if wino is not None:
            th, tw = wino
            at = plan.workspace_bytes() + _image_bytes(out)
            wbuf = {}
            for name, nbytes in _winograd_parts(plan, th, tw):
                wbuf[name] = b.gep(ws, [_c(at)], source_etype=ir.IntType(8))
                at += _round_up(nbytes, ALIGN)
            transposed = conv.op == "conv_transpose"
            with b.if_then(whole):  # once for all the chunk's images
                _winograd_filter(ctx, plan, w.name, wbuf["U"], transposed,
                                 _c(0), _c(plan.cout))
            prm_g = _prm(ctx, _winograd_gemm_values(plan, th, tw))
        elif plan.packed_as_is:
            wp = ctx.addr(w.name, _c(0))
        else:
            _pack(ctx, plan, w.name, wp,
                  transposed=conv.op == "conv_transpose")
        prm = _prm(ctx, plan.values)
        with for_range(b, u1, start=u0, name="u") as u:
            n, k = b.udiv(u, parts_n), b.urem(u, parts_n)
            c0 = c1 = None
            if wino is not None:
                q0, q1 = _c(0), _c(rows)
                p0, p1 = _band_rows(ctx, _c(panels), parts_n, k)
                c0 = b.mul(p0, _c(plan.nr))
                c1 = b.mul(p1, _c(plan.nr))
                c1 = b.select(b.icmp_signed(">", c1, _c(plan.cout)),
                              _c(plan.cout), c1)
                set_field(prm_g, "cb_lo", p0)
                set_field(prm_g, "cb_hi", p1)
                with b.if_then(b.not_(whole)):  # this unit's channels
                    _winograd_filter(ctx, plan, w.name, wbuf["U"], transposed,
                                     c0, c1)
            else:
                q0, q1 = _band_rows(ctx, _c(rows), parts_n, k)
            if tail is None:
                r0, r1 = q0, q1
            else:
                r0, r1 = _conv_rows_for(ctx, tail, q0, q1, crows)
            set_field(prm, "m_lo", b.mul(r0, _c(inner)))
            set_field(prm, "m_hi", b.mul(r1, _c(inner)))
            with b.if_then(b.icmp_signed("<", r0, r1)):
                dst = img if tail is not None else _image_ptr(
                    ctx, out.name, n, out.shape)
                if wino is not None:
                    _winograd_input(ctx, plan, src.name, n, wbuf["V"], th, tw)
                    b.call(fwd, [prm_g, wbuf["V"], wbuf["U"], wbuf["M"],
                                 wbuf["S"]])
                    ctx.buffers["@wino_out"] = (dst, out.dtype)
                    _winograd_output(ctx, plan, wbuf["M"], "@wino_out", th,
                                     tw, need_h, used[1], out.shape[2], c0, c1)
                else:
                    b.call(fwd, [prm, _image_ptr(ctx, src.name, n, src.shape),
                                 wp, dst, scratch])
                if tail is None:
                    _epilogue(ctx, rest, results, keys, n, out.shape, r0, r1,
                              None, c0, c1)
                else:
                    _epilogue(ctx, rest, [act], [act.name], _c(0), out.shape,
                              r0, r1, used, c0, c1)
            if tail is not None:
                _pool_image(ctx, tail, n, _c(0), q0, q1, c0, c1)
            if stored is not None:
                _pool_image(ctx, stored, n, n)
    b.ret_void()


def emit_filter_grad_node(ctx, node, ws) -> None:
    """conv_filter_grad: each thread accumulates its share of the filter
    tiles over every image in its own packed buffer, then writes them."""
    b = ctx.b
    from .target import host

    if DW.axes(node) is not None:
        DW.emit_filter_grad(ctx, node, ws, host().vector_bytes)
        return
    plan = ConvPlan(node, host().vector_bytes)
    _, MR, NR = tile_sizes(plan.dt, host().vector_bytes)
    dwp, scratch = _wsplit(ctx, ws, plan)
    x, g = node.inputs
    dw = node.outputs[0]
    t = reg_type(plan.dt)
    t0, t1 = _share(ctx, _c(plan.tiles))
    with b.if_then(b.icmp_signed("<", t0, t1)):
        with for_range(b, _c(plan.packed), name="z") as i:
            b.store(ir.Constant(t, 0.0), b.gep(dwp, [i], source_etype=t))
        prm = _prm(ctx, plan.values)
        wg = _declare(b.module, wgrad_name(plan.dt), _wgrad_type())
        with for_range(b, ctx.dim(x.shape[0]), name="n") as n:
            b.call(wg, [prm, _image_ptr(ctx, x.name, n, x.shape), _image_ptr(
                ctx, g.name, n, g.shape), dwp, scratch, t0, t1])
        # dw[tap, ci, g cog + c] = dwp[g][tap cig + ci][c], for this thread's
        # tiles (g, row block, column block)
        kg, cog = plan.kg, plan.cog
        rb_n = -(-kg // MR)
        cb_n = plan.copad // NR
        with for_range(b, t1, start=t0, name="ut") as tile:
            gi = b.udiv(tile, _c(rb_n * cb_n))
            rem = b.urem(tile, _c(rb_n * cb_n))
            rb, cb = b.udiv(rem, _c(cb_n)), b.urem(rem, _c(cb_n))
            with for_range(b, _c(MR), name="uq") as q, \
                    for_range(b, _c(NR), name="uc") as j:
                r = ctx.add(ctx.mul(rb, _c(MR)), q)
                c = ctx.add(ctx.mul(cb, _c(NR)), j)
                ok = b.and_(b.icmp_signed("<", r, _c(kg)),
                            b.icmp_signed("<", c, _c(cog)))
                with b.if_then(ok):
                    src = ctx.add(ctx.mul(ctx.add(ctx.mul(gi, _c(kg)), r),
                                          _c(plan.copad)), c)
                    v = b.load(b.gep(dwp, [src], source_etype=t), typ=t)
                    tap, ci = b.udiv(r, _c(plan.cig)), b.urem(r, _c(plan.cig))
                    dst = ctx.add(ctx.mul(ctx.add(ctx.mul(tap, _c(plan.cig)), ci),
                                          _c(plan.cout)),
                                  ctx.add(ctx.mul(gi, _c(cog)), c))
                    ctx.store(dw.name, dst, v)
    b.ret_void()


# --- pooling -----------------------------------------------------------------------


def _pool_offsets(ctx, x_shape, attrs, n, ocs):
    """[(element offset of tap's channel 0, inside)] for each window tap."""
    b = ctx.b
    window, strides, pads = attrs["window"], attrs["strides"], attrs["pads"]
    in_sp = tuple(x_shape[1:-1])
    C = x_shape[-1]
    out = []
    for tap in np.ndindex(*window):
        ok = None
        lin = n
        for o, k, s, (lo, _), n_in in zip(ocs, tap, strides, pads, in_sp):
            i = b.sub(ctx.add(ctx.mul(o, _c(s)), _c(int(k))), _c(lo))
            inside = b.icmp_unsigned("<", i, _c(n_in))
            ok = inside if ok is None else b.and_(ok, inside)
            lin = ctx.add(ctx.mul(lin, _c(n_in)), b.select(inside, i, _c(0)))
        out.append((ctx.mul(lin, _c(C)), ok))
    return out


def _out_offset(ctx, out_shape, n, ocs):
    lin = n
    for o, d in zip(ocs, out_shape[1:-1]):
        lin = ctx.add(ctx.mul(lin, _c(d)), o)
    return ctx.mul(lin, _c(out_shape[-1]))


def _zero_images(ctx, out, n0, n1) -> None:
    """out[n0:n1] = 0."""
    per = _c(int(np.prod(out.shape[1:])))
    t = reg_type(out.dtype)
    with for_range(ctx.b, ctx.mul(n1, per), start=ctx.mul(n0, per), name="z") as i:
        ctx.store(out.name, i, ir.Constant(t, 0.0))


def _tiles_exactly(x_shape, a) -> bool:
    """Whether the pooling windows cover every input element exactly once
    (no padding, stride = window, sizes multiples of it)."""
    return _disjoint(a) and all(i % k == 0 for i, k in zip(x_shape[1:-1],
                                                           a["window"]))


def _disjoint(a) -> bool:
    """Whether no two pooling windows share an input element and every
    window lies inside the input (no padding, stride = window)."""
    return all(lo == 0 and hi == 0 and s == k for k, s, (lo, hi)
               in zip(a["window"], a["strides"], a["pads"]))


def _max_pool_grad_pixel(ctx, x, g, out, taps, o, C: int, tiles: bool) -> None:
    """One output pixel of max_pool_grad, in two vectorisable passes over
    the channels: the index of each channel's first maximum into a stack
    array, then every in-bounds tap adds g where it is that maximum (or,
    when the windows are disjoint, stores it or 0)."""
    b = ctx.b
    t = reg_type(x.dtype)
    ninf = ir.Constant(t, -math.inf)
    I32 = ir.IntType(32)
    arg = ctx.alloca(ir.ArrayType(I32, C))
    aty = ir.ArrayType(I32, C)
    with for_range(b, _c(C), name="pc") as c:
        vals = [b.select(ok, ctx.load(x.name, ctx.add(off, c)), ninf)
                for off, ok in taps]
        best, idx = vals[0], ir.Constant(I32, 0)
        for k, v in enumerate(vals[1:], 1):
            take = b.fcmp_ordered(">", v, best)
            best = b.select(take, v, best)
            idx = b.select(take, ir.Constant(I32, k), idx)
        b.store(idx, b.gep(arg, [_c(0), c], source_etype=aty))
    zero = ir.Constant(t, 0.0)
    for k, (off, ok) in enumerate(taps):
        with b.if_then(ok), for_range(b, _c(C), name="gc") as c:
            hit = b.icmp_signed("==", b.load(b.gep(arg, [_c(0), c],
                                                   source_etype=aty), typ=I32),
                                ir.Constant(I32, k))
            v = b.select(hit, ctx.load(g.name, ctx.add(o, c)), zero)
            p = ctx.add(off, c)
            ctx.store(out.name, p, v if tiles else b.fadd(ctx.load(out.name, p), v))


def emit_pool_node(ctx, node, ws) -> None:
    """Pooling and its gradients: each thread takes a share of the images;
    channels are the inner (vectorised) loop."""
    b = ctx.b
    node, rest, results, keys = _split_fused(ctx, node)
    op = node.op
    a = node.attrs
    out = node.outputs[0]
    dt = out.dtype
    n0, n1 = _share(ctx, ctx.dim(out.shape[0]))
    # disjoint windows (W2's 2x2 pooling of 11 x 11): each input element
    # gets one window's value, stored without reading it back; only when
    # they do not cover the input (a last odd row) is the image zeroed
    # first, while it is in cache
    tiles = op == "max_pool_grad" and _disjoint(a)
    covered = tiles and _tiles_exactly(out.shape, a)
    if op in ("max_pool_grad", "avg_pool_grad") and not tiles:
        _zero_images(ctx, out, n0, n1)
    if op == "max_pool_grad":
        x_shape, o_shape = node.inputs[0].shape, node.inputs[1].shape
    elif op == "avg_pool_grad":
        x_shape, o_shape = out.shape, node.inputs[0].shape
    else:
        x_shape, o_shape = node.inputs[0].shape, out.shape
    C = x_shape[-1]
    space = [_c(d) for d in o_shape[1:-1]]
    inv_ptr = None
    if op == "avg_pool" or op == "avg_pool_grad":
        counts = pool_counts(x_shape[1:-1], a["window"], a["strides"], a["pads"])
        inv = ConstArray((1.0 / counts).astype(dt.np))
        inv_ptr = ctx.consts(inv)
    with for_range(b, n1, start=n0, name="n") as n:
        if tiles and not covered:
            _zero_images(ctx, out, n, ctx.add(n, _c(1)))
        with loop_nest(b, space, name="px") as cs:
            _pool_pixel(ctx, op, node, out, x_shape, o_shape, list(cs), n, n,
                        C, tiles, inv_ptr)
        # a fused consumer (e.g. the ReLU mask after max_pool_grad) while
        # this image's result is in cache
        _epilogue(ctx, rest, results, keys, n, out.shape)
    b.ret_void()


def _pool_image(ctx, node, n, n_in, q0=None, q1=None, c0=None,
                c1=None) -> None:
    """max_pool / avg_pool of one image: input image n_in of its operand's
    buffer, output image n (its rows [q0, q1) of the first spatial axis,
    or all; its channels [c0, c1), or all)."""
    b = ctx.b
    x, out = node.inputs[0], node.outputs[0]
    a = node.attrs
    inv_ptr = None
    if node.op == "avg_pool":
        counts = pool_counts(x.shape[1:-1], a["window"], a["strides"], a["pads"])
        inv_ptr = ctx.consts(ConstArray((1.0 / counts).astype(out.dtype.np)))
    q0 = _c(0) if q0 is None else q0
    q1 = _c(out.shape[1]) if q1 is None else q1
    with for_range(b, q1, start=q0, name="tq") as q, \
            loop_nest(b, [_c(d) for d in out.shape[2:-1]], name="tp") as cs:
        _pool_pixel(ctx, node.op, node, out, x.shape, out.shape, [q] + list(cs),
                    n, n_in, x.shape[-1], False, inv_ptr, c0, c1)


def _pool_pixel(ctx, op, node, out, x_shape, o_shape, ocs, n, n_in, C, tiles,
                inv_ptr, c0=None, c1=None) -> None:
    """One output pixel of a pooling op or of its gradient (its input's
    image n_in, its output's image n)."""
    b, sb = ctx.b, ctx.sb
    a = node.attrs
    t = reg_type(out.dtype)
    ninf = ir.Constant(t, -math.inf)
    x = node.inputs[0] if op in ("max_pool", "avg_pool", "max_pool_grad") \
        else None
    g = node.inputs[-1] if op in ("max_pool_grad", "avg_pool_grad") else None
    taps = _pool_offsets(ctx, x_shape, a, n_in, ocs)
    o = _out_offset(ctx, o_shape, n, ocs)
    if op in ("avg_pool", "avg_pool_grad"):
        lin = _c(0)
        for oc, d in zip(ocs, o_shape[1:-1]):
            lin = ctx.add(ctx.mul(lin, _c(d)), oc)
        scale = b.load(b.gep(inv_ptr, [lin], source_etype=t), typ=t)
    if op == "avg_pool_grad":
        for off, ok in taps:
            with b.if_then(ok), for_range(b, _c(C), name="c") as c:
                v = b.fmul(ctx.load(g.name, ctx.add(o, c)), scale)
                p = ctx.add(off, c)
                ctx.store(out.name, p, b.fadd(ctx.load(out.name, p), v))
    elif op != "max_pool_grad":
        with for_range(b, _c(C) if c1 is None else c1, start=c0,
                       name="c") as c:
            vals = [b.select(ok, ctx.load(x.name, ctx.add(off, c)),
                             ninf if op != "avg_pool" else ir.Constant(t, 0.0))
                    for off, ok in taps]
            if op == "max_pool":
                acc = vals[0]
                for v in vals[1:]:
                    acc = sb.max(acc, v)
                ctx.store(out.name, ctx.add(o, c), acc)
            elif op == "avg_pool":
                acc = vals[0]
                for v in vals[1:]:
                    acc = b.fadd(acc, v)
                ctx.store(out.name, ctx.add(o, c), b.fmul(acc, scale))
    if op == "max_pool_grad":
        _max_pool_grad_pixel(ctx, x, g, out, taps, o, C, tiles)


# --- resizing ----------------------------------------------------------------------


def _tables(ctx, in_sp, out_sp, method, dt):
    """Per spatial axis: (lower, upper, weight) constant globals."""
    out = []
    for i, o in zip(in_sp, out_sp):
        lo, hi, w = resize_taps(i, o, method)
        out.append((ctx.consts(ConstArray(lo.astype(np.int64))),
                    ctx.consts(ConstArray(hi.astype(np.int64))),
                    ctx.consts(ConstArray(w.astype(dt.np)))))
    return out


def _corners(ctx, tables, ocs, dt, method):
    """[(coords, weight)] of the 1 (nearest) or 2^D (bilinear) taps."""
    b = ctx.b
    t = reg_type(dt)
    per_axis = []
    for (lo_p, hi_p, w_p), o in zip(tables, ocs):
        lo = b.load(b.gep(lo_p, [o], source_etype=I64), typ=I64)
        if method == "nearest":
            per_axis.append([(lo, None)])
            continue
        hi = b.load(b.gep(hi_p, [o], source_etype=I64), typ=I64)
        w = b.load(b.gep(w_p, [o], source_etype=t), typ=t)
        per_axis.append([(lo, b.fsub(ir.Constant(t, 1.0), w)), (hi, w)])
    out = []
    for combo in np.ndindex(*[len(p) for p in per_axis]):
        coords, wt = [], None
        for axis, k in enumerate(combo):
            c, w = per_axis[axis][k]
            coords.append(c)
            if w is not None:
                wt = w if wt is None else b.fmul(wt, w)
        out.append((coords, wt))
    return out


def _resize_rule(pw, node, idx):
    """resize as a pointwise rule: a weighted sum of input taps."""
    ctx, b = pw.ctx, pw.ctx.b
    x, out = node.inputs[0], node.outputs[0]
    dt = out.dtype
    oc = K.coords_for(out, idx)
    tables = _tables(ctx, spatial(x.type), spatial(out.type),
                     node.attrs["method"], dt)
    acc = None
    for coords, w in _corners(ctx, tables, oc[1:-1], dt, node.attrs["method"]):
        v = pw.at(x, K.MultiIndex(ctx, [oc[0]] + coords + [oc[-1]], x.shape))
        v = v if w is None else b.fmul(v, w)
        acc = v if acc is None else b.fadd(acc, v)
    return acc


def emit_resize_grad_node(ctx, node, ws) -> None:
    """resize_grad: each thread scatters its share of the images."""
    b = ctx.b
    g, out = node.inputs[0], node.outputs[0]
    dt = out.dtype
    C = out.shape[-1]
    n0, n1 = _share(ctx, ctx.dim(out.shape[0]))
    _zero_images(ctx, out, n0, n1)
    method = node.attrs["method"]
    tables = _tables(ctx, spatial(out.type), spatial(g.type), method, dt)
    space = [_c(d) for d in g.shape[1:-1]]
    with for_range(b, n1, start=n0, name="n") as n, \
            loop_nest(b, space, name="px") as cs:
        ocs = list(cs)
        o = _out_offset(ctx, g.shape, n, ocs)
        for coords, w in _corners(ctx, tables, ocs, dt, method):
            base = _out_offset(ctx, out.shape, n, coords)
            with for_range(b, _c(C), name="c") as c:
                v = ctx.load(g.name, ctx.add(o, c))
                v = v if w is None else b.fmul(v, w)
                p = ctx.add(base, c)
                ctx.store(out.name, p, b.fadd(ctx.load(out.name, p), v))
    b.ret_void()


# --- registration ------------------------------------------------------------------


class _ConvFamilyLowering(Lowering):
    """A conv-family kind (codegen/lowering.py): its emitter
    `emit(ctx, node, workspace)` splits its own work by the kernel's
    (chunk, chunks) arguments; `workspace(node, vector_bytes)` and
    `libraries(node)` size and link what it calls; `epilogue`: a fused
    node headed by one of its ops (with its bias and activation) is its
    too."""

    threaded, workspace = True, True

    def __init__(self, kind: str, ops, emit, workspace=None, libraries=None,
                 epilogue: bool = False):
        self.kind, self.ops, self._emit = kind, tuple(ops), emit
        self._workspace, self._libraries = workspace, libraries
        self.epilogue = epilogue

    def emit(self, ctx, site) -> None:
        self._emit(ctx, site.node, site.workspace)

    def workspace_bytes(self, node, vector_bytes: int) -> int:
        if self._workspace is None:
            return 0
        return self._workspace(node, vector_bytes)

    def libraries(self, node) -> tuple:
        if self._libraries is None:
            return ()
        return self._libraries(node)


def _root(node):
    if node.op == "fused":
        return next(m for m in node.attrs["body"].nodes if m.op in NODE_OPS)
    return node


def _depthwise(node) -> bool:
    """Whether codegen/depthwise.py runs this kernel node."""
    tail = node.op == "fused" and _pool_tail(list(node.attrs["body"].nodes)[1:])
    return not tail and DW.axes(_root(node)) is not None


def _image_bytes(v) -> int:
    return _round_up(int(np.prod(v.shape[1:])) * v.dtype.itemsize, ALIGN)


def _conv_ws(node, vb):
    root = _root(node)
    if _depthwise(node):
        return DW.workspace_bytes(root, vb)
    plan = ConvPlan(root, vb)
    total = plan.workspace_bytes()
    wino = root.op != "conv_filter_grad" and winograd_bytes(plan)
    if wino or (node.op == "fused" and
                _pool_tail(list(node.attrs["body"].nodes)[1:])):
        # one image of the activation the fused pooling reads
        # (emit_conv_node), then Winograd's buffers
        total += _image_bytes(root.outputs[0]) + wino
    return total


def _conv_libs(node):
    if _depthwise(node):
        return ()
    return library_modules(_root(node).outputs[0].dtype)


# the ops this file's kinds lower (a fused node's first such op is its root)
NODE_OPS = frozenset(("conv", "conv_transpose", "conv_filter_grad",
                      "resize_grad", *POOL_OPS))
for _lowering in (
        _ConvFamilyLowering("conv", ("conv", "conv_transpose"),
                            emit_conv_node, _conv_ws, _conv_libs,
                            epilogue=True),
        _ConvFamilyLowering("conv_filter_grad", ("conv_filter_grad",),
                            emit_filter_grad_node, _conv_ws, _conv_libs),
        _ConvFamilyLowering("pool", tuple(POOL_OPS), emit_pool_node,
                            epilogue=True),
        _ConvFamilyLowering("resize_grad", ("resize_grad",),
                            emit_resize_grad_node)):
    register_lowering(_lowering)
del _lowering
K.POINTWISE["resize"] = _resize_rule  # resize is pointwise: a gather
