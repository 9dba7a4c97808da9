"""LearningRateScheduler: set the learning rate at each epoch's start from
`schedule(epoch, lr)` (or `schedule(epoch)`), as Keras 3 does."""

from __future__ import annotations

import numpy as np

from .callback import Callback


class LearningRateScheduler(Callback):
    """Args:
        schedule: a function (epoch index from 0, current lr) -> new lr (a
            float); a one-argument function (epoch) also works.
        verbose: 1 prints each update.

    Example:
        >>> def scheduler(epoch, lr):
        ...     return lr if epoch < 10 else lr * 0.9
        >>> callback = LearningRateScheduler(scheduler)
    """

    def __init__(self, schedule, verbose=0):
        super().__init__()
        self.schedule = schedule
        self.verbose = verbose

    def on_epoch_begin(self, epoch, logs=None):
        optimizer = self.model.optimizer
        if not hasattr(optimizer, "learning_rate"):
            raise ValueError('Optimizer must have a "learning_rate" attribute.')
        try:
            lr = self.schedule(epoch, float(optimizer.learning_rate))
        except TypeError:  # the one-argument form
            lr = self.schedule(epoch)
        if not isinstance(lr, (float, np.float32, np.float64)):
            raise ValueError(  # noqa: TRY004  (Keras raises ValueError)
                "The output of the `schedule` function should be a float. "
                f"Got: {lr}"
            )
        optimizer.learning_rate = lr
        if self.verbose > 0:
            print(f"\nEpoch {epoch + 1}: LearningRateScheduler setting "
                  f"learning rate to {lr}.")

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            logs["learning_rate"] = float(self.model.optimizer.learning_rate)
