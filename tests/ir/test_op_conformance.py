"""Op conformance, generated from the op registry.

For every registered op and hypothesis samples from op_samples.py:
- the registry entry is complete (missing_rules in tests/helpers.py);
- the shape/dtype rule (`infer`) agrees with the reference's output;
- for elementwise ops, the scalar body (`emit`, run with NumpyScalar on
  broadcast inputs) agrees with the reference within the dtype tolerance;
- for differentiable ops, the VJP (through passes.differentiate) agrees with
  central finite differences in float64;
- a one-op function verifies and round-trips through text.
A new op is covered as soon as it is registered and has a sampler.
"""

from __future__ import annotations

import numpy as np
import pytest
from helpers import (
    StrictScalar,
    check_close,
    check_grads,
    check_op_complete,
    check_round_trip,
    missing_rules,
    one_op_function,
    run_reference,
)
from hypothesis import given, settings
from hypothesis import strategies as st
from op_samples import SAMPLES, draw_sample

from graphkeras import ir
from graphkeras.ir.registry import Attr, OpDef, a_int, register_op
from graphkeras.passes import differentiate

OPS = sorted(ir.all_ops())
ELEMENTWISE = [n for n in OPS if ir.get_op(n).kind == "elementwise"]
# stop_gradient is the identity with a zero gradient by definition, so
# finite differences disagree on purpose; test_stop_gradient_blocks covers it.
# round_float16 is a step function whose gradient passes through (Keras's
# cast to float16 and back); test_round_float16_gradient_passes covers it.
GRAD_EXEMPT = {"stop_gradient", "round_float16"}
DIFFERENTIABLE = [
    n for n in OPS if ir.is_differentiable(ir.get_op(n)) and n not in GRAD_EXEMPT
]


def _fewer(fraction: float) -> settings:
    """A fraction of the profile's examples (the slower tests)."""
    return settings(max_examples=max(1, int(settings.default.max_examples * fraction)))


def _build(name: str, s) -> ir.Function:
    return one_op_function(name, s.types, s.attrs)


# --- the registry ------------------------------------------------------------


def test_every_registered_op_has_a_sample():
    missing = sorted(set(OPS) - set(SAMPLES))
    assert not missing, (
        f"ops without a sampler in tests/ir/op_samples.py: {missing}; add one "
        "(the format is described at the top of that file)"
    )
    stale = sorted(set(SAMPLES) - set(OPS))
    assert not stale, f"samplers for ops that are not registered: {stale}"


@pytest.mark.parametrize("name", OPS)
def test_registry_entry_is_complete(name):
    op = ir.get_op(name)
    assert op.name == name
    check_op_complete(op)


def _complete_op_class(**overrides):
    """A complete, unregistered op class; `overrides` remove or replace
    rules (a value of None deletes the rule)."""
    body = {
        "name": "conformance_probe",
        "onnx": "Identity",
        "kind": "elementwise",
        "attrs": {"k": Attr(a_int, 0)},
        "infer": lambda self, x, k: x,
        "reference": lambda self, x, k: x,
        "vjp": lambda self, b, g, inputs, outputs, k: (g,),
        "emit": lambda self, s, x, k: x,
    }
    for key, value in overrides.items():
        if value is None:
            del body[key]
        else:
            body[key] = value
    return type("ConformanceProbe", (OpDef,), body)


def test_probe_op_is_complete():
    assert missing_rules(_complete_op_class()()) == []


@pytest.mark.parametrize(
    "rule, overrides",
    [
        ("name", {"name": None}),
        ("kind", {"kind": "pointwise"}),
        ("infer", {"infer": None}),
        ("reference", {"reference": None}),
        ("vjp", {"vjp": None}),
        ("onnx", {"onnx": None}),
        ("emit", {"emit": None}),
    ],
)
def test_incomplete_op_is_rejected(rule, overrides):
    cls = _complete_op_class(**overrides)
    before = ir.all_ops()
    with pytest.raises(TypeError, match=f"lacks: {rule}"):
        register_op(cls)
    assert ir.all_ops().keys() == before.keys()
    with pytest.raises(AssertionError, match=f"lacks: {rule}"):
        check_op_complete(cls())


