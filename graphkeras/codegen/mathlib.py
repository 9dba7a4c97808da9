"""Vectorisable transcendental functions of our own, emitted inline.

Everything here is straight-line code (selects, bit casts, integer shifts,
polynomials in Horner form with `llvm.fmuladd`), so a loop calling it is
vectorised by LLVM; no scalar libm call sits in a float32 loop.

Conventions shared by every function:
- The native step runs with FTZ/DAZ set: inputs below the smallest normal
  number are read as zero and results below it are flushed to zero. The
  error bounds below hold for normal inputs and normal results; tests treat
  denormals under that rule.
- nan in gives nan out (except where C99/NumPy say otherwise, e.g.
  pow(nan, 0) = 1); +-inf behave as in NumPy.
- Polynomials are Taylor series with exact rational coefficients, except the
  float32 erfc factor, a least-squares fit (relative weighting, Lawson
  iterations) of erfc(x) exp(x^2) on [0.875, 4] computed for graphkeras.
- Cody-Waite range reduction: n*ln2 is subtracted in two parts, the high
  part having enough trailing zero bits that n*LN2_HI is exact.

Maximum errors measured over the whole float32 range (random bit patterns
plus a dense grid and the special values; tests/codegen/test_mathlib.py
holds them as bounds). ulp = unit in the last place of the result; float32
against the exact value, float64 against NumPy:

  exp      float32: 1 ulp          float64: 1 ulp
  log      float32: 3 ulp          float64: 2 ulp
  log1p    float32: 4 ulp          float64: 4 ulp
  expm1    float32: 2 ulp          float64: 2 ulp
  tanh     float32: 3 ulp          float64: 3 ulp
  sigmoid  float32: 3 ulp          float64: 4 ulp
  erf      float32: 3 ulp          float64: libm `erf` (scalar fallback)
  pow      float32: 1 ulp (computed in float64)   float64: libm `pow`
                                                   (scalar fallback)
  cos_turns (cos(2 pi u), random_normal only): float64 2 ulp.

float64 erf and pow are documented fallbacks: scalar calls to the C
library (resolved in the process by the JIT), so those loops do not
vectorise. Keras models are float32; nothing hot uses them.
"""

from __future__ import annotations

import decimal
import math

import numpy as np
from llvmlite import ir

F32 = ir.FloatType()
F64 = ir.DoubleType()
I32 = ir.IntType(32)
I64 = ir.IntType(64)
MATH_VERSION = 1  # bump when any function's code changes (cache key)


def _split_ln2(keep_bits: int, np_t) -> tuple:
    """LN2 = hi + lo with hi keeping `keep_bits` significant bits and lo the
    rest, from a 50-digit ln 2 (a float64 ln 2 would leave 2^-53 relative
    error in lo, which n = 1000 multiplies into 200 ulp)."""
    with decimal.localcontext() as c:
        c.prec = 50
        ln2 = decimal.Decimal(2).ln()
        m, e = math.frexp(float(ln2))
        hi = math.ldexp(math.floor(math.ldexp(m, keep_bits)), e - keep_bits)
        lo = float(ln2 - decimal.Decimal(hi))
    return float(np_t(hi)), float(np_t(lo))


_LN2_32 = _split_ln2(15, np.float32)  # n*hi exact for |n| < 2^9
_LN2_64 = _split_ln2(41, np.float64)  # n*hi exact for |n| < 2^12


def _taylor_exp(deg: int) -> list:
    return [1.0 / math.factorial(k) for k in range(deg + 1)]


# erfc(x) * exp(x^2) on [0.875, 4] as a polynomial in (x - 2.4375)
_ERFC_C = 2.4375
_ERFC_R32 = [
    0.21555247902870178, -0.07756081223487854, 0.026497963815927505,
    -0.008648272603750229, 0.0027091496158391237, -0.0008170352666638792,
    0.0002385642728768289, -6.85131672071293e-05, 1.8676066247280687e-05,
    -4.2665592445700895e-06, 1.1670498452076572e-06, -5.376467129281082e-07,
    1.2588141373726103e-07,
]
# erf(x) = x * sum c_k x^(2k), c_k = 2/sqrt(pi) (-1)^k / (k! (2k+1))
_ERF_SMALL = [2 / math.sqrt(math.pi) * (-1) ** k / (math.factorial(k) * (2 * k + 1))
              for k in range(13)]


