"""SpectralNormalization gives Keras 3's numbers (fixtures/
spectral_norm.keras and .npz, written by Keras 3 on JAX with
fixtures/make_keras_spectral_norm.py): a model with it around Conv2D
(power_iterations=2) and Dense loads, predicts, and after one Adam step
has Keras's weights, vector_u and predictions; compiled training against
the interpreter; the normalized kernel's spectral norm; eager calls;
files; errors."""

import os

import numpy as np
import pytest

import graphkeras as keras

L = keras.layers
HERE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures")
DATA = np.load(os.path.join(HERE, "spectral_norm.npz"))
TOL = dict(rtol=1e-5, atol=1e-6)


def test_keras_model_predicts_and_trains_as_keras(tmp_path):
    model = keras.saving.load_model(os.path.join(HERE, "spectral_norm.keras"))
    x, y = DATA["x"], DATA["y"]
    np.testing.assert_allclose(model.predict(x, verbose=0), DATA["pred"],
                               **TOL)
    weights = model.get_weights()
    # Keras's order: kernel, vector_u, bias per wrapper
    assert [w.shape for w in weights] == [
        DATA[f"w{k}"].shape for k in range(len(weights))]
    np.testing.assert_allclose(model.train_on_batch(x, y), DATA["loss"],
                               rtol=1e-5)
    for k, w in enumerate(model.get_weights()):
        np.testing.assert_allclose(w, DATA[f"w{k}"], rtol=1e-4, atol=1e-6,
                                   err_msg=str(k))
    np.testing.assert_allclose(model.predict(x, verbose=0),
                               DATA["pred_after"], rtol=1e-4, atol=1e-5)
    model.save(str(tmp_path / "m.keras"))
    again = keras.saving.load_model(str(tmp_path / "m.keras"))
    for a, b in zip(again.get_weights(), model.get_weights()):
        np.testing.assert_array_equal(a, b)


def _model():
    keras.utils.set_random_seed(5)
    i = keras.Input((5, 3))
    h = L.SpectralNormalization(L.Conv1D(4, 2), power_iterations=3)(i)
    h = L.SpectralNormalization(L.Dense(2))(L.Flatten()(h))
    return keras.Model(i, h)


def test_compiled_training_equals_the_interpreter():
    rng = np.random.default_rng(2)
    x = rng.normal(size=(6, 5, 3)).astype("float32")
    y = rng.normal(size=(6, 2)).astype("float32")
    runs = []
    for eager in (False, True):
        model = _model()
        model.compile("adam", "mse", run_eagerly=eager)
        h = model.fit(x, y, epochs=2, batch_size=4, verbose=0, shuffle=False)
        runs.append((h.history["loss"], model.get_weights()))
    (l0, w0), (l1, w1) = runs
    np.testing.assert_allclose(l0, l1, rtol=2e-5)
    for a, b in zip(w0, w1):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)


def test_power_iterations_estimate_the_spectral_norm():
    keras.utils.set_random_seed(1)
    sn = L.SpectralNormalization(L.Dense(5), power_iterations=50)
    x = np.ones((2, 4), "float32")
    sn(x)
    w = sn.layer.kernel.numpy()
    u, kernel = sn.normalized_weights()
    np.testing.assert_allclose(np.asarray(kernel) * np.linalg.norm(w, 2), w,
                               rtol=1e-4)
    # eager training call: Keras assigns the normalized kernel
    sn(x, training=True)
    assert abs(np.linalg.norm(sn.layer.kernel.numpy(), 2) - 1.0) < 1e-4
    # a kernel of zeros stays zeros (no division by 0)
    sn.layer.kernel.assign(np.zeros_like(w))
    out = np.asarray(sn(x, training=True))
    assert np.all(np.isfinite(out)) and np.all(sn.layer.kernel.numpy() == 0)


def test_config_and_errors():
    sn = L.SpectralNormalization(L.Dense(3), power_iterations=2, name="sn")
    config = sn.get_config()
    assert config["power_iterations"] == 2
    again = L.SpectralNormalization.from_config(config)
    assert again.power_iterations == 2 and type(again.layer).__name__ == \
        "Dense"
    with pytest.raises(ValueError, match="`power_iterations` should be "
                       "greater than zero. Received: `power_iterations=0`"):
        L.SpectralNormalization(L.Dense(3), power_iterations=0)
    with pytest.raises(ValueError, match="LayerNormalization object has no "
                       "attribute 'kernel' nor 'embeddings'"):
        L.SpectralNormalization(L.LayerNormalization())(np.ones((2, 3)))


def test_legacy_h5_lists_weights_in_kerass_order(tmp_path):
    # Keras's legacy .h5 lists a layer's trainable then non-trainable
    # weights: kernel, bias, vector_u (Keras 3 refused graphkeras's file
    # while it listed `weights`: kernel, vector_u, bias)
    import h5py

    model = keras.saving.load_model(os.path.join(HERE, "spectral_norm.keras"))
    path = str(tmp_path / "m.h5")
    model.save(path)
    with h5py.File(path, "r") as f:
        g = f["model_weights"][model.layers[1].name]
        names = [n.decode() if isinstance(n, bytes) else n
                 for n in g.attrs["weight_names"]]
    assert [n.rsplit("/", 1)[-1] for n in names] == ["kernel", "bias",
                                                      "vector_u"]
    again = keras.saving.load_model(path)
    for a, b in zip(again.get_weights(), model.get_weights()):
        np.testing.assert_array_equal(a, b)
