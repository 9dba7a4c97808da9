"""export_function as a whole: names, initializers, the symbolic batch,
a whole MLP, opsets, errors, atomic saving and the frontend seam."""

from __future__ import annotations

import os

import numpy as np
import onnx
import pytest
from onnx_check import check_ort_matches_interpreter, check_same, session

import graphkeras.fileio
from graphkeras import ir
from graphkeras.export import onnx as gk_onnx
from graphkeras.export.onnx import (
    DEFAULT_OPSET,
    MAX_OPSET,
    MIN_OPSET,
    ExportError,
    ExportSpec,
    export_function,
    export_model,
    save_function,
)


def mlp() -> ir.Function:
    """Dense(16, relu) -> Dense(8, tanh) -> Dense(4, softmax), as the
    frontend traces it (nodes tagged with the layer names)."""
    b = ir.Builder("predict")
    x = b.param("x", ("N", 12))
    h = x
    for i, (units, act) in enumerate([(16, "relu"), (8, "tanh"),
                                      (4, "softmax")]):
        name = "dense" if i == 0 else f"dense_{i}"
        w = b.param(f"{name}/kernel", (h.shape[1], units))
        bias = b.param(f"{name}/bias", (units,))
        with b.at(name):
            h = b.op(act, b.add(b.matmul(h, w), bias))
    return ir.verify(b.build([h]))


def weights(fn, seed=0) -> dict:
    rng = np.random.default_rng(seed)
    return {p.name: rng.normal(size=p.type.shape).astype(np.float32) * 0.5
            for p in fn.params if p.type.is_static}


@pytest.mark.parametrize("opset", sorted({MIN_OPSET, DEFAULT_OPSET, MAX_OPSET}))
def test_mlp_matches_interpreter_at_batch_sizes(opset):
    fn = mlp()
    w = weights(fn)
    model = export_function(fn, initializers=w, opset=opset)
    sess = session(model)
    for batch in (1, 7, 64):
        x = np.random.default_rng(batch).normal(size=(batch, 12)).astype(
            np.float32)
        got = sess.run(None, {"x": x})
        want = ir.interpret(fn, {"x": x, **w})
        check_same(got, want, f"batch {batch}")


def test_initializers_inputs_outputs_and_batch_dim():
    fn = mlp()
    w = weights(fn)
    model = export_function(fn, initializers=w)
    g = model.graph
    assert [i.name for i in g.input] == ["x"]
    assert sorted(t.name for t in g.initializer) == sorted(w)
    for t in g.initializer:
        np.testing.assert_array_equal(onnx.numpy_helper.to_array(t), w[t.name])
    assert [o.name for o in g.output] == ["output_0"]
    dims = g.input[0].type.tensor_type.shape.dim
    assert dims[0].dim_param == "batch" and dims[1].dim_value == 12
    out_dims = g.output[0].type.tensor_type.shape.dim
    assert out_dims[0].dim_param == "batch" and out_dims[1].dim_value == 4
    assert model.opset_import[0].version == DEFAULT_OPSET == 18
    assert model.ir_version == 8  # the smallest that allows opset 18
    assert model.producer_name == "graphkeras"
    # node names carry the layer that recorded them
    assert {n.name.split("/")[0] for n in g.node} >= {"dense", "dense_1",
                                                       "dense_2"}


def test_parameters_without_values_become_inputs_and_names_can_be_given():
    fn = mlp()
    w = weights(fn)
    given = {"dense/kernel": w["dense/kernel"]}
    model = export_function(
        fn, initializers=given,
        input_names=["features", "b0", "k1", "b1", "k2", "b2"],
        output_names=["probabilities"], dim_params={"N": "n"},
    )
    g = model.graph
    assert [i.name for i in g.input] == ["features", "b0", "k1", "b1", "k2",
                                         "b2"]
    assert [o.name for o in g.output] == ["probabilities"]
    assert g.input[0].type.tensor_type.shape.dim[0].dim_param == "n"
    x = np.ones((3, 12), np.float32)
    feeds = {"features": x, "b0": w["dense/bias"], "k1": w["dense_1/kernel"],
             "b1": w["dense_1/bias"], "k2": w["dense_2/kernel"],
             "b2": w["dense_2/bias"]}
    check_ort_matches_interpreter(model, fn, {"x": x, **w}, feeds)


