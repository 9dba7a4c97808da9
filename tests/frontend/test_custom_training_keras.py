"""Custom training and attention against Keras 3 (JAX backend) fixtures
written by fixtures/make_keras_custom_training.py: the JAX guide's
stateless train_step with only the gradient call swapped
(graphkeras.ops.value_and_grad for jax.value_and_grad) trains to Keras's
numbers from the same weights; MultiHeadAttention loads Keras's weights and
writes them under Keras's paths with Keras's build_config."""

import os
import zipfile
import json

import h5py
import numpy as np
import pytest

import graphkeras as keras
from test_custom_steps import TapeModel

HERE = os.path.join(os.path.dirname(__file__), "fixtures")
F = np.load(os.path.join(HERE, "keras_custom_training.npz"))


class JaxGuideModel(keras.Model):
    """Keras 3's JAX guide, `jax.value_and_grad` -> `ops.value_and_grad`."""

    def compute_loss_and_updates(self, trainable_variables,
                                 non_trainable_variables, x, y,
                                 training=False):
        y_pred, non_trainable_variables = self.stateless_call(
            trainable_variables, non_trainable_variables, x,
            training=training)
        loss = self.compute_loss(x, y, y_pred)
        return loss, (y_pred, non_trainable_variables)

    def train_step(self, state, data):
        (trainable_variables, non_trainable_variables, optimizer_variables,
         metrics_variables) = state
        x, y = data
        grad_fn = keras.ops.value_and_grad(self.compute_loss_and_updates,
                                           has_aux=True)
        (loss, (y_pred, non_trainable_variables)), grads = grad_fn(
            trainable_variables, non_trainable_variables, x, y,
            training=True)
        trainable_variables, optimizer_variables = (
            self.optimizer.stateless_apply(optimizer_variables, grads,
                                           trainable_variables))
        new_metrics_vars = []
        logs = {}
        for metric in self.metrics:
            this = metrics_variables[len(new_metrics_vars):
                                     len(new_metrics_vars)
                                     + len(metric.variables)]
            if metric.name == "loss":
                this = metric.stateless_update_state(this, loss)
            else:
                this = metric.stateless_update_state(this, y, y_pred)
            logs[metric.name] = metric.stateless_result(this)
            new_metrics_vars += this
        state = (trainable_variables, non_trainable_variables,
                 optimizer_variables, new_metrics_vars)
        return logs, state


def _jax_guide_fit(run_eagerly):
    inputs = keras.Input(shape=(5,))
    h = keras.layers.Dense(4, activation="tanh")(inputs)
    model = JaxGuideModel(inputs, keras.layers.Dense(1)(h))
    model.set_weights([F[f"fit_w{i}"] for i in range(4)])
    model.compile(optimizer=keras.optimizers.SGD(0.05), loss="mse",
                  metrics=["mae"], run_eagerly=run_eagerly)
    hist = model.fit(F["fit_x"], F["fit_y"], batch_size=16, epochs=3,
                     shuffle=False, verbose=0).history
    return model, hist


@pytest.mark.parametrize("run_eagerly", [False, True])
def test_jax_guide_stateless_step_trains_to_keras_numbers(run_eagerly):
    model, hist = _jax_guide_fit(run_eagerly)
    np.testing.assert_allclose(hist["loss"], F["jax_fit_loss"], rtol=1e-4)
    np.testing.assert_allclose(hist["mae"], F["jax_fit_mae"], rtol=1e-4)
    after = np.concatenate([np.ravel(w) for w in model.get_weights()])
    np.testing.assert_allclose(after, F["jax_fit_weights_after"], rtol=1e-4,
                               atol=1e-5)
    if not run_eagerly:
        assert len(model._steps) == 1


def test_multi_head_attention_loads_keras_file():
    model = keras.saving.load_model(os.path.join(HERE, "keras_mha.keras"))
    got = model.predict([F["mha_x1"], F["mha_x2"]], verbose=0)
    np.testing.assert_allclose(got, F["mha_y"], rtol=1e-4, atol=1e-5)


def _mha_model():
    inp = keras.Input((4, 6))
    ctx = keras.Input((3, 5))
    y = keras.layers.MultiHeadAttention(num_heads=2, key_dim=3,
                                        name="mha")(inp, ctx)
    return keras.Model([inp, ctx], keras.layers.Dense(2)(y))


def test_multi_head_attention_loads_keras_weights_file():
    model = _mha_model()
    model.load_weights(os.path.join(HERE, "keras_mha.weights.h5"))
    got = model.predict([F["mha_x1"], F["mha_x2"]], verbose=0)
    np.testing.assert_allclose(got, F["mha_y"], rtol=1e-4, atol=1e-5)


