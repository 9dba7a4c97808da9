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
    """Sets negative weights to zero."""

    def __call__(self, w):
        return ops.multiply(w, ops.cast(ops.greater_equal(w, 0.0),
                                        ops.dtype(w)))


class MaxNorm(Constraint):
    """Rescales each slice along `axis` whose L2 norm exceeds `max_value`
    to that norm (Keras: w * clip(n, 0, max) / (n + 1e-7))."""

    def __init__(self, max_value=2, axis=0):
        self.max_value, self.axis = max_value, axis

    def __call__(self, w):
        n = ops.sqrt(ops.sum(ops.square(w), axis=self.axis, keepdims=True))
        desired = ops.clip(n, 0.0, float(self.max_value))
        return ops.multiply(w, ops.divide(desired, ops.add(n, 1e-7)))

    def get_config(self):
        return {"max_value": self.max_value, "axis": self.axis}


class UnitNorm(Constraint):
    """Scales each slice along `axis` to unit L2 norm."""

    def __init__(self, axis=0):
        self.axis = axis

    def __call__(self, w):
        n = ops.sqrt(ops.sum(ops.square(w), axis=self.axis, keepdims=True))
        return ops.divide(w, ops.add(n, 1e-7))

    def get_config(self):
        return {"axis": self.axis}


class MinMaxNorm(Constraint):
    """Keeps the norm of each slice along `axis` in [min_value, max_value]:
    the norm moves `rate` of the way to the clipped norm per update."""

    def __init__(self, min_value=0.0, max_value=1.0, rate=1.0, axis=0):
        self.min_value, self.max_value = min_value, max_value
        self.rate, self.axis = rate, axis

    def __call__(self, w):
        n = ops.sqrt(ops.sum(ops.square(w), axis=self.axis, keepdims=True))
        desired = ops.add(
            ops.multiply(ops.clip(n, float(self.min_value),
                                  float(self.max_value)), float(self.rate)),
            ops.multiply(n, 1.0 - float(self.rate)))
        return ops.multiply(w, ops.divide(desired, ops.add(n, 1e-7)))

    def get_config(self):
        return {"min_value": self.min_value, "max_value": self.max_value,
                "rate": self.rate, "axis": self.axis}


ALL_OBJECTS = {"non_neg": NonNeg, "max_norm": MaxNorm, "unit_norm": UnitNorm,
               "min_max_norm": MinMaxNorm, "NonNeg": NonNeg,
               "MaxNorm": MaxNorm, "UnitNorm": UnitNorm,
               "MinMaxNorm": MinMaxNorm, "Constraint": Constraint}


def get(identifier):
    from .serialization import resolve

    return resolve("constraint", identifier, ALL_OBJECTS, Constraint)


# Keras's snake_case aliases (keras.constraints.max_norm is the class).
max_norm, non_neg, unit_norm, min_max_norm = MaxNorm, NonNeg, UnitNorm, MinMaxNorm


def serialize(constraint) -> dict:
    """The Keras 3 config dict of a constraint (what `deserialize` reads)."""
    from .serialization import serialize_object

    return serialize_object(constraint, "keras.constraints")


def deserialize(config, custom_objects=None):
    """A constraint from what `serialize` wrote (or a name)."""
    from .serialization import deserialize_object

    return deserialize_object(config, custom_objects, get)


# the family serialization finds its objects in (frontend/families.py)
from .families import register_family as _register_family  # noqa: E402

_register_family("constraints", "keras.constraints", Constraint, globals())