def test_results_that_are_params_or_repeated_get_identities():
    b = ir.Builder("f")
    x = b.param("x", ("N", 3))
    y = b.exp(x)
    fn = b.build([x, y, y])
    model = export_function(fn, output_names=["same", "e1", "e2"])
    x_val = np.arange(6, dtype=np.float32).reshape(2, 3)
    check_ort_matches_interpreter(model, fn, [x_val], {"x": x_val})


def test_batch_symbol_without_an_input_is_a_clear_error():
    b = ir.Builder("f")
    w = b.param("w", (3,))
    fn = b.build([b.add(b.zeros(shape=("N", 3)), w)])
    with pytest.raises(ExportError, match=r'dimension "N" is used .* no graph '
                       r"input carries it"):
        export_function(fn)


def test_op_without_mapping_names_op_node_and_layer(monkeypatch):
    # tanh is exported as the ONNX node its OpDef names: take that away
    monkeypatch.setattr(ir.get_op("tanh"), "onnx", None)
    b = ir.Builder("f")
    x = b.param("x", ("N", 3))
    with b.at("dense_3"):
        y = b.tanh(x)
    with pytest.raises(ExportError) as info:
        export_function(b.build([y]))
    assert str(info.value) == (
        f'Cannot export op "tanh" (node %{y.name} = tanh) in layer "dense_3" '
        "to ONNX: no ONNX mapping is defined for this op yet "
        "(graphkeras/export/onnx.py)."
    )


@pytest.mark.parametrize("opset", [MIN_OPSET - 1, MAX_OPSET + 1, "18", True])
def test_bad_opset(opset):
    with pytest.raises(ExportError, match=f"opset must be an integer from "
                       f"{MIN_OPSET} to {MAX_OPSET}, received {opset!r}"):
        export_function(mlp(), opset=opset)


def test_opset_newer_than_the_installed_onnx(monkeypatch):
    monkeypatch.setattr(onnx.defs, "onnx_opset_version", lambda: 21)
    with pytest.raises(ExportError, match=r"opset 22 needs a newer onnx "
                       r"package: the installed onnx .* knows opsets up to "
                       r"21\. Upgrade it"):
        export_function(mlp(), opset=22)
    assert export_function(mlp(), opset=21).opset_import[0].version == 21


@pytest.mark.parametrize("kwargs, message", [
    ({"initializers": {"nope": np.zeros(3)}},
     r"initializers name\(s\) \['nope'\] that are not parameters of @predict"),
    ({"initializers": {"dense/bias": np.zeros(5, np.float32)}},
     (r'Initializer "dense/bias" must have shape \(16,\) .* received shape '
      r"\(5,\)")),
    ({"initializers": {"dense/bias": np.zeros(16, np.complex64)}},
     r'Initializer "dense/bias" must have dtype float32, received complex64'),
    ({"initializers": {"x": np.zeros((2, 12), np.float32)}},
     r"symbolic shape f32\[N,12\]; only parameters with a static shape"),
    ({"input_names": ["a"]}, r"input_names must give 7 name\(s\), received 1"),
    ({"output_names": ["x"]}, r"output_names \['x'\] are also input"),
    ({"output_names": [""]}, r"output_names must be non-empty strings"),
    ({"input_names": ["a"] * 7}, r"input_names repeat the name\(s\) \['a'\]"),
])
def test_argument_errors(kwargs, message):
    with pytest.raises(ExportError, match=message):
        export_function(mlp(), **kwargs)


def test_float64_initializer_values_are_cast_to_the_parameter_dtype():
    fn = mlp()
    w = {k: v.astype(np.float64) for k, v in weights(fn).items()}
    model = export_function(fn, initializers=w)
    assert {t.data_type for t in model.graph.initializer} == {
        onnx.TensorProto.FLOAT}


