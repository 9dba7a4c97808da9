"""Shared test helpers (`check_*` and a few builders of test inputs).

Importable from every test directory as `import helpers` (tests/ is on
sys.path through tests/conftest.py). They never import graphkeras.codegen or
the frontend, so any package's tests can use them.

Conventions:
- `check_close` compares with a per-dtype tolerance (TOLERANCE) and also
  requires equal shapes and dtypes; NaN equals NaN; ints and bools compare
  exactly.
- `check_grads` is JAX's check_grads in reverse mode: for random cotangent g
  and direction d it compares <vjp(g), D> with g . (f(x+eps d) - f(x-eps d)),
  where D is the perturbation actually realized in the inputs' dtype. The
  VJP comes from the real `passes.differentiate`, so it tests autodiff too.
"""

from __future__ import annotations

import inspect

import numpy as np

from graphkeras import ir
from graphkeras.ir.registry import KINDS, REQUIRED, Attr, OpDef
from graphkeras.passes import differentiate

# (rtol, atol) by dtype name, for results of the same computation done two
# ways (reference vs. emit body, vs. compiled code later).
TOLERANCE = {
    "f32": (2e-6, 1e-6),
    "f64": (1e-12, 1e-13),
    "i32": (0, 0),
    "i64": (0, 0),
    "bool": (0, 0),
}


class StrictScalar(ir.NumpyScalar):
    """NumpyScalar that enforces the ScalarBuilder protocol as codegen will:
    equal operand dtypes, boolean conditions and logic, float-only math.
    NumPy would silently promote where LLVM rejects; this raises instead."""

    def _same(self, what: str, *xs) -> None:
        kinds = {self.dtype_of(x) for x in xs}
        if len(kinds) > 1:
            shown = ", ".join(sorted(str(k) for k in kinds))
            raise TypeError(f"ScalarBuilder.{what}: operand dtypes differ ({shown})")

    def _need(self, what: str, kinds: str, *xs) -> None:
        for x in xs:
            if self.dtype_of(x).kind not in kinds:
                raise TypeError(
                    f"ScalarBuilder.{what} takes {kinds}, got {self.dtype_of(x)}"
                )


def _strict_binary(name: str, kinds: str):
    base = getattr(ir.NumpyScalar, name)

    def method(self, a, b):
        self._same(name, a, b)
        self._need(name, kinds, a)
        return base(self, a, b)

    return method


def _strict_unary(name: str, kinds: str):
    base = getattr(ir.NumpyScalar, name)

    def method(self, a):
        self._need(name, kinds, a)
        return base(self, a)

    return method


for _name, _kinds in [("add", "float int"), ("sub", "float int"),
                      ("mul", "float int"), ("div", "float"),
                      ("max", "float int"), ("min", "float int"),
                      ("pow", "float"), ("eq", "float int bool"),
                      ("ne", "float int bool"), ("lt", "float int bool"),
                      ("le", "float int bool"), ("gt", "float int bool"),
                      ("ge", "float int bool"), ("and_", "int bool"),
                      ("or_", "int bool"), ("xor", "int bool"),
                      ("shl", "int"), ("shr", "int")]:
    setattr(StrictScalar, _name, _strict_binary(_name, _kinds))
for _name, _kinds in [("neg", "float int"), ("abs", "float int"),
                      ("sqrt", "float"), ("exp", "float"), ("log", "float"),
                      ("log1p", "float"), ("expm1", "float"),
                      ("tanh", "float"), ("sigmoid", "float"),
                      ("erf", "float"), ("floor", "float"),
                      ("round", "float"), ("not_", "bool")]:
    setattr(StrictScalar, _name, _strict_unary(_name, _kinds))


def _strict_select(self, cond, a, b):
    self._need("select", "bool", cond)
    self._same("select", a, b)
    return ir.NumpyScalar.select(self, cond, a, b)


StrictScalar.select = _strict_select


