"""Random models (tests/model_strategies.py): Sequential and Functional
graphs of Dense, convolutions, pooling, normalization, recurrent and
attention layers, merges and shared layers, at odd sizes and batches.
Compiled predict, one train_on_batch step and evaluate against the
reference interpreter; float64 gradients against finite differences.

A few examples per run on CI; `GRAPHKERAS_FUZZ_EXAMPLES=200` runs more,
and `python tools/fuzz_models.py` runs thousands, each in a watched
process (docs/testing_models.md)."""

from __future__ import annotations

import os
import sys

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import graphkeras as keras
from graphkeras import ops

sys.path.insert(0, os.path.dirname(os.path.dirname(__file__)))

from model_strategies import (  # noqa: E402
    HypothesisDraws,
    check_gradients,
    check_model,
    model_specs,
)

EXAMPLES = int(os.environ.get("GRAPHKERAS_FUZZ_EXAMPLES", "0") or 0)
_FUZZ = settings(max_examples=EXAMPLES or 3, deadline=None,
                 suppress_health_check=list(HealthCheck), print_blob=True)


@_FUZZ
@given(data=st.data())
def test_random_models_compiled_match_the_interpreter(data):
    spec = model_specs(HypothesisDraws(data), max_layers=5,
                       dtypes=("float32", "float32", "float64"))
    print(spec)  # hypothesis shows it for the failing example
    check_model(spec)


@settings(_FUZZ, max_examples=EXAMPLES or 6)
@given(data=st.data())
def test_random_model_gradients_match_finite_differences(data):
    spec = model_specs(HypothesisDraws(data), max_layers=4)
    print(spec)
    check_gradients(spec)


# --- what the random models found --------------------------------------------


def test_softplus_logaddexp_and_logit_crossentropy_at_zero():
    # softplus(x) = relu(x) + log1p(exp(-|x|)) had the gradient 0 at x = 0
    # (abs's and relu's gradients at 0 are 0), where softplus' is 1/2: a
    # layer with activation="softplus" and a bias of zeros sat there
    # (seed 1075: a Conv1D whose taps all fell in the padding)
    x = np.array([0.0, -1.5, 2.0], "float32")
    sig = 1 / (1 + np.exp(-x.astype("float64")))
    g = keras.ops.grad(lambda t: ops.sum(ops.softplus(t)))(x)
    np.testing.assert_allclose(g, sig, rtol=1e-6)
    g = keras.ops.grad(lambda t: ops.sum(ops.log_sigmoid(t)))(x)
    np.testing.assert_allclose(g, 1 - sig, rtol=1e-6)
    z = np.array([1.0, 0.0, 1.0], "float32")
    g = keras.ops.grad(lambda t: ops.sum(ops.binary_crossentropy(
        z, t, from_logits=True)))(x)
    np.testing.assert_allclose(g, sig - z, rtol=1e-6, atol=1e-7)
    # logaddexp(a, b) at a == b: 1/2 to each (it was 1 and 0)
    a = np.array([0.5, 1.0, -2.0], "float32")
    b = np.array([0.5, 3.0, -2.0], "float32")
    ga, gb = keras.ops.grad(lambda u, v: ops.sum(ops.logaddexp(u, v)),
                            argnums=(0, 1))(a, b)
    ea = np.exp(a.astype("float64"))
    eb = np.exp(b.astype("float64"))
    np.testing.assert_allclose(ga, ea / (ea + eb), rtol=1e-6)
    np.testing.assert_allclose(gb, eb / (ea + eb), rtol=1e-6)
    # the values are those of -|x| (bit for bit)
    np.testing.assert_array_equal(
        np.asarray(ops.softplus(x)),
        np.maximum(x, 0) + np.log1p(np.exp(-np.abs(x))).astype("float32"))


def test_normalization_of_one_element_is_exact_compiled():
    # LayerNormalization over a feature axis of one element (seed 1216) and
    # BatchNormalization trained on one sample output beta: x == mean.
    # x * inv + (-mean * inv) compiled to an FMA kept mean * inv's rounding
    # error (times 1 / sqrt(epsilon) = 1000), and Adam moved gamma by a
    # whole step on it where the interpreter's gradient was 0
    keras.utils.set_random_seed(3)
    inp = keras.Input((5,))
    h = keras.layers.Dense(1, activation="tanh")(inp)
    h = keras.layers.LayerNormalization(epsilon=1e-6)(h)
    out = keras.layers.Dense(2)(h)
    model = keras.Model(inp, out)
    model.compile(keras.optimizers.Adam(1e-3), "mse")
    x = np.random.default_rng(0).uniform(-1, 1, (7, 5)).astype("float32")
    y = np.ones((7, 2), "float32")
    np.testing.assert_array_equal(
        model.get_layer(index=2)(model.get_layer(index=1)(x)), 0.0)
    model.train_on_batch(x, y)
    gamma, beta = model.layers[2].get_weights()
    assert gamma[0] == 1.0  # no gradient reaches it: its input is 0
    assert beta[0] != 0.0
    # the compiled forward: exactly beta, not rounding noise
    probe = keras.Model(inp, model.layers[2].output)
    np.testing.assert_array_equal(probe.predict(x, verbose=0), beta[0])
    # far from 0, with a small spread: x - mean is exact where
    # x * inv - mean * inv cancelled
    ln = keras.Sequential([keras.Input((3,)),
                           keras.layers.LayerNormalization(epsilon=1e-6)])
    x = (1000.0 + np.array([[-0.01, 0.0, 0.01]])).astype("float32")
    d = x.astype("float64") - x.astype("float64").mean()
    want = d / np.sqrt((d ** 2).mean() + 1e-6)
    np.testing.assert_allclose(ln.predict(x, verbose=0), want, rtol=2e-5)


