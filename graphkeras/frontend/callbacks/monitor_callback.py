"""MonitorCallback: the base of callbacks that watch one logged value
(EarlyStopping, ReduceLROnPlateau, ModelCheckpoint), with Keras 3's rule
for mode="auto": a "loss" key (with or without "val_", or a per-output
"<output>_loss") is minimized; a
metric is minimized or maximized according to its `_direction` ("up" for
accuracy, AUC, precision, ...); anything else is an error asking for an
explicit mode.
"""

from __future__ import annotations

import operator
import warnings

from .callback import Callback


class MonitorCallback(Callback):
    """Base class: `self.monitor_op(a, b)` says whether `a` beats `b`."""

    def __init__(self, monitor="val_loss", mode="auto", baseline=None,
                 min_delta=0):
        super().__init__()
        if mode not in ("auto", "min", "max"):
            warnings.warn(
                f"{type(self).__name__} mode '{mode}' is unknown, fallback to "
                "auto mode.", stacklevel=3)
            mode = "auto"
        self.monitor = monitor
        self.mode = mode
        self.best = baseline
        self.min_delta = abs(min_delta)
        self.monitor_op = None

    def _set_monitor_op(self):
        if self.mode == "min":
            self.monitor_op = operator.lt
        elif self.mode == "max":
            self.monitor_op = operator.gt
        else:
            name = self.monitor.removeprefix("val_")
            # NOTE: Keras 3 recognizes "loss" only; per-output losses
            # ("<output>_loss") are minimized here too instead of raising.
            if name == "loss" or name.endswith("_loss"):
                self.monitor_op = operator.lt
            for m in getattr(self.model, "metrics", None) or []:
                if m.name == name and getattr(m, "_direction", None):
                    self.monitor_op = (operator.gt if m._direction == "up"
                                       else operator.lt)
            if self.monitor_op is None:
                raise ValueError(
                    f"{type(self).__name__} callback received monitor="
                    f"{self.monitor}, but graphkeras isn't able to "
                    "automatically determine whether that metric should be "
                    "maximized or minimized. Pass `mode='max'` in order to "
                    "monitor based on the highest metric value, or pass "
                    "`mode='min'` in order to use the lowest value."
                )
        if self.monitor_op is operator.lt:
            self.min_delta *= -1

    def _is_improvement(self, monitor_value, reference_value) -> bool:
        if reference_value is None:
            return True
        return bool(self.monitor_op(monitor_value - self.min_delta,
                                    reference_value))
