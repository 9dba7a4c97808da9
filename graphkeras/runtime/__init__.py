"""graphkeras.runtime: programs, state, and the executables that run them."""

from .executable import Executable, InterpretedExecutable
from .factory import make_executable
from .program import Program
from .state import StateStore, aligned_empty

__all__ = ["Executable", "InterpretedExecutable", "Program", "StateStore",
           "aligned_empty", "make_executable"]
