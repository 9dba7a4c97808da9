"""Export samples: for every registered op, small programs that use it.

FORMAT. `SAMPLES[opname]` is a list of `Case`s. A Case names its params
(name, shape, dtype), a `body(b, *params)` that builds the result(s) with
an `ir.Builder`, and optionally a generator per param (`gens`) for values
in the op's domain. The symbol "N" in a shape is the batch: the ONNX tests
run every case that has it at batch sizes 1, 7 and 64. Any other symbol is
bound to 3. An op that cannot be exported lists `UNEXPORTABLE` cases
instead: the exporter must refuse them with a clear error.

Adding an op: add its cases here in the same change as its ONNX converter
(graphkeras/export/onnx.py); test_every_op_has_an_export_sample fails until
both exist.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from graphkeras import ir

F32, F64, I32, I64, B = "f32", "f64", "i32", "i64", "bool"


@dataclass
class Case:
    params: list  # [(name, shape, dtype)]
    body: Callable  # body(b, *param_values) -> Value or list of Values
    gens: dict = field(default_factory=dict)  # name -> gen(rng, shape, dtype)
    label: str = ""
    tol: tuple | None = None  # (rtol, atol) instead of the dtype's default

    def build(self, name: str = "sample") -> ir.Function:
        b = ir.Builder(name)
        vals = [b.param(n, shape, dtype) for n, shape, dtype in self.params]
        with b.at("layer_under_test"):
            out = self.body(b, *vals)
        return b.build(list(out) if isinstance(out, (list, tuple)) else [out])

    @property
    def has_batch(self) -> bool:
        return any("N" in shape for _, shape, _ in self.params)

    def inputs(self, batch: int, seed: int = 0) -> list:
        rng = np.random.default_rng(seed)
        out = []
        for n, shape, dtype in self.params:
            conc = tuple(batch if d == "N" else 3 if isinstance(d, str) else d
                         for d in shape)
            gen = self.gens.get(n, default_gen)
            out.append(np.asarray(gen(rng, conc, np.dtype(ir.as_dtype(dtype).np))))
        return out


UNEXPORTABLE = "unexportable"


def default_gen(rng, shape, dtype):
    if dtype == np.bool_:
        return rng.random(shape) < 0.5
    if dtype.kind == "i":
        return rng.integers(-4, 9, size=shape).astype(dtype)
    return rng.normal(size=shape).astype(dtype)


def uniform(lo, hi):
    return lambda rng, shape, dtype: rng.uniform(lo, hi, shape).astype(dtype)


def halves(rng, shape, dtype):
    """Multiples of 0.5: ties for compare/max, .5 cases for round."""
    return (rng.integers(-6, 7, size=shape) / 2).astype(dtype)


def tiny_and_normal(rng, shape, dtype):
    """Values from 1e-9 to 3 in magnitude, both signs (log1p, expm1)."""
    mag = 10.0 ** rng.uniform(-9, 0.5, shape)
    return (mag * rng.choice([-1, 1], size=shape)).astype(dtype)


def tiny_above_minus_one(rng, shape, dtype):
    """Like tiny_and_normal, but > -0.9 (the domain of log1p)."""
    x = tiny_and_normal(rng, shape, dtype)
    return np.maximum(x, dtype.type(-0.9))


def ints(lo, hi):
    return lambda rng, shape, dtype: rng.integers(lo, hi, size=shape).astype(dtype)


def op(name, **attrs):
    """A body applying one op to all params."""
    return lambda b, *xs: b.op(name, *xs, **attrs)


X = [("x", ("N", 3, 5), F32)]
SAMPLES: dict[str, list] = {}


def add(opname, *cases):
    SAMPLES.setdefault(opname, []).extend(cases)


# --- elementwise ------------------------------------------------------------

for _name in ("exp", "tanh", "sigmoid", "erf"):
    add(_name, Case(X, op(_name)), Case([("x", ("N", 4), F64)], op(_name)))
# onnxruntime has no double Erf: the exporter computes it in float32
SAMPLES["erf"][1].tol = (3e-7, 1e-7)
for _name in ("log", "sqrt", "rsqrt"):
    add(_name, Case(X, op(_name), {"x": uniform(0.05, 9.0)}),
        Case([("x", (4, "N"), F64)], op(_name), {"x": uniform(0.05, 9.0)}))
add("log1p",
    Case(X, op("log1p"), {"x": tiny_above_minus_one}, tol=(1e-5, 0.0)),
    Case([("x", ("N", 6), F64)], op("log1p"), {"x": uniform(-0.99, 5.0)}))
add("expm1", Case(X, op("expm1"), {"x": tiny_and_normal}, tol=(1e-5, 0.0)),
    Case([("x", ("N", 6), F64)], op("expm1"), {"x": uniform(-30.0, 5.0)}))
add("floor", Case(X, op("floor"), {"x": halves}))
add("round", Case(X, op("round"), {"x": halves}),
    Case([("x", ("N", 7), F64)], op("round"), {"x": uniform(-5, 5)}))


def float16_edges(rng, shape, dtype):
    """Magnitudes over float16's range: its subnormals, ties, overflow."""
    scale = rng.choice([2.0 ** -20, 1e-3, 1.0, 3e4, 7e4], size=shape)
    return (rng.normal(size=shape) * scale).astype(dtype)


