"""graphkeras.metrics."""

from .frontend.metrics import *  # noqa: F401,F403
from .frontend.metrics import ALL_OBJECTS, Metric, get  # noqa: F401
