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


# A model file's HDF5 tree is walked once before reading; past this many
# objects it is refused (a model has a few per weight).
MAX_H5_OBJECTS = 200_000
# h5py's errors for a damaged file (libhdf5 reports through these).
H5_ERRORS = (OSError, KeyError, RuntimeError, TypeError, ValueError)


def check_h5_tree(h5file, path) -> None:
    """Refuse an HDF5 file holding soft or external links (an external
    link reads another file: /etc/passwd, /dev/zero...; a soft link can
    loop), or too many objects, before any weight is read. A damaged
    tree raises FileFormatError naming the file."""
    import h5py

    seen, stack = 0, [h5file]
    try:
        while stack:
            group = stack.pop()
            for name in group:
                seen += 1
                if seen > MAX_H5_OBJECTS:
                    raise bad_file(path, f"its HDF5 tree holds more than "
                                   f"{MAX_H5_OBJECTS} objects; a model "
                                   "file has a few per weight.")
                link = group.get(name, getlink=True)
                where = f"{group.name.rstrip('/')}/{name}"
                if isinstance(link, h5py.ExternalLink):
                    raise bad_file(path, f"it holds an HDF5 external link "
                                   f"{where} -> {link.filename}:{link.path}; "
                                   "model files hold no links (refusing to "
                                   "read another file).")
                if isinstance(link, h5py.SoftLink):
                    raise bad_file(path, f"it holds an HDF5 soft link "
                                   f"{where} -> {link.path}; model files "
                                   "hold no links.")
                obj = group.get(name)
                if isinstance(obj, h5py.Group):
                    stack.append(obj)
    except FileFormatError:
        raise
    except H5_ERRORS as e:
        raise bad_file(path, "its HDF5 structure is damaged (truncated or "
                       f"corrupt?): {_h5_reason(e)}") from None

