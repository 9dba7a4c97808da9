"""Sequences of any length: None in non-batch dimensions, as Keras allows.

Symbolic shapes carry None where Keras's do; compiled programs are traced
per concrete input shape (sharing weights and optimizer state), so one
model trains on one length and predicts on others, compiled as
interpreted; a Sequential built from data accepts other lengths; files
keep the None dimensions; a layer that needs a static size says so.
"""

import json
import os
import zipfile

import numpy as np
import pytest

import graphkeras as keras
from graphkeras import layers

HERE = os.path.dirname(__file__)


def _tokens(rng, n, length, vocab=30):
    """Token ids with some trailing padding (0) per row."""
    x = rng.integers(1, vocab, size=(n, length)).astype("int32")
    for i, keep in enumerate(rng.integers(1, length + 1, size=n)):
        x[i, keep:] = 0
    return x


RNNS = {
    "lstm": lambda: layers.LSTM(4),
    "gru": lambda: layers.GRU(4),
    "bidirectional": lambda: layers.Bidirectional(layers.LSTM(3)),
}


def _text_model(rnn):
    inp = keras.Input((None,), dtype="int32")
    x = layers.Embedding(30, 5, mask_zero=True)(inp)
    x = RNNS[rnn]()(x)
    return keras.Model(inp, layers.Dense(1, activation="sigmoid")(x))


@pytest.mark.parametrize("rnn", sorted(RNNS))
def test_text_classifier_trains_on_one_length_and_predicts_on_others(rnn):
    rng = np.random.default_rng(0)
    x7 = _tokens(rng, 24, 7)
    y = (x7[:, 0] % 2).astype("float32")[:, None]
    models = {}
    for eager in (False, True):
        keras.utils.set_random_seed(3)
        m = _text_model(rnn)
        m.compile("adam", "binary_crossentropy", run_eagerly=eager)
        m.fit(x7, y, batch_size=8, epochs=2, shuffle=False, verbose=0)
        models[eager] = m
    compiled, interpreted = models[False], models[True]
    assert compiled.output_shape == (None, 1)
    assert compiled.layers[1].output.shape == (None, None, 5)
    for a, b in zip(compiled.get_weights(), interpreted.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)
    x = _tokens(rng, 6, 11)
    x[3:, 1:] = 0  # three sequences of length 1, padded to 11
    for length in (1, 5, 11) if rnn == "lstm" else (1, 11):
        got = compiled.predict(x[:, :length], verbose=0)
        assert got.shape == (6, 1)
        np.testing.assert_allclose(
            got, interpreted.predict(x[:, :length], verbose=0),
            rtol=1e-4, atol=1e-5)
    # padding changes nothing under the mask: length 1 == padded to 11
    np.testing.assert_allclose(compiled.predict(x[3:, :1], verbose=0),
                               got[3:], rtol=1e-5, atol=1e-6)
    if rnn != "lstm":
        return
    # evaluate / train_on_batch / predict_on_batch / __call__ on new lengths
    x9 = _tokens(rng, 8, 9)
    y9 = (x9[:, 0] % 2).astype("float32")[:, None]
    assert np.isfinite(compiled.evaluate(x9, y9, verbose=0))
    assert np.isfinite(compiled.train_on_batch(x9, y9))
    x4 = _tokens(rng, 3, 4)
    np.testing.assert_allclose(compiled.predict_on_batch(x4),
                               np.asarray(compiled(x4)), rtol=1e-5, atol=1e-6)


def _simple_rnn_reference(x, kernel, recurrent, bias):
    h = np.zeros((x.shape[0], kernel.shape[1]), "float64")
    for t in range(x.shape[1]):
        h = np.tanh(x[:, t] @ kernel + h @ recurrent + bias)
    return h


