"""keras.mixed_precision: Policy, DTypePolicy, set_global_policy,
global_policy, LossScaleOptimizer (frontend/mixed_precision.py)."""

from .frontend.mixed_precision import (  # noqa: F401
    DTypePolicy,
    Policy,
    global_policy,
    set_global_policy,
)
from .frontend.optimizers import LossScaleOptimizer  # noqa: F401
