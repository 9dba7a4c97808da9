"""utils.plot_model / model_to_dot (pydot, Graphviz) and `graphkeras dump
--format dot` of a compiled program. The dot text is checked always; the
pictures are rendered when Graphviz's `dot` is installed (CI installs it)."""

import shutil
import subprocess
import sys

import pytest

pydot = pytest.importorskip("pydot")

import graphkeras as keras  # noqa: E402

HAVE_DOT = shutil.which("dot") is not None
needs_dot = pytest.mark.skipif(not HAVE_DOT, reason="Graphviz not installed")


def _model():
    inner = keras.Sequential([
        keras.Input((8,)),
        keras.layers.Dense(8, activation="relu", name="inner_dense"),
        keras.layers.Dropout(0.1, name="inner_drop"),
    ], name="block")
    a = keras.Input((4,), name="numeric")
    b = keras.Input((3,), name="extra")
    h = keras.layers.Concatenate(name="concat")([
        keras.layers.Dense(8, activation="tanh", name="shared")(a),
        keras.layers.Dense(8, name="proj", trainable=False)(b)])
    h = inner(keras.layers.Dense(8, name="mix")(h))
    out = keras.layers.Dense(2, activation="softmax", name="head")(h)
    return keras.Model([a, b], out, name="demo")


def _labels(dot):
    return {n.get_name(): n.get_label() for n in dot.get_nodes()
            if n.get_label()}


def _edges(dot, names):
    return {(names[e.get_source()], names[e.get_destination()])
            for e in dot.get_edges()}


def _names(model, dot, nested=False):
    from graphkeras.frontend.utils.model_graph import _layers_of

    layers = list(_layers_of(model))
    if nested:
        layers += list(model.get_layer("block").layers)
    return {str(id(layer)): layer.name for layer in layers}


def test_model_to_dot_boxes_and_edges():
    model = _model()
    dot = keras.utils.model_to_dot(
        model, show_shapes=True, show_dtype=True, show_trainable=True,
        show_layer_activations=True, rankdir="LR", dpi=96)
    assert isinstance(dot, pydot.Dot)
    assert dot.get("rankdir") == "LR" and dot.get("dpi") == 96
    names = _names(model, dot)
    assert _edges(dot, names) == {
        ("numeric", "shared"), ("extra", "proj"), ("shared", "concat"),
        ("proj", "concat"), ("concat", "mix"), ("mix", "block"),
        ("block", "head")}
    labels = {names[k]: v for k, v in _labels(dot).items() if k in names}
    assert "<b>concat</b> (Concatenate)" in labels["concat"]
    assert "Input shape: <b>[(None, 8), (None, 8)]</b>" in labels["concat"]
    assert "Output shape: <b>(None, 16)</b>" in labels["concat"]
    assert "Output dtype: <b>float32</b>" in labels["head"]
    assert "Activation: <b>softmax</b>" in labels["head"]
    assert "Non-trainable" in labels["proj"] and "Trainable" in labels["mix"]
    assert "Input shape" not in labels["numeric"]  # an InputLayer
    assert "Trainable" not in labels["concat"]  # no weights


def test_expand_nested_draws_a_cluster_and_crosses_into_it():
    model = _model()
    dot = keras.utils.model_to_dot(model, expand_nested=True)
    (cluster,) = dot.get_subgraphs()
    assert cluster.get("label") == "block"
    names = _names(model, dot, nested=True)
    inside = {names[n.get_name()] for n in cluster.get_nodes()
              if n.get_name() in names}
    assert inside == {"inner_dense", "inner_drop"}
    edges = _edges(dot, names)
    assert ("mix", "inner_dense") in edges
    assert ("inner_dense", "inner_drop") in edges
    assert ("inner_drop", "head") in edges
    assert not any("block" in e for e in edges)


def test_subclassed_model_is_one_box_and_errors():
    class Net(keras.Model):
        def __init__(self):
            super().__init__(name="net")
            self.d = keras.layers.Dense(2)

        def call(self, x):
            return self.d(x)

    net = Net()
    with pytest.raises(ValueError, match="not yet been built"):
        keras.utils.model_to_dot(net)
    net(keras.ops.ones((1, 3)))
    dot = keras.utils.model_to_dot(net)
    assert len(dot.get_nodes()) == 2  # the node defaults, and the model
    with pytest.raises(ValueError, match="rankdir"):
        keras.utils.model_to_dot(_model(), rankdir="BT")


def test_plot_model_writes_dot_text(tmp_path):
    model = _model()
    keras.utils.plot_model(model, str(tmp_path / "m.dot"), show_shapes=True)
    text = (tmp_path / "m.dot").read_text()
    assert text == keras.utils.model_to_dot(
        model, show_shapes=True, show_layer_names=False).to_string()
    assert "<b>Dense</b>" in text  # class names only, Keras's default


@needs_dot
@pytest.mark.parametrize("ext,magic", [("png", b"\x89PNG"), ("svg", b"<?xml"),
                                       ("pdf", b"%PDF")])
def test_plot_model_renders(tmp_path, ext, magic):
    path = tmp_path / f"m.{ext}"
    keras.utils.plot_model(_model(), str(path), show_shapes=True,
                           expand_nested=True, dpi=72)
    assert path.read_bytes().startswith(magic)


def test_without_graphviz_the_error_names_it(tmp_path, monkeypatch):
    monkeypatch.setattr(shutil, "which", lambda name: None)
    with pytest.raises(ImportError, match="Graphviz"):
        keras.utils.plot_model(_model(), str(tmp_path / "m.png"))
    assert not (tmp_path / "m.png").exists()


def test_without_pydot_the_error_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "pydot", None)
    with pytest.raises(ImportError, match=r"graphkeras\[plot\]"):
        keras.utils.model_to_dot(_model())


def test_dump_dot_of_the_compiled_program(tmp_path):
    model = keras.Sequential([keras.Input((4,)),
                              keras.layers.Dense(8, activation="relu"),
                              keras.layers.Dense(2)])
    model.save(tmp_path / "m.keras")
    cmd = [sys.executable, "-m", "graphkeras", "dump", str(tmp_path / "m.keras"),
           "--stage", "planned", "--format", "dot"]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=300,
                         check=True).stdout
    assert out.startswith('digraph "predict" {')
    assert "fused(matmul+add+relu)\\nf32[N,8]" in out
    if HAVE_DOT:
        png = tmp_path / "m.png"
        subprocess.run(cmd + ["-o", str(png)], check=True, timeout=300)
        assert png.read_bytes().startswith(b"\x89PNG")
