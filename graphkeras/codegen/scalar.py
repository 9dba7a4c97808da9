"""`LLVMScalar`: the abstract `ir.ScalarBuilder` implemented with llvmlite.

Values are plain llvmlite values; their LLVM type tells their dtype (float
f32, double f64, i32, i64, i1 bool), so `dtype_of` needs no side table.
Every method emits straight-line code (selects, no branches, no calls to
libm for float32), so a loop around an op's `emit` body stays vectorisable.

Numerics:
- Arithmetic carries the `contract` fast-math flag only (FMA formation).
  No `nnan`/`ninf` (nan and inf must flow as NumPy's do) and no `reassoc`
  (the math library relies on exact rounding tricks); reductions add
  `reassoc` themselves.
- max/min propagate nan like np.maximum / np.minimum.
- float -> int casts follow NumPy on x86: truncation toward zero, and the
  most negative integer for nan and out-of-range values (never LLVM poison).
- Constants are converted with NumPy (`np.asarray(v).astype(dtype)`), as the
  references do.
"""

from __future__ import annotations

import numpy as np
from llvmlite import ir

from ..ir.dtypes import DType, bool_, float32, float64, int32, int64
from ..ir.scalar import ScalarBuilder
from . import mathlib

F32 = ir.FloatType()
F64 = ir.DoubleType()
I1 = ir.IntType(1)
I8 = ir.IntType(8)
I32 = ir.IntType(32)
I64 = ir.IntType(64)
PTR = ir.PointerType()
VOID = ir.VoidType()
FLAGS = ("contract",)

_REG = {"f32": F32, "f64": F64, "i32": I32, "i64": I64, "bool": I1}
_MEM = {"f32": F32, "f64": F64, "i32": I32, "i64": I64, "bool": I8}


def reg_type(dtype: DType) -> ir.Type:
    """The register type of a dtype (bool is i1)."""
    return _REG[dtype.name]


def mem_type(dtype: DType) -> ir.Type:
    """The in-memory element type of a dtype (bool is one byte, like NumPy)."""
    return _MEM[dtype.name]


def scalar_dtype(t: ir.Type) -> DType:
    if isinstance(t, ir.VectorType):
        t = t.element
    if isinstance(t, ir.FloatType):
        return float32
    if isinstance(t, ir.DoubleType):
        return float64
    if isinstance(t, ir.IntType):
        return {1: bool_, 32: int32, 64: int64}[t.width]
    raise TypeError(f"no dtype for LLVM type {t}")


def intrinsic(module: ir.Module, name: str, ret: ir.Type, args) -> ir.Function:
    """Get or declare an intrinsic by its full mangled name (llvmlite's
    declare_intrinsic cannot mangle most overloaded ones)."""
    fn = module.globals.get(name)
    if fn is None:
        fn = ir.Function(module, ir.FunctionType(ret, list(args)), name)
    return fn


def suffix(t: ir.Type) -> str:
    """The LLVM overload suffix of a type: f32, v8f32, i64, ..."""
    if isinstance(t, ir.VectorType):
        return f"v{t.count}{suffix(t.element)}"
    if isinstance(t, ir.FloatType):
        return "f32"
    if isinstance(t, ir.DoubleType):
        return "f64"
    if isinstance(t, ir.IntType):
        return f"i{t.width}"
    raise TypeError(t)


def np_const(value, dtype: DType):
    """value converted to dtype the way NumPy converts it."""
    with np.errstate(all="ignore"):
        return np.asarray(value).astype(dtype.np)[()]


def llvm_const(value, dtype: DType) -> ir.Constant:
    v = np_const(value, dtype)
    t = reg_type(dtype)
    if dtype.is_float:
        return ir.Constant(t, float(v))
    return ir.Constant(t, int(v))


