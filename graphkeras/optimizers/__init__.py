"""graphkeras.optimizers: SGD, Adam, RMSprop, ... and `schedules`."""

from ..frontend.optimizers import (  # noqa: F401
    ALL_OBJECTS,
    SGD,
    Adadelta,
    Adagrad,
    Adam,
    Adamax,
    AdamW,
    Ftrl,
    Lion,
    LossScaleOptimizer,
    Nadam,
    Optimizer,
    RMSprop,
    get,
)
from . import schedules  # noqa: F401
