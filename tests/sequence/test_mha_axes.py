"""MultiHeadAttention over `attention_axes` of inputs of rank > 3, and
with use_gate and sliding_window, gives Keras 3's numbers
(fixtures/mha_axes.npz and mha_axes.keras, written by Keras 3 with
fixtures/make_keras_mha_axes.py): outputs and scores for the same
weights, eagerly and compiled; a gated model attending over (H, W) of an
image loaded from a Keras file and trained one step; compiled training
against the interpreter; the errors."""

import json
import os

import numpy as np
import pytest

import graphkeras as keras

L = keras.layers
HERE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures")
DATA = np.load(os.path.join(HERE, "mha_axes.npz"))
CASES = json.loads(str(DATA["cases"]))
TOL = dict(rtol=1e-5, atol=2e-6)

KWARGS = {
    "image_default": {"num_heads": 2, "key_dim": 3},
    "video_hw_key_out": {"num_heads": 2, "key_dim": 3, "value_dim": 2,
                         "attention_axes": (2, 3), "output_shape": (2, 3)},
    "reversed_axes": {"num_heads": 1, "key_dim": 4, "attention_axes": (3, 1)},
    "negative_axis_mask": {"num_heads": 2, "key_dim": 2, "attention_axes": -2,
                           "use_bias": False},
    "causal_axis1": {"num_heads": 2, "key_dim": 3, "attention_axes": 1},
    "gate_window": {"num_heads": 2, "key_dim": 3,
                    "use_gate": True, "sliding_window": 2},
    "image_gate": {"num_heads": 2, "key_dim": 2, "use_gate": True},
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
def test_attention_axes_give_kerass_outputs_and_scores(name):
    args, weights = _case(name)
    causal = name.startswith(("causal", "gate_window"))
    layer = L.MultiHeadAttention(**KWARGS[name])

    def call(a, **kw):
        a = dict(a)
        return layer(a.pop("query"), **a, use_causal_mask=causal, **kw)

    call(args)
    layer.set_weights(weights)
    out, scores = call(args, return_attention_scores=True)
    np.testing.assert_allclose(np.asarray(out), DATA[f"{name}/y"], **TOL)
    np.testing.assert_allclose(np.asarray(scores), DATA[f"{name}/scores"],
                               **TOL)
    np.testing.assert_allclose(np.asarray(call(args)),
                               DATA[f"{name}/y_plain"], **TOL)
    # compiled, in a functional model
    names = sorted(args)
    ins = {k: keras.Input(args[k].shape[1:], dtype=args[k].dtype.name)
           for k in names}
    model = keras.Model([ins[k] for k in names],
                        call(ins, return_attention_scores=True))
    got = model.predict([args[k] for k in names], verbose=0)
    np.testing.assert_allclose(got[0], DATA[f"{name}/y"], **TOL)
    np.testing.assert_allclose(got[1], DATA[f"{name}/scores"], **TOL)


def test_keras_model_attending_over_an_image_predicts_and_trains_as_keras():
    model = keras.saving.load_model(os.path.join(HERE, "mha_axes.keras"))
    x, y = DATA["model/x"], DATA["model/y"]
    np.testing.assert_allclose(model.predict(x, verbose=0),
                               DATA["model/pred"], **TOL)
    np.testing.assert_allclose(model.train_on_batch(x, y), DATA["model/loss"],
                               rtol=1e-5)
    # the key bias (weight 3) gets a gradient of 0 up to rounding (a
    # softmax does not see a shift shared by all keys): Adam moves it by
    # rounding noise over epsilon, up to ~2e-5 here and in Keras alike
    for k, w in enumerate(model.get_weights()):
        np.testing.assert_allclose(w, DATA[f"model/w{k}"], rtol=1e-4,
                                   atol=1e-4 if k == 3 else 1e-6,
                                   err_msg=str(k))
    mha = next(lay for lay in model.layers
               if type(lay).__name__ == "MultiHeadAttention")
    assert mha.get_config()["attention_axes"] == (1, 2)


def test_compiled_training_with_dropout_equals_the_interpreter():
    rng = np.random.default_rng(3)
    x = rng.normal(size=(6, 3, 4, 5)).astype("float32")
    m = rng.random((6, 3, 4, 3, 4)) > 0.2
    y = rng.normal(size=(6, 3, 4, 2, 2)).astype("float32")
    runs = []
    for eager in (False, True):
        keras.utils.set_random_seed(8)
        i = keras.Input((3, 4, 5))
        mi = keras.Input((3, 4, 3, 4), dtype="bool")
        a = L.MultiHeadAttention(2, 3, dropout=0.2, output_shape=(2, 2))(
            i, i, attention_mask=mi)
        model = keras.Model([i, mi], a)
        model.compile("adam", "mse", run_eagerly=eager)
        losses = [float(model.train_on_batch([x, m], y)) for _ in range(3)]
        runs.append((losses, model.predict([x, m], verbose=0),
                     model.get_weights()))
    (l0, p0, w0), (l1, p1, w1) = runs
    np.testing.assert_allclose(l0, l1, rtol=2e-5)
    np.testing.assert_allclose(p0, p1, rtol=1e-5, atol=1e-6)
    for a, b in zip(w0, w1):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)


