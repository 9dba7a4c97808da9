"""Whole models through save / load / clone / export: the Keras 3 file
layout, compiled predictions, exact resumption, custom objects, safe
mode, older Keras spellings, ONNX of multi-input / multi-output models."""

import io
import json
import zipfile

import h5py
import numpy as np
import onnx
import onnxruntime as ort
import pytest
from saving_helpers import data, small_mlp

import graphkeras as keras
from graphkeras.saving import load_model


def multi_io_model():
    keras.utils.set_random_seed(1)
    a = keras.Input(shape=(4,), name="a")
    b = keras.Input(shape=(3,), name="b")
    shared = keras.layers.Dense(5, activation="tanh")
    h = keras.layers.Concatenate()([shared(a), keras.layers.Dense(5)(b)])
    h = keras.layers.BatchNormalization()(h)
    cls = keras.layers.Dense(2, activation="softmax", name="cls")(h)
    reg = keras.layers.Dense(1, name="reg")(h)
    model = keras.Model([a, b], [cls, reg])
    model.compile(optimizer=keras.optimizers.Adam(0.01),
                  loss=["sparse_categorical_crossentropy", "mse"],
                  metrics=[["accuracy"], []])
    return model


def multi_io_data(n, seed=0):
    rng = np.random.default_rng(seed)
    xa = rng.normal(size=(n, 4)).astype("float32")
    xb = rng.normal(size=(n, 3)).astype("float32")
    return [xa, xb], [(xa[:, 0] > 0).astype("int64"),
                      xb[:, :1].astype("float32")]


def test_keras_file_layout_and_compiled_round_trip(tmp_path):
    model = multi_io_model()
    x, y = multi_io_data(32)
    model.fit(x, y, epochs=2, batch_size=8, verbose=0)
    path = tmp_path / "m.keras"
    model.save(path)
    with zipfile.ZipFile(path) as z:
        assert sorted(z.namelist()) == ["config.json", "metadata.json",
                                        "model.weights.h5"]
        config = json.loads(z.read("config.json"))
        weights = z.read("model.weights.h5")
    assert {"module", "class_name", "config", "registered_name",
            "compile_config"} <= set(config)
    assert config["class_name"] == "Functional"
    assert config["compile_config"]["optimizer"]["class_name"] == "Adam"
    layer = config["config"]["layers"][2]
    assert layer["class_name"] == "Dense" and layer["module"] == "keras.layers"
    assert layer["build_config"] == {"input_shape": [None, 4]}
    assert config["config"]["input_layers"] == [["a", 0, 0], ["b", 0, 0]]
    with h5py.File(io.BytesIO(weights), "r") as h5:
        names = []
        h5.visit(names.append)
        assert "layers/dense/vars/0" in names
        assert "layers/batch_normalization/vars/3" in names
        assert h5["layers/dense/vars"].attrs["name"] == model.layers[2].name
        opt = h5["optimizer/vars"]
        assert len(opt) == len(model.optimizer.variables)
        np.testing.assert_array_equal(opt["0"][()], 8)  # iterations
    loaded = load_model(path)
    assert loaded.input_names == ["a", "b"]
    assert loaded.output_names == ["cls", "reg"]
    for p, q in zip(loaded.predict(x, verbose=0), model.predict(x, verbose=0)):
        np.testing.assert_array_equal(p, q)


