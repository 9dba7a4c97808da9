"""CIFAR-10 (keras.datasets.cifar10): 32x32 RGB images of 10 classes, from
the "python version" archive (pickled batches), in Keras's cache folder
~/.keras/datasets/cifar-10-batches-py-target/cifar-10-batches-py/.
"""

from __future__ import annotations

import os

import numpy as np

from ..config import image_data_format
from ._files import get_file, load_pickle

_ORIGIN = "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
_HASH = "6d958be074577803d12ecdefd02955f39262c83c16fe9348329d7fe0b5c001ce"


def load_batch(fpath, label_key="labels"):
    """(data (n, 3, 32, 32) uint8, labels) of one pickled CIFAR batch."""
    d = {k.decode("utf8") if isinstance(k, bytes) else k: v
         for k, v in load_pickle(fpath).items()}
    data = np.asarray(d["data"], dtype=np.uint8)
    return data.reshape(data.shape[0], 3, 32, 32), d[label_key]


def _layout(x):
    return x.transpose(0, 2, 3, 1) if image_data_format() == "channels_last" \
        else x


def load_data():
    """((x_train, y_train), (x_test, y_test)): uint8 images (n, 32, 32, 3)
    (channels_first: (n, 3, 32, 32)) and uint8 labels of shape (n, 1)."""
    path = get_file(fname="cifar-10-batches-py-target", origin=_ORIGIN,
                    extract=True, file_hash=_HASH)
    path = os.path.join(path, "cifar-10-batches-py")
    xs, ys = [], []
    for i in range(1, 6):
        x, y = load_batch(os.path.join(path, f"data_batch_{i}"))
        xs.append(x)
        ys.append(np.asarray(y, dtype=np.uint8))
    x_test, y_test = load_batch(os.path.join(path, "test_batch"))
    x_train = np.concatenate(xs)
    y_train = np.concatenate(ys).reshape(-1, 1)
    y_test = np.asarray(y_test, dtype=np.uint8).reshape(-1, 1)
    return (_layout(x_train), y_train), (_layout(x_test), y_test)
