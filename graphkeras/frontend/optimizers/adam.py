"""Adam (Kingma & Ba), with Keras's defaults and epsilon placement."""

from __future__ import annotations

from .. import ops
from .optimizer import Optimizer


class Adam(Optimizer):
    """Adam.

    Args:
        learning_rate: default 0.001.
        beta_1, beta_2: default 0.9, 0.999.
        epsilon: default 1e-7 (added to sqrt(v), Keras's placement).
        amsgrad: use the running maximum of v.
    """

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999,
                 epsilon=1e-7, amsgrad=False, name="adam", **kwargs):
        super().__init__(learning_rate=learning_rate, name=name, **kwargs)
        self.beta_1 = float(beta_1)
        self.beta_2 = float(beta_2)
        self.epsilon = float(epsilon)
        self.amsgrad = bool(amsgrad)

    def build(self, var_list):
        super().build(var_list)
        self._m = getattr(self, "_m", {})
        self._v = getattr(self, "_v", {})
        self._vhat = getattr(self, "_vhat", {})
        for var in var_list:
            self._m[var.key] = self.add_variable_from_reference(var, "momentum")
            self._v[var.key] = self.add_variable_from_reference(var, "velocity")
        # NOTE: Keras 3's order (saved files index optimizer variables by
        # position): every variable's velocity_hat after all the others
        for var in var_list if self.amsgrad else ():
            self._vhat[var.key] = self.add_variable_from_reference(
                var, "velocity_hat")

    def _alpha(self, learning_rate, dtype):
        # lr * sqrt(1 - beta_2^t) / (1 - beta_1^t): the same for every
        # variable of the dtype, traced once a step (per_step)
        lr = self._learning_rate_as(learning_rate, dtype)
        step = self._step_count_as(dtype)
        b1p = ops.power(self.beta_1, step)
        b2p = ops.power(self.beta_2, step)
        return ops.divide(ops.multiply(lr, ops.sqrt(ops.subtract(1.0, b2p))),
                          ops.subtract(1.0, b1p))

    def update_step(self, gradient, variable, learning_rate):
        g = ops.cast(gradient, variable.dtype)
        m, v = self._m[variable.key], self._v[variable.key]
        alpha = self.per_step(("alpha", str(variable.dtype),
                               id(learning_rate)),
                              lambda: self._alpha(learning_rate,
                                                  variable.dtype))
        dt = variable.dtype
        new_m = ops.add(m, ops.multiply(ops.subtract(g, m),
                                        self.constant_as(1.0 - self.beta_1, dt)))
        new_v = ops.add(v, ops.multiply(ops.subtract(ops.square(g), v),
                                        self.constant_as(1.0 - self.beta_2, dt)))
        self.assign(m, new_m)
        self.assign(v, new_v)
        if self.amsgrad:
            vhat = self._vhat[variable.key]
            new_v = ops.maximum(vhat, new_v)
            self.assign(vhat, new_v)
        self.assign_sub(variable, ops.divide(
            ops.multiply(new_m, alpha),
            ops.add(ops.sqrt(new_v), self.constant_as(self.epsilon, dt))))

    def get_config(self):
        return {**super().get_config(), "beta_1": self.beta_1,
                "beta_2": self.beta_2, "epsilon": self.epsilon,
                "amsgrad": self.amsgrad}
