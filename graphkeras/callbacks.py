"""graphkeras.callbacks."""

from .frontend.callbacks import *  # noqa: F401,F403
