"""GlobalAveragePooling1D takes the mask, as Keras 3's (supports_masking):
the mean of the unmasked steps, no "does not support masking" warning, and
no mask on its output; the other global poolings take none."""

from __future__ import annotations

import warnings

import numpy as np

import graphkeras as keras

L = keras.layers


def test_global_average_pooling_1d_takes_and_ends_the_mask():
    i = keras.Input((6,), dtype="int32")
    e = L.Embedding(10, 4, mask_zero=True)(i)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no "destroy the mask" warning
        g = L.GlobalAveragePooling1D()(e)
    model = keras.Model(i, [g, e])
    x = np.array([[1, 2, 0, 0, 0, 0], [3, 4, 5, 6, 7, 8]], "int32")
    pooled, emb = model.predict(x, verbose=0)
    np.testing.assert_allclose(pooled[0], emb[0, :2].mean(0), rtol=1e-6)
    np.testing.assert_allclose(pooled[1], emb[1].mean(0), rtol=1e-6)
    assert getattr(g, "_keras_mask", None) is None
    assert L.GlobalAveragePooling1D().supports_masking
    assert not L.GlobalMaxPooling1D().supports_masking
    assert not L.GlobalAveragePooling2D().supports_masking


def test_attention_and_ops_on_masked_tensors_do_not_warn():
    # the transformer text classifier of keras.io: token + position
    # embeddings (an op on a masked tensor), self-attention on the mask
    i = keras.Input((6,), dtype="int32")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        x = L.Embedding(10, 8, mask_zero=True)(i)
        x = x + keras.ops.arange(6, dtype="float32")[:, None]
        x = L.MultiHeadAttention(num_heads=2, key_dim=4)(x, x)
        x = L.GlobalAveragePooling1D()(x)
    model = keras.Model(i, L.Dense(1)(x))
    out = model.predict(np.array([[1, 2, 0, 0, 0, 0]], "int32"), verbose=0)
    assert np.isfinite(out).all()


def test_output_masks_weigh_metrics_and_losses_as_keras():
    # Keras 3 (TF and torch backends, and evaluate on JAX): the outputs'
    # mask from Embedding(mask_zero) weighs the loss and the metrics;
    # numbers from Keras 3.15 for these weights
    L = keras.layers
    i = keras.Input((6,), dtype="int32")
    x = L.Embedding(10, 4, mask_zero=True)(i)
    m = keras.Model(i, L.Dense(5, activation="softmax")(x))
    m.set_weights([np.random.default_rng(k).normal(size=v.shape).astype(
        "float32") for k, v in enumerate(m.weights)])
    xs = np.array([[1, 2, 3, 0, 0, 0], [4, 5, 0, 0, 0, 0], [1, 1, 1, 1, 1, 2]])
    ys = np.array([[1, 2, 3, 4, 4, 4], [0, 1, 2, 2, 2, 2], [1, 1, 1, 1, 1, 1]])
    m.compile("sgd", "sparse_categorical_crossentropy", metrics=["accuracy"])
    loss, acc = m.evaluate(xs, ys, verbose=0)
    np.testing.assert_allclose([loss, acc], [2.0562851428985596, 1 / 11],
                               rtol=1e-5)


def test_a_layer_on_several_masked_inputs_keeps_the_first_mask():
    # Keras pairs the flat outputs with the flat input masks: one output of
    # a supports_masking layer called on [x, context] takes x's mask
    class Mix(keras.layers.Layer):
        def __init__(self):
            super().__init__()
            self.supports_masking = True

        def call(self, inputs, mask=None):
            a, b = inputs
            return a + keras.ops.mean(b, axis=1, keepdims=True)

    L = keras.layers
    a_in = keras.Input((5,), dtype="int32")
    b_in = keras.Input((3,), dtype="int32")
    a = L.Embedding(9, 2, mask_zero=True)(a_in)
    b = L.Embedding(9, 2, mask_zero=True)(b_in)
    out = L.Dense(4, activation="softmax")(Mix()([a, b]))
    m = keras.Model([a_in, b_in], out)
    m.compile("sgd", "sparse_categorical_crossentropy", metrics=["accuracy"])
    xa = np.array([[1, 2, 0, 0, 0], [3, 0, 0, 0, 0]])
    xb = np.array([[1, 1, 1], [2, 2, 0]])
    p = m.predict([xa, xb], verbose=0)
    y = p.argmax(-1)
    y[:, 1:] = (y[:, 1:] + 1) % 4  # right at step 0 only
    _, acc = m.evaluate([xa, xb], y, verbose=0)
    # accuracy over the 3 unmasked steps of xa only (over all: 2 / 10)
    np.testing.assert_allclose(acc, 2 / 3, rtol=1e-6)


def test_an_explicit_mask_carries_to_the_next_layer():
    # keras.io's video classifier: GRU(..., return_sequences=True)(x,
    # mask=m) and a GRU after it, which must see m too (Keras takes the
    # explicit mask as the one the outputs' mask follows)
    L = keras.layers
    feats = keras.Input((None, 3))
    mask_in = keras.Input((None,), dtype="bool")
    h = L.GRU(4, return_sequences=True)(feats, mask=mask_in)
    m = keras.Model([feats, mask_in], L.GRU(2)(h))
    rng = np.random.default_rng(0)
    x = rng.normal(size=(3, 6, 3)).astype("float32")
    lengths = [3, 6, 1]
    mask = np.arange(6)[None, :] < np.array(lengths)[:, None]
    got = m.predict([x, mask], verbose=0)
    for i, n in enumerate(lengths):
        alone = m.predict([x[i:i + 1, :n], np.ones((1, n), bool)], verbose=0)
        np.testing.assert_allclose(got[i], alone[0], rtol=1e-5, atol=1e-6)


def test_named_masks_of_several_tensor_arguments():
    # Keras 3: call(self, query, value, query_mask=None, value_mask=None)
    # gets each argument's mask under its name (numbers from Keras 3.15)
    L, ops = keras.layers, keras.ops

    class Pool2(L.Layer):
        def call(self, query, value, query_mask=None, value_mask=None):
            vm = ops.cast(ops.expand_dims(value_mask, -1), "float32")
            qm = ops.cast(ops.expand_dims(query_mask, -1), "float32")
            return ops.sum(query * qm, axis=1) + ops.sum(value * vm, axis=1)

    a = keras.Input((5,), dtype="int32")
    b = keras.Input((4,), dtype="int32")
    ea = L.Embedding(10, 3, mask_zero=True)(a)
    eb = L.Embedding(10, 3, mask_zero=True)(b)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # Keras's "will destroy the mask"
        m = keras.Model([a, b], Pool2()(ea, eb))
        m.set_weights([np.arange(30, dtype="float32").reshape(10, 3),
                       np.ones((10, 3), "float32")])
        xa = np.array([[1, 2, 0, 0, 0], [3, 0, 0, 0, 0]])
        xb = np.array([[1, 1, 1, 0], [2, 0, 0, 0]])
        got = m.predict([xa, xb], verbose=0)
    np.testing.assert_array_equal(got, [[12, 14, 16], [10, 11, 12]])
