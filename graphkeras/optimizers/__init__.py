"""graphkeras.optimizers: SGD, Adam, RMSprop, ... and `schedules`."""

from ..frontend.optimizers import (  # noqa: F401
    ALL_OBJECTS,
    SGD,
    Adadelta,
    Adafactor,
    Adagrad,
    Adam,
    Adamax,
    AdamW,
    Ftrl,
    Lamb,
    Lion,
    LossScaleOptimizer,
    MultiOptimizer,
    Muon,
    Nadam,
    Optimizer,
    OptimizerMap,
    RMSprop,
    ScheduleFreeAdamW,
    deserialize,
    get,
    serialize,
)
from . import schedules  # noqa: F401
