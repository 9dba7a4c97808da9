"""Hypothesis strategies for random, well-typed IR Functions.

    @given(fn=functions(max_nodes=12), data=st.data())
    def test_my_pass_keeps_results(fn, data):
        xs = data.draw(inputs_for(fn))
        check_same_outputs(my_pass(fn), fn, xs)

`functions()` builds a Function step by step with `ir.Builder`, so every
draw is valid by construction. Each step picks a generator from GENERATORS
(a table: op family -> function that adds nodes) and applies it to values
that already exist (or to fresh constants when no existing value fits).

Safe by construction: every float parameter is read on [-2, 2], every int
parameter on [-4, 4] (that is what `inputs_for` draws). The generator
tracks an interval for each value and keeps every value within
[-bound, bound]: before `exp` it squashes its operand, before `log`,
`sqrt`, `rsqrt`, a division or a `pow` it makes the operand positive
(`abs(x) + c`, `exp(tanh x)`, ...). So the interpreter never meets NaN,
infinity or integer overflow, and finite differences stay accurate.

Adding a generator (when a new op lands, e.g. conv or scan):

    @generator("conv2d", weight=2)          # ops=("conv2d",) by default
    def _gen_conv2d(ctx, op):
        x = ctx.pick(lambda v: ctx.is_float(v) and v.rank == 4)
        if x is None:
            return None              # nothing fits: the step is skipped
        ...                          # draw attrs with ctx.draw(...)
        y = ctx.b.conv2d(x, w, ...)
        return ctx.record(y, lo, hi)  # interval of y's elements

A generator gets one of its `ops` and returns the new Value (or None to
skip the step). It must keep values within ctx.bound and state the interval
of what it builds; `ctx.record` registers the value so later steps can use
it. Mark generators whose ops differentiate() refuses with
`differentiable=False`. tests/passes/test_random_functions.py fails when a
registered op has no generator and is not listed in NOT_GENERATED.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from hypothesis import strategies as st

from graphkeras import ir
from graphkeras.ir import Builder, ConstArray, Function, TensorType, Value
from graphkeras.ir.dtypes import bool_, float32, float64, int32, int64
from graphkeras.ir.types import broadcast_shapes, is_symbol

N_MAX = 4  # inputs_for draws each symbolic dim (the batch N) in 1..N_MAX
FLOAT_RANGE = 2.0  # float parameters are drawn in [-FLOAT_RANGE, FLOAT_RANGE]
INT_RANGE = 4  # int parameters are drawn in [-INT_RANGE, INT_RANGE]
MAX_ELEMENTS = 256  # no value has more elements (with N = N_MAX)
MAX_RANK = 4
LOCS = (None, None, "dense", "dense_1", "block/conv")

# --- the generation context --------------------------------------------------


@dataclass
class Interval:
    lo: float
    hi: float

    @property
    def mag(self) -> float:
        return max(abs(self.lo), abs(self.hi))


class GenContext:
    """What a generator sees: the builder, the values built so far with
    their intervals, and hypothesis' `draw`."""

    def __init__(self, draw, b: Builder, *, float_dtypes, int_dtypes,
                 bound: float, differentiable: bool):
        self.draw = draw
        self.b = b
        self.values: list[Value] = []
        self.iv: dict[str, Interval | None] = {}
        self.float_dtypes = tuple(float_dtypes)
        self.int_dtypes = tuple(int_dtypes)
        self.bound = bound
        self.differentiable = differentiable
        self.symbolic = False  # whether a parameter binds the symbol N

    # value predicates
    @staticmethod
    def is_float(v: Value) -> bool:
        return v.dtype.is_float

    @staticmethod
    def is_numeric(v: Value) -> bool:
        return not v.dtype.is_bool

    def interval(self, v: Value) -> Interval:
        return self.iv[v.name]

    def record(self, v: Value, lo: float | None = None,
               hi: float | None = None) -> Value:
        """Register v (a new value) with the interval of its elements
        (None for booleans)."""
        if v.name not in self.iv:
            self.values.append(v)
        if v.dtype.is_bool:
            self.iv[v.name] = None
        else:
            if v.dtype.is_int:
                lo, hi = math.floor(lo), math.ceil(hi)
            assert lo <= hi and max(abs(lo), abs(hi)) <= self.bound * 1.0001, (
                f"generator bug: %{v.name} in [{lo}, {hi}] (bound {self.bound})"
            )
            self.iv[v.name] = Interval(float(lo), float(hi))
        return v

    def pick(self, pred: Callable[[Value], bool] | None = None) -> Value | None:
        """One existing value satisfying pred, later values more likely."""
        # NOTE: zero-size values (a scan of 0 steps) are results only: an
        # operand of shape (0, ...) breaks random_const and the extremes
        cands = [v for v in self.values if (pred is None or pred(v))
                 and 0 not in v.shape]
        if not cands:
            return None
        # half the time one of the last three values, to grow deep chains
        if len(cands) > 3 and self.draw(st.booleans()):
            cands = cands[-3:]
        return cands[self.draw(st.integers(0, len(cands) - 1))]

    def choice(self, seq):
        return self.draw(st.sampled_from(list(seq)))

    # constants
    def const(self, value, dtype) -> Value:
        arr = np.asarray(value, dtype=ir.as_dtype(dtype).np)
        v = self.b.op("constant", value=ConstArray(arr))
        if v.dtype.is_bool:
            return self.record(v)
        return self.record(v, float(arr.min()), float(arr.max()))

    def random_const(self, shape: tuple, dtype, lo=-1.0, hi=1.0) -> Value:
        """A small constant array; its values come from a drawn seed."""
        dtype = ir.as_dtype(dtype)
        rng = np.random.default_rng(self.draw(st.integers(0, 2**16)))
        if dtype.is_bool:
            arr = rng.random(shape) < 0.5
        elif dtype.is_int:
            arr = rng.integers(int(lo), int(hi) + 1, size=shape)
        else:
            arr = np.round(rng.uniform(lo, hi, size=shape), 3)
        return self.const(arr, dtype)

    # making operands safe
    def bounded(self, v: Value, limit: float) -> Value:
        """v, squashed into [-limit, limit] if it may leave it."""
        iv = self.interval(v)
        if iv.mag <= limit:
            return v
        if v.dtype.is_float and self.draw(st.booleans()):
            t = self.record(self.b.tanh(v), -1.0, 1.0)
            if limit >= 1:
                return t
            c = self.const(limit, v.dtype)
            return self.record(self.b.mul(t, c), -limit, limit)
        lim = math.floor(limit) if v.dtype.is_int else limit
        return self.record(self.b.clip(v, min=-lim, max=lim), max(iv.lo, -lim),
                           min(iv.hi, lim))

    def positive(self, v: Value, at_least: float = 0.25,
                 at_most: float = 64.0) -> Value:
        """v if it is in [at_least, at_most], else a positive function of
        it that is."""
        iv = self.interval(v)
        if at_least <= iv.lo and iv.hi <= at_most:
            return v
        kind = self.draw(st.integers(0, 2))
        if kind == 0:  # exp(tanh(x)), within [e^-1, e]
            lo, hi = math.tanh(iv.lo), math.tanh(iv.hi)
            t = self.record(self.b.tanh(v), lo, hi)
            e = self.record(self.b.exp(t), math.exp(lo), math.exp(hi))
            return self.positive(e, at_least, at_most)
        v = self.bounded(v, at_most / 2)
        iv = self.interval(v)
        c = self.const(at_least, v.dtype)
        if kind == 1:  # |x| + c
            a = self.record(self.b.abs(v), 0.0, iv.mag)
        else:  # sigmoid(x) + c
            a = self.record(self.b.sigmoid(v), 0.0, 1.0)
        ai = self.interval(a)
        return self.record(self.b.add(a, c), ai.lo + at_least, ai.hi + at_least)

    def partner(self, x: Value, dtype=None, *, allow_const=True) -> Value:
        """A second operand for x: same dtype, broadcast-compatible shape.
        Sometimes a fresh constant (0 and 1 included, to feed the rewrite
        rules), sometimes a shape that broadcasts x to something bigger."""
        dtype = x.dtype if dtype is None else dtype

        def fits(v):
            if v.dtype != dtype:
                return False
            try:
                out = broadcast_shapes(v.shape, x.shape)
            except ValueError:
                return False
            return _fits(TensorType(out, dtype))

        kind = self.draw(st.integers(0, 5)) if allow_const else 0
        if kind <= 2:
            y = self.pick(fits)
            if y is not None:
                return y
        if kind == 3 or not allow_const:
            value = self.choice([0, 1, 0.5, -1.5] if dtype.is_float else [0, 1, 2])
            if dtype.is_bool:
                value = self.draw(st.booleans())
            return self.const(value, dtype)
        shape = list(x.shape)
        for i, d in enumerate(shape):  # some dims become 1 (broadcast)
            if self.draw(st.integers(0, 3)) == 0:
                shape[i] = 1
        if shape and self.draw(st.integers(0, 3)) == 0:  # fewer dims
            shape = shape[self.draw(st.integers(1, len(shape))):]
        elif len(shape) < MAX_RANK and self.draw(st.integers(0, 5)) == 0:
            shape = [self.draw(st.integers(2, 3))] + shape  # x broadcasts up
        if any(is_symbol(d) for d in shape) or self.draw(st.integers(0, 3)) == 0:
            fill = self.choice(["zeros", "ones"])
            v = self.b.op(fill, shape=tuple(shape), dtype=dtype)
            if dtype.is_bool:
                return self.record(v)
            return self.record(v, float(fill == "ones"), float(fill == "ones"))
        return self.random_const(tuple(shape), dtype)


