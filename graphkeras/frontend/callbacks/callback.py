"""Callback: hooks the fit / evaluate / predict loops call.

Subclass `Callback` and override any hook; `self.model` is the model being
trained and `self.params` holds {"verbose", "epochs", "steps"}. `logs`
dicts hold the current epoch's running metric values (train hooks), the
evaluation results (test hooks) or the batch outputs (predict hooks).
Setting `self.model.stop_training = True` ends `fit` after the current
batch.
"""

from __future__ import annotations


class Callback:
    """Base class of callbacks; every hook is a no-op."""

    def __init__(self):
        self.params = {}
        self._model = None

    def set_params(self, params):
        self.params = params

    def set_model(self, model):
        self._model = model

    @property
    def model(self):
        return self._model

    def on_batch_begin(self, batch, logs=None):
        """Kept for compatibility: same as on_train_batch_begin."""

    def on_batch_end(self, batch, logs=None):
        """Kept for compatibility: same as on_train_batch_end."""

    def on_epoch_begin(self, epoch, logs=None):
        pass

    def on_epoch_end(self, epoch, logs=None):
        pass

    def on_train_batch_begin(self, batch, logs=None):
        self.on_batch_begin(batch, logs=logs)

    def on_train_batch_end(self, batch, logs=None):
        self.on_batch_end(batch, logs=logs)

    def on_test_batch_begin(self, batch, logs=None):
        pass

    def on_test_batch_end(self, batch, logs=None):
        pass

    def on_predict_batch_begin(self, batch, logs=None):
        pass

    def on_predict_batch_end(self, batch, logs=None):
        pass

    def on_train_begin(self, logs=None):
        pass

    def on_train_end(self, logs=None):
        pass

    def on_test_begin(self, logs=None):
        pass

    def on_test_end(self, logs=None):
        pass

    def on_predict_begin(self, logs=None):
        pass

    def on_predict_end(self, logs=None):
        pass
