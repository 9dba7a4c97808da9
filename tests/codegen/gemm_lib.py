"""The GEMM library built for a given vector width and called directly
through ctypes (so tests exercise the 256-bit kernels on an AVX-512 host;
the 512-bit ones run where the CPU has AVX-512F)."""

from __future__ import annotations

import ctypes

import llvmlite.binding as llvm
import numpy as np
import pytest

from graphkeras import ir
from graphkeras.codegen.jit import compile_object
from graphkeras.codegen.matmul import (
    gemm_flags,
    gemm_library,
    gemm_name,
    pack_b_full_name,
    packed_b_elements,
    workspace_bytes,
)
from graphkeras.codegen.target import ensure_llvm, host, new_target_machine

WIDTHS = [32, 64]
GEMM = ctypes.CFUNCTYPE(None, *([ctypes.c_void_p] * 3 + [ctypes.c_int64] * 7 + [
    ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int64,
    ctypes.c_int64]))
EP = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_int64, ctypes.c_int64,
                      ctypes.c_int64, ctypes.c_int64, ctypes.c_void_p,
                      ctypes.c_int64)
PACK = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_int64, ctypes.c_int64,
                        ctypes.c_int64, ctypes.c_int64, ctypes.c_void_p)
_LIBS: dict = {}


def _gemm(vb):
    if vb == 64 and host().vector_bytes < 64:
        pytest.skip("512-bit vectors need AVX-512F on this CPU")
    if vb not in _LIBS:
        ensure_llvm()
        obj = compile_object(gemm_library(ir.float32, vb), f"test-gemm-{vb}",
                             unroll=False, vectorize=False, level=1,
                             ir_passes=False)
        empty = llvm.parse_assembly("")
        empty.triple = host().triple
        eng = llvm.create_mcjit_compiler(empty, new_target_machine())
        eng.add_object_file(llvm.ObjectFileRef.from_data(obj))
        eng.finalize_object()
        addr = eng.get_function_address(gemm_name(ir.float32))
        pack = eng.get_function_address(pack_b_full_name(ir.float32))
        assert addr and pack
        _LIBS[vb] = (eng, GEMM(addr), PACK(pack))
    return _LIBS[vb][1]


def pack_b(vb, b, n, k, tb):
    """op(b) [k, n] packed for the PACKED_B flag (gk_pack_b_full)."""
    _gemm(vb)
    size = packed_b_elements(ir.float32, vb, k, n)
    raw = np.full(size + 16, np.nan, np.float32)
    skip = (-raw.ctypes.data % 64) // 4  # the panels are read aligned
    out = raw[skip:skip + size]
    _LIBS[vb][2](b.ctypes.data, b.shape[1], int(tb), k, n, out.ctypes.data)
    return out


def call(vb, a, b, m, n, k, ta, tb, nth=1, ep=None, columns=False,
         bf16=False, packed_b=False):
    """C = op(a) @ op(b) on nth threads; packed_b: b is pack_b's output."""
    gemm = _gemm(vb)
    c = np.full((m, n), np.nan, np.float32)
    ws_per = workspace_bytes(ir.float32, vb, k if ep else 0)
    ws = np.zeros(ws_per * nth + 64, np.uint8)
    base = (ws.ctypes.data + 63) // 64 * 64
    flags = gemm_flags(ta, tb, columns=columns, tile=ep is not None,
                       bf16=bf16, packed_b=packed_b)
    for tid in range(nth):
        gemm(a.ctypes.data, b.ctypes.data, None if ep else c.ctypes.data,
             m, n, k, a.shape[1], b.shape[-1], n, flags, base + tid * ws_per,
             ctypes.cast(ep, ctypes.c_void_p) if ep else None, None, tid, nth)
    return c


