"""Sequential, functional and subclassed models; summary; get_layer."""

import contextlib
import io

import numpy as np
import pytest

import graphkeras as keras
from graphkeras import ops
from graphkeras.layers import Dense, Dropout, Input
from graphkeras.models import Model, Sequential

RNG = np.random.default_rng(1)
X = RNG.normal(size=(16, 8)).astype("float32")


def test_sequential_ways_give_the_same_structure():
    a = Sequential([Dense(4, input_shape=(8,)), Dense(2)])
    b = Sequential()
    b.add(Dense(4, input_dim=8))
    b.add(Dense(2))
    c = Sequential([Input((8,)), Dense(4), Dense(2)])
    for m in (a, b, c):
        assert m.built and len(m.layers) == 2
        assert m.output_shape == (None, 2) and m.input_shape == (None, 8)
        assert m.count_params() == 8 * 4 + 4 + 4 * 2 + 2


def test_deferred_sequential_builds_from_data():
    m = Sequential([Dense(4), Dense(2)])
    assert not m.built
    out = m.predict(X, verbose=0)
    assert m.built and out.shape == (16, 2)
    k0, b0, k1, b1 = m.get_weights()
    np.testing.assert_allclose(out, (X @ k0 + b0) @ k1 + b1, rtol=1e-4,
                               atol=1e-5)


def test_deferred_sequential_inside_a_layer_on_symbolic_tensors():
    # keras.io's text Transformer: a TransformerBlock's feed-forward
    # Sequential, without an Input, first called on a KerasTensor
    class Block(keras.layers.Layer):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.ffn = Sequential([Dense(6, activation="relu"), Dense(4)])

        def call(self, x):
            return self.ffn(x)

    inputs = keras.Input((5,))
    x = keras.layers.Embedding(10, 4)(inputs)
    model = keras.Model(inputs, Block()(x))
    assert model.output_shape == (None, 5, 4)
    ids = np.arange(10).reshape(2, 5)
    assert model.predict(ids, verbose=0).shape == (2, 5, 4)


def test_functional_multi_input_output_dicts_and_shared_layers():
    a, b = Input((8,), name="a"), Input((8,), name="b")
    shared = Dense(4, activation="relu")
    ha, hb = shared(a), shared(b)
    merged = ops.add(ha, hb)
    out1 = Dense(3, activation="softmax", name="cls")(merged)
    out2 = Dense(1, name="reg")(merged)
    model = Model({"a": a, "b": b}, {"cls": out1, "reg": out2})
    assert [l.name for l in model.layers][:2] == ["a", "b"]
    assert model.output_names == ["cls", "reg"]
    pred = model.predict({"a": X, "b": X * 2}, verbose=0)
    assert set(pred) == {"cls", "reg"} and pred["cls"].shape == (16, 3)
    # eager call gives the same
    eager = model({"a": X, "b": X * 2})
    np.testing.assert_allclose(eager["reg"], pred["reg"], rtol=1e-4, atol=1e-5)
    y1 = keras.utils.to_categorical(RNG.integers(0, 3, 16), 3)
    y2 = RNG.normal(size=(16, 1)).astype("float32")
    model.compile("adam", {"cls": "categorical_crossentropy", "reg": "mse"},
                  metrics={"cls": ["accuracy"]}, loss_weights={"cls": 1.0,
                                                                "reg": 0.5})
    h = model.fit({"a": X, "b": X}, {"cls": y1, "reg": y2}, epochs=2,
                  verbose=0)
    assert sorted(h.history) == ["cls_accuracy", "cls_loss", "loss", "reg_loss"]
    # Keras tracks each output's loss before its loss weight
    np.testing.assert_allclose(
        h.history["loss"][-1],
        h.history["cls_loss"][-1] + 0.5 * h.history["reg_loss"][-1], rtol=1e-4)


