"""Writing files atomically and reporting unreadable ones clearly.

Invariants:
- Every file the saving code writes goes through `atomic_write`
  (graphkeras/fileio.py): written in full beside the target, then renamed
  over it, so an interrupted save leaves the old file as it was.
- A file that cannot be read as what it claims to be raises
  `FileFormatError` (a ValueError) whose message names the file and says
  what is wrong, instead of an error from deep inside h5py or zipfile.
"""

from __future__ import annotations

import os

from ...fileio import atomic_write, atomic_write_bytes  # noqa: F401 (re-exported)


class FileFormatError(ValueError):
    """A model or weights file that is missing, truncated, corrupt or of
    another kind."""


def bad_file(path, what: str) -> FileFormatError:
    return FileFormatError(f"Cannot load {os.fspath(path)}: {what}")


def check_readable(path) -> str:
    """`path` as a string, after checking it names an existing file."""
    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"No such file: {path}")
    if os.path.isdir(path):
        raise bad_file(path, "it is a directory, not a file.")
    return path


def open_h5(path_or_file, mode="r", name=None):
    """h5py.File on a path or a file object; an unreadable file raises
    FileFormatError naming it."""
    import h5py

    shown = name if name is not None else os.fspath(path_or_file) \
        if isinstance(path_or_file, (str, os.PathLike)) else "<file>"
    try:
        return h5py.File(path_or_file, mode)
    except OSError as e:
        if isinstance(path_or_file, (str, os.PathLike)) and not os.path.exists(
            path_or_file
        ):
            raise FileNotFoundError(f"No such file: {shown}") from None
        raise bad_file(
            shown, f"it is not a readable HDF5 file (truncated or corrupt?): "
            f"{_h5_reason(e)}"
        ) from None


def _h5_reason(e: Exception) -> str:
    text = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
    return text.rstrip(".") + "."
