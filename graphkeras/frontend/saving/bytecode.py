"""Whether a code object read from a file is this interpreter's bytecode.

A Lambda layer is saved (by Keras 3 and by graphkeras) as the marshalled
bytecode of its function, with no record of the Python that wrote it.
Bytecode is not portable: marshal reads another version's code object
without complaint, and reading or running it can crash the interpreter
(Python 3.13 running a lambda written by 3.11 segfaults; 3.11 reading
3.13's, or 3.12 reading 3.11's, corrupts memory as it builds the code
object). `load_code` therefore reads the bytes first in a forked child
process, which checks them and exits; only bytecode the child read and
accepted is read here (without fork, as on Windows, only the checks run).
The checks (`check_code`):

- the instructions as this interpreter reads them (`co_code`: the
  instructions with their inline cache entries blanked, as this version
  lays them out) must stand in the file as they are: another version's
  layout of cache entries differs (3.11, 3.12 and 3.13 each have their
  own, 3.10 none), and reading it this version's way blanks or changes
  instructions;
- every opcode must exist here and be followed by the cache entries this
  version gives it;

for the function and every function nested in it.
"""

from __future__ import annotations

import dis
import marshal
import opcode
import os
import signal
import sys
import time
import types
import warnings

_CACHE = dis.opmap.get("CACHE")
_PROBE_SECONDS = 30.0  # reading a function's bytecode takes microseconds
_ENTRIES = getattr(opcode, "_inline_cache_entries", None)


def _caches(op: int) -> int:
    """Inline cache units that follow opcode `op` in this version."""
    if _ENTRIES is None:
        return 0
    if isinstance(_ENTRIES, dict):  # 3.13: by name
        return int(_ENTRIES.get(dis.opname[op], 0))
    return int(_ENTRIES[op])


def _foreign(code: types.CodeType) -> str | None:
    """Why `code` is not this interpreter's bytecode, or None."""
    raw = code.co_code
    if len(raw) % 2:
        return "its length is odd"
    i, n = 0, len(raw)
    while i < n:
        op = raw[i]
        name = dis.opname[op]
        if name.startswith("<") or (op == _CACHE and _CACHE is not None):
            return f"byte {i} is opcode {op}, which this Python does not have"
        k = _caches(op)
        for j in range(1, k + 1):
            at = i + 2 * j
            if at >= n or raw[at] != _CACHE:
                return (f"{name} at byte {i} lacks the {k} inline cache "
                        "entries this Python gives it")
        i += 2 * (k + 1)
    for c in code.co_consts:
        if isinstance(c, types.CodeType):
            why = _foreign(c)
            if why is not None:
                return why
    return None


def _not_verbatim(code: types.CodeType, raw: bytes) -> str | None:
    """Why `code` (read from the marshalled `raw`) is not this version's
    reading of its own bytes, or None."""
    if code.co_code not in raw:
        return ("its instructions read differently here than they were "
                "written")
    for c in code.co_consts:
        if isinstance(c, types.CodeType):
            why = _not_verbatim(c, raw)
            if why is not None:
                return why
    return None


def _version() -> str:
    return f"{sys.version_info.major}.{sys.version_info.minor}"


def _probe(raw: bytes) -> int | None:
    """Read and check `raw` in a forked child: its exit status (0: this
    version's bytecode; 3: refused; 4: not readable; a signal: it crashed
    the child), or None where processes cannot be forked."""
    if not hasattr(os, "fork"):
        return None
    with warnings.catch_warnings():  # "multi-threaded, fork() may deadlock":
        warnings.simplefilter("ignore", DeprecationWarning)  # no locks taken
        pid = os.fork()
    if pid == 0:  # the child: no locks, no imports, no cleanup
        status = 4
        try:
            code = marshal.loads(raw)
            if isinstance(code, types.CodeType):
                status = 0 if (_not_verbatim(code, raw) or
                               _foreign(code)) is None else 3
            del code
        except BaseException:  # noqa: BLE001, S110 - reported by status
            pass
        os._exit(status)
    deadline = time.monotonic() + _PROBE_SECONDS
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return status
        if time.monotonic() > deadline:  # a child that hangs is refused
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            return signal.SIGKILL
        time.sleep(0.001)


def load_code(raw: bytes) -> types.CodeType:
    """The code object marshalled in `raw`, if this Python wrote it; else a
    ValueError (never a crash: see the module docstring)."""
    status = _probe(raw)
    if status not in (None, 0):
        why = ("reading it killed or hung a test process"
               if os.WIFSIGNALED(status)
               else "it is not readable as a code object" if
               os.WEXITSTATUS(status) == 4 else
               "its instructions are not laid out as this Python lays them")
        raise ValueError(
            f"Could not rebuild a Python lambda from its saved bytecode: "
            f"{why}. It was written by another Python version than this one "
            f"({_version()}), or is damaged. Bytecode does not move between "
            "Python versions: load the file with the Python version that "
            "saved it, or build the model in code and load the file's "
            "weights (load_weights).")
    try:
        code = marshal.loads(raw)
    except (ValueError, TypeError, EOFError) as e:
        raise ValueError(
            "Could not rebuild a Python lambda from its saved bytecode "
            f"(written by another Python version?): {e}") from None
    return check_code(code, raw)


def check_code(code, raw: bytes | None = None) -> types.CodeType:
    """`code` if it is a code object of this interpreter's bytecode, else
    a ValueError saying so. `raw`: the marshalled bytes it was read from."""
    version = _version()
    if not isinstance(code, types.CodeType):
        raise ValueError(
            "Could not rebuild a Python lambda from its saved bytecode: it "
            f"is not a code object (received {type(code).__name__}).")
    why = _not_verbatim(code, raw) if raw is not None else None
    why = why or _foreign(code)
    if why is not None:
        raise ValueError(
            f"Could not rebuild the Python lambda {code.co_name!r} from its "
            f"saved bytecode: it was written by another Python version than "
            f"this one ({version}): {why}. Bytecode does not move between "
            "Python versions: load the file with the Python version that "
            "saved it, or build the model in code and load the file's "
            "weights (load_weights).")
    return code
