"""The "mixed_float16" policy (frontend/mixed_precision.py): float32
variables; a layer's floating inputs, the variables it autocasts, its
outputs and their gradients rounded to float16 values; float16 arrays
out of predict where Keras returns them; compile wraps the optimizer in a
LossScaleOptimizer as Keras 3 does. Against Keras 3's own files, numbers
and answers (fixtures/make_keras_mixed_float16.py,
fixtures/make_keras_mixed_precision.py), the interpreter, ONNX Runtime
and float16's rounding."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest

import graphkeras as keras

HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURE = os.path.join(HERE, "fixtures", "keras_mixed_float16")
API = os.path.join(HERE, "fixtures", "keras_mixed_precision")
OURS = os.path.join(HERE, "fixtures", "graphkeras_mixed_float16.keras")


def _keras_facts():
    with open(API + ".json") as f:
        return json.load(f)


def _f16(x):
    with np.errstate(over="ignore"):
        return np.asarray(x, np.float32).astype(np.float16).astype(np.float32)


@pytest.fixture
def mixed():
    keras.mixed_precision.set_global_policy("mixed_float16")
    try:
        yield
    finally:
        keras.mixed_precision.set_global_policy("float32")


def _mlp(seed=0):
    keras.utils.set_random_seed(seed)
    return keras.Sequential([
        keras.Input((11,)),
        keras.layers.Dense(19, activation="relu"),
        keras.layers.BatchNormalization(),
        keras.layers.Dense(7, activation="tanh"),
        keras.layers.Dense(3, activation="softmax", dtype="float32"),
    ])


def test_policy_attributes_and_config(mixed):
    p = keras.mixed_precision.global_policy()
    assert (p.name, p.compute_dtype, p.variable_dtype) == (
        "mixed_float16", "float16", "float32")
    m = _mlp()
    dense, bn, head = m.layers[0], m.layers[1], m.layers[3]
    assert dense.dtype_policy.name == "mixed_float16"
    assert head.dtype_policy.name == "float32"
    assert dense.kernel.dtype == "float32" and bn.moving_mean.dtype == "float32"
    assert dense.get_config()["dtype"] == "mixed_float16"
    again = keras.layers.Dense.from_config(dense.get_config())
    assert again.dtype_policy.name == "mixed_float16"


def test_layers_compute_on_float16_values(mixed):
    rng = np.random.default_rng(1)
    x = rng.normal(size=(5, 11)).astype(np.float32) * 3
    m = _mlp()
    w = m.get_weights()
    # the first layer: float16 inputs and kernel, float16 output; the
    # float32 bias is autocast too (Keras reads every autocast variable as
    # float16 inside the layer)
    first = keras.Model(m.inputs, m.layers[0].output)
    got = first.predict_on_batch(x)
    want = _f16(np.maximum(_f16(x).astype(np.float64) @ _f16(w[0])
                           + _f16(w[1]), 0))
    np.testing.assert_allclose(got, want, rtol=2e-3, atol=1e-6)
    np.testing.assert_array_equal(got, _f16(got))
    # BatchNormalization: float32 statistics (autocast=False), float16 output
    hidden = keras.Model(m.inputs, m.layers[2].output).predict_on_batch(x)
    np.testing.assert_array_equal(hidden, _f16(hidden))
    # the float32 head's output is not rounded
    out = m.predict_on_batch(x)
    assert not np.array_equal(out, _f16(out))


def test_compiled_equals_interpreter_predict_and_train(mixed):
    rng = np.random.default_rng(2)
    x = rng.normal(size=(9, 11)).astype(np.float32)
    y = rng.integers(0, 3, 9)
    a, b = _mlp(4), _mlp(4)
    b.set_weights(a.get_weights())
    a.compile(keras.optimizers.Adam(1e-2), "sparse_categorical_crossentropy")
    b.compile(keras.optimizers.Adam(1e-2), "sparse_categorical_crossentropy",
              run_eagerly=True)
    np.testing.assert_allclose(a.predict(x, verbose=0),
                               b.predict(x, verbose=0), rtol=1e-5, atol=1e-6)
    for _ in range(2):
        la, lb = a.train_on_batch(x, y), b.train_on_batch(x, y)
    np.testing.assert_allclose(la, lb, rtol=1e-4)
    for wa, wb in zip(a.get_weights(), b.get_weights()):
        np.testing.assert_allclose(wa, wb, rtol=2e-3, atol=2e-5)


def test_compile_wraps_the_optimizer_in_loss_scaling(mixed):
    m = _mlp()
    m.compile("adam", "sparse_categorical_crossentropy")
    opt = m.optimizer
    assert isinstance(opt, keras.mixed_precision.LossScaleOptimizer)
    assert type(opt.inner_optimizer).__name__ == "Adam"
    x = np.random.default_rng(0).normal(size=(8, 11)).astype(np.float32)
    m.fit(x, np.arange(8) % 3, verbose=0)
    assert float(opt.dynamic_scale.numpy()) == 2.0 ** 15
    m2 = _mlp()
    m2.compile("adam", "mse", auto_scale_loss=False)
    assert type(m2.optimizer).__name__ == "Adam"
    # a float32 model is never wrapped
    keras.mixed_precision.set_global_policy("float32")
    m3 = _mlp()
    m3.compile("adam", "mse")
    assert type(m3.optimizer).__name__ == "Adam"


def test_overflow_is_inf_as_in_float16(mixed):
    layer = keras.layers.Dense(1, use_bias=False, kernel_initializer="ones")
    out = np.asarray(layer(np.float32([[40000.0, 30000.0], [1.0, 2.0]])))
    assert np.isinf(out[0, 0]) and out[1, 0] == 3.0


def test_keras3_file_loads_and_predicts_keras_numbers():
    f = np.load(FIXTURE + ".npz")
    # as Keras 3 itself: the file's optimizer was the LossScaleOptimizer
    # compile made, the compile config names Adam, and a loaded model has
    # the float32 policy, so its Adam is not wrapped and the loss scaling
    # slots are not loaded
    with pytest.warns(UserWarning, match="Skipping variable loading"):
        m = keras.models.load_model(FIXTURE + ".keras")
    assert type(m.optimizer).__name__ == "Adam"
    assert m.layers[1].dtype_policy.name == "mixed_float16"
    assert m.layers[-1].dtype_policy.name == "float32"
    x, y = f["x"], f["y"]
    # Keras computes in float16 arithmetic, graphkeras in float32 between
    # float16 roundings: the same numbers to float16's precision
    np.testing.assert_allclose(m.predict(x, verbose=0), f["pred"],
                               rtol=0, atol=1e-3)
    hidden = keras.Model(m.inputs, m.layers[-2].output).predict(x, verbose=0)
    np.testing.assert_array_equal(hidden, _f16(hidden))
    np.testing.assert_allclose(hidden, f["hidden"].astype(np.float32),
                               rtol=0, atol=8e-3)
    m.compile(keras.optimizers.SGD(0.1), "sparse_categorical_crossentropy")
    loss = m.train_on_batch(x, y)
    np.testing.assert_allclose(loss, f["loss"], rtol=3e-4)
    for k, w in enumerate(m.get_weights()):
        np.testing.assert_allclose(w, f[f"w{k}"], rtol=0,
                                   atol=5e-4 * (1 + np.abs(w).max()))


def test_save_load_and_onnx(mixed, tmp_path):
    ort = pytest.importorskip("onnxruntime")
    m = _mlp(5)
    x = np.random.default_rng(3).normal(size=(6, 11)).astype(np.float32)
    want = m.predict(x, verbose=0)
    path = str(tmp_path / "m.keras")
    m.save(path)
    keras.mixed_precision.set_global_policy("float32")
    back = keras.models.load_model(path)
    assert back.layers[0].dtype_policy.name == "mixed_float16"
    np.testing.assert_array_equal(back.predict(x, verbose=0), want)
    onnx_path = str(tmp_path / "m.onnx")
    back.export(onnx_path, format="onnx")
    sess = ort.InferenceSession(onnx_path, providers=["CPUExecutionProvider"])
    got = sess.run(None, {sess.get_inputs()[0].name: x})[0]
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


def test_policies_and_layer_dtypes_are_keras():
    facts = _keras_facts()
    mp = keras.mixed_precision
    try:
        for name, want in facts["policies"].items():
            mp.set_global_policy(name)
            p = mp.global_policy()
            assert [repr(p), p.name, p.compute_dtype,
                    p.variable_dtype] == want["policy"]
            d = keras.layers.Dense(3)
            d.build((None, 2))
            assert [d.dtype_policy.name, d.compute_dtype, d.variable_dtype,
                    d.dtype, d.kernel.dtype] == want["dense"], name
            a = keras.layers.Activation("softmax", dtype="float32")
            assert [a.dtype_policy.name, a.compute_dtype, a.variable_dtype,
                    a.dtype] == want["head"], name
    finally:
        mp.set_global_policy("float32")
    with pytest.raises(ValueError) as e:
        mp.Policy("mixed_float64")
    assert str(e.value) == facts["error"]
    # Keras's serialized policy (its layers' get_config) as a dtype
    cfg = {"module": "keras", "class_name": "DTypePolicy",
           "config": {"name": "float64"}, "registered_name": None}
    assert keras.layers.Dense(2, dtype=cfg).dtype_policy.name == "float64"
    cfg["config"]["name"] = "mixed_float16"
    assert keras.layers.Dense(2, dtype=cfg).compute_dtype == "float16"
    # half precision variables: refused, naming the layer
    with pytest.raises(ValueError, match='"half_dense".*float32 or float64'):
        keras.layers.Dense(2, dtype="float16", name="half_dense")


def test_output_dtypes_are_keras(mixed):
    facts = _keras_facts()["outputs"]
    x = np.random.default_rng(0).normal(size=(6, 4)).astype(np.float32)
    L = keras.layers
    for key in ("plain", "head"):
        layers = [keras.Input((4,)), L.Dense(5, activation="relu"),
                  L.Dense(3)]
        if key == "head":
            layers.append(L.Activation("softmax", dtype="float32"))
        m = keras.Sequential(layers)
        want = facts[key]
        # the first calls run eagerly, the later ones the compiled step
        calls = [np.asarray(m(x)) for _ in range(4)]
        assert {str(c.dtype) for c in calls} == {want["call"]}, key
        assert str(m.predict(x, verbose=0).dtype) == want["predict"]
        assert str(m.predict(np.concatenate([x] * 10), verbose=0)
                   .dtype) == want["predict"]
        for _ in range(2):  # (the second one: predict_on_batch's fast path)
            assert str(m.predict_on_batch(x).dtype) == \
                want["predict_on_batch"], key
        assert str(m.outputs[0].dtype) == want["symbolic"], key
        assert str(m.layers[0].output.dtype) == want["first_layer"]
        assert [m.dtype_policy.name, m.compute_dtype, m.dtype] == \
            want["model"]
        # eager and compiled: the same values
        out = m.predict_on_batch(x)
        np.testing.assert_allclose(out.astype(np.float32),
                                   calls[0].astype(np.float32),
                                   rtol=1e-3, atol=1e-6)
        # and graphkeras's ops take them (as float32)
        assert keras.ops.argmax(out, axis=-1).shape == (6,)
    m.compile("adam", "sparse_categorical_crossentropy")
    opt = m.optimizer
    assert [type(opt).__name__, type(opt.inner_optimizer).__name__, opt.name,
            opt.initial_scale, opt.dynamic_growth_steps] == facts["compile"]
    loss = m.evaluate(x, np.arange(6) % 3, verbose=0)
    assert type(loss) is float


def test_loss_scale_optimizer_steps_are_keras():
    facts = _keras_facts()["loss_scale"]
    mp = keras.mixed_precision
    o = mp.LossScaleOptimizer(keras.optimizers.SGD(0.1), initial_scale=8.0,
                              dynamic_growth_steps=2)
    cfg = o.get_config()
    assert {k: cfg[k] for k in facts["config"]} == facts["config"]
    assert cfg["inner_optimizer"]["class_name"] == facts["inner_class"]
    assert float(o.scale_loss(3.0)) == facts["scale_loss"]
    v = keras.Variable(np.ones(2, np.float32))
    grads = ([1, 1], [1, 1], [1, 1], [np.inf, 1], [np.nan, 1], [1, 1],
             [1, 1])
    for g, want in zip(grads, facts["steps"]):
        # a non-finite gradient changes no weight and no iteration count
        o.apply_gradients([(np.array(g, np.float32), v)])
        np.testing.assert_allclose(v.numpy(), want[0], rtol=1e-7)
        assert [float(o.dynamic_scale.numpy()), int(o.iterations.numpy()),
                int(o.step_counter.numpy())] == want[1:]
    again = mp.LossScaleOptimizer.from_config(cfg)
    assert (again.initial_scale, again.dynamic_growth_steps) == (8.0, 2)


def test_loss_scale_backs_off_on_float16_overflow_as_in_keras():
    """Keras's gradients of float16 tensors are float16: scaled past
    65504 they are inf, the step is skipped and the scale halves. The
    float16 rounding of the gradients here gives Keras's scale at every
    step (without it the scale only grew)."""
    f = np.load(API + ".npz")
    mp = keras.mixed_precision
    mp.set_global_policy("mixed_float16")
    try:
        m = keras.Sequential([keras.Input((3,)),
                              keras.layers.Dense(4, activation="relu"),
                              keras.layers.Dense(1)])
    finally:
        mp.set_global_policy("float32")
    m.set_weights([f[f"of_init{k}"] for k in range(4)])
    m.compile(mp.LossScaleOptimizer(keras.optimizers.SGD(1e-3),
                                    dynamic_growth_steps=3), "mse")
    scales, losses = [], []

    class Record(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            scales.append(float(self.model.optimizer.dynamic_scale.numpy()))
            losses.append(logs["loss"])

    m.fit(f["of_x"], f["of_y"], batch_size=8, epochs=12, verbose=0,
          shuffle=False, callbacks=[Record()])
    assert scales == f["of_scales"].tolist()
    assert int(m.optimizer.iterations.numpy()) == int(f["of_iterations"])
    np.testing.assert_allclose(losses, f["of_losses"], rtol=2e-5)
    for k, w in enumerate(m.get_weights()):
        np.testing.assert_allclose(w, f[f"of_w{k}"], rtol=0, atol=5e-4)


def test_our_file_loads_in_keras_with_its_policies_and_numbers():
    """graphkeras_mixed_float16.keras, written by graphkeras
    (make_graphkeras_mixed_float16.py), as Keras 3 loaded it: the same
    policies, the LossScaleOptimizer with its state (no skipped
    variables), and Keras's predictions of it to float16's precision."""
    facts = _keras_facts()["graphkeras_file"]
    f = np.load(API + ".npz")
    m = keras.models.load_model(OURS)
    assert [layer.dtype_policy.name for layer in m.layers] == \
        facts["policies"]
    opt = m.optimizer
    assert type(opt).__name__ == facts["optimizer"]
    assert [int(opt.iterations.numpy()), int(opt.step_counter.numpy()),
            float(opt.dynamic_scale.numpy())] == facts["optimizer_state"]
    x = f["gk_x"]
    np.testing.assert_allclose(m.predict(x, verbose=0), f["gk_pred"],
                               rtol=0, atol=1e-3)
    hidden = keras.Model(m.inputs, m.layers[-2].output).predict(x, verbose=0)
    assert str(hidden.dtype) == facts["hidden_dtype"]
    np.testing.assert_allclose(hidden.astype(np.float32), f["gk_hidden"],
                               rtol=0, atol=8e-3)


def test_save_writes_the_inner_optimizer_group_keras_reads(mixed, tmp_path):
    import h5py
    import zipfile

    m = _mlp()
    m.compile("adam", "sparse_categorical_crossentropy")
    x = np.random.default_rng(0).normal(size=(8, 11)).astype(np.float32)
    m.fit(x, np.arange(8) % 3, verbose=0)
    path = str(tmp_path / "m.keras")
    m.save(path)
    with zipfile.ZipFile(path) as z:
        z.extract("model.weights.h5", tmp_path)
    with h5py.File(tmp_path / "model.weights.h5") as h:
        outer = len(h["optimizer/vars"])
        inner = len(h["optimizer/inner_optimizer/vars"])
    assert outer == len(m.optimizer.variables)
    assert inner == len(m.optimizer.inner_optimizer.variables) == outer - 4
    back = keras.models.load_model(path)
    assert float(back.optimizer.dynamic_scale.numpy()) == 2.0 ** 15
    assert int(back.optimizer.iterations.numpy()) == 1


def test_custom_layer_casting_to_its_compute_dtype(mixed):
    """ops.cast(x, self.compute_dtype) in a custom layer, as Keras layers
    write it: "float16" rounds to float16's values (float32 tensors)."""

    class Scale(keras.layers.Layer):
        def call(self, x):
            assert self.compute_dtype == "float16"
            return keras.ops.cast(x, self.compute_dtype) * 3.0

    m = keras.Sequential([keras.Input((4,)), Scale()])
    x = np.float32([[1.0001, 70000.0, 0.1, -2.5]])
    got = m.predict_on_batch(x)
    assert got.dtype == np.float16
    with np.errstate(invalid="ignore"):
        np.testing.assert_array_equal(got, (_f16(x) * 3.0).astype(
            np.float16))
    np.testing.assert_array_equal(
        keras.ops.cast(x, "float16"), _f16(x))
    np.testing.assert_array_equal(keras.ops.cast(x, "bfloat16"), x)


