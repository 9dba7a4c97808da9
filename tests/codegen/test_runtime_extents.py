"""Kernels that differ only by sizes share one compiled kernel, the sizes
passed at run time (codegen/extents.py): a block of BatchNormalization-
like, concatenation, slice, product and softmax kernels compiled at one
set of sizes serves every other (no kernel compiled again), computes
what the reference interpreter computes at odd sizes, batch 1 and sizes
that are no multiple of the vector width, and gives the same bits as the
kernels with their sizes compiled in."""

from __future__ import annotations

import numpy as np
import pytest
from compiled_helpers import check_compiled, compile_function
from hypothesis import given, settings
from hypothesis import strategies as st

from graphkeras import ir
from graphkeras.codegen import cache, extents, jit, step_module

NEW = 32  # the channels a dense layer adds (kept: short innermost extent)


def _block(h: int, c: int, k: int, rows: bool = True) -> ir.Function:
    """BatchNormalization-like normalisation and moments over (N, h), a
    concatenation with NEW channels and the slice of them back, a product
    by a (c, k) weight and a softmax over its k outputs, maxima over h and
    row sums over c (`rows`: their length stays in the code)."""
    b = ir.Builder("block")
    x = b.param("x", ("N", h, c))
    m = b.param("m", (c,))
    s = b.param("s", (c,))
    y = b.param("y", ("N", h, NEW))
    w = b.param("w", (c, k))
    z = b.mul(b.sub(x, m), s)
    mean = b.reduce_mean(z, axes=(0, 1))
    var = b.reduce_sum(b.square(b.sub(x, m)), axes=(0, 1))
    cat = b.concat(b.relu(z), y, axis=2)
    back = b.slice(cat, starts=(0, 0, c), stops=(None, h, c + NEW),
                   steps=(1, 1, 1))
    prob = b.softmax(b.matmul(z, w), axis=-1)
    top = b.reduce_max(x, axes=(1,))
    out = [mean, var, cat, back, prob, top]
    if rows:  # a sum in registers
        out.append(b.reduce_sum(b.mul(x, s), axes=(2,)))
    return b.build(out)


def _arrays(fn, n: int, seed: int) -> list:
    rng = np.random.default_rng(seed)
    return [rng.normal(size=tuple(n if d == "N" else d for d in p.shape))
            .astype(np.float32) for p in fn.params]


@pytest.fixture
def fresh_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("GRAPHKERAS_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("GRAPHKERAS_CACHE", raising=False)
    cache._reset()
    step_module._TEXTS.clear()
    yield
    cache._reset()
    step_module._TEXTS.clear()


@settings(max_examples=12)
@given(h=st.sampled_from([1, 2, 3, 7]),
       c=st.sampled_from([64, 65, 67, 96, 100, 129, 200]),
       k=st.sampled_from([1, 3, 17, 64, 70]),
       n=st.sampled_from([1, 2, 3, 5]))
def test_shared_kernels_match_the_interpreter(h, c, k, n):
    fn = _block(h, c, k)
    check_compiled(fn, _arrays(fn, n, h * c + k),
                   what=f"h={h} c={c} k={k} batch {n}")


def test_other_sizes_compile_no_kernel_again(fresh_cache):
    """Compiled at one set of sizes, the block at others (softmax over as
    many outputs: its length stays in the code) compiles only its step
    module (tables and entry points); each computes its own."""
    first = _block(3, 65, 70, rows=False)
    check_compiled(first, _arrays(first, 2, 0))
    for h, c, k in ((5, 129, 70), (2, 100, 70)):
        fn = _block(h, c, k, rows=False)
        before = dict(jit.STATS)
        check_compiled(fn, _arrays(fn, 3, h))
        assert jit.STATS["modules_compiled"] - before["modules_compiled"] == 1
        assert jit.STATS["kernel_objects_reused"] > \
            before["kernel_objects_reused"]


def test_runtime_sizes_give_the_static_kernels_bits(fresh_cache, monkeypatch):
    """The same results, bit for bit, as the kernels with every size
    compiled in."""
    fn = _block(7, 201, 19)
    arrays = _arrays(fn, 3, 1)
    shared = compile_function(fn).run(arrays)
    monkeypatch.setenv("GRAPHKERAS_CACHE", "0")
    cache._reset()
    step_module._TEXTS.clear()
    monkeypatch.setattr(step_module, "runtime_extents", extents.Extents)
    static = compile_function(fn).run(arrays)
    for k, (a, b) in enumerate(zip(shared, static)):
        assert np.array_equal(a, b), f"result {k} differs"


def test_what_stays_in_the_code():
    """Sizes 0 and 1 and a short innermost loop's extent stay constants
    (a row of 16 channels under a per-channel operand; not a flat loop of
    80, nor one of 16 that runs once, nor a product's sizes); equal sizes
    share a symbol; a reduction's float64-buffer decision is in the
    note."""
    b = ir.Builder("f")
    x = b.param("x", ("N", 5, 1, 16))
    m = b.param("m", (16,))
    w = b.param("w", (5, 16))
    g = b.param("g", (5, 16))
    v = b.param("v", (16, 5))
    fn = b.build([b.sub(x, m), b.sub(w, g), b.matmul(w, v),
                  b.reduce_mean(x, axes=(0, 1, 2)), b.mul(m, m)])
    row, flat, prod, mean, once = (extents.runtime_extents(n)
                                   for n in fn.nodes)
    assert once.node.outputs[0].shape == ("gk_x0",)  # one loop of 16
    assert row.node.inputs[0].shape == ("N", "gk_x0", 1, 16)
    assert row.values == (5,)
    assert flat.node.outputs[0].shape == ("gk_x0", "gk_x1")
    assert prod.node.outputs[0].shape == ("gk_x0", "gk_x0")
    assert prod.values == (5, 16)
    assert mean.node.outputs[0].shape == (16,) and mean.note == "wide"
    wide = extents.runtime_extents(next(
        n for n in _block(3, 65, 70).nodes if n.op == "reduce_mean"))
    assert wide.node.outputs[0].shape == ("gk_x1",)
    assert wide.values == (3, 65) and wide.note == "wide"
