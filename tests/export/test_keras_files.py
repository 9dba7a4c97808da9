"""A model made and saved by Keras 3 (fixtures/keras_text.keras, written by
fixtures/make_keras_text.py), loaded by graphkeras and exported to ONNX,
predicts Keras's numbers under onnxruntime, through `model.export` and
through `graphkeras export`. The model's padded positions reach its
recurrent layers (a residual `+` drops the mask), so MultiHeadAttention's
rows for padded queries must be Keras's too."""

from __future__ import annotations

import os
import sys

import numpy as np
import onnxruntime as ort
import pytest

import graphkeras as keras
from graphkeras import layers as L

HERE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures")
DATA = np.load(os.path.join(HERE, "keras_text.npz"))
TOL = dict(rtol=1e-5, atol=2e-6)


def test_keras_model_predicts_kerass_numbers_exported(tmp_path):
    model = keras.saving.load_model(os.path.join(HERE, "keras_text.keras"))
    x, want = DATA["x"], DATA["y"]
    np.testing.assert_allclose(model.predict(x, verbose=0), want, **TOL)
    model.export(str(tmp_path / "api.onnx"), verbose=False)
    sess = ort.InferenceSession(str(tmp_path / "api.onnx"))
    assert [i.name for i in sess.get_inputs()] == ["tokens"]
    assert [o.name for o in sess.get_outputs()] == ["logits"]
    np.testing.assert_allclose(sess.run(None, {"tokens": x})[0], want, **TOL)


def test_keras_file_through_the_command_line(tmp_path, capsys):
    from graphkeras import cli

    out = str(tmp_path / "cli.onnx")
    assert cli.main(["export", os.path.join(HERE, "keras_text.keras"),
                     out]) == 0
    sess = ort.InferenceSession(out)
    np.testing.assert_allclose(sess.run(None, {"tokens": DATA["x"]})[0],
                               DATA["y"], **TOL)


def test_padded_queries_attend_uniformly_unless_scores_are_returned():
    # Keras 3: dot_product_attention (no dropout, no scores) gives a query
    # whose every key is masked uniform weights; its masked-softmax path
    # (scores returned) gives zeros
    keras.utils.set_random_seed(0)
    mha = L.MultiHeadAttention(2, 3)
    q = np.random.default_rng(0).normal(size=(1, 3, 4)).astype("float32")
    v = np.random.default_rng(1).normal(size=(1, 5, 4)).astype("float32")
    mask = np.array([[[True] * 5, [True, True, False, False, False],
                      [False] * 5]])
    out, scores = mha(q, v, attention_mask=mask, return_attention_scores=True)
    assert np.all(np.asarray(scores)[0, :, 2] == 0.0)
    np.testing.assert_allclose(np.asarray(scores)[0, :, 0].sum(-1), 1.0,
                               rtol=1e-6)
    plain = np.asarray(mha(q, v, attention_mask=mask))
    # row 2: every key masked -> the same weights whatever the query (so
    # the same output as any query with every key masked), and not zero
    other = np.asarray(mha(-q, v, attention_mask=np.zeros((1, 3, 5), bool)))
    for row in other[0]:
        np.testing.assert_allclose(plain[0, 2], row, rtol=1e-6, atol=1e-7)
    bo = mha._output_dense.get_weights()[1]
    assert not np.allclose(plain[0, 2], bo, atol=1e-4)
    np.testing.assert_allclose(np.asarray(out)[0, 2], bo, atol=1e-7)
    np.testing.assert_allclose(np.asarray(out)[0, :2], plain[0, :2],
                               rtol=1e-6, atol=1e-7)


ZOO = os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir,
                   "fixtures", "keras3", "zoo")
# custom_objects needs its classes registered (tests/saving covers it)
ZOO_NAMES = sorted(f[:-6] for f in os.listdir(ZOO)
                   if f.endswith(".keras") and f != "custom_objects.keras")


def _numbered(data, prefix):
    keys = [k for k in data.files if k.startswith(prefix) and
            k[len(prefix):].isdigit()]
    return [data[k] for k in sorted(keys, key=lambda k: int(k[len(prefix):]))]


@pytest.mark.parametrize("name", ZOO_NAMES)
def test_keras3_zoo_model_exports_kerass_numbers(tmp_path, name):
    """tests/fixtures/keras3/zoo: Keras 3 models with non-default layer
    configurations and Keras's predictions; exported, no predict run."""
    data = np.load(os.path.join(ZOO, f"{name}.npz"))
    path = os.path.join(ZOO, f"{name}.keras")
    if name == "lambda_layer" and sys.version_info[:2] != (3, 11):
        # its lambda's bytecode is Python 3.11's (the zoo's writer): refused
        # on any other Python (frontend/saving/bytecode.py)
        with pytest.raises(ValueError, match="another Python version"):
            keras.saving.load_model(path, safe_mode=False)
        return
    # lambda_layer holds a Python lambda: trusted here, as our own fixture
    model = keras.saving.load_model(path, safe_mode=name != "lambda_layer")
    model.export(str(tmp_path / "m.onnx"), verbose=False)
    sess = ort.InferenceSession(str(tmp_path / "m.onnx"))
    xd = {k[3:]: data[k] for k in data.files if k.startswith("xd_")}
    feeds = ({i.name: xd[i.name] for i in sess.get_inputs()} if xd else
             dict(zip([i.name for i in sess.get_inputs()],
                      _numbered(data, "x"))))
    got = sess.run(None, feeds)
    names = [o.name for o in sess.get_outputs()]
    yd = {k[3:]: data[k] for k in data.files if k.startswith("yd_")}
    want = [yd[n] for n in names] if yd else _numbered(data, "y")
    assert len(got) == len(want)
    for n, g, w in zip(names, got, want):
        np.testing.assert_allclose(g, w, rtol=1e-5, atol=2e-6, err_msg=n)
