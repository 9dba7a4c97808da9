"""graphkeras.losses."""

from .frontend.losses import *  # noqa: F401,F403
from .frontend.losses import ALL_OBJECTS, Loss, get, serialize  # noqa: F401
