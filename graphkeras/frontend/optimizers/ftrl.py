"""FTRL-Proximal (McMahan et al., 2013), Keras 3's update.

Per weight: an accumulator n of squared gradients (starting at
`initial_accumulator_value`) and a linear term z. With p =
-learning_rate_power (0.5 by default):

    g' = g + 2 * l2_shrinkage * w
    z += g' - (n_new^p - n^p) / lr * w
    w = (clip(z, -l1, l1) - z) / (n_new^p / lr + 2 * (l2 + beta / (2 lr)))
    n = n_new

(the clip form is zero where |z| <= l1 and shrinks z by l1 elsewhere).
"""

from __future__ import annotations

from .. import initializers, ops
from .optimizer import Optimizer


class Ftrl(Optimizer):
    """FTRL.

    Args:
        learning_rate: default 0.001.
        learning_rate_power: <= 0 (default -0.5); 0 gives a fixed rate.
        initial_accumulator_value: >= 0 (default 0.1).
        l1_regularization_strength, l2_regularization_strength: >= 0.
        l2_shrinkage_regularization_strength: >= 0, an L2 penalty added to
            the gradient (the other L2 is a stabilisation term).
        beta: default 0.0, added to the L2 term as beta / (2 lr).
    """

    def __init__(self, learning_rate=0.001, learning_rate_power=-0.5,
                 initial_accumulator_value=0.1, l1_regularization_strength=0.0,
                 l2_regularization_strength=0.0,
                 l2_shrinkage_regularization_strength=0.0, beta=0.0,
                 name="ftrl", **kwargs):
        super().__init__(learning_rate=learning_rate, name=name, **kwargs)
        checks = (("initial_accumulator_value", initial_accumulator_value, -1),
                  ("learning_rate_power", learning_rate_power, 1),
                  ("l1_regularization_strength", l1_regularization_strength,
                   -1),
                  ("l2_regularization_strength", l2_regularization_strength,
                   -1),
                  ("l2_shrinkage_regularization_strength",
                   l2_shrinkage_regularization_strength, -1))
        for arg, value, bad_sign in checks:
            if value * bad_sign > 0:
                expected = "negative or zero" if bad_sign > 0 else \
                    "positive or zero"
                raise ValueError(f"Argument `{arg}` of Ftrl needs to be "
                                 f"{expected}. Received: {arg}={value}.")
        self.learning_rate_power = float(learning_rate_power)
        self.initial_accumulator_value = float(initial_accumulator_value)
        self.l1_regularization_strength = float(l1_regularization_strength)
        self.l2_regularization_strength = float(l2_regularization_strength)
        self.l2_shrinkage_regularization_strength = float(
            l2_shrinkage_regularization_strength)
        self.beta = float(beta)

    def build(self, var_list):
        super().build(var_list)
        self._acc = getattr(self, "_acc", {})
        self._lin = getattr(self, "_lin", {})
        init = initializers.Constant(self.initial_accumulator_value)
        for var in var_list:
            self._acc[var.key] = self.add_variable_from_reference(
                var, "accumulator", initializer=init)
            self._lin[var.key] = self.add_variable_from_reference(var,
                                                                  "linear")

    def update_step(self, gradient, variable, learning_rate):
        g = ops.cast(gradient, variable.dtype)
        lr = ops.cast(learning_rate, variable.dtype)
        acc, lin = self._acc[variable.key], self._lin[variable.key]
        p = -self.learning_rate_power
        l1 = self.l1_regularization_strength
        l2 = ops.add(ops.divide(self.beta / 2.0, lr),
                     self.l2_regularization_strength)
        g_shrunk = ops.add(g, ops.multiply(
            variable, 2.0 * self.l2_shrinkage_regularization_strength))
        new_acc = ops.add(acc, ops.square(g))
        new_acc_p = ops.power(new_acc, p)
        sigma = ops.divide(ops.subtract(new_acc_p, ops.power(acc, p)), lr)
        new_lin = ops.add(lin, ops.subtract(g_shrunk,
                                            ops.multiply(sigma, variable)))
        self.assign(lin, new_lin)
        quadratic = ops.add(ops.divide(new_acc_p, lr), ops.multiply(l2, 2.0))
        self.assign(variable, ops.divide(
            ops.subtract(ops.clip(new_lin, -l1, l1), new_lin), quadratic))
        self.assign(acc, new_acc)

    def get_config(self):
        return {**super().get_config(),
                "learning_rate_power": self.learning_rate_power,
                "initial_accumulator_value": self.initial_accumulator_value,
                "l1_regularization_strength": self.l1_regularization_strength,
                "l2_regularization_strength": self.l2_regularization_strength,
                "l2_shrinkage_regularization_strength":
                    self.l2_shrinkage_regularization_strength,
                "beta": self.beta}