add("round_float16", Case(X, op("round_float16"), {"x": float16_edges}))
for _name in ("neg", "relu", "abs", "sign", "square"):
    add(_name, Case(X, op(_name), {"x": halves}),
        Case([("x", ("N", 5), I32)], op(_name)),
        Case([("x", (2, "N"), I64)], op(_name)))
add("logical_not", Case([("x", ("N", 5), B)], op("logical_not")))
add("stop_gradient", Case(X, op("stop_gradient")),
    Case([("x", ("N", 2), B)], op("stop_gradient")))
add("cast",
    Case(X, op("cast", dtype=I32), {"x": lambda r, s, d: r.uniform(-9, 9, s)
                                    .astype(d)}, "f32->i32 truncates"),
    Case(X, op("cast", dtype=B), {"x": halves}, "f32->bool"),
    Case([("x", ("N", 4), I64)], op("cast", dtype=F32)),
    Case([("x", ("N", 4), B)], op("cast", dtype=F64)),
    Case([("x", ("N", 4), F64)], op("cast", dtype=F32)))
add("clip",
    Case(X, op("clip", min=-0.5, max=1.25)),
    Case(X, op("clip", min=-np.inf, max=0.5), label="open below"),
    Case(X, op("clip", min=0.0, max=np.inf), label="open above"),
    Case([("x", ("N", 5), I32)], op("clip", min=-1.5, max=3.7), label="int"),
    # NOTE: an integer clip open above (max=inf) is not sampled: the
    # reference casts inf to int64 as INT_MIN (reported to the lead).
    Case([("x", ("N", 5), I64)], op("clip", min=-np.inf, max=2.0)))

_BB = [("a", ("N", 1, 5), F32), ("b", (3, 1), F32)]  # broadcast both ways
for _name in ("add", "sub", "mul", "maximum", "minimum"):
    add(_name, Case(_BB, op(_name), {"a": halves, "b": halves}),
        Case([("a", ("N", 4), I32), ("b", (4,), I32)], op(_name)),
        Case([("a", (2, "N"), I64), ("b", (2, 1), I64)], op(_name)))
add("div", Case(_BB, op("div"), {"b": uniform(0.5, 3.0)}),
    Case([("a", ("N", 3), F64), ("b", ("N", 1), F64)], op("div"),
         {"b": uniform(-3.0, -0.5)}))
add("pow", Case(_BB, op("pow"), {"a": uniform(0.1, 3.0)}),
    Case([("a", ("N", 3), F64), ("b", (), F64)], op("pow"),
         {"a": uniform(0.1, 3.0)}))
