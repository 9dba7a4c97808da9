"""Ways Keras programs call layers: the first call() argument by keyword
(`attention(query=q, value=v, key=k)`), and layers over a sequence of
unknown length whose positions index a fixed-size table (keras.io's
PositionalEmbedding), against the interpreter."""

from __future__ import annotations

import numpy as np

import graphkeras as keras

L = keras.layers
ops = keras.ops


def test_first_argument_by_keyword():
    q = keras.Input((4, 6))
    att = L.MultiHeadAttention(num_heads=2, key_dim=3)
    by_name = att(query=q, value=q, key=q)
    m = keras.Model(q, by_name)
    x = np.random.default_rng(0).normal(size=(2, 4, 6)).astype("float32")
    np.testing.assert_allclose(m.predict(x, verbose=0),
                               np.asarray(att(x, x, x)), rtol=1e-5,
                               atol=1e-6)
    d = L.Dense(3)
    np.testing.assert_allclose(np.asarray(d(inputs=x)), np.asarray(d(x)))


class PositionalEmbedding(L.Layer):
    def __init__(self, sequence_length, vocab_size, embed_dim, **kwargs):
        super().__init__(**kwargs)
        self.tokens = L.Embedding(vocab_size, embed_dim)
        self.positions = L.Embedding(sequence_length, embed_dim)

    def call(self, inputs):
        length = ops.shape(inputs)[-1]
        return self.tokens(inputs) + self.positions(ops.arange(0, length, 1))

    def compute_mask(self, inputs, mask=None):
        return ops.not_equal(inputs, 0)


def test_positions_over_an_unknown_length():
    # the model is built on (None, None) inputs; the spec trace's made-up
    # length (longer than the table) must not trip the index check
    def build():
        inp = keras.Input((None,), dtype="int64")
        out = L.GlobalAveragePooling1D()(PositionalEmbedding(8, 20, 4)(inp))
        return keras.Model(inp, out)

    m = build()
    assert m.output.shape == (None, 4)
    x = np.array([[3, 4, 5, 0, 0, 0, 0, 0], [1, 2, 3, 4, 5, 6, 7, 8]])
    twin = build()
    twin.set_weights(m.get_weights())
    twin.compile(run_eagerly=True, loss="mse")
    np.testing.assert_allclose(m.predict(x, verbose=0),
                               twin.predict(x, verbose=0), rtol=1e-5)
    # data longer than the table is still an error, naming the layer
    try:
        m.predict(np.ones((1, 9), "int64"), verbose=0)
    except Exception as e:  # noqa: BLE001 - the message is what is checked
        assert "embedding" in str(e).lower()
    else:
        raise AssertionError("an index past the table was accepted")
