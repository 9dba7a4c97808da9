"""Optimizers (graphkeras.optimizers)."""

from __future__ import annotations

from . import schedules
from .adam import Adam
from .optimizer import Optimizer
from .rmsprop import RMSprop
from .sgd import SGD

ALL_OBJECTS = {"sgd": SGD, "adam": Adam, "rmsprop": RMSprop, "SGD": SGD,
               "Adam": Adam, "RMSprop": RMSprop}


def get(identifier):
    """An optimizer instance from a name, config, class or instance."""
    from ..serialization import resolve

    obj = resolve("optimizer", identifier, ALL_OBJECTS, Optimizer)
    if not isinstance(obj, Optimizer):
        raise ValueError(  # noqa: TRY004  (Keras raises ValueError)
            f"Could not interpret optimizer identifier: {identifier!r}."
        )
    return obj


__all__ = [
    "ALL_OBJECTS",
    "SGD",
    "Adam",
    "Optimizer",
    "RMSprop",
    "get",
    "schedules",
]
