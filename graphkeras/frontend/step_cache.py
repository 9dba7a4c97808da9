"""The executables of one model's steps, and when to trace them again.

A step is traced again only when what it computes changes: the compile()
call, the set of variables or their trainable flags (the *state
signature*), or the per-sample shapes / dtypes of the data (the batch size
is the IR symbol N and never triggers a rebuild). A model whose Inputs have
None in other dimensions gets one program per concrete per-sample shape,
all sharing the weights and optimizer state in the store.

Invariants: at most `max_size` executables are kept, least recently used
first out (a later batch of an evicted shape traces it again; the compile
cache makes that cheap); an entry traced while the state signature changed
(a subclassed model builds on its first call) is filed under the new
signature too, so the next batch does not trace it again.
"""

from __future__ import annotations

from .variables import structure_version
from ..runtime.collection import collection_paused


class Entry:
    """One cached step: its executable, its program, and the names of the
    logs an overridden step returns (None for the built-in steps)."""

    __slots__ = ("executable", "program", "log_names")

    def __init__(self, executable, program, log_names):
        self.executable = executable
        self.program = program
        self.log_names = log_names


class StepCache:
    """Executables keyed by (kind, per-sample data signature, state
    signature), least recently used first out."""

    def __init__(self, max_size: int = 16):
        self.max_size = max_size
        self._entries: dict = {}
        self._last: dict = {}  # kind -> Entry last traced
        self._sig = None  # (structure version, compile version) -> signature
        # predict_on_batch's last call: (structure version, compile
        # version, per-sample shape, the executable's run1_fast, plain output)
        self.fast = None

    def __len__(self) -> int:
        return len(self._entries)

    def values(self) -> list:
        return [e.executable for e in self._entries.values()]

    def clear(self) -> None:
        self._entries.clear()
        self.fast = None

    def last_program(self, kind: str):
        """The program last traced for `kind` (tests, the CLI)."""
        entry = self._last.get(kind)
        return None if entry is None else entry.program

    def signature(self, model):
        """The state signature: the compile() call and the variables with
        their trainable flags (cached per structure version)."""
        version = (structure_version(), model._compile_version)
        if self._sig is not None and self._sig[0] == version:
            return self._sig[1]
        sig = (model._compile_version,
               tuple((v.key, v.trainable) for v in model.variables))
        self._sig = (version, sig)
        return sig

    @staticmethod
    def data_key(kind, xs, ys, sws, x_template) -> tuple:
        def shapes(arrays):
            return None if arrays is None else tuple(
                (a.shape[1:], a.dtype.str) for a in arrays)

        return (kind, shapes(xs), shapes(ys), shapes(sws), repr(x_template))

    def get(self, model, kind, xs, ys, sws, x_template, make,
            variant=None) -> Entry:
        """The entry for this data; `make()` -> Entry traces a new one.
        `variant` tells apart programs traced differently for the same data
        (a DataParallel rank's)."""
        sig = self.signature(model)
        key = self.data_key(kind, xs, ys, sws, x_template) + (variant,)
        entry = self._entries.get(key + (sig,))
        if entry is not None:
            # least recently used goes first: keep this one fresh
            self._entries[key + (sig,)] = self._entries.pop(key + (sig,))
            return entry
        with collection_paused():
            entry = make()
        while len(self._entries) >= self.max_size:
            self._entries.pop(next(iter(self._entries)))
        self._entries[key + (sig,)] = entry
        self._last[kind] = entry
        new_sig = self.signature(model)
        if new_sig != sig:
            self._entries[key + (new_sig,)] = entry
        return entry