class LLVMScalar(ScalarBuilder):
    """ScalarBuilder emitting llvmlite instructions at `b`'s position."""

    def __init__(self, b: ir.IRBuilder):
        self.b = b

    @property
    def module(self) -> ir.Module:
        return self.b.module

    def call_intr(self, base: str, args, ret=None):
        t = args[0].type
        fn = intrinsic(self.module, f"llvm.{base}.{suffix(t)}", ret or t,
                       [a.type for a in args])
        return self.b.call(fn, list(args))

    # --- the protocol --------------------------------------------------------

    def dtype_of(self, x) -> DType:
        return scalar_dtype(x.type)

    def const(self, value, dtype):
        from ..ir.dtypes import as_dtype

        return llvm_const(value, as_dtype(dtype))

    def _check(self, a, b, what):
        if a.type != b.type:
            raise TypeError(f"{what}: operand types differ ({a.type} vs {b.type})")

    def add(self, a, b):
        self._check(a, b, "add")
        if self.dtype_of(a).is_float:
            return self.b.fadd(a, b, flags=FLAGS)
        return self.b.add(a, b)

    def sub(self, a, b):
        self._check(a, b, "sub")
        if self.dtype_of(a).is_float:
            return self.b.fsub(a, b, flags=FLAGS)
        return self.b.sub(a, b)

    def mul(self, a, b):
        self._check(a, b, "mul")
        if self.dtype_of(a).is_float:
            return self.b.fmul(a, b, flags=FLAGS)
        return self.b.mul(a, b)

    def div(self, a, b):
        self._check(a, b, "div")
        if not self.dtype_of(a).is_float:
            raise TypeError("div is only defined for floating-point values")
        return self.b.fdiv(a, b)

    def neg(self, a):
        if self.dtype_of(a).is_float:
            return self.b.fneg(a)
        return self.b.sub(ir.Constant(a.type, 0), a)

    def abs(self, a):
        if self.dtype_of(a).is_float:
            return self.call_intr("fabs", [a])
        neg = self.b.sub(ir.Constant(a.type, 0), a)
        return self.b.select(self.b.icmp_signed("<", a, ir.Constant(a.type, 0)),
                             neg, a)

    def max(self, a, b):
        self._check(a, b, "max")
        if self.dtype_of(a).is_float:
            # a if a > b or a is nan, else b: nan from either side wins
            take = self.b.or_(self.b.fcmp_ordered(">", a, b),
                              self.b.fcmp_unordered("uno", a, a))
            return self.b.select(take, a, b)
        if self.dtype_of(a).is_bool:
            return self.b.or_(a, b)
        return self.b.select(self.b.icmp_signed(">", a, b), a, b)

    def min(self, a, b):
        self._check(a, b, "min")
        if self.dtype_of(a).is_float:
            take = self.b.or_(self.b.fcmp_ordered("<", a, b),
                              self.b.fcmp_unordered("uno", a, a))
            return self.b.select(take, a, b)
        if self.dtype_of(a).is_bool:
            return self.b.and_(a, b)
        return self.b.select(self.b.icmp_signed("<", a, b), a, b)

    def pow(self, a, b):
        self._check(a, b, "pow")
        return mathlib.pow_(self, a, b)

    def sqrt(self, a):
        return self.call_intr("sqrt", [a])

    def exp(self, a):
        return mathlib.exp(self, a)

    def log(self, a):
        return mathlib.log(self, a)

    def log1p(self, a):
        return mathlib.log1p(self, a)

    def expm1(self, a):
        return mathlib.expm1(self, a)

    def tanh(self, a):
        return mathlib.tanh(self, a)

    def sigmoid(self, a):
        return mathlib.sigmoid(self, a)

    def erf(self, a):
        return mathlib.erf(self, a)

    def floor(self, a):
        return self.call_intr("floor", [a])

    def round(self, a):
        return self.call_intr("roundeven", [a])

    def round_float16(self, a):
        # float32 -> the nearest float16 (ties to even), kept as float32, in
        # integer operations on the bits (no F16C or libcall needed):
        # normal halves drop 13 mantissa bits; below 2^-14 (subnormal
        # halves) the grid is 2^-24, which adding and taking away 0.5
        # rounds to; from 65520 on the result is inf; inf and nan stay.
        if self.dtype_of(a) != float32:
            raise TypeError("round_float16 takes float32 values")
        b = self.b
        it = (ir.VectorType(I32, a.type.count)
              if isinstance(a.type, ir.VectorType) else I32)

        def c(v):
            return ir.Constant(it, v)

        bits = b.bitcast(a, it)
        mag = b.and_(bits, c(0x7FFFFFFF))
        sign = b.and_(bits, c(-0x80000000))
        odd = b.and_(b.lshr(mag, c(13)), c(1))
        normal = b.and_(b.add(b.add(mag, c(0x0FFF)), odd), c(-0x2000))
        absf = b.bitcast(mag, a.type)
        half = ir.Constant(a.type, 0.5) if not isinstance(a.type, ir.VectorType) \
            else ir.Constant(a.type, [0.5] * a.type.count)
        tiny = b.bitcast(b.fsub(b.fadd(absf, half), half), it)
        r = b.select(b.icmp_signed("<", mag, c(0x38800000)), tiny, normal)
        r = b.select(b.icmp_signed(">=", mag, c(0x477FF000)), c(0x7F800000), r)
        r = b.select(b.icmp_signed(">", mag, c(0x7F800000)), mag, r)
        return b.bitcast(b.or_(r, sign), a.type)

    def select(self, cond, a, b):
        self._check(a, b, "select")
        return self.b.select(cond, a, b)

    def _cmp(self, op_f, op_i, a, b, unordered=False):
        self._check(a, b, "compare")
        dt = self.dtype_of(a)
        if dt.is_float:
            if unordered:
                return self.b.fcmp_unordered(op_f, a, b)
            return self.b.fcmp_ordered(op_f, a, b)
        if dt.is_bool:
            return self.b.icmp_unsigned(op_i, a, b)
        return self.b.icmp_signed(op_i, a, b)

    def eq(self, a, b):
        return self._cmp("==", "==", a, b)

    def ne(self, a, b):
        return self._cmp("!=", "!=", a, b, unordered=True)

    def lt(self, a, b):
        return self._cmp("<", "<", a, b)

    def le(self, a, b):
        return self._cmp("<=", "<=", a, b)

    def gt(self, a, b):
        return self._cmp(">", ">", a, b)

    def ge(self, a, b):
        return self._cmp(">=", ">=", a, b)

    def and_(self, a, b):
        return self.b.and_(a, b)

    def or_(self, a, b):
        return self.b.or_(a, b)

    def not_(self, a):
        return self.b.xor(a, ir.Constant(a.type, 1))

    def xor(self, a, b):
        self._check(a, b, "xor")
        return self.b.xor(a, b)

    def _shift_in_range(self, n):
        """(n clamped into [0, bits), whether n was in it): an LLVM shift
        by bits or more is poison, NumPy's gives 0 (or -1)."""
        width = n.type.element.width if isinstance(n.type, ir.VectorType) \
            else n.type.width
        lim = ir.Constant(n.type, width) if not isinstance(
            n.type, ir.VectorType) else ir.Constant(n.type, [width] *
                                                    n.type.count)
        ok = self.b.icmp_unsigned("<", n, lim)
        return self.b.select(ok, n, ir.Constant(n.type, None)), ok

    def shl(self, a, b):
        self._check(a, b, "shl")
        n, ok = self._shift_in_range(b)
        return self.b.select(ok, self.b.shl(a, n), ir.Constant(a.type, None))

    def shr(self, a, b):
        self._check(a, b, "shr")
        n, ok = self._shift_in_range(b)
        zero = ir.Constant(a.type, None)
        # outside the range: the sign, spread (0 or -1), as NumPy
        sign = self.b.select(self.b.icmp_signed("<", a, zero),
                             self.b.sub(zero, self._one(a)), zero)
        return self.b.select(ok, self.b.ashr(a, n), sign)

    def _one(self, a):
        if isinstance(a.type, ir.VectorType):
            return ir.Constant(a.type, [1] * a.type.count)
        return ir.Constant(a.type, 1)

    def cast(self, a, dtype):
        from ..ir.dtypes import as_dtype

        dst = as_dtype(dtype)
        src = self.dtype_of(a)
        b = self.b
        t = reg_type(dst)
        if src == dst:
            return a
        if src.is_float and dst.is_float:
            return b.fpext(a, t) if dst.bits > src.bits else b.fptrunc(a, t)
        if src.is_float and dst.is_bool:
            return b.fcmp_unordered("!=", a, ir.Constant(a.type, 0.0))
        if src.is_float and dst.is_int:
            # NumPy on x86 (cvttss2si): in range -> truncate, else INT_MIN.
            lim = float(2 ** (dst.bits - 1))
            ok = b.and_(b.fcmp_ordered(">=", a, ir.Constant(a.type, -lim)),
                        b.fcmp_ordered("<", a, ir.Constant(a.type, lim)))
            fn = intrinsic(self.module,
                           f"llvm.fptosi.sat.{suffix(t)}.{suffix(a.type)}", t,
                           [a.type])
            v = b.call(fn, [a])
            return b.select(ok, v, ir.Constant(t, -(2 ** (dst.bits - 1))))
        if src.is_int and dst.is_float:
            return b.sitofp(a, t)
        if src.is_bool and dst.is_float:
            return b.uitofp(a, t)
        if dst.is_bool:
            return b.icmp_signed("!=", a, ir.Constant(a.type, 0))
        if src.is_bool:
            return b.zext(a, t)
        return b.sext(a, t) if dst.bits > src.bits else b.trunc(a, t)


def alloca(b: ir.IRBuilder, t: ir.Type):
    """An alloca whose result is an opaque `ptr` (llvmlite's IR layer would
    otherwise type it, and refuse stores of other types through it)."""
    a = b.alloca(t)
    a.type = PTR
    return a
