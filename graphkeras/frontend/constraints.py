"""Weight constraints: callables `weight -> projected weight`, applied by
the optimizer right after each update (inside the traced train step).

Adding one: subclass `Constraint`, implement `__call__(w)` with ops and
`get_config()`, and register it in `ALL_OBJECTS`.
"""

from __future__ import annotations

from . import ops


class Constraint:
    def __call__(self, w):
        return w

    def get_config(self) -> dict:
        return {}

    @classmethod
    def from_config(cls, config):
        return cls(**config)


class NonNeg(Constraint):
    def __call__(self, w):
        return ops.relu(w)


class MaxNorm(Constraint):
    def __init__(self, max_value=2, axis=0):
        self.max_value, self.axis = max_value, axis

    def __call__(self, w):
        n = ops.sqrt(ops.sum(ops.square(w), axis=self.axis, keepdims=True))
        desired = ops.clip(n, 0.0, float(self.max_value))
        return ops.multiply(w, ops.divide(desired, ops.add(n, 1e-7)))

    def get_config(self):
        return {"max_value": self.max_value, "axis": self.axis}


class UnitNorm(Constraint):
    def __init__(self, axis=0):
        self.axis = axis

    def __call__(self, w):
        n = ops.sqrt(ops.sum(ops.square(w), axis=self.axis, keepdims=True))
        return ops.divide(w, ops.add(n, 1e-7))

    def get_config(self):
        return {"axis": self.axis}


ALL_OBJECTS = {"non_neg": NonNeg, "max_norm": MaxNorm, "unit_norm": UnitNorm,
               "NonNeg": NonNeg, "MaxNorm": MaxNorm, "UnitNorm": UnitNorm}


def get(identifier):
    from .serialization import resolve

    return resolve("constraint", identifier, ALL_OBJECTS, Constraint)
