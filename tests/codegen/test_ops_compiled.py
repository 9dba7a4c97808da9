"""Every registered op compiled against the reference interpreter, over the
hypothesis samples of tests/ir/op_samples.py (batch 1, odd sizes, sizes
that are not multiples of 8 or 16, broadcasting, symbolic N), plus the
lowering registry check: an op without a lowering fails here."""

from __future__ import annotations

import numpy as np
import pytest
from compiled_helpers import check_compiled, compile_function, with_symbol_inputs
from helpers import one_op_function
from hypothesis import given, settings
from hypothesis import strategies as st
from op_samples import draw_sample

from graphkeras import ir
from graphkeras.codegen.kernels import POINTWISE
from graphkeras.codegen.lowering import has_lowering
from graphkeras.passes.fuse_elementwise import REINDEX_OPS

OPS = sorted(ir.all_ops())


def test_every_registered_op_has_a_lowering():
    missing = sorted(n for n in OPS if not has_lowering(n))
    assert not missing, f"ops without a codegen lowering: {missing}"


def test_fusion_only_fuses_ops_with_pointwise_lowerings():
    assert REINDEX_OPS <= set(POINTWISE)


@pytest.mark.parametrize("name", OPS)
@settings(max_examples=4)
@given(data=st.data())
def test_op_compiled_matches_interpreter(name, data):
    s = draw_sample(data, name)
    fn = one_op_function(name, s.types, s.attrs)
    fn, arrays = with_symbol_inputs(fn, s.arrays, s.env)
    check_compiled(fn, arrays, what=name)


@pytest.mark.parametrize("n", [1, 3, 17, 0])
def test_one_module_serves_every_batch_size(n):
    b = ir.Builder("many")
    x = b.param("x", ("N", 13))
    w = b.param("w", (13, 5))
    h = b.tanh(b.add(b.matmul(x, w), b.constant(0.25)))
    s = b.reduce_max(h, axes=(0,))
    m = b.softmax(h, axis=-1)
    fn = b.build([h, s, m])
    exe = _shared(fn)
    rng = np.random.default_rng(n)
    xv = rng.normal(size=(n, 13)).astype(np.float32)
    wv = rng.normal(size=(13, 5)).astype(np.float32)
    if n == 0:  # reduce_max of nothing is an error in the reference
        got = exe.run([xv, wv])
        assert got[0].shape == (0, 5) and got[2].shape == (0, 5)
        return
    check_compiled(fn, [xv, wv], exe=exe, what=f"N={n}")


_cache: dict = {}


def _shared(fn):
    if fn not in _cache:
        _cache[fn] = compile_function(fn)
    return _cache[fn]


@pytest.mark.parametrize("dtype", [ir.float32, ir.float64])
def test_random_uniform_is_bit_exact_with_the_reference(dtype):
    b = ir.Builder("rng")
    c = b.param("c", (), ir.int64)
    b.param("x", ("N", 7))  # binds N
    u = b.random_uniform(c, shape=("N", 7), seed=1234, low=-2.0, high=3.0,
                         dtype=dtype)
    fn = b.build([u, b.random_normal(c, shape=(5, 3), seed=99, dtype=dtype)])
    exe = compile_function(fn)
    for counter in (0, 7, 2**33 + 5, -1):
        args = [np.array(counter, np.int64), np.zeros((11, 7), np.float32)]
        got = exe.run(args)
        want = ir.interpret(fn, args)
        np.testing.assert_array_equal(got[0], want[0])  # the hash, bit for bit
        np.testing.assert_allclose(got[1], want[1], rtol=1e-6 if dtype ==
                                   ir.float32 else 1e-13)


def test_random_ops_with_an_offset_are_bit_exact_with_the_reference():
    b = ir.Builder("rng_window")
    c = b.param("c", (), ir.int64)
    at = b.param("at", (), ir.int64)
    b.param("x", ("N", 7))  # binds N
    u = b.random_uniform(c, at, shape=("N", 7), seed=5)
    fn = b.build([u, b.random_normal(c, at, shape=("N", 7), seed=6)])
    exe = compile_function(fn)
    for n, offset in ((1, 0), (3, 21), (11, 2**32 - 7), (4, -14)):
        args = [np.array(9, np.int64), np.array(offset, np.int64),
                np.zeros((n, 7), np.float32)]
        got, want = exe.run(args), ir.interpret(fn, args)
        np.testing.assert_array_equal(got[0], want[0])
        np.testing.assert_allclose(got[1], want[1], rtol=1e-6)


@pytest.mark.parametrize("vector_bytes", [16, 64])
def test_matmul_tilings_of_other_vector_widths(monkeypatch, vector_bytes):
    """The GEMM tiles follow the host's vector width (MR x NR = 12 x 32 for
    float32 with AVX-512, 4 x 8 with SSE). LLVM splits wide vectors on a
    narrower host, so each tiling's code runs (and is checked) here."""
    import dataclasses

    from graphkeras.codegen import jit, step_module, target

    fake = dataclasses.replace(target.host(), vector_bytes=vector_bytes)
    monkeypatch.setattr(step_module, "host", lambda: fake)
    monkeypatch.setattr(jit, "host", lambda: fake)
    monkeypatch.setattr(jit, "_LIBRARIES", {})
    rng = np.random.default_rng(vector_bytes)
    for m, k, n, ta, tb, dt in [(29, 70, 45, False, False, ir.float32),
                                (13, 9, 33, True, False, ir.float64),
                                (26, 17, 40, False, True, ir.int32),
                                (2, 5, 7, False, False, ir.float32)]:
        b = ir.Builder("mm")
        x = b.param("x", ((k, m) if ta else (m, k)), dt)
        w = b.param("w", ((n, k) if tb else (k, n)), dt)
        fn = b.build([b.matmul(x, w, transpose_a=ta, transpose_b=tb)])
        args = [rng.integers(-3, 4, size=p.shape).astype(dt.np) for p in fn.params]
        check_compiled(fn, args, what=f"{m}x{k}x{n} {dt}")
