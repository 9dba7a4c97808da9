"""LambdaCallback: a callback made of plain functions."""

from __future__ import annotations

from .callback import Callback


class LambdaCallback(Callback):
    """Each argument replaces the hook of the same name, e.g.
    `LambdaCallback(on_epoch_end=lambda epoch, logs: print(epoch))`; other
    keyword arguments (`on_test_end=...`, ...) set any other hook."""

    def __init__(self, on_epoch_begin=None, on_epoch_end=None,
                 on_train_begin=None, on_train_end=None,
                 on_train_batch_begin=None, on_train_batch_end=None, **kwargs):
        super().__init__()
        self.__dict__.update(kwargs)
        for name, fn in (("on_epoch_begin", on_epoch_begin),
                         ("on_epoch_end", on_epoch_end),
                         ("on_train_begin", on_train_begin),
                         ("on_train_end", on_train_end),
                         ("on_train_batch_begin", on_train_batch_begin),
                         ("on_train_batch_end", on_train_batch_end)):
            if fn is not None:
                setattr(self, name, fn)
