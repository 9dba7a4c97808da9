"""collection_paused: Python's cyclic garbage collector off while a step
is traced, compiled and first set up."""

from __future__ import annotations

import contextlib
import gc


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
