"""Writing files atomically and reporting unreadable ones clearly.

Invariants:
- Every file the saving code writes is first written in full to a
  temporary file in the same directory, flushed to disk, then renamed over
  the target with `os.replace` (atomic on POSIX and Windows). An
  interrupted save (an exception, a crash, a full disk) leaves the old
  file as it was and no temporary file behind (except after a hard kill).
- A file that cannot be read as what it claims to be raises
  `FileFormatError` (a ValueError) whose message names the file and says
  what is wrong, instead of an error from deep inside h5py or zipfile.
"""

from __future__ import annotations

import os
import tempfile


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


def _temp_path(path: str) -> str:
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
    tmp = _temp_path(path)
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
    def write(tmp):
        with open(tmp, "wb") as f:
            f.write(data)

    atomic_write(path, write)


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
