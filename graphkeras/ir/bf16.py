"""bfloat16 rounding of float32 arrays (NumPy), the reference of
`matmul(..., precision="bfloat16")`: round to nearest, ties to even, as
`vcvtneps2bf16` and the GEMM's packing (codegen/bf16.py) do; the result
stays float32 with the low 16 bits zero."""

from __future__ import annotations

import numpy as np


def round_bf16(x) -> np.ndarray:
    a = np.ascontiguousarray(x, dtype=np.float32)
    bits = a.view(np.uint32).astype(np.uint64)
    bits = (bits + 0x7FFF + ((bits >> 16) & 1)) & 0xFFFF0000
    return bits.astype(np.uint32).view(np.float32).reshape(a.shape)
