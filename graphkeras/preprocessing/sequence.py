"""graphkeras.preprocessing.sequence: keras.preprocessing.sequence's
functions."""

from ..frontend.utils import pad_sequences

__all__ = ["pad_sequences"]
