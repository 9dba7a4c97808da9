"""graphkeras.optimizers.schedules: learning-rate schedules."""

from ..frontend.optimizers.schedules import (  # noqa: F401
    ExponentialDecay,
    LearningRateSchedule,
)