def test_simple_rnn_matches_numpy_at_every_length():
    keras.utils.set_random_seed(4)
    rng = np.random.default_rng(4)
    inp = keras.Input((None, 3))
    rnn = layers.SimpleRNN(4)
    model = keras.Model(inp, rnn(inp))
    assert model.output_shape == (None, 4)
    weights = [w.astype("float64") for w in rnn.get_weights()]
    for length in (1, 6, 13):
        x = rng.normal(size=(5, length, 3)).astype("float32")
        want = _simple_rnn_reference(x.astype("float64"), *weights)
        np.testing.assert_allclose(model.predict(x, verbose=0), want,
                                   rtol=1e-5, atol=1e-6)


def test_conv1d_global_max_pooling_on_variable_lengths():
    keras.utils.set_random_seed(5)
    rng = np.random.default_rng(5)
    inp = keras.Input((None, 3))
    x = layers.Conv1D(4, 3, activation="relu")(inp)
    assert x.shape == (None, None, 4)
    x = layers.MaxPooling1D(2)(x)
    x = layers.GlobalMaxPooling1D()(x)
    assert x.shape == (None, 4)
    model = keras.Model(inp, layers.Dense(2)(x))
    model.compile("sgd", "mse")
    model.fit(rng.normal(size=(16, 8, 3)).astype("float32"),
              rng.normal(size=(16, 2)).astype("float32"), verbose=0)
    for length in (4, 12, 21):
        x = rng.normal(size=(3, length, 3)).astype("float32")
        got = model.predict(x, verbose=0)
        model.run_eagerly = True
        want = model.predict(x, verbose=0)
        model.run_eagerly = False
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


def test_sequential_built_from_data_accepts_other_lengths():
    keras.utils.set_random_seed(6)
    rng = np.random.default_rng(6)
    m = keras.Sequential([layers.Embedding(50, 8), layers.LSTM(4),
                          layers.Dense(1)])
    m.compile("adam", "mse")
    x7 = rng.integers(0, 50, size=(16, 7)).astype("int32")
    m.fit(x7, rng.normal(size=(16, 1)).astype("float32"), verbose=0)
    assert m.layers[0].output.shape == (None, 7, 8)  # built shape kept
    x11 = rng.integers(0, 50, size=(3, 11)).astype("int32")
    got = m.predict(x11, verbose=0)
    assert got.shape == (3, 1)
    np.testing.assert_allclose(np.asarray(m(x11)), got, rtol=1e-5, atol=1e-6)
    # a shape its layers cannot take is refused by the layer that needs it
    dense = keras.Sequential([layers.Dense(2)])
    dense.compile("sgd", "mse")
    dense.fit(np.ones((4, 5), "float32"), np.ones((4, 2), "float32"),
              verbose=0)
    with pytest.raises(ValueError, match=r'layer "dense\w*" is incompatible'
                       r".*expected axis -1 of input shape to have value 5"):
        dense.predict(np.ones((2, 6), "float32"), verbose=0)
    with pytest.raises(ValueError, match="expected ndim=2, found ndim=3"):
        dense.predict(np.ones((2, 6, 5), "float32"), verbose=0)


def test_programs_per_length_are_bounded_and_share_the_weights():
    from graphkeras.frontend import trainer

    keras.utils.set_random_seed(7)
    inp = keras.Input((None, 2))
    model = keras.Model(inp, layers.GlobalAveragePooling1D()(
        layers.Dense(3)(inp)))
    model.compile("sgd", "mse", run_eagerly=True)
    x = np.ones((2, 3, 2), "float32")
    first = model.predict(x, verbose=0)
    for length in range(1, trainer._MAX_PROGRAMS + 3):
        model.predict(np.ones((2, length, 2), "float32"), verbose=0)
    assert len(model._steps) <= trainer._MAX_PROGRAMS
    # mean over time of a constant sequence does not depend on its length
    np.testing.assert_allclose(model.predict(x, verbose=0), first, rtol=1e-6)