def test_embedding_takes_float_indices_as_keras_does():
    # Keras 3's Embedding casts float inputs to int32 (toward zero): -0.3
    # is row 0; the index check refused it before the cast (seed 6005)
    keras.utils.set_random_seed(1)
    inp = keras.Input((3,))
    model = keras.Model(inp, keras.layers.Embedding(4, 2)(inp))
    x = np.array([[-0.3, 1.7, 3.9]], "float32")
    table = model.layers[1].get_weights()[0]
    np.testing.assert_array_equal(model.predict(x, verbose=0)[0],
                                  table[[0, 1, 3]])
    np.testing.assert_array_equal(np.asarray(model(x))[0], table[[0, 1, 3]])
    with pytest.raises(ValueError, match="received the index 4.0"):
        model.predict(np.array([[0.0, 4.0, 1.0]], "float32"), verbose=0)
    with pytest.raises(ValueError, match="received the index -1.0"):
        model.predict(np.array([[0.0, -1.0, 1.0]], "float32"), verbose=0)
    # called eagerly on data, as in predict (the gather clamped: row 3)
    with pytest.raises(ValueError, match="received the index 4.0"):
        model(np.array([[0.0, 4.0, 1.0]], "float32"))
    with pytest.raises(ValueError, match="received the index 7"):
        model.layers[1](np.array([[7]]))


# --- degenerate shapes -------------------------------------------------------


def _chain(layers, shape, tokens=False, batch=1, **extra):
    spec = {"kind": "sequential", "dtype": "float32",
            "inputs": [(shape, "int32", 1) if tokens else
                       (shape, "float32", None)],
            "layers": layers,
            "calls": [(i, (i,), {}) for i in range(len(layers))],
            "outputs": [len(layers)], "batch": batch, "optimizer": "adam",
            "data_seed": 3, "fit": None, "sample_weight": False}
    spec.update(extra)
    return spec


DEGENERATE = {
    # one time step through every recurrent layer, stacked, both ways
    "sequence_of_one": _chain(
        [("LSTM", {"units": 3, "return_sequences": True}),
         ("GRU", {"units": 1, "return_sequences": True, "go_backwards": True}),
         ("SimpleRNN", {"units": 2})], (1, 4), batch=3),
    # a 1x1 image: same padding, strides and dilations larger than it
    "image_1x1": _chain(
        [("Conv2D", {"filters": 3, "kernel_size": 3, "padding": "same",
                     "strides": 2}),
         ("BatchNormalization", {}),
         ("MaxPooling2D", {"pool_size": 2, "padding": "same"}),
         ("Conv2D", {"filters": 2, "kernel_size": 5, "padding": "same",
                     "dilation_rate": 3}),
         ("GlobalAveragePooling2D", {})], (1, 1, 1)),
    # features of one, batch of one, a table of one row
    "ones_everywhere": _chain(
        [("Embedding", {"input_dim": 1, "output_dim": 1}),
         ("LayerNormalization", {}), ("Flatten", {}), ("Dense", {"units": 1}),
         ("BatchNormalization", {}), ("Dense", {"units": 1,
                                                "activation": "softplus"})],
        (1,), tokens=True),
    # the batch is larger than the data (one batch of 2 of batch_size 33)
    "batch_larger_than_data": _chain(
        [("Dense", {"units": 7}), ("Dropout", {"rate": 0.5})], (3,),
        batch=33, fit=3, sample_weight=True),
}


@pytest.mark.parametrize("case", sorted(DEGENERATE))
def test_degenerate_shapes_compiled_match_the_interpreter(case):
    check_model(DEGENERATE[case])


@pytest.mark.parametrize("make, fragments", [
    (lambda: keras.layers.Conv2D(2, 3)(keras.Input((1, 1, 2))),
     ["Computed output size would be zero or negative",
      "inputs shape=(None, 1, 1, 2)", "kernel_size=(3, 3)"]),
    (lambda: keras.layers.Conv1D(2, 2, dilation_rate=3)(keras.Input((3, 1))),
     ["Computed output size would be zero or negative", "dilation_rate=(3,)"]),
    (lambda: keras.layers.MaxPooling2D(2)(keras.Input((1, 1, 2))),
     ["Computed output size would be zero or negative",
      "inputs.shape=(None, 1, 1, 2)", "pool_size=(2, 2)", "padding=valid"]),
    (lambda: keras.layers.AveragePooling1D(3, strides=1)(keras.Input((2, 4))),
     ["Computed output size would be zero or negative", "pool_size=(3,)"]),
])
def test_windows_larger_than_the_input_are_keras_errors(make, fragments):
    # Keras 3 rejects these at the layer's call, with these words
    with pytest.raises(ValueError) as info:
        make()
    for f in fragments:
        assert f in str(info.value), str(info.value)


def test_zero_samples():
    model = keras.Sequential([keras.Input((5,)), keras.layers.Dense(3)])
    model.compile("sgd", "mse")
    empty = np.zeros((0, 5), "float32")
    assert model.predict_on_batch(empty).shape == (0, 3)
    assert np.asarray(model(empty)).shape == (0, 3)
    for call in (lambda: model.predict(empty, verbose=0),
                 lambda: model.fit(empty, np.zeros((0, 3)), verbose=0),
                 lambda: model.train_on_batch(empty, np.zeros((0, 3)))):
        with pytest.raises(ValueError, match="The data has 0 samples"):
            call()
