"""graphkeras.backend: the few backend helpers Keras code calls."""

from .frontend.naming import reset_names


def clear_session() -> None:
    """Reset automatic names (dense, dense_1, ...), as Keras does."""
    reset_names()


def floatx() -> str:
    return "float32"


def epsilon() -> float:
    return 1e-7


def backend() -> str:
    return "graphkeras"
