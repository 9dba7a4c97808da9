"""graphkeras.utils: to_categorical, set_random_seed, PyDataset, Progbar."""

from .frontend.utils import (  # noqa: F401
    Progbar,
    PyDataset,
    normalize,
    set_random_seed,
    to_categorical,
)
