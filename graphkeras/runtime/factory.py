"""make_executable: the one place that decides how a Program runs.

`run_eagerly=True` (Keras's debugging flag) gives the reference
interpreter; otherwise the compiled executable from codegen. An error
inside the compiled path propagates: it is never silently replaced by the
interpreter.
"""

from __future__ import annotations

from .collection import collection_paused
from .executable import Executable, InterpretedExecutable
from .program import Program
from .state import StateStore


def make_executable(program: Program, store: StateStore, *,
                    run_eagerly: bool = False) -> Executable:
    if run_eagerly:
        return InterpretedExecutable(program, store)
    from .compiled import CompiledExecutable

    with collection_paused():
        return CompiledExecutable(program, store)
