"""A step whose working memory the machine cannot give is refused with a
MemoryError before anything is allocated (Linux would grant the arena and
kill the process when the step touched it); the model keeps working at
sizes that fit."""

from __future__ import annotations

import numpy as np
import pytest

import graphkeras as keras
from graphkeras.runtime import memory


def test_available_memory_is_read_on_linux():
    got = memory.available_bytes()
    assert got is None or got > 0
    if got is not None:
        assert got < 2**50


def test_a_step_too_large_for_the_machine_raises_and_the_model_goes_on(
        monkeypatch):
    model = keras.Sequential([keras.Input((64,)),
                              keras.layers.Dense(256, activation="relu"),
                              keras.layers.Dense(3, activation="softmax")])
    model.compile("adam", "sparse_categorical_crossentropy")
    x = np.random.default_rng(0).random((512, 64)).astype("float32")
    y = np.zeros(512, np.int64)
    model.fit(x[:8], y[:8], batch_size=8, verbose=0)
    # the machine has 200 KB left: batch 8 fits, batch 512 does not
    monkeypatch.setattr(memory, "available_bytes", lambda: 200_000)
    with pytest.raises(MemoryError, match=r"The compiled train step at batch size 512 needs .* "
                       r"Use a smaller batch_size"):
        model.fit(x, y, batch_size=512, verbose=0)
    with pytest.raises(MemoryError, match="The compiled predict step at batch size 512"):
        model.predict(x, batch_size=512, verbose=0)
    before = model.get_weights()
    model.fit(x[:8], y[:8], batch_size=8, verbose=0)  # still trains
    assert any(not np.array_equal(a, b)
               for a, b in zip(before, model.get_weights()))
    assert model.predict(x[:16], batch_size=8, verbose=0).shape == (16, 3)


def test_a_variable_too_large_for_the_machine_raises_naming_it(
        monkeypatch):
    # Dense(100000) on 100000 features: a 37 GiB kernel was allocated
    # (granted) and the initializer's draw touching it got the process
    # killed; now a MemoryError naming the variable, before allocating
    from graphkeras.frontend import variables

    monkeypatch.setattr(variables, "_CHECKED_BYTES", 1 << 20)
    monkeypatch.setattr(memory, "available_bytes", lambda: 8 << 20)
    with pytest.raises(MemoryError, match=r'Variable "sequential.*/dense.*'
                       r'/kernel" of shape \(1024, 1024\) \(float32, 4 MiB\) '
                       r"needs 12 MiB of working memory; this machine "
                       r"can give 8 MiB more"):
        keras.Sequential([keras.Input((1024,)), keras.layers.Dense(1024)])
    # an optimizer slot (zeros) needs twice its size; smaller ones pass
    keras.Sequential([keras.Input((256,)), keras.layers.Dense(1024)])
    with pytest.raises(MemoryError, match=r'Variable "big" of shape'):
        keras.Variable(np.zeros((1024, 1100), "float32"), name="big")
