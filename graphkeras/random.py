"""graphkeras.random: keras.random (defined in frontend/random.py)."""

from .frontend.random import (  # noqa: F401
    SeedGenerator,
    beta,
    binomial,
    categorical,
    dropout,
    gamma,
    normal,
    randint,
    shuffle,
    truncated_normal,
    uniform,
)
