"""Muon (Jordan et al.; Keras 3's version with Moonlight's learning-rate
scaling): 2-D weights move along the orthogonalized momentum (five
Newton-Schulz iterations), every other weight (and embeddings, and the
layers named in `exclude_layers`) by AdamW."""

from __future__ import annotations

import math
import re

from .. import ops
from .optimizer import Optimizer


class Muon(Optimizer):
    """Muon, with AdamW for the weights Muon does not suit.

    Args:
        learning_rate: 0.001.
        adam_beta_1, adam_beta_2: 0.9, 0.999 (the AdamW steps).
        adam_weight_decay: 0.004 (weight decay of the AdamW weights).
        epsilon: 1e-7.
        weight_decay: 0.004 (weight decay of the Muon weights).
        exclude_layers: regexes of variable paths that take AdamW steps
            (e.g. the output layer's name).
        exclude_embeddings: embeddings take AdamW steps (default True).
        muon_a, muon_b, muon_c: the Newton-Schulz polynomial (3.4445,
            -4.7750, 2.0315).
        adam_lr_ratio: the AdamW steps' learning rate multiplier (1).
        momentum: 0.95. ns_steps: 5. nesterov: True.
        rms_rate: 0.2 (the update scaled by sqrt(max(n, m)) * rms_rate;
            None: unscaled).
    """

    def __init__(self, learning_rate=0.001, adam_beta_1=0.9,
                 adam_beta_2=0.999, adam_weight_decay=0.004, epsilon=1e-7,
                 weight_decay=0.004, exclude_layers=None,
                 exclude_embeddings=True, muon_a=3.4445, muon_b=-4.7750,
                 muon_c=2.0315, adam_lr_ratio=1, momentum=0.95, ns_steps=5,
                 nesterov=True, rms_rate=0.2, name=None, **kwargs):
        super().__init__(learning_rate=learning_rate, name=name,
                         weight_decay=weight_decay, **kwargs)
        self.adam_beta_1 = adam_beta_1
        self.adam_beta_2 = adam_beta_2
        self.epsilon = epsilon
        self.muon_a, self.muon_b, self.muon_c = muon_a, muon_b, muon_c
        self.adam_lr_ratio = adam_lr_ratio
        self.momentum = momentum
        self.ns_steps = ns_steps
        self.nesterov = nesterov
        self.exclude_embeddings = exclude_embeddings
        self.exclude_layers = list(exclude_layers or [])
        self.adam_weight_decay = adam_weight_decay
        self.rms_rate = rms_rate

    def _should_use_adamw(self, variable) -> bool:
        if len(variable.shape) != 2:
            return True
        if self.exclude_embeddings and "embedding" in variable.path.lower():
            return True
        return any(re.search(k, variable.path) for k in self.exclude_layers)

    def build(self, var_list):
        super().build(var_list)
        self._m = getattr(self, "_m", {})
        self._v = getattr(self, "_v", {})
        for var in var_list:  # Keras's order: momentum, then velocity
            self._m[var.key] = self.add_variable_from_reference(var,
                                                                "momentum")
            if self._should_use_adamw(var):
                self._v[var.key] = self.add_variable_from_reference(
                    var, "velocity")

    def update_step(self, gradient, variable, learning_rate):
        m = self._m[variable.key]
        v = self._v.get(variable.key)
        if v is not None:
            self._adamw_step(gradient, variable,
                             ops.multiply(learning_rate, self.adam_lr_ratio),
                             m, v)
        else:
            self._muon_step(gradient, variable, learning_rate, m)

    def _muon_step(self, gradient, variable, lr, m):
        g = ops.cast(gradient, variable.dtype)
        new_m = ops.add(ops.multiply(m, self.momentum), g)
        self.assign(m, new_m)
        d = ops.add(g, ops.multiply(new_m, self.momentum)) if self.nesterov \
            else new_m
        update = ops.multiply(self._orthogonalize(d, self.ns_steps),
                              ops.cast(lr, variable.dtype))
        if self.rms_rate is not None:
            n, k = variable.shape
            update = ops.multiply(update, math.sqrt(max(n, k)) * self.rms_rate)
        self.assign_sub(variable, update)

    def _orthogonalize(self, x, steps: int):
        """Newton-Schulz iterations towards U V^T of x = U S V^T."""
        a, b, c = self.muon_a, self.muon_b, self.muon_c
        tall = x.shape[0] > x.shape[1]
        if tall:
            x = ops.transpose(x)
        x = ops.divide(x, ops.add(ops.sqrt(ops.sum(ops.square(x))), 1e-7))
        for _ in range(steps):
            xxt = ops.matmul(x, ops.transpose(x))
            poly = ops.add(ops.multiply(xxt, b),
                           ops.multiply(ops.matmul(xxt, xxt), c))
            x = ops.add(ops.multiply(x, a), ops.matmul(poly, x))
        return ops.transpose(x) if tall else x

    def _adamw_step(self, gradient, variable, learning_rate, m, v):
        g = ops.cast(gradient, variable.dtype)
        lr = ops.cast(learning_rate, variable.dtype)
        step = ops.cast(ops.add(self.iterations, 1), variable.dtype)
        b1p = ops.power(float(self.adam_beta_1), step)
        b2p = ops.power(float(self.adam_beta_2), step)
        alpha = ops.divide(ops.multiply(lr, ops.sqrt(ops.subtract(1.0, b2p))),
                           ops.subtract(1.0, b1p))
        new_m = ops.add(m, ops.multiply(ops.subtract(g, m),
                                        1.0 - self.adam_beta_1))
        new_v = ops.add(v, ops.multiply(ops.subtract(ops.square(g), v),
                                        1.0 - self.adam_beta_2))
        self.assign(m, new_m)
        self.assign(v, new_v)
        self.assign_sub(variable, ops.divide(
            ops.multiply(new_m, alpha),
            ops.add(ops.sqrt(new_v), float(self.epsilon))))

    def _apply_weight_decay(self, variables, lr) -> None:
        for var in variables:
            if not self._use_weight_decay(var):
                continue
            wd = (self.adam_weight_decay if self._should_use_adamw(var)
                  else self.weight_decay)
            if wd is None:
                continue
            var.assign(ops.subtract(var, ops.multiply(
                ops.multiply(var, float(wd)), ops.cast(lr, var.dtype))))

    def get_config(self):
        return {**super().get_config(),
                "adam_beta_1": self.adam_beta_1,
                "adam_beta_2": self.adam_beta_2, "epsilon": self.epsilon,
                "exclude_layers": self.exclude_layers,
                "muon_a": self.muon_a, "muon_b": self.muon_b,
                "muon_c": self.muon_c, "adam_lr_ratio": self.adam_lr_ratio,
                "momentum": self.momentum, "ns_steps": self.ns_steps,
                "nesterov": self.nesterov,
                "exclude_embeddings": self.exclude_embeddings,
                "adam_weight_decay": self.adam_weight_decay,
                "rms_rate": self.rms_rate}
