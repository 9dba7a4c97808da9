"""graphkeras.passes: IR -> IR transforms and the pipeline that runs them."""

from .differentiate import NotDifferentiableError, differentiate

__all__ = ["NotDifferentiableError", "differentiate"]
