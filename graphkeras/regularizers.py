"""graphkeras.regularizers."""

from .frontend.regularizers import *
from .frontend.regularizers import ALL_OBJECTS, Regularizer, deserialize, get, serialize  # noqa: F401
