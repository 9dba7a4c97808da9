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


def test_numpy_array_times_a_traced_tensor():
    # keras.io's warmup-cosine schedule keeps `self.pi = ops.array(np.pi)`
    # (a NumPy array eagerly) and multiplies a traced step by it: NumPy
    # must defer to the tensor's operator, not convert it
    class Warm(keras.optimizers.schedules.LearningRateSchedule):
        def __init__(self):
            super().__init__()
            self.pi = ops.array(np.pi)

        def __call__(self, step):
            t = ops.cast(step, "float32")
            return 0.01 * (1 + ops.cos(self.pi * t / 10.0)) / 2

        def get_config(self):
            return {}

    m = keras.Sequential([keras.Input((3,)), L.Dense(1)])
    m.compile(keras.optimizers.SGD(Warm()), "mse")
    x = np.ones((4, 3), "float32")
    m.fit(x, np.zeros((4, 1)), batch_size=2, epochs=2, verbose=0)
    lr = float(ops.convert_to_numpy(m.optimizer.learning_rate))
    np.testing.assert_allclose(lr, 0.01 * (1 + np.cos(np.pi * 4 / 10)) / 2,
                               rtol=1e-6)
    assert isinstance(np.float32(2.0) * ops.ones((2,)), np.ndarray)


class Orthogonal(keras.regularizers.Regularizer):
    """keras.io PointNet's penalty: its tensordot pairs every sample with
    every other, and the reshape after it merges the batch dimension."""

    def __init__(self, k, l2reg=0.001):
        self.k, self.l2reg = k, l2reg
        self.eye = ops.eye(k)

    def __call__(self, x):
        x = ops.reshape(x, (-1, self.k, self.k))
        xxt = ops.tensordot(x, x, axes=(2, 2))
        xxt = ops.reshape(xxt, (-1, self.k, self.k))
        return ops.sum(self.l2reg * ops.square(xxt - self.eye))

    def get_config(self):
        return {"k": self.k, "l2reg": self.l2reg}


def test_step_traced_per_batch_size_when_the_batch_must_be_concrete():
    def build():
        keras.utils.set_random_seed(3)
        inp = keras.Input((4,))
        t = L.Dense(9, activity_regularizer=Orthogonal(3))(inp)
        out = L.Dense(2)(L.Flatten()(L.Reshape((3, 3))(t)))
        return keras.Model(inp, out)

    rng = np.random.default_rng(0)
    x = rng.normal(size=(20, 4)).astype("float32")
    y = rng.normal(size=(20, 2)).astype("float32")
    a, b = build(), build()
    a.compile(keras.optimizers.SGD(0.05), "mse")
    b.compile(keras.optimizers.SGD(0.05), "mse", run_eagerly=True)
    # batches of 16 and 4: one program per batch size
    ha = a.fit(x, y, batch_size=16, epochs=2, shuffle=False, verbose=0)
    hb = b.fit(x, y, batch_size=16, epochs=2, shuffle=False, verbose=0)
    np.testing.assert_allclose(ha.history["loss"], hb.history["loss"],
                               rtol=1e-5)
    for wa, wb in zip(a.get_weights(), b.get_weights()):
        np.testing.assert_allclose(wa, wb, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(a.evaluate(x, y, batch_size=7, verbose=0),
                               b.evaluate(x, y, batch_size=7, verbose=0),
                               rtol=1e-5)


def test_one_target_for_the_outputs_that_have_a_loss():
    # keras.io's miniature GPT: outputs [logits, hidden], loss=[fn, None],
    # fit(x, y) with the one target of the logits
    inp = keras.Input((5,))
    hidden = L.Dense(4, activation="tanh")(inp)
    logits = L.Dense(3)(hidden)
    m = keras.Model(inp, [logits, hidden])
    loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    m.compile("adam", loss=[loss, None],
              metrics=[["sparse_categorical_accuracy"], None])
    x = np.random.default_rng(0).normal(size=(8, 5)).astype("float32")
    y = np.arange(8) % 3
    h = m.fit(x, y, epochs=1, verbose=0)
    want = float(loss(y, m.predict(x, verbose=0)[0]))
    got = m.evaluate(x, y, verbose=0, return_dict=True)
    np.testing.assert_allclose(got["loss"], want, rtol=1e-5)
    assert "loss" in h.history


def test_batch_size_read_as_a_number_in_a_layer():
    # keras.io's OCR CTCLayer reads ops.shape(y_true)[0] as a number (Keras's
    # backends trace with a concrete batch): the model builds with made-up
    # batch sizes, and fit traces the step per batch size
    class CTCLayer(L.Layer):
        def call(self, y_true, y_pred):
            batch_len = ops.cast(ops.shape(y_true)[0], dtype="int64")
            input_length = ops.cast(ops.shape(y_pred)[1], dtype="int64")
            label_length = ops.cast(ops.shape(y_true)[1], dtype="int64")
            ones = ops.ones(shape=(batch_len, 1), dtype="int64")
            loss = ops.ctc_loss(
                ops.cast(y_true, "int32"), y_pred,
                ops.cast(ops.squeeze(label_length * ones, -1), "int32"),
                ops.cast(ops.squeeze(input_length * ones, -1), "int32"))
            self.add_loss(ops.mean(loss))
            return y_pred

    def build():
        keras.utils.set_random_seed(1)
        seq = keras.Input((6, 3))
        labels = keras.Input((None,), dtype="float32")
        probs = L.Dense(5, activation="softmax")(L.Dense(8, "relu")(seq))
        out = CTCLayer()(labels, probs)
        return keras.Model([seq, labels], out)

    m = build()
    assert m.output.shape == (None, 6, 5)
    rng = np.random.default_rng(0)
    x = [rng.normal(size=(11, 6, 3)).astype("float32"),
         rng.integers(1, 5, (11, 3)).astype("float32")]
    twin = build()
    m.compile(keras.optimizers.Adam(1e-2))
    twin.compile(keras.optimizers.Adam(1e-2), run_eagerly=True)
    ha = m.fit(x, None, batch_size=8, epochs=2, shuffle=False, verbose=0)
    hb = twin.fit(x, None, batch_size=8, epochs=2, shuffle=False, verbose=0)
    np.testing.assert_allclose(ha.history["loss"], hb.history["loss"],
                               rtol=1e-5)
