"""GroupQueryAttention gives Keras 3's numbers (fixtures/gqa.npz and
gqa.keras, gqa.h5, written by Keras 3 with fixtures/make_keras_gqa.py): outputs
and scores for the same weights (grouped, multi-query with a gate and a
separate key, masks, causal with a sliding window), eagerly and
compiled; a Keras model file predicts and trains as Keras; compiled
training against the interpreter; ONNX; errors."""

import json
import os

import numpy as np
import pytest

import graphkeras as keras

L = keras.layers
HERE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures")
DATA = np.load(os.path.join(HERE, "gqa.npz"))
CASES = json.loads(str(DATA["cases"]))
TOL = dict(rtol=1e-5, atol=2e-6)

KWARGS = {
    "groups2": {"head_dim": 3, "num_query_heads": 4,
                "num_key_value_heads": 2},
    "mqa_key_gate": {"head_dim": 2, "num_query_heads": 3,
                     "num_key_value_heads": 1, "use_gate": True},
    "mha_masked": {"head_dim": 2, "num_query_heads": 2,
                   "num_key_value_heads": 2, "use_bias": False},
    "causal_window": {"head_dim": 2, "num_query_heads": 4,
                      "num_key_value_heads": 2, "sliding_window": 2},
}


def _case(name):
    args = {k.split("/")[1]: DATA[k] for k in DATA
            if k.startswith(name + "/") and k.split("/")[1] in
            ("query", "value", "key", "attention_mask")}
    weights = [DATA[f"{name}/w{k}"] for k in range(sum(
        k.startswith(name + "/w") for k in DATA))]
    return args, weights


def test_cases_match_the_fixture():
    assert sorted(KWARGS) == CASES


@pytest.mark.parametrize("name", sorted(KWARGS))
def test_gqa_gives_kerass_outputs_and_scores(name):
    args, weights = _case(name)
    causal = name.startswith("causal")
    layer = L.GroupQueryAttention(**KWARGS[name])

    def call(a, **kw):
        a = dict(a)
        return layer(a.pop("query"), **a, use_causal_mask=causal, **kw)

    call(args)
    assert [tuple(w.shape) for w in layer.get_weights()] == \
        [w.shape for w in weights]
    layer.set_weights(weights)
    out, scores = call(args, return_attention_scores=True)
    np.testing.assert_allclose(np.asarray(out), DATA[f"{name}/y"], **TOL)
    np.testing.assert_allclose(np.asarray(scores), DATA[f"{name}/scores"],
                               **TOL)
    np.testing.assert_allclose(np.asarray(call(args)),
                               DATA[f"{name}/y_plain"], **TOL)
    names = sorted(args)
    ins = {k: keras.Input(args[k].shape[1:], dtype=args[k].dtype.name)
           for k in names}
    model = keras.Model([ins[k] for k in names],
                        call(ins, return_attention_scores=True))
    got = model.predict([args[k] for k in names], verbose=0)
    np.testing.assert_allclose(got[0], DATA[f"{name}/y"], **TOL)
    np.testing.assert_allclose(got[1], DATA[f"{name}/scores"], **TOL)


def test_keras_gqa_model_predicts_and_trains_as_keras(tmp_path):
    model = keras.saving.load_model(os.path.join(HERE, "gqa.keras"))
    x, y = DATA["model/x"], DATA["model/y"]
    np.testing.assert_allclose(model.predict(x, verbose=0),
                               DATA["model/pred"], **TOL)
    # the same model written by graphkeras reads back
    model.save(str(tmp_path / "g.keras"))
    again = keras.saving.load_model(str(tmp_path / "g.keras"))
    np.testing.assert_allclose(again.predict(x, verbose=0),
                               DATA["model/pred"], **TOL)
    np.testing.assert_allclose(model.train_on_batch(x, y), DATA["model/loss"],
                               rtol=1e-5)
    # the key bias (weight 3) gets a gradient of 0 up to rounding (the
    # softmax ignores a shift shared by all keys): Adam moves it by
    # rounding noise over epsilon, up to ~2e-5 here and in Keras alike
    for k, w in enumerate(model.get_weights()):
        np.testing.assert_allclose(w, DATA[f"model/w{k}"], rtol=1e-4,
                                   atol=1e-4 if k == 3 else 1e-6,
                                   err_msg=str(k))


def test_keras_legacy_h5_file_loads():
    # Keras's .h5 names the layer by its class, GroupedQueryAttention
    # (exported as GroupQueryAttention): it was "Could not locate class"
    model = keras.saving.load_model(os.path.join(HERE, "gqa.h5"))
    assert isinstance(model.layers[1], L.GroupQueryAttention)
    np.testing.assert_allclose(model.predict(DATA["model/x"], verbose=0),
                               DATA["model/pred"], **TOL)


def test_compiled_training_with_dropout_and_gate_equals_the_interpreter():
    rng = np.random.default_rng(3)
    x = rng.normal(size=(6, 5, 4)).astype("float32")
    v = rng.normal(size=(6, 7, 4)).astype("float32")
    y = rng.normal(size=(6, 5, 4)).astype("float32")
    runs = []
    for eager in (False, True):
        keras.utils.set_random_seed(8)
        i, j = keras.Input((5, 4)), keras.Input((7, 4))
        a = L.GroupQueryAttention(2, 4, 2, dropout=0.2, use_gate=True,
                                  sliding_window=3)(i, j)
        model = keras.Model([i, j], a)
        model.compile("adam", "mse", run_eagerly=eager)
        losses = [float(model.train_on_batch([x, v], y)) for _ in range(3)]
        runs.append((losses, model.predict([x, v], verbose=0),
                     model.get_weights()))
    (l0, p0, w0), (l1, p1, w1) = runs
    np.testing.assert_allclose(l0, l1, rtol=2e-5)
    np.testing.assert_allclose(p0, p1, rtol=1e-5, atol=1e-6)
    for a, b in zip(w0, w1):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)


def test_onnx_export(tmp_path):
    ort = __import__("onnxruntime")
    model = keras.saving.load_model(os.path.join(HERE, "gqa.keras"))
    path = str(tmp_path / "m.onnx")
    model.export(path, format="onnx", verbose=False)
    sess = ort.InferenceSession(path)
    got = sess.run(None, {sess.get_inputs()[0].name: DATA["model/x"]})[0]
    np.testing.assert_allclose(got, DATA["model/pred"], **TOL)


def test_errors():
    with pytest.raises(ValueError, match="`num_query_heads` must be "
                       "divisible by `num_key_value_heads`"):
        L.GroupQueryAttention(2, 3, 2)
    with pytest.raises(ValueError, match="Received: head_dim=0"):
        L.GroupQueryAttention(0, 2, 2)
    with pytest.raises(ValueError, match="`sliding_window` must be `None` "
                       "or a positive integer. Received: sliding_window=0"):
        L.GroupQueryAttention(2, 2, 2, sliding_window=0)
    layer = L.GroupQueryAttention(2, 2, 1, name="gqa")
    with pytest.raises(ValueError, match="The last dimension of "
                       "`query_shape` and `value_shape` must be equal, but "
                       "are 4, 5"):
        layer(np.ones((1, 3, 4), "float32"), np.ones((1, 3, 5), "float32"))
    with pytest.raises(ValueError, match=r'Layer "gqa" \(GroupQueryAttention'
                       r"\) takes rank-3"):
        layer(np.ones((1, 2, 3, 4), "float32"),
              np.ones((1, 2, 3, 4), "float32"))
