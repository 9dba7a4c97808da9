"""History: records each epoch's logs; `fit` returns it."""

from __future__ import annotations

from .callback import Callback


class History(Callback):
    """`history.history` maps each log key ("loss", "val_loss", ...) to the
    list of its per-epoch values; `history.epoch` lists the epochs run."""

    def __init__(self):
        super().__init__()
        self.history = {}
        self.epoch = []

    def on_train_begin(self, logs=None):
        self.epoch = []

    def on_epoch_end(self, epoch, logs=None):
        self.epoch.append(epoch)
        for k, v in (logs or {}).items():
            self.history.setdefault(k, []).append(v)
        if self.model is not None:
            self.model.history = self
