"""CallbackList: calls every callback's hook in order, adding History and
ProgbarLogger the way Keras 3's fit does: after the user's callbacks
(History, then the progress bar), so a callback that adds a key to the
epoch logs (ReduceLROnPlateau's "learning_rate") is recorded and printed.
Every callback of one hook call receives the same logs dict: Keras 3's
pythonify_logs of the caller's (sorted by key, nested dicts flattened,
numbers as Python floats), so an epoch's logs, and History's keys, are
in name order with the "val_" entries among them."""

from __future__ import annotations

from .callback import Callback
from .history import History
from .progbar_logger import ProgbarLogger


def _flatten(callbacks):
    out = []
    for c in callbacks or []:
        if isinstance(c, (list, tuple)):
            out.extend(_flatten(c))
        else:
            out.append(c)
    return out


def pythonify_logs(logs) -> dict:
    """A new dict of `logs`, sorted by key, a dict value's entries merged in
    its place (sorted too), values that convert to a float as floats."""
    out = {}
    for key, value in sorted((logs or {}).items()):
        if isinstance(value, dict):
            out.update(pythonify_logs(value))
            continue
        try:  # as Keras's float(value): NumPy decides for shape (1,)
            value = float(value)
        except (TypeError, ValueError):
            pass
        out[key] = value
    return out


class CallbackList(Callback):
    def __init__(self, callbacks=None, add_history=False, add_progbar=False,
                 model=None, **params):
        super().__init__()
        self.callbacks = _flatten(callbacks)
        for c in self.callbacks:
            if not isinstance(c, Callback):
                raise TypeError(
                    "Expected a list of keras.callbacks.Callback instances, "
                    f"received {c!r} (of type {type(c).__name__})."
                )
        self.history = next((c for c in self.callbacks
                             if isinstance(c, History)), None)
        if self.history is None and add_history:
            self.history = History()
            self.callbacks.append(self.history)
        if add_progbar and not any(isinstance(c, ProgbarLogger)
                                   for c in self.callbacks):
            self.callbacks.append(ProgbarLogger())
        if model is not None:
            self.set_model(model)
        if params:
            self.set_params(params)

    def set_model(self, model):
        super().set_model(model)
        if self.history is not None:
            model.history = self.history
        for c in self.callbacks:
            c.set_model(model)

    def set_params(self, params):
        super().set_params(params)
        for c in self.callbacks:
            c.set_params(params)

    def reads_batch_logs(self, kind: str = "train") -> bool:
        """Whether a callback may read the logs of a `kind` batch's end:
        one whose class defines on_<kind>_batch_end, or (train batches)
        on_batch_end, other than Callback's no-ops; History reads only the
        epochs' logs."""
        hooks = [f"on_{kind}_batch_end"] + (["on_batch_end"]
                                            if kind == "train" else [])
        for c in self.callbacks:
            for hook in hooks:
                if getattr(type(c), hook, None) is not getattr(Callback, hook):
                    return True
        return False

    def _call(self, hook, *args):
        # Keras hands every hook a dict (empty when there are no logs), and
        # the same dict to every callback of one call.
        *head, logs = args
        logs = pythonify_logs(logs)
        for c in self.callbacks:
            getattr(c, hook)(*head, logs)

    def on_batch_begin(self, batch, logs=None):
        self._call("on_batch_begin", batch, logs)

    def on_batch_end(self, batch, logs=None):
        self._call("on_batch_end", batch, logs)

    def on_epoch_begin(self, epoch, logs=None):
        self._call("on_epoch_begin", epoch, logs)

    def on_epoch_end(self, epoch, logs=None):
        self._call("on_epoch_end", epoch, logs)

    def on_train_batch_begin(self, batch, logs=None):
        self._call("on_train_batch_begin", batch, logs)

    def on_train_batch_end(self, batch, logs=None):
        self._call("on_train_batch_end", batch, logs)

    def on_test_batch_begin(self, batch, logs=None):
        self._call("on_test_batch_begin", batch, logs)

    def on_test_batch_end(self, batch, logs=None):
        self._call("on_test_batch_end", batch, logs)

    def on_predict_batch_begin(self, batch, logs=None):
        self._call("on_predict_batch_begin", batch, logs)

    def on_predict_batch_end(self, batch, logs=None):
        self._call("on_predict_batch_end", batch, logs)

    def on_train_begin(self, logs=None):
        self._call("on_train_begin", logs)

    def on_train_end(self, logs=None):
        self._call("on_train_end", logs)

    def on_test_begin(self, logs=None):
        self._call("on_test_begin", logs)

    def on_test_end(self, logs=None):
        self._call("on_test_end", logs)

    def on_predict_begin(self, logs=None):
        self._call("on_predict_begin", logs)

    def on_predict_end(self, logs=None):
        self._call("on_predict_end", logs)