def test_symbolic_shapes_carry_none_like_keras():
    inp = keras.Input((None, 6))
    assert layers.Conv1D(2, 3, strides=2)(inp).shape == (None, None, 2)
    assert layers.TimeDistributed(layers.Dense(3))(inp).shape == (
        None, None, 3)
    assert layers.MultiHeadAttention(2, 3)(inp, inp).shape == (None, None, 6)
    assert layers.Concatenate(axis=1)([inp, inp]).shape == (None, None, 6)
    assert layers.LSTM(3, return_sequences=True)(inp).shape == (None, None, 3)
    assert layers.Reshape((-1, 2, 3))(inp).shape == (None, None, 2, 3)
    assert layers.Flatten()(inp).shape == (None, None)
    fixed = keras.Input((5, None))  # unknown last axis, known time axis
    assert layers.GlobalMaxPooling1D()(fixed).shape == (None, None)
    assert layers.Dense(2).compute_output_shape((None, None, 4)) == (
        None, None, 2)


def test_layers_that_need_a_static_size_say_so():
    inp = keras.Input((None, 4))
    with pytest.raises(ValueError, match=r'"dense\w*".*last dimension of the '
                       r"inputs must be known"):
        layers.Dense(2)(layers.Flatten()(inp))
    with pytest.raises(ValueError, match=r'Layer "reshape\w*" \(Reshape\) '
                       r"cannot be called on input 0 of shape \(None, None, "
                       r"4\): it needs a static size"):
        layers.Reshape((28,))(inp)

    class PerStep(layers.Layer):
        def build(self, input_shape):
            self.w = self.add_weight(shape=input_shape[1:], name="w")

        def call(self, x):
            return x * self.w

    with pytest.raises(ValueError, match=r'"per_step\w*" \(PerStep\) cannot '
                       r'create its weight "w" of shape \(None, 4\).*built for '
                       r"inputs of shape \(None, None, 4\)"):
        PerStep()(inp)


def test_save_and_load_keep_the_unknown_dimensions(tmp_path):
    keras.utils.set_random_seed(8)
    rng = np.random.default_rng(8)
    model = _text_model("gru")
    path = str(tmp_path / "m.keras")
    model.save(path)
    with zipfile.ZipFile(path) as z:
        config = json.loads(z.read("config.json"))
    first = config["config"]["layers"][0]["config"]
    assert first["batch_shape"] == [None, None]
    loaded = keras.saving.load_model(path)
    assert loaded.input_shape == (None, None)
    for length in (3, 10):
        x = _tokens(rng, 4, length)
        np.testing.assert_allclose(loaded.predict(x, verbose=0),
                                   model.predict(x, verbose=0),
                                   rtol=1e-6, atol=1e-7)
    # ONNX needs every non-batch size: the export says which input lacks one
    with pytest.raises(ValueError, match=r"input '\w+' has the shape "
                       r"\(None, None\) with an unknown non-batch dimension"):
        model.export(str(tmp_path / "m.onnx"))


@pytest.mark.filterwarnings("ignore:Layer .conv1d")
def test_keras3_sequential_file_on_input_none_predicts_keras_numbers():
    """A Keras 3 Sequential on Input((None,)) (Embedding, Bidirectional GRU,
    Conv1D, GlobalMaxPooling1D; fixtures/make_variable_length.py) predicts
    Keras's numbers at two lengths, neither the length it was built on."""
    fixtures = os.path.join(HERE, "fixtures")
    model = keras.saving.load_model(
        os.path.join(fixtures, "variable_length.keras"))
    assert model.input_shape == (None, None)
    assert model.layers[1].output.shape == (None, None, 6)
    with np.load(os.path.join(fixtures, "variable_length.npz")) as d:
        cases = [(d["x0"], d["y0"]), (d["x1"], d["y1"])]
    for x, y in cases:
        np.testing.assert_allclose(model.predict(x, verbose=0), y,
                                   rtol=1e-5, atol=1e-6)
