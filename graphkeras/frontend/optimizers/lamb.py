"""Lamb (You et al., 2019), Keras 3's update: Adam's bias-corrected step,
rescaled per variable by the trust ratio ||w|| / ||step|| (1 when either
norm is zero)."""

from __future__ import annotations

from .. import ops
from .optimizer import Optimizer


class Lamb(Optimizer):
    """Lamb.

    Args:
        learning_rate: default 0.001.
        beta_1, beta_2: default 0.9, 0.999.
        epsilon: default 1e-7 (added to the bias-corrected sqrt(v)).

    Example:
        >>> model.compile(optimizer=Lamb(learning_rate=0.01), loss="mse")
    """

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999,
                 epsilon=1e-7, name="lamb", **kwargs):
        super().__init__(learning_rate=learning_rate, name=name, **kwargs)
        self.beta_1 = float(beta_1)
        self.beta_2 = float(beta_2)
        self.epsilon = float(epsilon)

    def build(self, var_list):
        super().build(var_list)
        self._m = getattr(self, "_m", {})
        self._v = getattr(self, "_v", {})
        for var in var_list:
            self._m[var.key] = self.add_variable_from_reference(var, "momentum")
            self._v[var.key] = self.add_variable_from_reference(var, "velocity")

    def _corrections(self, dt):
        # 1 - beta_1^t and 1 - beta_2^t: once a step (per_step)
        step = self._step_count_as(dt)
        return (ops.subtract(1.0, ops.power(self.beta_1, step)),
                ops.subtract(1.0, ops.power(self.beta_2, step)))

    def update_step(self, gradient, variable, learning_rate):
        dt = variable.dtype
        g = ops.cast(gradient, dt)
        lr = self._learning_rate_as(learning_rate, dt)
        c1, c2 = self.per_step(("corrections", str(dt)),
                               lambda: self._corrections(dt))
        m, v = self._m[variable.key], self._v[variable.key]
        new_m = ops.add(m, ops.multiply(ops.subtract(g, m), self.constant_as(
            1.0 - self.beta_1, dt)))
        new_v = ops.add(v, ops.multiply(ops.subtract(ops.square(g), v),
                                        self.constant_as(1.0 - self.beta_2,
                                                         dt)))
        self.assign(m, new_m)
        self.assign(v, new_v)
        m_hat = ops.divide(new_m, c1)
        v_hat = ops.divide(new_v, c2)
        update = ops.divide(m_hat, ops.add(ops.sqrt(v_hat),
                                           self.constant_as(self.epsilon, dt)))
        w_norm = ops.sqrt(ops.sum(ops.square(variable)))
        u_norm = ops.sqrt(ops.sum(ops.square(update)))
        ok = ops.logical_and(ops.greater(w_norm, 0.0),
                             ops.greater(u_norm, 0.0))
        safe = ops.where(ok, u_norm, ops.ones_like(u_norm))
        ratio = ops.where(ok, ops.divide(w_norm, safe), ops.ones_like(w_norm))
        self.assign_sub(variable, ops.multiply(ops.multiply(ratio, lr),
                                               update))

    def get_config(self):
        return {**super().get_config(), "beta_1": self.beta_1,
                "beta_2": self.beta_2, "epsilon": self.epsilon}
