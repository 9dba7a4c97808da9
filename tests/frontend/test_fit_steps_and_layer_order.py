"""Regressions found by tools/keras_parity.py (graphkeras against Keras 3's
own numbers), each checked here against NumPy or against graphkeras's own
step-by-step equivalent, so that no test needs Keras."""

import warnings

import numpy as np
import pytest

import graphkeras as keras
from graphkeras import ops

RNG = np.random.default_rng(2024)
X = RNG.normal(size=(48, 6)).astype("float32")
Y = RNG.normal(size=(48, 3)).astype("float32")
W0 = [RNG.normal(scale=0.4, size=(6, 8)).astype("float32"),
      RNG.normal(scale=0.1, size=(8,)).astype("float32"),
      RNG.normal(scale=0.4, size=(8, 3)).astype("float32"),
      RNG.normal(scale=0.1, size=(3,)).astype("float32")]


def _mlp(metrics=("mae",), lr=0.05):
    model = keras.Sequential([keras.Input((6,)),
                              keras.layers.Dense(8, activation="relu"),
                              keras.layers.Dense(3)])
    model.set_weights(W0)
    model.compile(keras.optimizers.SGD(lr), "mse", metrics=list(metrics))
    return model


def _numpy_forward(w, x):
    return np.maximum(x @ w[0] + w[1], 0) @ w[2] + w[3]


def test_train_on_batch_reports_this_batch_only():
    # Keras 3 resets the metrics in train_on_batch: the values returned are
    # those of this batch (before the update), not running means
    model = _mlp(metrics=["mae"])
    model.evaluate(X, Y, verbose=0)            # leaves metric state behind
    for lo in (0, 8):
        w = model.get_weights()
        err = _numpy_forward(w, X[lo:lo + 8]) - Y[lo:lo + 8]
        loss, mae = model.train_on_batch(X[lo:lo + 8], Y[lo:lo + 8])
        assert loss == pytest.approx(np.mean(err ** 2), rel=1e-5)
        assert mae == pytest.approx(np.mean(np.abs(err)), rel=1e-5)


