"""Adamax (Adam with the infinity norm), with Keras 3's defaults."""

from __future__ import annotations

from .. import ops
from .optimizer import Optimizer


class Adamax(Optimizer):
    """Adamax: `m += (g - m)(1 - b1); u = max(b2 u, |g|);
    w -= lr m / ((1 - b1^t)(u + epsilon))`.

    Args:
        learning_rate: 0.001. beta_1: 0.9. beta_2: 0.999. epsilon: 1e-7.
    """

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999,
                 epsilon=1e-7, name="adamax", **kwargs):
        super().__init__(learning_rate=learning_rate, name=name, **kwargs)
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon

    def build(self, var_list):
        super().build(var_list)
        self._m = getattr(self, "_m", {})
        self._u = getattr(self, "_u", {})
        for var in var_list:
            self._m[var.key] = self.add_variable_from_reference(var, "momentum")
            self._u[var.key] = self.add_variable_from_reference(var, "norm")

    def update_step(self, gradient, variable, learning_rate):
        dt = variable.dtype
        g = ops.cast(gradient, dt)
        # the learning rate and 1 - beta_1^t: once a step (per_step)
        lr = self._learning_rate_as(learning_rate, dt)
        correction = self.per_step(
            ("correction", str(dt)), lambda: ops.subtract(1.0, ops.power(
                float(self.beta_1), self._step_count_as(dt))))
        m, u = self._m[variable.key], self._u[variable.key]
        new_m = ops.add(m, ops.multiply(ops.subtract(g, m), self.constant_as(
            1.0 - float(self.beta_1), dt)))
        new_u = ops.maximum(ops.multiply(u, self.constant_as(
            float(self.beta_2), dt)), ops.abs(g))
        self.assign(m, new_m)
        self.assign(u, new_u)
        self.assign_sub(variable, ops.divide(
            ops.multiply(lr, new_m),
            ops.multiply(correction, ops.add(
                new_u, self.constant_as(self.epsilon, dt)))))

    def get_config(self):
        return {**super().get_config(), "beta_1": self.beta_1,
                "beta_2": self.beta_2, "epsilon": self.epsilon}
