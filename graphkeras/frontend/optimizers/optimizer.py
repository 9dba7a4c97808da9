"""The Optimizer base class: updates written as IR inside the train step.

`apply(grads, variables)` runs inside the traced train step: it clips the
gradients (clipvalue, clipnorm, global_clipnorm), reads the learning rate
(a Variable, or a schedule evaluated at the iteration counter), applies
weight decay, calls `update_step(gradient, variable, learning_rate)` for
each variable, applies the variables' constraints and increments
`iterations`. Every `assign` becomes a state update of the program.

Invariants: slot variables are created once (`build`), before the first
trace that uses them; `learning_rate` is a Variable, so setting it (for
instance from a callback) changes the next step without recompiling.

Adding an optimizer: subclass `Optimizer`, create slots in
`build(var_list)` with `add_variable_from_reference(var, "momentum")`,
implement `update_step` with ops and `self.assign / assign_add /
assign_sub`, give `get_config`, and register it in
`optimizers/__init__.py`'s `ALL_OBJECTS`.
"""

from __future__ import annotations

import numpy as np

from .. import ops
from ..naming import auto_name, uniquify
from ..variables import Variable
from .schedules import LearningRateSchedule


class Optimizer:
    """Base class of optimizers.

    Args:
        learning_rate: a float or a `LearningRateSchedule`.
        weight_decay: decoupled decay, applied as w -= w * wd * lr.
        clipnorm: clip each gradient to this norm.
        clipvalue: clip each gradient's elements to [-v, v].
        global_clipnorm: clip all gradients to this global norm.
        name: the optimizer's name.
    """

    def __init__(self, learning_rate, weight_decay=None, clipnorm=None,
                 clipvalue=None, global_clipnorm=None, use_ema=False,
                 ema_momentum=0.99, ema_overwrite_frequency=None,
                 loss_scale_factor=None, gradient_accumulation_steps=None,
                 name=None, **kwargs):
        if kwargs:
            raise ValueError(f"Argument(s) not recognized: {kwargs}")
        if clipnorm is not None and global_clipnorm is not None:
            raise ValueError(
                "Only one of `clipnorm` and `global_clipnorm` can be set. "
                f"Received: clipnorm={clipnorm}, "
                f"global_clipnorm={global_clipnorm}"
            )
        if use_ema or gradient_accumulation_steps:
            raise ValueError(
                "use_ema and gradient_accumulation_steps are not supported "
                "yet by graphkeras optimizers."
            )
        self.name = uniquify(name) if name else auto_name(self)
        self.weight_decay = weight_decay
        self.clipnorm = clipnorm
        self.clipvalue = clipvalue
        self.global_clipnorm = global_clipnorm
        self.loss_scale_factor = loss_scale_factor
        self.built = False
        self._variables: list = []
        self._slots: dict = {}
        self.iterations = Variable(np.zeros((), np.int64), dtype="int64",
                                   trainable=False, name="iteration",
                                   path=f"{self.name}/iteration")
        self._variables.append(self.iterations)
        if isinstance(learning_rate, LearningRateSchedule) or callable(learning_rate):
            self._schedule = learning_rate
            self._lr_var = None
        else:
            self._schedule = None
            self._lr_var = Variable(np.asarray(float(learning_rate), np.float32),
                                    trainable=False, name="learning_rate",
                                    path=f"{self.name}/learning_rate")
            self._variables.append(self._lr_var)

    # --- learning rate ---------------------------------------------------------

    @property
    def learning_rate(self):
        """The current learning rate: a float (or, with a schedule, its
        value at the current iteration)."""
        if self._schedule is not None:
            return float(np.asarray(self._schedule(
                np.asarray(float(self.iterations), np.float32))))
        return float(self._lr_var)

    @learning_rate.setter
    def learning_rate(self, value):
        if self._schedule is not None:
            raise TypeError(
                "This optimizer was created with a learning rate schedule, so "
                "its learning rate cannot be set."
            )
        self._lr_var.assign(np.asarray(float(value), np.float32))

    def _current_learning_rate(self):
        if self._schedule is not None:
            return self._schedule(ops.cast(self.iterations.value, "float32"))
        return self._lr_var.value

    # --- variables ---------------------------------------------------------------

    @property
    def variables(self) -> list:
        return list(self._variables)

    def add_variable(self, shape, initializer="zeros", dtype=None, name=None):
        from .. import initializers

        init = initializers.get(initializer)
        v = Variable(np.asarray(init(tuple(shape), dtype=dtype or "float32")),
                     trainable=False, name=name, path=f"{self.name}/{name}")
        self._variables.append(v)
        return v

    def add_variable_from_reference(self, reference_variable, name=None,
                                    initializer="zeros"):
        """A slot with the shape and dtype of `reference_variable`, named
        like Keras's (`adam/dense_kernel_momentum`)."""
        from .. import initializers

        base = reference_variable.path.replace("/", "_")
        init = initializers.get(initializer)
        value = np.asarray(init(reference_variable.shape,
                                dtype=reference_variable.dtype))
        v = Variable(value, dtype=reference_variable.dtype, trainable=False,
                     name=f"{base}_{name}", path=f"{self.name}/{base}_{name}")
        self._variables.append(v)
        return v

    def build(self, var_list) -> None:
        """Create the slot variables for `var_list` (override and call
        super().build(var_list))."""
        self._trainable_keys = [v.key for v in var_list]
        self.built = True

    def _var_index(self, variable) -> int:
        return self._trainable_keys.index(variable.key)

    def _check_built_for(self, variables) -> None:
        if not self.built:
            self.build(variables)
            return
        missing = [v for v in variables if v.key not in self._trainable_keys]
        if missing:
            # New trainable variables (a layer unfrozen or added): give them
            # slots too.
            self.build_more(missing)

    def build_more(self, var_list) -> None:
        old = list(self._trainable_keys)
        self.built = False
        self.build(var_list)
        self._trainable_keys = old + self._trainable_keys

    # --- assignment helpers used by update_step --------------------------------

    @staticmethod
    def assign(variable, value):
        variable.assign(value)

    @staticmethod
    def assign_add(variable, value):
        variable.assign(ops.add(variable, value))

    @staticmethod
    def assign_sub(variable, value):
        variable.assign(ops.subtract(variable, value))

    # --- applying ------------------------------------------------------------------

    def _clip(self, grads):
        if self.clipvalue is not None:
            v = float(self.clipvalue)
            grads = [ops.clip(g, -v, v) for g in grads]
        if self.clipnorm is not None:
            out = []
            for g in grads:
                n = ops.sqrt(ops.sum(ops.square(g)))
                scale = ops.minimum(1.0, ops.divide(
                    float(self.clipnorm), ops.maximum(n, 1e-12)))
                out.append(ops.multiply(g, scale))
            grads = out
        if self.global_clipnorm is not None:
            total = None
            for g in grads:
                s = ops.sum(ops.square(g))
                total = s if total is None else ops.add(total, s)
            n = ops.sqrt(total)
            scale = ops.minimum(1.0, ops.divide(
                float(self.global_clipnorm), ops.maximum(n, 1e-12)))
            grads = [ops.multiply(g, scale) for g in grads]
        return grads

    def apply(self, grads, trainable_variables) -> None:
        """Apply one step of updates (inside a trace or eagerly)."""
        grads = list(grads)
        variables = list(trainable_variables)
        if len(grads) != len(variables):
            raise ValueError(
                f"apply() got {len(grads)} gradients for {len(variables)} "
                "variables."
            )
        self._check_built_for(variables)
        if self.loss_scale_factor is not None:
            grads = [ops.divide(g, float(self.loss_scale_factor)) for g in grads]
        grads = self._clip(grads)
        lr = self._current_learning_rate()
        if self.weight_decay:
            for v in variables:
                v.assign(ops.subtract(v, ops.multiply(
                    ops.multiply(v, float(self.weight_decay)), lr)))
        for g, v in zip(grads, variables):
            self.update_step(g, v, lr)
            if v.constraint is not None:
                v.assign(v.constraint(v.value))
        self.iterations.assign(ops.add(self.iterations, np.int64(1)))

    def apply_gradients(self, grads_and_vars) -> None:
        grads, variables = zip(*grads_and_vars)
        self.apply(grads, variables)

    def update_step(self, gradient, variable, learning_rate) -> None:
        raise NotImplementedError

    def get_config(self) -> dict:
        lr = (self._schedule.get_config() if isinstance(
            self._schedule, LearningRateSchedule) else self.learning_rate)
        return {"name": self.name, "learning_rate": lr,
                "weight_decay": self.weight_decay, "clipnorm": self.clipnorm,
                "global_clipnorm": self.global_clipnorm,
                "clipvalue": self.clipvalue}

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} name={self.name}>"
