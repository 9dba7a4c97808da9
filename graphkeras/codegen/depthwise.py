"""Depthwise convolutions (conv with groups == input channels, M output
channels per group: Keras's depth_multiplier) and their gradients,
vectorised over channels.

The general conv kernels (codegen/conv.py) treat a group as a small GEMM
whose output channels are padded to the micro-kernel's panel width: for a
depthwise conv (M output channels per group) that is 2 W / M times the
work. Here channels are the vector lanes instead: with channels last, the
channels of one pixel are contiguous, and a depthwise conv is, per output
pixel and tap, acc[c:c+W] += src[pixel + tap, c:c+W] * w[tap, c:c+W].
With M > 1, output channel c M + m reads input channel c: W input
channels feed M output vectors, each a shuffle of the one loaded vector;
conv_transpose accumulates the M vectors of products and sums each run of
M lanes into one input channel at the end (shuffles of their
concatenation).

All three ops are written as one "gather" over a source image, per spatial
axis (D = 1 or 2; a 1-D op gets a unit height axis):

    out[p] = sum over taps k of src[q(p, k)] * filt[k]
    q(p, k) = (p S + k Dl - LO) / DV   where that is a whole number in [0, I)

- conv: src = x, S = stride, Dl = dilation, LO = pad before, DV = 1;
- conv_transpose (the input gradient): src = g, S = 1, Dl = dilation,
  LO = (K - 1) dilation - pad before, DV = stride, taps flipped;
- conv_filter_grad: the same geometry as conv, but the sum runs over the
  images and output pixels, one accumulator per tap:
  dw[k] = sum over n, p of x[q(p, k)] * g[p].

Shapes are static (only the batch is a symbol), so the kernel is planned
in Python: along a row, the output pixels whose every tap is inside the
source (the interior) run in blocks of R pixels whose taps and source
offsets are constants (a stride-2 transposed conv's alternating taps
included: R is a multiple of the stride), and the few border pixels are
emitted one by one with their own taps. Along the height, a tap row's
validity is a per-row branch. Each distinct source vector of a block is
loaded once and used by every (pixel, tap) it feeds.

Threads: conv and conv_transpose take a contiguous share of the output
rows (batch x height); conv_filter_grad takes a share of the channel
vectors and sums every image for them, in three levels (a row in
registers, an image in the thread's workspace, the batch in the output)
so that float32 sums of many products keep their precision. Fused
epilogues (passes/fuse_conv_epilogues.py) run per output row while it is
in cache.

Invariants: every load and store is inside its buffer (border taps are
decided statically or by a branch, never by a clamped out-of-range
address; the last channel vector is masked); the result is independent
of the thread count except for the order of the batch sums, which is
fixed for a given count.
"""

from __future__ import annotations

import contextlib
import dataclasses

from llvmlite import ir

from ..ir.dtypes import float32, float64
from . import kernels as K
from .loops import for_range, loop_nest
from .scalar import I1, I32, I64, PTR, VOID, intrinsic, reg_type, suffix

ALIGN = 64
MAX_STATIC_PIXELS = 40  # border + remainder pixels emitted one by one
MAX_TAPS = 64  # larger kernels go to the general conv path


def _c(v) -> ir.Constant:
    return ir.Constant(I64, int(v))


@dataclasses.dataclass(frozen=True)
class Axis:
    """One spatial axis of the gather out[p] = sum_k src[q(p, k)] filt[k]."""

    O: int  # output positions
    I: int  # source positions
    K: int  # taps
    S: int  # source step per output position (numerator)
    Dl: int  # source step per tap (numerator)
    LO: int  # numerator offset
    DV: int  # divisor (a transposed conv's stride)
    flip: bool  # the filter's tap is K - 1 - k

    def num(self, p: int, k: int) -> int:
        return p * self.S + k * self.Dl - self.LO

    def q(self, p: int, k: int):
        """The source position of output p's tap k, or None."""
        n = self.num(p, k)
        if n % self.DV or n < 0 or n > (self.I - 1) * self.DV:
            return None
        return n // self.DV

    def wtap(self, k: int) -> int:
        return self.K - 1 - k if self.flip else k

    def interior(self, p: int) -> bool:
        """Whether every tap of p with a whole quotient is in range."""
        return all(self.num(p, k) % self.DV or self.q(p, k) is not None
                   for k in range(self.K))


