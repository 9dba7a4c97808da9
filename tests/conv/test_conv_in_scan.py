"""Convolutions and pooling inside a scan body (TimeDistributed over a
sequence of images): the program links the conv library and sizes the
workspace for the body's kernels too. Before, the library was missing
(MCJIT linked the call to address 0 and predict segfaulted; then the
link check refused the module). Compiled predict and training against the
interpreter."""

from __future__ import annotations

import numpy as np
import pytest

import graphkeras as keras

L = keras.layers


def _model(kind):
    keras.utils.set_random_seed(3)
    if kind == "conv2d":
        i = keras.Input((3, 7, 7, 2))
        x = L.TimeDistributed(L.Conv2D(3, 3, activation="relu"))(i)
        x = L.TimeDistributed(L.MaxPooling2D())(x)
        x = L.TimeDistributed(L.Flatten())(x)
    else:
        i = keras.Input((4, 9, 2))
        x = L.TimeDistributed(L.Conv1D(5, 3, padding="same"))(i)
        x = L.TimeDistributed(L.GlobalAveragePooling1D())(x)
    x = L.LSTM(4)(x)
    return keras.Model(i, L.Dense(2, activation="softmax")(x))


@pytest.mark.parametrize("kind", ["conv2d", "conv1d"])
def test_time_distributed_convolutions_compile_and_train_as_interpreted(kind):
    shape = (3, 7, 7, 2) if kind == "conv2d" else (4, 9, 2)
    rng = np.random.default_rng(0)
    x = rng.random((5, *shape)).astype("float32")
    y = rng.integers(0, 2, 5)
    runs = []
    for eager in (False, True):
        m = _model(kind)
        m.compile("adam", "sparse_categorical_crossentropy",
                  run_eagerly=eager)
        h = m.fit(x, y, epochs=2, batch_size=3, verbose=0, shuffle=False)
        runs.append((h.history["loss"], m.predict(x, verbose=0),
                     m.predict(x[:1], verbose=0), m.get_weights()))
    (l0, p0, q0, w0), (l1, p1, q1, w1) = runs
    np.testing.assert_allclose(l0, l1, rtol=1e-5)
    np.testing.assert_allclose(p0, p1, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(q0, q1, rtol=1e-5, atol=1e-6)
    for a, b in zip(w0, w1):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)
