"""Optimizers (graphkeras.optimizers)."""

from __future__ import annotations

from . import schedules
from .adadelta import Adadelta
from .adafactor import Adafactor
from .adagrad import Adagrad
from .adam import Adam
from .adamax import Adamax
from .adamw import AdamW
from .ftrl import Ftrl
from .lamb import Lamb
from .lion import Lion
from .loss_scale_optimizer import LossScaleOptimizer
from .multi_optimizer import MultiOptimizer, OptimizerMap
from .muon import Muon
from .nadam import Nadam
from .optimizer import Optimizer
from .rmsprop import RMSprop
from .schedule_free_adamw import ScheduleFreeAdamW
from .sgd import SGD

ALL_OBJECTS = {c.__name__: c for c in (SGD, Adam, AdamW, RMSprop, Adagrad,
                                       Adamax, Nadam, Adadelta, Ftrl, Lion,
                                       LossScaleOptimizer, Lamb, Adafactor, Muon,
                                       ScheduleFreeAdamW, MultiOptimizer)}
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


def serialize(optimizer) -> dict:
    """The Keras 3 config dict of an optimizer (what `deserialize` reads)."""
    if not isinstance(optimizer, Optimizer):
        raise ValueError(  # noqa: TRY004  (Keras raises ValueError)
            "optimizers.serialize expects an Optimizer instance, received "
            f"{optimizer!r}.")
    from ..serialization import serialize_object

    return serialize_object(optimizer, "keras.optimizers")


def deserialize(config, custom_objects=None):
    """An optimizer from what `serialize` wrote (or a name)."""
    from ..serialization import deserialize_object

    return deserialize_object(config, custom_objects, get)


__all__ = [
    "ALL_OBJECTS",
    "SGD",
    "Adadelta",
    "Adafactor",
    "Adagrad",
    "Adam",
    "AdamW",
    "Adamax",
    "Ftrl",
    "Lamb",
    "Lion",
    "LossScaleOptimizer",
    "MultiOptimizer",
    "Muon",
    "Nadam",
    "OptimizerMap",
    "Optimizer",
    "RMSprop",
    "ScheduleFreeAdamW",
    "deserialize",
    "get",
    "schedules",
    "serialize",
]


# the family serialization finds its objects in (frontend/families.py)
from ..families import register_family as _register_family  # noqa: E402

_register_family("optimizers", "keras.optimizers", Optimizer, globals())
