"""The "mixed_float16" policy (frontend/mixed_precision.py): float32
variables; a layer's floating inputs, the variables it autocasts and its
outputs rounded to float16 values; compile wraps the optimizer in a
LossScaleOptimizer as Keras 3 does. Against Keras 3's own file and numbers
(fixtures/make_keras_mixed_float16.py), the interpreter, ONNX Runtime and
float16's rounding."""

from __future__ import annotations

import os

import numpy as np
import pytest

import graphkeras as keras

HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURE = os.path.join(HERE, "fixtures", "keras_mixed_float16")


def _f16(x):
    with np.errstate(over="ignore"):
        return np.asarray(x, np.float32).astype(np.float16).astype(np.float32)


@pytest.fixture
def mixed():
    keras.mixed_precision.set_global_policy("mixed_float16")
    try:
        yield
    finally:
        keras.mixed_precision.set_global_policy("float32")


def _mlp(seed=0):
    keras.utils.set_random_seed(seed)
    return keras.Sequential([
        keras.Input((11,)),
        keras.layers.Dense(19, activation="relu"),
        keras.layers.BatchNormalization(),
        keras.layers.Dense(7, activation="tanh"),
        keras.layers.Dense(3, activation="softmax", dtype="float32"),
    ])


def test_policy_attributes_and_config(mixed):
    p = keras.mixed_precision.global_policy()
    assert (p.name, p.compute_dtype, p.variable_dtype) == (
        "mixed_float16", "float16", "float32")
    m = _mlp()
    dense, bn, head = m.layers[0], m.layers[1], m.layers[3]
    assert dense.dtype_policy.name == "mixed_float16"
    assert head.dtype_policy.name == "float32"
    assert dense.kernel.dtype == "float32" and bn.moving_mean.dtype == "float32"
    assert dense.get_config()["dtype"] == "mixed_float16"
    again = keras.layers.Dense.from_config(dense.get_config())
    assert again.dtype_policy.name == "mixed_float16"


def test_layers_compute_on_float16_values(mixed):
    rng = np.random.default_rng(1)
    x = rng.normal(size=(5, 11)).astype(np.float32) * 3
    m = _mlp()
    w = m.get_weights()
    # the first layer: float16 inputs and kernel, float16 output; the
    # float32 bias is autocast too (Keras reads every autocast variable as
    # float16 inside the layer)
    first = keras.Model(m.inputs, m.layers[0].output)
    got = first.predict_on_batch(x)
    want = _f16(np.maximum(_f16(x).astype(np.float64) @ _f16(w[0])
                           + _f16(w[1]), 0))
    np.testing.assert_allclose(got, want, rtol=2e-3, atol=1e-6)
    np.testing.assert_array_equal(got, _f16(got))
    # BatchNormalization: float32 statistics (autocast=False), float16 output
    hidden = keras.Model(m.inputs, m.layers[2].output).predict_on_batch(x)
    np.testing.assert_array_equal(hidden, _f16(hidden))
    # the float32 head's output is not rounded
    out = m.predict_on_batch(x)
    assert not np.array_equal(out, _f16(out))


def test_compiled_equals_interpreter_predict_and_train(mixed):
    rng = np.random.default_rng(2)
    x = rng.normal(size=(9, 11)).astype(np.float32)
    y = rng.integers(0, 3, 9)
    a, b = _mlp(4), _mlp(4)
    b.set_weights(a.get_weights())
    a.compile(keras.optimizers.Adam(1e-2), "sparse_categorical_crossentropy")
    b.compile(keras.optimizers.Adam(1e-2), "sparse_categorical_crossentropy",
              run_eagerly=True)
    np.testing.assert_allclose(a.predict(x, verbose=0),
                               b.predict(x, verbose=0), rtol=1e-5, atol=1e-6)
    for _ in range(2):
        la, lb = a.train_on_batch(x, y), b.train_on_batch(x, y)
    np.testing.assert_allclose(la, lb, rtol=1e-4)
    for wa, wb in zip(a.get_weights(), b.get_weights()):
        np.testing.assert_allclose(wa, wb, rtol=2e-3, atol=2e-5)


