"""graphkeras: the Keras API, compiled to native CPU code.

    import graphkeras as keras
    model = keras.Sequential([keras.layers.Dense(10, activation="softmax")])
"""

__version__ = "0.1.0"

from . import (  # noqa: E402
    activations,
    backend,
    callbacks,
    constraints,
    initializers,
    layers,
    losses,
    metrics,
    models,
    ops,
    optimizers,
    random,
    regularizers,
    saving,
    utils,
)
from .frontend.layers import Input, InputSpec, Layer  # noqa: E402
from .frontend.models import Model, Sequential  # noqa: E402
from .frontend.tensors import KerasTensor  # noqa: E402
from .frontend.variables import Variable  # noqa: E402

__all__ = [
    "Input", "InputSpec", "KerasTensor", "Layer", "Model", "Sequential",
    "Variable", "activations", "backend", "callbacks", "constraints",
    "initializers", "layers", "losses", "metrics", "models", "ops",
    "optimizers", "random", "regularizers", "saving", "utils",
]
