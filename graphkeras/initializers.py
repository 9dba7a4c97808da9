"""graphkeras.initializers."""

from .frontend.initializers import *  # noqa: F401,F403
from .frontend.initializers import (  # noqa: F401
    ALL_OBJECTS,
    Initializer,
    deserialize,
    get,
    serialize,
)