def test_incomplete_op_rules_beyond_register_op():
    # an ONNX name that is not an ONNX op, a non-canonical default and a
    # reference that drops an attribute pass register_op but not the suite
    bad = _complete_op_class(
        onnx="NoSuchOnnxOp",
        attrs={"k": Attr(a_int, 0), "j": Attr(a_int, 1.0)},
        reference=lambda self, x, k: x,
    )()
    assert missing_rules(bad) == [
        "onnx", "canonical default of j", "reference takes every attr"]


# --- shape rule vs reference -------------------------------------------------


@pytest.mark.parametrize("name", OPS)
@given(data=st.data())
def test_shape_rule_matches_reference(name, data):
    s = draw_sample(data, name)
    fn = _build(name, s)
    ir.verify(fn)
    before = [a.copy() for a in s.arrays]
    # the interpreter raises InternalCompilerError on a shape mismatch
    outs = ir.interpret(fn, s.arrays, env=s.env)
    node = fn.nodes[-1]
    raw = run_reference(node, s.arrays, s.env)
    for v, r, o in zip(node.outputs, raw, outs):
        want = v.type.concrete_shape(s.env)
        assert r.shape == want == o.shape
        assert r.dtype == v.type.dtype.np, (
            f'reference of "{name}" gives {r.dtype}, infer says {v.type}'
        )
    for a, b in zip(s.arrays, before):
        np.testing.assert_array_equal(a, b, err_msg="the reference wrote its input")


# --- emit vs reference -------------------------------------------------------


@pytest.mark.parametrize("name", ELEMENTWISE)
@given(data=st.data())
def test_emit_matches_reference(name, data):
    s = draw_sample(data, name)
    fn = _build(name, s)
    node = fn.nodes[-1]
    out = node.outputs[0].type
    shape = out.concrete_shape(s.env)
    ins = [np.broadcast_to(a, shape) for a in s.arrays]
    with np.errstate(all="ignore"):
        got = ir.get_op(name).emit(StrictScalar(), *ins, **dict(node.attrs))
    want = run_reference(node, s.arrays, s.env)[0]
    check_close(np.asarray(got), want, dtype=out.dtype,
                what=f"emit of {name} vs reference")


# --- VJP vs finite differences -----------------------------------------------


@pytest.mark.parametrize("name", DIFFERENTIABLE)
@_fewer(2 / 3)
@given(data=st.data())
def test_vjp_matches_finite_differences(name, data):
    s = draw_sample(data, name, grad=True)
    fn = _build(name, s)
    op = ir.get_op(name)
    diff = range(len(s.inputs)) if op.diff_inputs is None else op.diff_inputs
    wrt = [p.name for i, p in enumerate(fn.params)
           if i in diff and p.dtype.is_float]
    assert wrt, f"the gradient sample of {name} has no float operand"
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1)))
    check_grads(fn, s.arrays, wrt, env=s.env, rng=rng)


def _promote(v):
    """float32 -> float64 in a type or attribute value."""
    if isinstance(v, ir.TensorType):
        return v.with_dtype(ir.float64) if v.dtype == ir.float32 else v
    if isinstance(v, (str, ir.DType)) and v in (ir.float32, "float32", "f32"):
        return ir.float64
    if isinstance(v, ir.Function):  # a body (scan): every f32 type and constant
        return ir.parse(ir.print_function(v).replace("f32[", "f64["))
    return v


