"""graphkeras.metrics."""

from .frontend.metrics import *
from .frontend.metrics import ALL_OBJECTS, Metric, deserialize, get, serialize  # noqa: F401
