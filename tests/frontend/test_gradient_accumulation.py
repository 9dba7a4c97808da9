"""Optimizers with `gradient_accumulation_steps` against Keras 3 training
the same model from the same weights (fixtures/make_keras_grad_accum.py),
compiled and run_eagerly: weights, losses, the optimizer's variables (the
accumulators after the averages, before the slots), `iterations` (the
updates) and the learning rate of a schedule (which counts the steps);
an eager `apply` by hand; saving mid-accumulation; the argument's checks.
Also LossScaleOptimizer's skipped step when applied eagerly."""

import os

import numpy as np
import pytest

import graphkeras as keras

F = np.load(os.path.join(os.path.dirname(__file__), "fixtures",
                         "keras_grad_accum.npz"))
INIT = [F[f"init_{i}"] for i in range(4)]
O = keras.optimizers

# name -> (optimizer factory, batch size, epochs), as the fixture's
CASES = {
    "sgd2": (lambda: O.SGD(0.1, gradient_accumulation_steps=2), 4, 2),
    "sgd3_momentum": (lambda: O.SGD(0.05, momentum=0.9, nesterov=True,
                                    gradient_accumulation_steps=3), 4, 2),
    "adam2": (lambda: O.Adam(0.01, gradient_accumulation_steps=2), 4, 3),
    "adamw3_clip": (lambda: O.AdamW(0.01, weight_decay=0.1,
                                    global_clipnorm=0.5,
                                    gradient_accumulation_steps=3), 2, 2),
    "rmsprop_schedule": (lambda: O.RMSprop(
        O.schedules.ExponentialDecay(0.05, 2, 0.5),
        gradient_accumulation_steps=2), 4, 2),
    "sgd_ema": (lambda: O.SGD(0.1, use_ema=True, ema_momentum=0.5,
                              ema_overwrite_frequency=2,
                              gradient_accumulation_steps=2), 4, 2),
}


def _model():
    inp = keras.Input((5,))
    h = keras.layers.Dense(8, activation="tanh", name="hidden")(inp)
    model = keras.Model(inp, keras.layers.Dense(3, name="head")(h))
    model.set_weights(INIT)
    return model


@pytest.mark.parametrize("eager", [False, True])
@pytest.mark.parametrize("name", sorted(CASES))
def test_accumulating_optimizer_trains_as_keras(name, eager):
    make, batch, epochs = CASES[name]
    model, opt = _model(), make()
    model.compile(optimizer=opt, loss="mse", run_eagerly=eager)
    hist = model.fit(F["x"], F["y"], batch_size=batch, epochs=epochs,
                     shuffle=False, verbose=0)
    np.testing.assert_allclose(hist.history["loss"], F[f"{name}_loss"],
                               rtol=2e-5)
    for i, w in enumerate(model.get_weights()):
        np.testing.assert_allclose(w, F[f"{name}_w{i}"], rtol=2e-5,
                                   atol=1e-6, err_msg=f"weight {i}")
    # the same variables in Keras's order, with Keras's values
    names = [p.split("/", 1)[1] for p in F[f"{name}_opt_names"]]
    assert [v.path.split("/", 1)[1] for v in opt.variables] == names
    for i, v in enumerate(opt.variables):
        np.testing.assert_allclose(np.asarray(v), F[f"{name}_opt{i}"],
                                   rtol=2e-5, atol=1e-6, err_msg=names[i])
    assert int(opt.iterations) == int(F[f"{name}_iterations"])
    assert int(opt._iterations) == int(F[f"{name}_raw_iterations"])
    assert opt.learning_rate == pytest.approx(float(F[f"{name}_lr"]))


def test_apply_by_hand_accumulates_then_updates_with_the_mean():
    model = _model()
    opt = O.SGD(0.1, gradient_accumulation_steps=2)
    grads = [np.full(w.shape, 0.5 * (i + 1), "float32")
             for i, w in enumerate(model.trainable_weights)]

    def flat(arrays):
        return np.concatenate([np.ravel(np.asarray(a)) for a in arrays])

    opt.apply(grads, model.trainable_variables)
    np.testing.assert_array_equal(flat(model.get_weights()), F["manual_after1"])
    accs = [opt._accumulators[v.key] for v in model.trainable_variables]
    np.testing.assert_array_equal(flat(accs), F["manual_acc1"])
    opt.apply([g * 3 for g in grads], model.trainable_variables)
    np.testing.assert_allclose(flat(model.get_weights()), F["manual_after2"],
                               rtol=1e-6, atol=1e-7)
    np.testing.assert_array_equal(flat(accs), F["manual_acc2"])
    assert int(opt.iterations) == 1


def test_config_round_trip_and_argument_checks():
    opt = O.Adam(gradient_accumulation_steps=4)
    config = opt.get_config()
    assert config["gradient_accumulation_steps"] == 4
    assert O.Adam.from_config(config).gradient_accumulation_steps == 4
    restored = keras.optimizers.deserialize(keras.optimizers.serialize(opt))
    assert restored.gradient_accumulation_steps == 4
    assert O.SGD().get_config()["gradient_accumulation_steps"] is None
    for bad in (1, 0, -2, 2.5, True, "3"):
        with pytest.raises(ValueError, match=r"`gradient_accumulation_steps` "
                           r"must be an integer >= 2\. Received: "
                           rf"gradient_accumulation_steps={bad}"):
            O.SGD(gradient_accumulation_steps=bad)


def test_saved_mid_accumulation_resumes_the_same(tmp_path):
    """A file written between two updates holds the accumulators: the
    loaded model's next step completes the update as the original's."""
    x, y = F["x"][:12], F["y"][:12]
    model = _model()
    model.compile(optimizer=O.Adam(0.01, gradient_accumulation_steps=2),
                  loss="mse")
    model.fit(x, y, batch_size=4, epochs=1, shuffle=False, verbose=0)
    assert int(model.optimizer._iterations) == 3  # one step accumulated
    path = str(tmp_path / "accumulating.keras")
    model.save(path)
    loaded = keras.saving.load_model(path)
    assert loaded.optimizer.gradient_accumulation_steps == 2
    for m in (model, loaded):
        m.fit(x, y, batch_size=4, epochs=1, shuffle=False, verbose=0)
    for a, b in zip(model.get_weights(), loaded.get_weights()):
        np.testing.assert_array_equal(a, b)
    assert int(loaded.optimizer.iterations) == 3


def test_loss_scale_optimizer_eager_skips_a_non_finite_step():
    """Keras 3: the weights keep their values and the scale halves (the
    values from before were read from arrays the update then overwrote)."""
    v = keras.Variable(np.ones(3, "float32"))
    opt = O.LossScaleOptimizer(O.SGD(0.1))
    opt.apply([np.array([1, np.inf, 1], "float32")], [v])
    np.testing.assert_array_equal(np.asarray(v), np.ones(3, "float32"))
    assert float(opt.dynamic_scale) == 2.0 ** 14
    opt.apply([np.ones(3, "float32")], [v])
    np.testing.assert_allclose(np.asarray(v), 1 - 0.1 / 2.0 ** 14, rtol=1e-7)
