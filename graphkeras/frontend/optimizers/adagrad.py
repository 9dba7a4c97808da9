"""Adagrad, with Keras 3's defaults and update."""

from __future__ import annotations

from .. import initializers, ops
from .optimizer import Optimizer


class Adagrad(Optimizer):
    """Adagrad: `acc += g^2; w -= lr * g / sqrt(acc + epsilon)`.

    Args:
        learning_rate: default 0.001.
        initial_accumulator_value: the accumulators' start (0.1).
        epsilon: default 1e-7.
    """

    def __init__(self, learning_rate=0.001, initial_accumulator_value=0.1,
                 epsilon=1e-7, name="adagrad", **kwargs):
        super().__init__(learning_rate=learning_rate, name=name, **kwargs)
        self.initial_accumulator_value = initial_accumulator_value
        self.epsilon = epsilon

    def build(self, var_list):
        super().build(var_list)
        self._acc = getattr(self, "_acc", {})
        init = initializers.Constant(self.initial_accumulator_value)
        for var in var_list:
            self._acc[var.key] = self.add_variable_from_reference(
                var, "accumulator", initializer=init)

    def update_step(self, gradient, variable, learning_rate):
        dt = variable.dtype
        g = ops.cast(gradient, dt)
        lr = self._learning_rate_as(learning_rate, dt)
        acc = self._acc[variable.key]
        new_acc = ops.add(acc, ops.square(g))
        self.assign(acc, new_acc)
        self.assign_sub(variable, ops.divide(
            ops.multiply(lr, g), ops.sqrt(ops.add(
                new_acc, self.constant_as(self.epsilon, dt)))))

    def get_config(self):
        return {**super().get_config(),
                "initial_accumulator_value": self.initial_accumulator_value,
                "epsilon": self.epsilon}
