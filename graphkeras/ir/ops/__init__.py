"""The op definitions. Importing this package registers every op."""

from . import elementwise, index, linalg, nn, random, reduce, shape, source  # noqa: F401
