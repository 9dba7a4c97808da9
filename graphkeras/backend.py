"""graphkeras.backend: the backend helpers Keras code calls (`keras.backend`).

The settings (floatx, epsilon, image_data_format) live in graphkeras.config;
the names here are the same functions, as in Keras where `keras.backend.
floatx is keras.config.floatx`.
"""

from __future__ import annotations

import contextlib
import re
from collections import defaultdict

from .config import (
    backend,
    epsilon,
    floatx,
    image_data_format,
    set_epsilon,
    set_floatx,
    set_image_data_format,
)
from .frontend.naming import reset_names
from .frontend.tensors import is_keras_tensor

_UIDS: defaultdict = defaultdict(int)

# Python types stand for Keras's "weak" scalars in result_type
_WEAK = {bool: True, int: 1, float: 1.0}


def clear_session(free_memory: bool = True) -> None:
    """Reset automatic names (dense, dense_1, ...) and `get_uid` counters,
    as Keras does. `free_memory` is accepted for Keras compatibility."""
    reset_names()
    _UIDS.clear()


@contextlib.contextmanager
def device(device_name):
    """`with keras.device("cpu:0"):` places work on that device. graphkeras
    runs on the CPU (its cores are the step's threads; several processes:
    graphkeras.distribution), so a CPU device is accepted and changes
    nothing; any other device is an error."""
    name = str(device_name).lower()
    if not re.fullmatch(r"(/?(job:[^/]+/)?(replica:\d+/)?(task:\d+/)?"
                        r"(device:)?)?cpu(:\d+)?", name):
        raise ValueError(
            f"Invalid device: {device_name!r}. graphkeras runs on the CPU: "
            "use 'cpu' or 'cpu:N' (several processes: "
            "graphkeras.distribution, docs/distributed.md).")
    yield


def get_uid(prefix: str = "") -> int:
    """1 the first time `prefix` is seen, then 2, 3, ... (until
    clear_session()).

    Example:
        >>> get_uid("dense"), get_uid("dense")
        (1, 2)
    """
    _UIDS[prefix] += 1
    return _UIDS[prefix]


def standardize_dtype(dtype) -> str:
    """A dtype's Keras name: None is floatx(), Python `float` / `int` /
    `bool` are "float32" / "int32" / "bool", NumPy dtypes and graphkeras's
    spellings ("f32") map to their names.

    Raises:
        ValueError: for a dtype graphkeras does not compute with (the five
            supported are float32, float64, int32, int64, bool).
    """
    from .frontend.variables import standardize_dtype as _std

    if dtype is float:
        return "float32"
    if dtype is int:
        return "int32"
    if dtype is bool:
        return "bool"
    if dtype == "int":
        return "int32"
    if dtype == "float":
        return floatx()
    return _std(dtype)


def _any_name(dtype) -> str:
    # is_float_dtype / is_int_dtype also answer for dtypes graphkeras does
    # not compute with (uint8, float16), as Keras does
    try:
        return standardize_dtype(dtype)
    except ValueError:
        import numpy as np

        return np.dtype(dtype).name


def is_float_dtype(dtype) -> bool:
    return _any_name(dtype).startswith(("float", "bfloat"))


def is_int_dtype(dtype) -> bool:
    return _any_name(dtype).startswith(("int", "uint"))


def result_type(*dtypes) -> str:
    """The dtype Keras's promotion rules give for these dtypes: no argument
    gives floatx(); Python `int` / `float` are weak (they do not widen a
    dtype: result_type("int32", float) is "float32").

    As Keras 3 (aligned with JAX's default), a 64-bit result is reported
    as its 32-bit counterpart: result_type("float64") is "float32".
    NOTE: graphkeras's ops themselves keep float64 / int64 inputs in 64
    bits; only this public answer narrows, as Keras's does.
    """
    from .frontend import ops

    if not dtypes:
        return floatx()
    args = []
    for d in dtypes:
        if d is None:
            d = floatx()
        if isinstance(d, type) and d in _WEAK:
            args.append(_WEAK[d])
        else:
            args.append(_Typed(standardize_dtype(d)))
    out = ops.result_type(*args)
    return {"float64": "float32", "int64": "int32"}.get(out, out)


class _Typed:
    """A stand-in carrying a dtype, for ops.result_type."""

    def __init__(self, dtype: str):
        self.dtype = dtype

    def __array__(self, dtype=None, copy=None):
        import numpy as np

        return np.zeros((), self.dtype)


__all__ = [
    "backend", "clear_session", "epsilon", "floatx", "get_uid",
    "image_data_format", "is_float_dtype", "is_int_dtype", "is_keras_tensor",
    "result_type", "set_epsilon", "set_floatx", "set_image_data_format",
    "standardize_dtype",
]
