"""SwapEMAWeights: evaluate (and optionally checkpoint) with the
optimizer's moving averages of the weights (`use_ema=True`), as Keras 3:
the weights and their averages swap places before evaluation and back
after it."""

from __future__ import annotations

from .callback import Callback


class SwapEMAWeights(Callback):
    """Swaps the model's weights with the optimizer's EMA weights before
    evaluation (validation included) and prediction, and back after.

    Args:
        swap_on_epoch: also hold the EMA weights between `on_epoch_end`
            and the next `on_epoch_begin` (so callbacks such as
            ModelCheckpoint after this one save them). Defaults to False.

    Example:

    ```python
    model.compile(optimizer=keras.optimizers.SGD(use_ema=True), loss="mse")
    model.fit(x, y, validation_data=(xv, yv),
              callbacks=[keras.callbacks.SwapEMAWeights()])
    ```
    """

    def __init__(self, swap_on_epoch=False):
        super().__init__()
        self.swap_on_epoch = swap_on_epoch
        self._ema_weights_in_model = False

    def _pairs(self):
        optimizer = getattr(self.model, "optimizer", None)
        optimizer = getattr(optimizer, "inner_optimizer", optimizer)
        inner = getattr(optimizer, "optimizers", None)  # MultiOptimizer
        if inner is not None:
            with_ema = [o for o in inner if getattr(o, "use_ema", False)]
            if not with_ema:
                raise ValueError(
                    "SwapEMAWeights must be used when at least one inner "
                    "optimizer has `use_ema=True` set. Received a "
                    "MultiOptimizer with all inner optimizers having "
                    "`use_ema=False`.")
        elif optimizer is None or not getattr(optimizer, "use_ema", False):
            raise ValueError(
                "SwapEMAWeights must be used when `use_ema=True` is set on "
                "the optimizer. Received: use_ema="
                f"{getattr(optimizer, 'use_ema', None)}")
        else:
            with_ema = [optimizer]
        averages = {}
        for opt in with_ema:
            averages.update(opt._averages)
        return [(v, averages[v.key]) for v in self.model.trainable_variables
                if v.key in averages]

    def _swap(self):
        for var, average in self._pairs():
            held = var.numpy()
            var.assign(average.numpy())
            average.assign(held)

    def on_epoch_begin(self, epoch, logs=None):
        if self.swap_on_epoch and self._ema_weights_in_model:
            self._swap()
            self._ema_weights_in_model = False

    def on_epoch_end(self, epoch, logs=None):
        if self.swap_on_epoch and not self._ema_weights_in_model:
            self._swap()
            self._ema_weights_in_model = True
            # fit ends by copying the averages into the weights: give the
            # averages back their values
            if epoch == self.params["epochs"] - 1:
                for var, average in self._pairs():
                    average.assign(var.numpy())

    def on_test_begin(self, logs=None):
        if not self._ema_weights_in_model:
            self._swap()
            self._ema_weights_in_model = True

    def on_test_end(self, logs=None):
        if self._ema_weights_in_model:
            self._swap()
            self._ema_weights_in_model = False

    def on_predict_begin(self, logs=None):
        self.on_test_begin(logs)

    def on_predict_end(self, logs=None):
        # NOTE: Keras 3.15 tests `not self._ema_weights_in_model` here, so
        # its model keeps the EMA weights after predict; graphkeras swaps
        # them back, as the docstring of both promises
        self.on_test_end(logs)
