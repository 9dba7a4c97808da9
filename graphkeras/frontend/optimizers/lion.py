"""Lion (Chen et al., 2023, "symbolic discovery"), Keras 3's update.

The step moves each weight by the learning rate times the sign of an
interpolation between the momentum and the gradient (beta_1); the momentum
is then updated with beta_2. Its steps are all of size lr, so Lion wants a
smaller learning rate than Adam.
"""

from __future__ import annotations

from .. import ops
from .optimizer import Optimizer


class Lion(Optimizer):
    """Lion.

    Args:
        learning_rate: default 0.001.
        beta_1: weight of the momentum in the update's sign (0.9), in (0, 1].
        beta_2: decay of the momentum (0.99).
    """

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.99,
                 name="lion", **kwargs):
        super().__init__(learning_rate=learning_rate, name=name, **kwargs)
        if beta_1 <= 0 or beta_1 > 1:
            raise ValueError(
                "Argument `beta_1` of Lion must be in the (0, 1] range (at 0 "
                "the optimizer degenerates to SignSGD). Received: "
                f"beta_1={beta_1}."
            )
        self.beta_1 = float(beta_1)
        self.beta_2 = float(beta_2)

    def build(self, var_list):
        super().build(var_list)
        self._m = getattr(self, "_m", {})
        for var in var_list:
            self._m[var.key] = self.add_variable_from_reference(var, "momentum")

    def update_step(self, gradient, variable, learning_rate):
        g = ops.cast(gradient, variable.dtype)
        lr = ops.cast(learning_rate, variable.dtype)
        m = self._m[variable.key]
        direction = ops.sign(ops.add(ops.multiply(m, self.beta_1),
                                     ops.multiply(g, 1.0 - self.beta_1)))
        self.assign_sub(variable, ops.multiply(lr, direction))
        self.assign(m, ops.add(ops.multiply(m, self.beta_2),
                               ops.multiply(g, 1.0 - self.beta_2)))

    def get_config(self):
        return {**super().get_config(), "beta_1": self.beta_1,
                "beta_2": self.beta_2}
