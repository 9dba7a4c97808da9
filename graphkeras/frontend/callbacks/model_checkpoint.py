"""ModelCheckpoint: save the model or its weights during `fit`.

`filepath` may hold format fields filled from the epoch (1-based), the
batch and the logs: `"ckpt/{epoch:02d}-{val_loss:.2f}.keras"`. A full
model goes to a `.keras` file, weights only (`save_weights_only=True`) to a
`.weights.h5` file; both are written atomically (temporary file, then
rename), so a crash while saving never leaves a half-written checkpoint.
"""

from __future__ import annotations

import os
import warnings

import numpy as np

from .callback import Callback


class ModelCheckpoint(Callback):
    """Save the model (or weights) at some frequency during training.

    Args:
        filepath: where to save; may contain `{epoch}`, `{batch}` and log
            keys as format fields (`"m-{epoch:02d}-{val_loss:.2f}.keras"`).
            Must end in `.keras`, or in `.weights.h5` with
            `save_weights_only=True`.
        monitor: the log key compared for `save_best_only` ("val_loss").
        verbose: 1 prints a line at each save.
        save_best_only: save only when `monitor` improves.
        save_weights_only: save the weights only (`model.save_weights`).
        mode: "min", "max" or "auto" (max for accuracy-like keys).
        save_freq: "epoch", or an integer: save every that many batches.
        initial_value_threshold: the value `monitor` must beat first.

    Example:
        >>> cb = ModelCheckpoint("best.keras", save_best_only=True)
        >>> model.fit(x, y, validation_split=0.2, callbacks=[cb])
    """

    def __init__(self, filepath, monitor="val_loss", verbose=0,
                 save_best_only=False, save_weights_only=False, mode="auto",
                 save_freq="epoch", initial_value_threshold=None):
        super().__init__()
        self.filepath = os.fspath(filepath)
        self.monitor = monitor
        self.verbose = verbose
        self.save_best_only = save_best_only
        self.save_weights_only = save_weights_only
        self.save_freq = save_freq
        self._batches_seen = 0
        self._current_epoch = 0
        if mode not in ("auto", "min", "max"):
            warnings.warn(f"ModelCheckpoint mode '{mode}' is unknown, "
                          "fallback to auto mode.", stacklevel=2)
            mode = "auto"
        if mode == "auto":
            mode = "max" if ("acc" in monitor or monitor.startswith("fmeasure")
                             or "auc" in monitor) else "min"
        self.mode = mode
        if initial_value_threshold is not None:
            self.best = float(initial_value_threshold)
        else:
            self.best = -np.inf if mode == "max" else np.inf
        if save_freq != "epoch" and not (
            isinstance(save_freq, int) and not isinstance(save_freq, bool)
            and save_freq > 0
        ):
            raise ValueError(
                f"Unrecognized save_freq: {save_freq}. Expected save_freq "
                "to be 'epoch' or a positive integer."
            )
        if save_weights_only and not self.filepath.endswith(".weights.h5"):
            raise ValueError(
                "When using `save_weights_only=True` in `ModelCheckpoint`, "
                "the filepath provided must end in `.weights.h5` "
                f"(Keras weights format). Received: filepath={self.filepath}"
            )
        if not save_weights_only and not self.filepath.endswith(".keras"):
            raise ValueError(
                "The filepath provided must end in `.keras` (Keras model "
                f"format). Received: filepath={self.filepath}"
            )

    def _improved(self, current) -> bool:
        if self.mode == "max":
            return current > self.best
        return current < self.best

    def on_train_batch_end(self, batch, logs=None):
        if self.save_freq == "epoch":
            return
        self._batches_seen += 1
        if self._batches_seen >= self.save_freq:
            self._batches_seen = 0
            self._save(self._current_epoch, batch, logs)

    def on_epoch_begin(self, epoch, logs=None):
        self._current_epoch = epoch

    def on_epoch_end(self, epoch, logs=None):
        if self.save_freq == "epoch":
            self._save(epoch, None, logs)

    def _path(self, epoch, batch, logs) -> str:
        values = dict(logs or {})
        try:
            if batch is None or "batch" in values:
                return self.filepath.format(epoch=epoch + 1, **values)
            return self.filepath.format(epoch=epoch + 1, batch=batch + 1,
                                        **values)
        except KeyError as e:
            raise KeyError(
                f'Failed to format this callback filepath: "{self.filepath}". '
                f"Reason: the key {e} is not in the logs, which hold "
                f"{sorted(values)}."
            ) from None

    def _save(self, epoch, batch, logs) -> None:
        logs = logs or {}
        path = self._path(epoch, batch, logs)
        folder = os.path.dirname(os.path.abspath(path))
        os.makedirs(folder, exist_ok=True)
        if self.save_best_only:
            current = logs.get(self.monitor)
            if current is None:
                warnings.warn(
                    f"Can save best model only with {self.monitor} available, "
                    "skipping.", stacklevel=2)
                return
            current = float(current)
            if not self._improved(current):
                if self.verbose > 0:
                    print(f"\nEpoch {epoch + 1}: {self.monitor} did not "
                          f"improve from {self.best:.5f}")
                return
            if self.verbose > 0:
                print(f"\nEpoch {epoch + 1}: {self.monitor} improved from "
                      f"{self.best:.5f} to {current:.5f}, saving model to "
                      f"{path}")
            self.best = current
        elif self.verbose > 0:
            print(f"\nEpoch {epoch + 1}: saving model to {path}")
        if self.save_weights_only:
            self.model.save_weights(path, overwrite=True)
        else:
            self.model.save(path, overwrite=True)
