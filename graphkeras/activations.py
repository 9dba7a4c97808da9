"""graphkeras.activations."""

from .frontend.activations import *
from .frontend.activations import ALL_OBJECTS, deserialize, get, serialize  # noqa: F401
