"""The 8x8 handwritten digits (UCI, CC BY 4.0; see data/README.md).

`load_data()` returns ((x_train, y_train), (x_test, y_test)) like
`keras.datasets.mnist.load_data()`: x as uint8 images of shape (n, 8, 8)
with values 0..16, y as uint8 labels 0..9. The split is fixed: a
permutation from NumPy's legacy RandomState(1797) (whose stream NumPy keeps
frozen), the first 1,437 images for training and the last 360 for testing.
"""

from __future__ import annotations

import gzip
import os

import numpy as np

_PATH = os.path.join(os.path.dirname(__file__), "data", "digits.csv.gz")


def load_data():
    """Load the digits: ((x_train, y_train), (x_test, y_test))."""
    if not os.path.exists(_PATH):
        raise FileNotFoundError(
            f"The digits data file is missing from the installation: {_PATH}. "
            "Reinstall graphkeras (the package data datasets/data/* must be "
            "included)."
        )
    with gzip.open(_PATH, "rt") as f:
        table = np.loadtxt(f, delimiter=",", dtype=np.int64)
    x = table[:, :64].reshape(-1, 8, 8).astype(np.uint8)
    y = table[:, 64].astype(np.uint8)
    order = np.random.RandomState(1797).permutation(len(y))
    train, test = order[:1437], order[1437:]
    return (x[train], y[train]), (x[test], y[test])