for _name in ("equal", "not_equal", "less", "less_equal", "greater",
              "greater_equal"):
    add(_name, Case(_BB, op(_name), {"a": halves, "b": halves}),
        Case([("a", ("N", 4), I32), ("b", (4,), I32)], op(_name),
             {"a": ints(0, 3), "b": ints(0, 3)}),
        Case([("a", ("N", 4), B), ("b", ("N", 1), B)], op(_name)))
for _name in ("logical_and", "logical_or"):
    add(_name, Case([("a", ("N", 4), B), ("b", (4,), B)], op(_name)))
for _name in ("bitwise_and", "bitwise_or", "bitwise_xor"):
    add(_name, Case([("a", ("N", 4), I32), ("b", (4,), I32)], op(_name),
                    {"a": ints(-300, 300), "b": ints(-300, 300)}),
        Case([("a", ("N", 3), I64), ("b", ("N", 1), I64)], op(_name)))
for _name in ("left_shift", "right_shift"):
    # shift counts past the width and negative ones: NumPy gives 0 (or -1)
    add(_name, Case([("a", ("N", 6), I32), ("b", (6,), I32)], op(_name),
                    {"a": ints(-1000, 1000), "b": ints(-3, 40)}),
        Case([("a", ("N", 3), I64), ("b", ("N", 3), I64)], op(_name),
             {"b": ints(-2, 70)}))
add("bitwise_not", Case([("x", ("N", 4), I32)], op("bitwise_not")),
    Case([("x", ("N", 2), I64)], op("bitwise_not")))
add("where",
    Case([("c", ("N", 1), B), ("a", ("N", 4), F32), ("b", (4,), F32)],
         op("where")),
    Case([("c", (5,), B), ("a", ("N", 5), I64), ("b", (), I64)], op("where")),
    Case([("c", ("N", 2), B), ("a", ("N", 2), B), ("b", (1,), B)],
         op("where")))

# --- indexing ---------------------------------------------------------------

_OUT = ints(-3, 9)  # indices out of range both ways: they clamp
add("gather",
    Case([("x", (6, 4), F32), ("i", ("N", 3), I32)], op("gather", axis=0),
         {"i": _OUT}),
    Case([("x", ("N", 6), F32), ("i", (2, 2), I64)], op("gather", axis=1),
         {"i": _OUT}),
    Case([("x", (5, 2), I64), ("i", (), I32)], op("gather", axis=0),
         {"i": _OUT}))
add("scatter_add",
    Case([("x", (5, 3), F32), ("i", ("N",), I32), ("u", ("N", 3), F32)],
         op("scatter_add", axis=0), {"i": ints(-2, 7)},
         "embedding gradient: repeated and out-of-range rows"),
    Case([("x", ("N", 6), F32), ("i", (2, 2), I64), ("u", ("N", 2, 2), F32)],
         op("scatter_add", axis=1), {"i": ints(-2, 8)}),
    Case([("x", (3, 4, 2), I32), ("i", (), I32), ("u", (3, 2), I32)],
         op("scatter_add", axis=1), {"i": ints(0, 4)}),
    Case([("x", (4, 3), F32), ("i", (2, "N"), I32), ("u", (2, "N", 3), F32)],
         op("scatter_add", axis=0), {"i": ints(-1, 5)}),
    Case([("x", ("N", 3, 5), F32), ("i", (4,), I32), ("u", ("N", 3, 4), F32)],
         op("scatter_add", axis=2), {"i": ints(0, 5)},
         "axis 2: the moves are rotations"))
add("one_hot",
    Case([("i", ("N",), I32)], op("one_hot", depth=4), {"i": ints(-2, 6)}),
    Case([("i", ("N", 2), I64)],
         op("one_hot", depth=3, axis=0, dtype=I32, on_value=5.0,
            off_value=-1.0), {"i": ints(-1, 4)}),
    Case([("i", (3, "N"), I32)], op("one_hot", depth=5, axis=1, dtype=B),
         {"i": ints(0, 6)}))

# --- linear algebra, reductions ----------------------------------------------

