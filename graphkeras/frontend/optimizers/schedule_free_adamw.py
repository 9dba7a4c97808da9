"""Schedule-Free AdamW (Defazio et al., 2024), as Keras 3: the weights
are y, an interpolation between the gradient iterate z (the "momentum"
slot, which starts at the weights) and the running average x of the z's;
Adam's bias-corrected second moment scales the steps; an optional linear
warmup of the learning rate."""

from __future__ import annotations

from .. import ops
from .optimizer import Optimizer


class ScheduleFreeAdamW(Optimizer):
    """Schedule-Free AdamW.

    Args:
        learning_rate: 0.0025. beta_1: 0.9 (the interpolation).
        beta_2: 0.999. epsilon: 1e-8.
        warmup_steps: 0 (steps of linear learning-rate warmup).
        weight_decay: None.
    """

    def __init__(self, learning_rate=0.0025, beta_1=0.9, beta_2=0.999,
                 epsilon=1e-8, warmup_steps=0, weight_decay=None, name=None,
                 **kwargs):
        super().__init__(learning_rate=learning_rate, name=name,
                         weight_decay=weight_decay, **kwargs)
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.warmup_steps = warmup_steps

    def build(self, var_list):
        super().build(var_list)
        self._z = getattr(self, "_z", {})
        self._v = getattr(self, "_v", {})
        for var in var_list:  # Keras's order: momentum, velocity per weight
            self._z[var.key] = self.add_variable_from_reference(
                var, "momentum",
                initializer=lambda shape, dtype=None, var=var: var.numpy())
            self._v[var.key] = self.add_variable_from_reference(var,
                                                                "velocity")

    def update_step(self, gradient, variable, learning_rate):
        dt = variable.dtype
        g = ops.cast(gradient, dt)
        lr = ops.cast(learning_rate, dt)
        step = ops.cast(ops.add(self.iterations, 1), dt)
        b1, b2 = float(self.beta_1), float(self.beta_2)
        if self.warmup_steps > 0:
            lr = ops.multiply(lr, ops.minimum(
                ops.divide(step, float(self.warmup_steps)), 1.0))
        z, v = self._z[variable.key], self._v[variable.key]
        z_old = ops.convert_to_tensor(z)
        new_v = ops.add(v, ops.multiply(ops.subtract(ops.square(g), v),
                                        1.0 - b2))
        self.assign(v, new_v)
        correction = ops.subtract(1.0, ops.power(b2, step))
        denom = ops.add(ops.sqrt(ops.divide(new_v, correction)),
                        float(self.epsilon))
        new_z = ops.subtract(z_old, ops.divide(ops.multiply(lr, g), denom))
        self.assign(z, new_z)
        weight = ops.divide(1.0, step)
        # the average x, recovered from y = (1 - b1) z + b1 x
        x_old = ops.divide(ops.subtract(variable, ops.multiply(z_old, 1.0 - b1)),
                           b1)
        x_new = ops.add(ops.multiply(x_old, ops.subtract(1.0, weight)),
                        ops.multiply(new_z, weight))
        self.assign(variable, ops.add(ops.multiply(new_z, 1.0 - b1),
                                      ops.multiply(x_new, b1)))

    def get_config(self):
        return {**super().get_config(), "beta_1": self.beta_1,
                "beta_2": self.beta_2, "epsilon": self.epsilon,
                "warmup_steps": self.warmup_steps}