@pytest.mark.parametrize("ext, dropout", [(".keras", True), (".h5", False)])
def test_resumed_training_equals_uninterrupted(tmp_path, ext, dropout):
    x, y = data(48)
    keras.utils.set_random_seed(4)
    model = small_mlp(dropout=dropout)
    model.fit(x, y, epochs=2, batch_size=16, verbose=0, shuffle=False)
    model.save(tmp_path / f"m{ext}")
    rest = model.fit(x, y, epochs=3, batch_size=16, verbose=0, shuffle=False)
    resumed = load_model(tmp_path / f"m{ext}")
    again = resumed.fit(x, y, epochs=3, batch_size=16, verbose=0,
                        shuffle=False)
    assert again.history == rest.history
    for a, b in zip(resumed.get_weights(), model.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_weights_files_in_every_format(tmp_path):
    x, y = data()
    keras.utils.set_random_seed(0)
    model = small_mlp()
    model.fit(x, y, epochs=1, verbose=0)
    expected = model.predict(x, verbose=0)
    model.save_weights(tmp_path / "w.weights.h5")
    model.save(tmp_path / "m.keras")
    model.save(tmp_path / "m.h5")
    for source in ("w.weights.h5", "m.keras", "m.h5"):
        fresh = small_mlp(compile=False)
        fresh.load_weights(tmp_path / source)
        np.testing.assert_array_equal(fresh.predict(x, verbose=0), expected)
    other = keras.Sequential([keras.Input(shape=(4,)),
                              keras.layers.Dense(7),
                              keras.layers.Dense(3)])
    with pytest.raises(ValueError, match=r"w\.weights\.h5.*shape \(4, 7\)"):
        other.load_weights(tmp_path / "w.weights.h5")


@keras.saving.register_keras_serializable(package="tests")
class Scale(keras.layers.Layer):
    def __init__(self, factor=2.0, **kwargs):
        super().__init__(**kwargs)
        self.factor = factor

    def build(self, input_shape):
        self.w = self.add_weight(shape=(input_shape[-1],), initializer="ones",
                                 name="w")

    def call(self, inputs):
        return keras.ops.multiply(inputs, self.w) * self.factor

    def get_config(self):
        return {**super().get_config(), "factor": self.factor}


class Unregistered(Scale):
    pass


@keras.saving.register_keras_serializable(package="tests")
class TwoLayers(keras.Model):
    def __init__(self, units=3, **kwargs):
        super().__init__(**kwargs)
        self.units = units
        self.inner = keras.layers.Dense(units)
        self.scale = Scale(0.5)

    def call(self, inputs):
        return self.scale(self.inner(inputs))

    def get_config(self):
        return {"units": self.units, "name": self.name}


def test_registered_and_custom_objects(tmp_path):
    x = np.linspace(-1, 1, 20, dtype="float32").reshape(5, 4)
    inp = keras.Input(shape=(4,))
    model = keras.Model(inp, Scale(3.0)(inp))
    model.layers[1].w.assign(np.arange(4, dtype="float32"))
    model.save(tmp_path / "scale.keras")
    config = json.loads(zipfile.ZipFile(tmp_path / "scale.keras")
                        .read("config.json"))
    assert config["config"]["layers"][1]["registered_name"] == "tests>Scale"
    loaded = load_model(tmp_path / "scale.keras")
    np.testing.assert_array_equal(loaded.predict(x, verbose=0),
                                  model.predict(x, verbose=0))

    model2 = keras.Model(inp, Unregistered(1.5)(inp))
    model2.save(tmp_path / "custom.keras")
    with pytest.raises(TypeError, match=r"custom\.keras.*Could not locate "
                       r"class 'Unregistered'.*custom_objects"):
        load_model(tmp_path / "custom.keras")
    loaded2 = load_model(tmp_path / "custom.keras",
                         custom_objects={"Unregistered": Unregistered})
    np.testing.assert_array_equal(loaded2.predict(x, verbose=0),
                                  model2.predict(x, verbose=0))
    with keras.saving.custom_object_scope({"Unregistered": Unregistered}):
        load_model(tmp_path / "custom.keras")

    sub = TwoLayers(3)
    sub.compile(optimizer="sgd", loss="mse")
    sub.fit(x, np.ones((5, 3), "float32"), epochs=1, verbose=0)
    sub.save(tmp_path / "sub.keras")
    with zipfile.ZipFile(tmp_path / "sub.keras") as z, \
            h5py.File(io.BytesIO(z.read("model.weights.h5")), "r") as h5:
        # Keras 3's order: public attributes by name, `layers` among them
        assert set(h5) == {"inner", "layers", "optimizer", "vars"}
        assert "layers/scale/vars/0" in h5
    loaded3 = load_model(tmp_path / "sub.keras")
    assert isinstance(loaded3, TwoLayers)
    np.testing.assert_array_equal(loaded3.predict(x, verbose=0),
                                  sub.predict(x, verbose=0))


def test_safe_mode_refuses_lambdas(tmp_path):
    x = np.arange(8, dtype="float32").reshape(2, 4)
    inp = keras.Input(shape=(4,))
    model = keras.Model(inp, keras.layers.Lambda(lambda t: t * 2.0 + 1.0)(inp))
    model.save(tmp_path / "lambda.keras")
    with pytest.raises(ValueError, match=r"lambda\.keras.*Python lambda "
                       r"\(argument `function` of Lambda .*safe_mode=False"
                       ) as info:
        load_model(tmp_path / "lambda.keras")
    assert "arbitrary code" in str(info.value) or "run code" in str(info.value)
    loaded = load_model(tmp_path / "lambda.keras", safe_mode=False)
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), x * 2 + 1)


def _keras2_config(model_config):
    """Rewrite a config the way Keras 2 / tf.keras wrote it."""
    cfg = json.loads(json.dumps(model_config))
    for layer in cfg["config"]["layers"]:
        layer.pop("module", None)
        layer.pop("registered_name", None)
        layer.pop("build_config", None)
        if layer["class_name"] == "InputLayer":
            layer["config"]["batch_input_shape"] = \
                layer["config"].pop("batch_shape")
        nodes = []
        for node in layer.get("inbound_nodes", []):
            args = node["args"][0]
            args = args if isinstance(args, list) else [args]
            nodes.append([[*t["config"]["keras_history"], {}] for t in args])
        layer["inbound_nodes"] = nodes
    cfg["class_name"] = "Model"
    return cfg