@pytest.mark.parametrize("name", DIFFERENTIABLE)
@_fewer(1 / 3)
@given(data=st.data())
def test_float32_vjp_matches_float64(name, data):
    # The VJP built for float32 operands must type-check and agree with the
    # float64 one (checked against finite differences above).
    s = draw_sample(data, name, grad=True, float_dtype=ir.float32)
    fn32 = _build(name, s)
    fn64 = one_op_function(name, [_promote(t) for t in s.types],
                           {k: _promote(v) for k, v in s.attrs.items()})
    op = ir.get_op(name)
    diff = range(len(s.inputs)) if op.diff_inputs is None else op.diff_inputs
    wrt = [p.name for i, p in enumerate(fn32.params)
           if i in diff and p.dtype.is_float]
    g32, g64 = differentiate(fn32, wrt), differentiate(fn64, wrt)
    ir.verify(g32)
    out = fn32.results[0]
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1)))
    seed = []
    if out.rank:
        seed = [rng.standard_normal(out.type.concrete_shape(s.env))
                .astype(out.dtype.np)]
    args32 = s.arrays + seed
    args64 = [a.astype(np.float64) if a.dtype == np.float32 else a
              for a in args32]
    got = ir.interpret(g32, args32, env=s.env)[1:]
    want = ir.interpret(g64, args64, env=s.env)[1:]
    for w, a, b in zip(wrt, got, want):
        assert a.dtype == fn32.params[int(w[1:])].dtype.np
        scale = float(np.max(np.abs(b), initial=0.0))
        np.testing.assert_allclose(a, b, rtol=2e-3, atol=2e-4 * (1 + scale),
                                   err_msg=f"d/d{w}")


def test_stop_gradient_blocks():
    b = ir.Builder("f")
    x = b.param("x", ("N", 3), ir.float64)
    y = b.reduce_sum(b.mul(b.stop_gradient(x), x))
    fn = ir.verify(differentiate(b.build([y]), ["x"]))
    xv = np.arange(6.0).reshape(2, 3)
    _, gx = ir.interpret(fn, [xv])
    np.testing.assert_array_equal(gx, xv)  # d/dx (sg(x) * x) = sg(x)


def test_round_float16_gradient_is_rounded_too():
    b = ir.Builder("f")
    x = b.param("x", ("N", 3), ir.float32)
    y = b.reduce_sum(b.mul(b.round_float16(x), x))
    fn = ir.verify(differentiate(b.build([y]), ["x"]))
    xv = np.float32([[1.0001, 2.0, -3.3], [7e4, 1e-6, 0.1]])
    _, gx = ir.interpret(fn, [xv])
    with np.errstate(over="ignore"):
        r = xv.astype(np.float16).astype(np.float32)
    # d/dx (r(x) * x) = r(x) + r'(x) x, where the gradient through r is
    # rounded to float16 as well (Keras's gradient of a float16 tensor is
    # float16): r(x) + r(x)
    np.testing.assert_array_equal(gx, r + r)


# --- text --------------------------------------------------------------------


@pytest.mark.parametrize("name", OPS)
@_fewer(1 / 2)
@given(data=st.data())
def test_node_text_round_trip(name, data):
    s = draw_sample(data, name)
    check_round_trip(_build(name, s))


# --- the checks themselves catch broken rules --------------------------------


def test_check_grads_catches_a_wrong_vjp(monkeypatch):
    tanh = type(ir.get_op("tanh"))
    monkeypatch.setattr(tanh, "vjp", lambda self, b, g, inputs, outputs: (g,))
    fn = one_op_function("tanh", [ir.TensorType((5,), ir.float64)], {})
    x = np.linspace(-1, 1, 5)
    with pytest.raises(AssertionError, match="finite differences give"):
        check_grads(fn, [x], ["x0"], rng=np.random.default_rng(0))


def test_emit_check_catches_a_wrong_body_and_mixed_dtypes():
    x = np.linspace(-1, 1, 5).astype(np.float32)
    node = one_op_function("exp", [ir.TensorType((5,))], {}).nodes[0]
    want = run_reference(node, [x], {})[0]
    with pytest.raises(AssertionError):
        check_close(StrictScalar().expm1(x), want, dtype=ir.float32)
    s = StrictScalar()
    with pytest.raises(TypeError, match=r"ScalarBuilder.add: operand dtypes "
                                        r"differ \(f32, f64\)"):
        s.add(x, s.const(1.0, ir.float64))
    with pytest.raises(TypeError, match="ScalarBuilder.select takes bool"):
        s.select(x, x, x)


def test_interpreter_catches_a_wrong_shape_rule(monkeypatch):
    relu = type(ir.get_op("relu"))
    fn = one_op_function("relu", [ir.TensorType(("N", 2))], {})
    monkeypatch.setattr(relu, "reference", lambda self, x: x[:1])
    with pytest.raises(ir.InternalCompilerError, match='reference of "relu"'):
        ir.interpret(fn, [np.ones((3, 2), np.float32)])
