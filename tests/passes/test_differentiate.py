"""differentiate: random differentiable float64 functions against central
finite differences, and the errors a user can reach."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from strategies import check_same_outputs, functions, inputs_for

from graphkeras import ir
from graphkeras.ir.dtypes import float64
from graphkeras.passes import (
    DifferentiateArgumentError,
    DifferentiateTypeError,
    NotDifferentiableError,
    UserError,
    differentiate,
    simplify,
)

EPS = 1e-6


def check_vjp_matches_finite_differences(fn, xs, rng, *, rtol=1e-5):
    """<seed, J v> two ways: from differentiate's gradients and from
    central differences of fn along the random direction v."""
    wrt = [p.name for p in fn.params if p.dtype.is_float]
    grad = differentiate(fn, wrt)
    ir.verify(grad)
    out = ir.interpret(fn, xs)[0]
    seed = rng.normal(size=out.shape) if out.ndim else np.float64(1.0)
    args = xs + ([seed] if out.ndim else [])
    grads = ir.interpret(grad, args)[len(fn.results):]
    # simplify must not change gradients either
    check_same_outputs(simplify(grad), grad, args, rtol=1e-12, atol=1e-12)

    dirs = {p.name: rng.normal(size=x.shape) for p, x in zip(fn.params, xs)
            if p.name in wrt}

    def f(step):
        ys = [x + step * dirs[p.name] if p.name in dirs else x
              for p, x in zip(fn.params, xs)]
        return float(np.sum(seed * ir.interpret(fn, ys)[0]))

    numeric = (f(EPS) - f(-EPS)) / (2 * EPS)
    terms = [g * dirs[n] for g, n in zip(grads, wrt)]
    analytic = float(sum(np.sum(t) for t in terms))
    # the scale of the sum, so cancellation does not demand the impossible
    scale = float(sum(np.sum(np.abs(t)) for t in terms)) + 1e-3 * (
        1 + float(np.sum(np.abs(seed * out)))
    )
    assert abs(numeric - analytic) <= rtol * scale, (
        f"finite differences {numeric} vs gradient {analytic} (scale {scale})"
        f"\n{ir.print_function(fn)}"
    )


@given(
    fn=functions(max_nodes=10, float_dtypes=(float64,), differentiable=True),
    data=st.data(),
)
def test_gradients_of_random_functions_match_finite_differences(fn, data):
    xs = data.draw(inputs_for(fn))
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1)))
    check_vjp_matches_finite_differences(fn, xs, rng)


def test_a_batch_size_in_the_loss_is_no_obstacle():
    # mean over the batch written as sum / dim_size(x): dim_size reads the
    # shape of x only, so it does not stop the gradient wrt w.
    b = ir.Builder("f")
    x = b.param("x", ("N", 3), "float64")
    w = b.param("w", (3,), "float64")
    s = b.reduce_sum(b.tanh(b.mul(x, w)))
    fn = b.build([b.div(s, b.dim_size(b.mul(x, w), axis=0, dtype="float64"))])
    rng = np.random.default_rng(1)
    check_vjp_matches_finite_differences(
        fn, [rng.normal(size=(5, 3)), rng.normal(size=3)], rng
    )


def _loss_through(op: str, loc: str | None = "quantize"):
    b = ir.Builder("f")
    x = b.param("x", ("N", 3))
    w = b.param("dense_1/kernel", (3,))
    with b.at(loc):
        q = b.op(op, b.mul(x, w))
    return b.build([b.reduce_sum(q)])


def test_round_between_loss_and_variable_is_named():
    with pytest.raises(NotDifferentiableError) as info:
        differentiate(_loss_through("round"), ["dense_1/kernel"])
    assert str(info.value) == (
        'Op "round" (layer "quantize") is not differentiable, but it lies '
        'between the output and the trainable variable "dense_1/kernel". '
        "Wrap its output in ops.stop_gradient() if that is intended."
    )
    assert isinstance(info.value, (UserError, ValueError))


def test_round_behind_stop_gradient_is_off_the_path():
    # round(stop_gradient(x * w)) * w: no gradient reaches round's operand
    b = ir.Builder("f")
    x = b.param("x", ("N", 3))
    w = b.param("w", (3,))
    q = b.round(b.stop_gradient(b.mul(x, w)))
    fn = b.build([b.reduce_sum(b.mul(q, w))])
    grad = differentiate(fn, ["w"])
    xs = [np.float32([[0.4, 1.6, -2.2]]), np.float32([1.0, 2.0, 3.0])]
    np.testing.assert_allclose(ir.interpret(grad, xs)[1], np.round(xs[0] * xs[1])[0])


def test_non_float_output_is_refused():
    b = ir.Builder("f")
    x = b.param("x", (4,))
    fn = b.build([b.argmax(x, axis=0)])
    with pytest.raises(DifferentiateTypeError) as info:
        differentiate(fn, ["x"])
    assert str(info.value) == (
        "differentiate: result 0 of @f is int64; only floating-point results "
        "have gradients."
    )
    assert isinstance(info.value, ir.IRTypeError)


def test_unknown_wrt_name_lists_the_parameters():
    fn = _loss_through("tanh")
    with pytest.raises(DifferentiateArgumentError) as info:
        differentiate(fn, ["kernel"])
    assert str(info.value) == (
        "differentiate: @f has no parameter %kernel (parameters: %x, "
        "%dense_1/kernel)."
    )


def test_bad_output_index_and_seed_name_clash():
    fn = _loss_through("tanh")
    with pytest.raises(DifferentiateArgumentError, match="output=3 is out of range"):
        differentiate(fn, ["x"], output=3)
    b = ir.Builder("f")
    x = b.param("seed", (3,))
    fn = b.build([b.tanh(x)])
    with pytest.raises(DifferentiateArgumentError, match="already has a parameter"):
        differentiate(fn, ["seed"])
