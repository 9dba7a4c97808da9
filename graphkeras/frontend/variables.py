"""Variables: named persistent tensors whose values live in one StateStore.

Invariants:
- A Variable's value lives in `STORE` (a `runtime.StateStore`, shared by the
  whole process) under `Variable.key`, a unique name derived from its path
  (`dense/kernel`, `dense/kernel_1`, ...). Keys always contain "/", so they
  never collide with the names of program inputs. The buffer is freed when
  the Variable is garbage-collected.
- Outside a trace, reading a variable gives its stored array and `assign`
  writes into the store. Inside a trace (see `tracing.py`), reading gives a
  traced value (the program parameter named `key`, or the last value
  assigned in the same trace) and `assign` records an update that the
  program writes back after each call.

Programs name their state parameters by these keys, so compiled code, the
interpreter and `get_weights` all see the same buffers.
"""

from __future__ import annotations

import weakref

import numpy as np

from ..ir import TensorType, as_dtype
from ..runtime import StateStore
from . import tracing
from .naming import uniquify

STORE = StateStore()
_KEYS: set = set()
# Bumped whenever the set of variables or a trainable flag may have changed
# (a Variable made, a flag set, a layer attached): the trainer caches each
# model's state signature against it.
_STRUCTURE = [0]


def structure_version() -> int:
    return _STRUCTURE[0]


def bump_structure() -> None:
    _STRUCTURE[0] += 1


_PATH_COUNTS: dict = {}


def _release(key: str) -> None:
    _KEYS.discard(key)
    STORE.remove(key)


def _unique_key(path: str) -> str:
    # NOTE: a key is never reused, even after its Variable is freed, so keys
    # (and the program text naming them) depend on creation order only, not
    # on when the garbage collector runs; compile caches keyed by program
    # text then hit run after run.
    path = path.replace(":", "_").replace(" ", "_")
    if "/" not in path:
        path = "var/" + path
    i = _PATH_COUNTS.get(path, 0)
    key = path if i == 0 else f"{path}_{i}"
    while key in _KEYS:
        i += 1
        key = f"{path}_{i}"
    _PATH_COUNTS[path] = i + 1
    _KEYS.add(key)
    return key


def standardize_dtype(dtype, default: str | None = None) -> str:
    """A dtype's canonical name; None gives `default`, or floatx()
    (keras.config, "float32" unless set) when no default is given."""
    if dtype is None:
        if default is None:
            from ..config import floatx

            return floatx()
        return default
    if hasattr(dtype, "long_name"):
        return dtype.long_name
    name = getattr(dtype, "name", None)
    if isinstance(dtype, str):
        name = dtype
    try:
        return as_dtype(name if name is not None else dtype).long_name
    except TypeError:
        raise ValueError(
            f"Invalid dtype: {dtype!r}. Expected one of float32, float64, "
            "int32, int64, bool."
        ) from None


class SizeBudgetError(ValueError):
    """Variables past the budget of a `size_budget` scope."""


_BUDGET: list = []  # the innermost size_budget scope's [bytes left, limit]


class size_budget:
    """A scope in which the variables created may take at most `nbytes`
    in all; the one that would pass it raises SizeBudgetError before its
    initializer runs. Loading uses it so that a tiny file declaring a huge
    model (units=2**29) is refused instead of allocating gigabytes."""

    def __init__(self, nbytes: int):
        self.entry = [int(nbytes), int(nbytes)]

    def __enter__(self):
        _BUDGET.append(self.entry)
        return self

    def __exit__(self, *exc):
        _BUDGET.remove(self.entry)


def _charge(shape: tuple, dtype: str, name: str) -> None:
    if not _BUDGET:
        return
    try:
        itemsize = np.dtype(dtype).itemsize
    except TypeError:
        itemsize = 4
    nbytes = int(np.prod(shape, dtype=object)) * itemsize
    entry = _BUDGET[-1]
    entry[0] -= nbytes
    if entry[0] < 0:
        raise SizeBudgetError(
            f'variable "{name}" of shape {shape} ({dtype}, {nbytes} bytes) '
            f"takes the model's variables past {entry[1]} bytes, more than "
            "the file being loaded can fill (a small file declaring a huge "
            "model?)")


# Variables smaller than this are not checked against the free memory.
_CHECKED_BYTES = 64 << 20


def _check_memory(shape: tuple, dtype: str, name: str, initialized: bool):
    """MemoryError naming the variable when making it would take more
    memory than the machine can give (Linux grants the allocation, then
    kills the process when the initializer touches the pages): the value,
    and for an initializer its float64 draw, which is then cast."""
    try:
        itemsize = np.dtype(dtype).itemsize
    except TypeError:
        itemsize = 4
    count = int(np.prod(shape, dtype=object))
    nbytes = count * itemsize
    if nbytes < _CHECKED_BYTES:
        return
    from ..runtime.memory import _gib, check_fits

    need = nbytes + (8 * count if initialized else nbytes)
    check_fits(need, f'Variable "{name}" of shape {tuple(shape)} '
               f"({dtype}, {_gib(nbytes)})",
               "Make the layer smaller (fewer units, a smaller input or "
               "embedding), or free memory.")