def check_close(actual, expected, *, dtype=None, rtol=None, atol=None,
                what: str = "result") -> None:
    """Assert actual ~= expected: same shape, dtype `dtype` (or expected's),
    values within the per-dtype tolerance."""
    actual, expected = np.asarray(actual), np.asarray(expected)
    want_dtype = ir.as_dtype(dtype if dtype is not None else expected.dtype)
    assert actual.dtype == want_dtype.np, (
        f"{what}: dtype {actual.dtype}, expected {want_dtype.long_name}"
    )
    assert actual.shape == expected.shape, (
        f"{what}: shape {actual.shape}, expected {expected.shape}"
    )
    r, a = TOLERANCE[want_dtype.name]
    r = r if rtol is None else rtol
    a = a if atol is None else atol
    if want_dtype.is_float:
        np.testing.assert_allclose(actual, expected.astype(actual.dtype),
                                   rtol=r, atol=a, equal_nan=True, err_msg=what)
    else:
        np.testing.assert_array_equal(actual, expected, err_msg=what)


def one_op_function(opname: str, types, attrs: dict,
                    name: str | None = None) -> ir.Function:
    """`func @<op>(%x0: t0, %x1: t1, ...) { %r = op %x0, ... ; return %r }`."""
    b = ir.Builder(name or opname)
    params = [b.param(f"x{i}", t) for i, t in enumerate(types)]
    out = b.op(opname, *params, **attrs)
    return b.build(list(out) if isinstance(out, tuple) else [out])


def run_reference(node: ir.Node, arrays, env: dict) -> tuple:
    """The raw outputs of node's reference (no cast to the declared dtype,
    unlike the interpreter), with symbols in shape attrs bound from env."""
    op = ir.get_op(node.op)
    attrs = dict(node.attrs)
    for k in op.shape_attrs:
        attrs[k] = tuple(env[d] if ir.is_symbol(d) else d for d in attrs[k])
    if getattr(op, "needs_env", False):
        attrs["_env"] = env
    with np.errstate(all="ignore"):
        out = op.reference(*arrays, **attrs)
    return tuple(np.asarray(o) for o in (out if isinstance(out, tuple) else (out,)))


def check_round_trip(fn: ir.Function) -> str:
    """verify(fn), then parse(print(fn)) == fn and printing is stable.
    Returns the text."""
    ir.verify(fn)
    text = ir.print_function(fn)
    back = ir.parse(text)
    assert back == fn, f"text did not parse back equal:\n{text}\n---\n{back}"
    assert ir.print_function(back) == text
    ir.verify(back)
    check_canonical_print(fn)
    return text


def check_canonical_print(fn: ir.Function) -> None:
    """ir.canonical_print(fn) is ir.canonical_text of fn's printed text,
    with and without locs, renaming included (the compile cache keys on
    both forms: one from a Function, one from a cached file's text)."""
    text = ir.print_function(fn)
    for locs in (True, False):
        want_names, got_names = {}, {}
        want = ir.canonical_text(text, locs=locs, names=want_names)
        got = ir.canonical_print(fn, locs=locs, names=got_names)
        assert got == want, f"canonical_print differs:\n{got}\n---\n{want}"
        assert got_names == want_names


