"""Optimizers and schedules against NumPy implementations of Keras 3's
update formulas: a few train steps of a linear least-squares model, whose
gradient NumPy computes exactly."""

import math

import numpy as np
import pytest

from graphkeras import optimizers
from graphkeras.layers import Dense, Input
from graphkeras.models import Sequential

RNG = np.random.default_rng(8)
X = RNG.normal(size=(16, 3)).astype("float32")
Y = RNG.normal(size=(16, 2)).astype("float32")
W0 = RNG.normal(size=(3, 2)).astype("float32")


def _grad(w):
    return 2 * X.T.astype(np.float64) @ (X @ w - Y) / Y.size


def _numpy_run(update, steps, state=None):
    """Apply `update(w, g, t, state) -> w` for t = 1..steps."""
    w = W0.astype(np.float64)
    state = {} if state is None else state
    for t in range(1, steps + 1):
        w = update(w, _grad(w), t, state)
    return w


def sgd(lr, momentum=0.0, nesterov=False):
    def up(w, g, t, s):
        if not momentum:
            return w - lr * g
        m = s.get("m", 0.0) * momentum - lr * g
        s["m"] = m
        return w + (momentum * m - lr * g if nesterov else m)
    return up


def adam(lr, b1=0.9, b2=0.999, eps=1e-7, amsgrad=False, wd=None):
    def up(w, g, t, s):
        if wd:
            w = w - w * wd * lr
        m = s.get("m", 0.0) + (g - s.get("m", 0.0)) * (1 - b1)
        v = s.get("v", 0.0) + (g * g - s.get("v", 0.0)) * (1 - b2)
        s["m"], s["v"] = m, v
        if amsgrad:
            v = np.maximum(s.get("vhat", 0.0), v)
            s["vhat"] = v
        alpha = lr * math.sqrt(1 - b2 ** t) / (1 - b1 ** t)
        return w - m * alpha / (np.sqrt(v) + eps)
    return up


def rmsprop(lr, rho=0.9, momentum=0.0, eps=1e-7, centered=False):
    def up(w, g, t, s):
        v = rho * s.get("v", 0.0) + (1 - rho) * g * g
        s["v"] = v
        denom = v
        if centered:
            a = rho * s.get("a", 0.0) + (1 - rho) * g
            s["a"] = a
            denom = v - a * a
        inc = lr * g / np.sqrt(denom + eps)
        if momentum:
            s["m"] = momentum * s.get("m", 0.0) + inc
            return w - s["m"]
        return w - inc
    return up


def adagrad(lr, init=0.1, eps=1e-7):
    def up(w, g, t, s):
        acc = s.get("acc", init) + g * g
        s["acc"] = acc
        return w - lr * g / np.sqrt(acc + eps)
    return up


def adamax(lr, b1=0.9, b2=0.999, eps=1e-7):
    def up(w, g, t, s):
        m = s.get("m", 0.0) + (g - s.get("m", 0.0)) * (1 - b1)
        u = np.maximum(b2 * s.get("u", 0.0), np.abs(g))
        s["m"], s["u"] = m, u
        return w - lr * m / ((1 - b1 ** t) * (u + eps))
    return up


def nadam(lr, b1=0.9, b2=0.999, eps=1e-7):
    def up(w, g, t, s):
        def mu(k):
            return b1 * (1 - 0.5 * 0.96 ** k)

        prod = s.get("prod", 1.0) * mu(t)
        s["prod"] = prod
        m = s.get("m", 0.0) + (g - s.get("m", 0.0)) * (1 - b1)
        v = s.get("v", 0.0) + (g * g - s.get("v", 0.0)) * (1 - b2)
        s["m"], s["v"] = m, v
        m_hat = mu(t + 1) * m / (1 - prod * mu(t + 1)) + (1 - mu(t)) * g / (
            1 - prod)
        v_hat = v / (1 - b2 ** t)
        return w - lr * m_hat / (np.sqrt(v_hat) + eps)
    return up


