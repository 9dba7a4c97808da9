"""keras.mixed_precision: Policy, DTypePolicy, set_global_policy,
global_policy (and their aliases set_dtype_policy, dtype_policy),
LossScaleOptimizer (frontend/mixed_precision.py)."""

from .frontend.mixed_precision import (  # noqa: F401
    DTypePolicy,
    Policy,
    global_policy,
    set_global_policy,
)
from .frontend.optimizers import LossScaleOptimizer  # noqa: F401

# Keras 3's other names for the global policy's setter and getter
set_dtype_policy, dtype_policy = set_global_policy, global_policy