_UNIT = Axis(1, 1, 1, 1, 1, 0, 1, False)


def multiplier(node) -> int:
    """M, the conv's output channels per input channel."""
    return node.inputs[-1].shape[-1] // node.attrs["groups"]


def _is_depthwise(op, ins, attrs) -> bool:
    groups = attrs["groups"]
    if groups < 2:
        return False
    if op == "conv":
        x, w = ins
        return x.shape[-1] == groups and w.shape[-2] == 1
    if op == "conv_transpose":
        g, w = ins
        return w.shape[-2] == 1
    if op == "conv_filter_grad":
        x, g = ins
        return x.shape[-1] == groups
    return False


def axes(node) -> list | None:
    """[height, width] Axis of a depthwise node this file runs, else None
    (not depthwise, 3-D, another dtype, or too big to emit statically)."""
    op, a = node.op, node.attrs
    if op not in ("conv", "conv_transpose", "conv_filter_grad"):
        return None
    out = node.outputs[0]
    if out.dtype not in (float32, float64):
        return None
    if not _is_depthwise(op, node.inputs, a):
        return None
    D = node.inputs[0].rank - 2
    if D not in (1, 2):
        return None
    if op == "conv":
        x, w = node.inputs
        src_sp, out_sp, kern = x.shape[1:-1], out.shape[1:-1], w.shape[:D]
    elif op == "conv_transpose":
        g, w = node.inputs
        src_sp, out_sp, kern = g.shape[1:-1], tuple(a["shape"]), w.shape[:D]
    else:
        x, g = node.inputs
        src_sp, out_sp, kern = x.shape[1:-1], g.shape[1:-1], tuple(a["shape"])
    res = []
    for i in range(D):
        s, d, (lo, _) = a["strides"][i], a["dilation"][i], a["pads"][i]
        k = kern[i]
        if op == "conv_transpose":
            res.append(Axis(out_sp[i], src_sp[i], k, 1, d, (k - 1) * d - lo, s,
                            True))
        else:
            res.append(Axis(out_sp[i], src_sp[i], k, s, d, lo, 1, False))
    if D == 1:
        res.insert(0, _UNIT)
    if res[0].K * res[1].K > MAX_TAPS:
        return None
    if len(_columns(res[1], _block(res[1], multiplier(node)))[1]) > \
            MAX_STATIC_PIXELS:
        return None
    return res