def test_ops_on_float16_keras_tensors_have_keras_dtypes(mixed):
    """ops applied to a mixed_float16 layer's outputs in a functional
    model are float16 when their floating operands all are (as Keras's
    type promotion makes them), float32 otherwise; symbolically, from
    predict and from model(x) (eager, then compiled)."""
    want = _keras_facts()["op_nodes"]
    ops = keras.ops
    i = keras.Input((4,))
    h = keras.layers.Dense(5)(i)
    b = ops.cast(h, "float32")
    outs = {"add": ops.add(h, 1.0), "cast": b,
            "concat": ops.concatenate([h, b], axis=-1),
            "mix": h * 2 + ops.mean(h, axis=-1, keepdims=True),
            "argmax": ops.argmax(h, axis=-1),
            "float32_add": ops.add(b, 1.0),
            # a float32 layer passing h through: float32, h stays float16
            "linear_float32": keras.layers.Activation(
                "linear", dtype="float32")(h),
            "dense": h}
    assert list(outs) == want["names"]
    assert [str(t.dtype) for t in outs.values()] == want["symbolic"]
    m = keras.Model(i, list(outs.values()))
    x = np.random.default_rng(0).normal(size=(3, 4)).astype(np.float32)
    assert [str(o.dtype) for o in m.predict(x, verbose=0)] == \
        want["predict"]
    for _ in range(4):
        assert [str(np.asarray(o).dtype) for o in m(x)] == want["call"]
    # the float32 ones are not rounded: b + 1 keeps float32's precision
    got = m.predict(x, verbose=0)
    np.testing.assert_array_equal(got[5], got[1] + np.float32(1.0))