def _size(t: TensorType) -> int:
    return t.num_elements({d: N_MAX for d in t.symbols})


def _fits(t: TensorType) -> bool:
    return t.rank <= MAX_RANK and _size(t) <= MAX_ELEMENTS


def _count(shape, axes) -> int:
    n = 1
    for a in axes:
        n *= N_MAX if is_symbol(shape[a]) else shape[a]
    return n


def _corners(f, iv1: Interval, iv2: Interval) -> tuple[float, float]:
    xs = [f(a, b) for a in (iv1.lo, iv1.hi) for b in (iv2.lo, iv2.hi)]
    return min(xs), max(xs)


# --- the generator table ------------------------------------------------------


@dataclass
class Generator:
    fn: Callable[[GenContext, str], Value | None]
    ops: tuple  # the ops it builds (helper nodes aside); fn gets one of them
    weight: int
    differentiable: bool


GENERATORS: dict[str, Generator] = {}

# Registered ops no generator builds, and why.
NOT_GENERATED = {
    "fused": "made by fuse_elementwise from other ops; tested with that pass",
    "all_reduce_sum": "needs a communicator descriptor operand; the op "
                      "samples and tests/distribution cover it",
}


def generator(name: str, *, ops: tuple | None = None, weight: int = 1,
              differentiable: bool = True):
    """Register a generator of `ops` (default: the op called `name`); each
    op is drawn with `weight` (see the module docstring)."""

    def register(fn):
        if name in GENERATORS:
            raise ValueError(f"generator {name!r} is registered twice")
        GENERATORS[name] = Generator(fn, tuple(ops or (name,)), weight,
                                     differentiable)
        return fn

    return register


def generated_ops() -> set:
    """Every op name some generator builds."""
    return {op for g in GENERATORS.values() for op in g.ops}


# unary float ops: name -> (domain preparation, interval map)
_UNARY_FLOAT = {
    "exp": (lambda c, x: c.bounded(x, 4.0), lambda i: (math.exp(i.lo), math.exp(i.hi))),
    "expm1": (lambda c, x: c.bounded(x, 4.0),
              lambda i: (math.expm1(i.lo), math.expm1(i.hi))),
    "log": (lambda c, x: c.positive(x), lambda i: (math.log(i.lo), math.log(i.hi))),
    "log1p": (lambda c, x: c.positive(x),
              lambda i: (math.log1p(i.lo), math.log1p(i.hi))),
    "sqrt": (lambda c, x: c.positive(x), lambda i: (math.sqrt(i.lo), math.sqrt(i.hi))),
    "rsqrt": (lambda c, x: c.positive(x),
              lambda i: (1 / math.sqrt(i.hi), 1 / math.sqrt(i.lo))),
    "tanh": (None, lambda i: (math.tanh(i.lo), math.tanh(i.hi))),
    "sigmoid": (None, lambda i: (0.0, 1.0)),
    "erf": (None, lambda i: (math.erf(i.lo), math.erf(i.hi))),
    "floor": (None, lambda i: (math.floor(i.lo), math.floor(i.hi))),
}