def _block(ax: Axis, M: int = 1) -> int:
    """R, the pixels of an interior block (a multiple of DV, so that every
    block has the same tap pattern); M output vectors per pixel share the
    accumulator registers."""
    r = max(1, (8 if ax.K <= 3 else 4) // M)
    return -(-r // ax.DV) * ax.DV


def _columns(ax: Axis, R: int):
    """(loop, static) along a row: loop = (a, blocks, pixels, qstep) where
    block m covers outputs a + m R + r, r < R, pixels = [(r, [(k, qoff)])]
    with source position m qstep + qoff; static = [(p, [(k, q)])] for the
    pixels outside the blocks."""
    inside = [ax.interior(p) for p in range(ax.O)]
    a = inside.index(True) if True in inside else ax.O
    e = a
    while e < ax.O and inside[e]:
        e += 1
    blocks = (e - a) // R
    pixels = []
    for r in range(R):
        taps = [(k, ax.num(a + r, k) // ax.DV) for k in range(ax.K)
                if ax.num(a + r, k) % ax.DV == 0]
        pixels.append((r, taps))
    qstep = R * ax.S // ax.DV
    static = []
    for p in list(range(a)) + list(range(a + blocks * R, ax.O)):
        static.append((p, [(k, ax.q(p, k)) for k in range(ax.K)
                           if ax.q(p, k) is not None]))
    return (a, blocks, pixels, qstep), static


def workspace_bytes(node, vector_bytes: int) -> int:
    """conv_filter_grad: one image's partial sums (taps x channels)."""
    if node.op != "conv_filter_grad":
        return 0
    ax = axes(node)
    taps = ax[0].K * ax[1].K
    C = node.inputs[1].shape[-1]  # g's channels: all of the filter's
    return -(-taps * C * node.outputs[0].dtype.itemsize // ALIGN) * ALIGN + ALIGN


# --- emission ----------------------------------------------------------------------


class _Vec:
    """Vector helpers for one dtype (W lanes)."""

    def __init__(self, b: ir.IRBuilder, dt, vector_bytes: int):
        self.b, self.dt = b, dt
        self.t = reg_type(dt)
        self.W = max(1, vector_bytes // dt.itemsize)
        self.vt = ir.VectorType(self.t, self.W)
        self.zero = ir.Constant(self.vt, None)
        mod = b.module
        self.fma = intrinsic(mod, f"llvm.fmuladd.{suffix(self.vt)}", self.vt,
                             [self.vt] * 3)
        mt = ir.VectorType(I1, self.W)
        self.mload = intrinsic(mod, f"llvm.masked.load.{suffix(self.vt)}.p0",
                               self.vt, [PTR, I32, mt, self.vt])
        self.mstore = intrinsic(mod, f"llvm.masked.store.{suffix(self.vt)}.p0",
                                VOID, [self.vt, PTR, I32, mt])

    def mask(self, n: int):
        return ir.Constant(ir.VectorType(I1, self.W),
                           [1 if i < n else 0 for i in range(self.W)])

    def at(self, p, off):
        return self.b.gep(p, [off], source_etype=self.t, inbounds=True)

    def load(self, p, off, mask=None):
        ptr = self.at(p, off)
        if mask is None:
            return self.b.load(ptr, typ=self.vt, align=self.dt.itemsize)
        return self.b.call(self.mload, [ptr, ir.Constant(I32, self.dt.itemsize),
                                        mask, self.zero])

    def store(self, v, p, off, mask=None):
        ptr = self.at(p, off)
        if mask is None:
            self.b.store(v, ptr, align=self.dt.itemsize)
        else:
            self.b.call(self.mstore, [v, ptr, ir.Constant(I32, self.dt.itemsize),
                                      mask])

    def madd(self, a, x, acc):
        return self.b.call(self.fma, [a, x, acc])

    def expand(self, v, M: int, t: int):
        """Lanes t W .. t W + W - 1 of v with every lane repeated M times."""
        if M == 1:
            return v
        idx = [(t * self.W + i) // M for i in range(self.W)]
        return self.b.shuffle_vector(v, ir.Constant(self.vt, ir.Undefined),
                                     ir.Constant(ir.VectorType(I32, self.W), idx))

    def sum_runs(self, vs: dict, M: int):
        """Lane c = the sum of lanes c M .. c M + M - 1 of the concatenated
        vectors vs[0], .., vs[M - 1] (absent ones zero)."""
        if M == 1:
            return vs[0]
        b = self.b
        parts = [vs.get(t, self.zero) for t in range(M)]
        while len(parts) & (len(parts) - 1):
            parts.append(self.zero)
        while len(parts) > 1:  # concatenate pairwise
            n = parts[0].type.count
            idx = ir.Constant(ir.VectorType(I32, 2 * n), list(range(2 * n)))
            parts = [b.shuffle_vector(parts[k], parts[k + 1], idx)
                     for k in range(0, len(parts), 2)]
        big = parts[0]
        out = None
        for m in range(M):
            idx = ir.Constant(ir.VectorType(I32, self.W),
                              [c * M + m for c in range(self.W)])
            v = b.shuffle_vector(big, ir.Constant(big.type, ir.Undefined), idx)
            out = v if out is None else b.fadd(out, v)
        return out

    def subvectors(self, n, M: int):
        """[(t, mask)] of the M output vectors of W input channels (n of
        them when not None): masks for partial ones, empty ones left out."""
        out = []
        for t in range(M):
            lanes = self.W if n is None else min(max(n * M - t * self.W, 0),
                                                 self.W)
            if lanes:
                out.append((t, None if lanes == self.W else self.mask(lanes)))
        return out


def _share(ctx, total):
    b = ctx.b
    tid, nth = ctx.fn.args[0], ctx.fn.args[1]
    return (b.udiv(b.mul(tid, total), nth),
            b.udiv(b.mul(b.add(tid, _c(1)), total), nth))


def _channel_loops(ctx, V: _Vec, C: int, j0, j1, body) -> None:
    """body(coff, n) for the channel vectors [j0, j1) of ceil(C / W): full
    vectors (n None) in a loop, then the last one of n = C mod W channels
    when W does not divide C."""
    b = ctx.b
    nfull, tail = divmod(C, V.W)
    stop = j1 if tail == 0 else _min(b, j1, _c(nfull))
    with for_range(b, stop, start=j0, name="cv") as j:
        body(b.mul(j, _c(V.W)), None)
    if tail:
        with b.if_then(b.icmp_signed(">", j1, _c(nfull))):
            body(_c(nfull * V.W), tail)


def _min(b, x, y):
    return b.select(b.icmp_signed("<", x, y), x, y)


def _row_taps(ctx, ax: Axis, oh, base, row_elems: int):
    """Per tap row kh: (ok, offset of its source row) for output row oh:
    base + q row_elems, q clamped to 0 when the row is outside (ok false;
    None: always inside)."""
    b = ctx.b
    out = []
    for kh in range(ax.K):
        if ax.O == 1 and ax.I == 1 and ax.K == 1:  # the unit axis of 1-D
            out.append((None, base))
            continue
        num = b.add(b.mul(oh, _c(ax.S)), _c(kh * ax.Dl - ax.LO))
        ok = b.and_(b.icmp_signed(">=", num, _c(0)),
                    b.icmp_signed("<=", num, _c((ax.I - 1) * ax.DV)))
        q = num
        if ax.DV > 1:
            ok = b.and_(ok, b.icmp_signed("==", b.srem(num, _c(ax.DV)), _c(0)))
            q = b.sdiv(num, _c(ax.DV))
        out.append((ok, b.add(base, b.mul(b.select(ok, q, _c(0)),
                                          _c(row_elems)))))
    return out


def _if(b, ok):
    return contextlib.nullcontext() if ok is None else b.if_then(ok)


def _row_epilogue(ctx, rest, results, keys, lead, space) -> None:
    if not rest:
        return
    pw = K.Pointwise(ctx, rest)
    dims = [ctx.dim(d) for d in space[len(lead):]]
    with loop_nest(ctx.b, dims, name="dep") as cs:
        idx = K.MultiIndex(ctx, list(lead) + list(cs), space)
        vals = [pw.at(r, idx) for r in results]
        for r, key, v in zip(results, keys, vals):
            ctx.store(key, idx.offset(r.shape), v)


def emit_gather(ctx, node, rest, results, keys, vector_bytes: int) -> None:
    """conv / conv_transpose (depthwise) with its fused epilogue; the
    caller has pointed the conv's output at its buffer. Channels: C of
    the conv's input, CO = C M of its output (channel c M + m reads
    channel c); SC of the source, OC of the result."""
    b = ctx.b
    axh, axw = axes(node)
    M = multiplier(node)
    src, w = node.inputs
    out = node.outputs[0]
    C = node.attrs["groups"]
    CO = C * M
    summed = node.op == "conv_transpose"  # M products per result lane
    SC, OC = (CO, C) if summed else (C, CO)
    V = _Vec(b, out.dtype, vector_bytes)
    R = _block(axw, M)
    cols = _columns(axw, R)
    accs = [[ctx.alloca(V.vt) for _ in range(M)] for _ in range(R)]
    src_p, w_p = ctx.ptr(src.name)[0], ctx.ptr(w.name)[0]
    out_p = ctx.ptr(out.name)[0]
    rows = ctx.mul(ctx.dim(out.shape[0]), _c(axh.O))
    r0, r1 = _share(ctx, rows)
    nvec = -(-C // V.W)
    with for_range(b, r1, start=r0, name="row") as row:
        n, oh = b.udiv(row, _c(axh.O)), b.urem(row, _c(axh.O))
        base = b.mul(n, _c(axh.I * axw.I * SC))
        taps_h = _row_taps(ctx, axh, oh, base, axw.I * SC)
        obase = b.mul(row, _c(axw.O * OC))

        def block(pbase, qbase, pix):
            def body(coff, nch):
                xmask = None if nch is None else V.mask(nch)
                subs = V.subvectors(nch, M)
                ooff = b.mul(coff, _c(M))
                for i in range(len(pix)):
                    for t, _ in subs:
                        b.store(V.zero, accs[i][t])
                for kh, (ok, soff) in enumerate(taps_h):
                    with _if(b, ok):
                        sb = b.add(b.add(soff, b.mul(qbase, _c(SC))),
                                   ooff if summed else coff)
                        xs = {}
                        vals = [{t: b.load(accs[i][t], typ=V.vt)
                                 for t, _ in subs} for i in range(len(pix))]
                        for kw in range(axw.K):
                            users = [(i, qoff) for i, (_, taps) in enumerate(pix)
                                     for k, qoff in taps if k == kw]
                            if not users:
                                continue
                            woff = (axh.wtap(kh) * axw.K + axw.wtap(kw)) * CO
                            for t, mask in subs:
                                wv = V.load(w_p, b.add(ooff, _c(woff + t * V.W)),
                                            mask)
                                for i, qoff in users:
                                    if summed and (qoff, t) not in xs:
                                        xs[qoff, t] = V.load(src_p, b.add(
                                            sb, _c(qoff * SC + t * V.W)), mask)
                                    if qoff not in xs and not summed:
                                        xs[qoff] = V.load(src_p, b.add(
                                            sb, _c(qoff * SC)), xmask)
                                    if (qoff, t) not in xs:
                                        xs[qoff, t] = V.expand(xs[qoff], M, t)
                                    vals[i][t] = V.madd(xs[qoff, t], wv,
                                                        vals[i][t])
                        for i in range(len(pix)):
                            for t, _ in subs:
                                b.store(vals[i][t], accs[i][t])
                ob = b.add(obase, b.mul(pbase, _c(OC)))
                for i, (r, _) in enumerate(pix):
                    vs = {t: b.load(accs[i][t], typ=V.vt) for t, _ in subs}
                    if summed:
                        V.store(V.sum_runs(vs, M), out_p,
                                b.add(b.add(ob, coff), _c(r * OC)), xmask)
                        continue
                    for t, mask in subs:
                        V.store(vs[t], out_p,
                                b.add(b.add(ob, ooff), _c(r * OC + t * V.W)), mask)
            _channel_loops(ctx, V, C, _c(0), _c(nvec), body)

        _along_row(b, cols, block)
        lead = [n] if len(out.shape) == 3 else [n, oh]
        _row_epilogue(ctx, rest, results, keys, lead, out.shape)
    b.ret_void()


def _along_row(b, cols, block) -> None:
    """block(first output pixel, first source position, pixels) over a
    row: the border pixels before the interior, the interior's blocks in a
    loop, the pixels after (static pixels in groups of at most R, one
    channel loop each)."""
    (a, blocks, pixels, qstep), static = cols
    R = len(pixels)
    left = [s for s in static if s[0] < a]
    right = [s for s in static if s[0] >= a]
    for group in (left[i:i + R] for i in range(0, len(left), R)):
        block(_c(0), _c(0), group)
    if blocks:
        with for_range(b, _c(blocks), name="blk") as m:
            block(b.add(_c(a), b.mul(m, _c(R))), b.mul(m, _c(qstep)), pixels)
    for group in (right[i:i + R] for i in range(0, len(right), R)):
        block(_c(0), _c(0), group)


def emit_filter_grad(ctx, node, ws, vector_bytes: int) -> None:
    """conv_filter_grad (depthwise): each thread sums every image for its
    share of the input channel vectors (and their M output channels)."""
    b = ctx.b
    axh, axw = axes(node)
    M = multiplier(node)
    x, g = node.inputs
    dw = node.outputs[0]
    C, CO = x.shape[-1], g.shape[-1]
    V = _Vec(b, dw.dtype, vector_bytes)
    cols = _columns(axw, _block(axw, M))
    ntaps = axh.K * axw.K
    accs = [[ctx.alloca(V.vt) for _ in range(M)] for _ in range(ntaps)]
    x_p, g_p, dw_p = (ctx.ptr(v.name)[0] for v in (x, g, dw))
    img = ws  # [tap][CO]: one image's sums of this thread's channels
    nvec = -(-C // V.W)
    j0, j1 = _share(ctx, _c(nvec))
    c0 = b.mul(j0, _c(V.W * M))
    c1 = _min(b, b.mul(j1, _c(V.W * M)), _c(CO))
    t_ = V.t
    zero = ir.Constant(t_, 0.0)

    def over_mine(fn):
        with for_range(b, _c(ntaps), name="zt") as tap, \
                for_range(b, c1, start=c0, name="zc") as c:
            fn(b.add(b.mul(tap, _c(CO)), c))

    def elem(p, i):
        return b.gep(p, [i], source_etype=t_)

    over_mine(lambda i: b.store(zero, elem(dw_p, i)))
    with b.if_then(b.icmp_signed("<", j0, j1)), \
            for_range(b, ctx.dim(x.shape[0]), name="n") as n:
        over_mine(lambda i: b.store(zero, elem(img, i)))
        with for_range(b, _c(axh.O), name="oh") as oh:
            base = b.mul(n, _c(axh.I * axw.I * C))
            taps_h = _row_taps(ctx, axh, oh, base, axw.I * C)
            gbase = b.mul(b.add(b.mul(n, _c(axh.O)), oh), _c(axw.O * CO))

            def body(coff, nch):
                xmask = None if nch is None else V.mask(nch)
                subs = V.subvectors(nch, M)
                ooff = b.mul(coff, _c(M))
                for row in accs:
                    for t, _ in subs:
                        b.store(V.zero, row[t])

                def block(pbase, qbase, pix):
                    gb = b.add(b.add(gbase, b.mul(pbase, _c(CO))), ooff)
                    gv = [{t: V.load(g_p, b.add(gb, _c(r * CO + t * V.W)), mask)
                           for t, mask in subs} for r, _ in pix]
                    for kh, (ok, soff) in enumerate(taps_h):
                        with _if(b, ok):
                            sb = b.add(b.add(soff, b.mul(qbase, _c(C))), coff)
                            xs = {}
                            row = kh * axw.K
                            vals = {(kw, t): b.load(accs[row + kw][t], typ=V.vt)
                                    for kw in range(axw.K) for t, _ in subs}
                            for i, (_, taps) in enumerate(pix):
                                for kw, qoff in taps:
                                    if qoff not in xs:
                                        xs[qoff] = V.load(x_p, b.add(
                                            sb, _c(qoff * C)), xmask)
                                    for t, _ in subs:
                                        if (qoff, t) not in xs:
                                            xs[qoff, t] = V.expand(xs[qoff], M, t)
                                        vals[kw, t] = V.madd(xs[qoff, t],
                                                             gv[i][t], vals[kw, t])
                            for (kw, t), v in vals.items():
                                b.store(v, accs[row + kw][t])

                _along_row(b, cols, block)
                for kh in range(axh.K):
                    for kw in range(axw.K):
                        tap = axh.wtap(kh) * axw.K + axw.wtap(kw)
                        for t, mask in subs:
                            off = b.add(ooff, _c(tap * CO + t * V.W))
                            s = b.fadd(V.load(img, off, mask), b.load(
                                accs[kh * axw.K + kw][t], typ=V.vt))
                            V.store(s, img, off, mask)
            _channel_loops(ctx, V, C, j0, j1, body)
        over_mine(lambda i: b.store(
            b.fadd(b.load(elem(dw_p, i), typ=t_), b.load(elem(img, i), typ=t_)),
            elem(dw_p, i)))
    b.ret_void()
