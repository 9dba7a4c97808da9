"""The scenarios of the MPI tests, run as `mpiexec -n 2 python
mpi_worker.py SCENARIO OUT_DIR` by test_mpi.py (each rank writes
OUT_DIR/rank{R}.npz) and, for the one-process references, imported by
test_mpi.py itself (`run(name, distributed=False)`).

Each scenario builds its model from a seed that differs per rank under
mpiexec: the ranks agree only because DataParallel broadcasts rank 0's
weights before the first step.
"""

from __future__ import annotations

import os
import sys

import numpy as np

import graphkeras as keras
from graphkeras import distribution

# the last batch of 32 has 1 sample: rank 0's slice is empty; validation,
# evaluate and predict end with uneven batches (2 + 3, 10 + 11, 2 + 3)
SAMPLES = 97


def _data(features=8, classes=3, n=SAMPLES):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(n, features)).astype("float32")
    y = rng.integers(0, classes, n)
    return x, y


def _model(seed, bn=None, features=8, width=16, noise=False):
    keras.utils.set_random_seed(seed)
    layers = [keras.Input((features,))]
    if noise:  # random numbers over the batch: each rank draws its rows
        layers.append(keras.layers.GaussianNoise(0.3))
    layers.append(keras.layers.Dense(width, activation="relu"))
    if noise:
        layers.append(keras.layers.Dropout(0.5))
    if bn is not None:
        layers.append(keras.layers.BatchNormalization(synchronized=bn))
    layers.append(keras.layers.Dense(3, activation="softmax"))
    return keras.Sequential(layers)


def _flat(model) -> dict:
    return {f"w{i}": w for i, w in enumerate(model.get_weights())}


def training(optimizer, bn=None, rank=0, steps_per_execution=1,
             noise=False):
    """Three epochs, shuffled, a validation set, uneven last batches."""
    x, y = _data()
    model = _model(1 + 100 * rank, bn, noise=noise)
    # one process: the same global rng state as rank 0 after building
    keras.utils.set_random_seed(7)
    model.compile(optimizer, "sparse_categorical_crossentropy",
                  metrics=["accuracy"], steps_per_execution=steps_per_execution)
    hist = model.fit(x, y, batch_size=32, epochs=3, shuffle=True, verbose=0,
                     validation_data=(x[:37], y[:37]))
    out = _flat(model)
    for k, v in hist.history.items():
        out["h_" + k] = np.asarray(v)
    out["evaluate"] = np.asarray(model.evaluate(x, y, batch_size=40,
                                                verbose=0))
    out["predict"] = model.predict(x[:45], batch_size=20, verbose=0)
    return out


def streams(rank=0):
    """A generator and a PyDataset yield global batches (of 32, 32, 32 and
    1 samples); each rank keeps its slice."""
    x, y = _data()

    class Batches(keras.utils.PyDataset):
        def __len__(self):
            return 4

        def __getitem__(self, i):
            return x[32 * i:32 * (i + 1)], y[32 * i:32 * (i + 1)]

    def generator():
        while True:
            for i in range(4):
                yield x[32 * i:32 * (i + 1)], y[32 * i:32 * (i + 1)]

    out = {}
    for name, data in (("gen", generator()), ("pyds", Batches())):
        model = _model(1 + 100 * rank)
        model.compile(keras.optimizers.SGD(0.1), "sparse_categorical_crossentropy",
                      metrics=["accuracy"])
        h = model.fit(data, epochs=2, steps_per_epoch=4, verbose=0)
        for i, w in enumerate(model.get_weights()):
            out[f"{name}_w{i}"] = w
        out[f"{name}_loss"] = np.asarray(h.history["loss"])
        out[f"{name}_predict"] = model.predict(Batches(), verbose=0)
    return out


class TapeModel(keras.Model):
    """Keras's "customizing fit" train step, overridden."""

    def train_step(self, data):
        x, y = data
        with keras.GradientTape() as tape:
            y_pred = self(x, training=True)
            loss = self.compute_loss(y=y, y_pred=y_pred)
        grads = tape.gradient(loss, self.trainable_variables)
        self.optimizer.apply(grads, self.trainable_variables)
        for metric in self.metrics:
            if metric.name == "loss":
                metric.update_state(loss)
            else:
                metric.update_state(y, y_pred)
        return {m.name: m.result() for m in self.metrics}


def custom_step(rank=0):
    """An overridden train_step: its gradients are averaged over the
    ranks' samples by Optimizer.apply, its metrics summed (batches split
    evenly here: the loss tracker of this step averages per-batch means)."""
    x, y = _data(n=96)
    keras.utils.set_random_seed(1 + 100 * rank)
    inp = keras.Input((8,))
    out = keras.layers.Dense(3, activation="softmax")(
        keras.layers.Dense(16, activation="relu")(inp))
    model = TapeModel(inp, out)
    model.compile(keras.optimizers.Adam(0.01),
                  "sparse_categorical_crossentropy", metrics=["accuracy"])
    h = model.fit(x, y, batch_size=32, epochs=2, shuffle=False, verbose=0)
    out = _flat(model)
    for k, v in h.history.items():
        out["h_" + k] = np.asarray(v)
    return out


def plain_bn_moments(rank=0, size=1):
    """One step of a BatchNormalization on the inputs: each rank's moving
    mean moves towards the mean of its own slice."""
    rng = np.random.default_rng(3)
    x = rng.normal(2.0, 1.0, size=(10, 4)).astype("float32")
    keras.utils.set_random_seed(5)
    model = keras.Sequential([keras.Input((4,)),
                              keras.layers.BatchNormalization(),
                              keras.layers.Dense(1)])
    model.compile("sgd", "mse")
    model.fit(x, np.zeros((10, 1), "float32"), batch_size=10, epochs=1,
              shuffle=False, verbose=0)
    return {"moving_mean": model.layers[0].moving_mean.numpy(),
            "x": x}