@generator("unary_float", ops=tuple(sorted(_UNARY_FLOAT)))
def _gen_unary_float(ctx: GenContext, name: str):
    x = ctx.pick(ctx.is_float)
    if x is None:
        return None
    prepare, image = _UNARY_FLOAT[name]
    if prepare is not None:
        x = prepare(ctx, x)
    lo, hi = image(ctx.interval(x))
    return ctx.record(ctx.b.op(name, x), lo, hi)


@generator("round", differentiable=False)
def _gen_round(ctx: GenContext, name: str):
    x = ctx.pick(ctx.is_float)
    if x is None:
        return None
    i = ctx.interval(x)
    return ctx.record(ctx.b.round(x), math.floor(i.lo), math.ceil(i.hi))


@generator("unary_numeric",
           ops=("neg", "abs", "relu", "sign", "square", "clip", "stop_gradient"))
def _gen_unary_numeric(ctx: GenContext, name: str):
    x = ctx.pick(ctx.is_numeric)
    if x is None:
        return None
    if name == "stop_gradient" and ctx.differentiable:
        # NOTE: x - stop_gradient(x) is 0 for every x, yet its gradient is
        # 1: finite differences cannot check stop_gradient.
        return None
    if name == "square":
        x = ctx.bounded(x, math.sqrt(ctx.bound))
    i = ctx.interval(x)
    if name == "neg":
        return ctx.record(ctx.b.neg(x), -i.hi, -i.lo)
    if name == "abs":
        lo = 0.0 if i.lo <= 0 <= i.hi else min(abs(i.lo), abs(i.hi))
        return ctx.record(ctx.b.abs(x), lo, i.mag)
    if name == "relu":
        return ctx.record(ctx.b.relu(x), max(i.lo, 0.0), max(i.hi, 0.0))
    if name == "sign":
        return ctx.record(ctx.b.sign(x), -1.0, 1.0)
    if name == "square":
        lo = 0.0 if i.lo <= 0 <= i.hi else min(i.lo**2, i.hi**2)
        return ctx.record(ctx.b.square(x), lo, i.mag**2)
    if name == "clip":
        a = ctx.draw(st.integers(-3, 2))
        b = ctx.draw(st.integers(a, 3))
        y = ctx.b.clip(x, min=float(a), max=float(b))
        return ctx.record(y, min(max(i.lo, a), b), max(min(i.hi, b), a))
    return ctx.record(ctx.b.stop_gradient(x), i.lo, i.hi)


_BINARY = ["add", "sub", "mul", "maximum", "minimum", "div", "pow"]


@generator("binary", ops=tuple(_BINARY), weight=2)
def _gen_binary(ctx: GenContext, name: str):
    needs_float = name in ("div", "pow")
    x = ctx.pick(ctx.is_float if needs_float else ctx.is_numeric)
    if x is None:
        return None
    y = ctx.partner(x)
    if ctx.draw(st.booleans()):
        x, y = y, x
    b, half = ctx.b, ctx.bound / 2
    if name in ("add", "sub"):
        x, y = ctx.bounded(x, half), ctx.bounded(y, half)
        i, j = ctx.interval(x), ctx.interval(y)
        if name == "add":
            return ctx.record(b.add(x, y), i.lo + j.lo, i.hi + j.hi)
        return ctx.record(b.sub(x, y), i.lo - j.hi, i.hi - j.lo)
    if name == "mul":
        x, y = ctx.bounded(x, math.sqrt(ctx.bound)), ctx.bounded(y, math.sqrt(ctx.bound))
        lo, hi = _corners(lambda p, q: p * q, ctx.interval(x), ctx.interval(y))
        return ctx.record(b.mul(x, y), lo, hi)
    if name in ("maximum", "minimum"):
        i, j = ctx.interval(x), ctx.interval(y)
        f = max if name == "maximum" else min
        return ctx.record(b.op(name, x, y), f(i.lo, j.lo), f(i.hi, j.hi))
    if name == "div":
        y = ctx.positive(y, 0.5, 8.0)
        x = ctx.bounded(x, ctx.bound / 2)
        lo, hi = _corners(lambda p, q: p / q, ctx.interval(x), ctx.interval(y))
        return ctx.record(b.div(x, y), lo, hi)
    # pow: a positive base in [0.5, 4], an exponent in [-2, 2]
    x = ctx.positive(x, 0.5, 4.0)
    y = ctx.bounded(y, 2.0)
    lo, hi = _corners(lambda p, q: p**q, ctx.interval(x), ctx.interval(y))
    return ctx.record(b.pow(x, y), lo, hi)


_COMPARES = ["equal", "not_equal", "less", "less_equal", "greater",
             "greater_equal"]


def _compare(ctx: GenContext, name: str | None = None) -> Value | None:
    x = ctx.pick()
    if x is None:
        return None
    y = ctx.partner(x)
    return ctx.record(ctx.b.op(name or ctx.choice(_COMPARES), x, y))


@generator("compare", ops=tuple(_COMPARES))
def _gen_compare(ctx: GenContext, name: str):
    return _compare(ctx, name)


@generator("logical", ops=("logical_not", "logical_and", "logical_or"))
def _gen_logical(ctx: GenContext, name: str):
    x = ctx.pick(lambda v: v.dtype.is_bool)
    if x is None:
        x = _compare(ctx)
        if x is None:
            return None
    if name == "logical_not":
        return ctx.record(ctx.b.logical_not(x))
    return ctx.record(ctx.b.op(name, x, ctx.partner(x)))


@generator("round_float16")
def _gen_round_float16(ctx: GenContext, name: str):
    # float32 only; float16's range is 65504, so stay well inside it
    x = ctx.pick(lambda v: v.dtype == ir.float32)
    if x is None:
        return None
    x = ctx.bounded(x, 1000.0)
    i = ctx.interval(x)
    # float16 keeps 11 bits: a relative change below 2^-11
    return ctx.record(ctx.b.op(name, x), i.lo - abs(i.lo) / 1024,
                      i.hi + abs(i.hi) / 1024)


@generator("bitwise", ops=("bitwise_and", "bitwise_or", "bitwise_xor",
                           "bitwise_not", "left_shift", "right_shift"))
