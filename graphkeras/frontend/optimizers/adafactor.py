"""Adafactor (Shazeer & Stern, 2018), Keras 3's update and defaults.

For a variable of rank >= 2 the second moment is factored over its last
two axes: a row statistic r (the last axis averaged out) and a column
statistic c (the second-to-last averaged out), each an exponential average
with the decay 1 - step^beta_2_decay; v is their outer product r c /
mean(r). Lower-rank variables keep a full v. The step is
g / sqrt(v), clipped to RMS <= clip_threshold, times
max(epsilon_2, RMS(w)) * min(lr, 1 / sqrt(step)).
"""

from __future__ import annotations

from .. import ops
from .optimizer import Optimizer


def _rms(x):
    return ops.sqrt(ops.mean(ops.square(x)))


class Adafactor(Optimizer):
    """Adafactor.

    Args:
        learning_rate: default 0.001.
        beta_2_decay: the second-moment decay exponent (-0.8).
        epsilon_1: added to the squared gradients (1e-30).
        epsilon_2: the smallest relative step scale (1e-3).
        clip_threshold: the RMS bound of the normalized step (1.0).
        relative_step: cap the learning rate at 1 / sqrt(step) (True).

    Example:
        >>> model.compile(optimizer=Adafactor(), loss="mse")
    """

    def __init__(self, learning_rate=0.001, beta_2_decay=-0.8,
                 epsilon_1=1e-30, epsilon_2=1e-3, clip_threshold=1.0,
                 relative_step=True, name="adafactor", **kwargs):
        super().__init__(learning_rate=learning_rate, name=name, **kwargs)
        self.beta_2_decay = float(beta_2_decay)
        self.epsilon_1 = float(epsilon_1)
        self.epsilon_2 = float(epsilon_2)
        self.clip_threshold = float(clip_threshold)
        self.relative_step = bool(relative_step)

    def build(self, var_list):
        super().build(var_list)
        self._r = getattr(self, "_r", {})
        self._c = getattr(self, "_c", {})
        self._v = getattr(self, "_v", {})
        for var in var_list:
            shape = tuple(var.shape)
            if len(shape) >= 2:
                base = var.path.replace("/", "_")
                self._r[var.key] = self.add_variable(
                    shape[:-1], dtype=var.dtype, name=f"{base}_r")
                self._c[var.key] = self.add_variable(
                    shape[:-2] + shape[-1:], dtype=var.dtype, name=f"{base}_c")
            else:
                # NOTE: unused placeholders, as Keras 3 makes them: saved
                # files index optimizer variables by position
                base = var.path.replace("/", "_")
                for suffix in ("r", "c"):
                    self.add_variable((), dtype=var.dtype,
                                      name=f"{base}_{suffix}")
            self._v[var.key] = self.add_variable_from_reference(var, "velocity")

    def update_step(self, gradient, variable, learning_rate):
        g = ops.cast(gradient, variable.dtype)
        lr = ops.cast(learning_rate, variable.dtype)
        step = ops.cast(ops.add(self.iterations, 1), variable.dtype)
        # NOTE: Keras caps the rate at 1 / sqrt(step) whatever relative_step
        # says (rho_t below); relative_step only repeats the cap.
        rho = ops.minimum(lr, ops.rsqrt(step))
        alpha = ops.multiply(ops.maximum(_rms(variable), self.epsilon_2), rho)
        g2 = ops.add(ops.square(g), self.epsilon_1)
        beta = ops.subtract(1.0, ops.power(step, self.beta_2_decay))
        one_minus = ops.subtract(1.0, beta)
        v = self._v[variable.key]
        if len(variable.shape) >= 2:
            r, c = self._r[variable.key], self._c[variable.key]
            new_r = ops.add(ops.multiply(beta, r), ops.multiply(
                one_minus, ops.mean(g2, axis=-1)))
            new_c = ops.add(ops.multiply(beta, c), ops.multiply(
                one_minus, ops.mean(g2, axis=-2)))
            self.assign(r, new_r)
            self.assign(c, new_c)
            new_v = ops.multiply(
                ops.expand_dims(ops.divide(new_r, ops.mean(
                    new_r, axis=-1, keepdims=True)), -1),
                ops.expand_dims(new_c, -2))
        else:
            new_v = ops.add(ops.multiply(beta, v), ops.multiply(one_minus, g2))
        self.assign(v, new_v)
        u = ops.divide(g, ops.sqrt(new_v))
        u = ops.divide(u, ops.maximum(ops.divide(_rms(u), self.clip_threshold),
                                      1.0))
        self.assign_sub(variable, ops.multiply(alpha, u))

    def get_config(self):
        return {**super().get_config(), "beta_2_decay": self.beta_2_decay,
                "epsilon_1": self.epsilon_1, "epsilon_2": self.epsilon_2,
                "clip_threshold": self.clip_threshold,
                "relative_step": self.relative_step}
