"""The Metric base class: stateful, accumulated over an epoch.

A metric keeps its state in Variables made by `add_variable` (in
`__init__`). `update_state(y_true, y_pred, sample_weight=None)` is written
with graphkeras.ops and `variable.assign(...)`, so inside a traced train or
test step it becomes state updates of the program (no Python runs per
batch); called on arrays it updates the store eagerly. `result()` reads the
state (eagerly, after a step); `reset_state()` sets every variable back to
its initial value (between epochs, before evaluate).

Adding a metric: subclass `Metric`, create its state with `add_variable`
in `__init__`, implement `update_state` and `result` with ops, and
register it in `metrics/__init__.py`'s `ALL_OBJECTS`. A plain function
`fn(y_true, y_pred)` returning per-sample values becomes a metric through
`MeanMetricWrapper(fn, name=...)`.
"""

from __future__ import annotations

import numpy as np

from .. import initializers
from ..naming import auto_name
from ..variables import Variable, standardize_dtype


class Metric:
    """Base class of metrics.

    Args:
        name: the metric's name (the key in logs and History).
        dtype: the dtype of the state ("float32").
    """

    # "up" / "down": whether larger values are better (read by callbacks
    # monitoring the metric in mode="auto"); None when unknown.
    _direction = None

    def __init__(self, dtype=None, name=None):
        self.name = name or auto_name(self)
        self._dtype = standardize_dtype(dtype)
        self._variables: list = []
        self._initial_values: list = []

    @property
    def dtype(self) -> str:
        return self._dtype

    def add_variable(self, shape, initializer="zeros", dtype=None,
                     aggregation="sum", name=None):
        """A state variable of this metric (not trainable)."""
        init = initializers.get(initializer)
        dtype = standardize_dtype(dtype, self._dtype)
        shape = tuple(shape)
        value = np.asarray(init(shape, dtype=dtype))
        v = Variable(value, dtype=dtype, trainable=False, name=name,
                     path=f"{self.name}/{name}")
        self._variables.append(v)
        self._initial_values.append(value)
        return v

    add_weight = add_variable

    @property
    def variables(self) -> list:
        out = list(self._variables)
        for m in getattr(self, "_sub_metrics", ()):
            out.extend(m.variables)
        return out

    def update_state(self, *args, **kwargs):
        raise NotImplementedError

    def result(self):
        raise NotImplementedError

    def reset_state(self) -> None:
        for v, init in zip(self._variables, self._initial_values):
            v.assign(init)
        for m in getattr(self, "_sub_metrics", ()):
            m.reset_state()

    def stateless_update_state(self, metric_variables, *args, **kwargs):
        """update_state on the given state values; returns the new ones."""
        from ..stateless import stateless_update_state

        return stateless_update_state(self, metric_variables, *args,
                                      **kwargs)

    def stateless_result(self, metric_variables):
        """result() of the given state values."""
        from ..stateless import stateless_result

        return stateless_result(self, metric_variables)

    def stateless_reset_state(self) -> list:
        """The initial state values."""
        out = [np.array(v, copy=True) for v in self._initial_values]
        for m in getattr(self, "_sub_metrics", ()):
            out.extend(m.stateless_reset_state())
        return out

    def __call__(self, *args, **kwargs):
        """Update the state with one batch (eagerly) and return the result."""
        self.update_state(*args, **kwargs)
        return self.result()

    def get_config(self) -> dict:
        return {"name": self.name, "dtype": self._dtype}

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} name={self.name}>"