def test_save_function_writes_atomically(tmp_path, monkeypatch):
    fn = mlp()
    path = tmp_path / "model.onnx"
    model = save_function(fn, path, initializers=weights(fn))
    assert onnx.load(str(path)) == model
    assert os.listdir(tmp_path) == ["model.onnx"]
    before = path.read_bytes()

    def fail(*a):
        raise OSError("disk full")

    monkeypatch.setattr(graphkeras.fileio.os, "replace", fail)
    with pytest.raises(OSError, match="disk full"):
        save_function(fn, path)  # a different model: no initializers
    assert path.read_bytes() == before  # the old file is untouched
    assert os.listdir(tmp_path) == ["model.onnx"]  # no temp file left


def test_weights_too_large_for_one_protobuf(tmp_path, monkeypatch):
    monkeypatch.setattr(gk_onnx, "_EXTERNAL_DATA_BYTES", 100)
    fn = mlp()
    with pytest.raises(ExportError, match=r"The weights take 0\.00 GB, and one "
                       r"ONNX protobuf holds less than 2 GiB\. Save the model "
                       r"to a file"):
        export_function(fn, initializers=weights(fn))
    path = tmp_path / "m.onnx"
    model = save_function(fn, path, initializers=weights(fn))
    assert all(t.data_location == onnx.TensorProto.EXTERNAL
               for t in model.graph.initializer)
    assert sorted(os.listdir(tmp_path)) == ["m.onnx", "m.onnx.data"]
    x = np.ones((3, 12), np.float32)
    got = session(onnx.load(str(path))).run(None, {"x": x})
    check_same(got, ir.interpret(fn, {"x": x, **weights(fn)}))


def test_save_function_to_a_missing_directory(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        save_function(mlp(), tmp_path / "no" / "m.onnx")


def test_export_model_uses_the_frontend_seam(tmp_path):
    fn = mlp()
    w = weights(fn)

    class Model:  # what the frontend's Model will provide
        def _onnx_export_spec(self):
            return ExportSpec(fn, w, ["input_layer"], ["dense_2"])

    path = tmp_path / "m.onnx"
    model = export_model(Model(), path, opset=MIN_OPSET)
    assert [i.name for i in model.graph.input] == ["input_layer"]
    assert [o.name for o in model.graph.output] == ["dense_2"]
    assert onnx.load(str(path)).opset_import[0].version == MIN_OPSET
    with pytest.raises(ExportError, match="Cannot export a object to ONNX"):
        export_model(object(), path)


def test_meta_op_with_a_body_is_inlined():
    # A kernel-like meta op (as fusion makes) exports as its body.
    from graphkeras.ir import registry
    from graphkeras.ir.registry import Attr, OpDef, register_op

    @register_op
    class _TestKernel(OpDef):
        name, onnx, kind, num_inputs = "_test_kernel", "Function", "meta", None
        attrs = {"body": Attr(lambda v: v)}  # noqa: RUF012 - as OpDefs do
        vjp = registry.NOT_DIFFERENTIABLE

        def infer(self, *types, body):
            return body.results[0].type

        def reference(self, *xs, body):
            return ir.interpret(body, list(xs))[0]

    try:
        inner = ir.Builder("body")
        a, c = inner.param("a", ("N", 3)), inner.param("c", (3,))
        body = inner.build([inner.relu(inner.mul(a, c))])
        b = ir.Builder("f")
        x, w = b.param("x", ("N", 3)), b.param("w", (3,))
        y = b.op("_test_kernel", x, w, body=body)
        fn = b.build([b.exp(y)])
        model = export_function(fn)
        assert {n.op_type for n in model.graph.node} == {"Mul", "Relu", "Exp"}
        xv = np.linspace(-2, 2, 12, dtype=np.float32).reshape(4, 3)
        wv = np.array([1.0, -1.0, 0.5], np.float32)
        check_ort_matches_interpreter(model, fn, [xv, wv], {"x": xv, "w": wv})
    finally:
        registry._REGISTRY.pop("_test_kernel", None)
