"""Functional models whose graphs hold keras.ops calls (op nodes).

The fixtures were written by Keras 3 (fixtures/make_keras_ops.py): each
loads with Keras's predictions, is written back by graphkeras with the op
entries Keras wrote, and trains compiled as it does eagerly (the reference
interpreter). graphkeras's own op nodes save in Keras's format; unknown
op classes and arguments fail naming them.
"""

import json
import os
import zipfile

import numpy as np
import pytest

import graphkeras as keras
from graphkeras import ops
from graphkeras.frontend.saving import keras_ops
from graphkeras.frontend.saving.keras_format import model_from_config

HERE = os.path.join(os.path.dirname(__file__), "fixtures")
FIXTURES = ["mask_lstm", "indexing", "many", "image", "more"]


def _fixture(name):
    data = np.load(os.path.join(HERE, f"ops_{name}.npz"))
    return os.path.join(HERE, f"ops_{name}.keras"), data


def _config(path) -> dict:
    with zipfile.ZipFile(path) as z:
        return json.loads(z.read("config.json"))


def _op_entries(path) -> dict:
    return {e["name"]: e for e in _config(path)["config"]["layers"]
            if keras_ops.is_op_entry(e)}


@pytest.mark.parametrize("name", FIXTURES)
def test_keras3_file_loads_resaves_and_trains(name, tmp_path):
    path, data = _fixture(name)
    model = keras.saving.load_model(path)
    x, t = data["x0"], data["t0"]
    np.testing.assert_allclose(model.predict(x, verbose=0), data["y0"],
                               rtol=1e-4, atol=1e-5)

    # graphkeras writes the op nodes as Keras 3 wrote them
    again = str(tmp_path / "again.keras")
    model.save(again)
    assert _op_entries(again) == _op_entries(path)
    reloaded = keras.saving.load_model(again)
    np.testing.assert_allclose(reloaded.predict(x, verbose=0), data["y0"],
                               rtol=1e-4, atol=1e-5)

    # one epoch compiled matches one epoch run by the reference interpreter
    eager = keras.saving.load_model(path)
    eager.compile(optimizer="adam", loss=model.loss, run_eagerly=True)
    reloaded.compile(optimizer="adam", loss=model.loss)
    h_native = reloaded.fit(x, t, epochs=1, batch_size=16, shuffle=False,
                            verbose=0)
    h_eager = eager.fit(x, t, epochs=1, batch_size=16, shuffle=False,
                        verbose=0)
    assert np.isfinite(h_native.history["loss"][0])
    np.testing.assert_allclose(h_native.history["loss"],
                               h_eager.history["loss"], rtol=1e-4)
    for a, b in zip(reloaded.get_weights(), eager.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-3, atol=1e-5)
    moved = [not np.allclose(a, b) for a, b in
             zip(reloaded.get_weights(), model.get_weights())]
    assert all(moved)


def test_mask_node_is_passed_as_the_lstm_mask():
    # Keras records Embedding(mask_zero=True)'s mask as a NotEqual node fed
    # to the LSTM as mask=. With the Embedding's own mask switched off, the
    # NotEqual node alone still masks the padding; without both, the
    # padded steps count and the predictions move away from Keras's.
    path, data = _fixture("mask_lstm")
    assert [e["class_name"] for e in _op_entries(path).values()] == [
        "NotEqual"]
    weights = keras.saving.load_model(path).get_weights()
    config = _config(path)
    _edit_op(config, "Embedding")["config"]["mask_zero"] = False
    lstm = _edit_op(config, "LSTM")
    assert lstm["inbound_nodes"][0]["kwargs"]["mask"]["config"][
        "keras_history"][0] == "not_equal"
    node_mask = model_from_config(config, compile=False)
    node_mask.set_weights(weights)
    np.testing.assert_allclose(node_mask.predict(data["x0"], verbose=0),
                               data["y0"], rtol=1e-4, atol=1e-5)
    del lstm["inbound_nodes"][0]["kwargs"]["mask"]
    unmasked = model_from_config(config, compile=False)
    unmasked.set_weights(weights)
    gap = np.abs(unmasked.predict(data["x0"], verbose=0) - data["y0"]).max()
    assert gap > 1e-3


