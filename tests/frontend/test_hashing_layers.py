"""Hashing and HashedCrossing against Keras 3's outputs (fixture made by
fixtures/make_keras_hashing.py under Keras 3 with TensorFlow): FarmHash
Fingerprint64, SipHash with a salt, tf.sparse.cross_hashed's combine, the
output modes and dtypes; Keras's serialized configs load here and ours
rebuild the same layers; errors name the layer."""

import json
import os

import numpy as np
import pytest

import graphkeras as keras
from graphkeras.frontend.layers import hashes

HERE = os.path.dirname(os.path.abspath(__file__))
with open(os.path.join(HERE, "fixtures", "keras_hashing.json"),
          encoding="utf-8") as _f:
    FIXTURE = json.load(_f)
CASES = FIXTURE["cases"]


def _input(data, dtype):
    if dtype.startswith("<U") or dtype.startswith("|S") or dtype == "object":
        x = np.array(data, dtype=object)
        if dtype.startswith("|S"):
            x = np.vectorize(lambda s: s.encode("utf-8"), otypes=[object])(x)
        return x.astype(str) if dtype.startswith("<U") else x
    return np.array(data, dtype=dtype)


def _case_id(i):
    c = CASES[i]["config"]
    return f"{i}-{c['class_name']}-{c['config'].get('output_mode')}"


@pytest.mark.parametrize("i", range(len(CASES)), ids=_case_id)
def test_keras_outputs(i):
    case = CASES[i]
    layer = keras.layers.deserialize(case["config"])
    if isinstance(case["input_dtype"], list):
        x = tuple(_input(v, d) for v, d in zip(case["input"],
                                                case["input_dtype"]))
    else:
        x = _input(case["input"], case["input_dtype"])
    out = layer(x)
    assert isinstance(out, np.ndarray)
    assert str(out.dtype) == case["output_dtype"]
    np.testing.assert_array_equal(out, np.array(case["output"]))
    # our config has Keras's entries (so Keras rebuilds the layer from it)
    ours, theirs = layer.get_config(), dict(case["config"]["config"])
    dtype = theirs.pop("dtype")
    assert ours.pop("dtype") == (dtype if isinstance(dtype, str)
                                 else dtype["config"]["name"])
    assert ours == theirs
    # and rebuilds a layer that hashes the same
    again = keras.layers.deserialize(keras.layers.serialize(layer))
    np.testing.assert_array_equal(again(x), out)


def test_fixture_covers_the_hard_inputs():
    assert FIXTURE["keras"].startswith("3.")
    strings = [s for c in CASES if isinstance(c["input_dtype"], str)
               and c["input_dtype"].startswith("<U")
               for s in np.ravel(c["input"])]
    assert "" in strings
    assert any(len(s.encode("utf-8")) > 128 for s in strings)
    assert any(len(s.encode()) != len(s) for s in strings)  # UTF-8
    ints = [v for c in CASES if isinstance(c["input_dtype"], str)
            and c["input_dtype"] == "int64"
            for v in np.ravel(c["input"])]
    assert -2**63 in ints and 2**63 - 1 in ints


@pytest.mark.parametrize("letters", ["abcé", "ab c"])
def test_fingerprint64_by_length_groups_matches_one_by_one(letters):
    # grouping strings by length must not mix rows up, and the paths
    # (ASCII str matrix, bytes matrix, per-string encoding) agree
    rng = np.random.default_rng(1)
    words = ["".join(rng.choice(list(letters), n)) for n in
             rng.integers(0, 90, 300)]
    together = hashes.fingerprint64(np.array(words))
    alone = np.array([hashes.fingerprint64(np.array([w], dtype=object))[0]
                      for w in words])
    np.testing.assert_array_equal(together, alone)
    as_bytes = np.array([w.encode("utf-8") for w in words])
    np.testing.assert_array_equal(hashes.fingerprint64(as_bytes), alone)
    np.testing.assert_array_equal(hashes.siphash(np.array(words), (3, 4)),
                                  [hashes.siphash([w], (3, 4))[0]
                                   for w in words])