add("matmul",
    Case([("x", ("N", 4), F32), ("w", (4, 3), F32)], op("matmul")),
    Case([("x", ("N", 4), F32), ("w", (3, 4), F32)],
         op("matmul", transpose_b=True)),
    Case([("a", ("N", 4, 2), F32), ("b", ("N", 4, 3), F32)],
         op("matmul", transpose_a=True)),
    Case([("a", (2, 1, 3, 4), F64), ("b", ("N", 5, 4), F64)],
         op("matmul", transpose_b=True), label="broadcast batch dims"),
    Case([("a", ("N", 3), I32), ("b", (3, 2), I32)], op("matmul")),
    # mixed_bfloat16: operands rounded to bfloat16 (off by ~1e-3 if not)
    Case([("x", ("N", 6), F32), ("w", (6, 5), F32)],
         op("matmul", precision="bfloat16"), label="bfloat16 operands"),
    Case([("a", ("N", 4, 6), F32), ("b", ("N", 5, 6), F32)],
         op("matmul", transpose_b=True, precision="bfloat16"),
         label="bfloat16 operands, batched"))
add("matmul_sum",
    Case([("a", ("N", 3, 4), F32), ("b", ("N", 3, 5), F32)], op("matmul_sum")),
    Case([("a", (2, "N", 4), F64), ("b", (2, "N", 2), F64)], op("matmul_sum")),
    Case([("a", ("N", 4), F32), ("b", ("N", 3), F32)], op("matmul_sum"),
         label="no batch axes"))
for _name in ("softmax", "log_softmax"):
    add(_name, Case(X, op(_name, axis=-1)), Case(X, op(_name, axis=1)),
        Case([("x", ("N", 3), F64)], op(_name, axis=0), label="over batch"))
add("reduce_sum",
    Case(X, op("reduce_sum", axes=(1,), keepdims=True)),
    Case(X, op("reduce_sum", axes=None)),
    Case(X, op("reduce_sum", axes=()), label="no axes: identity"),
    Case([("x", ("N", 4), I32)], op("reduce_sum", axes=(0,))))
add("reduce_mean",
    Case(X, op("reduce_mean", axes=(0,))),
    Case([("x", ("N", 3, 5), F64)], op("reduce_mean", axes=(1, 2),
                                        keepdims=True)))
for _name in ("reduce_max", "reduce_min"):
    add(_name, Case(X, op(_name, axes=(1, 2), keepdims=True)),
        Case(X, op(_name, axes=(0,))),
        Case([("x", ("N", 5), I64)], op(_name, axes=(1,))))
for _name in ("argmax", "argmin"):
    add(_name, Case(X, op(_name, axis=1, dtype=I32), {"x": halves}),
        Case(X, op(_name, axis=0, keepdims=True)),
        Case([("x", ("N", 5), I32)], op(_name, axis=-1), {"x": ints(0, 3)}))

# --- shapes ---------------------------------------------------------------

add("reshape",
    Case([("x", ("N", 12), F32)], op("reshape", shape=("N", 3, 4))),
    Case([("x", (2, "N", 3), I32)], op("reshape", shape=(3, "N", 2)),
         label="symbol moves"),
    Case([("x", (2, 6), F32)], op("reshape", shape=(3, 4))),
    Case([("x", ("N", "M", 2), F32)], op("reshape", shape=(2, "M", "N")),
         label="two symbols: shape read at run time"))
add("transpose",
    Case(X, op("transpose", perm=(2, 0, 1))),
    Case(X, op("transpose", perm=(0, 1, 2)), label="identity"))
add("slice",
    Case([("x", ("N", 10, 6), F32)],
         op("slice", starts=(0, 1, 5), stops=(None, 9, None), steps=(1, 3, -2))),
    Case([("x", ("N", 7), I64)],
         op("slice", starts=(0, -2), stops=(None, None), steps=(1, -1)),
         label="negative step to the beginning"),
    Case([("x", (5, 4), F32)],
         op("slice", starts=(-4, 0), stops=(-1, 2), steps=(2, 1))),
    Case(X, op("slice", starts=(0, 0, 0), stops=(None, None, None),
               steps=(1, 1, 1)), label="whole: identity"))
