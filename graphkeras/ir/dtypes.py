"""Element types of the IR.

A `DType` is a small frozen record: its IR spelling (`f32`), its NumPy dtype
and its family. There are exactly five; `DTYPES` maps every accepted spelling
(IR short name, NumPy name, Keras string) to one of them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class DType:
    name: str  # IR spelling, e.g. "f32"
    long_name: str  # NumPy / Keras spelling, e.g. "float32"
    kind: str  # "float", "int" or "bool"
    bits: int

    @property
    def np(self) -> np.dtype:
        return np.dtype(self.long_name)

    @property
    def is_float(self) -> bool:
        return self.kind == "float"

    @property
    def is_int(self) -> bool:
        return self.kind == "int"

    @property
    def is_bool(self) -> bool:
        return self.kind == "bool"

    @property
    def itemsize(self) -> int:
        return max(1, self.bits // 8)

    def __repr__(self) -> str:
        return self.name

    __str__ = __repr__


float32 = DType("f32", "float32", "float", 32)
float64 = DType("f64", "float64", "float", 64)
int32 = DType("i32", "int32", "int", 32)
int64 = DType("i64", "int64", "int", 64)
bool_ = DType("bool", "bool", "bool", 8)

ALL = (float32, float64, int32, int64, bool_)

DTYPES: dict[str, DType] = {}
for _d in ALL:
    DTYPES[_d.name] = _d
    DTYPES[_d.long_name] = _d


# NumPy dtype -> DType (a NumPy dtype's `name` is computed on every read)
_BY_NUMPY: dict = {}


def as_dtype(x) -> DType:
    """Convert a DType, a string or a NumPy dtype to a `DType`.

    Raises a `TypeError` naming the accepted spellings for anything else.
    """
    if isinstance(x, DType):
        return x
    if isinstance(x, str) and x in DTYPES:
        return DTYPES[x]
    if isinstance(x, np.dtype):
        got = _BY_NUMPY.get(x)
        if got is not None:
            return got
        if x.name in DTYPES:
            got = _BY_NUMPY[x] = DTYPES[x.name]
            return got
    try:
        npd = np.dtype(x)
    except TypeError:
        npd = None
    if npd is not None and npd.name in DTYPES:
        return DTYPES[npd.name]
    raise TypeError(
        f"Unsupported dtype: {x!r}. Expected one of "
        f"{', '.join(d.long_name for d in ALL)}."
    )
