"""keras.utils.FeatureSpace against Keras 3 (fixture made by
fixtures/make_keras_feature_space.py): every feature type and crosses,
adapted here from Keras's config on the same table (bin boundaries,
vocabularies, statistics, encoded vectors), Keras's saved file loaded
here, ours saved and reloaded, "dict" mode, a single sample, the encoded
features training a model, and the errors."""

import json
import os

import numpy as np
import pytest

import graphkeras as keras
from graphkeras.utils import FeatureSpace

HERE = os.path.dirname(os.path.abspath(__file__))
with open(os.path.join(HERE, "fixtures", "keras_feature_space.json"),
          encoding="utf-8") as _f:
    FIX = json.load(_f)
KERAS_FILE = os.path.join(HERE, "fixtures", "keras_feature_space.keras")
DTYPES = {"age": "float32", "fare": "float32", "ratio": "float32",
          "raw": "float32", "sex": "int32", "ca": "int32", "code": "int32",
          "thal": "str", "city": "str"}


def _table(d):
    return {k: np.array(v, dtype=DTYPES[k]) for k, v in d.items()}


DATA, NEW = _table(FIX["data"]), _table(FIX["new"])
PART = ("fare", "ca", "thal", "city")


def _adapted_from_keras_config():
    fs = keras.saving.deserialize_keras_object(FIX["concat_config"])
    assert isinstance(fs, FeatureSpace)
    fs.adapt(DATA)
    return fs


def _check_concat(fs):
    np.testing.assert_allclose(fs(DATA), FIX["concat_data"], atol=2e-6)
    np.testing.assert_allclose(fs(NEW), FIX["concat_new"], atol=2e-6)
    sample = fs({k: v[0] for k, v in NEW.items()})
    assert sample.ndim == 1
    np.testing.assert_allclose(sample, FIX["concat_sample"], atol=2e-6)


def test_adapt_from_keras_config_matches_keras():
    fs = _adapted_from_keras_config()
    np.testing.assert_allclose(fs.preprocessors["age"].bin_boundaries,
                               FIX["boundaries"], rtol=1e-6)
    for name, vocab in FIX["vocabulary"].items():
        assert [str(t) for t in fs.preprocessors[name].get_vocabulary()] \
            == vocab
    _check_concat(fs)


def test_keras_file_loads_and_encodes_as_keras():
    fs = keras.saving.load_model(KERAS_FILE)
    assert isinstance(fs, FeatureSpace)
    _check_concat(fs)


def test_saved_file_round_trip(tmp_path):
    fs = _adapted_from_keras_config()
    path = str(tmp_path / "fs.keras")
    fs.save(path)
    again = keras.saving.load_model(path)
    np.testing.assert_array_equal(again(NEW), fs(NEW))
    # the config is Keras's: Feature / Cross entries with Keras's modules
    config = json.loads(__import__("zipfile").ZipFile(path).read(
        "config.json"))
    assert config["class_name"] == "FeatureSpace"
    feature = config["config"]["features"]["fare"]
    assert feature["class_name"] == "Feature"
    assert feature["config"]["preprocessor"]["class_name"] == \
        "Normalization"
    assert config["build_config"]["fare"] == {"input_shape": [None, 1]}


def test_dict_mode_matches_keras():
    fs = keras.saving.deserialize_keras_object(FIX["dict_config"])
    fs.adapt({k: DATA[k] for k in PART})
    for data, ref in ((DATA, FIX["dict_data"]), (NEW, FIX["dict_new"])):
        out = fs({k: data[k] for k in PART})
        assert sorted(out) == sorted(ref)
        for k in ref:
            np.testing.assert_allclose(out[k], ref[k], atol=2e-6,
                                       err_msg=k)
    encoded = fs.get_encoded_features()
    assert encoded["thal"].shape == (None, 1)
    assert encoded["city"].shape == (None, 6)


def test_adapt_on_batches_and_train_a_model():
    fs = FeatureSpace({"fare": "float_normalized",
                       "thal": "string_categorical",
                       "ca": "integer_categorical"},
                      crosses=[("thal", "ca")], crossing_dim=4)
    batches = [({k: DATA[k][i:i + 50] for k in ("fare", "thal", "ca")},
                np.zeros(50)) for i in range(0, 150, 50)]
    fs.adapt(batches)
    x = fs(DATA)
    width = 1 + len(fs.preprocessors["thal"].get_vocabulary()) + \
        len(fs.preprocessors["ca"].get_vocabulary()) + 4
    assert x.shape == (150, width) and x.dtype == np.float32
    encoded = fs.get_encoded_features()
    assert encoded.shape == (None, width)
    out = keras.layers.Dense(1, activation="sigmoid")(
        keras.layers.Dense(8, activation="relu")(encoded))
    model = keras.Model(encoded, out)
    model.compile("adam", "binary_crossentropy")
    y = (DATA["thal"] == "normal").astype("float32")
    model.fit(x, y, epochs=2, batch_size=32, verbose=0)
    compiled = model.predict(x, verbose=0)
    model.compile("adam", "binary_crossentropy", run_eagerly=True)
    np.testing.assert_allclose(model.predict(x, verbose=0), compiled,
                               rtol=1e-5, atol=1e-6)
    inputs = fs.get_inputs()
    assert inputs["thal"].dtype == "string" and inputs["ca"].shape == (None, 1)


