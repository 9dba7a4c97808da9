"""compile / fit / evaluate / predict: numerics against NumPy, History and
log keys, return forms, data sources, reproducibility, errors.

Tests of the training loop's bookkeeping (log keys, return forms, errors,
the progress line) compile with run_eagerly=True: the reference
interpreter runs the same programs without an LLVM compile per program,
which keeps this file fast on a cold compile cache. Numerics, data
sources, multi-output models and program reuse run the default
(compiled) path.
"""

import contextlib
import io
import re

import numpy as np
import pytest

import graphkeras as keras
from graphkeras.layers import Dense, Dropout, Input
from graphkeras.models import Model, Sequential

RNG = np.random.default_rng(2)
X = RNG.normal(size=(40, 5)).astype("float32")
TEACHER = RNG.normal(size=(5, 3))
LABELS = np.argmax(X @ TEACHER, axis=1)
Y = keras.utils.to_categorical(LABELS, 3)


def mlp(seed=0, dropout=0.0):
    keras.utils.set_random_seed(seed)
    layers = [Input((5,)), Dense(4, activation="relu")]
    if dropout:
        layers.append(Dropout(dropout))
    layers.append(Dense(3, activation="softmax"))
    return Sequential(layers)


# --- the train step against a NumPy re-implementation ---------------------------


def numpy_grads(params, x, y):
    """Gradients of mean categorical crossentropy of the 5-4-3 MLP."""
    k0, b0, k1, b1 = params
    h_pre = x @ k0 + b0
    h = np.maximum(h_pre, 0)
    z = h @ k1 + b1
    p = np.exp(z - z.max(1, keepdims=True))
    p /= p.sum(1, keepdims=True)
    loss = -np.mean(np.sum(y * np.log(np.clip(p, 1e-7, 1 - 1e-7)), 1))
    dz = (p - y) / len(x)
    gk1, gb1 = h.T @ dz, dz.sum(0)
    dh = dz @ k1.T * (h_pre > 0)
    return loss, [x.T @ dh, dh.sum(0), gk1, gb1]


def numpy_sgd(params, grads, state, lr=0.1, momentum=0.9):
    out = []
    for i, (p, g) in enumerate(zip(params, grads)):
        m = state.get(i, np.zeros_like(p))
        m = momentum * m - lr * g
        state[i] = m
        out.append(p + m)
    return out


def numpy_adam(params, grads, state, t, lr=0.01, b1=0.9, b2=0.999, eps=1e-7):
    out = []
    alpha = lr * np.sqrt(1 - b2 ** t) / (1 - b1 ** t)
    for i, (p, g) in enumerate(zip(params, grads)):
        m, v = state.get(i, (np.zeros_like(p), np.zeros_like(p)))
        m = m + (g - m) * (1 - b1)
        v = v + (g * g - v) * (1 - b2)
        state[i] = (m, v)
        out.append(p - m * alpha / (np.sqrt(v) + eps))
    return out


@pytest.mark.parametrize("eager", [True, False], ids=["interpreter",
                                                      "compiled"])
@pytest.mark.parametrize("opt", ["sgd", "adam"])
def test_train_steps_match_numpy(opt, eager):
    model = mlp()
    params = [w.astype(np.float64) for w in model.get_weights()]
    optimizer = (keras.optimizers.SGD(0.1, momentum=0.9) if opt == "sgd"
                 else keras.optimizers.Adam(0.01))
    model.compile(optimizer, "categorical_crossentropy", run_eagerly=eager)
    state = {}
    for step in range(1, 4):
        xb, yb = X[step * 8:(step + 1) * 8], Y[step * 8:(step + 1) * 8]
        loss = model.train_on_batch(xb, yb)
        ref_loss, grads = numpy_grads(params, xb.astype(np.float64), yb)
        params = (numpy_sgd(params, grads, state) if opt == "sgd"
                  else numpy_adam(params, grads, state, step))
        if step == 1:
            np.testing.assert_allclose(loss, ref_loss, rtol=1e-5)
    for got, want in zip(model.get_weights(), params):
        np.testing.assert_allclose(got, want, rtol=2e-4, atol=2e-6)
    assert int(model.optimizer.iterations.numpy()) == 3


def test_fit_decreases_loss_and_history_keys():
    model = mlp()
    model.compile("adam", "categorical_crossentropy", metrics=["accuracy"])
    h = model.fit(X, Y, epochs=6, batch_size=8, validation_split=0.25,
                  verbose=0)
    assert list(h.history) == ["accuracy", "loss", "val_accuracy", "val_loss"]
    assert h.epoch == list(range(6))
    assert h.history["loss"][-1] < h.history["loss"][0]
    assert model.history is h