class Variable:
    """A persistent tensor: a layer's weight, an optimizer slot, a metric
    accumulator or a counter.

    Args:
        initializer: an initializer (callable `(shape, dtype) -> array`), a
            string naming one, or an initial value (array-like).
        shape: the shape; taken from the value when `initializer` is one.
        dtype: `"float32"` by default.
        trainable: whether the optimizer updates it.
        name: the short name (`"kernel"`); `path` defaults to it.
        path: the full name (`"dense/kernel"`).

    Example:
        >>> v = Variable(np.zeros((2, 3)), name="w")
        >>> v.assign(np.ones((2, 3)))
        >>> float(v.numpy().sum())
        6.0
    """

    def __init__(self, initializer, shape=None, dtype=None, trainable=True,
                 name=None, path=None, regularizer=None, constraint=None):
        from . import initializers as _init

        name = name or uniquify("variable")  # as Keras 3's auto names
        if isinstance(initializer, str) or (
            callable(initializer) and not isinstance(initializer, np.ndarray)
        ):
            if shape is None:
                raise ValueError(
                    f'Variable "{name}": a shape is required when the '
                    f"initializer is a callable, received shape=None."
                )
            init = _init.get(initializer)
            self._dtype = standardize_dtype(dtype)
            self._shape = _check_shape(shape, name)
            _charge(self._shape, self._dtype, path or name)
            _check_memory(self._shape, self._dtype, path or name, True)
            value = np.asarray(init(self._shape, dtype=self._dtype))
        else:
            value = np.asarray(
                initializer.numpy() if isinstance(initializer, Variable)
                else initializer
            )
            if dtype is None and value.dtype.kind == "f":
                dtype = "float32"
            self._dtype = standardize_dtype(dtype or value.dtype.name)
            self._shape = _check_shape(
                value.shape if shape is None else shape, name
            )
            _charge(self._shape, self._dtype, path or name)
            _check_memory(self._shape, self._dtype, path or name, False)
            value = np.broadcast_to(value, self._shape)
        self.name = name
        self.path = path or name
        self._trainable = bool(trainable)
        # read as float16 values inside a mixed_float16 layer's call
        self.autocast = True
        self.regularizer = regularizer
        self.constraint = constraint
        self.key = _unique_key(self.path)
        self._type = TensorType(self._shape, self._dtype)
        STORE.define(self.key, self._type, value.astype(self._dtype))
        weakref.finalize(self, _release, self.key)
        bump_structure()

    @property
    def trainable(self) -> bool:
        return self._trainable

    @trainable.setter
    def trainable(self, value) -> None:
        self._trainable = bool(value)
        bump_structure()

    # --- description ---------------------------------------------------------

    @property
    def shape(self) -> tuple:
        return self._shape

    @property
    def dtype(self) -> str:
        return self._dtype

    @property
    def ndim(self) -> int:
        return len(self._shape)

    @property
    def ir_type(self) -> TensorType:
        return self._type

    def __repr__(self) -> str:
        # Keras 3's: the value printed as numpy prints it
        shown = f", value={STORE[self.key]}" if self.key in STORE else ""
        return (f"<Variable path={self.path}, shape={self._shape}, "
                f"dtype={self._dtype}{shown}>")

    # --- reading ---------------------------------------------------------------

    def numpy(self) -> np.ndarray:
        """A copy of the current value."""
        return np.array(STORE[self.key], copy=True)

    @property
    def value(self):
        """The value: a traced tensor inside a trace, else the stored array
        (do not write to it; use `assign`)."""
        from .ops.core import autocast_read

        t = tracing.current_trace()
        if t is not None:
            return autocast_read(self, t.read(self))
        return autocast_read(self, STORE[self.key])

    def __array__(self, dtype=None, copy=None):
        # NOTE: the store's buffer is what native steps write in place:
        # np.array(v) (copy=True) must not hand it out, or the "copy"
        # changes with the next train step
        a = STORE[self.key]
        if dtype is not None:
            return a.astype(dtype)
        return a.copy() if copy else a

    def __len__(self) -> int:
        if not self._shape:
            raise TypeError("len() of a scalar Variable")
        return self._shape[0]

    def __float__(self) -> float:
        return float(STORE[self.key])

    def __int__(self) -> int:
        return int(STORE[self.key])

    # --- writing -------------------------------------------------------------

    def assign(self, value):
        """Set the value (recorded as an update inside a trace)."""
        t = tracing.current_trace()
        if t is not None:
            return t.assign(self, value)
        arr = np.asarray(value)
        if arr.shape != self._shape:
            try:
                arr = np.broadcast_to(arr, self._shape)
            except ValueError:
                raise ValueError(
                    f'Cannot assign a value of shape {arr.shape} to variable '
                    f'"{self.path}" of shape {self._shape}.'
                ) from None
        STORE.assign(self.key, arr.astype(self._dtype))
        return self

    def assign_add(self, value):
        from . import ops

        return self.assign(ops.add(self, value))

    def assign_sub(self, value):
        from . import ops

        return self.assign(ops.subtract(self, value))

    # --- arithmetic goes through graphkeras.ops -------------------------------
    from .tensors import _OPERATORS

    locals().update(_OPERATORS)
    del _OPERATORS


def _check_shape(shape, name) -> tuple:
    try:
        shape = tuple(int(d) for d in shape)
    except TypeError:
        raise ValueError(
            f'Variable "{name}": the shape must be a tuple of ints, received '
            f"shape={shape!r}."
        ) from None
    if any(d < 0 for d in shape):
        raise ValueError(
            f'Variable "{name}": negative dimension in shape={shape!r}.'
        )
    return shape