def test_nested_models():
    inner = Sequential([Dense(4, activation="relu", input_shape=(8,))])
    x = Input((8,))
    outer = Model(x, Dense(2)(inner(x)))
    assert inner in outer.layers
    assert len(outer.weights) == 4
    out = outer.predict(X, verbose=0)
    k0, b0, k1, b1 = outer.get_weights()
    np.testing.assert_allclose(out, np.maximum(X @ k0 + b0, 0) @ k1 + b1,
                               rtol=1e-4, atol=1e-5)


def test_subclassed_model_trains():
    class MLP(Model):
        def __init__(self):
            super().__init__()
            self.hidden = Dense(8, activation="relu")
            self.drop = Dropout(0.1)
            self.out = Dense(1)

        def call(self, inputs, training=None):
            return self.out(self.drop(self.hidden(inputs), training=training))

    keras.utils.set_random_seed(0)  # the loss must fall: not on chance
    m = MLP()
    assert m.name.startswith("mlp")
    y = X.sum(axis=1, keepdims=True)
    m.compile(keras.optimizers.Adam(0.01), "mse")
    h = m.fit(X, y, epochs=5, batch_size=8, verbose=0)
    assert h.history["loss"][-1] < h.history["loss"][0]
    # built on the first trace, and traced once
    assert len({id(e) for e in m._steps.values()}) == 1
    assert [l.name for l in m.layers] == [m.hidden.name, m.drop.name,
                                          m.out.name]
    assert len(m.trainable_weights) == 4


def test_get_layer():
    m = Sequential([Dense(2, input_shape=(3,), name="first"), Dense(1)])
    assert m.get_layer("first") is m.layers[0]
    assert m.get_layer(index=1) is m.layers[1]
    with pytest.raises(ValueError, match="No such layer: nope"):
        m.get_layer("nope")


def _summary(model):
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        model.summary(line_length=76)
    return buf.getvalue()


def test_summary_matches_keras_table():
    m = Sequential([Input((100,)), Dense(64, activation="relu", name="dense"),
                    Dropout(0.5, name="dropout"), Dense(10, name="dense_1")],
                   name="sequential")
    expected = """\
Model: "sequential"
┏━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━━━━┓
┃ Layer (type)                    ┃ Output Shape           ┃       Param # ┃
┡━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━━━━┩
│ dense (Dense)                   │ (None, 64)             │         6,464 │
├─────────────────────────────────┼────────────────────────┼───────────────┤
│ dropout (Dropout)               │ (None, 64)             │             0 │
├─────────────────────────────────┼────────────────────────┼───────────────┤
│ dense_1 (Dense)                 │ (None, 10)             │           650 │
└─────────────────────────────────┴────────────────────────┴───────────────┘
 Total params: 7,114 (27.79 KB)
 Trainable params: 7,114 (27.79 KB)
 Non-trainable params: 0 (0.00 B)
"""
    assert _summary(m) == expected


def test_summary_of_a_graph_has_connections():
    a, b = Input((4,), name="a"), Input((3,), name="b")
    c = ops.concatenate([a, b], axis=-1)
    m = Model([a, b], Dense(2, name="out")(c), name="graph")
    text = _summary(m)
    assert "Connected to" in text and "a[0][0], b[0][0]" in text
    assert "│ out (Dense)" in text


def test_unbuilt_summary_rows_and_subclassed_error():
    m = Sequential([Dense(3, name="d")])
    assert "0 (unbuilt)" in _summary(m) and "│ ?" in _summary(m)

    class Sub(Model):
        def call(self, x):
            return x

    with pytest.raises(ValueError, match="has not yet been built"):
        Sub().summary()


def test_wrong_number_of_inputs():
    a, b = Input((2,)), Input((2,))
    m = Model([a, b], ops.add(a, b))
    with pytest.raises(ValueError, match="expects 2 input"):
        m(np.ones((1, 2), "float32"))


def test_graph_disconnected():
    a, b = Input((2,)), Input((2,))
    with pytest.raises(ValueError, match="Graph disconnected"):
        Model(a, ops.add(a, b))