class _M:
    """Typed helpers over an IRBuilder for one float type (scalar or vector
    shapes are whatever the operands are)."""

    def __init__(self, sb, t):
        self.sb = sb
        self.b = sb.b
        self.t = t
        self.f64 = isinstance(t, ir.DoubleType)
        self.it = I64 if self.f64 else I32
        self.mant = 52 if self.f64 else 23
        self.bias = 1023 if self.f64 else 127
        self.ln2 = _LN2_64 if self.f64 else _LN2_32

    def c(self, v):
        return ir.Constant(self.t, float(v))

    def ci(self, v):
        return ir.Constant(self.it, int(v))

    def add(self, a, b):
        return self.b.fadd(a, b, flags=("contract",))

    def sub(self, a, b):
        return self.b.fsub(a, b, flags=("contract",))

    def mul(self, a, b):
        return self.b.fmul(a, b, flags=("contract",))

    def div(self, a, b):
        return self.b.fdiv(a, b)

    def fma(self, a, b, c):
        return self.sb.call_intr("fmuladd", [a, b, c])

    def poly(self, x, coeffs):
        """sum coeffs[k] x^k by Horner's rule."""
        p = self.c(coeffs[-1])
        for k in range(len(coeffs) - 2, -1, -1):
            p = self.fma(p, x, self.c(coeffs[k]))
        return p

    def lt(self, a, b):
        return self.b.fcmp_ordered("<", a, b)

    def gt(self, a, b):
        return self.b.fcmp_ordered(">", a, b)

    def eq(self, a, b):
        return self.b.fcmp_ordered("==", a, b)

    def uno(self, a):
        return self.b.fcmp_unordered("uno", a, a)

    def sel(self, c, a, b):
        return self.b.select(c, a, b)

    def fabs(self, a):
        return self.sb.call_intr("fabs", [a])

    def copysign(self, a, s):
        return self.sb.call_intr("copysign", [a, s])

    def floor(self, a):
        return self.sb.call_intr("floor", [a])

    def bits(self, x):
        return self.b.bitcast(x, self.it)

    def from_bits(self, i):
        return self.b.bitcast(i, self.t)

    def pow2(self, n):
        """2^n for an integer n in the normal exponent range."""
        return self.from_bits(self.b.shl(self.b.add(n, self.ci(self.bias)),
                                         self.ci(self.mant)))

    def clamp(self, x, lo, hi):
        """min(max(x, lo), hi), keeping nan."""
        x = self.sel(self.lt(x, self.c(lo)), self.c(lo), x)
        return self.sel(self.gt(x, self.c(hi)), self.c(hi), x)

    def reduce_ln2(self, x):
        """n, r with x = n ln2 + r, |r| <= ln2/2; n as float and as int.
        x must be finite and |x| < 2^20."""
        magic = 1.5 * 2.0 ** self.mant
        t = self.fma(x, self.c(1 / math.log(2)), self.c(magic))
        nf = self.sub(t, self.c(magic))
        ni = self.b.sub(self.bits(t), self.bits(self.c(magic)))
        r = self.fma(self.b.fneg(nf), self.c(self.ln2[0]), x)
        r = self.fma(self.b.fneg(nf), self.c(self.ln2[1]), r)
        return nf, ni, r

    def int_to_float(self, i):
        """sitofp for small ints, vectorisable on AVX2 also for i64."""
        if not self.f64:
            return self.b.sitofp(i, self.t)
        magic = 1.5 * 2.0 ** 52
        return self.sub(self.from_bits(self.b.add(i, self.bits(self.c(magic)))),
                        self.c(magic))


def _m(sb, x) -> _M:
    t = x.type.element if isinstance(x.type, ir.VectorType) else x.type
    if not isinstance(t, (ir.FloatType, ir.DoubleType)):
        raise TypeError(f"math functions need a float operand, got {x.type}")
    return _M(sb, x.type)


def exp(sb, x):
    """e^x. Max error: 1 ulp (float32 and float64); overflow gives +inf,
    underflow 0 (FTZ)."""
    m = _m(sb, x)
    lo, hi = (-746.0, 710.0) if m.f64 else (-104.0, 89.0)
    xs = m.clamp(m.sel(m.uno(x), m.c(0), x), lo, hi)
    _, n, r = m.reduce_ln2(xs)
    p = m.poly(r, _taylor_exp(13 if m.f64 else 7))
    # 2^n in two factors, so n = 128 (float32) / 1024 (float64) still works
    n1 = m.b.ashr(n, m.ci(1))
    n2 = m.b.sub(n, n1)
    res = m.mul(m.mul(p, m.pow2(n1)), m.pow2(n2))
    return m.sel(m.uno(x), x, res)


