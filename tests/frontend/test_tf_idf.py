"""output_mode="tf_idf" of IntegerLookup, StringLookup and
TextVectorization, and StringLookup's hashed OOV indices, against Keras 3
(fixture made by fixtures/make_keras_tf_idf.py): adapted vocabularies and
idf weights, given vocabularies with idf_weights, the encodings; a Keras
3 model file holding an adapted tf_idf IntegerLookup loads and predicts
Keras's numbers compiled and on the interpreter; ours saves and reloads
with the weights Keras 3 reads."""

import json
import os
import zipfile

import h5py
import numpy as np
import pytest

import graphkeras as keras

HERE = os.path.dirname(os.path.abspath(__file__))
with open(os.path.join(HERE, "fixtures", "keras_tf_idf.json"),
          encoding="utf-8") as _f:
    FIX = json.load(_f)
CASES = FIX["cases"]
KERAS_FILE = os.path.join(HERE, "fixtures", "keras_tf_idf.keras")


def _array(v, cls):
    if cls == "IntegerLookup":
        return np.array(v, dtype=np.int64)
    return np.array(v, dtype=str)


def _case_id(i):
    c = CASES[i]
    return f"{i}-{c['class_name']}-" + "-".join(
        f"{k}" for k in c["kwargs"] if k != "output_mode")


@pytest.mark.parametrize("i", range(len(CASES)), ids=_case_id)
def test_keras_case(i):
    case = CASES[i]
    cls = case["class_name"]
    layer = getattr(keras.layers, cls)(**case["kwargs"])
    if case["adapt"] is not None:
        layer.adapt(_array(case["adapt"], cls))
    out = np.asarray(layer(_array(case["input"], cls)))
    vocab = layer.get_vocabulary()
    assert [str(v) for v in vocab] == [str(v) for v in case["vocabulary"]]
    np.testing.assert_allclose(out, case["output"], rtol=1e-6, atol=1e-7)
    if "idf_weights" in case:
        lookup = layer._lookup if cls == "TextVectorization" else layer
        np.testing.assert_allclose(lookup._idf_table(), case["idf_weights"],
                                   rtol=1e-6)
        # the config alone rebuilds the layer (vocabulary + idf weights)
        again = type(layer).from_config(layer.get_config())
        np.testing.assert_allclose(again(_array(case["input"], cls)), out,
                                   rtol=1e-6)


def test_keras_model_file_with_tf_idf_lookup():
    model = keras.saving.load_model(KERAS_FILE)
    x = np.array(FIX["model_x"], np.int64)
    np.testing.assert_allclose(model.predict(x, verbose=0), FIX["model_y"],
                               rtol=1e-5, atol=1e-6)
    model.compile(run_eagerly=True)
    np.testing.assert_allclose(model.predict(x, verbose=0), FIX["model_y"],
                               rtol=1e-5, atol=1e-6)


def test_our_file_holds_keras_idf_entry(tmp_path):
    model = keras.saving.load_model(KERAS_FILE)
    path = str(tmp_path / "m.keras")
    model.save(path)
    x = np.array(FIX["model_x"], np.int64)
    np.testing.assert_allclose(keras.saving.load_model(path).predict(
        x, verbose=0), FIX["model_y"], rtol=1e-5, atol=1e-6)
    # Keras 3's IntegerLookup.load_own_variables reads this entry
    with zipfile.ZipFile(path) as z:
        raw = z.read("model.weights.h5")
    with h5py.File(__import__("io").BytesIO(raw), "r") as h5:
        idf = np.asarray(h5["layers/integer_lookup/vars/idf_weights"])
    lookup = [v for v in model.layers
              if isinstance(v, keras.layers.IntegerLookup)][0]
    np.testing.assert_allclose(idf, lookup._idf_table())


def test_tf_idf_errors():
    with pytest.raises(ValueError, match="`idf_weights` argument must also"):
        keras.layers.IntegerLookup(output_mode="tf_idf", vocabulary=[1, 2])
    with pytest.raises(ValueError, match="should only be set if"):
        keras.layers.StringLookup(vocabulary=["a"], idf_weights=[1.0])
    with pytest.raises(ValueError, match="same length as vocabulary"):
        keras.layers.StringLookup(output_mode="tf_idf", vocabulary=["a"],
                                  idf_weights=[1.0, 2.0])
    layer = keras.layers.IntegerLookup(output_mode="tf_idf")
    layer.set_vocabulary([1, 2], idf_weights=[1.0, 2.0])
    # OOV index 0 weighs the mean (1.5); counts times weights
    np.testing.assert_allclose(layer(np.array([[1, 2, 2, 7]])),
                               [[1.5, 1.0, 4.0]])


@pytest.mark.parametrize("kwargs", [
    {}, {"num_oov_indices": 0}, {"num_oov_indices": 3}, {"mask_token": 0},
    {"mask_token": 0, "output_mode": "count"},
    {"output_mode": "tf_idf", "num_oov_indices": 2},
    {"output_mode": "one_hot", "max_tokens": 5, "pad_to_max_tokens": True},
])
def test_integer_lookup_numpy_path_matches_compiled(kwargs):
    # on concrete arrays IntegerLookup searches a sorted vocabulary; in a
    # model it compares against every token: the same indices
    rng = np.random.default_rng(3)
    data = rng.integers(-3, 12, (30, 4))
    layer = keras.layers.IntegerLookup(**kwargs)
    layer.adapt(data)
    x = rng.integers(-5, 15, (9, 4))
    if kwargs.get("output_mode") == "one_hot":
        x = x[:, :1]
    eager = np.asarray(layer(x))
    inp = keras.Input(x.shape[1:], dtype="int64")
    model = keras.Model(inp, layer(inp))
    np.testing.assert_allclose(model.predict(x, verbose=0), eager,
                               rtol=1e-6)


def test_integer_lookup_farmhash_is_host_side():
    layer = keras.layers.IntegerLookup(vocabulary=[1, 2], num_oov_indices=3,
                                       oov_method="farmhash", name="il")
    assert layer(np.array([[1, 9]])).shape == (1, 2)
    inp = keras.Input((2,), dtype="int64")
    with pytest.raises(ValueError, match='"il".*oov_method="farmhash" '
                       "hashes values on the host"):
        keras.Model(inp, layer(inp))
    with pytest.raises(ValueError, match="`salt` can only be used when"):
        keras.layers.IntegerLookup(salt=3)
