"""graphkeras's sequence layers give Keras 3's numbers for the same
weights and inputs (fixtures/keras_layers.npz, written by Keras 3 with
fixtures/make_keras_fixtures.py), eagerly and compiled."""

import json
import os

import numpy as np
import pytest

import graphkeras as keras
from graphkeras import layers

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = np.load(os.path.join(HERE, "fixtures", "keras_layers.npz"))
CASES = json.loads(str(DATA["cases"]))


def _call(layer, inputs):
    if "q" in inputs:
        if "MultiHead" in type(layer).__name__:
            kw = {}
            if "qm" in inputs:
                kw = {"query_mask": inputs["qm"], "value_mask": inputs["vm"]}
            return layer(inputs["q"], inputs["v"], **kw)
        mask = [inputs["qm"], inputs["vm"]] if "qm" in inputs else None
        return layer([inputs["q"], inputs["v"]], mask=mask)
    if "m" in inputs:
        return layer(inputs["x"], mask=inputs["m"])
    return layer(inputs["x"])


def _model(layer, inputs):
    """A functional model around the layer (masks as boolean inputs)."""
    ins = {k: keras.Input(v.shape[1:], dtype=v.dtype.name)
           for k, v in inputs.items()}
    out = _call(layer, ins)
    names = sorted(inputs)
    return keras.Model([ins[k] for k in names], out), [inputs[k] for k in names]


def _case(i):
    c = CASES[i]
    inputs = {k: DATA[f"{k}{i}"] for k in c["inputs"]}
    weights = [DATA[f"w{i}_{k}"] for k in range(c["weights"])]
    want = [DATA[f"y{i}_{k}"] for k in range(c["outputs"])]
    return c, inputs, weights, want


def _check(got, want, what):
    got = got if isinstance(got, (list, tuple)) else [got]
    assert len(got) == len(want), what
    for g, w in zip(got, want):
        np.testing.assert_allclose(np.asarray(g), w, rtol=2e-5, atol=2e-6,
                                   err_msg=what)


@pytest.mark.parametrize("i", range(len(CASES)), ids=[c["name"] for c in CASES])
def test_layer_matches_keras(i):
    c, inputs, weights, want = _case(i)
    layer = eval(c["expr"], {"layers": layers})
    _call(layer, inputs)
    layer.set_weights(weights)
    _check(_call(layer, inputs), want, f"{c['name']} eager")
    model, xs = _model(layer, inputs)
    _check(model.predict(xs, verbose=0), want, f"{c['name']} compiled")
