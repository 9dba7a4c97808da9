"""graphkeras.datasets (also `keras.datasets` after `import graphkeras as
keras`).

Shipped inside the package: digits, names, co2. Keras's loaders (mnist,
fashion_mnist, cifar10, cifar100, imdb, reuters, boston_housing,
california_housing) read Keras's own cache files (~/.keras/datasets, or
$KERAS_HOME/datasets) and download from Keras's URLs when they are missing.
"""

from . import (
    boston_housing,
    california_housing,
    cifar10,
    cifar100,
    co2,
    digits,
    fashion_mnist,
    imdb,
    mnist,
    names,
    reuters,
)

__all__ = ["boston_housing", "california_housing", "cifar10", "cifar100",
           "co2", "digits", "fashion_mnist", "imdb", "mnist", "names",
           "reuters"]
