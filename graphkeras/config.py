"""Every environment flag graphkeras reads, in one place.

GRAPHKERAS_DUMP        comma list of ir, llvm, llvm-opt, asm: write what
                       was generated (to GRAPHKERAS_DUMP_DIR, default
                       ./graphkeras_dump)
GRAPHKERAS_VERIFY      1: verify the program after every pass
GRAPHKERAS_CACHE       0: turn the on-disk compile cache off
GRAPHKERAS_CACHE_DIR   where the compile cache lives
GRAPHKERAS_NUM_THREADS threads for native steps (default: all cores)
"""

from __future__ import annotations

import os


def _flag(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


def dump_kinds() -> set[str]:
    return {k.strip() for k in _flag("GRAPHKERAS_DUMP").split(",") if k.strip()}


def dump_dir() -> str:
    return _flag("GRAPHKERAS_DUMP_DIR", os.path.join(os.getcwd(), "graphkeras_dump"))


def verify_passes() -> bool:
    return _flag("GRAPHKERAS_VERIFY") not in ("", "0")


def cache_enabled() -> bool:
    return _flag("GRAPHKERAS_CACHE", "1") != "0"


def cache_dir() -> str:
    d = _flag("GRAPHKERAS_CACHE_DIR")
    if d:
        return d
    base = _flag("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "graphkeras")


def num_threads() -> int:
    v = _flag("GRAPHKERAS_NUM_THREADS")
    if v:
        try:
            n = int(v)
        except ValueError:
            raise ValueError(
                f"GRAPHKERAS_NUM_THREADS must be a positive integer, got {v!r}."
            ) from None
        if n < 1:
            raise ValueError(
                f"GRAPHKERAS_NUM_THREADS must be a positive integer, got {v!r}."
            )
        return n
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1
