"""RMSprop, compile()'s default optimizer."""

from __future__ import annotations

from .. import ops
from .optimizer import Optimizer


class RMSprop(Optimizer):
    """RMSprop: `v = rho v + (1 - rho) g^2; w -= lr g / sqrt(v + eps)`
    (centered: v - mean(g)^2; momentum: accumulated increments).

    Args:
        learning_rate: default 0.001. rho: 0.9. momentum: 0.0.
        epsilon: 1e-7. centered: False.
    """

    def __init__(self, learning_rate=0.001, rho=0.9, momentum=0.0,
                 epsilon=1e-7, centered=False, name="rmsprop", **kwargs):
        super().__init__(learning_rate=learning_rate, name=name, **kwargs)
        self.rho = float(rho)
        self.momentum = float(momentum)
        self.epsilon = float(epsilon)
        self.centered = bool(centered)

    def build(self, var_list):
        super().build(var_list)
        self._vel = getattr(self, "_vel", {})
        self._mom = getattr(self, "_mom", {})
        self._avg = getattr(self, "_avg", {})
        # NOTE: Keras 3's order (saved files index optimizer variables by
        # position): all velocities, then all momentums, then all
        # average gradients
        for var in var_list:
            self._vel[var.key] = self.add_variable_from_reference(var, "velocity")
        for var in var_list if self.momentum > 0 else ():
            self._mom[var.key] = self.add_variable_from_reference(
                var, "momentum")
        for var in var_list if self.centered else ():
            self._avg[var.key] = self.add_variable_from_reference(
                var, "average_gradient")

    def update_step(self, gradient, variable, learning_rate):
        dt = variable.dtype
        g = ops.cast(gradient, dt)
        lr = self._learning_rate_as(learning_rate, dt)
        rho = self.constant_as(self.rho, dt)
        rest = self.constant_as(1.0 - self.rho, dt)
        vel = self._vel[variable.key]
        new_vel = ops.add(ops.multiply(vel, rho),
                          ops.multiply(ops.square(g), rest))
        self.assign(vel, new_vel)
        denom = new_vel
        if self.centered:
            avg = self._avg[variable.key]
            new_avg = ops.add(ops.multiply(avg, rho), ops.multiply(g, rest))
            self.assign(avg, new_avg)
            denom = ops.subtract(new_vel, ops.square(new_avg))
        increment = ops.divide(ops.multiply(lr, g), ops.sqrt(ops.add(
            denom, self.constant_as(self.epsilon, dt))))
        if self.momentum > 0:
            mom = self._mom[variable.key]
            new_mom = ops.add(ops.multiply(
                mom, self.constant_as(self.momentum, dt)), increment)
            self.assign(mom, new_mom)
            self.assign_sub(variable, new_mom)
        else:
            self.assign_sub(variable, increment)

    def get_config(self):
        return {**super().get_config(), "rho": self.rho,
                "momentum": self.momentum, "epsilon": self.epsilon,
                "centered": self.centered}
