"""Adadelta (Zeiler, 2012), Keras 3's update.

Two running averages per weight (decay rho): of the squared gradients and
of the squared steps. The step is -sqrt(E[dx^2] + eps) / sqrt(E[g^2] + eps)
* g, scaled by the learning rate (Keras keeps a learning rate; 1.0 gives
the paper's method).
"""

from __future__ import annotations

from .. import ops
from .optimizer import Optimizer


class Adadelta(Optimizer):
    """Adadelta.

    Args:
        learning_rate: default 0.001.
        rho: decay of both running averages (0.95).
        epsilon: default 1e-7, added inside both square roots.
    """

    def __init__(self, learning_rate=0.001, rho=0.95, epsilon=1e-7,
                 name="adadelta", **kwargs):
        super().__init__(learning_rate=learning_rate, name=name, **kwargs)
        self.rho = float(rho)
        self.epsilon = float(epsilon)

    def build(self, var_list):
        super().build(var_list)
        self._acc_g = getattr(self, "_acc_g", {})
        self._acc_dx = getattr(self, "_acc_dx", {})
        for var in var_list:
            self._acc_g[var.key] = self.add_variable_from_reference(
                var, "accumulated_grad")
            self._acc_dx[var.key] = self.add_variable_from_reference(
                var, "accumulated_delta_var")

    def update_step(self, gradient, variable, learning_rate):
        dt = variable.dtype
        g = ops.cast(gradient, dt)
        lr = self._learning_rate_as(learning_rate, dt)
        acc_g, acc_dx = self._acc_g[variable.key], self._acc_dx[variable.key]
        rho = self.constant_as(self.rho, dt)
        rest = self.constant_as(1.0 - self.rho, dt)
        eps = self.constant_as(self.epsilon, dt)
        new_acc_g = ops.add(ops.multiply(acc_g, rho),
                            ops.multiply(ops.square(g), rest))
        self.assign(acc_g, new_acc_g)
        step = ops.negative(ops.divide(
            ops.multiply(ops.sqrt(ops.add(acc_dx, eps)), g),
            ops.sqrt(ops.add(new_acc_g, eps))))
        self.assign(acc_dx, ops.add(ops.multiply(acc_dx, rho),
                                    ops.multiply(ops.square(step), rest)))
        self.assign_add(variable, ops.multiply(lr, step))

    def get_config(self):
        return {**super().get_config(), "rho": self.rho,
                "epsilon": self.epsilon}