def _gen_bitwise(ctx: GenContext, name: str):
    x = ctx.pick(lambda v: v.dtype.is_int)
    if x is None:
        return None
    b = ctx.b
    x = ctx.bounded(x, ctx.bound / 8)
    i = ctx.interval(x)
    if name == "bitwise_not":  # ~x = -x - 1
        return ctx.record(b.op(name, x), -i.hi - 1, -i.lo - 1)
    if name in ("left_shift", "right_shift"):
        k = ctx.draw(st.integers(0, 3))
        y = b.constant(np.asarray(k, x.dtype.np))
        if name == "left_shift":
            return ctx.record(b.op(name, x, y), i.lo * 2**k, i.hi * 2**k)
        return ctx.record(b.op(name, x, y), math.floor(i.lo / 2**k),
                          math.floor(i.hi / 2**k))
    y = ctx.bounded(ctx.partner(x), ctx.bound / 8)
    # |a op b| < 2^bits of the larger magnitude
    top = 2 ** math.ceil(math.log2(max(i.mag, ctx.interval(y).mag) + 1))
    return ctx.record(b.op(name, x, y), -top, top)


@generator("where", weight=3)
def _gen_where(ctx: GenContext, name: str):
    x = ctx.pick(ctx.is_numeric)
    if x is None:
        return None
    y = ctx.partner(x)
    c = ctx.pick(lambda v: v.dtype.is_bool and _broadcasts(v, x, y))
    if c is None or ctx.draw(st.booleans()):
        p = ctx.pick(lambda v: v.dtype == x.dtype and _broadcasts(v, x, y)) or x
        c = ctx.record(ctx.b.op(ctx.choice(_COMPARES), p, ctx.partner(p)))
        if not _broadcasts(c, x, y):
            return None
    i, j = ctx.interval(x), ctx.interval(y)
    out = ctx.b.where(c, x, y)
    if not _fits(out.type):
        return None
    return ctx.record(out, min(i.lo, j.lo), max(i.hi, j.hi))


def _broadcasts(*vs: Value) -> bool:
    try:
        return _fits(TensorType(broadcast_shapes(*(v.shape for v in vs))))
    except ValueError:
        return False


@generator("cast", weight=2)
def _gen_cast(ctx: GenContext, name: str):
    x = ctx.pick()
    if x is None:
        return None
    targets = list(ctx.float_dtypes) + list(ctx.int_dtypes) + [bool_]
    dtype = ctx.choice(targets)
    y = ctx.b.cast(x, dtype=dtype)
    if dtype.is_bool:
        return ctx.record(y)
    if x.dtype.is_bool:
        return ctx.record(y, 0.0, 1.0)
    i = ctx.interval(x)
    if dtype.is_int:
        return ctx.record(y, math.trunc(i.lo), math.trunc(i.hi))
    return ctx.record(y, i.lo, i.hi)


@generator("reduce", ops=("reduce_sum", "reduce_mean", "reduce_max", "reduce_min"))
def _gen_reduce(ctx: GenContext, name: str):
    x = ctx.pick(ctx.is_float if name == "reduce_mean" else ctx.is_numeric)
    if x is None:
        return None
    if ctx.draw(st.integers(0, 4)) == 0:
        axes = None
        picked = tuple(range(x.rank))
    else:
        picked = tuple(i for i in range(x.rank) if ctx.draw(st.booleans()))
        axes = picked
    keepdims = ctx.draw(st.booleans())
    if name == "reduce_sum":
        x = ctx.bounded(x, ctx.bound / max(1, _count(x.shape, picked)))
    i = ctx.interval(x)
    y = ctx.b.op(name, x, axes=axes, keepdims=keepdims)
    if name == "reduce_sum":
        n = _count(x.shape, picked)
        return ctx.record(y, min(i.lo, n * i.lo), max(i.hi, n * i.hi))
    return ctx.record(y, i.lo, i.hi)


@generator("argmax", ops=("argmax", "argmin"))
def _gen_argmax(ctx: GenContext, name: str):
    x = ctx.pick(lambda v: ctx.is_numeric(v) and v.rank >= 1)
    if x is None:
        return None
    axis = ctx.draw(st.integers(-x.rank, x.rank - 1))
    dtype = ctx.choice(ctx.int_dtypes or [int64])
    y = ctx.b.op(name, x, axis=axis,
                 keepdims=ctx.draw(st.booleans()), dtype=dtype)
    d = x.shape[axis]
    return ctx.record(y, 0, (N_MAX if is_symbol(d) else d) - 1)


def _factor(ctx: GenContext, n: int) -> list[int]:
    """A random list of ints with product n (1s included now and then)."""
    dims, p, primes = [], 2, []
    while n > 1:
        while n % p == 0:
            primes.append(p)
            n //= p
        p += 1
    for q in primes:
        if dims and ctx.draw(st.booleans()):
            dims[ctx.draw(st.integers(0, len(dims) - 1))] *= q
        else:
            dims.append(q)
    if len(dims) < MAX_RANK and ctx.draw(st.integers(0, 3)) == 0:
        dims.insert(ctx.draw(st.integers(0, len(dims))), 1)
    return dims


@generator("reshape", weight=3)
def _gen_reshape(ctx: GenContext, name: str):
    x = ctx.pick()
    if x is None:
        return None
    static = int(np.prod([d for d in x.shape if not is_symbol(d)], dtype=np.int64))
    dims: list = _factor(ctx, static)
    for s in x.type.symbols:
        dims.insert(ctx.draw(st.integers(0, len(dims))), s)
    if len(dims) > MAX_RANK:
        return None
    if ctx.draw(st.integers(0, 5)) == 0:
        dims = list(x.shape)  # the identity reshape, for the rewrite rule
    y = ctx.b.reshape(x, shape=tuple(dims))
    return ctx.record(y, *_iv_args(ctx, x))


def _iv_args(ctx: GenContext, x: Value) -> tuple:
    i = ctx.interval(x)
    return () if i is None else (i.lo, i.hi)


@generator("transpose", weight=3)
def _gen_transpose(ctx: GenContext, name: str):
    x = ctx.pick(lambda v: v.rank >= 1)
    if x is None:
        return None
    perm = ctx.draw(st.permutations(range(x.rank)))
    return ctx.record(ctx.b.transpose(x, perm=tuple(perm)), *_iv_args(ctx, x))


@generator("slice", weight=2)
def _gen_slice(ctx: GenContext, name: str):
    x = ctx.pick(lambda v: v.rank >= 1)
    if x is None:
        return None
    starts, stops, steps = [], [], []
    for d in x.shape:
        if is_symbol(d) or ctx.draw(st.integers(0, 2)) == 0:
            starts.append(0)
            stops.append(None)
            steps.append(1)
            continue
        step = ctx.choice([1, 1, 2, -1, -2])
        start = ctx.draw(st.integers(-d, d - 1))
        stop = ctx.choice([None, ctx.draw(st.integers(-d, d))])
        if len(range(*slice(start, stop, step).indices(d))) == 0:
            start, stop, step = 0, None, 1
        starts.append(start)
        stops.append(stop)
        steps.append(step)
    y = ctx.b.slice(x, starts=tuple(starts), stops=tuple(stops), steps=tuple(steps))
    return ctx.record(y, *_iv_args(ctx, x))


