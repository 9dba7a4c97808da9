"""graphkeras: the Keras API, compiled to native CPU code.

    import graphkeras as keras
    model = keras.Sequential([keras.layers.Dense(10, activation="softmax")])
"""

from .version import __version__  # noqa: F401

from . import (
    activations,
    applications,
    backend,
    callbacks,
    config,
    constraints,
    datasets,
    distribution,
    dtype_policies,
    initializers,
    layers,
    losses,
    metrics,
    mixed_precision,
    models,
    ops,
    optimizers,
    preprocessing,
    random,
    regularizers,
    saving,
    tree,
    utils,
    wrappers,
)
from .backend import device
from .frontend.gradients import GradientTape
from .frontend.layers import Input, InputSpec, Layer
from .frontend.models import Model, Sequential
from .frontend.tensors import KerasTensor
from .frontend.variables import Variable
# Keras 3's top-level base classes (keras.Loss, keras.Metric, ...)
from .config import DTypePolicy
from .initializers import Initializer
from .losses import Loss
from .metrics import Metric
from .optimizers import Optimizer
from .regularizers import Regularizer


def version() -> str:
    """The graphkeras version string (Keras 3's `keras.version()`)."""
    return __version__

__all__ = [
    "DTypePolicy", "Initializer", "Loss", "Metric", "Optimizer",
    "Regularizer",
    "GradientTape", "Input", "InputSpec", "KerasTensor", "Layer", "Model", "Sequential",
    "Variable", "activations", "applications", "backend", "callbacks", "config", "constraints",
    "datasets", "device", "distribution", "dtype_policies",
    "initializers", "layers", "losses", "metrics", "models", "ops",
    "optimizers", "preprocessing", "random", "regularizers", "saving", "tree", "utils",
    "version", "wrappers",
]
