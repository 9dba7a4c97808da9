"""Lion, Adadelta and Ftrl against NumPy implementations of Keras 3's
update formulas (a linear least-squares model whose gradient NumPy computes
exactly), compiled and interpreted, and their argument checks."""

import numpy as np
import pytest

from graphkeras import optimizers
from graphkeras.layers import Dense, Input
from graphkeras.models import Sequential

RNG = np.random.default_rng(81)
X = RNG.normal(size=(16, 3)).astype("float32")
Y = RNG.normal(size=(16, 2)).astype("float32")
W0 = RNG.normal(size=(3, 2)).astype("float32")


def _numpy_run(update, steps):
    w, state = W0.astype(np.float64), {}
    for _ in range(steps):
        g = 2 * X.T.astype(np.float64) @ (X @ w - Y) / Y.size
        w = update(w, g, state)
    return w


def lion(lr, b1=0.9, b2=0.99):
    def up(w, g, s):
        m = s.get("m", 0.0)
        s["m"] = m * b2 + g * (1 - b2)
        return w - lr * np.sign(m * b1 + g * (1 - b1))
    return up


def adadelta(lr, rho=0.95, eps=1e-7):
    def up(w, g, s):
        s["g2"] = rho * s.get("g2", 0.0) + (1 - rho) * g * g
        dx = -np.sqrt(s.get("dx2", 0.0) + eps) * g / np.sqrt(s["g2"] + eps)
        s["dx2"] = rho * s.get("dx2", 0.0) + (1 - rho) * dx * dx
        return w + lr * dx
    return up


def ftrl(lr, power=-0.5, init=0.1, l1=0.0, l2=0.0, shrink=0.0, beta=0.0):
    def up(w, g, s):
        n = s.get("n", init)
        n_new = n + g * g
        z = s.get("z", 0.0) + g + 2 * shrink * w - (
            n_new ** -power - n ** -power) / lr * w
        s["n"], s["z"] = n_new, z
        quad = n_new ** -power / lr + 2 * (l2 + beta / (2 * lr))
        return np.where(np.abs(z) <= l1, 0.0, -(z - np.sign(z) * l1) / quad)
    return up


CASES = [
    ("lion", lambda: optimizers.Lion(0.01), lion(0.01)),
    ("lion_betas", lambda: optimizers.Lion(0.02, beta_1=0.5, beta_2=0.8),
     lion(0.02, 0.5, 0.8)),
    ("adadelta", lambda: optimizers.Adadelta(1.0), adadelta(1.0)),
    ("adadelta_rho", lambda: optimizers.Adadelta(0.5, rho=0.6, epsilon=1e-3),
     adadelta(0.5, 0.6, 1e-3)),
    ("ftrl", lambda: optimizers.Ftrl(0.1), ftrl(0.1)),
    ("ftrl_all_terms", lambda: optimizers.Ftrl(
        0.2, learning_rate_power=-0.3, initial_accumulator_value=0.3,
        l1_regularization_strength=0.05, l2_regularization_strength=0.02,
        l2_shrinkage_regularization_strength=0.01, beta=0.1),
     ftrl(0.2, -0.3, 0.3, 0.05, 0.02, 0.01, 0.1)),
]


def _train(optimizer, steps, eager):
    model = Sequential([Input((3,)), Dense(2, use_bias=False)])
    model.set_weights([W0])
    model.compile(optimizer, "mse", run_eagerly=eager)
    for _ in range(steps):
        model.train_on_batch(X, Y)
    return model.get_weights()[0]


@pytest.mark.parametrize("eager", [True, False], ids=["eager", "compiled"])
@pytest.mark.parametrize("name, make, update", CASES, ids=[c[0] for c in CASES])
def test_update_formulas_match_numpy(name, make, update, eager):
    np.testing.assert_allclose(_train(make(), 4, eager), _numpy_run(update, 4),
                               rtol=5e-5, atol=1e-6)


def test_defaults_names_config_and_checks():
    for cls_name, name in (("Lion", "lion"), ("Adadelta", "adadelta"),
                           ("Ftrl", "ftrl")):
        opt = getattr(optimizers, cls_name)()
        assert opt.learning_rate == pytest.approx(0.001)
        assert opt.name.startswith(name)
        assert isinstance(optimizers.get(name), type(opt))
        again = type(opt).from_config(opt.get_config())
        assert again.get_config() == opt.get_config()
    assert optimizers.Lion().beta_2 == 0.99
    assert optimizers.Adadelta().rho == 0.95
    assert optimizers.Ftrl().initial_accumulator_value == 0.1
    with pytest.raises(ValueError, match="beta_1=0"):
        optimizers.Lion(beta_1=0)
    with pytest.raises(ValueError, match="learning_rate_power=0.5"):
        optimizers.Ftrl(learning_rate_power=0.5)
    with pytest.raises(ValueError, match="l1_regularization_strength=-1"):
        optimizers.Ftrl(l1_regularization_strength=-1)


def _sgd_ema_numpy(lr, momentum, steps, freq=None):
    w = W0.astype(np.float64)
    avg = None
    for t in range(steps):
        g = 2 * X.T.astype(np.float64) @ (X @ w - Y) / Y.size
        w = w - lr * g
        m = 0.0 if t == 0 else momentum
        avg = w if avg is None else m * avg + (1 - m) * w
        if freq and (t + 1) % freq == 0:
            w = avg
    return w, avg