@generator("concat", weight=2)
def _gen_concat(ctx: GenContext, name: str):
    x = ctx.pick(lambda v: any(not is_symbol(d) for d in v.shape))
    if x is None:
        return None
    axis = ctx.choice([i for i, d in enumerate(x.shape) if not is_symbol(d)])

    def matches(v):
        return (v.dtype == x.dtype and v.rank == x.rank
                and not is_symbol(v.shape[axis]) and all(
            a == c for k, (a, c) in enumerate(zip(v.shape, x.shape)) if k != axis
        ))

    parts = [x]
    for _ in range(ctx.draw(st.integers(0, 2))):
        if ctx.draw(st.booleans()):
            parts.append(ctx.pick(matches))
        else:
            shape = list(x.shape)
            shape[axis] = ctx.draw(st.integers(1, 3))
            if any(is_symbol(d) for d in shape):
                parts.append(ctx.record(ctx.b.ones(shape=tuple(shape), dtype=x.dtype),
                                        *(() if x.dtype.is_bool else (1, 1))))
            else:
                parts.append(ctx.random_const(tuple(shape), x.dtype))
    y = ctx.b.concat(*parts, axis=axis)
    if not _fits(y.type):
        return None
    if x.dtype.is_bool:
        return ctx.record(y)
    ivs = [ctx.interval(p) for p in parts]
    return ctx.record(y, min(i.lo for i in ivs), max(i.hi for i in ivs))


@generator("pad")
def _gen_pad(ctx: GenContext, name: str):
    x = ctx.pick(lambda v: ctx.is_numeric(v) and v.rank >= 1)
    if x is None:
        return None
    pads = tuple(
        (0, 0) if is_symbol(d) else (ctx.draw(st.integers(0, 2)),
                                     ctx.draw(st.integers(0, 1)))
        for d in x.shape
    )
    value = ctx.choice([0.0, 1.0])
    y = ctx.b.pad(x, pads=pads, value=value)
    if not _fits(y.type):
        return None
    i = ctx.interval(x)
    return ctx.record(y, min(i.lo, value), max(i.hi, value))


@generator("broadcast_to")
def _gen_broadcast_to(ctx: GenContext, name: str):
    x = ctx.pick()
    if x is None:
        return None
    shape = [ctx.draw(st.integers(2, 3)) if d == 1 and ctx.draw(st.booleans())
             else d for d in x.shape]
    if len(shape) < MAX_RANK and ctx.draw(st.booleans()):
        shape.insert(0, ctx.draw(st.integers(1, 3)))
    t = TensorType(tuple(shape), x.dtype)
    if not _fits(t):
        return None
    return ctx.record(ctx.b.broadcast_to(x, shape=t.shape), *_iv_args(ctx, x))


@generator("matmul", weight=3)
def _gen_matmul(ctx: GenContext, name: str):
    a = ctx.pick(lambda v: ctx.is_float(v) and v.rank >= 2)
    if a is None:
        return None
    ta, tb = ctx.draw(st.booleans()), ctx.draw(st.booleans())
    k = a.shape[-2] if ta else a.shape[-1]

    def fits(v):
        if v.dtype != a.dtype or v.rank < 2:
            return False
        if (v.shape[-1] if tb else v.shape[-2]) != k:
            return False
        try:
            broadcast_shapes(a.shape[:-2], v.shape[:-2])
        except ValueError:
            return False
        return True

    w = ctx.pick(fits)
    if w is None:
        if is_symbol(k):
            return None
        n = ctx.draw(st.integers(1, 4))
        w = ctx.random_const((n, k) if tb else (k, n), a.dtype)
    limit = math.sqrt(ctx.bound / (N_MAX if is_symbol(k) else k))
    a, w = ctx.bounded(a, limit), ctx.bounded(w, limit)
    y = ctx.b.matmul(a, w, transpose_a=ta, transpose_b=tb)
    if not _fits(y.type):
        return None
    m = ctx.interval(a).mag * ctx.interval(w).mag * (N_MAX if is_symbol(k) else k)
    return ctx.record(y, -m, m)


@generator("matmul_sum")
def _gen_matmul_sum(ctx: GenContext, name: str):
    """sum over the batch of a^T b: b shares a's batch and contracted
    dimensions (another value, else a constant of that shape)."""
    a = ctx.pick(lambda v: ctx.is_float(v) and v.rank >= 2)
    if a is None:
        return None

    def fits(v):
        return (v.dtype == a.dtype and v.rank == a.rank
                and tuple(v.shape[:-1]) == tuple(a.shape[:-1]))

    w = ctx.pick(fits)
    if w is None:
        if any(is_symbol(d) for d in a.shape[:-1]):
            return None
        w = ctx.random_const(tuple(a.shape[:-1]) + (
            ctx.draw(st.integers(1, 4)),), a.dtype)
    rows = 1
    for d in a.shape[:-1]:
        rows *= N_MAX if is_symbol(d) else d
    limit = math.sqrt(ctx.bound / rows)
    a, w = ctx.bounded(a, limit), ctx.bounded(w, limit)
    y = ctx.b.matmul_sum(a, w)
    if not _fits(y.type):
        return None
    m = ctx.interval(a).mag * ctx.interval(w).mag * rows
    return ctx.record(y, -m, m)


