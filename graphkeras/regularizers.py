"""graphkeras.regularizers."""

from .frontend.regularizers import *  # noqa: F401,F403
from .frontend.regularizers import ALL_OBJECTS, Regularizer, get  # noqa: F401
