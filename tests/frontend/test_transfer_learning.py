"""Transfer learning as Keras 3's guide does it: a frozen base
(`base.trainable = False`) called with `training=False`, a new head,
compile, train; then fine-tuning (unfreeze, recompile, low learning rate).
Frozen weights get no gradient and no optimizer state, frozen
BatchNormalization stays in inference mode (its moving statistics do not
move); once unfrozen, fit's training flag replaces the recorded
`training=False` as in Keras 3 (keras/src/models/functional.py
operation_fn), so BatchNormalization trains and its moving statistics
move; the train step of a frozen base does no backward work on it
(`graphkeras inspect`: no convolution gradients, FLOPs of the forward
pass). Compiled steps are checked against the reference interpreter."""

from __future__ import annotations

import contextlib
import io
import re

import numpy as np
import pytest

import graphkeras as keras
from graphkeras import layers


def _base():
    inp = keras.Input((8, 8, 3))
    x = layers.Conv2D(4, 3, padding="same")(inp)
    x = layers.BatchNormalization()(x)
    x = layers.Activation("relu")(x)
    x = layers.Conv2D(6, 3, padding="same")(x)
    x = layers.BatchNormalization()(x)
    return keras.Model(inp, x, name="base")


def _transfer_model(training_arg=False):
    keras.utils.set_random_seed(5)
    base = _base()
    base.trainable = False
    inp = keras.Input((8, 8, 3))
    x = base(inp, training=training_arg) if training_arg is not None \
        else base(inp)
    x = layers.GlobalAveragePooling2D()(x)
    x = layers.Dropout(0.2)(x)
    out = layers.Dense(3, name="head")(x)
    return base, keras.Model(inp, out)


def _compile(model, eager, lr=1e-2):
    model.compile(optimizer=keras.optimizers.Adam(lr),
                  loss=keras.losses.SparseCategoricalCrossentropy(
                      from_logits=True), run_eagerly=eager)


def _data():
    rng = np.random.default_rng(0)
    return ((rng.random((6, 8, 8, 3)) * 255).astype("float32"),
            rng.integers(0, 3, 6))


def _twins(training_arg=False):
    (base, a), (base_b, b) = (_transfer_model(training_arg),
                              _transfer_model(training_arg))
    b.set_weights(a.get_weights())
    return (base, a), (base_b, b)


def _weights(model) -> dict:
    return {w.path: w.numpy().copy() for w in model.weights}


@pytest.mark.parametrize("training_arg", [False, None])
def test_frozen_base_trains_only_the_head(training_arg):
    (_, model), (_, eager) = _twins(training_arg)
    _compile(model, False)
    _compile(eager, True)
    assert [w.path for w in model.trainable_weights] == ["head/kernel",
                                                         "head/bias"]
    before = _weights(model)
    x, y = _data()
    for _ in range(2):
        got = model.train_on_batch(x, y)
        want = eager.train_on_batch(x, y)
    np.testing.assert_allclose(got, want, rtol=1e-4)
    after = _weights(model)
    for path, w in after.items():
        if path.startswith("head/"):
            assert not np.array_equal(w, before[path]), path
        else:  # the base, BatchNormalization's moving statistics included
            np.testing.assert_array_equal(w, before[path], err_msg=path)
    for w1, w2 in zip(model.weights, eager.weights):
        np.testing.assert_allclose(w1.numpy(), w2.numpy(), rtol=1e-4,
                                   atol=1e-6, err_msg=w1.path)
    # optimizer state only for the trainable weights (Keras's names)
    names = sorted(v.path for v in model.optimizer.variables)
    assert names == sorted([
        "adam/iteration", "adam/learning_rate",
        "adam/head_kernel_momentum", "adam/head_kernel_velocity",
        "adam/head_bias_momentum", "adam/head_bias_velocity"]), names


