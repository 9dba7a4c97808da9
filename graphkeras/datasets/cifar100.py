"""CIFAR-100 (keras.datasets.cifar100): 32x32 RGB images of 100 fine / 20
coarse classes, in Keras's cache folder
~/.keras/datasets/cifar-100-python-target/cifar-100-python/.
"""

from __future__ import annotations

import os

import numpy as np

from ._files import get_file
from .cifar10 import _layout, load_batch

_ORIGIN = "https://www.cs.toronto.edu/~kriz/cifar-100-python.tar.gz"
_HASH = "85cd44d02ba6437773c5bbd22e183051d648de2e7d6b014e1ef29b855ba677a7"


def load_data(label_mode="fine"):
    """((x_train, y_train), (x_test, y_test)): uint8 images (n, 32, 32, 3)
    and labels of shape (n, 1).

    Args:
        label_mode: "fine" (100 classes) or "coarse" (20 superclasses).
    """
    if label_mode not in ("fine", "coarse"):
        raise ValueError(
            '`label_mode` must be one of `"fine"`, `"coarse"`. Received: '
            f"label_mode={label_mode}."
        )
    path = get_file(fname="cifar-100-python-target", origin=_ORIGIN,
                    extract=True, file_hash=_HASH)
    path = os.path.join(path, "cifar-100-python")
    key = f"{label_mode}_labels"
    x_train, y_train = load_batch(os.path.join(path, "train"), key)
    x_test, y_test = load_batch(os.path.join(path, "test"), key)
    y_train = np.reshape(np.asarray(y_train), (-1, 1))
    y_test = np.reshape(np.asarray(y_test), (-1, 1))
    return (_layout(x_train), y_train), (_layout(x_test), y_test)
