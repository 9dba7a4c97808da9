"""Atomic file writes, shared by saving (frontend) and ONNX export.

A file is first written in full to a temporary file in the target's
directory, flushed to disk, then renamed over the target with `os.replace`
(atomic on POSIX and Windows): a reader sees the old file or the new one,
never half of one, and an interrupted write (an exception, a full disk)
leaves the old file as it was and no temporary file behind.

This module imports nothing of the project, so any package may use it.
"""

from __future__ import annotations

import os
import tempfile


def temp_path_beside(path: str) -> str:
    """A new, empty temporary file in `path`'s directory (which must
    exist: FileNotFoundError naming it otherwise)."""
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise FileNotFoundError(
            f"Cannot write {path}: the directory {folder} does not exist."
        )
    fd, tmp = tempfile.mkstemp(
        prefix=f".{os.path.basename(path)}.", suffix=".tmp", dir=folder)
    os.close(fd)
    return tmp


def atomic_write(path, write) -> None:
    """Call `write(tmp_path)` to fill a temporary file, then move it to
    `path`. On any exception the temporary file is removed and `path` is
    untouched."""
    path = os.fspath(path)
    tmp = temp_path_beside(path)
    try:
        write(tmp)
        with open(tmp, "rb+") as f:
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


def atomic_write_bytes(path, data: bytes) -> None:
    """Write `data` to `path` atomically."""
    def write(tmp):
        with open(tmp, "wb") as f:
            f.write(data)

    atomic_write(path, write)
