"""California housing prices (keras.datasets.california_housing): 8
features, the median house value; Keras's file
~/.keras/datasets/california_housing.npz."""

from __future__ import annotations

import numpy as np

from ._files import ORIGIN, check_test_split, get_file, shuffled_split

_HASH = "1a2e3a52e0398de6463aebe6f4a8da34fb21fbb6b934cf88c3425e766f2a1a6f"


def load_data(version="large", path="california_housing.npz", test_split=0.2,
              seed=113):
    """((x_train, y_train), (x_test, y_test)).

    Args:
        version: "large" (all 20,640 rows) or "small" (the first 600).
    """
    check_test_split(test_split)
    path = get_file(path, origin=ORIGIN + "california_housing.npz",
                    file_hash=_HASH)
    with np.load(path, allow_pickle=False) as f:
        x, y = f["x"], f["y"]
    if version == "small":
        x, y = x[:600], y[:600]
    elif version != "large":
        raise ValueError(
            "Argument `version` must be one of 'small', 'large'. Received: "
            f"version={version}"
        )
    return shuffled_split(x, y, test_split, seed)