def check_grads(fn: ir.Function, args, wrt, *, rng: np.random.Generator,
                env: dict | None = None, output: int = 0,
                eps: float | None = None, rtol: float | None = None) -> None:
    """Check d(results[output])/d(wrt) of fn at args against central finite
    differences along a random direction (see the module docstring)."""
    args = [np.asarray(a) for a in args]
    index = {p.name: i for i, p in enumerate(fn.params)}
    out_t = fn.results[output].type
    f64 = all(fn.params[index[w]].dtype == ir.float64 for w in wrt) and (
        out_t.dtype == ir.float64)
    eps = eps if eps is not None else (1e-6 if f64 else 1e-2)
    rtol = rtol if rtol is not None else (1e-5 if f64 else 1e-4)

    gfn = differentiate(fn, wrt, output=output)
    check_round_trip(gfn)
    f0 = ir.interpret(fn, args, env=env)[output]
    # a scalar output is seeded with 1 by differentiate; others take g
    g = rng.standard_normal(f0.shape) if out_t.rank else np.ones(())
    g = g.astype(out_t.dtype.np)
    gargs = args + ([g] if out_t.rank else [])
    res = ir.interpret(gfn, gargs, env=env)
    grads = res[len(fn.results):]
    for w, gr in zip(wrt, grads):
        assert gr.shape == args[index[w]].shape and gr.dtype == args[index[w]].dtype

    plus, minus, deltas = list(args), list(args), []
    for w in wrt:
        i = index[w]
        x = args[i].astype(np.float64)
        d = rng.standard_normal(x.shape)
        plus[i] = (x + eps * d).astype(args[i].dtype)
        minus[i] = (x - eps * d).astype(args[i].dtype)
        deltas.append(plus[i].astype(np.float64) - minus[i].astype(np.float64))
    fp = ir.interpret(fn, plus, env=env)[output].astype(np.float64)
    fm = ir.interpret(fn, minus, env=env)[output].astype(np.float64)
    g64 = g.astype(np.float64)
    fd_terms = g64 * (fp - fm)
    vjp_terms = [gr.astype(np.float64) * dv for gr, dv in zip(grads, deltas)]
    fd = float(np.sum(fd_terms))
    vjp = float(sum(np.sum(t) for t in vjp_terms))
    scale = float(np.sum(np.abs(fd_terms))
                  + sum(np.sum(np.abs(t)) for t in vjp_terms))
    assert np.isfinite(fd) and np.isfinite(vjp), (fd, vjp)
    assert abs(fd - vjp) <= rtol * scale + 1e-12, (
        f"@{fn.name}: <vjp(g), 2 eps d> = {vjp!r} but finite differences give "
        f"{fd!r} (eps={eps}, scale={scale:.3g}, wrt={list(wrt)})"
    )


def missing_rules(op: OpDef) -> list:
    """The rules `op` lacks (empty when it is complete). Mirrors and extends
    register_op's own check, so a hole in either is caught."""
    missing = []
    if not isinstance(op.name, str) or not op.name:
        missing.append("name")
    if op.kind not in KINDS:
        missing.append("kind")
    if type(op).infer is OpDef.infer:
        missing.append("infer")
    if type(op).reference is OpDef.reference:
        missing.append("reference")
    if op.vjp is not ir.NOT_DIFFERENTIABLE and not callable(op.vjp):
        missing.append("vjp")
    # a meta op (a fused kernel, say) is exported through its body, so its
    # onnx name needs not be an ONNX operator
    if not isinstance(op.onnx, str) or not (
        op.kind == "meta" or _is_onnx_op(op.onnx)
    ):
        missing.append("onnx")
    if op.kind == "elementwise" and not callable(op.emit):
        missing.append("emit")
    if not all(isinstance(a, Attr) for a in op.attrs.values()):
        missing.append("attrs")
    for key, spec in op.attrs.items():
        if spec.default is not REQUIRED and spec.default is not None:
            try:
                canonical = spec.convert(spec.default)
            except (TypeError, ValueError):
                canonical = object()
            if canonical != spec.default:
                missing.append(f"canonical default of {key}")
    n = op.num_inputs
    if op.diff_inputs is not None and n is not None and not all(
        0 <= i < n for i in op.diff_inputs
    ):
        missing.append("diff_inputs")
    if callable(op.reference):
        sig = inspect.signature(op.reference)
        names = set(sig.parameters)
        var_kw = any(p.kind is p.VAR_KEYWORD for p in sig.parameters.values())
        if not var_kw and not set(op.attrs) <= names:
            missing.append("reference takes every attr")
    # an elementwise op lowers through `emit`; every other op needs a
    # template registered under its name in codegen
    from graphkeras.codegen.lowering import has_lowering

    if op.kind != "elementwise" and not has_lowering(op.name):
        missing.append("codegen lowering")
    return missing


def _is_onnx_op(name: str) -> bool:
    try:
        import onnx.defs
    except ImportError:  # pragma: no cover - onnx is a runtime dependency
        return bool(name)
    return onnx.defs.has(name)


def check_op_complete(op: OpDef) -> None:
    missing = missing_rules(op)
    assert not missing, f'op "{op.name}" lacks: {", ".join(missing)}'
