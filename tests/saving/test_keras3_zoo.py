"""Keras 3's files of the zoo (tests/fixtures/keras3/zoo, made by
make_zoo.py with Keras 3.15 on JAX) load here: non-default layer
configurations (dilation, groups, causal padding, channels_first,
go_backwards, unroll, return_state, merge modes, masks, normalization
axes, adapted preprocessing), nested and shared layers, dict inputs and
outputs, custom objects, lambdas, and optimizer state from several
optimizers and learning-rate schedules.

For every file: the predictions equal Keras's; where the file holds
optimizer state, one more `fit` step on the same batch gives Keras's
weights (so the state and the schedule's position came along right).
"""

import os
import sys

import numpy as np
import pytest

import graphkeras as keras
from graphkeras.saving import load_model

ZOO = os.path.join(os.path.dirname(__file__), "..", "fixtures", "keras3",
                   "zoo")
NAMES = sorted(f[:-6] for f in os.listdir(ZOO) if f.endswith(".keras"))
WITH_H5 = sorted(f[:-3] for f in os.listdir(ZOO)
                 if f.endswith(".h5") and not f.endswith(".weights.h5"))
NEEDS_UNSAFE = {"lambda_layer"}


@keras.saving.register_keras_serializable(package="zoo")
class ScaledDense(keras.layers.Layer):
    """The custom layer of make_zoo.py, written again here."""

    def __init__(self, units, scale=2.0, **kwargs):
        super().__init__(**kwargs)
        self.units, self.scale = units, scale

    def build(self, input_shape):
        self.w = self.add_weight(shape=(input_shape[-1], self.units),
                                 initializer="glorot_uniform", name="w")
        self.b = self.add_weight(shape=(self.units,), initializer="zeros",
                                 name="b")

    def call(self, x):
        return self.scale * keras.ops.matmul(x, self.w) + self.b

    def get_config(self):
        return {**super().get_config(), "units": self.units,
                "scale": self.scale}


@keras.saving.register_keras_serializable(package="zoo")
def shifted_relu(x):
    return keras.ops.relu(x - 0.1)


def _npz(name):
    with np.load(os.path.join(ZOO, f"{name}.npz")) as d:
        return {k: d[k] for k in d}


def _group(d, prefix):
    """The list (PREFIX0, ...) or dict (PREFIXd_NAME) stored under prefix."""
    named = {k[len(prefix) + 2:]: v for k, v in d.items()
             if k.startswith(prefix + "d_")}
    if named:
        return named
    n = sum(1 for k in d if k[len(prefix):].isdigit() and k.startswith(prefix))
    return [d[f"{prefix}{i}"] for i in range(n)]


def _data(xs):
    return xs if isinstance(xs, dict) or len(xs) > 1 else xs[0]


def _load(name, ext=".keras", **kw):
    kw.setdefault("safe_mode", name not in NEEDS_UNSAFE)
    return load_model(os.path.join(ZOO, name + ext), **kw)


def check_predictions(model, d):
    want = _group(d, "y")
    got = model.predict(_data(_group(d, "x")), verbose=0)
    if isinstance(want, dict):
        assert isinstance(got, dict) and sorted(got) == sorted(want)
        pairs = [(got[k], want[k]) for k in sorted(want)]
    else:
        got = got if isinstance(got, (list, tuple)) else [got]
        assert len(got) == len(want)
        pairs = list(zip(got, want))
    for g, w in pairs:
        np.testing.assert_allclose(np.asarray(g), w, rtol=2e-5, atol=2e-5)


# the Python whose Keras 3 wrote the zoo: its Lambda's bytecode runs only
# there (another version's is refused: frontend/saving/bytecode.py)
WRITER_PYTHON = (3, 11)


def _foreign_bytecode(name) -> bool:
    if name in NEEDS_UNSAFE and sys.version_info[:2] != WRITER_PYTHON:
        with pytest.raises(ValueError, match="another Python version"):
            _load(name)
        return True
    return False


@pytest.mark.parametrize("name", NAMES)
def test_keras3_zoo_file_predicts_as_keras(name):
    if _foreign_bytecode(name):
        return
    d = _npz(name)
    model = _load(name)
    check_predictions(model, d)
    if model.optimizer is not None:  # trained by Keras: 2 epochs
        xs = _group(d, "x")
        n = len(next(iter(xs.values())) if isinstance(xs, dict) else xs[0])
        assert int(model.optimizer.iterations.numpy()) == 2 * -(-n // 4)
        slots = model.optimizer.variables[2:]  # none for plain SGD
        assert not slots or any(np.any(v.numpy() != 0) for v in slots)


@pytest.mark.parametrize("name", [n for n in NAMES
                                  if "w0" in _npz(n)])
def test_keras3_zoo_one_more_fit_step_gives_keras_weights(name):
    if _foreign_bytecode(name):
        return
    d = _npz(name)
    model = _load(name)
    xs, ys = _group(d, "x"), _group(d, "fy")
    n = len(next(iter(xs.values())) if isinstance(xs, dict) else xs[0])
    model.fit(_data(xs), ys if isinstance(ys, dict) else ys[0],
              epochs=1, batch_size=n, shuffle=False, verbose=0)
    want = _group(d, "w")
    got = model.get_weights()
    assert len(got) == len(want)
    for i, (g, w) in enumerate(zip(got, want)):
        if i in set(d["noisy"].tolist()):  # zero gradient: rounding noise
            continue
        np.testing.assert_allclose(g, w, rtol=1e-4, atol=1e-5,
                                   err_msg=f"weight {i}")


@pytest.mark.parametrize("name", WITH_H5)
def test_keras3_zoo_legacy_h5_and_weights_files(name):
    d = _npz(name)
    check_predictions(_load(name, ".h5"), d)
    # .weights.h5 into the same architecture with fresh weights
    twin = keras.models.clone_model(_load(name, compile=False))
    twin.load_weights(os.path.join(ZOO, f"{name}.weights.h5"))
    check_predictions(twin, d)


def test_keras3_zoo_lambda_needs_safe_mode_off():
    with pytest.raises(ValueError, match="safe_mode"):
        _load("lambda_layer", safe_mode=True)


@pytest.mark.parametrize("cls", ["SpatialDropout1D", "SpatialDropout2D",
                                 "SpatialDropout3D"])
def test_spatial_dropout_config_has_keras_keys(cls):
    # Keras 3's SpatialDropout takes no `trainable`: a graphkeras file
    # holding one did not load in Keras (check_in_keras3.py)
    cfg = getattr(keras.layers, cls)(0.3).get_config()
    assert "trainable" not in cfg
    assert {"rate", "seed", "name", "dtype"} <= set(cfg)