@generator("scan")
def _gen_scan(ctx: GenContext, name: str):
    """c' = tanh(c * k + x_t) over a sequence (or a fixed count of steps);
    returns the stacked 0.5 * c' (the final carry is recorded too)."""
    c = ctx.pick(ctx.is_float)
    if c is None:
        return None

    def seq(v):
        if v.dtype != c.dtype or v.rank < 1 or is_symbol(v.shape[0]):
            return False
        try:
            return broadcast_shapes(v.shape[1:], c.shape) == c.shape
        except ValueError:
            return False

    xs = ctx.pick(seq) if ctx.draw(st.booleans()) else None
    length = xs.shape[0] if xs is not None else ctx.draw(st.integers(0, 3))
    if not _fits(TensorType((max(length, 1),) + c.shape, c.dtype)):
        return None
    k = ctx.choice([0.5, -0.8])
    body = Builder("step")
    pc = body.param("c", c.type)
    z = body.mul(pc, body.constant(k, c.dtype))
    if xs is not None:
        px = body.param("x", TensorType(xs.shape[1:], xs.dtype))
        z = body.add(z, px)
    else:
        z = body.add(z, body.constant(0.25, c.dtype))
    new = body.tanh(z)
    fn = body.build([new, body.mul(new, body.constant(0.5, c.dtype))])
    operands = [c] + ([xs] if xs is not None else [])
    last, ys = ctx.b.scan(*operands, body=fn, num_carry=1,
                          num_xs=int(xs is not None), length=length,
                          reverse=ctx.draw(st.booleans()))
    ctx.record(last, min(ctx.interval(c).lo, -1.0), max(ctx.interval(c).hi, 1.0))
    return ctx.record(ys, -0.5, 0.5)


@generator("softmax", ops=("softmax", "log_softmax"))
def _gen_softmax(ctx: GenContext, name: str):
    x = ctx.pick(lambda v: ctx.is_float(v) and v.rank >= 1)
    if x is None:
        return None
    axis = ctx.draw(st.integers(-x.rank, x.rank - 1))
    if name == "softmax":
        return ctx.record(ctx.b.softmax(x, axis=axis), 0.0, 1.0)
    x = ctx.bounded(x, ctx.bound / 4)
    i = ctx.interval(x)
    lo = (i.lo - i.hi) - math.log(_count(x.shape, (axis % x.rank,)))
    return ctx.record(ctx.b.log_softmax(x, axis=axis), lo, 0.0)


def _random_shape(ctx: GenContext, symbolic: bool) -> tuple:
    rank = ctx.draw(st.integers(0, 3))
    shape = [ctx.draw(st.integers(1, 5)) for _ in range(rank)]
    if symbolic and shape and ctx.draw(st.booleans()):
        shape[0] = "N"
    return tuple(shape)


@generator("source", ops=("constant", "zeros", "ones", "iota", "random_uniform",
                         "random_normal", "dim_size"))
def _gen_source(ctx: GenContext, kind: str):
    shape = _random_shape(ctx, symbolic=ctx.symbolic)
    if not _fits(TensorType(shape)):
        return None
    fdt = ctx.choice(ctx.float_dtypes)
    b = ctx.b
    if kind == "constant":
        if any(is_symbol(d) for d in shape):
            shape = ()
        return ctx.random_const(shape, ctx.choice(ctx.float_dtypes + ctx.int_dtypes))
    if kind in ("zeros", "ones"):
        dtype = ctx.choice(ctx.float_dtypes + ctx.int_dtypes)
        v = float(kind == "ones")
        return ctx.record(b.op(kind, shape=shape, dtype=dtype), v, v)
    if kind == "iota":
        if not shape:
            return None
        axis = ctx.draw(st.integers(0, len(shape) - 1))
        dtype = ctx.choice(ctx.int_dtypes + ctx.float_dtypes)
        d = shape[axis]
        return ctx.record(b.iota(shape=shape, axis=axis, dtype=dtype), 0,
                          (N_MAX if is_symbol(d) else d) - 1)
    if kind == "dim_size":
        x = ctx.pick(lambda v: v.rank >= 1)
        if x is None:
            return None
        axis = ctx.draw(st.integers(0, x.rank - 1))
        d = x.shape[axis]
        return ctx.record(b.dim_size(x, axis=axis, dtype=fdt), 1,
                          N_MAX if is_symbol(d) else d)
    counter = ctx.pick(lambda v: v.dtype.is_int and v.rank == 0)
    if counter is None:
        counter = ctx.const(ctx.draw(st.integers(0, 3)),
                            ctx.choice(ctx.int_dtypes or (int64,)))
    seed = ctx.draw(st.integers(0, 3))
    if kind == "random_uniform":
        return ctx.record(b.random_uniform(counter, shape=shape, seed=seed,
                                           dtype=fdt, low=-1.0, high=1.0), -1, 1)
    y = b.random_normal(counter, shape=shape, seed=seed, dtype=fdt)
    return ctx.record(y, -6.0, 6.0)


@generator("gather")
def _gen_gather(ctx: GenContext, name: str):
    x = ctx.pick(lambda v: any(not is_symbol(d) for d in v.shape))
    if x is None:
        return None
    axis = ctx.choice([i for i, d in enumerate(x.shape) if not is_symbol(d)])
    idx = ctx.pick(lambda v: v.dtype.is_int and v.rank <= 2)
    if idx is None:
        n = ctx.draw(st.integers(1, 4))
        # out-of-range indices on purpose: gather clamps them
        idx = ctx.random_const((n,), ctx.choice(ctx.int_dtypes or [int64]), -1,
                               x.shape[axis])
    y = ctx.b.gather(x, idx, axis=axis)
    if not _fits(y.type):
        return None
    return ctx.record(y, *_iv_args(ctx, x))


@generator("scatter_add")
def _gen_scatter_add(ctx: GenContext, name: str):
    x = ctx.pick(lambda v: ctx.is_numeric(v)
                 and any(not is_symbol(d) for d in v.shape))
    if x is None:
        return None
    axis = ctx.choice([i for i, d in enumerate(x.shape) if not is_symbol(d)])
    idx = ctx.pick(lambda v: v.dtype.is_int and v.rank <= 1)
    if idx is None or ctx.draw(st.booleans()):
        idx = ctx.random_const((ctx.draw(st.integers(1, 4)),),
                               ctx.choice(ctx.int_dtypes or (int64,)), -1,
                               x.shape[axis])
    shape = x.shape[:axis] + idx.shape + x.shape[axis + 1:]
    want = TensorType(shape, x.dtype)
    if not _fits(want):
        return None
    upd = ctx.pick(lambda v: v.type == want)
    if upd is None:
        if want.is_static:
            upd = ctx.random_const(shape, x.dtype)
        else:
            upd = ctx.record(ctx.b.ones(shape=shape, dtype=x.dtype), 1, 1)
    n = _size(idx.type)  # the most updates one position can receive
    x = ctx.bounded(x, ctx.bound / 2)
    upd = ctx.bounded(upd, ctx.bound / (2 * n))
    i, u = ctx.interval(x), ctx.interval(upd)
    y = ctx.b.scatter_add(x, idx, upd, axis=axis)
    return ctx.record(y, i.lo + n * min(0.0, u.lo), i.hi + n * max(0.0, u.hi))


