"""Host layers inside models (layers/host.py, models/host_stage.py):
TextVectorization, StringLookup, Hashing and HashedCrossing at the front of
functional and Sequential models, run in NumPy on each batch before the
compiled program, as Keras users write end-to-end models.

The compiled results are checked against the same model's eager call
(host layers in NumPy, the rest through the reference interpreter),
against run_eagerly, and against the compiled model fed the host layers'
outputs by hand; misplaced host layers raise errors naming them. Keras
3's own numbers and files: tests/saving/test_host_layers_keras3.py.
"""

import numpy as np
import pytest

import graphkeras as keras
from graphkeras import layers as L

TEXTS = np.array(["the cat sat", "a dog ran", "the dog sat on the mat",
                  "cats and dogs", "a mat", "The Cat ran!", "unknown words",
                  ""] * 5)
LABELS = (np.arange(len(TEXTS)) % 2).astype("float32")
TOL = {"rtol": 1e-5, "atol": 1e-6}


def _vectorizer(**kw):
    vec = L.TextVectorization(max_tokens=30, output_sequence_length=6, **kw)
    vec.adapt(TEXTS)
    return vec


def _classifier(seed):
    keras.utils.set_random_seed(seed)
    inp = keras.Input(shape=(None,), dtype="int64")
    x = L.Embedding(30, 4)(inp)
    x = L.GlobalAveragePooling1D()(x)
    return keras.Model(inp, L.Dense(1, activation="sigmoid")(x))


def test_keras_io_end_to_end_text_model():
    """keras.io's "Text classification from scratch", end-to-end part."""
    vec = _vectorizer()
    model = _classifier(0)
    model.compile(loss="binary_crossentropy", optimizer="adam",
                  metrics=["accuracy"])
    model.fit(vec(TEXTS), LABELS, epochs=2, batch_size=8, verbose=0)
    inputs = keras.Input(shape=(1,), dtype="string")
    indices = vec(inputs)
    assert indices.shape == (None, 6) and indices.dtype == "int64"
    end_to_end = keras.Model(inputs, model(indices))
    end_to_end.compile(loss="binary_crossentropy", optimizer="adam",
                       metrics=["accuracy"])
    want = model.evaluate(vec(TEXTS), LABELS, verbose=0)
    np.testing.assert_allclose(
        end_to_end.evaluate(TEXTS, LABELS, batch_size=7, verbose=0), want,
        **TOL)
    one = np.array(["the cat sat on the mat"])
    np.testing.assert_allclose(end_to_end.predict(one, verbose=0),
                               model.predict(vec(one), verbose=0), **TOL)
    # batch after batch, and the whole array at once, and 2-D strings
    ref = model.predict(vec(TEXTS), verbose=0)
    np.testing.assert_allclose(
        end_to_end.predict(TEXTS, batch_size=3, verbose=0), ref, **TOL)
    np.testing.assert_allclose(
        end_to_end.predict_on_batch(TEXTS.reshape(-1, 1)), ref, **TOL)
    # model(x) on NumPy strings: the eager call
    np.testing.assert_allclose(end_to_end(TEXTS[:4]), ref[:4], **TOL)
    np.testing.assert_allclose(end_to_end.test_on_batch(TEXTS, LABELS),
                               want, **TOL)


def _train_pair(make, x, y, **fit):
    """The same model trained compiled and with run_eagerly=True."""
    out = []
    for eager in (False, True):
        model = make()
        model.compile(loss="binary_crossentropy", optimizer="adam",
                      metrics=["accuracy"], run_eagerly=eager)
        hist = model.fit(x, y, verbose=0, **fit)
        out.append((model, hist.history))
    return out