def test_onnx_export_of_attention_over_two_axes(tmp_path):
    ort = __import__("onnxruntime")
    model = keras.saving.load_model(os.path.join(HERE, "mha_axes.keras"))
    path = str(tmp_path / "m.onnx")
    model.export(path, format="onnx", verbose=False)
    sess = ort.InferenceSession(path)
    got = sess.run(None, {sess.get_inputs()[0].name: DATA["model/x"]})[0]
    np.testing.assert_allclose(got, DATA["model/pred"], **TOL)


def test_attention_axes_errors():
    with pytest.raises(ValueError, match="`attention_axes` must be an int, "
                       "list, or tuple. Received: attention_axes='x'"):
        L.MultiHeadAttention(2, 3, attention_axes="x")
    with pytest.raises(ValueError, match="integer axes"):
        L.MultiHeadAttention(2, 3, attention_axes=(1.5,))
    x = np.ones((1, 2, 3, 5), "float32")
    for bad in ((0,), (3,), (1, 1), -4):
        layer = L.MultiHeadAttention(2, 3, attention_axes=bad, name="mha")
        with pytest.raises(ValueError, match=r'Layer "mha" \(MultiHeadAttention'
                           r"\): attention_axes must be distinct axes between "
                           r"the batch axis and the features axis of rank-4 "
                           r"inputs \(1 to 2, or -3 to -2\)"):
            layer(x, x)
    layer = L.MultiHeadAttention(2, 3, attention_axes=(2,), name="mha")
    with pytest.raises(ValueError, match=r"axis 1 is not an attention axis "
                       r"\(attention_axes=\(2,\)\), so the query and the value "
                       r"must have the same size there"):
        layer(x, np.ones((1, 4, 3, 5), "float32"))
    layer = L.MultiHeadAttention(2, 3, name="mha")
    with pytest.raises(ValueError, match="of one rank, at least 3"):
        layer(x, np.ones((1, 6, 5), "float32"))


def test_query_value_key_by_keyword():
    # keras.io's English-to-Spanish translation calls
    # attention(query=..., value=..., key=..., attention_mask=...): Keras 3
    # takes a layer's first call argument by its name
    q = np.random.default_rng(0).normal(size=(2, 4, 6)).astype("float32")
    mha = L.MultiHeadAttention(2, 3)
    np.testing.assert_array_equal(
        np.asarray(mha(query=q, value=q, key=q, use_causal_mask=True)),
        np.asarray(mha(q, q, q, use_causal_mask=True)))
    i = keras.Input((4, 6))
    model = keras.Model(i, L.MultiHeadAttention(2, 3)(query=i, value=i))
    assert model.predict(q, verbose=0).shape == (2, 4, 6)
    with pytest.raises(ValueError, match="was called without inputs"):
        L.Dense(3)(units=2)
