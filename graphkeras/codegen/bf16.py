"""bfloat16 products with float32 accumulation (`mixed_bfloat16`): the
GEMM's BF16 flag (codegen/matmul.py).

Operands are float32 arrays; their packed panels are rounded to bfloat16
(round to nearest even, the rounding of `vcvtneps2bf16`), products are
summed in float32. Two ways, chosen per machine when the GEMM library is
built:

- `dot_pairs(vector_bytes)` (AVX512_BF16 and 512-bit vectors): each packed
  panel is rewritten in place as bfloat16 pairs along K (element (r, k)
  of a P-wide panel: pair kp = k // 2 holds k = 2kp in its low half and
  2kp + 1 in its high half; an odd K's last pair has a zero high half),
  and the micro-kernel `vdpbf16ps` multiplies 16 pairs by 16 pairs into 16
  float32 sums: twice the products of an FMA per instruction, half the
  bytes of panel per k.
- otherwise (conversion): the panels are rounded in place to bfloat16's
  precision and stay float32; the usual FMA micro-kernel runs on them.
  Numbers are those of bfloat16 products, the speed that of float32;
  frontend/mixed_precision.py says so once.

Both compute sum_k bf16(a_ik) * bf16(b_kj) in float32 (the product of two
bfloat16 values is exact in float32); they differ only in the order of
the additions (pairs add k odd then k even), so results agree within
float32 rounding, and each is identical run to run and across thread
counts (K is never split).
"""

from __future__ import annotations

from llvmlite import ir

from .loops import for_range
from .scalar import I32, I64, PTR, VOID, intrinsic


class BFloat(ir.types.Type):
    """LLVM's `bfloat` (llvmlite's IR layer has no name for it)."""

    null = "0.0"
    intrinsic_name = "bf16"

    def __str__(self):
        return "bfloat"


BF16 = BFloat()


def _c(v) -> ir.Constant:
    return ir.Constant(I64, int(v))


def dot_pairs(vector_bytes: int) -> bool:
    """Whether the host's GEMM library multiplies bfloat16 pairs
    (`vdpbf16ps`), for a library of this vector width."""
    from .target import has_feature

    return vector_bytes == 64 and has_feature("avx512bf16")


def _rne(b, bits):
    """float32 bits (i32 or vector of i32) rounded to the nearest
    bfloat16, ties to even: the bfloat16 is the top 16 bits."""
    t = bits.type
    lanes = t.count if isinstance(t, ir.VectorType) else None

    def k(v):
        return ir.Constant(t, [v] * lanes) if lanes else ir.Constant(t, v)

    odd = b.and_(b.lshr(bits, k(16)), k(1))
    return b.add(bits, b.add(odd, k(0x7FFF)))


def _panel_function(module, name: str) -> tuple:
    """(fn, builder at its entry) for a new internal
    `void name(panel, npan, kc)`; (fn, None) when the module has it."""
    fn = module.globals.get(name)
    if fn is not None:
        return fn, None
    fn = ir.Function(module, ir.FunctionType(VOID, [PTR, I64, I64]), name)
    fn.linkage = "internal"
    return fn, ir.IRBuilder(fn.append_basic_block("entry"))


def round_panels(module, P: int) -> ir.Function:
    """void f(panel, npan, kc): npan P-wide panels of kc rows (float32,
    P * kc each) rounded in place to bfloat16 precision."""
    fn, b = _panel_function(module, f"gk_bf16_round_{P}")
    if b is None:
        return fn
    p, npan, kc = fn.args
    vt = ir.VectorType(I32, P)
    mask = ir.Constant(vt, [-65536] * P)  # 0xFFFF0000
    with for_range(b, b.mul(npan, kc), name="row") as r:
        q = b.gep(p, [b.mul(r, _c(P))], source_etype=I32)
        x = b.load(q, typ=vt, align=4)
        b.store(b.and_(_rne(b, x), mask), q, align=4)
    b.ret_void()
    return fn


