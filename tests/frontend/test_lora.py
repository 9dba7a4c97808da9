"""LoRA on Dense, EinsumDense, Conv2D and Embedding (layers/lora.py)
against Keras 3 (fixtures/make_keras_lora.py): weights and their order,
trainable flags, lora_alpha as Keras leaves it, predictions and one SGD
step from the same weights, Keras's saved file (merged weights), our own
save/load, compiled training against the interpreter, and errors."""

from __future__ import annotations

import os

import numpy as np
import pytest

import graphkeras as keras

FIXTURE = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                       "fixtures", "keras_lora")
L = keras.layers


def _build():
    img = keras.Input((6, 6, 2), name="img")
    tok = keras.Input((5,), dtype="int32", name="tok")
    x = L.Conv2D(3, 3, lora_rank=2, lora_alpha=4, name="conv")(img)
    x = L.Flatten()(x)
    t = L.Embedding(11, 4, lora_rank=2, name="emb")(tok)
    t = L.EinsumDense("abc,cd->abd", output_shape=(5, 3), lora_rank=1,
                      lora_alpha=3, bias_axes="d", name="ein")(t)
    t = L.Flatten()(t)
    h = L.Concatenate()([x, t])
    h = L.Dense(6, activation="tanh", lora_rank=3, lora_alpha=6,
                name="dense")(h)
    late = L.Dense(2, name="late")
    out = late(h)
    model = keras.Model({"img": img, "tok": tok}, out)
    late.enable_lora(2, lora_alpha=5)
    return model


@pytest.fixture(scope="module")
def fx():
    return np.load(FIXTURE + ".npz")


def _x(fx):
    return {"img": fx["img"], "tok": fx["tok"]}


def test_weights_order_trainable_and_alpha_as_keras(fx):
    m = _build()
    assert [w.path.split("/")[-2] + "/" + w.path.split("/")[-1]
            for w in m.weights] == list(fx["paths"])
    assert [w.path.split("/")[-2] + "/" + w.path.split("/")[-1]
            for w in m.trainable_weights] == list(fx["trainable"])
    alphas = {layer.name: str(layer.lora_alpha) for layer in m.layers
              if getattr(layer, "lora_enabled", False)}
    assert sorted(alphas.items()) == [tuple(r) for r in fx["alphas"]]


def test_predict_and_one_step_equal_keras(fx):
    m = _build()
    n = len([k for k in fx.files if k.startswith("w")])
    m.set_weights([fx[f"w{k}"] for k in range(n)])
    np.testing.assert_allclose(m.predict(_x(fx), verbose=0), fx["pred"],
                               rtol=1e-5, atol=1e-5)
    m.compile(keras.optimizers.SGD(0.1), "mse")
    loss = m.train_on_batch(_x(fx), fx["y"])
    np.testing.assert_allclose(loss, fx["loss"], rtol=1e-5)
    for k, w in enumerate(m.get_weights()):
        # the frozen kernels and embeddings do not move
        np.testing.assert_allclose(w, fx[f"a{k}"], rtol=1e-4, atol=1e-5)


def test_keras_file_holds_merged_weights(fx):
    m = keras.models.load_model(FIXTURE + ".keras")
    np.testing.assert_allclose(m.predict(_x(fx), verbose=0), fx["after_pred"],
                               rtol=1e-5, atol=1e-5)
    dense = m.get_layer("dense")
    assert dense.lora_enabled and dense.lora_rank == 3
    np.testing.assert_array_equal(dense.lora_kernel_b.numpy(), 0)
    np.testing.assert_array_equal(dense.lora_kernel_a.numpy(), 0)
    assert not dense._kernel.trainable


def test_save_load_and_compiled_training(tmp_path, fx):
    a, b = _build(), _build()
    b.set_weights(a.get_weights())
    a.compile(keras.optimizers.Adam(1e-2), "mse")
    b.compile(keras.optimizers.Adam(1e-2), "mse", run_eagerly=True)
    for _ in range(3):
        la = a.train_on_batch(_x(fx), fx["y"])
        lb = b.train_on_batch(_x(fx), fx["y"])
    np.testing.assert_allclose(la, lb, rtol=1e-5)
    for wa, wb in zip(a.get_weights(), b.get_weights()):
        np.testing.assert_allclose(wa, wb, rtol=1e-4, atol=1e-6)
    frozen = a.get_layer("dense")._kernel.numpy()
    np.testing.assert_array_equal(frozen, b.get_layer("dense")._kernel.numpy())
    assert np.abs(a.get_layer("dense").lora_kernel_b.numpy()).max() > 0
    path = str(tmp_path / "m.keras")
    a.save(path)
    back = keras.models.load_model(path)
    np.testing.assert_allclose(back.predict(_x(fx), verbose=0),
                               a.predict(_x(fx), verbose=0), rtol=1e-5,
                               atol=1e-6)
    # the file holds the merged kernel: a model without LoRA reads it too
    plain = keras.Sequential([keras.Input((4,)), L.Dense(3)])
    lora = keras.Sequential([keras.Input((4,)), L.Dense(3, lora_rank=2)])
    lora.layers[0].lora_kernel_b.assign(np.ones((2, 3), "float32"))
    wpath = str(tmp_path / "w.weights.h5")
    lora.save_weights(wpath)
    plain.load_weights(wpath)
    x = np.random.default_rng(0).normal(size=(3, 4)).astype("float32")
    np.testing.assert_allclose(plain.predict(x, verbose=0),
                               lora.predict(x, verbose=0), rtol=1e-6)


def test_errors():
    d = L.Dense(3)
    with pytest.raises(ValueError, match="isn't yet built"):
        d.enable_lora(2)
    d.build((None, 4))
    d.enable_lora(2)
    with pytest.raises(ValueError, match="already enabled"):
        d.enable_lora(2)
    c = L.Dense(3, kernel_constraint="non_neg")
    c.build((None, 4))
    with pytest.raises(ValueError, match="kernel constraints"):
        c.enable_lora(2)
    with pytest.raises(ValueError, match="lora_rank"):
        L.Dense(3, lora_rank=-1)
