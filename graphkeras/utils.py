"""graphkeras.utils: to_categorical, set_random_seed, PyDataset, Progbar,
pad_sequences, timeseries_dataset_from_array."""

from .frontend.utils import (  # noqa: F401
    Progbar,
    PyDataset,
    normalize,
    pad_sequences,
    set_random_seed,
    timeseries_dataset_from_array,
    to_categorical,
)
