"""graphkeras.runtime: programs, state, and the executables that run them."""

from .executable import Executable, InterpretedExecutable
from .factory import make_executable
from .program import Program
from .state import StateStore, aligned_empty

__all__ = ["Executable", "InterpretedExecutable", "Program", "StateStore",
           "aligned_empty", "bf16_native", "make_executable",
           "prefetch_libraries"]


def prefetch_libraries() -> bool:
    """Compile the host's common native libraries in the background (a
    forked child filling the compile cache) while the caller goes on;
    model.compile() calls it (codegen/jit.py)."""
    from ..codegen.jit import prefetch_libraries as start

    return start()


def bf16_native() -> bool:
    """Whether this CPU multiplies bfloat16 products natively (AVX512_BF16:
    codegen/bf16.py), rather than by conversion."""
    from ..codegen.bf16 import dot_pairs
    from ..codegen.target import host

    return dot_pairs(host().vector_bytes)