def test_hashing_after_a_compiled_layer_refuses_naming_the_layer():
    # on a model's input: a host layer (tests/frontend/test_host_layers.py)
    inp = keras.Input(shape=(1,), dtype="int64")
    layer = keras.layers.Hashing(4, name="h4")
    assert layer(inp).shape == (None, 1)
    dense = keras.layers.Dense(1, name="d1")(inp)
    with pytest.raises(ValueError, match='Layer "h4" \\(Hashing\\) hashes.*'
                       '"d1" \\(Dense\\), which is compiled'):
        layer(dense)
    cross = keras.layers.HashedCrossing(4, name="hc")
    with pytest.raises(ValueError, match='Layer "hc" \\(HashedCrossing\\)'):
        cross([inp, dense])


@pytest.mark.parametrize("make, message", [
    (lambda: keras.layers.Hashing(0), "num_bins=0"),
    (lambda: keras.layers.Hashing(None), "num_bins=None"),
    (lambda: keras.layers.Hashing(3, output_mode="tf_idf"),
     "output_mode=tf_idf"),
    (lambda: keras.layers.Hashing(3, salt="x"), "salt=x"),
    (lambda: keras.layers.Hashing(3, salt=[1, 2, 3]), "salt=\\[1, 2, 3\\]"),
    (lambda: keras.layers.Hashing(3, dtype="float32"), "dtype=float32"),
    (lambda: keras.layers.Hashing(3, output_mode="one_hot", sparse=True),
     "sparse=True"),
    (lambda: keras.layers.HashedCrossing(3, output_mode="count"),
     "output_mode='count'"),
])
def test_constructor_errors(make, message):
    with pytest.raises(ValueError, match=message):
        make()


def test_crossing_input_errors():
    layer = keras.layers.HashedCrossing(4)
    with pytest.raises(ValueError, match="list or tuple"):
        layer(np.array([1, 2]))
    with pytest.raises(ValueError, match="at least two inputs"):
        layer([np.array([1, 2])])
    with pytest.raises(ValueError, match="equal shape"):
        layer([np.array([1, 2]), np.array([1, 2, 3])])
    with pytest.raises(ValueError, match="`\\(batch_size, 1\\)`"):
        layer([np.zeros((2, 2), int), np.zeros((2, 2), int)])
    with pytest.raises(ValueError, match="integer or string dtype"):
        layer([np.array([1.5]), np.array([1])])


def test_hashing_ragged_lists_are_refused_clearly():
    with pytest.raises(ValueError, match="ragged lists are not supported"):
        keras.layers.Hashing(3)([["a", "b"], ["c"]])


def test_hashed_features_train_a_model():
    # the NumPy-side pattern: hash, then an Embedding model on the bins
    rng = np.random.default_rng(0)
    words = np.array(["red", "green", "blue", "cyan"])[rng.integers(0, 4, 64)]
    y = (words == "red").astype("float32")
    bins = keras.layers.Hashing(16)(words.reshape(-1, 1))
    inp = keras.Input((1,), dtype="int64")
    h = keras.layers.Flatten()(keras.layers.Embedding(16, 4)(inp))
    model = keras.Model(inp, keras.layers.Dense(1, "sigmoid")(h))
    model.compile("adam", "binary_crossentropy")
    hist = model.fit(bins, y, epochs=3, batch_size=16, verbose=0)
    assert np.isfinite(hist.history["loss"]).all()
    assert model.predict(bins, verbose=0).shape == (64, 1)


def test_decimal_digits_as_arrays_match_str():
    rng = np.random.default_rng(2)
    x = np.concatenate([rng.integers(-2**63, 2**63 - 1, 500, dtype=np.int64),
                        np.array([0, -1, 9, 10, -10, 99, 2**63 - 1, -2**63],
                                 np.int64)])
    b, lengths = hashes.decimal_matrix(x)
    assert [bytes(b[i, :n]).decode() for i, n in enumerate(lengths)] == \
        [str(int(v)) for v in x]
    text = np.array([str(int(v)) for v in x], dtype=object)
    np.testing.assert_array_equal(hashes.hash_integers(x),
                                  hashes.fingerprint64(text))
    np.testing.assert_array_equal(hashes.hash_integers(x, (1, 2)),
                                  hashes.siphash(text, (1, 2)))