def test_fine_tuning_after_recompile_trains_batchnorm_as_keras_3():
    (base, model), (base_b, eager) = _twins()
    for m in (model, eager):
        _compile(m, m is eager)
    x, y = _data()
    model.train_on_batch(x, y)
    eager.train_on_batch(x, y)
    # the guide's second phase: unfreeze, recompile, a low learning rate
    for b, m in ((base, model), (base_b, eager)):
        b.trainable = True
        _compile(m, m is eager, lr=1e-4)
    before = _weights(model)
    got = model.train_on_batch(x, y)
    want = eager.train_on_batch(x, y)
    np.testing.assert_allclose(got, want, rtol=1e-4)
    after = _weights(model)
    paths = [w.path for w in model.weights]  # in Keras's order:
    # conv (kernel, bias), BN (gamma, beta, mean, variance), conv, BN, head
    for k in (0, 2, 9, 12):  # conv kernel, gamma, beta, head kernel
        assert not np.array_equal(after[paths[k]], before[paths[k]]), paths[k]
    # called with training=False, but fit's training=True replaces it
    # (Keras 3): BatchNormalization, trainable again, updates its moving
    # statistics
    for k in (4, 5, 10, 11):
        assert "moving" in paths[k]
        assert not np.array_equal(after[paths[k]], before[paths[k]]), \
            paths[k]
    # A convolution's bias before a training-mode BatchNormalization has a
    # zero gradient up to rounding: its steps are rounding noise that
    # differs between the two programs, each at most Adam's step (the
    # learning rate) from where it was. The other weights agree.
    for w1, w2 in zip(model.weights, eager.weights):
        if w1.path.startswith("conv2d") and w1.path.endswith("/bias"):
            for w in (w1, w2):
                np.testing.assert_allclose(w.numpy(), before[w1.path],
                                           rtol=0, atol=1e-4, err_msg=w1.path)
            continue
        np.testing.assert_allclose(w1.numpy(), w2.numpy(), rtol=2e-4,
                                   atol=1e-5, err_msg=w1.path)


def _inspect(path) -> str:
    from graphkeras import cli

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        cli.main(["inspect", str(path), "--program", "train"])
    return out.getvalue()


def test_frozen_base_costs_no_backward_work(tmp_path):
    base, model = _transfer_model()
    _compile(model, False)
    frozen = tmp_path / "frozen.keras"
    model.save(frozen)
    base.trainable = True
    full = tmp_path / "full.keras"
    model.save(full)

    def report(path):
        text = _inspect(path)
        flops = int(re.search(r"^FLOPs: ([\d,]+) per sample", text,
                              re.M).group(1).replace(",", ""))
        nodes = re.search(r"^nodes: .*$", text, re.M).group(0)
        return flops, nodes

    forward = sum(2 * 9 * c_in * c_out * 64 for c_in, c_out in
                  ((3, 4), (4, 6)))  # the two convolutions, per sample
    (f_frozen, n_frozen), (f_full, n_full) = report(frozen), report(full)
    assert "conv_filter_grad" not in n_frozen
    assert "conv_transpose" not in n_frozen
    assert "conv_filter_grad 2" in n_full
    assert forward <= f_frozen < 1.1 * forward
    assert f_full > 2.5 * forward


def test_np_array_of_a_variable_is_a_copy():
    # snapshots taken with np.array(w) must not follow later train steps
    model = keras.Sequential([keras.Input((3,)), layers.Dense(2)])
    model.compile(optimizer="sgd", loss="mse")
    snap = np.array(model.weights[0])
    model.train_on_batch(np.ones((2, 3), "float32"),
                         np.ones((2, 2), "float32"))
    assert not np.array_equal(snap, model.weights[0].numpy())


def test_the_callers_training_flag_replaces_the_recorded_one():
    # Keras 3: a Functional model called with training=True/False runs
    # every layer that takes `training` with that value, whatever the
    # layer was called with when the graph was built; with training=None
    # the recorded value stands
    keras.utils.set_random_seed(1)
    inp = keras.Input((4,))
    base = keras.Model(inp, layers.BatchNormalization()(inp))
    i2 = keras.Input((4,))
    model = keras.Model(i2, layers.Dense(2)(base(i2, training=False)))
    x = (np.random.default_rng(0).random((8, 4)) * 5 + 3).astype("float32")
    inference = np.asarray(model(x))
    np.testing.assert_allclose(model.predict(x, verbose=0), inference,
                               rtol=1e-6)
    np.testing.assert_allclose(np.asarray(model(x, training=False)), inference,
                               rtol=1e-6)
    # training mode normalizes by the batch's own moments
    bn = base.layers[-1]
    gamma, beta = bn.gamma.numpy(), bn.beta.numpy()
    xn = (x - x.mean(0)) / np.sqrt(x.var(0) + bn.epsilon) * gamma + beta
    dense = model.layers[-1]
    want = xn @ dense.kernel.numpy() + dense.bias.numpy()
    np.testing.assert_allclose(np.asarray(model(x, training=True)), want,
                               rtol=1e-4, atol=1e-5)
