"""graphkeras.constraints."""

from .frontend.constraints import *
from .frontend.constraints import ALL_OBJECTS, Constraint, deserialize, get, serialize  # noqa: F401
