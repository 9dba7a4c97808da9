"""ir.canonical_print writes the canonical text of a Function directly; it
must equal ir.canonical_text of the printed text for every program the
compiler makes, fused bodies and locs included (tests/helpers.py's
check_round_trip also checks every op sample and random function)."""

from __future__ import annotations

import numpy as np
import pytest

import graphkeras as keras
from graphkeras import ir
from graphkeras.frontend.trainer_steps import trace_step
from graphkeras.passes.compile_pipeline import prepare_for_codegen
from helpers import check_canonical_print


def _models():
    inp = keras.Input((6,))
    x = keras.layers.Dense(5, activation="gelu", name="d 1")(inp)
    x = keras.layers.Dropout(0.2)(x)
    y = keras.layers.Dense(5)(x)
    x = keras.layers.Add()([x, keras.layers.BatchNormalization()(y)])
    mlp = keras.Model(inp, keras.layers.Dense(3, activation="softmax")(x))
    cnn = keras.Sequential([
        keras.Input((9, 9, 2)), keras.layers.Conv2D(4, 3, activation="relu"),
        keras.layers.MaxPooling2D(), keras.layers.Flatten(),
        keras.layers.Dense(3, activation="softmax")])
    rnn = keras.Sequential([
        keras.Input((5,), dtype="int32"), keras.layers.Embedding(11, 4),
        keras.layers.LSTM(3), keras.layers.Dense(1, activation="sigmoid")])
    return [(mlp, np.zeros((2, 6), np.float32), np.zeros(2, np.int64)),
            (cnn, np.zeros((2, 9, 9, 2), np.float32), np.zeros(2, np.int64)),
            (rnn, np.zeros((2, 5), np.int32), np.zeros((2, 1), np.float32))]


@pytest.mark.parametrize("which", [0, 1, 2], ids=["mlp", "cnn", "lstm"])
def test_canonical_print_of_traced_and_prepared_programs(which):
    model, x, y = _models()[which]
    loss = ("binary_crossentropy" if which == 2 else
            "sparse_categorical_crossentropy")
    model.compile("adam", loss, metrics=["accuracy"])
    program = trace_step(model, "train", [x], [y])
    check_canonical_print(program.fn)
    used = tuple(program.outputs) + tuple(i for _, i in program.updates)
    prepared = prepare_for_codegen(program.fn, used)
    assert any(n.op == "fused" for n in prepared.nodes)
    check_canonical_print(prepared)
    check_canonical_print(ir.parse(ir.print_function(prepared)))
