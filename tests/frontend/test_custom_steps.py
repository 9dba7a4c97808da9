"""Keras 3's trainer seams: overridden train_step / test_step /
predict_step traced into one program, compute_loss / compute_metrics,
custom trackers, subclassed models built from (inputs, outputs), and the
tape form of the gradient API. Compiled runs are compared with the
reference interpreter (run_eagerly=True) and with the built-in step."""

import numpy as np
import pytest

import graphkeras as keras
from graphkeras import layers, ops


def _data(n=64, d=5, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, d)).astype("float32")
    y = (x @ rng.normal(size=(d, 1))).astype("float32")
    return x, y


class TapeModel(keras.Model):
    """The "customizing fit" guide's step, with the gradient call swapped."""

    def train_step(self, data):
        x, y = data
        with keras.GradientTape() as tape:
            y_pred = self(x, training=True)
            loss = self.compute_loss(y=y, y_pred=y_pred)
        trainable_vars = self.trainable_variables
        gradients = tape.gradient(loss, trainable_vars)
        self.optimizer.apply(gradients, trainable_vars)
        for metric in self.metrics:
            if metric.name == "loss":
                metric.update_state(loss)
            else:
                metric.update_state(y, y_pred)
        return {m.name: m.result() for m in self.metrics}


def _functional(cls, seed=1):
    keras.utils.set_random_seed(seed)
    inputs = keras.Input(shape=(5,))
    h = layers.Dense(4, activation="tanh")(inputs)
    outputs = layers.Dense(1)(h)
    return cls(inputs, outputs)


def _fit(model, run_eagerly=False, epochs=2):
    x, y = _data()
    model.compile(optimizer=keras.optimizers.SGD(0.05), loss="mse",
                  metrics=["mae"], run_eagerly=run_eagerly)
    return model.fit(x, y, batch_size=16, epochs=epochs, shuffle=False,
                     verbose=0).history


def test_overridden_train_step_is_the_one_that_runs():
    class Raising(keras.Model):
        def train_step(self, data):
            raise RuntimeError("custom train_step reached")

    model = _functional(Raising)
    x, y = _data()
    model.compile(optimizer="sgd", loss="mse")
    with pytest.raises(RuntimeError, match="custom train_step reached"):
        model.fit(x, y, epochs=1, verbose=0)


def test_overridden_test_and_predict_steps_run():
    class Steps(keras.Model):
        def test_step(self, data):
            x, y = data
            return {"twice": ops.mean(ops.multiply(y, 2.0))}

        def predict_step(self, data):
            return ops.add(self(data, training=False), 100.0)

    model = _functional(Steps)
    x, y = _data()
    model.compile(optimizer="sgd", loss="mse")
    logs = model.evaluate(x, y, batch_size=64, verbose=0, return_dict=True)
    assert logs == {"twice": pytest.approx(float(np.mean(y) * 2), rel=1e-5)}
    plain = keras.Model(model.inputs[0], model.outputs[0])
    np.testing.assert_allclose(model.predict(x, verbose=0),
                               plain.predict(x, verbose=0) + 100.0,
                               rtol=1e-5, atol=1e-5)


def test_tape_step_matches_builtin_and_reference():
    custom = _fit(_functional(TapeModel))
    eager = _fit(_functional(TapeModel), run_eagerly=True)
    builtin = _fit(_functional(keras.Model))
    assert set(custom) == {"loss", "mae"}
    for k in custom:
        np.testing.assert_allclose(custom[k], eager[k], rtol=1e-4)
        np.testing.assert_allclose(custom[k], builtin[k], rtol=1e-4)


def test_subclass_built_from_inputs_outputs_is_functional():
    model = _functional(TapeModel)
    assert isinstance(model, TapeModel)
    assert [type(l).__name__ for l in model.layers] == [
        "InputLayer", "Dense", "Dense"]
    x, _ = _data(8)
    assert model.predict(x, verbose=0).shape == (8, 1)


def test_custom_step_is_one_program_per_step():
    model = _functional(TapeModel)
    _fit(model, epochs=1)
    assert len(model._steps) == 1
    fn = model._steps.last_program("train").fn
    assert fn.name == "train_step"