def test_evaluate_return_forms():
    model = mlp()
    model.compile("sgd", "categorical_crossentropy", run_eagerly=True)
    loss = model.evaluate(X, Y, verbose=0)
    assert isinstance(loss, float)
    model.compile("sgd", "categorical_crossentropy", metrics=["accuracy"], run_eagerly=True)
    res = model.evaluate(X, Y, verbose=0)
    assert isinstance(res, list) and len(res) == 2
    np.testing.assert_allclose(res[0], loss, rtol=1e-6)
    d = model.evaluate(X, Y, verbose=0, return_dict=True)
    assert d == {"accuracy": res[1], "loss": res[0]}
    # accuracy is computed over the whole set, in batches of 32
    pred = model.predict(X, verbose=0)
    np.testing.assert_allclose(res[1], np.mean(pred.argmax(1) == LABELS))


def test_loss_is_the_sample_weighted_mean_over_batches():
    model = mlp()
    model.compile("sgd", "categorical_crossentropy", run_eagerly=True)
    pred = model.predict(X, verbose=0)
    ref = -np.mean(np.sum(Y * np.log(np.clip(pred, 1e-7, 1 - 1e-7)), 1))
    np.testing.assert_allclose(model.evaluate(X, Y, batch_size=7, verbose=0),
                               ref, rtol=1e-5)
    w = RNG.uniform(0.5, 2, size=len(X)).astype("float32")
    wl = model.evaluate(X, Y, sample_weight=w, batch_size=40, verbose=0)
    per = -np.sum(Y * np.log(np.clip(pred, 1e-7, 1 - 1e-7)), 1)
    np.testing.assert_allclose(wl, np.sum(per * w) / len(X), rtol=1e-5)


@pytest.mark.parametrize("labels,loss,metric", [
    ("onehot", "categorical_crossentropy", "categorical_accuracy"),
    ("int", "sparse_categorical_crossentropy", "sparse_categorical_accuracy"),
    ("int_col", "sparse_categorical_crossentropy",
     "sparse_categorical_accuracy"),
])
def test_accuracy_resolves_like_keras(labels, loss, metric):
    y = {"onehot": Y, "int": LABELS, "int_col": LABELS[:, None]}[labels]
    model = mlp()
    model.compile("sgd", loss, metrics=["accuracy"], run_eagerly=True)
    model.evaluate(X, y, verbose=0)
    (acc,) = model._compile_metrics.metrics
    assert acc.name == "accuracy" and acc._fn.__name__ == metric
    model2 = Sequential([Input((5,)), Dense(1, activation="sigmoid")])
    model2.compile("sgd", "binary_crossentropy", metrics=["acc"], run_eagerly=True)
    model2.evaluate(X, (LABELS == 1).astype("float32"), verbose=0)
    (acc2,) = model2._compile_metrics.metrics
    assert acc2.name == "acc" and acc2._fn.__name__ == "binary_accuracy"


def test_set_random_seed_reproduces_weights_and_history():
    runs = []
    for _ in range(2):
        model = mlp(seed=7, dropout=0.3)
        model.compile("adam", "categorical_crossentropy")
        h = model.fit(X, Y, epochs=2, batch_size=8, verbose=0)
        runs.append((model.get_weights(), h.history["loss"]))
    for a, b in zip(runs[0][0], runs[1][0]):
        np.testing.assert_array_equal(a, b)
    assert runs[0][1] == runs[1][1]
    other = mlp(seed=8)
    assert not np.array_equal(other.get_weights()[0], runs[0][0][0])


def test_validation_split_takes_the_last_samples():
    seen = []

    class Spy(keras.callbacks.Callback):
        def on_test_begin(self, logs=None):
            seen.append("test")

    model = mlp()
    model.compile("sgd", "categorical_crossentropy", run_eagerly=True)
    h = model.fit(X, Y, epochs=1, validation_split=0.25, verbose=0,
                  callbacks=[Spy()], shuffle=False)
    # validation on the last 10 samples, with the weights after the epoch
    assert seen == ["test"]
    np.testing.assert_allclose(h.history["val_loss"][0],
                               model.evaluate(X[30:], Y[30:], verbose=0),
                               rtol=1e-6)


