"""graphkeras.layers: the Keras layers (`from graphkeras.layers import Dense`)."""

from .frontend.layers import (  # noqa: F401
    Activation,
    Dense,
    Dropout,
    Flatten,
    Identity,
    Input,
    InputLayer,
    InputSpec,
    Layer,
    Reshape,
)
