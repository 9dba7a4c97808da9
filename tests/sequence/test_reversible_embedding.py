"""ReversibleEmbedding gives Keras 3's numbers (fixtures/
reversible_embedding_*.keras and .npz, written by Keras 3 with
fixtures/make_keras_reversible_embedding.py): a model that embeds tokens
and projects back through the same layer (tied; untied with a logit
soft cap and mask_zero) predicts and trains one step as Keras; compiled
training against the interpreter; files written here read back; errors.
"""

import os

import numpy as np
import pytest

import graphkeras as keras

L = keras.layers
HERE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures")
DATA = np.load(os.path.join(HERE, "reversible_embedding.npz"))
TOL = dict(rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name", ["tied", "untied"])
def test_keras_model_predicts_and_trains_as_keras(name, tmp_path):
    path = os.path.join(HERE, f"reversible_embedding_{name}.keras")
    model = keras.saving.load_model(path)
    x, y = DATA["x"], DATA["y"]
    np.testing.assert_allclose(model.predict(x, verbose=0),
                               DATA[f"{name}/pred"], **TOL)
    emb = model.layers[1]
    assert type(emb).__name__ == "ReversibleEmbedding"
    assert emb.tie_weights == (name == "tied")
    assert len(emb.weights) == (1 if name == "tied" else 2)
    model.save(str(tmp_path / "m.keras"))
    again = keras.saving.load_model(str(tmp_path / "m.keras"))
    np.testing.assert_allclose(again.predict(x, verbose=0),
                               DATA[f"{name}/pred"], **TOL)
    np.testing.assert_allclose(model.train_on_batch(x, y),
                               DATA[f"{name}/loss"], rtol=1e-5)
    for k, w in enumerate(model.get_weights()):
        np.testing.assert_allclose(w, DATA[f"{name}/w{k}"], rtol=1e-4,
                                   atol=1e-6, err_msg=str(k))


def test_compiled_training_equals_the_interpreter():
    rng = np.random.default_rng(1)
    x = rng.integers(0, 9, (6, 5)).astype("int32")
    y = rng.integers(0, 9, (6, 5))
    runs = []
    for eager in (False, True):
        keras.utils.set_random_seed(2)
        t = keras.Input((5,), dtype="int32")
        emb = L.ReversibleEmbedding(9, 3, tie_weights=False,
                                    logit_soft_cap=3.0)
        tied = L.ReversibleEmbedding(9, 3)
        h = L.Dense(3)(emb(t))
        logits = L.Add()([emb(h, reverse=True),
                          tied(tied(t), reverse=True)])
        model = keras.Model(t, logits)
        model.compile("adam", keras.losses.SparseCategoricalCrossentropy(
            from_logits=True), run_eagerly=eager)
        losses = [float(model.train_on_batch(x, y)) for _ in range(3)]
        runs.append((losses, model.get_weights()))
    (l0, w0), (l1, w1) = runs
    np.testing.assert_allclose(l0, l1, rtol=2e-5)
    for a, b in zip(w0, w1):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)


def test_eager_calls_config_and_errors():
    emb = L.ReversibleEmbedding(7, 3, mask_zero=True, name="rev")
    h = emb(np.array([[1, 0, 2]]))
    assert h.shape == (1, 3, 3)
    np.testing.assert_array_equal(np.asarray(h._keras_mask),
                                  [[True, False, True]])
    logits = np.asarray(emb(h, reverse=True))
    np.testing.assert_allclose(
        logits, np.asarray(h) @ emb.embeddings.numpy().T, rtol=1e-6)
    config = emb.get_config()
    assert (config["tie_weights"], config["reverse_dtype"],
            config["logit_soft_cap"], config["mask_zero"]) == (
                True, None, None, True)
    again = L.ReversibleEmbedding.from_config(config)
    assert again.get_config() == config
    with pytest.raises(ValueError, match=r'Layer "rev" \(ReversibleEmbedding'
                       r"\) called with reverse=True projects inputs of last "
                       r"dimension output_dim=3; received inputs of shape "
                       r"\(1, 3, 5\)"):
        emb(np.ones((1, 3, 5), "float32"), reverse=True)
    with pytest.raises(ValueError, match="`logit_soft_cap` must be None or "
                       "a positive number"):
        L.ReversibleEmbedding(7, 3, logit_soft_cap=0)
