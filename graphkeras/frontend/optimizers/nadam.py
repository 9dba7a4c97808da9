"""Nadam (Adam with Nesterov momentum), Keras 3's formulation with the
momentum schedule u_t = beta_1 (1 - 0.5 * 0.96^t)."""

from __future__ import annotations

import numpy as np

from .. import ops
from ..variables import Variable
from .optimizer import Optimizer


class Nadam(Optimizer):
    """Nadam.

    Args:
        learning_rate: 0.001. beta_1: 0.9. beta_2: 0.999. epsilon: 1e-7.
    """

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999,
                 epsilon=1e-7, name="nadam", **kwargs):
        super().__init__(learning_rate=learning_rate, name=name, **kwargs)
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self._u_product = None

    def build(self, var_list):
        super().build(var_list)
        self._m = getattr(self, "_m", {})
        self._v = getattr(self, "_v", {})
        for var in var_list:
            self._m[var.key] = self.add_variable_from_reference(var, "momentum")
            self._v[var.key] = self.add_variable_from_reference(var, "velocity")
        if self._u_product is None:
            dtype = var_list[0].dtype if var_list else "float32"
            self._u_product = Variable(np.ones((), dtype), dtype=dtype,
                                       trainable=False, name="u_product",
                                       path=f"{self.name}/u_product")
            self._variables.append(self._u_product)

    def _update_all(self, grads, variables, lr):
        # The running product of the momentum schedule advances once per
        # step, before the per-variable updates read it.
        t = ops.cast(ops.add(self.iterations, 1), self._u_product.dtype)
        u_t = ops.multiply(ops.subtract(1.0, ops.multiply(
            ops.power(0.96, t), 0.5)), float(self.beta_1))
        self.assign(self._u_product, ops.multiply(self._u_product, u_t))
        super()._update_all(grads, variables, lr)

    def update_step(self, gradient, variable, learning_rate):
        dt = variable.dtype
        g = ops.cast(gradient, dt)
        lr = self._learning_rate_as(learning_rate, dt)
        b1, b2 = float(self.beta_1), float(self.beta_2)
        u_t1, c_prod1, c_t, c_prod, c_b2 = self.per_step(
            ("nadam", str(dt)), lambda: self._schedule_terms(dt))
        m, v = self._m[variable.key], self._v[variable.key]
        new_m = ops.add(m, ops.multiply(ops.subtract(g, m),
                                        self.constant_as(1.0 - b1, dt)))
        new_v = ops.add(v, ops.multiply(ops.subtract(ops.square(g), v),
                                        self.constant_as(1.0 - b2, dt)))
        self.assign(m, new_m)
        self.assign(v, new_v)
        m_hat = ops.add(
            ops.divide(ops.multiply(u_t1, new_m), c_prod1),
            ops.divide(ops.multiply(c_t, g), c_prod))
        v_hat = ops.divide(new_v, c_b2)
        self.assign_sub(variable, ops.divide(
            ops.multiply(m_hat, lr),
            ops.add(ops.sqrt(v_hat), self.constant_as(self.epsilon, dt))))

    def _schedule_terms(self, dt):
        # the momentum schedule's terms, the same for every variable of the
        # dtype: traced once a step (per_step)
        t = self._step_count_as(dt)
        t1 = self._step_count_as(dt, 2)
        b1, b2 = float(self.beta_1), float(self.beta_2)
        u_t = ops.multiply(ops.subtract(1.0, ops.multiply(
            ops.power(0.96, t), 0.5)), b1)
        u_t1 = ops.multiply(ops.subtract(1.0, ops.multiply(
            ops.power(0.96, t1), 0.5)), b1)
        u_prod = ops.cast(self._u_product, dt)
        u_prod1 = ops.multiply(u_prod, u_t1)
        b2p = ops.power(b2, t)
        return (u_t1, ops.subtract(1.0, u_prod1), ops.subtract(1.0, u_t),
                ops.subtract(1.0, u_prod), ops.subtract(1.0, b2p))

    def get_config(self):
        return {**super().get_config(), "beta_1": self.beta_1,
                "beta_2": self.beta_2, "epsilon": self.epsilon}