add("concat",
    Case([("a", ("N", 2), F32), ("b", ("N", 3), F32)], op("concat", axis=1)),
    Case([("a", (1, 3), I32), ("b", (2, 3), I32), ("c", (1, 3), I32)],
         op("concat", axis=0)),
    Case([("a", ("N", 2), B)], op("concat", axis=-1), label="one operand"))
add("pad",
    Case(X, op("pad", pads=((0, 0), (1, 2), (0, 1)), value=1.5)),
    Case([("x", ("N", 3), I32)], op("pad", pads=((0, 0), (2, 0)), value=-7.0)),
    Case([("x", (2, "N"), B)], op("pad", pads=((1, 1), (0, 0)), value=1.0)),
    Case(X, op("pad", pads=((0, 0),) * 3), label="no padding"))
add("broadcast_to",
    Case([("x", ("N", 1), F32)], op("broadcast_to", shape=("N", 4))),
    Case([("x", (3,), I32), ("like", ("N", 1), F32)],
         lambda b, x, like: b.broadcast_to(x, shape=("N", 2, 3)),
         label="N comes from another input"),
    Case([("x", (1, 3), B)], op("broadcast_to", shape=(2, 3))))

# --- sources ---------------------------------------------------------------


def _with_const(value, dtype=None):
    return lambda b, x: b.add(x, b.constant(value, dtype))


add("constant",
    Case([("x", ("N", 3), F32)],
         _with_const(np.arange(3, dtype=np.float32) - 1.5)),
    Case([("x", ("N", 2), I64)], _with_const(7, I64)),
    Case([("x", ("N", 2), B)],
         lambda b, x: b.logical_and(x, b.constant(np.array([True, False])))))
for _name in ("zeros", "ones"):
    add(_name,
        Case([("x", ("N", 1), F32)],
             lambda b, x, _n=_name: b.add(x, b.op(_n, shape=("N", 3)))),
        Case([("x", ("N", 1), F32)],
             lambda b, x, _n=_name: [x, b.op(_n, shape=(2, "N"), dtype=I32)],
             label="N from an input"),
        Case([("x", ("N", 1), F32)],
             lambda b, x, _n=_name: [x, b.op(_n, shape=(), dtype=B)],
             label="scalar"))
add("iota",
    Case([("x", ("N", 1), F32)],
         lambda b, x: [x, b.iota(shape=("N", 4), axis=0)], label="along N"),
    Case([("x", ("N", 1), F32)],
         lambda b, x: b.add(x, b.iota(shape=("N", 4), axis=1, dtype=F32))),
    Case([("x", (1,), F32)], lambda b, x: [x, b.iota(shape=(5,), dtype=I32)]))
add("dim_size",
    Case([("x", ("N", 3), F32)],
         lambda b, x: b.div(x, b.dim_size(x, axis=0))),
    Case([("x", ("N", 3), F32)],
         lambda b, x: [x, b.dim_size(x, axis=1, dtype=I64)], label="static"))

# --- convolution, pooling, resizing -----------------------------------------

_IMG = [("x", ("N", 6, 7, 3), F32)]
# onnxruntime has no float64 Conv, ConvTranspose, AveragePool or Resize:
# the exporter computes them in float32
_F32_TOL = (1e-5, 1e-6)


def _conv_case(params, body, label="", gens=None):
    return Case(params, body, gens or {}, label, tol=(1e-4, 1e-5))


add("conv",
    _conv_case(_IMG + [("w", (3, 3, 3, 4), F32)],
               op("conv", strides=(1, 1), pads=((1, 1), (1, 1)),
                  dilation=(1, 1)), "same padding"),
    _conv_case([("x", ("N", 9, 4), F32), ("w", (3, 2, 6), F32)],
               op("conv", strides=(2,), pads=((0, -1),), dilation=(1,),
                  groups=2), "1-D, groups, a negative pad crops"),
    _conv_case([("x", ("N", 5, 6, 4, 2), F64), ("w", (2, 2, 2, 2, 3), F64)],
               op("conv", strides=(1, 2, 1), pads=((0, 1), (1, 0), (0, 0)),
                  dilation=(2, 1, 1)), "3-D, dilation"))
