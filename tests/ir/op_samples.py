"""Hypothesis samples for every registered op: operand types, attrs, arrays.

The op-conformance tests (test_op_conformance.py) are driven by the op
registry: for every op in `ir.all_ops()` they look up a sampler here, and a
registered op without a sampler FAILS `test_every_registered_op_has_a_sample`.
Whoever adds an op adds its sampler in the same change.

FORMAT. A sampler is a function `(d: Draw) -> Sample`, registered with
`@sample("opname", ...)` (one sampler may serve several ops; it can read the
op's name from `d.op`). A plain unary or binary elementwise op only needs a
row in the UNARY or BINARY table below (dtype kinds, value range, points to
keep away from). Otherwise, for example:

    @sample("softplus")
    def _softplus(d: Draw) -> Sample:
        x = d.operand(d.shape(), d.dtype("float"), lo=-5.0, hi=5.0)
        return Sample([x])

    @sample("reduce_sum")
    def _reduce(d: Draw) -> Sample:
        x = d.operand(d.shape(), d.dtype("float int"))
        return Sample([x], {"axes": d.axes(x.type.rank), "keepdims": d.flag()})

- `Sample(inputs, attrs)`: `inputs` are `Operand(type, array)` pairs in
  operand order; `attrs` are passed to the Builder as given (they need not
  be canonical: negative axes, lists and defaults are fine and exercise the
  op's normalization).
- Types may hold the batch symbol "N"; `d.n` is its value in this sample
  and every array is drawn with N bound to it (`d.concrete(shape)`).
- `d.grad` is True when the sample feeds a gradient check. Then
  `d.dtype(...)` answers `d.float` (float64, or float32 for the float32
  gradient test) whenever a float is allowed, and
  `d.operand(..., away=points)` keeps values `margin` away from the given
  non-differentiable points (use `distinct=True` to avoid ties, e.g. for
  max). In forward mode values are often rounded to multiples of 0.5 to
  produce zeros, ties and .5 rounding cases on purpose.
- Shapes use sizes 1..7, 13 and 17 (size-1 dims and sizes that are not
  multiples of 8 or 16); `d.partner(shape)` gives a shape that broadcasts
  against `shape` (leading dims dropped, some dims set to 1).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from hypothesis import strategies as st

from graphkeras import ir
from graphkeras.ir import DType, TensorType

DIMS = (1, 2, 3, 4, 5, 7, 13, 17)
BATCH = (1, 3, 2, 5, 7)  # values of the symbol N
MAX_ELEMENTS = 1200  # per operand, to keep the suite fast
KINDS = {
    "float": (ir.float32, ir.float64),
    "int": (ir.int32, ir.int64),
    "bool": (ir.bool_,),
}


@dataclass
class Operand:
    type: TensorType
    array: np.ndarray


@dataclass
class Sample:
    inputs: list
    attrs: dict = field(default_factory=dict)
    env: dict = field(default_factory=dict)  # filled in by draw_sample

    @property
    def types(self) -> list:
        return [x.type for x in self.inputs]

    @property
    def arrays(self) -> list:
        return [x.array for x in self.inputs]


class Draw:
    """The drawing helpers a sampler uses (see the module docstring)."""

    def __init__(self, data, op: str, grad: bool, float_dtype=ir.float64):
        self.data = data
        self.op = op
        self.grad = grad
        self.float = float_dtype
        self.n = data.draw(st.sampled_from(BATCH), label="N")
        self.rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1)))

    def __call__(self, strategy, label: str | None = None):
        return self.data.draw(strategy, label=label)

    # --- small draws ---------------------------------------------------------

    def flag(self) -> bool:
        return self(st.booleans())

    def pick(self, choices):
        return self(st.sampled_from(list(choices)))

    def integer(self, lo: int, hi: int) -> int:
        return self(st.integers(lo, hi))

    def dtype(self, kinds: str = "float") -> DType:
        """A dtype of the given kinds; `self.float` in gradient mode."""
        if self.grad:
            if "float" not in kinds:
                raise ValueError(f"{self.op}: gradient samples need floats")
            return self.float
        return self.pick([t for k in kinds.split() for t in KINDS[k]])

    # --- shapes --------------------------------------------------------------

    def dims(self, min_rank: int = 0, max_rank: int = 3) -> tuple:
        rank = self.integer(min_rank, max_rank)
        out, total = [], 1
        for _ in range(rank):
            dim = self.pick(DIMS)
            if total * dim > MAX_ELEMENTS // max(self.n, 1):
                dim = 1
            total *= dim
            out.append(dim)
        return tuple(out)

    def shape(self, min_rank: int = 0, max_rank: int = 3,
              batch: bool | None = None) -> tuple:
        """A type-level shape; with `batch` (drawn when None) one dim is the
        symbol N, usually the first."""
        dims = list(self.dims(min_rank, max_rank))
        if batch is None:
            batch = bool(dims) and self.flag()
        if batch and dims:
            at = 0 if self.flag() or len(dims) == 1 else self.integer(0, len(dims) - 1)
            dims[at] = "N"
        return tuple(dims)

    def partner(self, shape: tuple) -> tuple:
        """A shape broadcasting against `shape`: a suffix of it with some
        dims replaced by 1."""
        drop = self.integer(0, len(shape)) if self.flag() else 0
        return tuple(
            1 if self(st.integers(0, 3)) == 0 else d for d in shape[drop:]
        )

    def axis(self, rank: int) -> int:
        """An axis in [-rank, rank), often negative."""
        return self.integer(-rank, rank - 1)

    def axes(self, rank: int):
        """None, or a (maybe negative, maybe list) subset of the axes."""
        if self.flag():
            return None
        chosen = [a for a in range(rank) if self.flag()]
        chosen = [a - rank if self.flag() else a for a in chosen]
        return list(chosen) if self.flag() else tuple(chosen)

    def concrete(self, shape: tuple) -> tuple:
        return tuple(self.n if ir.is_symbol(d) else d for d in shape)

    # --- values --------------------------------------------------------------

    def array(self, shape: tuple, dtype: DType, lo: float = -3.0,
              hi: float = 3.0, away=(), margin: float = 0.15,
              distinct: bool = False, ints: tuple = (-5, 5)) -> np.ndarray:
        shape = self.concrete(shape)
        rng = self.rng
        if dtype.is_bool:
            return rng.random(shape) < 0.5
        if dtype.is_int:
            return rng.integers(ints[0], ints[1] + 1, size=shape).astype(dtype.np)
        if distinct:
            n = int(np.prod(shape, dtype=np.int64))
            pos = rng.permutation(n) + 0.5 + rng.uniform(-0.25, 0.25, n)
            x = (lo + (hi - lo) * pos / max(n, 1)).reshape(shape)
        else:
            x = rng.uniform(lo, hi, shape)
        if not self.grad and not distinct and rng.random() < 0.5:
            x = np.clip(np.round(x * 2) / 2, lo, hi)  # zeros, ties, halves
        if self.grad:
            for p in away:
                near = np.abs(x - p) < margin
                x = np.where(near, p + np.where(x >= p, margin, -margin), x)
        return np.asarray(x, dtype.np)

    def operand(self, shape: tuple, dtype: DType, **kw) -> Operand:
        return Operand(TensorType(shape, dtype), self.array(shape, dtype, **kw))


SAMPLES: dict[str, Callable[[Draw], Sample]] = {}


def sample(*names: str):
    def register(fn):
        for name in names:
            if name in SAMPLES:
                raise ValueError(f"two samplers for op {name!r}")
            SAMPLES[name] = fn
        return fn

    return register


def draw_sample(data, op: str, grad: bool = False,
                float_dtype=ir.float64) -> Sample:
    """Draw one Sample of `op` (in gradient mode when `grad`, with floats of
    `float_dtype`)."""
    d = Draw(data, op, grad, float_dtype)
    s = SAMPLES[op](d)
    s.env = {"N": d.n}
    for i, x in enumerate(s.inputs):  # a sampler bug, not an op bug
        want = (d.concrete(x.type.shape), x.type.dtype.np)
        assert (x.array.shape, x.array.dtype) == want, (op, i, x.type)
    return s


# --- elementwise -------------------------------------------------------------

_POS = {"lo": 0.25, "hi": 4.0}
_INTEGERS = tuple(float(k) for k in range(-3, 4))
UNARY = {
    # op: (dtype kinds, value options)
    "neg": ("float int", {}),
    "exp": ("float", {}),
    "log": ("float", _POS),
    "log1p": ("float", {"lo": -0.75, "hi": 3.0}),
    "expm1": ("float", {}),
    "tanh": ("float", {}),
    "sigmoid": ("float", {"lo": -8.0, "hi": 8.0}),
    "relu": ("float int", {"away": (0.0,)}),
    "sqrt": ("float", _POS),
    "rsqrt": ("float", _POS),
    "abs": ("float int", {"away": (0.0,)}),
    "sign": ("float int", {"away": (0.0,)}),
    "square": ("float int", {}),
    "erf": ("float", {}),
    "floor": ("float", {"away": _INTEGERS, "margin": 0.2}),
    "round": ("float", {}),
    "logical_not": ("bool", {}),
    "bitwise_not": ("int", {}),
    "stop_gradient": ("float int bool", {}),
}


@sample(*UNARY)
def _unary(d: Draw) -> Sample:
    kinds, opts = UNARY[d.op]
    return Sample([d.operand(d.shape(), d.dtype(kinds), **opts)])


@sample("round_float16")
def _round_float16(d: Draw) -> Sample:
    # float32 only; magnitudes across float16's range and beyond it: its
    # subnormals (< 2^-14), its largest values and overflow (>= 65520),
    # ties, zeros of both signs, inf and nan
    x = d.operand(d.shape(), ir.float32)
    scale = d.pick((1.0, 2.0 ** -16, 2.0 ** -24, 1e-3, 3e4, 7e4))
    a = x.array * np.float32(scale)
    if not d.grad:
        flat = a.reshape(-1)
        specials = np.array([0.0, -0.0, np.inf, -np.inf, np.nan, 65504.0,
                             65519.996, 65520.0, 2.0 ** -25, 3 * 2.0 ** -25,
                             1 + 2.0 ** -11, 1 + 3 * 2.0 ** -11], np.float32)
        k = min(flat.size, len(specials))
        flat[:k] = specials[:k]
    return Sample([Operand(x.type, a.astype(np.float32))])


@sample("cast")
def _cast(d: Draw) -> Sample:
    kinds = "float" if d.grad else "float int bool"
    src = d.pick(KINDS["float"]) if d.grad else d.dtype(kinds)
    dst = d.pick([t for k in kinds.split() for t in KINDS[k]])
    x = d.operand(d.shape(), src)
    return Sample([x], {"dtype": d.pick([dst, dst.long_name, dst.name])})


@sample("clip")
def _clip(d: Draw) -> Sample:
    lo = d.pick((-2.0, -1.5, -1.0, 0.0))
    hi = d.pick((0.5, 1.0, 2.0, 2.5))
    x = d.operand(d.shape(), d.dtype("float int"), away=(lo, hi))
    return Sample([x], {"min": lo, "max": hi})


BINARY = {
    "add": ("float int", {}, {}),
    "sub": ("float int", {}, {}),
    "mul": ("float int", {}, {}),
    "div": ("float", {}, {"lo": 0.3, "hi": 3.0}),
    "pow": ("float", _POS, {"lo": -2.0, "hi": 2.0}),
    "maximum": ("float int", {}, {}),
    "minimum": ("float int", {}, {}),
    "equal": ("float int bool", {}, {}),
    "not_equal": ("float int bool", {}, {}),
    "less": ("float int bool", {}, {}),
    "less_equal": ("float int bool", {}, {}),
    "greater": ("float int bool", {}, {}),
    "greater_equal": ("float int bool", {}, {}),
    "logical_and": ("bool", {}, {}),
    "logical_or": ("bool", {}, {}),
    "bitwise_and": ("int", {"ints": (-200, 200)}, {"ints": (-200, 200)}),
    "bitwise_or": ("int", {"ints": (-200, 200)}, {"ints": (-200, 200)}),
    "bitwise_xor": ("int", {"ints": (-200, 200)}, {"ints": (-200, 200)}),
    # counts past the width and negative ones included (NumPy: 0 or -1)
    "left_shift": ("int", {"ints": (-300, 300)}, {"ints": (-2, 70)}),
    "right_shift": ("int", {"ints": (-300, 300)}, {"ints": (-2, 70)}),
}


@sample(*BINARY)
def _binary(d: Draw) -> Sample:
    kinds, opts_a, opts_b = BINARY[d.op]
    dtype = d.dtype(kinds)
    base = d.shape()
    sa, sb = d.partner(base), d.partner(base)
    a = d.operand(sa, dtype, **opts_a)
    b = d.operand(sb, dtype, **opts_b)
    if d.op == "div" and dtype.is_float:
        b.array = b.array * np.where(d.rng.random(b.array.shape) < 0.5, -1, 1)
        b.array = b.array.astype(dtype.np)
    if d.grad and d.op in ("maximum", "minimum"):
        # a on integers, b on half-integers: never within 0.3 of each other
        a.array = (np.floor(a.array) + d.rng.uniform(-0.1, 0.1, a.array.shape)
                   ).astype(dtype.np)
        b.array = (np.floor(b.array) + 0.5
                   + d.rng.uniform(-0.1, 0.1, b.array.shape)).astype(dtype.np)
    return Sample([a, b])


@sample("where")
def _where(d: Draw) -> Sample:
    dtype = d.dtype("float int bool")
    base = d.shape()
    c = d.operand(d.partner(base), ir.bool_)
    return Sample([c, d.operand(d.partner(base), dtype),
                   d.operand(d.partner(base), dtype)])


# --- indexing ----------------------------------------------------------------


def _static_axis(d: Draw, shape: tuple) -> int:
    static = [i for i, s in enumerate(shape) if not ir.is_symbol(s)]
    i = d.pick(static)
    return i - len(shape) if d.flag() else i


def _indices(d: Draw, dim: int, batch_ok: bool = True) -> Operand:
    shape = d.shape(0, 2, batch=None if batch_ok else False)
    dtype = d.pick(KINDS["int"])
    return d.operand(shape, dtype, ints=(-1, dim) if d.flag() else (0, dim - 1))


@sample("gather")
def _gather(d: Draw) -> Sample:
    xshape = d.shape(1, 3)
    if all(ir.is_symbol(s) for s in xshape):
        xshape = xshape + (d.pick(DIMS[:5]),)
    axis = _static_axis(d, xshape)
    x = d.operand(xshape, d.dtype("float int"))
    batch_ok = "N" not in xshape
    idx = _indices(d, xshape[axis], batch_ok)
    return Sample([x, idx], {"axis": axis})


@sample("scatter_add")
def _scatter_add(d: Draw) -> Sample:
    xshape = d.shape(1, 3)
    if all(ir.is_symbol(s) for s in xshape):
        xshape = xshape + (d.pick(DIMS[:5]),)
    axis = _static_axis(d, xshape)
    a = axis % len(xshape)
    dtype = d.dtype("float int")
    idx = _indices(d, xshape[a], batch_ok="N" not in xshape)
    ushape = xshape[:a] + idx.type.shape + xshape[a + 1:]
    return Sample([d.operand(xshape, dtype), idx, d.operand(ushape, dtype)],
                  {"axis": axis})


@sample("one_hot")
def _one_hot(d: Draw) -> Sample:
    depth = d.integer(1, 6)
    idx = d.operand(d.shape(0, 2), d.pick(KINDS["int"]), ints=(-1, depth))
    attrs = {"depth": depth}
    if d.flag():
        attrs["axis"] = d.axis(idx.type.rank + 1)
    if d.flag():
        attrs["dtype"] = d.pick([t for ts in KINDS.values() for t in ts])
    if d.flag():
        attrs["on_value"], attrs["off_value"] = d.pick(((2.0, -1.0), (1, 0)))
    return Sample([idx], attrs)


# --- linear algebra ----------------------------------------------------------


@sample("matmul")
def _matmul(d: Draw) -> Sample:
    dtype = d.dtype("float int")
    batch = d.shape(0, 2)
    m = "N" if "N" not in batch and d.flag() else d.pick(DIMS[:6])
    k, n = d.pick(DIMS[:7]), d.pick(DIMS[:7])
    ta, tb = d.flag(), d.flag()
    a = d.partner(batch) + ((k, m) if ta else (m, k))
    b = d.partner(batch) + ((n, k) if tb else (k, n))
    attrs = {}
    if ta or d.flag():
        attrs["transpose_a"] = ta
    if tb or d.flag():
        attrs["transpose_b"] = tb
    return Sample([d.operand(a, dtype), d.operand(b, dtype)], attrs)


@sample("matmul_sum")
def _matmul_sum(d: Draw) -> Sample:
    dtype = d.dtype("float int")
    batch = d.shape(0, 2)
    k = "N" if "N" not in batch and d.flag() else d.pick(DIMS[:6])
    m, n = d.pick(DIMS[:7]), d.pick(DIMS[:7])
    return Sample([d.operand(batch + (k, m), dtype),
                   d.operand(batch + (k, n), dtype)])


# --- softmax and reductions --------------------------------------------------


@sample("softmax", "log_softmax")
def _softmax(d: Draw) -> Sample:
    x = d.operand(d.shape(1, 3), d.dtype("float"), lo=-6.0, hi=6.0)
    return Sample([x], {"axis": d.axis(x.type.rank)} if d.flag() else {})


@sample("reduce_sum", "reduce_mean", "reduce_max", "reduce_min")
def _reduce(d: Draw) -> Sample:
    kinds = "float" if d.op == "reduce_mean" else "float int"
    extreme = d.op in ("reduce_max", "reduce_min")
    x = d.operand(d.shape(), d.dtype(kinds), distinct=d.grad and extreme)
    attrs = {}
    if d.flag():
        attrs["axes"] = d.axes(x.type.rank)
    if d.flag():
        attrs["keepdims"] = d.flag()
    return Sample([x], attrs)


@sample("argmax", "argmin")
def _arg(d: Draw) -> Sample:
    x = d.operand(d.shape(1, 3), d.dtype("float int"))
    attrs = {"axis": d.axis(x.type.rank), "keepdims": d.flag()}
    if d.flag():
        attrs["dtype"] = d.pick(KINDS["int"])
    return Sample([x], attrs)


# --- shape ops ---------------------------------------------------------------


def _factor(n: int) -> list:
    out, p = [], 2
    while n > 1:
        while n % p == 0:
            out.append(p)
            n //= p
        p += 1
    return out


@sample("reshape")
def _reshape(d: Draw) -> Sample:
    shape = d.shape()
    x = d.operand(shape, d.dtype("float int bool"))
    primes = _factor(int(np.prod([s for s in shape if not ir.is_symbol(s)])))
    primes = [primes[i] for i in d(st.permutations(range(len(primes))))]
    new: list = []
    for p in primes:
        if new and d.flag():
            new[-1] *= p
        else:
            new.append(p)
    for _ in range(d.integer(0, 2)):
        new.insert(d.integer(0, len(new)), 1)
    if "N" in shape:
        new.insert(d.integer(0, len(new)), "N")
    return Sample([x], {"shape": tuple(new) if d.flag() else list(new)})


@sample("transpose")
def _transpose(d: Draw) -> Sample:
    x = d.operand(d.shape(0, 4), d.dtype("float int bool"))
    return Sample([x], {"perm": tuple(d(st.permutations(range(x.type.rank))))})


@sample("slice")
def _slice(d: Draw) -> Sample:
    x = d.operand(d.shape(1, 3), d.dtype("float int bool"))
    starts, stops, steps = [], [], []
    for s in x.type.shape:
        if ir.is_symbol(s):
            starts.append(0)
            stops.append(None)
            steps.append(1)
            continue
        step = d.pick((1, 1, 2, 3, -1, -2))
        if d.integer(0, 7) == 0:  # anything, often empty or out of range
            start, stop = d.integer(-s - 1, s + 1), d.integer(-s - 1, s + 1)
        elif step > 0:  # non-empty, spelled in varied ways
            start = d.integer(0, s - 1)
            stop = d.integer(start + 1, s)
            stop = None if stop == s and d.flag() else stop
        else:
            start = d.integer(0, s - 1)
            stop = d.integer(-1, start - 1)
            stop = None if stop == -1 else stop
        if d.flag():
            start -= s  # the same index counted from the end
        starts.append(start)
        stops.append(stop)
        steps.append(step)
    return Sample([x], {"starts": starts, "stops": stops, "steps": steps})


@sample("concat")
def _concat(d: Draw) -> Sample:
    shape = d.shape(1, 3)
    if all(ir.is_symbol(s) for s in shape):
        shape = shape + (d.pick(DIMS[:5]),)
    axis = _static_axis(d, shape)
    dtype = d.dtype("float int bool")
    xs = []
    for _ in range(d.integer(1, 3)):
        part = list(shape)
        part[axis] = d.pick(DIMS[:5])
        xs.append(d.operand(tuple(part), dtype))
    return Sample(xs, {"axis": axis} if axis or d.flag() else {})


@sample("pad")
def _pad(d: Draw) -> Sample:
    x = d.operand(d.shape(0, 3), d.dtype("float int"))
    pads = [
        (0, 0) if ir.is_symbol(s) else (d.integer(0, 2), d.integer(0, 2))
        for s in x.type.shape
    ]
    attrs = {"pads": pads}
    if d.flag():
        attrs["value"] = d.pick((1.5, -2.0, 0))
    return Sample([x], attrs)


@sample("broadcast_to")
def _broadcast_to(d: Draw) -> Sample:
    target = d.shape()
    x = d.operand(d.partner(target), d.dtype("float int bool"))
    return Sample([x], {"shape": target})


# --- sources -----------------------------------------------------------------


@sample("constant")
def _constant(d: Draw) -> Sample:
    dtype = d.dtype("float int bool")
    value = d.array(d.dims(0, 2), dtype)
    if value.ndim == 0 and d.flag():
        value = value.item()  # a Python scalar (bool, int or float)
    return Sample([], {"value": value})


@sample("zeros", "ones")
def _fill(d: Draw) -> Sample:
    attrs = {"shape": d.shape()}
    if d.flag():
        attrs["dtype"] = d.dtype("float int bool")
    return Sample([], attrs)


@sample("iota")
def _iota(d: Draw) -> Sample:
    shape = d.shape(1, 3)
    attrs = {"shape": shape, "axis": d.axis(len(shape))}
    if d.flag():
        attrs["dtype"] = d.dtype("float int")
    return Sample([], attrs)


@sample("dim_size")
def _dim_size(d: Draw) -> Sample:
    x = d.operand(d.shape(1, 3), d.dtype("float int bool"))
    attrs = {"axis": d.axis(x.type.rank)}
    if d.flag():
        attrs["dtype"] = d.dtype("float int")
    return Sample([x], attrs)


@sample("random_uniform", "random_normal")
def _random(d: Draw) -> Sample:
    counter = d.operand((), d.pick(KINDS["int"]), ints=(0, 1000))
    attrs = {"shape": d.shape(), "seed": d.integer(0, 2**31 - 1)}
    if d.flag():
        attrs["dtype"] = d.dtype("float")
    if d.flag():
        names = ("low", "high") if d.op == "random_uniform" else ("mean", "stddev")
        attrs[names[0]], attrs[names[1]] = d.pick(((-2.0, 3.0), (0.5, 0.25)))
    if d.flag():  # a window of a larger draw, numbered from the offset
        return Sample([counter, d.operand((), d.pick(KINDS["int"]),
                                          ints=(0, 1000))], attrs)
    return Sample([counter], attrs)


@sample("all_reduce_sum")
def _all_reduce_sum(d: Draw) -> Sample:
    # a descriptor of one rank (all zeros): the op is the identity here;
    # tests/distribution runs it across ranks under mpiexec
    dt = d.float if d.grad else d.pick((ir.float32, ir.float64))
    x = d.operand(d.shape(), dt)
    comm = d.operand((8,), ir.int64, ints=(0, 0))
    return Sample([x, comm])


def all_sampled_ops() -> list:
    return sorted(SAMPLES)


# --- meta ops ----------------------------------------------------------------


@sample("fused")
def _fused(d: Draw) -> Sample:
    dtype = d.dtype("float")
    base = d.shape()
    x = d.operand(d.partner(base), dtype)
    y = d.operand(d.partner(base), dtype)
    b = ir.Builder(d.pick(("kernel", "k0")))
    px, py = b.param("a", x.type), b.param("b", y.type)
    s = b.add(px, py)
    results = [b.relu(s)]
    if d.flag():
        results.append(b.mul(b.tanh(s), px))
    return Sample([x, y], {"body": b.build(results)})


# --- loops -------------------------------------------------------------------


@sample("scan")
def _scan(d: Draw) -> Sample:
    """A small recurrent body: carries of shape S (maybe with N), up to two
    sequences of slices S, an elementwise constant and, for rank-2 S, a
    matrix constant used through matmul (as an RNN's recurrent kernel)."""
    dtype = d.dtype("float")
    s = d.shape(1, 2)
    if s[-1] == "N":
        s = s + (d.pick(DIMS[:4]),)
    length = d.pick((0, 1, 2, 3, 4, 5))
    nc, nx = d.integer(1, 2), d.integer(0, 2)
    use_matrix = len(s) == 2 and d.flag()
    carries = [d.operand(s, dtype, lo=-1.0, hi=1.0) for _ in range(nc)]
    xs = [d.operand((length,) + s, dtype, lo=-1.0, hi=1.0) for _ in range(nx)]
    consts = [d.operand(d.partner(s), dtype, lo=-1.5, hi=1.5)]
    if use_matrix:
        consts.append(d.operand((s[-1], s[-1]), dtype, lo=-0.5, hi=0.5))
    b = ir.Builder(d.pick(("step", "cell")))
    pc = [b.param(f"c{i}", x.type) for i, x in enumerate(carries)]
    px = [b.param(f"x{j}", TensorType(s, dtype)) for j in range(nx)]
    pk = [b.param(f"k{m}", x.type) for m, x in enumerate(consts)]
    z = b.mul(pc[0], pk[0])
    for x in px:
        z = b.add(z, x)
    if use_matrix:
        z = b.add(z, b.matmul(pc[-1], pk[1]))
    new = [b.tanh(z)]
    if nc == 2:
        new.append(b.add(b.mul(pc[1], b.sigmoid(z)), b.mul(new[0], pc[0])))
    ys = []
    if d.flag():
        ys.append(new[0])  # a carry also emitted as an output
    if d.flag():
        ys.append(b.mul(z, pc[-1]))
    body = b.build(new + ys)
    attrs = {"body": body, "num_carry": nc, "length": length}
    if nx or d.flag():
        attrs["num_xs"] = nx
    if d.flag():
        attrs["reverse"] = d.flag()
    return Sample(carries + xs + consts, attrs)


# --- convolution, pooling, resizing (ir/ops/conv.py) --------------------------


def _spatial_axes(d: Draw, D: int, fits) -> list:
    """Per spatial axis (input size, pads) for a window that `fits(i, lo,
    hi)`; "valid", Keras's "same" and explicit pads are drawn."""
    axes = []
    for k_eff, s in fits:
        mode = d.pick(("valid", "same", "explicit"))
        i = d.integer(1, {1: 9, 2: 6, 3: 4}[D])
        if mode == "valid":
            lo = hi = 0
            i = max(i, k_eff)
        elif mode == "same":
            total = max((-(-i // s) - 1) * s + k_eff - i, 0)
            lo, hi = total // 2, total - total // 2
        else:
            lo, hi = d.integer(0, 2), d.integer(0, 2)
            i = max(i, k_eff - lo - hi, 1)
        axes.append((i, lo, hi))
    return axes


def _exact_f32(d: Draw, *xs: Operand) -> None:
    """float32 values on a 1/4 grid in forward samples: the products and
    sums of a convolution are then exact, so the compiled kernel (another
    summation order) must agree bit for bit with the reference."""
    for x in xs:
        if not d.grad and x.type.dtype == ir.float32:
            x.array = (np.round(x.array * 4) / 4).astype(np.float32)


@sample("conv", "conv_transpose", "conv_filter_grad")
def _conv(d: Draw) -> Sample:
    from graphkeras.ir.ops.conv import out_length

    D = d.pick((1, 1, 2, 2, 3))
    dtype = d.dtype("float")
    groups = d.pick((1, 1, 2, 3))
    cig, cog = d.integer(1, 3), d.integer(1, 3)
    kernel = [d.integer(1, 3) for _ in range(D)]
    strides = [d.pick((1, 1, 2, 3)) for _ in range(D)]
    dilation = [1 if s > 1 else d.pick((1, 1, 2)) for s in strides]
    eff = [(k - 1) * dl + 1 for k, dl in zip(kernel, dilation)]
    axes = _spatial_axes(d, D, list(zip(eff, strides)))
    in_sp = [i for i, _, _ in axes]
    pads = [(lo, hi) for _, lo, hi in axes]
    out_sp = [out_length(i, k, s, dl, lo, hi) for i, k, s, dl, (lo, hi)
              in zip(in_sp, kernel, strides, dilation, pads)]
    batch = "N" if d.flag() else d.pick((1, 2))
    x = d.operand((batch, *in_sp, groups * cig), dtype)
    w = d.operand((*kernel, cig, groups * cog), dtype)
    g = d.operand((batch, *out_sp, groups * cog), dtype)
    _exact_f32(d, x, w, g)
    attrs = {"strides": strides, "pads": pads, "dilation": dilation}
    if groups > 1 or d.flag():
        attrs["groups"] = groups
    if d.op == "conv":
        return Sample([x, w], attrs)
    if d.op == "conv_transpose":
        return Sample([g, w], {**attrs, "shape": in_sp})
    return Sample([x, g], {**attrs, "shape": kernel})


@sample("max_pool", "max_pool_grad", "avg_pool", "avg_pool_grad")
def _pool(d: Draw) -> Sample:
    from graphkeras.ir.ops.conv import out_length

    D = d.pick((1, 2, 2, 3))
    dtype = d.dtype("float")
    window = [d.integer(1, 3) for _ in range(D)]
    strides = [d.pick((1, 2, 3)) for _ in range(D)]
    axes = _spatial_axes(d, D, list(zip(window, strides)))
    in_sp = [i for i, _, _ in axes]
    # pooling pads stay below the window (every window holds an element)
    pads = [(min(lo, k - 1), min(hi, k - 1)) for (_, lo, hi), k in zip(axes, window)]
    in_sp = [max(i, k - lo - hi) for i, k, (lo, hi) in zip(in_sp, window, pads)]
    out_sp = [out_length(i, k, s, 1, lo, hi) for i, k, s, (lo, hi)
              in zip(in_sp, window, strides, pads)]
    batch = "N" if d.flag() else d.pick((1, 2))
    c = d.integer(1, 4)
    extreme = d.op.startswith("max")
    x = d.operand((batch, *in_sp, c), dtype, distinct=d.grad and extreme)
    g = d.operand((batch, *out_sp, c), dtype)
    attrs = {"window": window, "strides": strides, "pads": pads}
    if d.op in ("max_pool", "avg_pool"):
        return Sample([x], attrs)
    if d.op == "max_pool_grad":
        return Sample([x, g], attrs)
    return Sample([g], {**attrs, "shape": in_sp})


@sample("resize", "resize_grad")
def _resize(d: Draw) -> Sample:
    D = d.pick((1, 2, 2, 3))
    dtype = d.dtype("float")
    in_sp = [d.integer(1, 6 if D < 3 else 3) for _ in range(D)]
    out_sp = [d.integer(1, 8 if D < 3 else 4) for _ in range(D)]
    batch = "N" if d.flag() else d.pick((1, 2))
    c = d.integer(1, 3)
    attrs = {"method": d.pick(("bilinear", "nearest"))} if d.flag() else {}
    if d.op == "resize":
        return Sample([d.operand((batch, *in_sp, c), dtype)],
                      {**attrs, "shape": out_sp})
    return Sample([d.operand((batch, *out_sp, c), dtype)],
                  {**attrs, "shape": in_sp})