def test_older_keras_spellings_load(tmp_path):
    model = multi_io_model()
    x, _ = multi_io_data(6)
    model.save(tmp_path / "m.h5")
    with h5py.File(tmp_path / "m.h5", "r+") as f:
        config = json.loads(f.attrs["model_config"])
        f.attrs["model_config"] = json.dumps(_keras2_config(config))
        f.attrs["keras_version"] = "2.13.1"
    old = load_model(tmp_path / "m.h5")
    for p, q in zip(old.predict(x, verbose=0), model.predict(x, verbose=0)):
        np.testing.assert_array_equal(p, q)
    # a Keras 2 Sequential config: layers without an InputLayer, the first
    # one with batch_input_shape; modules of keras.engine / tf.keras
    seq = {"class_name": "Sequential",
           "module": "keras.engine.sequential",
           "config": {"name": "old", "layers": [
               {"class_name": "Dense", "module": "tensorflow.keras.layers",
                "config": {"name": "d1", "units": 3,
                           "batch_input_shape": [None, 5],
                           "activation": "relu", "dtype": "float32",
                           "kernel_initializer": {"class_name": "GlorotUniform",
                                                  "config": {"seed": None}}}},
               {"class_name": "Dense", "module": "keras.layers.core.dense",
                "config": {"name": "d2", "units": 2, "trainable": True}}]}}
    rebuilt = keras.saving.deserialize_keras_object(seq)
    assert isinstance(rebuilt, keras.Sequential) and rebuilt.built
    assert [w.shape for w in rebuilt.get_weights()] == [(5, 3), (3,), (3, 2),
                                                       (2,)]


def test_clone_model_makes_new_layers(tmp_path):
    model = multi_io_model()
    x, _ = multi_io_data(5)
    clone = keras.models.clone_model(model)
    assert [type(a) for a in clone.layers] == [type(b) for b in model.layers]
    assert not any(a is b for a, b in zip(clone.layers, model.layers))
    assert len(clone.weights) == len(model.weights)  # the shared layer once
    clone.set_weights(model.get_weights())
    for p, q in zip(clone.predict(x, verbose=0), model.predict(x, verbose=0)):
        np.testing.assert_array_equal(p, q)
    seq = small_mlp(compile=False)
    twin = keras.models.clone_model(
        seq, clone_function=lambda layer: layer.__class__.from_config(
            layer.get_config()))
    twin.set_weights(seq.get_weights())
    xs, _ = data(4)
    np.testing.assert_array_equal(twin.predict(xs, verbose=0),
                                  seq.predict(xs, verbose=0))


def test_onnx_of_a_multi_input_multi_output_model(tmp_path):
    model = multi_io_model()
    x, y = multi_io_data(32)
    model.fit(x, y, epochs=1, batch_size=8, verbose=0)
    path = tmp_path / "m.onnx"
    model.export(path)  # format="onnx"
    proto = onnx.load(str(path))
    onnx.checker.check_model(proto, full_check=True)
    assert [i.name for i in proto.graph.input] == ["a", "b"]
    assert [o.name for o in proto.graph.output] == ["cls", "reg"]
    inits = {i.name for i in proto.graph.initializer}
    # named after the Keras weights
    assert {v.path for v in model.weights} == inits
    assert f"{model.layers[5].name}/moving_mean" in inits
    dims = proto.graph.input[0].type.tensor_type.shape.dim
    assert dims[0].dim_param == "batch"
    session = ort.InferenceSession(str(path),
                                   providers=["CPUExecutionProvider"])
    for batch in (1, 7, 64):
        xs, _ = multi_io_data(batch, seed=batch)
        got = session.run(None, {"a": xs[0], "b": xs[1]})
        for p, q in zip(got, model.predict(xs, verbose=0)):
            np.testing.assert_allclose(p, q, rtol=1e-5, atol=1e-5)
    with pytest.raises(ValueError, match="format='onnx'"):
        model.export(tmp_path / "m.pb", format="tf_saved_model")


def test_demo_saves_and_exports_onnx(tmp_path, capsys):
    from graphkeras.demo import run_demo

    assert run_demo(epochs=1, verbose=0, out_dir=str(tmp_path)) == 0
    out = capsys.readouterr().out
    assert (tmp_path / "digits_mlp.keras").exists()
    assert (tmp_path / "digits_mlp.onnx").exists()
    assert "onnxruntime: max |difference| to model.predict" in out
    assert "same class for 100.0%" in out