add("conv_transpose",
    _conv_case([("g", ("N", 3, 3, 4), F32), ("w", (3, 3, 3, 4), F32)],
               op("conv_transpose", strides=(2, 2), pads=((1, 1), (0, 1)),
                  dilation=(1, 1), shape=(6, 7)), "stride 2"),
    _conv_case([("g", ("N", 4, 6), F32), ("w", (3, 3, 6), F32)],
               op("conv_transpose", strides=(2,), pads=((2, -1),),
                  dilation=(1,), groups=2, shape=(9,)),
               "groups, a pad beyond the kernel"))
add("conv_filter_grad",
    _conv_case(_IMG + [("g", ("N", 6, 7, 4), F32)],
               op("conv_filter_grad", strides=(1, 1), pads=((1, 1), (1, 1)),
                  dilation=(1, 1), shape=(3, 3)), "same padding"),
    _conv_case([("x", ("N", 9, 4), F32), ("g", ("N", 3, 6), F32)],
               op("conv_filter_grad", strides=(2,), pads=((0, -1),),
                  dilation=(1,), groups=2, shape=(3,)), "groups, stride 2"),
    _conv_case([("x", ("N", 7, 2), F64), ("g", ("N", 3, 3), F64)],
               op("conv_filter_grad", strides=(1,), pads=((0, 0),),
                  dilation=(2,), shape=(3,)), "dilation 2"))
_POOL = {"window": (3, 2), "strides": (2, 2), "pads": ((1, 1), (0, 1))}
add("max_pool", Case(_IMG, op("max_pool", **_POOL)),
    Case([("x", ("N", 8, 2), F64)],
         op("max_pool", window=(2,), strides=(2,), pads=((0, 0),))))
add("avg_pool", Case(_IMG, op("avg_pool", **_POOL), label="padding not counted"),
    Case([("x", ("N", 3, 4, 5, 2), F32)],
         op("avg_pool", window=(2, 2, 2), strides=(1, 2, 2),
            pads=((0, 0), (0, 1), (1, 0))), tol=(1e-5, 1e-6)))


def _distinct(rng, shape, dtype):
    """Distinct values (max pooling has no ties)."""
    n = int(np.prod(shape))
    return (rng.permutation(n).reshape(shape) / 7.0).astype(dtype)


add("max_pool_grad",
    Case(_IMG + [("g", ("N", 3, 4, 3), F32)],
         op("max_pool_grad", **_POOL), {"x": _distinct},
         "windows overlap: gradients add up"),
    Case([("x", ("N", 8, 2), F32), ("g", ("N", 4, 2), F32)],
         op("max_pool_grad", window=(2,), strides=(2,), pads=((0, 0),)),
         {"x": _distinct}))
add("avg_pool_grad",
    Case([("g", ("N", 3, 4, 3), F32)],
         op("avg_pool_grad", shape=(6, 7), **_POOL), tol=(1e-4, 1e-5)),
    Case([("g", ("N", 4, 2), F64)],
         op("avg_pool_grad", window=(3,), strides=(2,), pads=((1, 1),),
            shape=(8,)), tol=_F32_TOL, label="float64 computed in float32"))
for _m in ("bilinear", "nearest"):
    add("resize",
        Case(_IMG, op("resize", shape=(11, 4), method=_m), label=_m,
             tol=(1e-4, 1e-5)),
        Case([("x", ("N", 5, 2), F64)], op("resize", shape=(8,), method=_m),
             tol=_F32_TOL, label="float64 computed in float32"))
    if _m == "nearest":  # exact: a Gather per axis, float64 stays float64
        add("resize",
            Case([("x", ("N", 7, 5, 2), F32)],
                 op("resize", shape=(3, 5), method=_m),
                 label="nearest, down on one axis, one axis kept"),
            Case([("x", ("N", 4, 3, 3, 1), F64)],
                 op("resize", shape=(9, 2, 5), method=_m),
                 label="nearest, float64, 3 spatial axes"))
    add("resize_grad",
        Case([("g", ("N", 11, 4, 3), F32)],
             op("resize_grad", shape=(6, 7), method=_m), label=_m,
             tol=(1e-4, 1e-5)),
        Case([("g", ("N", 3, 2), F64)],
             op("resize_grad", shape=(5,), method=_m)))