def test_compute_loss_override_used_by_builtin_step():
    class Doubled(keras.Model):
        def compute_loss(self, x=None, y=None, y_pred=None,
                         sample_weight=None, training=True):
            return 2.0 * super().compute_loss(x, y, y_pred, sample_weight)

    doubled = _fit(_functional(Doubled), epochs=1)
    eager = _fit(_functional(Doubled), run_eagerly=True, epochs=1)
    np.testing.assert_allclose(doubled["loss"], eager["loss"], rtol=1e-5)
    plain = _fit(_functional(keras.Model), epochs=1)
    # the first batch's loss (before any update) is exactly twice; the
    # epoch mean differs because the steps differ
    assert doubled["loss"][0] > 1.5 * plain["loss"][0]


class Sampling(layers.Layer):
    def call(self, inputs):
        z_mean, z_log_var = inputs
        batch = ops.shape(z_mean)[0]
        dim = ops.shape(z_mean)[1]
        epsilon = keras.random.normal(shape=(batch, dim))
        return z_mean + ops.exp(0.5 * z_log_var) * epsilon


def _vae_parts(latent=2, d=6):
    keras.utils.set_random_seed(3)
    ei = keras.Input(shape=(d,))
    h = layers.Dense(8, activation="relu")(ei)
    z_mean = layers.Dense(latent, name="z_mean")(h)
    z_log_var = layers.Dense(latent, name="z_log_var")(h)
    z = Sampling()([z_mean, z_log_var])
    encoder = keras.Model(ei, [z_mean, z_log_var, z], name="encoder")
    li = keras.Input(shape=(latent,))
    out = layers.Dense(d, activation="sigmoid")(
        layers.Dense(8, activation="relu")(li))
    decoder = keras.Model(li, out, name="decoder")
    return encoder, decoder


class VAE(keras.Model):
    def __init__(self, encoder, decoder, **kwargs):
        super().__init__(**kwargs)
        self.encoder = encoder
        self.decoder = decoder
        self.total_loss_tracker = keras.metrics.Mean(name="total_loss")
        self.kl_loss_tracker = keras.metrics.Mean(name="kl_loss")

    @property
    def metrics(self):
        return [self.total_loss_tracker, self.kl_loss_tracker]

    def train_step(self, data):
        with keras.GradientTape() as tape:
            z_mean, z_log_var, z = self.encoder(data)
            reconstruction = self.decoder(z)
            rec = ops.mean(keras.losses.binary_crossentropy(
                data, reconstruction))
            kl = -0.5 * (1 + z_log_var - ops.square(z_mean)
                         - ops.exp(z_log_var))
            kl = ops.mean(ops.sum(kl, axis=1))
            total = rec + kl
        grads = tape.gradient(total, self.trainable_weights)
        self.optimizer.apply_gradients(zip(grads, self.trainable_weights))
        self.total_loss_tracker.update_state(total)
        self.kl_loss_tracker.update_state(kl)
        return {"loss": self.total_loss_tracker.result(),
                "kl_loss": self.kl_loss_tracker.result()}


def _vae_history(run_eagerly):
    data = (np.random.default_rng(0).random((64, 6)) > 0.5).astype("float32")
    vae = VAE(*_vae_parts())
    vae.compile(optimizer=keras.optimizers.Adam(0.01), run_eagerly=run_eagerly)
    h = vae.fit(data, epochs=3, batch_size=16, shuffle=False, verbose=0)
    return vae, h.history


def test_vae_without_call_trains_compiled_as_reference():
    vae, compiled = _vae_history(False)
    _, eager = _vae_history(True)
    assert list(compiled) == ["kl_loss", "loss"]  # sorted, as Keras 3
    np.testing.assert_allclose(compiled["loss"], eager["loss"], rtol=1e-4)
    np.testing.assert_allclose(compiled["kl_loss"], eager["kl_loss"],
                               rtol=1e-4)
    assert compiled["loss"][-1] < compiled["loss"][0]
    assert len(vae._steps) == 1


def test_unseeded_random_draws_fresh_values_every_step():
    encoder, _ = _vae_parts()
    x = np.ones((5, 6), "float32")
    z1 = encoder.predict(x, verbose=0)[2]
    z2 = encoder.predict(x, verbose=0)[2]
    assert z1.shape == (5, 2)
    assert not np.allclose(z1, z2)
    # rows of one batch differ too (one constant array would repeat them
    # only by accident; same inputs give the same mean and variance)
    assert not np.allclose(z1[0], z1[1])


