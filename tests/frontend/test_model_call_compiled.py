"""model(x) on a NumPy array: after EAGER_CALLS eager calls of one
per-sample shape it runs the compiled predict step (the latency path of
predict_on_batch), with the eager call's results; training=True, symbolic
inputs, subclassed models, models adding losses and anything the compiled
path refuses still run eagerly, with the eager call's errors."""

from __future__ import annotations

import numpy as np
import pytest

import graphkeras as keras
from graphkeras.frontend.models import model as model_module

K, H, O = 13, 9, 4


def _mlp(dropout=0.0, regularizer=None):
    keras.utils.set_random_seed(7)
    layers = [keras.Input((K,)),
              keras.layers.Dense(H, activation="relu",
                                 activity_regularizer=regularizer)]
    if dropout:
        layers.append(keras.layers.Dropout(dropout))
    layers.append(keras.layers.Dense(O, activation="softmax"))
    return keras.Sequential(layers)


def _want(model, x):
    """The model's function in float64 NumPy (Dense relu, Dense softmax)."""
    w0, b0, w1, b1 = model.get_weights()
    h = np.maximum(x.astype(np.float64) @ w0 + b0, 0)
    z = h @ w1 + b1
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def _compiled(model, x) -> bool:
    return model.__dict__.get("_call_modes", {}).get(x.shape[1:]) is True


def test_model_call_runs_compiled_after_eager_calls_with_their_results():
    model = _mlp()
    rng = np.random.default_rng(0)
    x = rng.normal(size=(1, K)).astype(np.float32)
    eager = [model(x) for _ in range(model_module.EAGER_CALLS)]
    assert not _compiled(model, x)
    got = [model(x) for _ in range(3)]
    assert _compiled(model, x)
    for y in eager + got:
        assert isinstance(y, np.ndarray) and y.dtype == np.float32
        assert y.shape == (1, O)
        np.testing.assert_allclose(y, eager[0], rtol=1e-5, atol=1e-7)
        np.testing.assert_allclose(y, _want(model, x), rtol=1e-5, atol=1e-7)
    assert got[0] is not got[1]  # fresh arrays
    # other batch sizes, float64 and non-contiguous arrays, new weights
    for n in (1, 3, 1):
        xn = rng.normal(size=(n, K)).astype(np.float32)
        np.testing.assert_allclose(model(xn), _want(model, xn), rtol=1e-5,
                                   atol=1e-7)
    x64 = rng.normal(size=(2, K))  # float64: cast, as the eager call does
    for _ in range(2):
        y = model(x64)
        assert y.dtype == np.float32
        np.testing.assert_allclose(y, _want(model, x64), rtol=1e-5, atol=1e-6)
    wide = np.repeat(x, 2, axis=1)[:, ::2]
    np.testing.assert_allclose(model(wide), _want(model, x), rtol=1e-5,
                               atol=1e-7)
    w = model.get_weights()
    model.set_weights([w[0], w[1], 2 * w[2], w[3]])
    np.testing.assert_allclose(model(x), _want(model, x), rtol=1e-5,
                               atol=1e-7)
    # a wrong per-sample shape fails as the eager call does
    with pytest.raises(ValueError, match=r"expected shape=\(None, 13\), "
                                         r"found shape=\(1, 7\)"):
        model(x[:, :7].copy())


@pytest.mark.parametrize("bad", [
    np.full((2, K), "1"), np.ones((2, K), "datetime64[s]"),
    np.ones((2, K), object), np.ones((2, K), np.complex64)],
    ids=["str", "datetime", "object", "complex"])
def test_a_compiled_model_call_refuses_non_numbers_as_the_eager_one(bad):
    # once model(x) runs compiled for a per-sample shape, an array of that
    # shape holding strings, datetimes, objects or complex numbers was cast
    # to float32 and computed (the eager call refuses it by name)
    model = _mlp()
    x = np.ones((2, K), np.float32)
    for _ in range(model_module.EAGER_CALLS + 2):
        model(x)
    assert _compiled(model, x)
    with pytest.raises(ValueError, match=r'Layer "sequential.*" '
                       r"\(Sequential\) cannot take an input of dtype "
                       + str(bad.dtype).replace("[", r"\[")):
        model(bad)


def test_training_calls_symbolic_inputs_and_losses_stay_eager():
    model = _mlp(dropout=0.5)
    x = np.ones((4, K), np.float32)
    for _ in range(model_module.EAGER_CALLS + 2):
        inference = model(x)
        trained = model(x, training=True)
    assert _compiled(model, x)
    np.testing.assert_allclose(inference, _want(model, x), rtol=1e-5,
                               atol=1e-7)
    assert not np.allclose(trained, inference)  # dropout ran
    np.testing.assert_allclose(model(x, training=False), inference,
                               rtol=1e-6)
    t = model(keras.Input((K,)))
    assert isinstance(t, keras.KerasTensor) and tuple(t.shape) == (None, O)
    # activity regularization: every call's losses, so every call eager
    reg = _mlp(regularizer=keras.regularizers.L2(0.1))
    for k in range(model_module.EAGER_CALLS + 2):
        reg(x * (k + 1))
        assert len(reg.losses) == 1
        h = np.maximum((x * (k + 1)) @ reg.get_weights()[0]
                       + reg.get_weights()[1], 0)
        np.testing.assert_allclose(float(reg.losses[0]),
                                   0.1 * np.sum(h**2) / len(x), rtol=1e-4)
    assert not _compiled(reg, x)


def test_a_subclassed_models_call_runs_every_time():
    class Counting(keras.Model):
        def __init__(self):
            super().__init__()
            self.dense = keras.layers.Dense(3)
            self.calls = 0

        def call(self, inputs):
            self.calls += 1
            return self.dense(inputs)

    m = Counting()
    x = np.ones((2, 5), np.float32)
    for _ in range(model_module.EAGER_CALLS + 2):
        m(x)
    assert m.calls == model_module.EAGER_CALLS + 2
    assert not _compiled(m, x)


def test_functional_models_with_two_outputs_and_overridden_calls():
    keras.utils.set_random_seed(3)
    inp = keras.Input((K,))
    h = keras.layers.Dense(H, activation="tanh")(inp)
    two = keras.Model(inp, [keras.layers.Dense(O)(h),
                            keras.layers.Dense(2)(h)])
    x = np.random.default_rng(1).normal(size=(3, K)).astype(np.float32)
    eager = two(x)
    for _ in range(model_module.EAGER_CALLS + 1):
        got = two(x)
    assert _compiled(two, x)
    assert isinstance(got, list) and len(got) == 2
    for g, e in zip(got, eager):
        assert isinstance(g, np.ndarray) and g.shape == e.shape
        np.testing.assert_allclose(g, e, rtol=1e-5, atol=1e-6)

    class Logged(keras.Model):  # a functional model with its own call()
        def call(self, inputs, training=None, mask=None):
            self.seen = getattr(self, "seen", 0) + 1
            return super().call(inputs, training=training, mask=mask)

    inp = keras.Input((K,))
    logged = Logged(inp, keras.layers.Dense(O)(inp))
    for _ in range(model_module.EAGER_CALLS + 2):
        logged(x)
    assert logged.seen == model_module.EAGER_CALLS + 2
    assert not _compiled(logged, x)
