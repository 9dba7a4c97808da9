"""Atomic file writes, shared by saving (frontend) and ONNX export.

A file is first written in full to a temporary file in the target's
directory, flushed to disk, then renamed over the target with `os.replace`
(atomic on POSIX and Windows): a reader sees the old file or the new one,
never half of one, and an interrupted write (an exception, a full disk)
leaves the old file as it was and no temporary file behind.

Modes: the new file gets the mode a plain `open(path, "w")` would give
(0666 less the umask), and a file that is overwritten keeps its mode
(the temporary file itself is created 0600 and chmod-ed before the
rename, so nobody can read it half-written).

This module imports nothing of the project, so any package may use it.
"""

from __future__ import annotations

import os
import stat
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


def _umask() -> int:
    try:  # Linux: read it without changing it (no race with other threads)
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    old = os.umask(0o022)
    os.umask(old)
    return old


def _mode_for(path: str) -> int:
    """The mode `path` should get: its current one when it exists (a
    regular file), else what open() would give under the umask."""
    try:
        st = os.stat(path)
        if stat.S_ISREG(st.st_mode):
            return stat.S_IMODE(st.st_mode)
    except OSError:
        pass
    return 0o666 & ~_umask()


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
            if hasattr(os, "fchmod"):
                os.fchmod(f.fileno(), _mode_for(path))
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
