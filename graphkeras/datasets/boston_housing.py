"""Boston housing prices (keras.datasets.boston_housing): 13 features, the
median value in k$; Keras's file ~/.keras/datasets/boston_housing.npz."""

from __future__ import annotations

import numpy as np

from ._files import ORIGIN, check_test_split, get_file, shuffled_split

_HASH = "f553886a1f8d56431e820c5b82552d9d95cfcb96d1e678153f8839538947dff5"


def load_data(path="boston_housing.npz", test_split=0.2, seed=113):
    """((x_train, y_train), (x_test, y_test)), shuffled by
    RandomState(seed) and split as Keras does."""
    check_test_split(test_split)
    path = get_file(path, origin=ORIGIN + "boston_housing.npz",
                    file_hash=_HASH)
    with np.load(path, allow_pickle=False) as f:
        x, y = f["x"], f["y"]
    return shuffled_split(x, y, test_split, seed)