@generator("one_hot")
def _gen_one_hot(ctx: GenContext, name: str):
    idx = ctx.pick(lambda v: v.dtype.is_int and v.rank <= 2)
    if idx is None:
        return None
    y = ctx.b.one_hot(idx, depth=ctx.draw(st.integers(1, 4)),
                      dtype=ctx.choice(ctx.float_dtypes))
    if not _fits(y.type):
        return None
    return ctx.record(y, 0.0, 1.0)


# --- convolution, pooling, resizing (ir/ops/conv.py) --------------------------


def _image(ctx: GenContext, extra=None) -> Value | None:
    """A float value shaped like a channels-last image: rank 3 or 4, static
    spatial and channel dims."""
    return ctx.pick(lambda v: ctx.is_float(v) and v.rank in (3, 4)
                    and not any(is_symbol(d) for d in v.shape[1:])
                    and 0 not in v.shape and (extra is None or extra(v)))


def _window_attrs(ctx: GenContext, sp: tuple, pools: bool) -> tuple:
    """(window, strides, pads) that fit the spatial dims `sp`."""
    window, strides, pads = [], [], []
    for i in sp:
        k = ctx.draw(st.integers(1, min(3, i + 1)))
        lo = ctx.draw(st.integers(0, min(1, k - 1) if pools else 1))
        hi = ctx.draw(st.integers(0, min(1, k - 1) if pools else 1))
        if i + lo + hi < k:
            lo, hi = 0, 0
            k = min(k, i)
        window.append(k)
        strides.append(ctx.draw(st.integers(1, 2)))
        pads.append((lo, hi))
    return tuple(window), tuple(strides), tuple(pads)


@generator("conv", ops=("conv", "conv_transpose", "conv_filter_grad"), weight=2)
def _gen_conv(ctx: GenContext, name: str):
    from graphkeras.ir.ops.conv import out_length

    x = _image(ctx)
    if x is None:
        return None
    sp, c = x.shape[1:-1], x.shape[-1]
    kernel, strides, pads = _window_attrs(ctx, sp, pools=False)
    attrs = {"strides": strides, "pads": pads, "dilation": (1,) * len(sp)}
    k = int(np.prod(kernel))
    limit = math.sqrt(ctx.bound / (k * c))
    x = ctx.bounded(x, limit)
    cout = ctx.draw(st.integers(1, 3))
    if name == "conv_transpose":
        # x is the gradient-side tensor; the result has spatial size `full`
        full = tuple(max((o - 1) * s + kk - lo - hi, 1) for o, s, kk, (lo, hi)
                     in zip(sp, strides, kernel, pads))
        if any(out_length(i, kk, s, 1, lo, hi) != o for i, kk, s, (lo, hi), o
               in zip(full, kernel, strides, pads, sp)):
            return None
        w = ctx.random_const(kernel + (cout, c), x.dtype)
        y = ctx.b.conv_transpose(x, w, shape=full, **attrs)
        m = ctx.interval(x).mag * k * c
        return ctx.record(y, -m, m)
    w = ctx.random_const(kernel + (c, cout), x.dtype)
    y = ctx.b.conv(x, w, **attrs)
    m = ctx.interval(x).mag * k * c
    if name == "conv":
        return ctx.record(y, -m, m)
    y = ctx.record(y, -m, m)
    g = ctx.bounded(y, math.sqrt(ctx.bound / max(_count(y.shape, range(
        y.rank - 1)), 1)) / max(ctx.interval(x).mag, 1.0))
    dw = ctx.b.conv_filter_grad(x, g, shape=kernel, **attrs)
    m2 = ctx.interval(x).mag * ctx.interval(g).mag * _count(
        g.shape, range(g.rank - 1))
    return ctx.record(dw, -m2, m2)


@generator("max_pool", ops=("max_pool", "max_pool_grad"), differentiable=False)
def _gen_max_pool(ctx: GenContext, name: str):
    x = _image(ctx)
    if x is None:
        return None
    window, strides, pads = _window_attrs(ctx, x.shape[1:-1], pools=True)
    a = {"window": window, "strides": strides, "pads": pads}
    i = ctx.interval(x)
    y = ctx.record(ctx.b.max_pool(x, **a), i.lo, i.hi)
    if name == "max_pool":
        return y
    # every output position routes to one input: at most prod(window) land
    # on the same element
    n = int(np.prod(window))
    g = ctx.bounded(y, ctx.bound / n)
    j = ctx.interval(g)
    return ctx.record(ctx.b.max_pool_grad(x, g, **a), min(0.0, n * j.lo),
                      max(0.0, n * j.hi))


@generator("avg_pool", ops=("avg_pool", "avg_pool_grad"))
def _gen_avg_pool(ctx: GenContext, name: str):
    x = _image(ctx)
    if x is None:
        return None
    window, strides, pads = _window_attrs(ctx, x.shape[1:-1], pools=True)
    a = {"window": window, "strides": strides, "pads": pads}
    i = ctx.interval(x)
    y = ctx.b.avg_pool(x, **a)
    if name == "avg_pool":
        return ctx.record(y, i.lo, i.hi)
    y = ctx.record(y, i.lo, i.hi)
    n = int(np.prod(window))  # a gradient element sums at most n shares
    g = ctx.bounded(y, ctx.bound / n)
    j = ctx.interval(g)
    dx = ctx.b.avg_pool_grad(g, shape=x.shape[1:-1], **a)
    return ctx.record(dx, min(0.0, n * j.lo), max(0.0, n * j.hi))