def test_compile_wraps_the_optimizer_in_loss_scaling(mixed):
    m = _mlp()
    m.compile("adam", "sparse_categorical_crossentropy")
    opt = m.optimizer
    assert isinstance(opt, keras.mixed_precision.LossScaleOptimizer)
    assert type(opt.inner_optimizer).__name__ == "Adam"
    x = np.random.default_rng(0).normal(size=(8, 11)).astype(np.float32)
    m.fit(x, np.arange(8) % 3, verbose=0)
    assert float(opt.dynamic_scale.numpy()) == 2.0 ** 15
    m2 = _mlp()
    m2.compile("adam", "mse", auto_scale_loss=False)
    assert type(m2.optimizer).__name__ == "Adam"
    # a float32 model is never wrapped
    keras.mixed_precision.set_global_policy("float32")
    m3 = _mlp()
    m3.compile("adam", "mse")
    assert type(m3.optimizer).__name__ == "Adam"


def test_overflow_is_inf_as_in_float16(mixed):
    layer = keras.layers.Dense(1, use_bias=False, kernel_initializer="ones")
    out = np.asarray(layer(np.float32([[40000.0, 30000.0], [1.0, 2.0]])))
    assert np.isinf(out[0, 0]) and out[1, 0] == 3.0


def test_keras3_file_loads_and_predicts_keras_numbers():
    f = np.load(FIXTURE + ".npz")
    # as Keras 3 itself: the file's optimizer was the LossScaleOptimizer
    # compile made, the compile config names Adam, and a loaded model has
    # the float32 policy, so its Adam is not wrapped and the loss scaling
    # slots are not loaded
    with pytest.warns(UserWarning, match="Skipping variable loading"):
        m = keras.models.load_model(FIXTURE + ".keras")
    assert type(m.optimizer).__name__ == "Adam"
    assert m.layers[1].dtype_policy.name == "mixed_float16"
    assert m.layers[-1].dtype_policy.name == "float32"
    x, y = f["x"], f["y"]
    # Keras computes in float16 arithmetic, graphkeras in float32 between
    # float16 roundings: the same numbers to float16's precision
    np.testing.assert_allclose(m.predict(x, verbose=0), f["pred"],
                               rtol=0, atol=1e-3)
    hidden = keras.Model(m.inputs, m.layers[-2].output).predict(x, verbose=0)
    np.testing.assert_array_equal(hidden, _f16(hidden))
    np.testing.assert_allclose(hidden, f["hidden"].astype(np.float32),
                               rtol=0, atol=8e-3)
    m.compile(keras.optimizers.SGD(0.1), "sparse_categorical_crossentropy")
    loss = m.train_on_batch(x, y)
    np.testing.assert_allclose(loss, f["loss"], rtol=3e-4)
    for k, w in enumerate(m.get_weights()):
        np.testing.assert_allclose(w, f[f"w{k}"], rtol=0,
                                   atol=5e-4 * (1 + np.abs(w).max()))


def test_save_load_and_onnx(mixed, tmp_path):
    ort = pytest.importorskip("onnxruntime")
    m = _mlp(5)
    x = np.random.default_rng(3).normal(size=(6, 11)).astype(np.float32)
    want = m.predict(x, verbose=0)
    path = str(tmp_path / "m.keras")
    m.save(path)
    keras.mixed_precision.set_global_policy("float32")
    back = keras.models.load_model(path)
    assert back.layers[0].dtype_policy.name == "mixed_float16"
    np.testing.assert_array_equal(back.predict(x, verbose=0), want)
    onnx_path = str(tmp_path / "m.onnx")
    back.export(onnx_path, format="onnx")
    sess = ort.InferenceSession(onnx_path, providers=["CPUExecutionProvider"])
    got = sess.run(None, {sess.get_inputs()[0].name: x})[0]
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
