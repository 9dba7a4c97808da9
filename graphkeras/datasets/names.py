"""English first names labelled by gender (Moby Word II, public domain;
see data/README.md): a small real text-classification dataset.

`load_data()` returns ((x_train, y_train), (x_test, y_test)) like
`keras.datasets.imdb.load_data()`: x as arrays of integer sequences (one
list per name, characters encoded by `get_char_index()`, index 0 left for
padding), y as uint8 labels (1 = listed as a female name, 0 = male). Names
the source lists under both genders are left out. The split is fixed: a
permutation from NumPy's legacy RandomState(seed), the last `test_split`
fraction for testing.
"""

from __future__ import annotations

import gzip
import os
import string

import numpy as np

_PATH = os.path.join(os.path.dirname(__file__), "data", "names.csv.gz")
_CHARS = string.ascii_lowercase + "-' "


def get_char_index() -> dict:
    """Character -> index (1..29) used by load_data (lowercased)."""
    return {c: i + 1 for i, c in enumerate(_CHARS)}


def load_names() -> tuple:
    """(names, labels): the raw strings and their labels (1 = female)."""
    if not os.path.exists(_PATH):
        raise FileNotFoundError(
            f"The names data file is missing from the installation: {_PATH}. "
            "Reinstall graphkeras (the package data datasets/data/* must be "
            "included).")
    with gzip.open(_PATH, "rt", encoding="utf-8") as f:
        rows = [line.rstrip("\n").split(",") for line in f][1:]
    names = [r[0] for r in rows]
    labels = np.array([r[1] == "f" for r in rows], np.uint8)
    return names, labels


def load_data(test_split=0.2, seed=113):
    """Load the names: ((x_train, y_train), (x_test, y_test))."""
    if not 0.0 < test_split < 1.0:
        raise ValueError(
            f"test_split must be between 0 and 1, received {test_split!r}.")
    names, labels = load_names()
    index = get_char_index()
    seqs = np.empty(len(names), dtype=object)
    for i, n in enumerate(names):
        seqs[i] = [index.get(c, len(index)) for c in n.lower()]
    order = np.random.RandomState(seed).permutation(len(names))
    cut = int(len(names) * (1.0 - test_split))
    tr, te = order[:cut], order[cut:]
    return (seqs[tr], labels[tr]), (seqs[te], labels[te])
