"""`model.export(path, format="onnx")` end to end: Keras models of every
kind (Sequential, Functional with several and dict inputs and outputs,
subclassed, nested, shared layers, mixed_bfloat16) exported, checked with
onnx.checker (full_check) and run under onnxruntime at batch sizes 1, 7
and 33, against the model's own compiled `predict`; the file's names,
batch dimension and dtypes; Keras's `export` arguments and the user's
errors. The layer breadth is in tests/export/test_layer_export.py.
"""

from __future__ import annotations

import os

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx_check import check_export

import graphkeras as keras
from graphkeras import layers as L
from graphkeras.export.onnx import DEFAULT_OPSET, MAX_OPSET, MIN_OPSET


def io(sess):
    return ([(i.name, i.shape, i.type) for i in sess.get_inputs()],
            [(o.name, o.shape, o.type) for o in sess.get_outputs()])


@pytest.fixture(autouse=True)
def _seed():
    keras.utils.set_random_seed(0)


# --- model kinds, names and the batch dimension ---------------------------


def test_sequential_names_and_batch_dimension(tmp_path):
    model = keras.Sequential([keras.Input((5,)),
                              L.Dense(8, activation="relu", name="hidden"),
                              L.Dense(3, activation="softmax", name="probs")])
    sess = check_export(model, tmp_path / "m.onnx")
    ins, outs = io(sess)
    # the input is named after the Input layer, the output after its layer
    assert ins == [(model.inputs[0].name, ["batch", 5], "tensor(float)")]
    assert ins[0][0].startswith("input_layer")
    assert outs == [("probs", ["batch", 3], "tensor(float)")]
    proto = onnx.load(str(tmp_path / "m.onnx"))
    assert proto.opset_import[0].version == DEFAULT_OPSET
    # weights are initializers named after the Keras variables
    names = {t.name for t in proto.graph.initializer}
    assert any(n.endswith("hidden/kernel") for n in names), names


def test_functional_dict_inputs_and_outputs(tmp_path):
    age, income = keras.Input((3,), name="age"), keras.Input((2,),
                                                              name="income")
    h = L.Concatenate()([age, income])
    model = keras.Model({"age": age, "income": income},
                        {"score": L.Dense(1, name="score")(h),
                         "cls": L.Dense(3, activation="softmax",
                                        name="cls")(h)})
    sess = check_export(model, tmp_path / "m.onnx")
    ins, outs = io(sess)
    assert [i[0] for i in ins] == ["age", "income"]
    assert sorted(o[0] for o in outs) == ["cls", "score"]


def test_several_inputs_and_outputs_shared_and_nested(tmp_path):
    inner = keras.Sequential([keras.Input((6,)), L.Dense(5, activation="relu"),
                              L.Dense(4)], name="inner")
    a, b = keras.Input((6,), name="left"), keras.Input((6,), name="right")
    shared = L.Dense(4, activation="tanh")
    s = L.Add()([shared(a), shared(b)])
    model = keras.Model([a, b], [L.Dense(2, name="out_a")(s),
                                 L.Multiply(name="out_b")([inner(a), s])])
    sess = check_export(model, tmp_path / "m.onnx")
    assert [i[0] for i in io(sess)[0]] == ["left", "right"]
    assert [o[0] for o in io(sess)[1]] == ["out_a", "out_b"]


def test_outputs_of_one_layer_get_suffixes_that_clash_with_no_layer(tmp_path):
    inp = keras.Input((6, 3))
    seqs, h, c = L.LSTM(4, return_state=True, name="lstm")(inp)
    model = keras.Model(inp, [seqs, h, c, L.Dense(2, name="lstm_1")(h)])
    sess = check_export(model, tmp_path / "m.onnx", batches=(1, 7))
    assert [o[0] for o in io(sess)[1]] == ["lstm", "lstm_2", "lstm_3",
                                           "lstm_1"]


def test_subclassed_model_exports_the_dtype_it_was_called_with(tmp_path):
    class Bag(keras.Model):
        def __init__(self):
            super().__init__()
            self.embed = L.Embedding(10, 4)
            self.out = L.Dense(2)

        def call(self, ids):
            return self.out(keras.ops.mean(self.embed(ids), axis=1))

    model = Bag()
    model.predict(np.zeros((2, 5), "int32"), verbose=0)
    sess = check_export(model, tmp_path / "m.onnx")
    assert io(sess)[0] == [("ids", ["batch", 5], "tensor(int32)")]