def _log_pos(m: _M, x):
    """log(x) for finite positive normal x (other inputs give garbage)."""
    b = m.b
    bits = m.bits(x)
    e = b.sub(b.lshr(bits, m.ci(m.mant)), m.ci(m.bias))
    mask = (1 << m.mant) - 1
    one = m.bits(m.c(1.0))
    mant = m.from_bits(b.or_(b.and_(bits, m.ci(mask)), one))  # [1, 2)
    big = m.gt(mant, m.c(math.sqrt(2.0)))
    mant = m.sel(big, m.mul(mant, m.c(0.5)), mant)
    e = m.sel(big, b.add(e, m.ci(1)), e)
    ef = m.int_to_float(e)
    f = m.sub(mant, m.c(1.0))
    s = m.div(f, m.add(mant, m.c(1.0)))
    z = m.mul(s, s)
    nterms = 11 if m.f64 else 5
    p = m.poly(z, [2.0 / (2 * k + 1) for k in range(nterms)])
    logm = m.mul(s, p)
    return m.fma(ef, m.c(m.ln2[0]), m.fma(ef, m.c(m.ln2[1]), logm))


def log(sb, x):
    """Natural log. Max error: 3 ulp float32, 2 ulp float64; log(0) = -inf,
    log(<0) = nan, log(inf) = inf; denormal inputs count as 0 (DAZ)."""
    m = _m(sb, x)
    res = _log_pos(m, x)
    res = m.sel(m.eq(x, m.c(math.inf)), x, res)
    res = m.sel(m.lt(x, m.c(0)), m.c(math.nan), res)
    res = m.sel(m.eq(x, m.c(0)), m.c(-math.inf), res)
    return m.sel(m.uno(x), x, res)


def log1p(sb, x):
    """log(1 + x), accurate near 0 (log(u) x / (u - 1) with u = 1 + x).
    Max error: 4 ulp (float32 and float64)."""
    m = _m(sb, x)
    u = m.add(x, m.c(1.0))
    d = m.sub(u, m.c(1.0))
    lu = log(sb, u)
    res = m.mul(lu, m.div(x, d))  # log(u) * x / (u - 1) corrects u's rounding
    res = m.sel(m.eq(d, m.c(0)), x, res)
    return m.sel(m.eq(x, m.c(math.inf)), x, res)


def expm1(sb, x):
    """e^x - 1, accurate near 0 (2^n (e^r - 1) + (2^n - 1)). Max error:
    2 ulp (float32 and float64); keeps the sign of zero."""
    m = _m(sb, x)
    lo, hi = (-60.0, 710.0) if m.f64 else (-30.0, 89.0)
    xs = m.clamp(m.sel(m.uno(x), m.c(0), x), lo, hi)
    _, n, r = m.reduce_ln2(xs)
    deg = 14 if m.f64 else 8
    q = m.fma(m.mul(r, r), m.poly(r, _taylor_exp(deg)[2:]), r)  # e^r - 1
    s = m.pow2(n)
    small = m.fma(s, q, m.sub(s, m.c(1.0)))  # 2^n (e^r - 1) + (2^n - 1)
    n1 = m.b.ashr(n, m.ci(1))
    n2 = m.b.sub(n, n1)
    big = m.sub(m.mul(m.mul(m.add(q, m.c(1.0)), m.pow2(n1)), m.pow2(n2)),
                m.c(1.0))
    res = m.sel(m.b.icmp_signed(">", n, m.ci(60)), big, small)
    res = m.sel(m.eq(x, m.c(0)), x, res)  # keeps the sign of zero
    return m.sel(m.uno(x), x, res)


def tanh(sb, x):
    """tanh x = e / (e + 2) with e = expm1(2|x|), sign copied from x. Max
    error: 3 ulp (float32 and float64)."""
    m = _m(sb, x)
    cap = 20.0 if m.f64 else 9.5  # tanh(cap) rounds to 1
    ax = m.fabs(x)
    ax = m.sel(m.gt(ax, m.c(cap)), m.c(cap), ax)
    e = expm1(sb, m.mul(ax, m.c(2.0)))
    return m.copysign(m.div(e, m.add(e, m.c(2.0))), x)


def sigmoid(sb, x):
    """1 / (1 + e^-x). Max error: 3 ulp float32, 4 ulp float64."""
    m = _m(sb, x)
    e = exp(sb, m.b.fneg(x))
    return m.div(m.c(1.0), m.add(m.c(1.0), e))


