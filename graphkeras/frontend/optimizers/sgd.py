"""Stochastic gradient descent, with optional (Nesterov) momentum."""

from __future__ import annotations

from .. import ops
from .optimizer import Optimizer


class SGD(Optimizer):
    """SGD: `m = momentum * m - lr * g; w += m` (or `w -= lr * g` without
    momentum); Nesterov: `w += momentum * m - lr * g`.

    Args:
        learning_rate: default 0.01.
        momentum: default 0.0.
        nesterov: default False.
    """

    def __init__(self, learning_rate=0.01, momentum=0.0, nesterov=False,
                 name="SGD", **kwargs):
        super().__init__(learning_rate=learning_rate, name=name, **kwargs)
        if not 0 <= momentum <= 1:
            raise ValueError(
                "`momentum` must be a float between [0, 1]. Received: "
                f"momentum={momentum}"
            )
        self.momentum = float(momentum)
        self.nesterov = bool(nesterov)

    def build(self, var_list):
        super().build(var_list)
        self.momentums = getattr(self, "momentums", {})
        if self.momentum != 0:
            for v in var_list:
                self.momentums[v.key] = self.add_variable_from_reference(
                    v, "momentum")

    def update_step(self, gradient, variable, learning_rate):
        dt = variable.dtype
        g = ops.cast(gradient, dt)
        lr = self._learning_rate_as(learning_rate, dt)
        m = self.momentums.get(variable.key) if self.momentum else None
        if m is None:
            self.assign_sub(variable, ops.multiply(g, lr))
            return
        momentum = self.constant_as(self.momentum, dt)
        new_m = ops.subtract(ops.multiply(m, momentum), ops.multiply(g, lr))
        self.assign(m, new_m)
        if self.nesterov:
            self.assign_add(variable, ops.subtract(
                ops.multiply(new_m, momentum), ops.multiply(g, lr)))
        else:
            self.assign_add(variable, new_m)

    def get_config(self):
        return {**super().get_config(), "momentum": self.momentum,
                "nesterov": self.nesterov}