def test_out_of_range_ids_read_the_nearest_row(tmp_path):
    # predict raises on them; an ONNX model cannot, and clamps (the IR's
    # gather semantics)
    model = keras.Sequential([keras.Input((3,), dtype="int32"),
                              L.Embedding(5, 2)])
    model.export(str(tmp_path / "m.onnx"), verbose=False)
    sess = ort.InferenceSession(str(tmp_path / "m.onnx"))
    x = np.array([[0, 4, 7], [-1, 2, 5]], "int32")
    got = sess.run(None, {sess.get_inputs()[0].name: x})[0]
    table = model.layers[0].get_weights()[0]
    np.testing.assert_array_equal(got, table[np.clip(x, 0, 4)])
    with pytest.raises(ValueError, match=r"received the index 7"):
        model.predict(x, verbose=0)


def test_mixed_bfloat16_model_matches_predict(tmp_path):
    # Dense products round operands to bfloat16; the file stays float32
    keras.mixed_precision.set_global_policy("mixed_bfloat16")
    try:
        model = keras.Sequential([
            keras.Input((9,)), L.Dense(16, activation="gelu"),
            L.Dense(5), L.Activation("softmax", dtype="float32")])
    finally:
        keras.mixed_precision.set_global_policy("float32")
    sess = check_export(model, tmp_path / "m.onnx")
    ins, outs = io(sess)
    assert ins[0][2] == outs[0][2] == "tensor(float)"
    proto = onnx.load(str(tmp_path / "m.onnx"))
    assert {t.data_type for t in proto.graph.initializer} == {
        onnx.TensorProto.FLOAT}
    # products inside recurrent steps (ONNX Scan bodies) and attention
    keras.mixed_precision.set_global_policy("mixed_bfloat16")
    try:
        seq = keras.Input((5, 8))
        h = L.MultiHeadAttention(2, 4)(seq, seq, use_causal_mask=True)
        h = L.GRU(3)(L.LSTM(4, return_sequences=True)(h))
        model = keras.Model(seq, L.Dense(2, dtype="float32")(h))
    finally:
        keras.mixed_precision.set_global_policy("float32")
    check_export(model, tmp_path / "rnn.onnx")


@pytest.mark.parametrize("opset", sorted({MIN_OPSET, 19, 20, MAX_OPSET}))
def test_every_supported_opset(tmp_path, opset):
    inp = keras.Input((6, 5))
    h = L.LayerNormalization()(L.Conv1D(4, 3, padding="same")(inp))
    h = L.GRU(3)(L.MaxPooling1D(2)(h))
    model = keras.Model(inp, L.Dense(2, activation="softmax")(h))
    check_export(model, tmp_path / "m.onnx", opset=opset, batches=(1, 7))
    proto = onnx.load(str(tmp_path / "m.onnx"))
    assert proto.opset_import[0].version == opset
    assert proto.ir_version == onnx.helper.find_min_ir_version_for(
        proto.opset_import)


def test_cli_export_of_a_saved_model_is_the_same_model(tmp_path, capsys):
    from graphkeras import cli

    model = keras.Sequential([keras.Input((4, 4, 2)),
                              L.Conv2D(3, 3, padding="same"),
                              L.GlobalAveragePooling2D(), L.Dense(2)])
    model.save(str(tmp_path / "m.keras"))
    model.export(str(tmp_path / "api.onnx"), verbose=False)
    assert cli.main(["export", str(tmp_path / "m.keras"),
                     str(tmp_path / "cli.onnx"), "--opset", "21"]) == 0
    assert "opset 21" in capsys.readouterr().out
    api = ort.InferenceSession(str(tmp_path / "api.onnx"))
    via_cli = ort.InferenceSession(str(tmp_path / "cli.onnx"))
    assert io(api) == io(via_cli)
    x = np.random.default_rng(1).normal(size=(7, 4, 4, 2)).astype("float32")
    name = api.get_inputs()[0].name
    np.testing.assert_allclose(via_cli.run(None, {name: x})[0],
                               api.run(None, {name: x})[0], rtol=1e-6)