# --- meta ops: exported by inlining their body --------------------------------


def _fused(b, x, y):
    k = ir.Builder("kernel")
    a, c = k.param("a", x.type), k.param("c", y.type)
    s = k.add(a, c)
    body = k.build([k.relu(s), k.mul(k.tanh(s), a), a, s, s])
    outs = b.op("fused", x, y, body=body)
    return [b.exp(outs[0]), *outs[1:]]


if ir.registry.has_op("fused"):  # fusion's kernel op (codegen work)
    add("fused", Case([("x", ("N", 3), F32), ("y", (3,), F32)], _fused,
                      label="results: computed, a param, repeated"))

# --- loops: scan becomes an ONNX Scan (constants from the outer scope) --------


def _rnn_body(x_shape, emit_carry):
    k = ir.Builder("step")
    h = k.param("h", ("N", 3))
    x = k.param("x", x_shape)
    u = k.param("u", (3, 3))
    z = k.tanh(k.add(k.matmul(h, u), x))
    return k.build([z, k.mul(z, k.constant(2.0))] + ([z] if emit_carry else []))


def _scan_rnn(reverse, emit_carry):
    def body(b, h0, xs, u):
        outs = b.scan(h0, xs, u, body=_rnn_body(("N", 3), emit_carry),
                      num_carry=1, num_xs=1, length=4, reverse=reverse)
        return list(outs)

    return body


def _scan_no_xs(b, h0, u):
    k = ir.Builder("count")
    c = k.param("c", (2,))
    h = k.param("h", ("N", 3))
    uu = k.param("u", (3, 3))
    body = k.build([k.add(c, k.constant(np.ones(2, np.float32))),
                    k.matmul(h, uu), h, c])
    c0 = b.zeros(shape=(2,), dtype=F32)
    return list(b.scan(c0, h0, u, body=body, num_carry=2, length=3))


def _scan_empty(b, h0, u):
    k = ir.Builder("empty")
    h = k.param("h", ("N", 3))
    x = k.param("x", ("N", 3))
    uu = k.param("u", (3, 3))
    body = k.build([k.add(k.matmul(h, uu), x), h])
    xs = b.zeros(shape=(0, "N", 3), dtype=F32)
    return list(b.scan(h0, xs, u, body=body, num_carry=1, num_xs=1, length=0))


_SCAN_PARAMS = [("h0", ("N", 3), F32), ("xs", (4, "N", 3), F32),
                ("u", (3, 3), F32)]
add("scan",
    Case(_SCAN_PARAMS, _scan_rnn(False, False), label="forward"),
    Case(_SCAN_PARAMS, _scan_rnn(True, True), label="reverse, carry emitted"),
    Case([("h0", ("N", 3), F32), ("u", (3, 3), F32)], _scan_no_xs,
         label="no sequences, a param and a carry returned"),
    Case([("h0", ("N", 3), F32), ("u", (3, 3), F32)], _scan_empty,
         label="length 0"))

# --- random: counter-based numbers with no ONNX equivalent -----------------

for _name in ("random_uniform", "random_normal"):
    add(_name, UNEXPORTABLE)

# --- collectives across ranks (graphkeras.distribution) --------------------

add("all_reduce_sum", UNEXPORTABLE)


def live_random_case(opname: str) -> ir.Function:
    """A dropout-like use of a random op, recorded by layer "dropout"."""
    b = ir.Builder("train_forward")
    x = b.param("x", ("N", 4))
    step = b.param("step", (), I64)
    with b.at("dropout"):
        r = b.op(opname, step, shape=("N", 4), seed=3)
        y = b.mul(x, r)
    return b.build([y])
