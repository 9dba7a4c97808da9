"""graphkeras.initializers."""

from .frontend.initializers import *  # noqa: F401,F403
from .frontend.initializers import ALL_OBJECTS, Initializer, get  # noqa: F401