@generator("resize", ops=("resize", "resize_grad"))
def _gen_resize(ctx: GenContext, name: str):
    x = _image(ctx)
    if x is None:
        return None
    sp = x.shape[1:-1]
    shape = tuple(ctx.draw(st.integers(1, 5)) for _ in sp)
    method = ctx.choice(["bilinear", "nearest"])
    i = ctx.interval(x)
    if name == "resize":
        return ctx.record(ctx.b.resize(x, shape=shape, method=method), i.lo, i.hi)
    # each input element collects at most ceil(out / in) + 2 weights <= 1 per
    # axis from the outputs
    n = int(np.prod([-(-o // s) + 2 for o, s in zip(sp, shape)]))
    x = ctx.bounded(x, ctx.bound / n)
    j = ctx.interval(x)
    y = ctx.b.resize_grad(x, shape=shape, method=method)
    return ctx.record(y, min(0.0, n * j.lo), max(0.0, n * j.hi))


# --- the strategies ------------------------------------------------------------


def _param_type(draw, name: str, dtypes, symbolic: bool) -> TensorType:
    rank = draw(st.integers(0, 3))
    shape = [draw(st.integers(1, 5)) for _ in range(rank)]
    if symbolic and shape and draw(st.integers(0, 2)) > 0:
        shape[0] = "N"
    return TensorType(tuple(shape), draw(st.sampled_from(list(dtypes))))


@st.composite
def functions(draw, max_nodes: int = 12, *, max_params: int = 3,
              float_dtypes=(float32, float64), int_dtypes=(int32, int64),
              symbolic: bool = True, differentiable: bool = False,
              bound: float | None = None, ops=None) -> Function:
    """Random well-typed Functions (see the module docstring).

    Args:
        max_nodes: the most generator steps (a step adds one to four nodes).
        max_params: the most parameters (at least one float parameter).
        float_dtypes, int_dtypes: the dtypes parameters and casts may take.
        symbolic: whether parameters may have the batch symbol "N" as their
            first dimension.
        differentiable: leave out generators marked not differentiable,
            and make result 0 a float value, so that `differentiate(fn,
            float params)` works and finite differences apply.
        bound: |every value| <= bound (default 1e4; 1e2 if differentiable).
        ops: build only these ops (helper nodes aside), e.g. {"matmul"}.
    """
    if bound is None:
        bound = 1e2 if differentiable else 1e4
    float_dtypes = tuple(ir.as_dtype(d) for d in float_dtypes)
    int_dtypes = tuple(ir.as_dtype(d) for d in int_dtypes)
    b = Builder(draw(st.sampled_from(["main", "f", "train_step"])))
    ctx = GenContext(draw, b, float_dtypes=float_dtypes, int_dtypes=int_dtypes,
                     bound=bound, differentiable=differentiable)
    n_params = draw(st.integers(1, max_params))
    for k in range(n_params):
        kinds = float_dtypes if k == 0 or not int_dtypes else (
            float_dtypes * 3 + int_dtypes + ((bool_,) if not differentiable else ())
        )
        t = _param_type(draw, f"x{k}", kinds, symbolic)
        p = b.param(f"x{k}", t)
        ctx.symbolic |= "N" in t.shape
        if t.dtype.is_bool:
            ctx.record(p)
        elif t.dtype.is_int:
            ctx.record(p, -INT_RANGE, INT_RANGE)
        else:
            ctx.record(p, -FLOAT_RANGE, FLOAT_RANGE)

    table = [
        (name, op) for name, g in sorted(GENERATORS.items())
        if g.differentiable or not differentiable
        for op in g.ops if ops is None or op in ops
        for _ in range(g.weight)
    ]
    if not table:
        raise ValueError(f"no generator builds any of {ops}")
    for _ in range(draw(st.integers(1, max_nodes))):
        name, op = draw(st.sampled_from(table))
        mark = (len(b.nodes), len(ctx.values))
        with b.at(draw(st.sampled_from(LOCS))):
            v = GENERATORS[name].fn(ctx, op)
        if v is None or not _fits(v.type):
            # undo the step, helper nodes included (names stay used)
            del b.nodes[mark[0]:]
            for old in ctx.values[mark[1]:]:
                del ctx.iv[old.name]
            del ctx.values[mark[1]:]

    # result 0: the last value (float if differentiable); then up to two
    # more, any value (params and repeats included)
    vals = ctx.values
    if differentiable:
        first = [v for v in vals if v.dtype.is_float][-1]
    else:
        first = vals[-1]
    results = [first]
    for _ in range(draw(st.integers(0, 2))):
        results.append(vals[draw(st.integers(0, len(vals) - 1))])
    return b.build(results)


def _positive_params(fn: Function) -> set:
    """Params read directly by an op that needs a positive operand."""
    needs = {"log": (0,), "log1p": (0,), "sqrt": (0,), "rsqrt": (0,),
             "div": (1,), "pow": (0,)}
    names = {p.name for p in fn.params}
    out = set()
    for n in fn.nodes:
        for i in needs.get(n.op, ()):
            if n.inputs[i].name in names:
                out.add(n.inputs[i].name)
    return out


@st.composite
def inputs_for(draw, fn: Function, *, n_max: int = N_MAX) -> list[np.ndarray]:
    """Arguments for fn: floats in [-2, 2] ([0.5, 2] for a param that a log,
    sqrt, rsqrt, pow base or divisor reads directly), ints in [-4, 4],
    bools; each symbol bound to a size in 1..n_max. Element values come from
    a NumPy generator seeded by the draw (fast, and free of hypothesis'
    bias towards 0)."""
    symbols = sorted({d for p in fn.params for d in p.type.symbols})
    env = {s: draw(st.integers(1, n_max)) for s in symbols}
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    positive = _positive_params(fn)
    out = []
    for p in fn.params:
        shape = p.type.concrete_shape(env)
        dt = p.type.dtype
        if dt.is_bool:
            a = rng.random(shape) < 0.5
        elif dt.is_int:
            a = rng.integers(-INT_RANGE, INT_RANGE + 1, size=shape)
        elif p.name in positive:
            a = rng.uniform(0.5, FLOAT_RANGE, size=shape)
        else:
            a = rng.uniform(-FLOAT_RANGE, FLOAT_RANGE, size=shape)
        out.append(np.asarray(a, dtype=dt.np))
    return out


# --- checks ----------------------------------------------------------------------


def check_same_outputs(got: Function, want: Function, xs, *, rtol: float = 1e-5,
                       atol: float = 1e-6) -> None:
    """got and want give the same results on xs: same dtypes and shapes,
    equal ints and bools, floats within tolerance (NaNs in the same
    places)."""
    assert [p.type for p in got.params] == [p.type for p in want.params]
    a = ir.interpret(got, xs)
    b = ir.interpret(want, xs)
    assert len(a) == len(b), f"{len(a)} results vs {len(b)}"
    for i, (x, y) in enumerate(zip(a, b)):
        assert x.dtype == y.dtype and x.shape == y.shape, (
            f"result {i}: {x.dtype}{x.shape} vs {y.dtype}{y.shape}"
        )
        if x.dtype.kind == "f":
            np.testing.assert_allclose(x, y, rtol=rtol, atol=atol, equal_nan=True,
                                       err_msg=f"result {i}")
        else:
            np.testing.assert_array_equal(x, y, err_msg=f"result {i}")
