"""A SeedGenerator's seed is run-time data of a compiled step, not a
constant of its code: models that differ only in their layers' seeds
compile to one program (one cache entry, shared kernels), and still draw
different numbers."""

from __future__ import annotations

import numpy as np

import graphkeras as keras
from graphkeras import layers
from graphkeras.runtime.compiled import canonical_program


def _trained(seed_a, seed_b):
    keras.utils.set_random_seed(0)  # the same weights for every model
    inp = keras.Input((16,))
    x = layers.Dense(24, activation="relu")(inp)
    x = layers.Dropout(0.5, seed=seed_a)(x)
    x = layers.Dense(24, activation="relu")(x)
    x = layers.Dropout(0.5, seed=seed_b)(x)
    model = keras.Model(inp, layers.Dense(1)(x))
    model.compile("sgd", "mse")
    rng = np.random.default_rng(1)
    x = rng.random((32, 16), dtype=np.float32)
    y = rng.random((32, 1), dtype=np.float32)
    model.fit(x, y, batch_size=8, epochs=1, shuffle=False, verbose=0)
    programs = [e.program for k, e in model._steps._entries.items()
                if k[0] == "train"]
    return model, canonical_program(programs[-1])[1]


def test_models_differing_only_in_seeds_compile_to_one_program():
    m1, text1 = _trained(1, 2)
    m2, text2 = _trained(3, 4)
    assert text1 == text2
    # ... and the seeds still decide the masks: different weights after fit
    w1, w2 = m1.get_weights(), m2.get_weights()
    assert any(not np.array_equal(a, b) for a, b in zip(w1, w2))
    # the same seeds repeat the same training exactly
    m3, _ = _trained(1, 2)
    for a, b in zip(w1, m3.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_two_generators_draw_independent_streams():
    a = keras.random.SeedGenerator(5)
    b = keras.random.SeedGenerator(6)
    xa = keras.random.uniform((1000,), seed=a)
    xb = keras.random.uniform((1000,), seed=b)
    assert abs(np.corrcoef(xa, xb)[0, 1]) < 0.1
    assert not np.array_equal(xa, keras.random.uniform((1000,), seed=a))
    assert a.seed == 5 and a.counter == 2


def test_a_saved_generator_resumes_its_stream(tmp_path):
    m1, _ = _trained(7, 8)
    path = tmp_path / "m.keras"
    m1.save(path)
    m2 = keras.saving.load_model(path)
    gens1 = [l.seed_generator for l in m1.layers if isinstance(l, layers.Dropout)]
    gens2 = [l.seed_generator for l in m2.layers if isinstance(l, layers.Dropout)]
    assert [(g.seed, g.counter) for g in gens1] == \
        [(g.seed, g.counter) for g in gens2]
    assert [g.seed for g in gens1] == [7, 8] and gens1[0].counter == 4