def test_errors():
    with pytest.raises(ValueError, match="cannot be None or empty"):
        FeatureSpace({})
    with pytest.raises(ValueError, match="Invalid feature type: floaty"):
        FeatureSpace({"a": "floaty"})
    with pytest.raises(ValueError, match="Received: output_mode=stack"):
        FeatureSpace({"a": "float"}, output_mode="stack")
    with pytest.raises(ValueError, match="unknown features"):
        FeatureSpace({"a": "float"}, crosses=[("a", "b")])
    fs = FeatureSpace({"a": "float_normalized"})
    with pytest.raises(ValueError, match="call `.adapt\\(dataset\\)`"):
        fs({"a": np.zeros(3)})
    fs.adapt({"a": np.arange(4.0)})
    with pytest.raises(ValueError, match="can only be called with a dict"):
        fs(np.zeros(3))
    with pytest.raises(ValueError, match="no feature\\(s\\) \\['a'\\]"):
        fs({"b": np.zeros(3)})
    raw = FeatureSpace({"c": FeatureSpace.integer_categorical(
        output_mode="int")})
    raw.adapt({"c": np.arange(3)})
    with pytest.raises(ValueError, match="feature 'c' has not been encoded"):
        raw.get_encoded_features()
    with pytest.raises(ValueError, match="feature 'c' has not been encoded"):
        raw({"c": np.arange(3)})


def test_structured_data_example_learns():
    # examples/structured_data_feature_space.py as a user runs it (the
    # keras.io FeatureSpace example on a synthetic heart table), 15 epochs
    import contextlib
    import io
    import pathlib
    import runpy

    path = pathlib.Path(__file__).parents[2] / "examples" / \
        "structured_data_feature_space.py"
    main = runpy.run_path(str(path))["main"]
    with contextlib.redirect_stdout(io.StringIO()) as out:
        accuracy, y_val = main(epochs=15, verbose=0)
    majority = max(y_val.mean(), 1 - y_val.mean())
    assert accuracy > majority + 0.1
    assert "probability of having a heart disease" in out.getvalue()


def test_keras_io_inference_model_on_raw_features(tmp_path):
    """keras.io's "Structured data classification with FeatureSpace": a
    training model on `get_encoded_features()` (intermediate tensors as a
    model's inputs, as Keras 3 allows), then an inference model on
    `get_inputs()` taking raw strings and numbers (the FeatureSpace runs
    as its host stage)."""
    fs = FeatureSpace({"fare": "float_normalized",
                       "thal": "string_categorical",
                       "ca": "integer_categorical"},
                      crosses=[("thal", "ca")], crossing_dim=4)
    fs.adapt({k: DATA[k] for k in ("fare", "thal", "ca")})
    dict_inputs = fs.get_inputs()
    encoded = fs.get_encoded_features()
    x = keras.layers.Dense(8, activation="relu")(encoded)
    x = keras.layers.Dropout(0.5)(x)
    predictions = keras.layers.Dense(1, activation="sigmoid")(x)
    training_model = keras.Model(inputs=encoded, outputs=predictions)
    assert [type(la).__name__ for la in training_model.layers] == [
        "InputLayer", "Dense", "Dropout", "Dense"]
    training_model.compile("adam", "binary_crossentropy")
    y = (DATA["thal"] == "normal").astype("float32")
    data = {k: DATA[k] for k in ("fare", "thal", "ca")}
    training_model.fit(fs(data), y, epochs=2, verbose=0)
    inference_model = keras.Model(inputs=dict_inputs, outputs=predictions)
    want = training_model.predict(fs(data), verbose=0)
    np.testing.assert_allclose(inference_model.predict(data, verbose=0),
                               want, rtol=1e-5, atol=1e-6)
    one = {k: v[:1] for k, v in data.items()}
    np.testing.assert_allclose(inference_model(one), want[:1], rtol=1e-5,
                               atol=1e-6)
    # saved and loaded: the FeatureSpace's state comes back with the model
    path = str(tmp_path / "inference.keras")
    inference_model.save(path)
    loaded = keras.saving.load_model(path)
    np.testing.assert_allclose(loaded.predict(data, verbose=0), want,
                               rtol=1e-5, atol=1e-6)


def test_model_inputs_may_be_intermediate_tensors():
    inp = keras.Input(shape=(3,))
    hidden = keras.layers.Dense(4, name="first")(inp)
    dense = keras.layers.Dense(2, name="second")
    out = dense(hidden)
    tail = keras.Model(hidden, out)
    assert [la.name for la in tail.layers][1:] == ["second"]
    full = keras.Model(inp, out)  # the original graph is unchanged
    assert [la.name for la in full.layers][1:] == ["first", "second"]
    x = np.linspace(-1, 1, 12).reshape(4, 3).astype("float32")
    h = full.get_layer("first")(x)
    np.testing.assert_allclose(tail.predict(h, verbose=0),
                               full.predict(x, verbose=0), rtol=1e-5,
                               atol=1e-6)
