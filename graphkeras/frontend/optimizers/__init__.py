"""Optimizers (graphkeras.optimizers)."""

from __future__ import annotations

from . import schedules
from .adadelta import Adadelta
from .adagrad import Adagrad
from .adam import Adam
from .adamax import Adamax
from .adamw import AdamW
from .ftrl import Ftrl
from .lion import Lion
from .loss_scale_optimizer import LossScaleOptimizer
from .nadam import Nadam
from .optimizer import Optimizer
from .rmsprop import RMSprop
from .sgd import SGD

ALL_OBJECTS = {c.__name__: c for c in (SGD, Adam, AdamW, RMSprop, Adagrad,
                                       Adamax, Nadam, Adadelta, Ftrl, Lion,
                                       LossScaleOptimizer)}
ALL_OBJECTS.update({k.lower(): v for k, v in ALL_OBJECTS.items()})


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
    "Adadelta",
    "Adagrad",
    "Adam",
    "AdamW",
    "Adamax",
    "Ftrl",
    "Lion",
    "LossScaleOptimizer",
    "Nadam",
    "Optimizer",
    "RMSprop",
    "get",
    "schedules",
]