def test_sequential_string_lookup_trains_as_run_eagerly():
    words = np.array(["red", "green", "blue", "red", "blue", "cyan",
                      "mauve"] * 6)
    y = np.isin(words, ["red", "cyan"]).astype("float32")
    lookup = L.StringLookup(num_oov_indices=2)
    lookup.adapt(words[:20])

    def make():
        keras.utils.set_random_seed(1)
        return keras.Sequential([
            keras.Input(shape=(), dtype="string"), lookup,
            L.Embedding(lookup.vocabulary_size(), 4),
            L.Dense(1, activation="sigmoid")])

    (compiled, h1), (eager, h2) = _train_pair(
        make, words, y, epochs=3, batch_size=8, shuffle=False)
    for k in h1:
        np.testing.assert_allclose(h1[k], h2[k], rtol=1e-5, atol=1e-6)
    for a, b in zip(compiled.get_weights(), eager.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    probe = np.array(["red", "blue", "never seen"])
    np.testing.assert_allclose(compiled.predict(probe, verbose=0),
                               eager.predict(probe, verbose=0), **TOL)
    assert compiled.layers[0] is lookup  # in layers, summary, weights


def test_sequential_built_from_string_data():
    lookup = L.StringLookup(vocabulary=["a", "b", "c"])
    model = keras.Sequential([lookup, L.Embedding(4, 2), L.Dense(1)])
    model.compile(loss="mse", optimizer="sgd")
    x = np.array(["a", "b", "c", "z"] * 4)
    model.fit(x, np.ones(16), verbose=0)
    ids = lookup(x)
    inner = keras.Sequential([keras.Input(shape=(), dtype="int64")]
                             + model.layers[1:])
    np.testing.assert_allclose(model.predict(x, verbose=0),
                               inner.predict(ids, verbose=0), **TOL)


def _tabular():
    colors = np.array(["red", "green", "blue", "red", "cyan", "zzz"] * 4
                      ).reshape(-1, 1)
    ages = (np.arange(24) * 7 % 50).reshape(-1, 1).astype("int64")
    income = np.linspace(-1, 1, 24).astype("float32").reshape(-1, 1)
    look = L.StringLookup(output_mode="one_hot")
    look.adapt(colors[:10])
    ins = {"color": keras.Input(shape=(1,), dtype="string", name="color"),
           "age": keras.Input(shape=(1,), dtype="int64", name="age"),
           "income": keras.Input(shape=(1,), name="income")}
    age_ids = L.Hashing(num_bins=5, salt=3)(ins["age"])
    cross = L.HashedCrossing(num_bins=4, output_mode="one_hot")(
        (ins["color"], ins["age"]))
    x = L.Concatenate()([look(ins["color"]), cross, ins["income"],
                         L.Flatten()(L.Embedding(5, 2)(age_ids))])
    keras.utils.set_random_seed(2)
    model = keras.Model(ins, L.Dense(1, activation="sigmoid")(
        L.Dense(6, activation="relu")(x)))
    data = {"color": colors, "age": ages, "income": income}
    y = (np.arange(24) % 3 == 0).astype("float32")
    return model, data, y


def test_dict_inputs_with_several_host_layers_and_a_number_column():
    model, data, y = _tabular()
    host = model._host_stage_of()
    # the compiled part reads the host outputs and the raw number column
    assert sorted(type(n.operation).__name__ for n in host.nodes) == [
        "HashedCrossing", "Hashing", "StringLookup"]
    assert any(kt is model.input["income"] for kt in host.boundary)
    eager = model(data)  # host layers in NumPy, the rest interpreted
    model.compile(loss="binary_crossentropy", optimizer="adam")
    np.testing.assert_allclose(model.predict(data, batch_size=5, verbose=0),
                               eager, **TOL)
    # fit compiled == fit run_eagerly, from the same weights
    start = model.get_weights()
    model.fit(data, y, epochs=2, batch_size=6, shuffle=False, verbose=0)
    other, _, _ = _tabular()
    other.set_weights(start)
    other.compile(loss="binary_crossentropy", optimizer="adam",
                  run_eagerly=True)
    other.fit(data, y, epochs=2, batch_size=6, shuffle=False, verbose=0)
    for a, b in zip(model.get_weights(), other.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_steps_per_execution_and_generators_stage_every_batch():
    vec = _vectorizer()
    inner = _classifier(3)
    inputs = keras.Input(shape=(1,), dtype="string")
    model = keras.Model(inputs, inner(vec(inputs)))
    model.compile(loss="binary_crossentropy", optimizer="sgd",
                  steps_per_execution=3)
    model.fit(TEXTS, LABELS, batch_size=4, epochs=1, shuffle=False,
              verbose=0)
    ref = inner.predict(vec(TEXTS), verbose=0)
    np.testing.assert_allclose(model.predict(TEXTS, verbose=0), ref, **TOL)

    def gen():
        for i in range(0, len(TEXTS), 8):
            yield TEXTS[i:i + 8], LABELS[i:i + 8]

    model.compile(loss="binary_crossentropy", optimizer="sgd")
    want = inner.compile(loss="binary_crossentropy") or inner.evaluate(
        vec(TEXTS), LABELS, verbose=0)
    assert model.evaluate(gen(), verbose=0) == pytest.approx(want, rel=1e-5)


def test_variable_length_text_vectorization_retraces_per_length():
    vec = L.TextVectorization(max_tokens=30)
    vec.adapt(TEXTS)
    inputs = keras.Input(shape=(1,), dtype="string")
    assert vec(inputs).shape == (None, None)
    inner = _classifier(4)
    model = keras.Model(inputs, inner(vec(inputs)))
    model.compile(loss="mse")
    for batch in (TEXTS[:3], TEXTS[2:4]):
        np.testing.assert_allclose(model.predict(batch, verbose=0),
                                   inner.predict(vec(batch), verbose=0),
                                   **TOL)


def test_save_and_load_round_trip(tmp_path):
    model, data, _ = _tabular()
    model.compile(loss="binary_crossentropy", optimizer="adam")
    path = str(tmp_path / "host.keras")
    model.save(path)
    loaded = keras.models.load_model(path)
    np.testing.assert_allclose(loaded.predict(data, verbose=0),
                               model.predict(data, verbose=0), **TOL)
    vec = _vectorizer()
    inputs = keras.Input(shape=(1,), dtype="string")
    e2e = keras.Model(inputs, _classifier(5)(vec(inputs)))
    e2e.save(path)
    again = keras.models.load_model(path)
    np.testing.assert_allclose(again.predict(TEXTS, verbose=0),
                               e2e.predict(TEXTS, verbose=0), **TOL)


# --- misplaced host layers ---------------------------------------------------


def test_host_layer_after_a_compiled_layer_names_both():
    inp = keras.Input(shape=(3,))
    with pytest.raises(ValueError, match='Layer "late_hash" \\(Hashing\\).*'
                       'front of the model.*"d0" \\(Dense\\)'):
        L.Hashing(4, name="late_hash")(L.Dense(2, name="d0")(inp))
    with pytest.raises(ValueError, match='Layer "late_lookup" '
                       '\\(StringLookup\\)'):
        keras.Sequential([keras.Input(shape=(3,)), L.Dense(2),
                          L.StringLookup(vocabulary=["a"],
                                         name="late_lookup")])


def test_host_layer_in_a_traced_call_is_refused():
    class Sub(keras.Model):
        def __init__(self):
            super().__init__()
            self.hash = L.Hashing(4, name="sub_hash")
            self.dense = L.Dense(1)

        def call(self, x):
            return self.dense(self.hash(x))

    model = Sub()
    model.compile(loss="mse")
    with pytest.raises(ValueError, match='Layer "sub_hash" \\(Hashing\\).*'
                       "traced step"):
        model.fit(np.arange(4.0).reshape(-1, 1), np.ones(4), verbose=0)


def test_model_with_host_layers_cannot_be_nested():
    s = keras.Input(shape=(1,), dtype="string")
    lookup = L.StringLookup(vocabulary=["a", "b"], name="inner_lookup")
    inner = keras.Model(s, L.Dense(1)(L.Embedding(3, 2)(lookup(s))),
                        name="with_host")
    with pytest.raises(ValueError, match='Model "with_host" holds the host '
                       'preprocessing layer "inner_lookup"'):
        keras.Model(keras.Input(shape=(1,), dtype="string"),
                    inner(keras.Input(shape=(1,), dtype="string")))
    n = keras.Input(shape=(1,), dtype="int64")
    hashed = keras.Model(n, L.Dense(1)(L.Hashing(3, name="h3")(n)),
                         name="hashed")
    n2 = keras.Input(shape=(1,), dtype="int64")
    with pytest.raises(ValueError, match='Model "hashed" holds the host '
                       'preprocessing layer "h3"'):
        keras.Model(n2, hashed(n2))


def test_strings_cannot_reach_compiled_code():
    s = keras.Input(shape=(1,), dtype="string")
    with pytest.raises(ValueError, match='Layer "d_str" .*string input.*'
                       "host preprocessing layer"):
        L.Dense(1, name="d_str")(s)
    ids = keras.Input(shape=(1,), dtype="int64")
    back = L.StringLookup(vocabulary=["a", "b"], invert=True, name="inv")
    with pytest.raises(ValueError, match='"inv".*as a model output'):
        keras.Model(ids, back(ids))


def test_embedding_fed_by_a_host_layer_checks_its_indices():
    lookup = L.StringLookup(vocabulary=["a", "b", "c"])
    model = keras.Sequential([keras.Input(shape=(), dtype="string"), lookup,
                              L.Embedding(3, 2, name="small")])
    model.compile(loss="mse")
    with pytest.raises(ValueError, match='"small" \\(Embedding\\) received '
                       "the index 3"):
        model.predict(np.array(["a", "c"]), verbose=0)


def test_onnx_export_names_the_host_layer(tmp_path):
    vec = _vectorizer(name="vec")
    inputs = keras.Input(shape=(1,), dtype="string")
    e2e = keras.Model(inputs, _classifier(6)(vec(inputs)))
    with pytest.raises(ValueError, match='layer "vec" \\(TextVectorization\\)'
                       ".*Export the model of the layers that follow it"):
        e2e.export(str(tmp_path / "m.onnx"))


def test_numpy_calls_of_host_layers_are_unchanged():
    vec = _vectorizer()
    ids = vec(TEXTS[:2])
    assert ids.dtype == np.int64 and ids.shape == (2, 6)
    assert L.Hashing(3)(np.array([["A"], ["B"]])).tolist() == [[1], [0]]


def test_cli_dump_and_export_name_the_host_layer(tmp_path, capsys):
    from graphkeras import cli

    vec = _vectorizer(name="vec_cli")
    inputs = keras.Input(shape=(1,), dtype="string")
    path = str(tmp_path / "e2e.keras")
    keras.Model(inputs, _classifier(7)(vec(inputs))).save(path)
    for argv in (["dump", path, "--stage", "traced"],
                 ["export", path, str(tmp_path / "e2e.onnx")]):
        assert cli.main(argv) != 0
        err = capsys.readouterr().err
        assert 'layer "vec_cli" (TextVectorization)' in err
        assert "Export the model of the layers that follow it" in err
