"""Files written by Keras 3 (tests/fixtures/keras3, made by its
make_fixtures.py) load here and predict what Keras predicted.

Adding a fixture: add it to make_fixtures.py, run that script with Keras
3, and add one line to FIXTURES (or PENDING while a layer it uses does not
exist here yet: the test runs as soon as the layer is registered).
"""

import os

import numpy as np
import pytest

import graphkeras as keras
from graphkeras.saving import load_model

HERE = os.path.join(os.path.dirname(__file__), "..", "fixtures", "keras3")

FIXTURES = ["mlp", "multi_io", "batchnorm", "dropout", "conv", "lstm"]
# fixture -> graphkeras layers it needs
PENDING: dict = {}


def _io(name):
    with np.load(os.path.join(HERE, f"{name}.npz")) as d:
        xs = [d[f"x{i}"] for i in range(sum(k.startswith("x") for k in d))]
        ys = [d[f"y{i}"] for i in range(sum(k.startswith("y") for k in d))]
    return xs, ys


def check_predictions(model, name):
    xs, ys = _io(name)
    preds = model.predict(xs if len(xs) > 1 else xs[0], verbose=0)
    preds = preds if isinstance(preds, list) else [preds]
    assert len(preds) == len(ys)
    for p, y in zip(preds, ys):
        np.testing.assert_allclose(p, y, rtol=1e-5, atol=1e-6)


def _cases():
    out = [pytest.param(n, id=n) for n in FIXTURES]
    for name, needs in PENDING.items():
        missing = [c for c in needs if not hasattr(keras.layers, c)]
        out.append(pytest.param(name, id=name, marks=pytest.mark.skipif(
            bool(missing), reason=f"graphkeras has no {missing} yet")))
    return out


@pytest.mark.parametrize("name", _cases())
def test_keras3_file_loads_with_identical_predictions(name):
    model = load_model(os.path.join(HERE, f"{name}.keras"))
    check_predictions(model, name)
    assert model.compiled and model.optimizer is not None
    # the optimizer state came along: slots exist and are not all zero
    slots = model.optimizer.variables[2:]
    assert slots and any(np.any(v.numpy() != 0) for v in slots)


def test_keras3_optimizer_state_is_loaded_in_keras_order():
    model = load_model(os.path.join(HERE, "mlp.keras"))
    opt = model.optimizer
    assert type(opt).__name__ == "Adam"
    assert int(opt.iterations.numpy()) == 8  # 2 epochs of 4 batches
    kernel = model.layers[0].kernel
    momentum = opt.variables[2]
    assert momentum.shape == kernel.shape


def test_keras3_legacy_h5_and_weights_files():
    model = load_model(os.path.join(HERE, "mlp.h5"))
    check_predictions(model, "mlp")
    twin = keras.Sequential([keras.Input(shape=(6,)),
                             keras.layers.Dense(8, activation="relu"),
                             keras.layers.Dense(3, activation="softmax")])
    twin.load_weights(os.path.join(HERE, "mlp.weights.h5"))
    check_predictions(twin, "mlp")
    twin2 = keras.models.clone_model(twin)
    twin2.load_weights(os.path.join(HERE, "mlp.keras"))
    check_predictions(twin2, "mlp")


def test_keras3_file_resumes_training_here():
    model = load_model(os.path.join(HERE, "batchnorm.keras"))
    xs, ys = _io("batchnorm")
    before = model.get_weights()
    model.fit(xs[0], ys[0], epochs=1, batch_size=16, verbose=0)
    after = model.get_weights()
    assert any(np.any(a != b) for a, b in zip(before, after))
    assert int(model.optimizer.iterations.numpy()) == 8 + 4