def _h5_paths(path):
    out = []
    with h5py.File(path, "r") as f:
        f.visititems(lambda name, obj: out.append(name)
                     if isinstance(obj, h5py.Dataset) else None)
    return sorted(out)


def test_multi_head_attention_writes_keras_paths_and_build_config(tmp_path):
    model = _mha_model()
    path = str(tmp_path / "ours.weights.h5")
    model.save_weights(path)
    assert _h5_paths(path) == _h5_paths(
        os.path.join(HERE, "keras_mha.weights.h5"))
    model.save(str(tmp_path / "ours.keras"))

    def mha_build_config(p):
        config = json.loads(zipfile.ZipFile(p).read("config.json"))
        layer = next(x for x in config["config"]["layers"]
                     if x["class_name"] == "MultiHeadAttention")
        return layer["build_config"]

    # Keras builds a loaded MultiHeadAttention with build(**shapes_dict)
    assert mha_build_config(str(tmp_path / "ours.keras")) == \
        mha_build_config(os.path.join(HERE, "keras_mha.keras"))
    again = keras.saving.load_model(str(tmp_path / "ours.keras"))
    x1, x2 = F["mha_x1"], F["mha_x2"]
    np.testing.assert_allclose(again.predict([x1, x2], verbose=0),
                               model.predict([x1, x2], verbose=0),
                               rtol=1e-5, atol=1e-6)


def test_tape_guide_step_trains_to_keras_numbers():
    inputs = keras.Input(shape=(5,))
    h = keras.layers.Dense(4, activation="tanh")(inputs)
    # the TF guide's step, tf.GradientTape -> keras.GradientTape: the same
    # update as the JAX guide's, so the same numbers
    model = TapeModel(inputs, keras.layers.Dense(1)(h))
    model.set_weights([F[f"fit_w{i}"] for i in range(4)])
    model.compile(optimizer=keras.optimizers.SGD(0.05), loss="mse",
                  metrics=["mae"])
    hist = model.fit(F["fit_x"], F["fit_y"], batch_size=16, epochs=3,
                     shuffle=False, verbose=0).history
    np.testing.assert_allclose(hist["loss"], F["jax_fit_loss"], rtol=1e-4)
    np.testing.assert_allclose(hist["mae"], F["jax_fit_mae"], rtol=1e-4)


class JaxGuideEvalModel(JaxGuideModel):
    """The JAX guide's test_step and predict_step (state, data) forms."""

    def test_step(self, state, data):
        x, y = data
        (trainable_variables, non_trainable_variables,
         metrics_variables) = state
        y_pred, non_trainable_variables = self.stateless_call(
            trainable_variables, non_trainable_variables, x, training=False)
        loss = self.compute_loss(x, y, y_pred)
        new_metrics_vars, logs = [], {}
        for metric in self.metrics:
            this = metrics_variables[len(new_metrics_vars):
                                     len(new_metrics_vars)
                                     + len(metric.variables)]
            if metric.name == "loss":
                this = metric.stateless_update_state(this, loss)
            else:
                this = metric.stateless_update_state(this, y, y_pred)
            logs[metric.name] = metric.stateless_result(this)
            new_metrics_vars += this
        return logs, (trainable_variables, non_trainable_variables,
                      new_metrics_vars)

    def predict_step(self, state, data):
        trainable_variables, non_trainable_variables = state
        outputs, non_trainable_variables = self.stateless_call(
            trainable_variables, non_trainable_variables, data,
            training=False)
        return outputs * 2.0, non_trainable_variables


def test_jax_guide_test_and_predict_steps():
    inputs = keras.Input(shape=(5,))
    h = keras.layers.Dense(4, activation="tanh")(inputs)
    model = JaxGuideEvalModel(inputs, keras.layers.Dense(1)(h))
    model.set_weights([F[f"fit_w{i}"] for i in range(4)])
    model.compile(optimizer=keras.optimizers.SGD(0.05), loss="mse",
                  metrics=["mae"])
    x, y = F["fit_x"], F["fit_y"]
    plain = keras.Model(model.inputs[0], model.outputs[0])
    y_pred = plain.predict(x, verbose=0)
    logs = model.evaluate(x, y, batch_size=64, verbose=0, return_dict=True)
    np.testing.assert_allclose(logs["loss"], np.mean((y_pred - y) ** 2),
                               rtol=1e-5)
    np.testing.assert_allclose(logs["mae"], np.mean(np.abs(y_pred - y)),
                               rtol=1e-5)
    np.testing.assert_allclose(model.predict(x, verbose=0), 2 * y_pred,
                               rtol=1e-5)
