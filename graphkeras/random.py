"""graphkeras.random: counter-based random tensors and SeedGenerator."""

from .frontend.random import (  # noqa: F401
    SeedGenerator,
    dropout,
    normal,
    uniform,
)
