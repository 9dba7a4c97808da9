"""graphkeras.activations."""

from .frontend.activations import *  # noqa: F401,F403
from .frontend.activations import ALL_OBJECTS, get, serialize  # noqa: F401
