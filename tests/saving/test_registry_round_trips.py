"""Table-driven over everything registered (so objects other modules add
are covered as they appear): every layer saves and loads with identical
predictions (.keras and legacy .h5) and exports to ONNX matching
predict at batch sizes 1, 7 and 64; every optimizer, loss, metric,
schedule, initializer, regularizer and constraint survives
serialize -> JSON -> deserialize with the same config and behaviour.

Models here run on the reference interpreter (run_eagerly) to keep the
suite fast; compiled predictions are covered by test_models.py.
"""

import json

import numpy as np
import onnxruntime as ort
import pytest
import registry_samples as rs

import graphkeras as keras
from graphkeras.saving import (
    deserialize_keras_object,
    load_model,
    serialize_keras_object,
)

LAYERS = rs.layer_classes()


def json_round_trip(obj):
    config = json.loads(json.dumps(serialize_keras_object(obj)))
    return config, deserialize_keras_object(config)


def _sample_model(name):
    kwargs, shapes, dtype = rs.layer_sample(LAYERS[name])
    keras.utils.set_random_seed(3)
    model = rs.sample_model(LAYERS[name], kwargs, shapes, dtype)
    model.run_eagerly = True
    return model, (kwargs, shapes, dtype)


def _predict(model, x):
    out = model.predict(x, verbose=0)
    return out if isinstance(out, list) else [out]


def test_every_layer_has_a_sample():
    problems = []
    for cls in LAYERS.values():
        try:
            rs.layer_sample(cls)
        except ValueError as e:
            problems.append(str(e))
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("name", sorted(LAYERS))
def test_layer_config_round_trip(name):
    model, _ = _sample_model(name)
    layer = model.layers[-1]
    config, clone = json_round_trip(layer)
    assert type(clone) is type(layer)
    assert clone.name == layer.name
    again = json.loads(json.dumps(serialize_keras_object(clone)))
    assert again == config
    assert [tuple(v.shape) for v in clone.weights] == \
        [tuple(v.shape) for v in layer.weights]


@pytest.mark.parametrize("ext", [".keras", ".h5"])
@pytest.mark.parametrize("name", sorted(LAYERS))
def test_layer_model_file_round_trip(name, ext, tmp_path):
    model, sample = _sample_model(name)
    x = rs.sample_inputs(sample, 7)
    # non-trivial weights: perturb them so a loader that kept the initial
    # values would fail
    model.set_weights([w + 0.25 if w.dtype.kind == "f" else w
                       for w in model.get_weights()])
    expected = _predict(model, x)
    path = tmp_path / f"m{ext}"
    model.save(path)
    loaded = load_model(path)
    loaded.run_eagerly = True
    assert [type(x).__name__ for x in loaded.layers] == \
        [type(x).__name__ for x in model.layers]
    for a, b in zip(loaded.get_weights(), model.get_weights()):
        np.testing.assert_array_equal(a, b)
    for a, b in zip(_predict(loaded, x), expected):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("name", sorted(LAYERS))
def test_layer_clone_model(name):
    model, sample = _sample_model(name)
    clone = keras.models.clone_model(model)
    assert type(clone.layers[-1]) is type(model.layers[-1])
    assert clone.layers[-1] is not model.layers[-1]
    clone.set_weights(model.get_weights())
    clone.run_eagerly = True
    x = rs.sample_inputs(sample, 5)
    for a, b in zip(_predict(clone, x), _predict(model, x)):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("name", sorted(LAYERS))
def test_layer_onnx_matches_predict(name, tmp_path):
    model, sample = _sample_model(name)
    path = tmp_path / "m.onnx"
    model.export(path, format="onnx")
    session = ort.InferenceSession(str(path),
                                   providers=["CPUExecutionProvider"])
    names = [i.name for i in session.get_inputs()]
    assert names == model.input_names
    for batch in (1, 7, 64):
        x = rs.sample_inputs(sample, batch, seed=batch)
        xs = x if isinstance(x, list) else [x]
        got = session.run(None, dict(zip(names, xs)))
        for a, b in zip(got, _predict(model, x)):
            np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-5)


# --- optimizers -----------------------------------------------------------------

OPTIMIZERS = rs.optimizer_classes()


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_optimizer_config_round_trip(name):
    opt = OPTIMIZERS[name](learning_rate=0.01)
    config, clone = json_round_trip(opt)
    assert type(clone) is type(opt)
    assert clone.get_config() == opt.get_config()
    assert config["module"] == "keras.optimizers"


def _regression_model(optimizer):
    keras.utils.set_random_seed(5)
    model = keras.Sequential([keras.Input(shape=(3,)),
                              keras.layers.Dense(4, activation="tanh"),
                              keras.layers.Dense(1)])
    model.compile(optimizer=optimizer, loss="mse", run_eagerly=True)
    return model


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_optimizer_state_resumes_exactly(name, tmp_path):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(16, 3)).astype("float32")
    y = (x @ rng.normal(size=(3, 1))).astype("float32")
    model = _regression_model(OPTIMIZERS[name](learning_rate=0.05))
    model.fit(x, y, batch_size=8, epochs=2, verbose=0, shuffle=False)
    model.save(tmp_path / "m.keras")
    loaded = load_model(tmp_path / "m.keras")
    loaded.run_eagerly = True
    assert type(loaded.optimizer) is type(model.optimizer)
    for a, b in zip(loaded.optimizer.variables, model.optimizer.variables):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    h1 = model.fit(x, y, batch_size=8, epochs=2, verbose=0, shuffle=False)
    h2 = loaded.fit(x, y, batch_size=8, epochs=2, verbose=0, shuffle=False)
    assert h1.history == h2.history
    for a, b in zip(loaded.get_weights(), model.get_weights()):
        np.testing.assert_array_equal(a, b)


