"""Tensor types: a shape and a dtype.

A dimension is either a non-negative int or a symbol (a str such as "N", the
batch). Symbols are bound once per call from the parameters' actual shapes,
so a Function with `N` in its types serves every batch size.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Union

from .dtypes import DType, as_dtype, float32

Dim = Union[int, str]
Shape = tuple  # tuple[Dim, ...]


def is_symbol(d) -> bool:
    return isinstance(d, str)


def check_dim(d) -> Dim:
    if isinstance(d, bool):
        raise TypeError(f"A dimension must be an int or a symbol, got {d!r}.")
    if isinstance(d, int):
        if d < 0:
            raise ValueError(f"A dimension must be >= 0, got {d}.")
        return d
    if hasattr(d, "__index__") and not isinstance(d, str):
        return check_dim(int(d))
    if isinstance(d, str) and d.isidentifier():
        return d
    raise TypeError(f"A dimension must be an int or a symbol name, got {d!r}.")


@dataclass(frozen=True)
class TensorType:
    shape: tuple
    dtype: DType = float32

    def __post_init__(self):
        object.__setattr__(self, "shape", tuple(check_dim(d) for d in self.shape))
        object.__setattr__(self, "dtype", as_dtype(self.dtype))

    @property
    def rank(self) -> int:
        return len(self.shape)

    @property
    def is_static(self) -> bool:
        return not any(is_symbol(d) for d in self.shape)

    @property
    def symbols(self) -> tuple:
        return tuple(d for d in self.shape if is_symbol(d))

    def num_elements(self, env: dict | None = None) -> int:
        n = 1
        for d in self.shape:
            n *= env[d] if is_symbol(d) else d
        return n

    def concrete_shape(self, env: dict) -> tuple:
        return tuple(env[d] if is_symbol(d) else d for d in self.shape)

    def with_shape(self, shape) -> "TensorType":
        return TensorType(tuple(shape), self.dtype)

    def with_dtype(self, dtype) -> "TensorType":
        return TensorType(self.shape, dtype)

    def __str__(self) -> str:
        return f"{self.dtype.name}[{','.join(str(d) for d in self.shape)}]"

    __repr__ = __str__


def broadcast_shapes(*shapes) -> tuple:
    """NumPy broadcasting over dims that may be symbols.

    A symbol broadcasts against 1 and against itself; a symbol against a
    different symbol or an int other than 1 is an error (raised as
    ValueError, for the caller to word).
    """
    rank = max((len(s) for s in shapes), default=0)
    out = []
    for i in range(rank):
        dim = 1
        for s in shapes:
            j = i - (rank - len(s))
            if j < 0:
                continue
            d = s[j]
            if d == 1:
                continue
            if dim == 1:
                dim = d
            elif dim != d:
                raise ValueError(
                    f"shapes {' and '.join(_fmt_shape(x) for x in shapes)} "
                    f"are not broadcastable (axis {i - rank}: {dim} vs {d})"
                )
        out.append(dim)
    return tuple(out)


def _fmt_shape(s) -> str:
    return "(" + ", ".join(str(d) for d in s) + ("," if len(s) == 1 else "") + ")"


def format_shape(s) -> str:
    return _fmt_shape(s)
