"""Callbacks: every hook at Keras 3's moments with Keras's logs, and the
logic of EarlyStopping, ReduceLROnPlateau, LearningRateScheduler,
ModelCheckpoint, CSVLogger, TerminateOnNaN and LambdaCallback."""

import csv
import os

import numpy as np
import pytest

import graphkeras as keras
from graphkeras import callbacks, ops
from graphkeras.layers import Dense, Input
from graphkeras.models import Sequential

RNG = np.random.default_rng(5)
X = RNG.normal(size=(8, 3)).astype("float32")
Y = RNG.normal(size=(8, 1)).astype("float32")

HOOKS = ["on_train_begin", "on_train_end", "on_epoch_begin", "on_epoch_end",
         "on_train_batch_begin", "on_train_batch_end", "on_test_begin",
         "on_test_end", "on_test_batch_begin", "on_test_batch_end",
         "on_predict_begin", "on_predict_end", "on_predict_batch_begin",
         "on_predict_batch_end", "on_batch_begin", "on_batch_end"]


class Recorder(callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.calls = []


def _recording_hook(name):
    base = getattr(callbacks.Callback, name)

    def hook(self, *args, logs=None):
        if logs is None:
            *args, logs = args
        index = f"{args[0]}" if args else ""
        self.calls.append(f"{name}({index}){sorted(logs)}")
        return base(self, *args, logs=logs)

    return hook


for _name in HOOKS:
    setattr(Recorder, _name, _recording_hook(_name))


def _model(eager=True, metrics=("mae",), optimizer=None):
    model = Sequential([Input((3,)), Dense(1)])
    model.set_weights([np.ones((3, 1), "float32"), np.zeros(1, "float32")])
    model.compile(optimizer or keras.optimizers.SGD(0.01), "mse",
                  metrics=list(metrics), run_eagerly=eager)
    return model


def test_every_hook_at_keras_moments_with_keras_logs():
    rec = Recorder()
    model = _model()
    model.fit(X, Y, batch_size=4, epochs=2, validation_data=(X[:4], Y[:4]),
              callbacks=[rec], verbose=0)
    model.evaluate(X, Y, batch_size=4, callbacks=[rec], verbose=0)
    model.predict(X, batch_size=4, callbacks=[rec], verbose=0)
    m = "['loss', 'mae']"
    val = "['loss', 'mae', 'val_loss', 'val_mae']"

    def train_batch(i):
        return [f"on_train_batch_begin({i})[]", f"on_batch_begin({i})[]",
                f"on_train_batch_end({i}){m}", f"on_batch_end({i}){m}"]

    def epoch(e):
        return ([f"on_epoch_begin({e})[]"] + train_batch(0) + train_batch(1)
                + ["on_test_begin()[]", "on_test_batch_begin(0)[]",
                   f"on_test_batch_end(0){m}", f"on_test_end(){m}",
                   f"on_epoch_end({e}){val}"])

    expected = (["on_train_begin()[]"] + epoch(0) + epoch(1)
                + [f"on_train_end(){val}"]
                + ["on_test_begin()[]", "on_test_batch_begin(0)[]",
                   f"on_test_batch_end(0){m}", "on_test_batch_begin(1)[]",
                   f"on_test_batch_end(1){m}", f"on_test_end(){m}"]
                + ["on_predict_begin()[]", "on_predict_batch_begin(0)[]",
                   "on_predict_batch_end(0)['outputs']",
                   "on_predict_batch_begin(1)[]",
                   "on_predict_batch_end(1)['outputs']", "on_predict_end()[]"])
    assert rec.calls == expected
    assert rec.params == {"verbose": 0, "epochs": 1, "steps": 2}
    assert model.history.history["loss"]


def test_stop_training_from_a_batch_hook():
    class StopAfterOne(callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            self.model.stop_training = True

    model = _model()
    rec = Recorder()
    h = model.fit(X, Y, batch_size=2, epochs=5, callbacks=[StopAfterOne(), rec],
                  verbose=0)
    assert h.epoch == [0]
    assert sum(c.startswith("on_train_batch_end") for c in rec.calls) == 1


class _FakeModel:
    """Enough of a model for the monitoring logic: weights are the epoch
    number the callback last saw."""

    def __init__(self, metrics=()):
        self.stop_training = False
        self.weights_value = 0
        self.metrics = list(metrics)

    def get_weights(self):
        return [self.weights_value]

    def set_weights(self, w):
        self.weights_value = w[0]


def _run_monitor(cb, values, key="val_loss", model=None):
    model = model or _FakeModel()
    cb.set_model(model)
    cb.on_train_begin({})
    stopped_at = None
    for epoch, v in enumerate(values):
        model.weights_value = epoch
        cb.on_epoch_end(epoch, {key: v})
        if model.stop_training:
            stopped_at = epoch
            break
    cb.on_train_end({})
    return model, stopped_at


def test_early_stopping_patience_min_delta_baseline_and_start():
    _, stop = _run_monitor(callbacks.EarlyStopping(patience=2),
                           [1.0, 0.9, 0.95, 0.93, 0.5])
    assert stop == 3  # two epochs without beating 0.9
    _, stop = _run_monitor(callbacks.EarlyStopping(patience=1, min_delta=0.2),
                           [1.0, 0.85, 0.7])
    assert stop == 1  # 0.85 is not better by 0.2
    # baseline: improvements that do not beat it do not reset the wait
    _, stop = _run_monitor(callbacks.EarlyStopping(patience=2, baseline=0.5),
                           [1.0, 0.9, 0.95])
    assert stop == 2
    _, stop = _run_monitor(callbacks.EarlyStopping(patience=2),
                           [1.0, 0.9, 0.95])
    assert stop is None
    # nothing is monitored before start_from_epoch
    _, stop = _run_monitor(
        callbacks.EarlyStopping(patience=0, start_from_epoch=3),
        [1.0, 2.0, 3.0, 4.0, 5.0])
    assert stop == 4
    # accuracy-like metrics (direction "up") are maximized in auto mode
    acc = keras.metrics.Accuracy()
    _, stop = _run_monitor(callbacks.EarlyStopping(monitor="val_accuracy",
                                                   patience=1),
                           [0.5, 0.6, 0.55], key="val_accuracy",
                           model=_FakeModel([acc]))
    assert stop == 2


def test_early_stopping_restores_best_weights():
    model, stop = _run_monitor(
        callbacks.EarlyStopping(patience=2, restore_best_weights=True),
        [1.0, 0.4, 0.6, 0.7, 0.1])
    assert stop == 3 and model.weights_value == 1
    real = _model()
    es = callbacks.EarlyStopping(monitor="loss", patience=1,
                                 restore_best_weights=True, min_delta=100.0)
    real.fit(X, Y, epochs=5, callbacks=[es], verbose=0)
    assert es.stopped_epoch == 1 and es.best_epoch == 0


def test_monitor_needs_a_mode_for_unknown_metrics():
    with pytest.raises(ValueError, match="mode='max'"):
        _run_monitor(callbacks.EarlyStopping(monitor="val_custom"), [1.0],
                     key="val_custom")
    with pytest.warns(UserWarning, match="which is not available"):
        _run_monitor(callbacks.EarlyStopping(), [1.0], key="loss")


def test_reduce_lr_on_plateau_cooldown_and_min_lr():
    model = _model(optimizer=keras.optimizers.SGD(1.0))
    cb = callbacks.ReduceLROnPlateau(monitor="val_loss", factor=0.5,
                                     patience=1, cooldown=2, min_lr=0.2)
    cb.set_model(model)
    cb.on_train_begin({})
    lrs, logged = [], []
    for epoch, v in enumerate([1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0]):
        logs = {"val_loss": v}
        cb.on_epoch_end(epoch, logs)
        logged.append(logs["learning_rate"])
        lrs.append(model.optimizer.learning_rate)
    # reduce after 1 stale epoch; the cooldown counts down from the next
    # epoch on (Keras's order), so 2 means one epoch skipped; floor at 0.2
    assert lrs == pytest.approx([1.0, 0.5, 0.5, 0.25, 0.25, 0.2, 0.2])
    assert logged == pytest.approx([1.0, 1.0, 0.5, 0.5, 0.25, 0.25, 0.2])
    with pytest.raises(ValueError, match="factor >= 1.0"):
        callbacks.ReduceLROnPlateau(factor=2)


def test_learning_rate_scheduler_sets_the_rate_each_epoch():
    seen = []

    def schedule(epoch, lr):
        seen.append(lr)
        return 0.1 / (epoch + 1)

    model = _model(optimizer=keras.optimizers.SGD(0.5))
    w0 = model.get_weights()[0].astype(np.float64)
    h = model.fit(X, Y, batch_size=8, epochs=3, shuffle=False, verbose=0,
                  callbacks=[callbacks.LearningRateScheduler(schedule)])
    assert seen == pytest.approx([0.5, 0.1, 0.05])
    assert h.history["learning_rate"] == pytest.approx([0.1, 0.05, 0.1 / 3])
    w, b = w0, 0.0
    for lr in (0.1, 0.05, 0.1 / 3):
        err = X @ w + b - Y
        w, b = w - lr * 2 * X.T @ err / len(X), b - lr * 2 * err.mean()
    np.testing.assert_allclose(model.get_weights()[0], w, rtol=1e-5)
    with pytest.raises(ValueError, match="should be a float"):
        model.fit(X, Y, epochs=1, verbose=0, callbacks=[
            callbacks.LearningRateScheduler(lambda e: "fast")])


def test_csv_logger_writes_history(tmp_path):
    path = tmp_path / "log.csv"
    model = _model()
    h = model.fit(X, Y, epochs=2, validation_split=0.25, verbose=0,
                  callbacks=[callbacks.CSVLogger(str(path))])
    with open(path) as f:
        rows = list(csv.DictReader(f))
    assert list(rows[0]) == ["epoch", "loss", "mae", "val_loss", "val_mae"]
    assert [float(r["val_loss"]) for r in rows] == pytest.approx(
        h.history["val_loss"])
    model.fit(X, Y, epochs=1, verbose=0,
              callbacks=[callbacks.CSVLogger(str(path), append=True)])
    with open(path) as f:
        assert len(f.read().strip().splitlines()) == 4  # one header


def test_terminate_on_nan_and_lambda_callback():
    def nan_loss(y_true, y_pred):
        return ops.sqrt(ops.subtract(ops.abs(y_pred), 1e3))

    model = Sequential([Input((3,)), Dense(1)])
    model.compile("sgd", nan_loss, run_eagerly=True)
    epochs = []
    h = model.fit(X, Y, batch_size=2, epochs=3, verbose=0, callbacks=[
        callbacks.TerminateOnNaN(),
        callbacks.LambdaCallback(on_epoch_end=lambda e, logs: epochs.append(e))])
    assert h.epoch == [0] and epochs == [0] and np.isnan(h.history["loss"][0])
    with pytest.raises(RuntimeError, match="NaN or Inf loss"):
        model.fit(X, Y, verbose=0,
                  callbacks=[callbacks.TerminateOnNaN(raise_error=True)])


def test_model_checkpoint_saves_best_and_formats_names(tmp_path):
    model = _model()
    best = str(tmp_path / "best.weights.h5")
    cb = callbacks.ModelCheckpoint(best, save_best_only=True,
                                   save_weights_only=True)
    cb.set_model(model)
    cb.on_train_begin({})
    saved = []
    for epoch, v in enumerate([1.0, 0.5, 0.7]):
        if os.path.exists(best):
            os.remove(best)
        model.set_weights([np.full((3, 1), epoch, "float32"),
                           np.zeros(1, "float32")])
        cb.on_epoch_end(epoch, {"val_loss": v})
        saved.append(os.path.exists(best))
    assert saved == [True, True, False]
    pattern = str(tmp_path / "m.{epoch:02d}-{loss:.2f}.keras")
    model.fit(X, Y, epochs=2, verbose=0,
              callbacks=[callbacks.ModelCheckpoint(pattern)])
    names = sorted(os.listdir(tmp_path))
    assert len([n for n in names if n.startswith("m.01-")]) == 1
    assert len([n for n in names if n.startswith("m.02-")]) == 1
    restored = keras.models.load_model(str(tmp_path / next(
        n for n in names if n.startswith("m.02-"))))
    np.testing.assert_allclose(restored.get_weights()[0],
                               model.get_weights()[0])
    with pytest.raises(ValueError, match="must end in `.weights.h5`"):
        callbacks.ModelCheckpoint("w.h5", save_weights_only=True)
    with pytest.raises(ValueError, match="must end in `.keras`"):
        callbacks.ModelCheckpoint("model.ckpt")


def test_model_checkpoint_every_n_batches(tmp_path):
    path = str(tmp_path / "b{epoch}-{batch}.weights.h5")
    model = _model()
    model.fit(X, Y, batch_size=2, epochs=2, verbose=0, callbacks=[
        callbacks.ModelCheckpoint(path, save_weights_only=True, save_freq=3)])
    assert sorted(os.listdir(tmp_path)) == ["b1-3.weights.h5",
                                            "b2-2.weights.h5"]


def test_batch_logs_only_for_callbacks_that_read_them():
    """fit computes a batch's logs only when a callback defines a batch-end
    hook (callback_list.reads_batch_logs); the epochs' logs are the same
    either way."""
    from graphkeras.frontend.callbacks.callback_list import CallbackList

    class Epochs(callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            pass

    class Batches(callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.seen = []

        def on_batch_end(self, batch, logs=None):
            self.seen.append(dict(logs))

    assert not CallbackList([Epochs()], add_history=True).reads_batch_logs()
    assert CallbackList([Batches()]).reads_batch_logs()
    assert not CallbackList([Batches()]).reads_batch_logs("test")
    runs = []
    for cbs in ([Epochs()], [Batches()]):
        model = _model(eager=False)
        hist = model.fit(X, Y, batch_size=4, epochs=2, callbacks=cbs,
                         verbose=0, shuffle=False)
        runs.append(hist.history)
    assert runs[0] == runs[1] and runs[0]["loss"]
    seen = cbs[0].seen
    assert len(seen) == 4 and sorted(seen[-1]) == ["loss", "mae"]
    assert seen[-1]["loss"] == runs[1]["loss"][-1]