def _native_model():
    a = keras.Input((5, 3), name="a")
    h = keras.layers.Dense(4)(a)
    parts = [h[:, 0], h[..., 1:3, 2], h[:, None, -1, ::2], h[:, ::-2]]
    flat = [ops.reshape(p, (-1, int(np.prod(p.shape[1:])))) for p in parts]
    top, idx = ops.top_k(ops.mean(h, axis=1), 2)
    gram = ops.einsum("bij,bik->bjk", h, h)
    mixed = ops.einsum("bij,jk->bk", h, np.linspace(-1, 1, 8, dtype="float32")
                       .reshape(4, 2))  # a NumPy constant in the node
    z = ops.concatenate(flat + [top, ops.cast(idx, "float32"), mixed,
                                ops.reshape(gram, (-1, 16))], axis=-1)
    return keras.Model(a, keras.layers.Dense(2)(z * 0.5 - 1))


def test_graphkeras_op_nodes_save_as_keras_ops(tmp_path):
    model = _native_model()
    x = np.random.default_rng(0).normal(size=(4, 5, 3)).astype("float32")
    path = str(tmp_path / "native.keras")
    model.save(path)
    entries = _op_entries(path)
    kinds = {e["class_name"] for e in entries.values()}
    assert {"GetItem", "TopK", "Einsum", "Mean", "Cast", "Multiply",
            "Subtract", "Concatenate", "Reshape"} <= kinds
    assert all(e["registered_name"] == e["class_name"] and
               e["module"].startswith("keras.src.ops.")
               for e in entries.values())
    # named as Keras names its Operations: the class in snake case
    assert all(name.startswith(("get_item", "top_k", "einsum", "mean", "cast",
                                "multiply", "subtract", "concatenate",
                                "reshape")) for name in entries)
    constants = [e["inbound_nodes"][0]["args"][1] for e in entries.values()
                 if e["config"].get("subscripts") == "bij,jk->bk"]
    assert constants[0]["class_name"] == "__numpy__"
    keys = [e["inbound_nodes"][0]["args"][1] for e in entries.values()
            if e["class_name"] == "GetItem"]
    assert {"class_name": "__ellipsis__", "config": {}} in keys[1]
    loaded = keras.saving.load_model(path)
    np.testing.assert_allclose(loaded.predict(x, verbose=0),
                               model.predict(x, verbose=0), rtol=1e-6)


@pytest.mark.parametrize("subscripts,shapes", [
    ("bij,bjk->bik", [(2, 3, 4), (2, 4, 5)]),
    ("bij,bik->bjk", [(2, 3, 4), (2, 3, 2)]),
    ("bij,jk,kl->bil", [(2, 2, 3), (3, 4), (4, 2)]),
    ("bi,bj", [(2, 3), (2, 4)]),
    ("bjk->kj", [(2, 3, 4)]),
    ("bij,b->i", [(2, 3, 4), (2,)]),
])
def test_einsum_matches_numpy(subscripts, shapes):
    rng = np.random.default_rng(1)
    xs = [rng.normal(size=s).astype("float32") for s in shapes]
    want = np.einsum(subscripts, *xs)
    np.testing.assert_allclose(ops.einsum(subscripts, *xs), want, rtol=1e-5,
                               atol=1e-5)
    # traced with the letter b as the symbolic batch dim of the operands
    # that have it (the others are constants of the graph)
    terms = subscripts.split("->")[0].split(",")
    inputs = [keras.Input(s[1:]) if t[0] == "b" else None
              for t, s in zip(terms, shapes)]
    args = [x if k is None else k for x, k in zip(xs, inputs)]
    model = keras.Model([k for k in inputs if k is not None],
                        ops.einsum(subscripts, *args))
    fed = [x for x, k in zip(xs, inputs) if k is not None]
    np.testing.assert_allclose(model.predict(fed, verbose=0), want,
                               rtol=1e-5, atol=1e-5)


def test_einsum_size_mismatch_names_the_letter():
    with pytest.raises(ValueError, match=r"letter 'j' has sizes 3 and 4"):
        ops.einsum("ij,jk->ik", np.ones((2, 3)), np.ones((4, 2)))


def test_top_k_matches_numpy():
    x = np.random.default_rng(2).normal(size=(3, 7)).astype("float32")
    values, indices = ops.top_k(x, 3)
    order = np.argsort(-x, axis=-1)[:, :3]
    np.testing.assert_array_equal(indices, order)
    np.testing.assert_allclose(values, np.take_along_axis(x, order, -1))
    with pytest.raises(ValueError, match=r"0 < k <= the size of the last "
                                         r"axis, received k=8"):
        ops.top_k(x, 8)
    with pytest.raises(ValueError, match=r"no '\.\.\.'"):
        ops.einsum("...ij->...ji", x)


def _indexing_config():
    return _config(_fixture("indexing")[0])