def _libm(sb, name: str, args):
    t = args[0].type
    mod = sb.b.module
    fn = mod.globals.get(name)
    if fn is None:
        fn = ir.Function(mod, ir.FunctionType(t, [a.type for a in args]), name)
    return sb.b.call(fn, list(args))


def erf(sb, x):
    """erf x: Taylor series below 0.875, 1 - e^(-x^2) R(x) above (R fitted),
    1 beyond 3.95. Max error: 3 ulp float32; float64 calls libm `erf`
    (scalar, documented fallback)."""
    m = _m(sb, x)
    if m.f64:
        return _libm(sb, "erf", [x])
    ax = m.fabs(x)
    z = m.mul(ax, ax)
    small = m.mul(ax, m.poly(z, _ERF_SMALL))
    rr = m.poly(m.sub(ax, m.c(_ERFC_C)), _ERFC_R32)
    large = m.sub(m.c(1.0), m.mul(exp(sb, m.b.fneg(z)), rr))
    res = m.sel(m.lt(ax, m.c(0.875)), small, large)
    res = m.sel(m.gt(ax, m.c(3.95)), m.c(1.0), res)
    return m.copysign(res, x)


def pow_(sb, x, y):
    """x^y with C99 special cases (pow(x, 0) = 1, pow(1, y) = 1, negative
    bases with integer exponents, +-0, +-inf). float32: exp(y log|x|) in
    float64, max error 1 ulp; float64 calls libm `pow` (scalar fallback)."""
    m = _m(sb, x)
    if m.f64:
        return _libm(sb, "pow", [x, y])
    b = m.b
    wide = F64 if not isinstance(x.type, ir.VectorType) else ir.VectorType(
        F64, x.type.count)
    xd, yd = b.fpext(x, wide), b.fpext(y, wide)
    d = _M(sb, wide)
    ax = d.fabs(xd)
    r = exp(sb, d.mul(yd, log(sb, ax)))
    inf = d.c(math.inf)
    fy = d.floor(yd)
    yint = d.eq(fy, yd)  # true for +-inf too
    yfinite = d.lt(d.fabs(yd), inf)
    half = d.mul(yd, d.c(0.5))
    yodd = b.and_(b.and_(yint, yfinite),
                  b.fcmp_unordered("!=", d.floor(half), half))
    xneg_bit = b.icmp_signed("<", d.bits(xd), d.ci(0))
    r = d.sel(b.and_(xneg_bit, yodd), b.fneg(r), r)
    bad = b.and_(b.and_(d.lt(xd, d.c(0)), d.lt(ax, inf)), b.not_(yint))
    r = d.sel(bad, d.c(math.nan), r)
    one = b.or_(d.eq(yd, d.c(0)), d.eq(xd, d.c(1.0)))
    one = b.or_(one, b.and_(d.eq(ax, d.c(1.0)), d.eq(d.fabs(yd), inf)))
    r = d.sel(one, d.c(1.0), r)
    return b.fptrunc(r, x.type)


def cos_turns(sb, u):
    """cos(2 pi u) for a float64 u in [0, 1) (random_normal's Box-Muller).
    The quarter-turn reduction is exact, so no large-argument problem."""
    m = _m(sb, u)
    b = m.b
    q = sb.call_intr("roundeven", [m.mul(u, m.c(4.0))])
    r = m.sub(u, m.mul(q, m.c(0.25)))  # exact: [-1/8, 1/8]
    a = m.mul(r, m.c(2 * math.pi))
    a2 = m.mul(a, a)
    cos_c = [(-1) ** k / math.factorial(2 * k) for k in range(10)]
    sin_c = [(-1) ** k / math.factorial(2 * k + 1) for k in range(10)]
    c = m.poly(a2, cos_c)
    s = m.mul(a, m.poly(a2, sin_c))
    qi = b.and_(b.fptosi(q, I32 if not isinstance(u.type, ir.VectorType)
                         else ir.VectorType(I32, u.type.count)),
                ir.Constant(I32, 3) if not isinstance(u.type, ir.VectorType)
                else ir.Constant(ir.VectorType(I32, u.type.count), [3] * u.type.count))
    it = qi.type

    def is_(k):
        return b.icmp_unsigned("==", qi, ir.Constant(it, k) if not isinstance(
            it, ir.VectorType) else ir.Constant(it, [k] * it.count))

    res = m.sel(is_(1), b.fneg(s), c)
    res = m.sel(is_(2), b.fneg(c), res)
    return m.sel(is_(3), s, res)