def callbacks(tmp, rank=0):
    """EarlyStopping stops every rank at the same epoch; a callback that
    wants to stop on rank 1 only is overruled by rank 0; only rank 0
    writes the CSV log, the checkpoint and the saved model."""
    x, y = _data()
    out_dir = os.path.join(tmp, f"files{rank}")
    os.makedirs(out_dir, exist_ok=True)

    class StopOnRank1(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            if rank == 1 and epoch == 0:
                self.model.stop_training = True

    model = _model(1 + 100 * rank)
    model.compile("sgd", "sparse_categorical_crossentropy")
    h1 = model.fit(x, y, batch_size=16, epochs=3, verbose=0,
                   callbacks=[StopOnRank1()])
    model = _model(1 + 100 * rank)
    model.compile("sgd", "sparse_categorical_crossentropy")
    stop = keras.callbacks.EarlyStopping(monitor="loss", min_delta=10.0,
                                         patience=1)
    h2 = model.fit(x, y, batch_size=16, epochs=10, verbose=0, callbacks=[
        stop, keras.callbacks.CSVLogger(os.path.join(out_dir, "log.csv")),
        keras.callbacks.ModelCheckpoint(os.path.join(out_dir,
                                                     "ckpt.weights.h5"),
                                        save_weights_only=True)])
    model.save(os.path.join(out_dir, "model.keras"))
    # BackupAndRestore: rank 0 backs up, every rank resumes from it
    backup = os.path.join(tmp, "backup")
    model = _model(1 + 100 * rank)
    model.compile("sgd", "sparse_categorical_crossentropy")
    model.fit(x, y, batch_size=16, epochs=2, verbose=0, callbacks=[
        keras.callbacks.BackupAndRestore(backup, delete_checkpoint=False)])
    h3 = model.fit(x, y, batch_size=16, epochs=3, verbose=0, callbacks=[
        keras.callbacks.BackupAndRestore(backup)])
    return {"epochs_resumed": np.asarray(len(h3.history["loss"])),
            "backup_left": np.asarray(os.path.exists(backup)),
            "epochs_overruled": np.asarray(len(h1.history["loss"])),
            "epochs_early": np.asarray(len(h2.history["loss"])),
            "loss_early": np.asarray(h2.history["loss"]),
            "files": np.asarray(sorted(os.listdir(out_dir)) or [""])}


def mismatch(rank=0):
    """Ranks that disagree: batches of other shapes, then other models.
    Each error is raised on every rank, which records it."""
    out = {}
    keras.utils.set_random_seed(0)
    inp = keras.Input((None, 4))
    model = keras.Model(inp, keras.layers.Dense(2)(
        keras.layers.GlobalAveragePooling1D()(inp)))
    model.compile("sgd", "mse")
    x = np.ones((4, 5 + rank, 4), "float32")
    try:
        model.fit(x, np.zeros((4, 2), "float32"), verbose=0)
    except ValueError as e:
        out["shapes"] = np.asarray(str(e))
    model = _model(0, width=16 + rank)
    model.compile("sgd", "sparse_categorical_crossentropy")
    x, y = _data()
    try:
        model.fit(x, y, verbose=0)
    except ValueError as e:
        out["models"] = np.asarray(str(e))
    return out


def fault(kind, rank=0):
    """kind "raise": rank 1 raises in its second epoch; "die": rank 1 is
    killed; "stall": rank 1 skips the training the other rank runs."""
    x, y = _data()
    model = _model(0)
    model.compile("sgd", "sparse_categorical_crossentropy")

    class Fail(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            if rank == 1 and epoch == 1:
                if kind == "raise":
                    raise RuntimeError("rank 1 fails on purpose")
                os.kill(os.getpid(), 9)

    if kind == "stall":
        model.fit(x, y, epochs=1, verbose=0)
        if rank == 0:
            model.fit(x, y, epochs=1, verbose=0)
        return {}
    model.fit(x, y, epochs=3, verbose=0, callbacks=[Fail()])
    return {}


def run(name: str, tmp: str, distributed: bool) -> dict:
    rank, size = 0, 1
    if distributed:
        from graphkeras.frontend.distribution import process_index

        distribution.set_distribution(distribution.DataParallel())
        rank, size = process_index(), len(distribution.list_devices())
    if name == "sgd":
        return training(keras.optimizers.SGD(0.1, momentum=0.5), rank=rank)
    if name == "adam":
        return training(keras.optimizers.Adam(0.01), rank=rank,
                        steps_per_execution=2)
    if name == "noise":  # Dropout's masks are one process's, row for row
        return training(keras.optimizers.SGD(0.1), rank=rank,
                        steps_per_execution=2, noise=True)
    if name == "sync_bn":
        return training(keras.optimizers.SGD(0.1), bn=True, rank=rank)
    if name == "custom_step":
        return custom_step(rank)
    if name == "streams":
        return streams(rank)
    if name == "plain_bn":
        return plain_bn_moments(rank, size or 1)
    if name == "callbacks":
        return callbacks(tmp, rank)
    if name == "mismatch":
        return mismatch(rank)
    if name.startswith("fault_"):
        return fault(name[6:], rank)
    raise ValueError(name)


if __name__ == "__main__":
    names, tmp = sys.argv[1].split(","), sys.argv[2]
    from graphkeras.frontend.distribution import process_index

    results = {}
    for n in names:
        for k, v in run(n, tmp, distributed=True).items():
            results[f"{n}.{k}"] = v
    np.savez(os.path.join(tmp, f"rank{process_index()}.npz"), **results)
