"""ops.custom_gradient (Keras 3's, JAX semantics: the function returns
(output, grad_fn)): eager value, gradients through value_and_grad and
through a compiled train step (against the interpreter and against the
same model without the custom gradient)."""

import numpy as np
import pytest

import graphkeras as keras
from graphkeras import ops


@ops.custom_gradient
def log1pexp(x):
    e = ops.exp(x)

    def grad(*args, upstream=None):
        if upstream is None:
            (upstream,) = args
        return ops.multiply(upstream, 1.0 - 1.0 / ops.add(1, e))

    return ops.log(1 + e), grad


@ops.custom_gradient
def reverse_gradient(x, scale):
    def grad(upstream):
        return ops.multiply(upstream, -scale), None

    return ops.multiply(x, 1.0), grad


def test_eager_value_and_gradient():
    x = np.array([0.0, 1.0, 100.0], "float32")
    np.testing.assert_allclose(log1pexp(x[:2]), np.logaddexp(0.0, x[:2]),
                               rtol=1e-6)
    # the stable gradient (autodiff of log(1 + e) gives nan at 100)
    g = ops.grad(lambda x: ops.sum(log1pexp(x)))(x)
    np.testing.assert_allclose(g, 1 / (1 + np.exp(-x)), rtol=1e-6)
    g = ops.grad(lambda x: ops.sum(ops.square(reverse_gradient(x, 2.0))))(x)
    np.testing.assert_allclose(g, -2.0 * 2 * x, rtol=1e-6)


class GradientReversal(keras.layers.Layer):
    def call(self, x):
        return reverse_gradient(x, 1.0)


def _model(reverse: bool):
    keras.utils.set_random_seed(3)
    inp = keras.Input((4,))
    h = keras.layers.Dense(5, name="features")(inp)
    if reverse:
        h = GradientReversal()(h)
    out = keras.layers.Dense(1, name="head")(h)
    return keras.Model(inp, out)


@pytest.mark.parametrize("eager", [False, True])
def test_gradient_reversal_in_a_train_step(eager):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(16, 4)).astype("float32")
    y = rng.normal(size=(16, 1)).astype("float32")
    moves = {}
    for reverse in (False, True):
        model = _model(reverse)
        before = [w.copy() for w in model.get_weights()]
        model.compile(optimizer=keras.optimizers.SGD(0.1), loss="mse",
                      run_eagerly=eager)
        model.fit(x, y, batch_size=16, epochs=1, verbose=0)
        moves[reverse] = [a - b for a, b in zip(model.get_weights(), before)]
    plain, rev = moves[False], moves[True]
    # the layers before the reversal move the other way, the head alike
    np.testing.assert_allclose(rev[0], -plain[0], rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(rev[1], -plain[1], rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(rev[2], plain[2], rtol=1e-5, atol=1e-7)
    assert np.abs(plain[0]).max() > 1e-4
    # predictions are the plain model's
    np.testing.assert_allclose(_model(True).predict(x, verbose=0),
                               _model(False).predict(x, verbose=0), rtol=1e-6)


def test_errors_name_the_function():
    @ops.custom_gradient
    def bad(x):
        return x

    with pytest.raises(ValueError, match=r"must return \(output, grad_fn\)"):
        bad(np.ones(2))

    @ops.custom_gradient
    def two(x):
        return x, lambda g: (g, g)

    with pytest.raises(ValueError, match=r"returned 2 gradient\(s\) for 1"):
        ops.grad(lambda x: ops.sum(two(x)))(np.ones(2, "float32"))