def test_steps_per_epoch_continues_the_pass_and_stops_at_its_end():
    # 6 batches of 8, steps_per_epoch=4: Keras runs batches 0-3, then 4-5
    # (the pass ends: a shorter epoch, with a warning), then 0-3 again
    model = _mlp(metrics=[])
    with pytest.warns(UserWarning, match="ran out of data"):
        h = model.fit(X, Y, batch_size=8, steps_per_epoch=4, epochs=3,
                      shuffle=False, verbose=0)
    assert int(model.optimizer.iterations) == 10
    ref = _mlp(metrics=[])
    losses = []
    for batches in ([0, 1, 2, 3], [4, 5], [0, 1, 2, 3]):
        per = [ref.train_on_batch(X[8 * b:8 * b + 8], Y[8 * b:8 * b + 8])
               for b in batches]
        losses.append(np.mean(per))
    for a, b in zip(model.get_weights(), ref.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(h.history["loss"], losses, rtol=1e-5)


def test_steps_per_epoch_dividing_the_data_warns_nothing():
    model = _mlp(metrics=[])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model.fit(X, Y, batch_size=8, steps_per_epoch=3, epochs=4,
                  shuffle=False, verbose=0)
    assert int(model.optimizer.iterations) == 12


@pytest.mark.parametrize("mode", ["rows", "columns"])
def test_orthogonal_regularizer_value_and_loss(mode):
    w = W0[0] if mode == "rows" else W0[2]
    n = w / np.linalg.norm(w, axis=1 if mode == "rows" else 0, keepdims=True)
    gram = n @ n.T if mode == "rows" else n.T @ n
    size = len(gram)
    expect = 0.1 * 0.5 * np.abs(gram - np.diag(np.diag(gram))).sum() / (
        size * (size - 1) / 2)
    reg = keras.regularizers.OrthogonalRegularizer(0.1, mode=mode)
    assert float(np.asarray(reg(w))) == pytest.approx(expect, rel=1e-5)
    # in a model the penalty is part of the reported loss
    model = keras.Sequential([keras.Input((6,)), keras.layers.Dense(
        8, activation="relu", kernel_regularizer=reg if mode == "rows"
        else None), keras.layers.Dense(3, kernel_regularizer=None
                                       if mode == "rows" else reg)])
    model.set_weights(W0)
    model.compile("sgd", "mse")
    mse = np.mean((_numpy_forward(W0, X) - Y) ** 2)
    assert model.evaluate(X, Y, verbose=0) == pytest.approx(mse + expect,
                                                            rel=1e-5)
    again = keras.regularizers.get(keras.saving.serialize_keras_object(reg))
    assert again.get_config() == {"factor": 0.1, "mode": mode}
    with pytest.raises(ValueError, match="mode='diagonal'"):
        keras.regularizers.OrthogonalRegularizer(mode="diagonal")
    with pytest.raises(ValueError, match="rank 2"):
        reg(np.ones((2, 2, 2), "float32"))


def test_alpha_dropout_training_values_and_inference_identity():
    layer = keras.layers.AlphaDropout(0.3, seed=5)
    x = RNG.normal(size=(4000, 3)).astype("float32")
    np.testing.assert_array_equal(np.asarray(layer(x)), x)
    y = np.asarray(layer(x, training=True))
    alpha_p = -1.6732632423543772 * 1.0507009873554805
    a = ((1 - 0.3) * (1 + 0.3 * alpha_p ** 2)) ** -0.5
    b = -a * alpha_p * 0.3
    kept = np.isclose(y, a * x + b, atol=1e-5)
    dropped = np.isclose(y, a * alpha_p + b, atol=1e-5)
    assert np.all(kept | dropped)
    assert dropped.mean() == pytest.approx(0.3, abs=0.03)
    # mean 0 / variance 1 inputs keep (about) mean 0 / variance 1
    assert abs(y.mean()) < 0.05 and abs(y.var() - 1) < 0.08
    # a noise_shape broadcasts the mask; the config round-trips
    layer = keras.layers.AlphaDropout(0.5, noise_shape=(None, 1), seed=2)
    y = np.asarray(layer(x, training=True))
    rows_dropped = np.isclose(y, y[:, :1], atol=1e-6).all(axis=1)
    assert rows_dropped.mean() > 0.3
    cfg = layer.get_config()
    assert (cfg["rate"], tuple(cfg["noise_shape"]), cfg["seed"]) == (
        0.5, (None, 1), 2)


class _ScaleKeeper(keras.optimizers.SGD):
    """SGD that also keeps a scalar state `s`: the gradients are divided by
    it and it is updated to where(c, s, 2 s) -- an update that can be the
    state parameter itself, computed in place over a buffer the step
    reads (found with LossScaleOptimizer: the compiled step failed with a
    KeyError in plan_memory's end copies)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.s = self.add_variable((), initializer="ones", name="s")

    def apply(self, grads, variables):
        s = self.s.value
        c = ops.greater(ops.sum(grads[0]), 1e9)
        self.s.assign(ops.where(c, s, ops.multiply(s, 2.0)))
        super().apply([ops.divide(g, s) for g in grads], variables)


def test_state_update_selecting_its_own_parameter_compiles():
    results = []
    for eager in (True, False):
        model = _mlp(metrics=[])
        model.compile(_ScaleKeeper(0.1), "mse", run_eagerly=eager)
        model.fit(X, Y, batch_size=16, epochs=1, shuffle=False, verbose=0)
        results.append((float(model.optimizer.s), model.get_weights()))
    assert results[0][0] == results[1][0] == 8.0
    for a, b in zip(results[0][1], results[1][1]):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-7)


def test_functional_layers_in_keras_order():
    # Keras 3 orders a functional model's layers by depth from the outputs
    # (deepest first), so a branch with more layers before the merge comes
    # first; get/set_weights follow that order (graphkeras listed the layers
    # in call order: Keras's weight lists went to the wrong layers)
    L = keras.layers
    a = keras.Input((4,), name="num")
    b = keras.Input((1,), dtype="int32", name="cat")
    e = L.Flatten(name="flat")(L.Embedding(5, 3, name="emb")(b))
    h = L.Concatenate(name="cat_h")([L.BatchNormalization(name="bn")(a), e])
    out = L.Dense(1, name="out")(L.Dense(8, name="hidden")(h))
    model = keras.Model([a, b], out)
    # the order Keras 3.15 gives for this graph
    assert [layer.name for layer in model.layers] == [
        "cat", "num", "emb", "bn", "flat", "cat_h", "hidden", "out"]
    shapes = [tuple(w.shape) for w in model.get_weights()]
    assert shapes[0] == (5, 3) and shapes[1:5] == [(4,)] * 4
    # a model rebuilt from its config keeps the order and the weights
    again = keras.Model.from_config(model.get_config())
    assert [x.name for x in again.layers] == [x.name for x in model.layers]
    again.set_weights(model.get_weights())
    xa = RNG.normal(size=(5, 4)).astype("float32")
    xb = RNG.integers(0, 5, size=(5, 1)).astype("int32")
    np.testing.assert_allclose(again.predict([xa, xb], verbose=0),
                               model.predict([xa, xb], verbose=0), rtol=1e-6)


def test_metrics_with_several_values_are_logged_as_arrays():
    # Precision / Recall with a list of thresholds give one value each:
    # Keras logs the array (graphkeras raised converting it to a float)
    model = keras.Sequential([keras.Input((6,)),
                              keras.layers.Dense(1, activation="sigmoid")])
    model.set_weights([W0[2][:6, :1] * 0, np.zeros(1, "float32")])
    model.compile("sgd", "binary_crossentropy", metrics=[
        keras.metrics.Precision(thresholds=[0.3, 0.6], name="precision")])
    y = (X[:, :1] > 0).astype("float32")
    h = model.fit(X, y, batch_size=16, epochs=1, verbose=0)
    # all predictions are 0.5 after one tiny step: threshold 0.3 counts
    # every sample positive (precision = positive rate), 0.6 none (0)
    np.testing.assert_allclose(h.history["precision"][0], [y.mean(), 0.0],
                               rtol=1e-2)
    loss, precision = model.evaluate(X, y, verbose=0)
    assert np.shape(precision) == (2,) and isinstance(loss, float)
