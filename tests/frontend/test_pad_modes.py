"""ops.pad with Keras 3's pad_width forms and NumPy's modes (constant,
edge, reflect, symmetric, wrap): eagerly and compiled against np.pad, with
pads wider than the axis, in a trained model (the reflection padding of
keras.io's CycleGAN) against the interpreter, and saved and loaded."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import graphkeras as keras
from graphkeras import ops

MODES = ["constant", "edge", "reflect", "symmetric", "wrap"]


@settings(max_examples=40, deadline=None)
@given(data=st.data())
def test_pad_matches_numpy(data):
    shape = tuple(data.draw(st.lists(st.integers(1, 5), min_size=1,
                                     max_size=3)))
    mode = data.draw(st.sampled_from(MODES))
    pads = [tuple(data.draw(st.integers(0, 7)) for _ in range(2))
            for _ in shape]
    x = np.random.default_rng(0).normal(size=shape).astype("float32")
    want = np.pad(x, pads, mode=mode)
    np.testing.assert_array_equal(ops.pad(x, pads, mode=mode), want)


def test_pad_width_forms_and_errors():
    x = np.arange(12, dtype="float32").reshape(3, 4)
    np.testing.assert_array_equal(ops.pad(x, 2), np.pad(x, 2))
    np.testing.assert_array_equal(ops.pad(x, (1, 2), mode="reflect"),
                                  np.pad(x, (1, 2), mode="reflect"))
    np.testing.assert_array_equal(ops.pad(x, ((1,), (2,)), mode="wrap"),
                                  np.pad(x, ((1,), (2,)), mode="wrap"))
    np.testing.assert_array_equal(ops.pad(x, 1, constant_values=7),
                                  np.pad(x, 1, constant_values=7))
    np.testing.assert_array_equal(ops.pad(x, 1, mode="REFLECT"),
                                  np.pad(x, 1, mode="reflect"))
    with pytest.raises(ValueError, match="can only be provided when"):
        ops.pad(x, 1, mode="reflect", constant_values=2)
    with pytest.raises(ValueError, match="same length as `x.shape`"):
        ops.pad(x, ((1, 1),) * 3)
    with pytest.raises(ValueError, match="supports mode in"):
        ops.pad(x, 1, mode="median")


class ReflectionPadding2D(keras.layers.Layer):
    """keras.io's CycleGAN layer (with the mode as an argument)."""

    def __init__(self, padding=(1, 1), mode="reflect", **kwargs):
        self.padding = tuple(padding)
        self.mode = mode
        super().__init__(**kwargs)

    def call(self, input_tensor, mask=None):
        w, h = self.padding
        spec = [[0, 0], [h, h], [w, w], [0, 0]]
        return ops.pad(input_tensor, spec, mode=self.mode)

    def get_config(self):
        return {**super().get_config(), "padding": self.padding,
                "mode": self.mode}


def _model():
    keras.utils.set_random_seed(1)
    inp = keras.Input((6, 5, 2))
    x = ReflectionPadding2D((2, 1))(inp)
    x = keras.layers.Conv2D(3, 3, activation="relu")(x)
    x = ReflectionPadding2D((2, 1), mode="symmetric")(x)
    x = keras.layers.GlobalAveragePooling2D()(x)
    return keras.Model(inp, keras.layers.Dense(2)(x))


def test_padding_in_a_trained_model_compiles_as_interpreted(tmp_path):
    rng = np.random.default_rng(2)
    x = rng.normal(size=(5, 6, 5, 2)).astype("float32")
    y = rng.normal(size=(5, 2)).astype("float32")
    runs = []
    for eager in (False, True):
        m = _model()
        m.compile("adam", "mse", run_eagerly=eager)
        h = m.fit(x, y, epochs=2, batch_size=3, shuffle=False, verbose=0)
        runs.append((h.history["loss"], m.predict(x[:1], verbose=0), m))
    np.testing.assert_allclose(runs[0][0], runs[1][0], rtol=1e-5)
    np.testing.assert_allclose(runs[0][1], runs[1][1], rtol=1e-5, atol=1e-6)
    model = runs[0][2]
    path = tmp_path / "pad.keras"
    model.save(path)
    back = keras.models.load_model(path, custom_objects={
        "ReflectionPadding2D": ReflectionPadding2D})
    np.testing.assert_allclose(back.predict(x, verbose=0),
                               model.predict(x, verbose=0), rtol=1e-6)
    # a functional call on a KerasTensor saves as Keras 3's Pad operation
    inp = keras.Input((4, 3))
    sym = keras.Model(inp, ops.pad(inp, ((0, 0), (2, 1), (1, 1)),
                                   mode="edge"))
    sym.save(tmp_path / "sym.keras")
    again = keras.models.load_model(tmp_path / "sym.keras")
    z = rng.normal(size=(2, 4, 3)).astype("float32")
    np.testing.assert_array_equal(
        again.predict(z, verbose=0),
        np.pad(z, ((0, 0), (2, 1), (1, 1)), mode="edge"))