CASES = [
    ("sgd", lambda: optimizers.SGD(0.1), sgd(0.1)),
    ("sgd_momentum", lambda: optimizers.SGD(0.1, momentum=0.9),
     sgd(0.1, 0.9)),
    ("sgd_nesterov", lambda: optimizers.SGD(0.1, momentum=0.9, nesterov=True),
     sgd(0.1, 0.9, True)),
    ("adam", lambda: optimizers.Adam(0.05), adam(0.05)),
    ("adam_amsgrad", lambda: optimizers.Adam(0.05, amsgrad=True),
     adam(0.05, amsgrad=True)),
    ("adamw", lambda: optimizers.AdamW(0.05), adam(0.05, wd=0.004)),
    ("rmsprop", lambda: optimizers.RMSprop(0.01), rmsprop(0.01)),
    ("rmsprop_centered", lambda: optimizers.RMSprop(0.01, momentum=0.5,
                                                    centered=True),
     rmsprop(0.01, momentum=0.5, centered=True)),
    ("adagrad", lambda: optimizers.Adagrad(0.1), adagrad(0.1)),
    ("adamax", lambda: optimizers.Adamax(0.05), adamax(0.05)),
    ("nadam", lambda: optimizers.Nadam(0.05), nadam(0.05)),
]


def _train(optimizer, steps, eager=True):
    model = Sequential([Input((3,)), Dense(2, use_bias=False)])
    model.set_weights([W0])
    model.compile(optimizer, "mse", run_eagerly=eager)
    for _ in range(steps):
        model.train_on_batch(X, Y)
    return model.get_weights()[0]


@pytest.mark.parametrize("name, make, update", CASES, ids=[c[0] for c in CASES])
def test_update_formulas_match_numpy(name, make, update):
    np.testing.assert_allclose(_train(make(), 4), _numpy_run(update, 4),
                               rtol=2e-5, atol=1e-6)


def test_compiled_updates_match_numpy():
    for name in ("adamw", "nadam", "rmsprop_centered"):
        _, make, update = next(c for c in CASES if c[0] == name)
        np.testing.assert_allclose(_train(make(), 3, eager=False),
                                   _numpy_run(update, 3), rtol=5e-5,
                                   atol=1e-6, err_msg=name)


def test_keras_defaults_and_names():
    expect = {"SGD": (0.01, "SGD"), "Adam": (0.001, "adam"),
              "AdamW": (0.001, "adamw"), "RMSprop": (0.001, "rmsprop"),
              "Adagrad": (0.001, "adagrad"), "Adamax": (0.001, "adamax"),
              "Nadam": (0.001, "nadam")}
    for cls_name, (lr, name) in expect.items():
        opt = getattr(optimizers, cls_name)()
        assert opt.learning_rate == pytest.approx(lr)
        assert opt.name.startswith(name)
        assert isinstance(optimizers.get(cls_name.lower()), type(opt))
    assert optimizers.AdamW().weight_decay == 0.004
    assert optimizers.Adam().epsilon == 1e-7
    with pytest.raises(ValueError, match="weight_decay=None"):
        optimizers.AdamW(weight_decay=None)
    with pytest.raises(ValueError, match="Argument `learning_rate` should be "
                       "float"):
        optimizers.SGD("fast")
    with pytest.raises(ValueError, match="Unknown optimizer: 'adamm'"):
        optimizers.get("adamm")


def test_clipnorm_is_per_gradient_and_global_clipnorm_over_all():
    model = Sequential([Input((3,)), Dense(2)])
    model.set_weights([W0, np.zeros(2, "float32")])
    model.compile(optimizers.SGD(1.0, clipnorm=0.01), "mse", run_eagerly=True)
    model.train_on_batch(X, Y)
    w, b = model.get_weights()
    assert np.linalg.norm(w - W0) == pytest.approx(0.01, rel=1e-4)
    assert np.linalg.norm(b) == pytest.approx(0.01, rel=1e-4)
    model = Sequential([Input((3,)), Dense(2)])
    model.set_weights([W0, np.zeros(2, "float32")])
    model.compile(optimizers.SGD(1.0, global_clipnorm=0.01), "mse",
                  run_eagerly=True)
    model.train_on_batch(X, Y)
    w, b = model.get_weights()
    total = math.sqrt(np.sum((w - W0) ** 2) + np.sum(b ** 2))
    assert total == pytest.approx(0.01, rel=1e-4)


