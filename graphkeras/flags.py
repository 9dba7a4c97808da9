"""Every GRAPHKERAS_* environment flag graphkeras reads, in one place.

GRAPHKERAS_DUMP        comma list of ir, llvm, llvm-opt, asm: write what
                       was generated (to GRAPHKERAS_DUMP_DIR, default
                       ./graphkeras_dump)
GRAPHKERAS_VERIFY      1: verify the program after every pass
GRAPHKERAS_CACHE       0: turn the on-disk compile cache off
GRAPHKERAS_CACHE_DIR   where the compile cache lives
GRAPHKERAS_CACHE_MAX   the compile cache's size cap (bytes, or with a
                       K/M/G suffix; default 1G): LRU entries are evicted
GRAPHKERAS_NUM_THREADS threads for native steps (default: all cores)
GRAPHKERAS_COMPILE_PROCESSES  child processes that compile object code
                       (default: one per core, at most 2; 0 compiles in
                       this process, where an LLVM abort ends it)
GRAPHKERAS_INJECT_COMPILE_FAULT  (tests) a compile process aborts on a
                       kernel whose label contains this text
GRAPHKERAS_ISA         avx2 or sse: generate code for that narrower
                       instruction set than the host's (the AVX2 and SSE
                       paths run and are tested on an AVX-512 machine)
GRAPHKERAS_MPI_TIMEOUT seconds a rank may wait in one collective before
                       the job is aborted (graphkeras.distribution;
                       default 300)

A leaf of the import ladder (tests/test_import_ladder.py): it imports
nothing of the project, so ir, passes, codegen and runtime read their
switches here. Keras's global settings (the `keras.config` API: floatx,
epsilon, image_data_format, ...) live in config.py. Each reader reads the
environment when called, so a test or a user may set a flag late.
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


def compile_processes() -> int:
    v = _flag("GRAPHKERAS_COMPILE_PROCESSES").strip()
    if v:
        try:
            return max(int(v), 0)
        except ValueError:
            pass
    return max(1, min(os.cpu_count() or 1, 2))


def inject_compile_fault() -> str:
    return _flag("GRAPHKERAS_INJECT_COMPILE_FAULT")


def cache_max_bytes() -> int:
    v = _flag("GRAPHKERAS_CACHE_MAX").strip()
    if not v:
        return 1 << 30
    scale = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}.get(v[-1:].upper(), 1)
    try:
        n = int(v[:-1] if scale > 1 else v) * scale
    except ValueError:
        n = -1
    if n < 0:
        raise ValueError(
            "GRAPHKERAS_CACHE_MAX must be a size in bytes (optionally with a "
            f"K, M or G suffix, e.g. 512M), got {v!r}."
        )
    return n


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


ISAS = ("avx512", "avx2", "sse")


def isa() -> str:
    """GRAPHKERAS_ISA, lowercased ("": the host's widest)."""
    v = _flag("GRAPHKERAS_ISA").strip().lower()
    if v and v not in ISAS:
        raise ValueError(
            f"GRAPHKERAS_ISA must be one of {', '.join(ISAS)} (or unset for "
            f"the host's widest), got {v!r}.")
    return v


def mpi_timeout() -> float:
    v = _flag("GRAPHKERAS_MPI_TIMEOUT")
    if not v:
        return 300.0
    try:
        t = float(v)
    except ValueError:
        t = -1.0
    if not t > 0:
        raise ValueError(
            f"GRAPHKERAS_MPI_TIMEOUT must be a positive number of seconds, "
            f"got {v!r}.")
    return t
