"""Keras 3's eager semantics on arrays: add_loss / layer.losses from eager
calls and nested layers (cleared when an outermost call starts), activity
regularizers, `_keras_mask` on eager outputs, the mask protocol in
symbolic calls (call() gets the mask, an overridden compute_mask is used),
and `training=` reaching nested layers."""

import numpy as np

import graphkeras as keras
from graphkeras import ops


class ActivityRegularizationLayer(keras.layers.Layer):
    def call(self, inputs):
        self.add_loss(1e-2 * ops.sum(inputs))
        return inputs


class OuterLayer(keras.layers.Layer):
    def __init__(self):
        super().__init__()
        self.activity_reg = ActivityRegularizationLayer()

    def call(self, inputs):
        return self.activity_reg(inputs)


def test_losses_of_nested_layers_cleared_per_call():
    layer = OuterLayer()
    assert len(layer.losses) == 0
    layer(np.ones((1, 2), "float32"))
    assert len(layer.losses) == 1
    np.testing.assert_allclose(layer.losses[0], 0.02)
    layer(np.ones((1, 2), "float32") * 3)
    assert len(layer.losses) == 1  # not piled up across calls
    np.testing.assert_allclose(layer.losses[0], 0.06)


def test_activity_regularizer_in_eager_call():
    dense = keras.layers.Dense(3, activity_regularizer="l2",
                               kernel_initializer="ones")
    x = np.ones((2, 2), "float32")
    out = dense(x)
    assert len(dense.losses) == 1
    # Keras divides the activity penalty by the batch size
    np.testing.assert_allclose(dense.losses[0],
                               0.01 * np.sum(out ** 2) / 2, rtol=1e-6)


def test_keras_mask_on_eager_outputs():
    padded = keras.utils.pad_sequences([[711, 632, 71], [73, 8, 3215, 55]],
                                       padding="post")
    embedding = keras.layers.Embedding(input_dim=5000, output_dim=4,
                                       mask_zero=True)
    masked_output = embedding(padded)
    np.testing.assert_array_equal(masked_output._keras_mask, padded != 0)
    x = np.random.default_rng(0).random((2, 5, 3)).astype("float32")
    x[0, 3:] = 0
    masked = keras.layers.Masking()(x)
    np.testing.assert_array_equal(masked._keras_mask[0],
                                  [True, True, True, False, False])
    assert (masked + 1)._keras_mask is None  # arithmetic drops the mask


class MaskUser(keras.layers.Layer):
    """Overrides compute_mask without setting supports_masking."""

    def call(self, x, mask=None):
        self.got_mask = mask is not None
        return x * 2.0

    def compute_mask(self, inputs, mask=None):
        return ops.greater(ops.sum(ops.abs(inputs), axis=-1), 0.0)


def test_mask_protocol_in_symbolic_calls():
    inp = keras.Input((None,), dtype="int32")
    emb = keras.layers.Embedding(10, 4, mask_zero=True)(inp)
    assert emb._keras_mask is not None and emb._keras_mask.shape == (
        None, None)
    layer = MaskUser()
    out = layer(emb)
    assert layer.supports_masking and layer.got_mask
    assert out._keras_mask is not None
    model = keras.Model(inp, out)
    ids = np.array([[1, 2, 0, 0]])
    got = model.predict(ids, verbose=0)
    e = np.asarray(model.layers[1].embeddings)
    np.testing.assert_allclose(got[0], 2 * e[[1, 2, 0, 0]], rtol=1e-5)


def test_training_flag_reaches_nested_layers():
    seen = []

    class Probe(keras.layers.Layer):
        def call(self, x, training=None):
            seen.append(training)
            return x

    class Outer(keras.layers.Layer):
        def __init__(self):
            super().__init__()
            self.probe = Probe()

        def call(self, x):
            return self.probe(x)

    x = np.ones((1, 2), "float32")
    Outer()(x, training=True)
    Outer()(x, training=False)
    assert seen == [True, False]