def test_sample_weight_zero_ignores_samples_and_class_weight():
    model = mlp()
    model.compile("sgd", "categorical_crossentropy", run_eagerly=True)
    w0 = model.get_weights()
    sw = np.zeros(len(X), "float32")
    model.fit(X, Y, sample_weight=sw, epochs=1, verbose=0)
    for a, b in zip(w0, model.get_weights()):
        np.testing.assert_array_equal(a, b)
    cw = {0: 0.0, 1: 0.0, 2: 0.0}
    model.fit(X, Y, class_weight=cw, epochs=1, verbose=0)
    for a, b in zip(w0, model.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_generators_and_pydataset():
    def gen():
        while True:
            for i in range(0, 40, 10):
                yield X[i:i + 10], Y[i:i + 10]

    class DS(keras.utils.PyDataset):
        def __len__(self):
            return 4

        def __getitem__(self, i):
            return X[i * 10:(i + 1) * 10], Y[i * 10:(i + 1) * 10]

    model = mlp()
    model.compile("sgd", "categorical_crossentropy", metrics=["accuracy"])
    h = model.fit(gen(), steps_per_epoch=4, epochs=2, verbose=0,
                  validation_data=DS())
    assert len(h.history["val_loss"]) == 2
    ev = model.evaluate(DS(), verbose=0)
    np.testing.assert_allclose(ev, model.evaluate(X, Y, verbose=0), rtol=1e-5)
    pred = model.predict(DS(), verbose=0)
    assert pred.shape == (40, 3)


def test_initial_epoch_validation_freq_and_stop_training():
    class Stop(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            if epoch == 3:
                self.model.stop_training = True

    model = mlp()
    model.compile("sgd", "categorical_crossentropy", run_eagerly=True)
    h = model.fit(X, Y, epochs=10, initial_epoch=2, validation_data=(X, Y),
                  validation_freq=2, callbacks=[Stop()], verbose=0)
    assert h.epoch == [2, 3]
    assert len(h.history["loss"]) == 2 and len(h.history["val_loss"]) == 1


def test_early_stopping():
    model = mlp()
    model.compile(keras.optimizers.SGD(0.0), "categorical_crossentropy", run_eagerly=True)
    cb = keras.callbacks.EarlyStopping(monitor="loss", patience=2)
    h = model.fit(X, Y, epochs=20, callbacks=[cb], verbose=0)
    assert len(h.epoch) == 3 and cb.stopped_epoch == 2


def test_programs_are_reused_and_rebuilt_only_on_change():
    model = mlp()
    model.compile("adam", "categorical_crossentropy")
    model.fit(X, Y, epochs=2, batch_size=7, verbose=0)  # ragged last batch
    assert len(model._steps) == 1
    model.fit(X, Y, epochs=1, batch_size=16, verbose=0)
    assert len(model._steps) == 1
    model.layers[0].trainable = False
    frozen = model.layers[0].get_weights()
    model.fit(X, Y, epochs=1, verbose=0)
    assert len(model._steps) == 2
    for a, b in zip(frozen, model.layers[0].get_weights()):
        np.testing.assert_array_equal(a, b)


def test_learning_rate_is_state_not_a_recompile():
    model = mlp()
    model.compile(keras.optimizers.SGD(0.1), "categorical_crossentropy", run_eagerly=True)
    model.fit(X, Y, epochs=1, verbose=0)
    model.optimizer.learning_rate = 0.0
    w = model.get_weights()
    model.fit(X, Y, epochs=1, verbose=0)
    assert len(model._steps) == 1
    for a, b in zip(w, model.get_weights()):
        np.testing.assert_array_equal(a, b)


# --- progress bar ------------------------------------------------------------


def _fit_output(verbose, epochs=2):
    model = mlp()
    model.compile("sgd", "categorical_crossentropy", metrics=["accuracy"], run_eagerly=True)
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        model.fit(X, Y, batch_size=8, epochs=epochs, verbose=verbose)
    return buf.getvalue()


def test_progress_bar_verbose_1():
    out = _fit_output(1)
    assert out.startswith("Epoch 1/2\n")
    final = [seg for seg in out.split("\n") if seg][1].split("\r")[-1]
    assert re.fullmatch(r"5/5 ━{20} \d+s \d+(ms|us|s)/step - accuracy: "
                        r"\d\.\d{4} - loss: \d\.\d{4} *", final), final


def test_progress_bar_verbose_2_and_silent():
    lines = _fit_output(2).splitlines()
    assert lines[0] == "Epoch 1/2"
    assert re.fullmatch(r"5/5 - \d+s - \d+(ms|us|s)/step - accuracy: "
                        r"\d\.\d{4} - loss: \d\.\d{4}", lines[1]), lines[1]
    assert _fit_output(0) == ""


# --- errors -------------------------------------------------------------------


def test_fit_before_compile():
    with pytest.raises(ValueError, match=r"You must call `compile\(\)` before"):
        mlp().fit(X, Y)


def test_incompatible_data_shape_names_model_and_input():
    model = mlp()
    model.compile("sgd", "categorical_crossentropy", run_eagerly=True)
    with pytest.raises(ValueError, match=r'Input 0 of layer "sequential\w*" is '
                       r"incompatible with the layer: expected shape=\(None, "
                       r"5\), found shape=\(None, 4\)"):
        model.fit(X[:, :4], Y, verbose=0)


def test_targets_must_fit_the_output():
    model = mlp()
    model.compile("sgd", "categorical_crossentropy", run_eagerly=True)
    with pytest.raises(ValueError, match=r"expected targets of shape "
                       r"\(None, 3\), received targets of shape \(None, 1\).*"
                       r"sparse_categorical_crossentropy"):
        model.fit(X, LABELS[:, None], verbose=0)
    model.compile("sgd", "mse", run_eagerly=True)
    with pytest.raises(ValueError, match="does not fit output"):
        model.fit(X, Y[:, :2], verbose=0)


def test_unknown_identifiers_list_valid_ones():
    model = mlp()
    with pytest.raises(ValueError, match=r"Unknown optimizer: 'adamm'.*'adam'"):
        model.compile("adamm", "mse", run_eagerly=True)
    with pytest.raises(ValueError, match=r"Unknown loss: 'msee'.*'mse'"):
        model.compile("adam", "msee", run_eagerly=True)
        model.fit(X, Y, verbose=0)
    model.compile("adam", "mse", metrics=["acuracy"], run_eagerly=True)
    with pytest.raises(ValueError, match=r"Unknown metric: 'acuracy'"):
        model.fit(X, Y, verbose=0)


def test_cardinality_error():
    model = mlp()
    model.compile("sgd", "mse", run_eagerly=True)
    with pytest.raises(ValueError, match="Data cardinality is ambiguous"):
        model.fit(X, Y[:30], verbose=0)


def test_multi_output_lists_and_names():
    x = Input((5,))
    h = Dense(4, activation="relu")(x)
    o1 = Dense(3, activation="softmax")(h)
    o2 = Dense(1)(h)
    model = Model(x, [o1, o2])
    n1, n2 = model.output_names
    model.compile("adam", ["categorical_crossentropy", "mse"],
                  metrics=[["accuracy"], ["mae"]])
    h = model.fit(X, [Y, X[:, :1]], epochs=1, verbose=0, validation_split=0.2)
    assert list(h.history) == sorted(
        [f"{n1}_accuracy", f"{n1}_loss", f"{n2}_loss", f"{n2}_mae", "loss"]
        + [f"val_{k}" for k in (f"{n1}_accuracy", f"{n1}_loss", f"{n2}_loss",
                                f"{n2}_mae", "loss")])
    res = model.evaluate(X, [Y, X[:, :1]], verbose=0)
    d = model.evaluate(X, [Y, X[:, :1]], verbose=0, return_dict=True)
    assert res == [d["loss"], d[f"{n1}_loss"], d[f"{n2}_loss"],
                   d[f"{n1}_accuracy"], d[f"{n2}_mae"]]
    with pytest.raises(ValueError, match="2 output"):
        model.fit(X, Y, verbose=0)


def test_predict_on_batch_and_test_on_batch():
    model = mlp()
    model.compile("sgd", "categorical_crossentropy", metrics=["accuracy"], run_eagerly=True)
    np.testing.assert_allclose(model.predict_on_batch(X),
                               model.predict(X, verbose=0), rtol=1e-6)
    loss, acc = model.test_on_batch(X, Y)
    np.testing.assert_allclose([loss, acc], model.evaluate(X, Y, verbose=0,
                                                           batch_size=40),
                               rtol=1e-6)


def test_steps_per_execution_gives_the_same_training():
    weights = []
    for k in (1, 3):
        model = mlp()
        model.compile("adam", "categorical_crossentropy", steps_per_execution=k)
        seen = []

        class Spy(keras.callbacks.Callback):
            def on_train_batch_end(self, batch, logs=None, seen=seen):
                seen.append(batch)

        model.fit(X, Y, batch_size=6, epochs=1, shuffle=False, verbose=0,
                  callbacks=[Spy()])
        weights.append(model.get_weights())
        assert seen == ([0, 1, 2, 3, 4, 5, 6] if k == 1 else [2, 5, 6])
    for a, b in zip(*weights):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)
