"""Weight regularizers: callables `weight -> scalar penalty`, added to the
loss by the trainer (inside the traced train step).

Adding one: subclass `Regularizer`, implement `__call__(x)` with ops and
`get_config()`, and register it in `ALL_OBJECTS`.
"""

from __future__ import annotations

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


ALL_OBJECTS = {"l1": L1, "l2": L2, "l1_l2": L1L2, "L1": L1, "L2": L2,
               "L1L2": L1L2}


def get(identifier):
    from .serialization import resolve

    return resolve("regularizer", identifier, ALL_OBJECTS, Regularizer)


# Keras's snake_case aliases (keras.regularizers.l1 is the class).
l1, l2, l1_l2 = L1, L2, L1L2
