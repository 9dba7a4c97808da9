"""Utilities (graphkeras.utils)."""

from __future__ import annotations

import numpy as np

from ..random import set_random_seed
from .progbar import Progbar
from .py_dataset import PyDataset
from .sequence import pad_sequences, timeseries_dataset_from_array


def to_categorical(x, num_classes=None):
    """One-hot encode integer class labels (a trailing axis of size 1 is
    dropped), as keras.utils.to_categorical."""
    x = np.asarray(x, dtype="int64")
    shape = x.shape
    if shape and shape[-1] == 1 and len(shape) > 1:
        shape = shape[:-1]
    x = x.reshape(-1)
    if x.size and x.min() < 0:
        raise ValueError(
            f"to_categorical expects non-negative class labels, received a "
            f"minimum of {x.min()}."
        )
    if num_classes is None:
        num_classes = int(x.max()) + 1 if x.size else 0
    if x.size and x.max() >= num_classes:
        raise ValueError(
            f"to_categorical: label {int(x.max())} is out of range for "
            f"num_classes={num_classes}."
        )
    out = np.zeros((x.size, num_classes), dtype="float32")
    out[np.arange(x.size), x] = 1
    return out.reshape(shape + (num_classes,))


def normalize(x, axis=-1, order=2):
    """x divided by its `order`-norm along `axis` (a zero norm divides by
    1). A NumPy array is divided in NumPy (a float64 array stays float64,
    as in Keras); anything else becomes float32 first."""
    if not isinstance(x, np.ndarray):
        x = np.asarray(x, dtype="float32")
    n = np.linalg.norm(x, ord=order, axis=axis, keepdims=True)
    return x / np.where(n == 0, 1, n)


__all__ = ["Progbar", "PyDataset", "normalize", "pad_sequences",
           "set_random_seed", "timeseries_dataset_from_array",
           "to_categorical"]
