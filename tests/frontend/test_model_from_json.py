"""keras.models.model_from_json: the architecture from model.to_json()."""

from __future__ import annotations

import numpy as np
import pytest

import graphkeras as keras


def test_functional_model_round_trips_through_json():
    inp = keras.Input((5,), name="x")
    h = keras.layers.Dense(4, activation="tanh", name="hidden")(inp)
    out = keras.layers.Dense(2, name="out")(keras.layers.Dropout(0.2)(h))
    model = keras.Model(inp, out)
    again = keras.models.model_from_json(model.to_json())
    assert [type(layer).__name__ for layer in again.layers] == \
        [type(layer).__name__ for layer in model.layers]
    assert [w.shape for w in again.get_weights()] == \
        [w.shape for w in model.get_weights()]
    again.set_weights(model.get_weights())
    x = np.random.default_rng(0).normal(size=(3, 5)).astype("float32")
    np.testing.assert_allclose(again.predict(x, verbose=0),
                               model.predict(x, verbose=0), rtol=1e-6)


def test_text_that_is_not_json_is_refused():
    with pytest.raises(ValueError, match="model_from_json expects the JSON"):
        keras.models.model_from_json("{not json")


@pytest.mark.parametrize("text", [
    "[" * 100000 + "]" * 100000,
    '{"class_name": "Sequential", "config": {"layers": [' * 2000
    + "]}}" * 2000], ids=["lists", "sequentials"])
def test_json_nested_too_deeply_is_a_value_error(text):
    # json.loads raised a RecursionError (the file loaders refuse such
    # configs by name; model_from_json let it through)
    with pytest.raises(ValueError, match="nests too deeply"):
        keras.models.model_from_json(text)
