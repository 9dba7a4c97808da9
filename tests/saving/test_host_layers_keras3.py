"""Keras 3 files with string and hashing preprocessing layers inside the
model (TextVectorization, StringLookup, Hashing, HashedCrossing at the
front of a functional model: host layers here, models/host_stage.py) load
and predict Keras's numbers on raw strings; saved again here they keep
Keras's layout (a nested functional model's calls numbered from 1).

The fixtures (fixtures/host_*.keras, fixtures/host_*.npz) are written by
fixtures/make_keras_host_layers.py with Keras 3.15 on TensorFlow; the same
script's `--check` mode loads a file graphkeras wrote in Keras 3 (run by
hand: Keras is never imported here).
"""

import json
import os
import zipfile

import numpy as np
import pytest

import graphkeras as keras

HERE = os.path.join(os.path.dirname(__file__), "fixtures")
NAMES = ["host_text", "host_tokens", "host_tabular"]


def _data(name):
    with np.load(os.path.join(HERE, f"{name}.npz")) as d:
        xs = [d[f"x{i}"] for i in range(sum(k.startswith("x") for k in d))]
        names = list(d["names"]) if "names" in d else None
        want = d["y0"]
    return (dict(zip(names, xs)) if names else xs[0]), want


@pytest.mark.parametrize("name", NAMES)
def test_keras3_file_with_host_layers_predicts_keras_numbers(name, tmp_path):
    model = keras.saving.load_model(os.path.join(HERE, f"{name}.keras"))
    assert model._host_stage_of() is not None
    data, want = _data(name)
    np.testing.assert_allclose(model.predict(data, verbose=0), want,
                               rtol=1e-5, atol=1e-6)
    # the eager call and run_eagerly agree with the compiled predict
    np.testing.assert_allclose(model(data), want, rtol=1e-5, atol=1e-6)
    # saved here and loaded again: the same numbers
    path = str(tmp_path / "again.keras")
    model.save(path)
    again = keras.saving.load_model(path)
    np.testing.assert_allclose(again.predict(data, verbose=0), want,
                               rtol=1e-5, atol=1e-6)


def test_nested_functional_calls_are_numbered_as_keras_numbers_them(tmp_path):
    src = os.path.join(HERE, "host_text.keras")
    with zipfile.ZipFile(src) as z:
        theirs = json.loads(z.read("config.json"))["config"]
    model = keras.saving.load_model(src)
    path = str(tmp_path / "ours.keras")
    model.save(path)
    with zipfile.ZipFile(path) as z:
        ours = json.loads(z.read("config.json"))["config"]
    # Keras: a nested functional model's node 0 is its own
    assert theirs["output_layers"] == ["functional", 1, 0]
    assert ours["output_layers"] == theirs["output_layers"]


def test_files_older_graphkeras_wrote_still_load(tmp_path):
    """Nested functional calls numbered from 0 (before Keras's layout)."""
    inner_in = keras.Input(shape=(3,))
    inner = keras.Model(inner_in, keras.layers.Dense(2)(inner_in),
                        name="inner")
    x = keras.Input(shape=(3,))
    model = keras.Model(x, keras.layers.Dense(1)(inner(x)))
    path = str(tmp_path / "m.keras")
    model.save(path)
    with zipfile.ZipFile(path) as z:
        files = {n: z.read(n) for n in z.namelist()}
    config = json.loads(files["config.json"])
    text = json.dumps(config).replace('["inner", 1, 0]', '["inner", 0, 0]')
    assert text != json.dumps(config)
    files["config.json"] = text.encode()
    old = str(tmp_path / "old.keras")
    with zipfile.ZipFile(old, "w") as z:
        for n, b in files.items():
            z.writestr(n, b)
    probe = np.linspace(-1, 1, 6).reshape(2, 3).astype("float32")
    np.testing.assert_allclose(
        keras.saving.load_model(old).predict(probe, verbose=0),
        model.predict(probe, verbose=0), rtol=1e-6)