def test_cli_input_shape_sizes_a_variable_length_model(tmp_path, capsys):
    from graphkeras import cli

    model = keras.Sequential([keras.Input((None,), dtype="int32"),
                              L.Embedding(12, 3), L.GRU(4)])
    model.save(str(tmp_path / "m.keras"))
    out = str(tmp_path / "m.onnx")
    assert cli.main(["export", str(tmp_path / "m.keras"), out]) == 2
    assert "unknown non-batch dimension" in capsys.readouterr().err
    assert cli.main(["export", str(tmp_path / "m.keras"), out,
                     "--input-shape", "9"]) == 0
    sess = ort.InferenceSession(out)
    assert io(sess)[0] == [(model.inputs[0].name, ["batch", 9],
                            "tensor(int32)")]
    x = np.random.default_rng(0).integers(0, 12, (4, 9)).astype("int32")
    np.testing.assert_allclose(sess.run(None, {io(sess)[0][0][0]: x})[0],
                               model.predict(x, verbose=0),
                               rtol=1e-5, atol=1e-6)
    capsys.readouterr()
    assert cli.main(["export", str(tmp_path / "m.keras"), out,
                     "--input-shape", "9,x"]) == 2
    assert "--input-shape takes the sizes" in capsys.readouterr().err


# --- Keras's arguments -----------------------------------------------------


def _small():
    return keras.Sequential([keras.Input((4,)), L.Dense(3)])


def test_prints_keras_message_unless_verbose_false(tmp_path, capsys):
    path = tmp_path / "m.onnx"
    assert _small().export(str(path)) is None  # Keras returns nothing
    assert capsys.readouterr().out == f"Saved artifact at '{path}'.\n"
    _small().export(str(path), verbose=False)
    assert capsys.readouterr().out == ""


def test_opset_version_is_kerass_name_and_opset_an_alias(tmp_path):
    path = str(tmp_path / "m.onnx")
    _small().export(path, verbose=False, opset_version=MAX_OPSET)
    assert onnx.load(path).opset_import[0].version == MAX_OPSET
    _small().export(path, verbose=False, opset=MIN_OPSET)
    assert onnx.load(path).opset_import[0].version == MIN_OPSET
    with pytest.raises(ValueError, match="opset is an alias of opset_version"):
        _small().export(path, opset=MIN_OPSET, opset_version=MAX_OPSET)


@pytest.mark.parametrize("value", [MIN_OPSET - 1, MAX_OPSET + 1, "18", 18.0])
def test_opset_out_of_range(tmp_path, value):
    with pytest.raises(ValueError) as info:
        _small().export(str(tmp_path / "m.onnx"), opset_version=value)
    assert str(info.value) == (
        f"opset_version must be an integer from {MIN_OPSET} to {MAX_OPSET} "
        "(the ONNX opsets graphkeras writes; default: the exporter's "
        f"DEFAULT_OPSET). Received: opset_version={value!r}")
    assert not os.listdir(tmp_path)


