"""Data one axis short of an input whose last dimension is 1 (1-D data
for Input((1,)), as in Keras's regression tutorial), or one trailing axis of
1 over, is fitted to the input's rank, as Keras 3's functional models do."""

from __future__ import annotations

import numpy as np
import pytest

import graphkeras as keras

RNG = np.random.default_rng(0)
X1 = RNG.normal(size=40).astype("float32")
Y1 = (3 * X1 + 1).astype("float32")


def one_input_model(eager):
    model = keras.Sequential([keras.Input((1,)), keras.layers.Dense(1)])
    model.compile(keras.optimizers.SGD(0.1), "mse", run_eagerly=eager)
    return model


@pytest.mark.parametrize("eager", [False, True])
def test_one_dimensional_data_for_a_width_one_input(eager):
    model, twin = one_input_model(eager), one_input_model(eager)
    twin.set_weights(model.get_weights())
    h1 = model.fit(X1, Y1, batch_size=8, epochs=2, shuffle=False, verbose=0)
    h2 = twin.fit(X1[:, None], Y1, batch_size=8, epochs=2, shuffle=False,
                  verbose=0)
    np.testing.assert_allclose(h1.history["loss"], h2.history["loss"],
                               rtol=1e-6)
    want = twin.predict(X1[:, None], verbose=0)
    for got in (model.predict(X1, verbose=0), model.predict(X1[:5], verbose=0),
                model.predict_on_batch(X1[:5]),
                keras.ops.convert_to_numpy(model(X1[:5]))):
        np.testing.assert_allclose(got, want[:len(got)], rtol=1e-6)
    np.testing.assert_allclose(model.evaluate(X1, Y1, verbose=0),
                               twin.evaluate(X1[:, None], Y1, verbose=0),
                               rtol=1e-6)


def test_a_trailing_axis_of_one_is_squeezed():
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    x = RNG.normal(size=(6, 3)).astype("float32")
    np.testing.assert_allclose(model.predict(x[..., None], verbose=0),
                               model.predict(x, verbose=0), rtol=1e-6)


def test_named_inputs_are_fitted_one_by_one():
    a = keras.Input((1,), name="a")
    b = keras.Input((2,), name="b")
    out = keras.layers.Dense(1)(keras.layers.Concatenate()([a, b]))
    model = keras.Model({"a": a, "b": b}, out)
    xb = RNG.normal(size=(5, 2)).astype("float32")
    want = model.predict({"a": X1[:5, None], "b": xb}, verbose=0)
    np.testing.assert_allclose(
        model.predict({"a": X1[:5], "b": xb}, verbose=0), want, rtol=1e-6)


def test_other_rank_mismatches_are_still_refused():
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    with pytest.raises(ValueError, match="expected ndim=2, found ndim=1"):
        model.predict(RNG.normal(size=3).astype("float32"), verbose=0)
