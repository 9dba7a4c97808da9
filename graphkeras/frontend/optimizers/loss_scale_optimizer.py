"""LossScaleOptimizer: dynamic loss scaling around another optimizer
(Keras 3's rule).

The train step multiplies the loss by `dynamic_scale` before
differentiating (`scale_loss`); `apply` divides the gradients by it and
runs the inner optimizer when every gradient is finite. Otherwise the step
changes no weight and no inner slot (each is reassigned its value from
before the step, a select in the program, so there is no branch), and the
scale halves. After `dynamic_growth_steps` finite steps in a row the scale
doubles.

Invariants: `step_counter` and `dynamic_scale` exist from construction on,
so the first traced step already reads the scale as state (a constant
would be baked into the compiled program); `iterations` and
`learning_rate` are the inner optimizer's.
"""

from __future__ import annotations

import numpy as np

from .. import ops
from ..variables import Variable
from .optimizer import Optimizer, only_when

_BASE_DEFAULTS = {"weight_decay": None, "clipnorm": None,
                  "global_clipnorm": None, "clipvalue": None, "use_ema": False,
                  "ema_momentum": 0.99, "ema_overwrite_frequency": None,
                  "loss_scale_factor": None,
                  "gradient_accumulation_steps": None}


class LossScaleOptimizer(Optimizer):
    """Dynamic loss scaling (for float16 / bfloat16 training).

    Args:
        inner_optimizer: the optimizer that applies the unscaled gradients.
        initial_scale: the scale to start from (2**15).
        dynamic_growth_steps: finite steps before the scale doubles (2000).
    """

    def __init__(self, inner_optimizer, initial_scale=2.0 ** 15,
                 dynamic_growth_steps=2000, name=None, **kwargs):
        if not kwargs.pop("dynamic", True):
            raise ValueError(
                "LossScaleOptimizer no longer supports `dynamic=False`. "
                "Instead, simply set `loss_scale_factor` directly on the "
                "`inner_optimizer`.")
        for arg, default in _BASE_DEFAULTS.items():
            if arg in kwargs and kwargs.pop(arg) != default:
                raise ValueError(f"LossScaleOptimizer does not support "
                                 f"`{arg}`. Instead, set `{arg}` on the "
                                 "`inner_optimizer`.")
        if kwargs:
            raise ValueError("LossScaleOptimizer does not support arguments: "
                             f"`{'`, `'.join(kwargs)}`.")
        if isinstance(inner_optimizer, dict):     # from a config
            from . import get

            inner_optimizer = get(inner_optimizer)
        if not isinstance(inner_optimizer, Optimizer):
            raise TypeError(
                "LossScaleOptimizer's `inner_optimizer` must be an Optimizer "
                f"instance. Received: {inner_optimizer!r}")
        super().__init__(learning_rate=0.0, name=name or
                         "loss_scale_optimizer")
        self.inner_optimizer = inner_optimizer
        self.inner_optimizer.loss_scale_factor = None
        self.initial_scale = float(initial_scale)
        self.dynamic_growth_steps = int(dynamic_growth_steps)
        self.step_counter = Variable(np.zeros((), np.int64), dtype="int64",
                                     trainable=False, name="step_counter",
                                     path=f"{self.name}/step_counter")
        self.dynamic_scale = Variable(
            np.asarray(self.initial_scale, np.float32), trainable=False,
            name="dynamic_scale", path=f"{self.name}/dynamic_scale")
        self._variables += [self.step_counter, self.dynamic_scale]

    # the inner optimizer's counter and learning rate
    @property
    def iterations(self):
        inner = self.__dict__.get("inner_optimizer")
        return inner.iterations if inner is not None else self._own_iterations

    @iterations.setter
    def iterations(self, value):
        self._own_iterations = value

    @property
    def learning_rate(self):
        return self.inner_optimizer.learning_rate

    @learning_rate.setter
    def learning_rate(self, value):
        self.inner_optimizer.learning_rate = value

    @property
    def variables(self) -> list:
        return list(self._variables) + self.inner_optimizer.variables

    def build(self, var_list):
        self.inner_optimizer._check_built_for(var_list)
        super().build(var_list)

    def scale_loss(self, loss):
        return ops.multiply(loss, self.dynamic_scale)

    def apply(self, grads, trainable_variables) -> None:
        grads = list(grads)
        variables = list(trainable_variables)
        self._check_built_for(variables)
        self.inner_optimizer._check_built_for(variables)
        # sum(g * 0) is 0 when every element is finite, NaN otherwise
        probe = None
        for g in grads:
            s = ops.sum(ops.multiply(ops.cast(g, "float32"), 0.0))
            probe = s if probe is None else ops.add(probe, s)
        finite = ops.equal(probe, 0.0)
        scale = self.dynamic_scale.value
        touched = list({v.key: v for v in variables
                        + self.inner_optimizer.variables}.values())
        only_when(finite, touched, lambda: self.inner_optimizer.apply(
            [ops.divide(g, ops.cast(scale, g.dtype)) for g in grads],
            variables))
        counter = self.step_counter.value
        grow = ops.logical_and(finite, ops.equal(
            counter, np.int64(self.dynamic_growth_steps - 1)))
        self.step_counter.assign(ops.where(
            ops.logical_and(finite, ops.logical_not(grow)),
            ops.add(counter, np.int64(1)), np.int64(0)))
        # doubled, kept or halved (exact: powers of two)
        factor = ops.where(finite, ops.where(grow, 2.0, 1.0), 0.5)
        self.dynamic_scale.assign(ops.multiply(scale, factor))

    def finalize_variable_values(self, var_list) -> None:
        self.inner_optimizer.finalize_variable_values(var_list)

    def get_config(self) -> dict:
        from ..saving.serialization_lib import serialize_keras_object

        return {"name": self.name,
                "inner_optimizer": serialize_keras_object(self.inner_optimizer),
                "initial_scale": self.initial_scale,
                "dynamic_growth_steps": self.dynamic_growth_steps}

    @classmethod
    def from_config(cls, config, custom_objects=None):
        return cls(**config)