@pytest.mark.parametrize("eager", [True, False], ids=["eager", "compiled"])
@pytest.mark.parametrize("freq", [None, 2])
def test_use_ema_averages_and_fit_ends_on_them(freq, eager):
    opt = optimizers.SGD(0.1, use_ema=True, ema_momentum=0.7,
                         ema_overwrite_frequency=freq)
    model = Sequential([Input((3,)), Dense(2, use_bias=False)])
    model.set_weights([W0])
    model.compile(opt, "mse", run_eagerly=eager)
    # train_on_batch keeps the weights; fit ends on their averages
    for _ in range(3):
        model.train_on_batch(X, Y)
    w, avg = _sgd_ema_numpy(0.1, 0.7, 3, freq)
    np.testing.assert_allclose(model.get_weights()[0], w, rtol=1e-5)
    model.set_weights([W0])
    model.optimizer.iterations.assign(np.int64(0))
    model.fit(X, Y, batch_size=16, epochs=5, shuffle=False, verbose=0)
    _, avg = _sgd_ema_numpy(0.1, 0.7, 5, freq)
    np.testing.assert_allclose(model.get_weights()[0], avg, rtol=1e-5)
    assert opt.get_config()["use_ema"] is True
    assert optimizers.SGD.from_config(opt.get_config()).ema_momentum == 0.7


def test_use_ema_argument_checks():
    with pytest.raises(ValueError, match="ema_momentum=1.5"):
        optimizers.Adam(use_ema=True, ema_momentum=1.5)
    with pytest.raises(ValueError, match="ema_overwrite_frequency=0"):
        optimizers.Adam(use_ema=True, ema_overwrite_frequency=0)


def _model(optimizer, eager=False):
    model = Sequential([Input((3,)), Dense(2, use_bias=False)])
    model.set_weights([W0])
    model.compile(optimizer, "mse", run_eagerly=eager)
    return model


@pytest.mark.parametrize("eager", [True, False], ids=["eager", "compiled"])
def test_loss_scaling_leaves_the_updates_unchanged(eager):
    # Keras multiplies the loss by the scale and divides the gradients by
    # it: the same steps as without scaling (graphkeras used to divide the
    # gradients by loss_scale_factor only)
    ref = _numpy_run(lambda w, g, s: w - 0.1 * g, 3)
    for opt in (optimizers.SGD(0.1, loss_scale_factor=128.0),
                optimizers.LossScaleOptimizer(optimizers.SGD(0.1)),
                optimizers.LossScaleOptimizer(optimizers.SGD(0.1),
                                              initial_scale=2.0,
                                              dynamic_growth_steps=2)):
        model = _model(opt, eager)
        for _ in range(3):
            loss = model.train_on_batch(X, Y)
        np.testing.assert_allclose(model.get_weights()[0], ref, rtol=2e-5)
        g_loss = np.mean((X @ _numpy_run(lambda w, g, s: w - 0.1 * g, 2)
                          - Y) ** 2)
        assert loss == pytest.approx(g_loss, rel=1e-5)   # unscaled
        assert int(opt.iterations) == 3
    # growth: two finite steps in a row double the scale
    assert float(opt.dynamic_scale) == 4.0
    assert int(opt.step_counter) == 1


@pytest.mark.parametrize("eager", [True, False], ids=["eager", "compiled"])
def test_loss_scale_optimizer_skips_non_finite_steps(eager):
    opt = optimizers.LossScaleOptimizer(optimizers.Adam(0.1),
                                        initial_scale=2.0 ** 127)
    model = Sequential([Input((3,)), Dense(2, use_bias=False)])
    model.set_weights([W0])
    model.compile(opt, "mse", run_eagerly=eager)
    big = Y * 1e4     # loss * 2**127 overflows: the step is skipped
    loss = model.train_on_batch(X, big)
    assert np.isfinite(loss)
    np.testing.assert_array_equal(model.get_weights()[0], W0)
    assert int(opt.iterations) == 0
    assert float(opt.dynamic_scale) == 2.0 ** 126
    assert all(not np.any(np.asarray(v)) for v in opt.inner_optimizer.variables
               if "momentum" in v.name or "velocity" in v.name)
    opt.dynamic_scale.assign(np.float32(1.0))
    model.train_on_batch(X, big)
    assert int(opt.iterations) == 1
    adam = Sequential([Input((3,)), Dense(2, use_bias=False)])
    adam.set_weights([W0])
    adam.compile(optimizers.Adam(0.1), "mse", run_eagerly=eager)
    adam.train_on_batch(X, big)
    np.testing.assert_allclose(model.get_weights()[0], adam.get_weights()[0],
                               rtol=1e-6)


def test_loss_scale_optimizer_arguments_and_config():
    opt = optimizers.LossScaleOptimizer(optimizers.SGD(0.2), initial_scale=8.0)
    assert opt.learning_rate == pytest.approx(0.2)
    opt.learning_rate = 0.05
    assert opt.inner_optimizer.learning_rate == pytest.approx(0.05)
    again = optimizers.get({"class_name": "LossScaleOptimizer",
                            "config": opt.get_config()})
    assert again.initial_scale == 8.0
    assert again.inner_optimizer.learning_rate == pytest.approx(0.05)
    with pytest.raises(ValueError, match="does not support `clipnorm`"):
        optimizers.LossScaleOptimizer(optimizers.SGD(), clipnorm=1.0)
    with pytest.raises(ValueError, match="dynamic=False"):
        optimizers.LossScaleOptimizer(optimizers.SGD(), dynamic=False)
    with pytest.raises(TypeError, match="inner_optimizer"):
        optimizers.LossScaleOptimizer("sgd")