def test_exclude_from_weight_decay():
    opt = optimizers.SGD(0.0, weight_decay=0.5)
    opt.learning_rate = 0.1
    model = Sequential([Input((3,)), Dense(2)])
    model.set_weights([W0, np.ones(2, "float32")])
    opt.exclude_from_weight_decay(var_names=["bias"])
    model.compile(opt, "mse", run_eagerly=True)
    g_b = 2 * np.sum(X @ W0 + 1 - Y, 0) / Y.size
    model.train_on_batch(X, Y)
    np.testing.assert_allclose(model.get_weights()[1], 1 - 0.1 * g_b,
                               rtol=1e-5)


SCHEDULES = [
    (lambda: optimizers.schedules.ExponentialDecay(0.1, 3, 0.5),
     lambda s: 0.1 * 0.5 ** (s / 3)),
    (lambda: optimizers.schedules.ExponentialDecay(0.1, 3, 0.5, staircase=True),
     lambda s: 0.1 * 0.5 ** (s // 3)),
    (lambda: optimizers.schedules.PiecewiseConstantDecay([2, 5], [1.0, 0.5, 0.1]),
     lambda s: 1.0 if s <= 2 else (0.5 if s <= 5 else 0.1)),
    (lambda: optimizers.schedules.PolynomialDecay(0.1, 4, 0.01, power=2.0),
     lambda s: (0.1 - 0.01) * (1 - min(s, 4) / 4) ** 2 + 0.01),
    (lambda: optimizers.schedules.PolynomialDecay(0.1, 4, 0.01, cycle=True),
     lambda s: (0.1 - 0.01) * (1 - s / (4 * max(1, math.ceil(s / 4))))
     + 0.01),
    (lambda: optimizers.schedules.InverseTimeDecay(0.1, 2, 0.5),
     lambda s: 0.1 / (1 + 0.5 * s / 2)),
    (lambda: optimizers.schedules.CosineDecay(0.1, 6, alpha=0.2),
     lambda s: 0.1 * ((1 - 0.2) * 0.5 * (1 + math.cos(math.pi * min(s, 6) / 6))
                      + 0.2)),
    (lambda: optimizers.schedules.CosineDecay(0.0, 4, warmup_target=0.1,
                                              warmup_steps=3),
     lambda s: 0.1 * s / 3 if s < 3 else 0.1 * 0.5 * (
         1 + math.cos(math.pi * (min(s, 7) - 3) / 4))),
    (lambda: optimizers.schedules.CosineDecayRestarts(0.1, 2, t_mul=2.0),
     lambda s: 0.1 * 0.5 * (1 + math.cos(math.pi * (
         (s / 2 - (1 - 2 ** math.floor(math.log(1 + s / 2) / math.log(2))) / (
             1 - 2)) / 2 ** math.floor(math.log(1 + s / 2) / math.log(2)))))),
]


@pytest.mark.parametrize("make, ref", SCHEDULES)
def test_schedules_match_keras_formulas(make, ref):
    sched = make()
    for step in range(12):
        assert float(sched(np.float32(step))) == pytest.approx(ref(step),
                                                              rel=1e-5,
                                                              abs=1e-7)
    clone = type(sched).from_config(sched.get_config())
    assert float(clone(np.float32(5))) == pytest.approx(ref(5), rel=1e-5,
                                                        abs=1e-7)


def test_schedule_drives_the_steps_and_a_callable_learning_rate():
    sched = optimizers.schedules.PiecewiseConstantDecay([1], [0.1, 0.01])
    lrs = [0.1, 0.1, 0.01, 0.01]

    def update(w, g, t, s):
        return w - lrs[t - 1] * g

    np.testing.assert_allclose(_train(optimizers.SGD(sched), 4),
                               _numpy_run(update, 4), rtol=2e-5, atol=1e-6)
    opt = optimizers.SGD(lambda: 0.05)
    np.testing.assert_allclose(_train(opt, 2), _numpy_run(sgd(0.05), 2),
                               rtol=2e-5, atol=1e-6)
    config = optimizers.SGD(sched).get_config()
    assert config["learning_rate"]["class_name"] == "PiecewiseConstantDecay"
    assert isinstance(optimizers.SGD.from_config(config)._schedule,
                      optimizers.schedules.PiecewiseConstantDecay)
