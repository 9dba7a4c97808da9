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
from graphkeras.codegen.kernels import LOWERING_KIND, POINTWISE
from graphkeras.passes.fuse_elementwise import REINDEX_OPS

OPS = sorted(ir.all_ops())


def test_every_registered_op_has_a_lowering():
    missing = sorted(set(OPS) - set(LOWERING_KIND))
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
