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