def pair_panels(module, P: int) -> ir.Function:
    """void f(panel, npan, kc): npan P-wide float32 panels of kc rows
    rewritten in place as bfloat16 pairs (module docstring): panel q's
    pairs start at q * ceil(kc/2) * P 32-bit words. Forward order keeps
    every write at or before what it reads, so in place is safe."""
    fn, b = _panel_function(module, f"gk_bf16_pairs_{P}")
    if b is None:
        return fn
    p, npan, kc = fn.args
    vt = ir.VectorType(I32, P)
    kp_n = b.sdiv(b.add(kc, _c(1)), _c(2))
    lo_mask = ir.Constant(vt, [0xFFFF] * P)
    hi_mask = ir.Constant(vt, [-65536] * P)
    zero = ir.Constant(vt, None)
    with for_range(b, npan, name="q") as q, \
            for_range(b, kp_n, name="kp") as kp:
        src = b.mul(b.add(b.mul(q, kc), b.mul(kp, _c(2))), _c(P))
        k0 = b.load(b.gep(p, [src], source_etype=I32), typ=vt, align=4)
        has_k1 = b.icmp_signed("<", b.add(b.mul(kp, _c(2)), _c(1)), kc)
        # (an odd K's last pair: its row 2kp + 1 lies past the panel)
        k1p = b.gep(p, [b.select(has_k1, b.add(src, _c(P)), src)],
                    source_etype=I32)
        k1 = b.select(has_k1, b.load(k1p, typ=vt, align=4), zero)
        lo = b.and_(b.lshr(_rne(b, k0), ir.Constant(vt, [16] * P)), lo_mask)
        hi = b.and_(_rne(b, k1), hi_mask)
        dst = b.mul(b.add(b.mul(q, kp_n), kp), _c(P))
        b.store(b.or_(lo, hi), b.gep(p, [dst], source_etype=I32), align=4)
    b.ret_void()
    return fn


def pair_ukernel(module, bk) -> ir.Function:
    """void uk(kp, Ap, Bp, C, ldc, accumulate): the MR x NR tile of
    sum over kp pairs of Ap[kp, :MR] (pairs) . Bp[kp, :NR] (pairs) with
    `vdpbf16ps`, stored into C (accumulate == 0) or added to it."""
    from .matmul import _counted_loop, _gep

    name = "gk_uk_bf16"
    fn = module.globals.get(name)
    if fn is not None:
        return fn
    fn = ir.Function(module, ir.FunctionType(
        VOID, [I64, PTR, PTR, PTR, I64, I64]), name)
    fn.linkage = "internal"
    kp_n, Ap, Bp, C, ldc, accumulate = fn.args
    for a in (Ap, Bp, C):
        a.add_attribute("noalias")
    b = ir.IRBuilder(fn.append_basic_block("entry"))
    f32 = ir.FloatType()
    w = 16
    ft = ir.VectorType(f32, w)
    it = ir.VectorType(I32, w)
    bt = ir.VectorType(BF16, 2 * w)
    dp = intrinsic(module, "llvm.x86.avx512bf16.dpbf16ps.512", ft, [ft, bt, bt])
    nv = bk.nr // w
    mr = bk.mr

    def step(kp, acc):
        ka = b.mul(kp, _c(mr))
        kb = b.mul(kp, _c(bk.nr))
        bv = [b.bitcast(b.load(_gep(b, Bp, b.add(kb, _c(c * w)), I32), typ=it,
                               align=64), bt) for c in range(nv)]
        new = []
        for r in range(mr):
            s = b.load(_gep(b, Ap, b.add(ka, _c(r)), I32), typ=I32)
            v = b.insert_element(ir.Constant(it, ir.Undefined), s,
                                 ir.Constant(I32, 0))
            v = b.shuffle_vector(v, ir.Constant(it, ir.Undefined),
                                 ir.Constant(it, [0] * w))
            a = b.bitcast(v, bt)
            for c in range(nv):
                new.append(b.call(dp, [acc[r * nv + c], a, bv[c]]))
        return new

    zero = ir.Constant(ft, None)
    k, phis, finish = _counted_loop(b, fn, kp_n, [zero] * (mr * nv), "kp")
    accs = finish(step(k, phis))
    with b.if_else(b.icmp_signed("!=", accumulate, _c(0))) as (add, put):
        with add:
            for r in range(mr):
                for c in range(nv):
                    p = _gep(b, C, b.add(b.mul(_c(r), ldc), _c(c * w)), f32)
                    b.store(b.fadd(b.load(p, typ=ft, align=4),
                                   accs[r * nv + c]), p, align=4)
        with put:
            for r in range(mr):
                for c in range(nv):
                    p = _gep(b, C, b.add(b.mul(_c(r), ldc), _c(c * w)), f32)
                    b.store(accs[r * nv + c], p, align=4)
    b.ret_void()
    return fn
