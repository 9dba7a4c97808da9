"""Adaptive pooling (ops.adaptive_average_pool / adaptive_max_pool and the
six layers) gives Keras 3's numbers (fixtures/adaptive_pooling.npz and
.keras, written by Keras 3 with fixtures/make_keras_adaptive_pooling.py):
each layer on fixed inputs (sizes that do not divide, upsampling,
channels_first, 1D/2D/3D) eagerly and compiled, a Keras model file's
predictions and training step; a NumPy definition of the windows;
compiled gradients against the interpreter; ONNX; errors."""

import json
import os

import numpy as np
import pytest

import graphkeras as keras
from graphkeras import ops

L = keras.layers
HERE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures")
DATA = np.load(os.path.join(HERE, "adaptive_pooling.npz"))
CASES = json.loads(str(DATA["cases"]))
TOL = dict(rtol=1e-5, atol=1e-6)


def _numpy_adaptive(x, size, reduce):
    """The definition, channels last: output i along an axis of length L
    pools [floor(i L / n), ceil((i + 1) L / n))."""
    for ax, n in enumerate(size, start=1):
        length = x.shape[ax]
        parts = []
        for i in range(n):
            lo, hi = (i * length) // n, -(-((i + 1) * length) // n)
            parts.append(reduce(np.take(x, range(lo, hi), axis=ax), axis=ax,
                                keepdims=True))
        x = np.concatenate(parts, axis=ax)
    return x


@pytest.mark.parametrize("name", sorted(CASES))
def test_layers_give_kerass_numbers(name):
    cls, size, fmt, shape = CASES[name]
    x, want = DATA[f"{name}/x"], DATA[f"{name}/y"]
    layer = getattr(L, cls)(size if isinstance(size, int) else tuple(size),
                            data_format=fmt)
    np.testing.assert_allclose(np.asarray(layer(x)), want, **TOL)
    model = keras.Sequential([keras.Input(shape), layer])
    np.testing.assert_allclose(model.predict(x, verbose=0), want, **TOL)
    assert model.output_shape == (None,) + want.shape[1:]
    # and the NumPy definition
    rank = len(shape) - 1
    last = x if fmt is None else np.moveaxis(x, 1, -1)
    n = (size,) * rank if isinstance(size, int) else tuple(size)
    ref = _numpy_adaptive(last, n, np.mean if "Average" in cls else np.max)
    np.testing.assert_allclose(ref if fmt is None else np.moveaxis(ref, -1, 1),
                               want, **TOL)


def test_keras_model_predicts_and_trains_as_keras(tmp_path):
    model = keras.saving.load_model(os.path.join(HERE,
                                                 "adaptive_pooling.keras"))
    x, y = DATA["model/x"], DATA["model/y"]
    np.testing.assert_allclose(model.predict(x, verbose=0),
                               DATA["model/pred"], **TOL)
    np.testing.assert_allclose(model.train_on_batch(x, y),
                               DATA["model/loss"], rtol=1e-5)
    for k, w in enumerate(model.get_weights()):
        np.testing.assert_allclose(w, DATA[f"model/w{k}"], rtol=1e-4,
                                   atol=1e-6, err_msg=str(k))
    ort = __import__("onnxruntime")
    path = str(tmp_path / "m.onnx")
    model.export(path, format="onnx", verbose=False)
    sess = ort.InferenceSession(path)
    np.testing.assert_allclose(
        sess.run(None, {sess.get_inputs()[0].name: x})[0],
        model.predict(x, verbose=0), **TOL)


def test_compiled_training_equals_the_interpreter():
    rng = np.random.default_rng(4)
    x = rng.normal(size=(5, 7, 3)).astype("float32")
    y = rng.normal(size=(5, 2)).astype("float32")
    runs = []
    for eager in (False, True):
        keras.utils.set_random_seed(3)
        i = keras.Input((7, 3))
        h = L.Conv1D(4, 2, padding="same")(i)
        a = L.Flatten()(L.AdaptiveMaxPooling1D(3)(h))
        b = L.Flatten()(L.AdaptiveAveragePooling1D(5)(h))
        model = keras.Model(i, L.Dense(2)(L.Concatenate()([a, b])))
        model.compile("adam", "mse", run_eagerly=eager)
        losses = [float(model.train_on_batch(x, y)) for _ in range(3)]
        runs.append((losses, model.get_weights()))
    (l0, w0), (l1, w1) = runs
    np.testing.assert_allclose(l0, l1, rtol=2e-5)
    for a, b in zip(w0, w1):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)


def test_ops_namespaces_config_and_errors():
    assert ops.nn.adaptive_average_pool is ops.adaptive_average_pool
    assert ops.nn.adaptive_max_pool is ops.adaptive_max_pool
    x = np.arange(24, dtype="float32").reshape(1, 4, 6, 1)
    np.testing.assert_allclose(
        np.asarray(ops.adaptive_average_pool(x, 2))[0, :, :, 0],
        [[4.0, 7.0], [16.0, 19.0]])  # means of 2 x 3 blocks of 6 i + j
    layer = L.AdaptiveMaxPooling2D([3, 2], data_format="channels_first")
    config = layer.get_config()
    assert (config["output_size"], config["data_format"]) == (
        (3, 2), "channels_first")
    assert L.AdaptiveMaxPooling2D.from_config(config).get_config() == config
    with pytest.raises(TypeError, match=r"`output_size` must be an integer "
                       r"or \(height, width\) tuple"):
        L.AdaptiveAveragePooling2D((1, 2, 3))
    with pytest.raises(ValueError, match="positive integers"):
        L.AdaptiveAveragePooling1D(0)
    with pytest.raises(ValueError, match="ndim=4"):
        L.AdaptiveMaxPooling2D(2)(np.ones((1, 5, 3), "float32"))
