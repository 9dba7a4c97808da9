"""MNIST digits (keras.datasets.mnist): 60,000 + 10,000 28x28 uint8 images.

Read from Keras's cache file (~/.keras/datasets/mnist.npz) when present,
downloaded from Keras's URL otherwise.
"""

from __future__ import annotations

import numpy as np

from ._files import ORIGIN, get_file

_HASH = "731c5ac602752760c8e48fbffcf8c3b850d9dc2a2aedcf2cc48468fc17b673d1"


def load_data(path="mnist.npz"):
    """((x_train, y_train), (x_test, y_test)): uint8 images (n, 28, 28)
    and uint8 labels 0..9.

    Args:
        path: the file name in the cache (`~/.keras/datasets`).
    """
    path = get_file(fname=path, origin=ORIGIN + "mnist.npz", file_hash=_HASH)
    with np.load(path, allow_pickle=False) as f:
        return (f["x_train"], f["y_train"]), (f["x_test"], f["y_test"])