def test_input_signature_sizes_a_variable_length_input(tmp_path):
    model = keras.Sequential([keras.Input((None,), dtype="int32"),
                              L.Embedding(12, 3, mask_zero=True),
                              L.LSTM(4)])
    with pytest.raises(ValueError, match=r"unknown non-batch dimension.*"
                       r"pass input_signature"):
        model.export(str(tmp_path / "m.onnx"))
    model.export(str(tmp_path / "m.onnx"), verbose=False, input_signature=[
        keras.InputSpec(shape=(None, 6), dtype="int32", name="tokens")])
    sess = ort.InferenceSession(str(tmp_path / "m.onnx"))
    assert io(sess)[0] == [("tokens", ["batch", 6], "tensor(int32)")]
    x = np.random.default_rng(0).integers(0, 12, (5, 6)).astype("int32")
    x[:, 4:] = 0
    np.testing.assert_allclose(sess.run(None, {"tokens": x})[0],
                               model.predict(x, verbose=0),
                               rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("signature, message", [
    ([(None, 6, 2)], r"entry 0 has the shape \(None, 6, 2\), which does not "
                     r"fit input"),
    ([(None, 6), (None, 3)], r"has 1 input\(s\), but input_signature gives 2"),
    ([keras.InputSpec(shape=(None, 6), dtype="float32")],
     r"entry 0 has dtype float32, but input .* takes int32"),
    ([(None, None)], r"entry 0 has the shape \(None, None\) with an unknown "
                     r"non-batch dimension"),
    (["text"], r"entry 0 must be a keras.InputSpec with a shape"),
])
def test_input_signature_errors(tmp_path, signature, message):
    model = keras.Sequential([keras.Input((None,), dtype="int32"),
                              L.Embedding(12, 3), L.GlobalAveragePooling1D()])
    with pytest.raises(ValueError, match=message):
        model.export(str(tmp_path / "m.onnx"), input_signature=signature)
    assert not os.listdir(tmp_path)


def test_unbuilt_subclassed_model_with_an_input_signature(tmp_path):
    class Net(keras.Model):
        def __init__(self):
            super().__init__()
            self.d = L.Dense(2)

        def call(self, x):
            return self.d(x) * 2.0

    with pytest.raises(ValueError, match=r"Model 'net\w*' has not been built.*"
                       r"or pass input_signature"):
        Net().export(str(tmp_path / "m.onnx"))
    model = Net()
    model.export(str(tmp_path / "m.onnx"), verbose=False,
                 input_signature=[keras.InputSpec(shape=(None, 3))])
    check_export(model, tmp_path / "m.onnx")


# --- the user's errors -----------------------------------------------------


def test_unbuilt_model(tmp_path):
    model = keras.Sequential([L.Dense(3)])
    with pytest.raises(ValueError, match=r"Model 'sequential\w*' has not been "
                       r"built, so its inputs are unknown"):
        model.export(str(tmp_path / "m.onnx"))
    assert not os.listdir(tmp_path)


def test_layer_that_cannot_be_exported_is_named(tmp_path):
    class Jitter(L.Layer):
        def call(self, x):  # noise at inference too: no ONNX equivalent
            return x + keras.random.normal(keras.ops.shape(x), stddev=0.1)

    model = keras.Sequential([keras.Input((4,)), Jitter(name="jitter"),
                              L.Dense(2)])
    with pytest.raises(ValueError, match=r"draws random numbers at inference "
                       r"\(in layer\(s\) 'jitter'\).*cannot be exported"):
        model.export(str(tmp_path / "m.onnx"))
    assert not os.listdir(tmp_path)


def test_layers_that_write_variables_at_inference_are_named(tmp_path):
    rnn = keras.Sequential([keras.Input((4, 3), batch_size=2),
                            L.SimpleRNN(3, stateful=True, name="rnn"),
                            L.Dense(1)])
    with pytest.raises(ValueError, match=r"updates variable\(s\) 'rnn/\w+' "
                       r"at inference \(in layer\(s\) 'rnn'\): an exported "
                       r"ONNX model has no state .* stateful=False"):
        rnn.export(str(tmp_path / "m.onnx"))

    class Counter(L.Layer):
        def build(self, shape):
            self.calls = self.add_weight(shape=(), initializer="zeros",
                                         trainable=False, name="calls")

        def call(self, x):
            self.calls.assign(self.calls + 1.0)
            return x * 2.0

    model = keras.Sequential([keras.Input((3,)), Counter(name="counter")])
    with pytest.raises(ValueError, match=r"updates variable\(s\) "
                       r"'[\w/]*counter/calls' at inference \(in layer\(s\) "
                       r"'counter'\).*Write variables only when training"):
        model.export(str(tmp_path / "m.onnx"))
    assert not os.listdir(tmp_path)


def test_path_that_is_a_directory_or_in_a_missing_one(tmp_path):
    with pytest.raises(IsADirectoryError, match=r"it is a directory\. Give a "
                       r"file path, e\.g\. .*model\.onnx"):
        _small().export(str(tmp_path))
    with pytest.raises(FileNotFoundError, match="does not exist"):
        _small().export(str(tmp_path / "no" / "m.onnx"))
    assert not os.listdir(tmp_path)


def test_unwritable_directory(tmp_path, monkeypatch):
    import graphkeras.fileio

    def denied(*args, **kwargs):  # what a read-only directory gives
        raise PermissionError(13, "Permission denied",
                              str(tmp_path / ".m.onnx.x.tmp"))

    monkeypatch.setattr(graphkeras.fileio.tempfile, "mkstemp", denied)
    with pytest.raises(PermissionError, match=r"Cannot write the ONNX model "
                       r"to .*m\.onnx: permission denied in "):
        _small().export(str(tmp_path / "m.onnx"))
    assert not os.listdir(tmp_path)


def test_failed_write_leaves_the_old_file_whole(tmp_path, monkeypatch):
    import graphkeras.fileio

    path = tmp_path / "m.onnx"
    _small().export(str(path), verbose=False)
    before = path.read_bytes()

    def full_disk(*args):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(graphkeras.fileio.os, "replace", full_disk)
    with pytest.raises(OSError, match="No space left"):
        keras.Sequential([keras.Input((4,)), L.Dense(5)]).export(str(path))
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["m.onnx"]


def test_format_other_than_onnx(tmp_path):
    with pytest.raises(ValueError, match=r"ONNX format only: pass "
                       r"format='onnx'. Received: format='tf_saved_model'"):
        _small().export(str(tmp_path / "m"), format="tf_saved_model")


def test_the_guide_runs_as_written(tmp_path, monkeypatch, capsys):
    """docs/onnx.md's Python snippets, in order, in one namespace."""
    import re

    guide = os.path.join(os.path.dirname(__file__), os.pardir, os.pardir,
                         "docs", "onnx.md")
    with open(guide) as f:
        blocks = re.findall(r"```python\n(.*?)```", f.read(), re.S)
    assert len(blocks) == 3
    monkeypatch.chdir(tmp_path)
    namespace = {}
    for block in blocks:
        exec(compile(block, "docs/onnx.md", "exec"), namespace)  # noqa: S102
    out = capsys.readouterr().out
    assert "Saved artifact at 'model.onnx'." in out
    assert "[('features', ['batch', 20], 'tensor(float)')]" in out
    assert "(7, 3)" in out
    sess = ort.InferenceSession("text.onnx")
    assert io(sess)[0] == [("tokens", ["batch", 32], "tensor(int32)")]


def test_weights_past_protobufs_limit_go_to_a_side_file(tmp_path,
                                                        monkeypatch):
    # The real limit is 2 GiB; lowered here so that a small model takes
    # the same path (a 2.2 GB Embedding was checked by hand).
    from graphkeras.export import onnx as gk_onnx

    monkeypatch.setattr(gk_onnx, "_EXTERNAL_DATA_BYTES", 100)
    model = keras.Sequential([keras.Input((5,)), L.Dense(16, activation="relu"),
                              L.Dense(3)])
    sess = check_export(model, tmp_path / "m.onnx")
    assert sorted(os.listdir(tmp_path)) == ["m.onnx", "m.onnx.data"]
    assert os.path.getsize(tmp_path / "m.onnx") < 2000
    assert len(io(sess)[0]) == 1  # weights stay initializers, not inputs
    onnx.checker.check_model(str(tmp_path / "m.onnx"), full_check=True)
    proto = onnx.load(str(tmp_path / "m.onnx"))  # reads the side file
    got = {t.name: onnx.numpy_helper.to_array(t) for t in proto.graph.initializer}
    want = {v.path: v.numpy() for v in model.weights}
    assert sorted(got) == sorted(want)
    for name, value in want.items():
        np.testing.assert_array_equal(got[name], value)
    # a failed write of the model file leaves neither file behind
    import graphkeras.fileio

    replace = graphkeras.fileio.os.replace
    calls = []

    def second_fails(src, dst):
        calls.append(dst)
        if len(calls) == 2:
            raise OSError(28, "No space left on device")
        replace(src, dst)

    monkeypatch.setattr(graphkeras.fileio.os, "replace", second_fails)
    with pytest.raises(OSError, match="No space left"):
        model.export(str(tmp_path / "n.onnx"), verbose=False)
    assert [os.path.basename(c) for c in calls] == ["n.onnx.data", "n.onnx"]
    assert sorted(os.listdir(tmp_path)) == ["m.onnx", "m.onnx.data"]


def test_relu_with_max_value_is_one_clip(tmp_path):
    # onnxruntime fuses a Clip into the Conv before it (MobileNetV2's
    # ReLU(6.0)); the where/min form it had kept every block unfused and
    # the model ~4x slower under onnxruntime
    model = keras.Sequential([keras.Input((6, 6, 3)), L.Conv2D(4, 3),
                              L.ReLU(6.0), L.ReLU(max_value=2.5)])
    check_export(model, tmp_path / "m.onnx", batches=(1, 7))
    ops_used = [n.op_type for n in onnx.load(str(tmp_path / "m.onnx")).graph.node]
    assert ops_used.count("Clip") == 2 and "Where" not in ops_used, ops_used
    x = np.array([[-np.inf, -1.0, 3.0, 9.0, np.inf]], "float32")
    relu6 = keras.Sequential([keras.Input((5,)), L.ReLU(6.0)])
    np.testing.assert_array_equal(relu6.predict(x, verbose=0),
                                  [[0.0, 0.0, 3.0, 6.0, 6.0]])
