"""graphkeras.constraints."""

from .frontend.constraints import *  # noqa: F401,F403
from .frontend.constraints import ALL_OBJECTS, Constraint, get  # noqa: F401
