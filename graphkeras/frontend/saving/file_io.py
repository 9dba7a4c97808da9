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
import stat

from ...fileio import atomic_write, atomic_write_bytes  # noqa: F401 (re-exported)


class FileFormatError(ValueError):
    """A model or weights file that is missing, truncated, corrupt or of
    another kind."""


def bad_file(path, what: str) -> FileFormatError:
    return FileFormatError(f"Cannot load {os.fspath(path)}: {what}")


def check_readable(path) -> str:
    """`path` as a string, after checking it names an existing regular
    file (a FIFO, a device such as /dev/zero or a symlink to one is refused
    at once: reading it would hang or never end)."""
    path = os.fspath(path)
    try:
        st = os.stat(path)
    except FileNotFoundError:
        raise FileNotFoundError(f"No such file: {path}") from None
    except OSError as e:
        raise bad_file(path, f"it cannot be read ({e.strerror}).") from None
    if stat.S_ISDIR(st.st_mode):
        raise bad_file(path, "it is a directory, not a file.")
    if not stat.S_ISREG(st.st_mode):
        kind = ("a FIFO" if stat.S_ISFIFO(st.st_mode) else
                "a device" if stat.S_ISCHR(st.st_mode) or stat.S_ISBLK(
                    st.st_mode) else "a socket" if stat.S_ISSOCK(st.st_mode)
                else "not a regular file")
        raise bad_file(path, f"it is {kind}, not a regular file.")
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
