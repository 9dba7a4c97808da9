"""How much memory this process can still take, and the check that a
step's working memory fits in it.

Linux grants a large allocation without backing it (overcommit) and kills
the process when the pages are touched and none are left: an arena too
large for the machine would not raise MemoryError, the step would take the
process down. So before an arena is allocated, its size is compared with
what the machine can give: MemAvailable plus free swap (/proc/meminfo), and
under a cgroup v2 memory limit, the limit minus the group's usage. Where
neither can be read, nothing is checked.
"""

from __future__ import annotations

import os

_MEMINFO = "/proc/meminfo"
_CGROUP = "/sys/fs/cgroup"


def _meminfo() -> int | None:
    try:
        with open(_MEMINFO) as f:
            fields = dict(line.split(":", 1) for line in f if ":" in line)
        kb = int(fields["MemAvailable"].split()[0])
        kb += int(fields.get("SwapFree", "0 kB").split()[0])
        return kb * 1024
    except (OSError, KeyError, ValueError, IndexError):
        return None


def _cgroup() -> int | None:
    """The cgroup v2 limit left to this process's group, if one is set."""
    try:
        with open("/proc/self/cgroup") as f:
            path = next((line.strip().split(":", 2)[2] for line in f
                         if line.startswith("0::")), None)
        if path is None:
            return None
        d = os.path.join(_CGROUP, path.lstrip("/"))
        with open(os.path.join(d, "memory.max")) as f:
            limit = f.read().strip()
        if limit == "max":
            return None
        with open(os.path.join(d, "memory.current")) as f:
            used = int(f.read().strip())
        return max(int(limit) - used, 0)
    except (OSError, ValueError, IndexError, StopIteration):
        return None


def available_bytes() -> int | None:
    """What this process can still allocate and touch, or None (unknown)."""
    known = [b for b in (_meminfo(), _cgroup()) if b is not None]
    return min(known) if known else None


def _gib(n: int) -> str:
    return f"{n / 2**30:.1f} GiB" if n >= 2**30 else f"{n / 2**20:.0f} MiB"


def check_fits(nbytes: int, what: str, advice: str) -> None:
    """Raise MemoryError (naming `what`, the sizes and `advice`) when
    `nbytes` more cannot be backed by the machine."""
    free = available_bytes()
    if free is None or nbytes <= free:
        return
    raise MemoryError(
        f"{what} needs {_gib(nbytes)} of working memory; this machine can "
        f"give {_gib(free)} more (available memory and swap). Allocating it "
        f"would get the process killed when its pages are touched. {advice}")
