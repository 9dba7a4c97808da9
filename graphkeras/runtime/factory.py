"""make_executable: the one place that decides how a Program runs.

`run_eagerly=True` (Keras's debugging flag) gives the reference
interpreter; otherwise the compiled executable from codegen. An error
inside the compiled path propagates: it is never silently replaced by the
interpreter.
"""

from __future__ import annotations

import contextlib
import gc

from .executable import Executable, InterpretedExecutable
from .program import Program
from .state import StateStore


@contextlib.contextmanager
def collection_paused():
    """Python's cyclic garbage collector off while a step is traced and
    compiled, back on after (untouched if it was already off).

    NOTE: compiling allocates millions of small objects that live until
    the end (IR nodes, types, texts); each full collection walks all of
    them, and collections come every few thousand allocations: a quarter
    of a 2,000-layer model's compile time. Nearly all of it is freed by
    reference counts, so little waits for the next collection."""
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def make_executable(program: Program, store: StateStore, *,
                    run_eagerly: bool = False) -> Executable:
    if run_eagerly:
        return InterpretedExecutable(program, store)
    from .compiled import CompiledExecutable

    with collection_paused():
        return CompiledExecutable(program, store)
