"""keras.mixed_precision with "mixed_bfloat16" (frontend/mixed_precision.py):
Keras's names and policy attributes, products in bfloat16 (the traced
matmuls carry precision="bfloat16"; compiled steps equal the reference
interpreter's, and differ from float32's), and the digits MLP trained
under the policy within a point of float32's accuracy."""

from __future__ import annotations

import numpy as np
import pytest

import graphkeras as keras
from graphkeras.demo import build_model, load_digits
from graphkeras.ir.bf16 import round_bf16


@pytest.fixture
def mixed():
    keras.mixed_precision.set_global_policy("mixed_bfloat16")
    try:
        yield
    finally:
        keras.mixed_precision.set_global_policy("float32")


def test_policy_names_and_attributes(mixed):
    p = keras.mixed_precision.global_policy()
    assert p.name == "mixed_bfloat16"
    assert (p.compute_dtype, p.variable_dtype) == ("bfloat16", "float32")
    assert keras.mixed_precision.Policy("mixed_bfloat16") == p
    dense = keras.layers.Dense(4)
    head = keras.layers.Dense(2, dtype="float32")
    assert dense.dtype_policy.name == "mixed_bfloat16"
    assert head.dtype_policy.name == "float32"
    dense.build((None, 3))
    assert dense.kernel.dtype == "float32"  # float32 master weights
    assert dense.get_config()["dtype"] == "mixed_bfloat16"
    assert keras.layers.Dense.from_config(dense.get_config()) \
        .dtype_policy.name == "mixed_bfloat16"
    with pytest.raises(ValueError, match="float16"):
        keras.mixed_precision.set_global_policy("float16")


def _model(seed=0):
    keras.utils.set_random_seed(seed)
    return keras.Sequential([keras.Input((37,)),
                             keras.layers.Dense(29, activation="relu"),
                             keras.layers.Dense(5, activation="softmax",
                                                dtype="float32")])


def test_products_are_bfloat16_compiled_as_interpreted(mixed):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(45, 37)).astype(np.float32)
    m = _model()
    w = m.get_weights()
    got = m.predict_on_batch(x)
    want = np.maximum(round_bf16(x).astype(np.float64) @ round_bf16(w[0])
                      + w[1], 0)
    want = want @ w[2] + w[3]  # the float32 head
    want = np.exp(want - want.max(1, keepdims=True))
    want /= want.sum(1, keepdims=True)
    np.testing.assert_allclose(got, want, rtol=2e-5, atol=2e-6)
    keras.mixed_precision.set_global_policy("float32")
    f32 = _model()
    f32.set_weights(w)
    assert np.abs(f32.predict_on_batch(x) - got).max() > 1e-5
    # training: compiled steps follow the reference interpreter
    y = rng.integers(0, 5, 45)
    keras.mixed_precision.set_global_policy("mixed_bfloat16")
    runs = []
    for eager in (False, True):
        m = _model()
        m.compile("adam", "sparse_categorical_crossentropy", run_eagerly=eager)
        h = m.fit(x, y, batch_size=15, epochs=2, verbose=0, shuffle=False)
        runs.append((h.history["loss"], m.get_weights()))
    np.testing.assert_allclose(runs[0][0], runs[1][0], rtol=1e-5)
    for a, b in zip(runs[0][1], runs[1][1]):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)


def test_traced_products_carry_the_precision(mixed):
    m = _model()
    m.compile("sgd", "sparse_categorical_crossentropy")
    from graphkeras.frontend.trainer_steps import trace_step

    x = np.zeros((4, 37), np.float32)
    y = np.zeros((4,), np.int64)
    fn = trace_step(m, "train", [x], [y]).fn
    prec = [n.attrs["precision"] for n in fn.nodes if n.op == "matmul"]
    assert "bfloat16" in prec and "float32" in prec  # the float32 head


def test_digits_accuracy_within_a_point_of_float32():
    acc = {}
    for policy in ("float32", "mixed_bfloat16"):
        keras.mixed_precision.set_global_policy(policy)
        try:
            keras.utils.set_random_seed(0)
            (x_train, y_train), (x_test, y_test) = load_digits()
            model = build_model(keras)
            model.fit(x_train, y_train, batch_size=32, epochs=8, verbose=0)
            acc[policy] = model.evaluate(x_test, y_test, verbose=0)[1]
        finally:
            keras.mixed_precision.set_global_policy("float32")
    assert acc["float32"] >= 0.93
    assert abs(acc["mixed_bfloat16"] - acc["float32"]) <= 0.01, acc


def test_conversion_is_announced_once(monkeypatch):
    from graphkeras import runtime
    from graphkeras.frontend import mixed_precision as mp

    monkeypatch.setattr(runtime, "bf16_native", lambda: False)
    monkeypatch.setattr(mp, "_WARNED", set())
    with pytest.warns(UserWarning, match="no AVX512_BF16"):
        keras.layers.Dense(3, dtype="mixed_bfloat16")
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        keras.layers.Dense(3, dtype="mixed_bfloat16")  # said once


def test_each_half_precision_is_announced_once(monkeypatch):
    from graphkeras import runtime
    from graphkeras.frontend import mixed_precision as mp

    monkeypatch.setattr(runtime, "bf16_native", lambda: True)
    monkeypatch.setattr(mp, "_WARNED", set())
    import warnings

    # float16: said on every host (graphkeras has no float16 kernels)
    with pytest.warns(UserWarning, match="no float16 kernels") as got:
        keras.mixed_precision.set_global_policy("mixed_float16")
        keras.layers.Dense(3)
        keras.layers.Dense(3, dtype="mixed_float16")
    keras.mixed_precision.set_global_policy("float32")
    assert len(got) == 1 and "once per process" in str(got[0].message)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        keras.layers.Dense(3, dtype="mixed_float16")
        # bfloat16 on a host with AVX512_BF16: nothing to say
        keras.layers.Dense(3, dtype="mixed_bfloat16")
    monkeypatch.setattr(mp, "_WARNED", set())
    monkeypatch.setattr(runtime, "bf16_native", lambda: False)
    with pytest.warns(UserWarning, match="no AVX512_BF16") as got:
        keras.layers.Dense(3, dtype="mixed_bfloat16")
        keras.layers.Dense(3, dtype="mixed_bfloat16")
    assert len(got) == 1


def test_dtype_policies_namespace():
    d = keras.dtype_policies
    cfg = d.serialize(d.get("mixed_bfloat16"))
    # as Keras 3 writes a layer's "dtype"
    assert cfg == {"module": "keras", "class_name": "DTypePolicy",
                   "config": {"name": "mixed_bfloat16"},
                   "registered_name": None}
    assert d.deserialize(cfg) == keras.mixed_precision.Policy(
        "mixed_bfloat16")
    assert d.get(cfg).compute_dtype == "bfloat16"
    assert d.get(None).name == "float32"
    assert d.FloatDTypePolicy is keras.DTypePolicy is d.DTypePolicy
    with pytest.raises(ValueError, match="Cannot interpret `dtype`"):
        d.get(3)
    # integer layers have their policy too (Keras: DTypePolicy("int64"))
    assert keras.layers.IntegerLookup(dtype="int64").dtype_policy.name == \
        "int64"
