"""Weight regularizers: callables `weight -> scalar penalty`, added to the
loss by the trainer (inside the traced train step).

Adding one: subclass `Regularizer`, implement `__call__(x)` with ops and
`get_config()`, and register it in `ALL_OBJECTS`.
"""

from __future__ import annotations

import math

import numpy as np

from . import ops


class Regularizer:
    def __call__(self, x):
        return 0.0

    def get_config(self) -> dict:
        return {}

    @classmethod
    def from_config(cls, config):
        return cls(**config)


class L1L2(Regularizer):
    def __init__(self, l1=0.0, l2=0.0):
        self.l1, self.l2 = float(l1), float(l2)

    def __call__(self, x):
        out = 0.0
        if self.l1:
            out = ops.multiply(ops.sum(ops.abs(x)), self.l1)
        if self.l2:
            l2 = ops.multiply(ops.sum(ops.square(x)), self.l2)
            out = l2 if isinstance(out, float) else ops.add(out, l2)
        return out

    def get_config(self):
        return {"l1": self.l1, "l2": self.l2}


class L1(L1L2):
    def __init__(self, l1=0.01):
        super().__init__(l1=l1)

    def get_config(self):
        return {"l1": self.l1}


class L2(L1L2):
    def __init__(self, l2=0.01):
        super().__init__(l2=l2)

    def get_config(self):
        return {"l2": self.l2}


class OrthogonalRegularizer(Regularizer):
    """Penalises non-orthogonal rows (or columns) of a 2-D weight: `factor`
    times the mean absolute cosine similarity between pairs of distinct
    rows, halved (Keras 3's formula: rows L2-normalised, the off-diagonal
    of their Gram matrix summed in absolute value over size * (size - 1)).

    Args:
        factor: a non-negative float (0.01).
        mode: "rows" or "columns".
    """

    def __init__(self, factor=0.01, mode="rows"):
        if isinstance(factor, bool) or not isinstance(factor, (int, float)) \
                or not math.isfinite(factor) or factor < 0:
            raise ValueError("Invalid value for argument factor of "
                             "OrthogonalRegularizer: expected a non-negative "
                             f"float. Received: factor={factor!r}")
        if mode not in ("rows", "columns"):
            raise ValueError("Invalid value for argument `mode` of "
                             "OrthogonalRegularizer. Expected one of "
                             f'{{"rows", "columns"}}. Received: mode={mode!r}')
        self.factor = float(factor)
        self.mode = mode

    def __call__(self, x):
        if len(x.shape) != 2:
            raise ValueError("Inputs to OrthogonalRegularizer must have rank "
                             f"2. Received: inputs.shape={tuple(x.shape)}")
        if self.mode == "rows":
            x = ops.normalize(x, axis=1)
            gram = ops.matmul(x, ops.transpose(x))
        else:
            x = ops.normalize(x, axis=0)
            gram = ops.matmul(ops.transpose(x), x)
        size = int(gram.shape[0])
        off_diagonal = np.float32(1.0) - np.eye(size, dtype=np.float32)
        total = ops.sum(ops.abs(ops.multiply(gram, off_diagonal)))
        num_pairs = size * (size - 1.0) / 2.0
        return ops.multiply(total, self.factor * 0.5 / num_pairs)

    def get_config(self):
        return {"factor": self.factor, "mode": self.mode}


ALL_OBJECTS = {"l1": L1, "l2": L2, "l1_l2": L1L2, "L1": L1, "L2": L2,
               "L1L2": L1L2, "OrthogonalRegularizer": OrthogonalRegularizer,
               "orthogonal_regularizer": OrthogonalRegularizer}


def get(identifier):
    from .serialization import resolve

    return resolve("regularizer", identifier, ALL_OBJECTS, Regularizer)


# Keras's snake_case aliases (keras.regularizers.l1 is the class).
l1, l2, l1_l2 = L1, L2, L1L2


def serialize(regularizer) -> dict:
    """The Keras 3 config dict of a regularizer (what `deserialize` reads)."""
    from .serialization import serialize_object

    return serialize_object(regularizer, "keras.regularizers")


def deserialize(config, custom_objects=None):
    """A regularizer from what `serialize` wrote (or a name)."""
    from .serialization import deserialize_object

    return deserialize_object(config, custom_objects, get)


orthogonal_regularizer = OrthogonalRegularizer


# the family serialization finds its objects in (frontend/families.py)
from .families import register_family as _register_family  # noqa: E402

_register_family("regularizers", "keras.regularizers", Regularizer, globals())