def _edit_op(config, which, **changes):
    for e in config["config"]["layers"]:
        if e.get("class_name") == which:
            e.update(changes)
            return e
    raise AssertionError(which)


def test_unknown_op_class_names_class_module_and_model():
    config = _indexing_config()
    _edit_op(config, "Mean", class_name="Foo", registered_name="Foo")
    with pytest.raises(ValueError) as e:
        model_from_config(config, compile=False)
    text = str(e.value)
    assert ('graphkeras cannot load the Keras op keras.src.ops.numpy.Foo '
            '(node "mean") in model "' + config["config"]["name"] +
            '": supported ops are Abs, Absolute, AdaptiveAveragePool, '
            'AdaptiveMaxPool, Add, ') in text
    assert "NotEqual" in text and "Where" in text


def test_unsupported_op_argument_is_named():
    config = _indexing_config()
    entry = _edit_op(config, "Mean")
    entry["config"]["dtype"] = "float16"
    with pytest.raises(ValueError, match=r'Mean \(node "mean"\) in model '
                                         r'".*": it was saved with '
                                         r"dtype='float16', which "
                                         r"graphkeras's ops.mean does not "
                                         r"support"):
        model_from_config(config, compile=False)


def test_op_node_from_an_older_graphkeras_is_refused():
    config = _indexing_config()
    _edit_op(config, "Mean", class_name="OpLayer", module="keras.layers",
             registered_name=None)
    with pytest.raises(ValueError, match=r'op node "mean" of model ".*" was '
                                         r"saved by an older graphkeras"):
        model_from_config(config, compile=False)


def test_table_fits_the_graphkeras_functions():
    # every table line names a function whose parameters hold its
    # constructor arguments (Einsum's operands are *args)
    import inspect

    for op in keras_ops.OPS:
        fn = keras_ops.function_of(op)
        assert fn is not None, op.class_name
        params = inspect.signature(getattr(fn, "raw", fn)).parameters
        missing = [a for a in op.init + op.local if a not in params]
        assert not missing, (op.class_name, missing)
        assert not set(op.inert) & set(params), op.class_name
    assert len({op.class_name for op in keras_ops.OPS}) == len(keras_ops.OPS)


def test_graphkeras_only_argument_refused_when_saving(tmp_path):
    # ops.diff's append has no counterpart in Keras's Diff
    a = keras.Input((5,))
    keras.Model(a, ops.diff(a, axis=-1)).save(str(tmp_path / "ok.keras"))
    b = keras.Input((5,))
    bad = keras.Model(b, ops.diff(b, axis=-1, append=b[:, :1]))
    with pytest.raises(ValueError, match=r"Keras's Diff has no argument "
                                         r"append \(received append=<Keras"):
        bad.save(str(tmp_path / "bad.keras"))


def test_clone_model_and_legacy_h5_keep_op_nodes(tmp_path):
    path, data = _fixture("indexing")
    model = keras.saving.load_model(path)
    seen = []

    def clone_function(layer):
        seen.append(type(layer).__name__)
        return layer.__class__.from_config(layer.get_config())

    twin = keras.models.clone_model(model, clone_function=clone_function)
    assert seen == ["Dense", "Dense"]  # op nodes are not layers to clone
    twin.set_weights(model.get_weights())
    np.testing.assert_allclose(twin.predict(data["x0"], verbose=0),
                               data["y0"], rtol=1e-4, atol=1e-5)
    h5 = str(tmp_path / "indexing.h5")
    model.save(h5)
    np.testing.assert_allclose(
        keras.saving.load_model(h5).predict(data["x0"], verbose=0),
        data["y0"], rtol=1e-4, atol=1e-5)


def test_layers_leave_out_op_nodes_and_summary_shows_them():
    # Keras 3: Functional.layers holds no Operations; the summary shows
    # them under their op class
    path, _ = _fixture("mask_lstm")
    model = keras.saving.load_model(path)
    assert [x.name for x in model.layers] == ["tokens", "embedding", "lstm",
                                              "dense"]
    lines = []
    model.summary(print_fn=lines.append)
    text = "\n".join(lines)
    assert "not_equal" in text and "(NotEqual)" in text
    assert "not_equal[0][0]" in text  # the LSTM's mask input


def test_op_without_a_keras_class_is_refused_when_saving(tmp_path):
    a = keras.Input((3,))
    model = keras.Model(a, ops.mish(a))  # Keras 3 has no mish op
    with pytest.raises(ValueError, match=r'Cannot save the op node "mish" '
                                         r"\(graphkeras.ops function mish\) "
                                         r"in Keras 3's format"):
        model.save(str(tmp_path / "mish.keras"))