def test_unseeded_random_in_eager_call_is_fresh_too():
    layer = Sampling()
    zm = np.zeros((4, 3), "float32")
    a = layer([zm, zm])
    b = layer([zm, zm])
    assert a.shape == (4, 3) and not np.allclose(a, b)


def test_seeded_int_random_is_the_same_each_step():
    class Fixed(layers.Layer):
        def call(self, x):
            return x + keras.random.normal(shape=(ops.shape(x)[0], 2),
                                           seed=7)

    inp = keras.Input((2,))
    model = keras.Model(inp, Fixed()(inp))
    x = np.zeros((3, 2), "float32")
    np.testing.assert_array_equal(model.predict(x, verbose=0),
                                  model.predict(x, verbose=0))


def test_custom_step_program_dumps_through_the_cli(tmp_path, capsys):
    # trace_step is the public way to the program fit runs; as .gkir text
    # `graphkeras dump --program train` prints it
    from graphkeras import cli
    from graphkeras.frontend.trainer_steps import trace_step
    from graphkeras.ir import parse_many, print_function

    model = _functional(TapeModel)
    model.compile(optimizer="sgd", loss="mse", metrics=["mae"])
    x, y = _data(4)
    program = trace_step(model, "train", [x], [y])
    text = print_function(program.fn)
    assert parse_many(text)[0] == program.fn
    path = tmp_path / "step.gkir"
    path.write_text(text)
    assert cli.main(["dump", str(path), "--program", "train"]) == 0
    out = capsys.readouterr().out
    assert "func @train_step" in out and "matmul" in out


def test_export_of_random_inference_names_the_layer(tmp_path):
    encoder, _ = _vae_parts()
    with pytest.raises(ValueError, match="draws random numbers at "
                       r"inference \(in layer\(s\) 'sampling"):
        encoder.export(str(tmp_path / "enc.onnx"), format="onnx")


class _ActivityPenalty(layers.Layer):
    def call(self, x):
        self.add_loss(0.1 * ops.sum(ops.square(x)))
        return x


class _LossesStep(keras.Model):
    """The training-loop guide's `loss += sum(model.losses)` in a step."""

    def train_step(self, data):
        x, y = data
        with keras.GradientTape() as tape:
            pred = self(x, training=True)
            loss = ops.mean(ops.square(pred - y)) + sum(self.losses)
        grads = tape.gradient(loss, self.trainable_weights)
        self.optimizer.apply(grads, self.trainable_weights)
        return {"loss": loss, "n_losses": float(len(self.losses))}


def _penalized(cls):
    keras.utils.set_random_seed(0)
    inp = keras.Input((3,))
    h = layers.Dense(4, kernel_regularizer=keras.regularizers.L2(0.5))(inp)
    return cls(inp, layers.Dense(1)(_ActivityPenalty()(h)))


def test_model_losses_in_a_step_are_traced_and_carry_gradients():
    x = np.random.default_rng(0).random((8, 3)).astype("float32")
    y = np.ones((8, 1), "float32")
    custom = _penalized(_LossesStep)
    custom.compile(keras.optimizers.SGD(0.1))
    got = custom.fit(x, y, batch_size=8, epochs=3, shuffle=False,
                     verbose=0).history
    # the built-in step adds the same penalties (add_loss + regularizer)
    builtin = _penalized(keras.Model)
    builtin.compile(keras.optimizers.SGD(0.1), loss="mse")
    want = builtin.fit(x, y, batch_size=8, epochs=3, shuffle=False,
                       verbose=0).history
    assert got["n_losses"] == [2.0, 2.0, 2.0]
    np.testing.assert_allclose(got["loss"], want["loss"], rtol=1e-5)


def test_evaluate_lists_a_custom_steps_logs_as_keras():
    class TwoLogs(keras.Model):
        def test_step(self, data):
            x, y = data
            return {"zeta": ops.mean(y), "alpha": ops.mean(x)}

    model = _functional(TwoLogs)
    x, y = _data()
    model.compile(optimizer="sgd", loss="mse")
    # not metric names: sorted by name (Keras 3's _flatten_metrics_in_order)
    alpha, zeta = model.evaluate(x, y, batch_size=64, verbose=0)
    np.testing.assert_allclose([alpha, zeta], [x.mean(), y.mean()],
                               rtol=1e-5)
