"""graphkeras.optimizers.schedules: learning-rate schedules."""

from ..frontend.optimizers.schedules import (  # noqa: F401
    CosineDecay,
    CosineDecayRestarts,
    ExponentialDecay,
    InverseTimeDecay,
    LearningRateSchedule,
    PiecewiseConstantDecay,
    PolynomialDecay,
    deserialize,
    serialize,
)