# --- losses, metrics, schedules, initializers, regularizers, constraints ------

LOSSES = rs.loss_classes()
METRICS = rs.metric_classes()
# required arguments of the metrics that have some (IoUs, X-at-Y)
METRIC_ARGS = {"num_classes": 3, "target_class_ids": [0, 1], "recall": 0.5,
               "precision": 0.5, "specificity": 0.5, "sensitivity": 0.5}
# losses whose targets are integer labels (one per sample)
LABEL_LOSSES = ("Sparse", "CategoricalGeneralizedCrossEntropy", "Circle")


def _y(seed=0):
    rng = np.random.default_rng(seed)
    y_true = rng.integers(0, 2, size=(6, 3)).astype("float32")
    y_pred = rng.uniform(0.05, 0.95, size=(6, 3)).astype("float32")
    return y_true, y_pred


@pytest.mark.parametrize("name", sorted(LOSSES))
def test_loss_round_trip(name):
    loss = rs.make(LOSSES[name])
    config, clone = json_round_trip(loss)
    assert type(clone) is type(loss)
    assert clone.get_config() == loss.get_config()
    assert config["module"] == "keras.losses"
    y_true, y_pred = _y()
    if any(k in name for k in LABEL_LOSSES):
        y_true = y_true[:, 0].astype("int64")
    if name == "CTC":  # labels (batch, max_length), logits (batch, T, C)
        y_true = np.array([[1, 2, 0], [2, 2, 1]], "int32")
        y_pred = np.random.default_rng(0).normal(size=(2, 5, 3)).astype(
            "float32")
    np.testing.assert_array_equal(np.asarray(clone(y_true, y_pred)),
                                  np.asarray(loss(y_true, y_pred)))


@pytest.mark.parametrize("name", sorted(METRICS))
def test_metric_round_trip(name):
    metric = rs.make(METRICS[name], METRIC_ARGS)
    config, clone = json_round_trip(metric)
    assert config["module"] == "keras.metrics"
    assert type(clone) is type(metric)
    assert clone.get_config() == metric.get_config()
    y_true, y_pred = _y(1)
    if "Sparse" in name:
        y_true = y_true[:, 0].astype("int64")
    metric.update_state(y_true, y_pred)
    clone.update_state(y_true, y_pred)
    np.testing.assert_array_equal(np.asarray(clone.result()),
                                  np.asarray(metric.result()))


@pytest.mark.parametrize("name", sorted(rs.schedule_classes()))
def test_schedule_round_trip_inside_an_optimizer(name):
    schedule = rs.make(rs.schedule_classes()[name], rs.SCHEDULE_ARGS)
    _, clone = json_round_trip(schedule)
    assert type(clone) is type(schedule)
    for step in (0, 2, 7, 15):
        s = np.float32(step)
        assert float(np.asarray(clone(s))) == float(np.asarray(schedule(s)))
    opt = keras.optimizers.SGD(learning_rate=schedule)
    _, opt2 = json_round_trip(opt)
    assert type(opt2._schedule) is type(schedule)
    assert opt2._schedule.get_config() == schedule.get_config()


@pytest.mark.parametrize("name", sorted(rs.initializer_classes()))
def test_initializer_round_trip(name):
    cls = rs.initializer_classes()[name]
    init = rs.make(cls)
    if "seed" in init.get_config():
        init = cls(**{**init.get_config(), "seed": 7})
    _, clone = json_round_trip(init)
    assert type(clone) is type(init)
    assert clone.get_config() == init.get_config()
    np.testing.assert_array_equal(clone((4, 4), "float32"),
                                  init((4, 4), "float32"))


@pytest.mark.parametrize("name", sorted(rs.regularizer_classes()))
def test_regularizer_round_trip(name):
    reg = rs.make(rs.regularizer_classes()[name], {"l1": 0.01, "l2": 0.02})
    _, clone = json_round_trip(reg)
    assert type(clone) is type(reg) and clone.get_config() == reg.get_config()
    w = np.linspace(-1, 1, 12, dtype="float32").reshape(3, 4)
    assert float(np.asarray(clone(w))) == float(np.asarray(reg(w)))


@pytest.mark.parametrize("name", sorted(rs.constraint_classes()))
def test_constraint_round_trip(name):
    con = rs.make(rs.constraint_classes()[name])
    _, clone = json_round_trip(con)
    assert type(clone) is type(con) and clone.get_config() == con.get_config()
    w = np.linspace(-2, 2, 12, dtype="float32").reshape(3, 4)
    np.testing.assert_array_equal(np.asarray(clone(w)), np.asarray(con(w)))
