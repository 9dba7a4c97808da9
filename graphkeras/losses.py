"""graphkeras.losses."""

from .frontend.losses import *
from .frontend.losses import ALL_OBJECTS, Loss, deserialize, get, serialize  # noqa: F401
