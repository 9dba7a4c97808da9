"""The GEMM library as the parts a program links (matmul.library_modules:
the 12-row driver's object, the narrow kernels' and, with AVX-512, the
8-row driver's, compiled side by side on a cold start) against the same
library as one module (matmul.gemm_library without a part): together the
parts define what the whole does, each function once, every call
between parts resolves, and a product computed through a compiled
program (which links the parts) has the bits of the whole library's."""

from __future__ import annotations

import numpy as np
import pytest
from gemm_lib import WIDTHS, call

from graphkeras import ir
from graphkeras.codegen.matmul import gemm_library, library_modules
from graphkeras.codegen.target import host
from graphkeras.runtime import Program, StateStore
from graphkeras.runtime.compiled import CompiledExecutable


def _functions(module):
    """({defined name: linkage}, {declared name}) of the gk_ functions."""
    defined, declared = {}, set()
    for fn in module.functions:
        if not fn.name.startswith("gk_"):
            continue
        if fn.is_declaration:
            declared.add(fn.name)
        else:
            defined[fn.name] = fn.linkage
    return defined, declared


@pytest.mark.parametrize("vb", WIDTHS)
def test_parts_define_the_whole_library_once(vb):
    parts = library_modules(ir.float32, vector_bytes=vb)
    names = [n for n, _ in parts]
    assert len(set(names)) == len(names) >= 2
    whole, _ = _functions(gemm_library(ir.float32, vb))
    defined: dict = {}
    declared: set = set()
    exported: list = []
    for _, build in parts:
        d, u = _functions(build(vb))
        for f in d:
            # an internal function may be in several parts (its own copy);
            # one visible to the other parts is defined by one of them
            assert d[f] == "internal" or f not in exported, f
            if d[f] != "internal":
                exported.append(f)
        defined.update(d)
        declared |= u
    assert set(defined) == set(whole)
    assert declared <= set(exported), sorted(declared - set(exported))


SHAPES = [  # (m, k, n, ta, tb): which path of the driver takes it
    (128, 256, 10, 0, 0),   # narrow, rows packed for the transposed kernel
    (100, 130, 10, 1, 0),   # narrow, op(A) transposed (edge tile)
    (128, 10, 256, 0, 1),   # narrow K
    (16, 256, 64, 0, 0),    # the 8-row driver (AVX-512)
    (24, 200, 96, 1, 1),
    (3, 64, 40, 0, 0),      # small M
    (130, 300, 70, 0, 0),   # packed
]


@pytest.mark.parametrize("m,k,n,ta,tb", SHAPES)
def test_a_program_linking_the_parts_has_the_whole_librarys_bits(m, k, n,
                                                                 ta, tb):
    rng = np.random.default_rng(m + 3 * k + 7 * n)
    a = rng.normal(size=(k, m) if ta else (m, k)).astype(np.float32)
    b = rng.normal(size=(n, k) if tb else (k, n)).astype(np.float32)
    bld = ir.Builder("gemm")
    xa, xb = bld.param("a", a.shape), bld.param("b", b.shape)
    f = bld.build([bld.matmul(xa, xb, transpose_a=bool(ta),
                              transpose_b=bool(tb))])
    prog = Program(f, state=(), inputs=("a", "b"), updates=(), outputs=(0,))
    got = CompiledExecutable(prog, StateStore(), threads=1).run([a, b])[0]
    want = call(host().vector_bytes, a, b, m, n, k, ta, tb)
    np.testing.assert_allclose(
        got, (a.T if ta else a).astype(np.float64) @ (b.T if tb else b),
        rtol=1e-4, atol=1e-4)
    np.testing.assert_array_equal(got, want)
