"""StateStore: the persistent tensors that programs read and update.

Buffers are 64-byte aligned and C-contiguous, and keep their address for
their whole life (`assign` copies into them), so compiled code can hold
their pointers across calls.
"""

from __future__ import annotations

import numpy as np

from ..ir import TensorType


def aligned_empty(shape, dtype, align: int = 64) -> np.ndarray:
    """An uninitialized C-contiguous array whose data is `align`-aligned."""
    dtype = np.dtype(dtype)
    n = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    raw = np.empty(n + align, dtype=np.uint8)
    off = (-raw.ctypes.data) % align
    return raw[off:off + n].view(dtype).reshape(shape)


class StateStore:
    """Named, typed, aligned buffers."""

    def __init__(self):
        self._arrays: dict[str, np.ndarray] = {}
        self.version = 0  # bumped when a buffer is added or removed

    def __contains__(self, name: str) -> bool:
        return name in self._arrays

    def __getitem__(self, name: str) -> np.ndarray:
        return self._arrays[name]

    def names(self) -> list:
        return list(self._arrays)

    def define(self, name: str, type: TensorType, value=None) -> np.ndarray:
        """Create (or re-create, if the type changed) a buffer."""
        shape, dtype = type.shape, type.dtype.np
        old = self._arrays.get(name)
        if old is None or old.shape != tuple(shape) or old.dtype != dtype:
            self._arrays[name] = aligned_empty(shape, dtype)
            self._arrays[name][...] = 0
            self.version += 1
        if value is not None:
            self.assign(name, value)
        return self._arrays[name]

    def assign(self, name: str, value) -> None:
        buf = self._arrays[name]
        value = np.asarray(value)
        if value.shape != buf.shape:
            raise ValueError(
                f'Cannot assign a value of shape {value.shape} to "{name}", '
                f"which has shape {buf.shape}."
            )
        np.copyto(buf, value, casting="same_kind")

    def remove(self, name: str) -> None:
        if self._arrays.pop(name, None) is not None:
            self.version += 1
