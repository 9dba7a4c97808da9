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
    utils,
    wrappers,
)
from .frontend.gradients import GradientTape
from .frontend.layers import Input, InputSpec, Layer
from .frontend.models import Model, Sequential
from .frontend.tensors import KerasTensor
from .frontend.variables import Variable

__all__ = [
    "GradientTape", "Input", "InputSpec", "KerasTensor", "Layer", "Model", "Sequential",
    "Variable", "activations", "applications", "backend", "callbacks", "config", "constraints",
    "datasets", "distribution",
    "initializers", "layers", "losses", "metrics", "models", "ops",
    "optimizers", "preprocessing", "random", "regularizers", "saving", "utils", "wrappers",
]
