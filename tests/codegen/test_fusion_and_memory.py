"""passes.fuse_elementwise and passes.plan_memory: random well-typed
functions keep their meaning through fusion (and through compilation), the
kernels never form a cycle, and memory plans never overlap two live
buffers."""

from __future__ import annotations

import numpy as np
from compiled_helpers import check_compiled, with_symbol_inputs
from hypothesis import given, settings
from hypothesis import strategies as st
from strategies import check_same_outputs, functions, inputs_for

from graphkeras import ir
from graphkeras.passes.compile_pipeline import materialize_results
from graphkeras.passes.fuse_elementwise import fuse_elementwise
from graphkeras.passes.plan_memory import assign_storage, plan_offsets


@given(fn=functions(max_nodes=14), data=st.data())
def test_fusion_keeps_results_and_makes_no_cycle(fn, data):
    fused = fuse_elementwise(fn)
    ir.verify(fused)  # every operand defined before use: the kernels form a DAG
    assert ir.parse(ir.print_function(fused)) == fused
    check_same_outputs(fused, fn, data.draw(inputs_for(fn)))


@settings(max_examples=12)
@given(fn=functions(max_nodes=10), data=st.data())
def test_random_functions_compile_to_the_interpreters_results(fn, data):
    xs = data.draw(inputs_for(fn))
    env = {}
    for p, a in zip(fn.params, xs):
        for d, n in zip(p.shape, np.shape(a)):
            if ir.is_symbol(d):
                env[d] = n
    env.setdefault("N", 3)
    fn2, arrays = with_symbol_inputs(fn, xs, env)
    check_compiled(fn2, arrays, what="random function")


def test_fusion_refuses_a_merge_that_would_make_a_cycle():
    b = ir.Builder("diamond")
    x = b.param("x", ("N", 8))
    a = b.exp(x)
    r = b.reduce_sum(a, axes=(0, 1))  # a second kernel reading a
    y = b.add(a, r)  # reads a (group 1) and r (group 2, which reads group 1)
    fn = b.build([b.tanh(y)])
    fused = fuse_elementwise(fn)
    ir.verify(fused)
    kinds = [n.op for n in fused.nodes]
    assert kinds.count("reduce_sum") == 1 and len(fused.nodes) == 3, kinds
    xv = np.linspace(-1, 1, 40, dtype=np.float32).reshape(5, 8)
    check_same_outputs(fused, fn, [xv])


def test_elementwise_chain_and_reduction_become_one_kernel():
    b = ir.Builder("chain")
    x = b.param("x", ("N", 16))
    m = b.param("m", (16,))
    d = b.sub(x, m)
    s = b.reduce_mean(b.mul(d, d), axes=(1,))
    fn = b.build([s])
    fused = fuse_elementwise(fn)
    assert [n.op for n in fused.nodes] == ["fused"]
    xv = np.arange(48, dtype=np.float32).reshape(3, 16)
    check_compiled(fn, [xv, np.ones(16, np.float32)])


def test_a_long_elementwise_chain_is_cut_into_bounded_kernels():
    # one fused loop took the whole chain: 4000 ops made one LLVM function
    # that took minutes to compile
    from graphkeras.passes.fuse_elementwise import MAX_GROUP_NODES

    b = ir.Builder("long_chain")
    x = b.param("x", ("N", 5))
    y = x
    for k in range(3 * MAX_GROUP_NODES):
        y = b.tanh(y) if k % 2 else b.add(y, x)
    fn = b.build([y])
    fused = fuse_elementwise(fn)
    ir.verify(fused)
    sizes = [len(n.attrs["body"].nodes) for n in fused.nodes]
    assert len(sizes) == 3 and max(sizes) <= MAX_GROUP_NODES, sizes
    xv = np.linspace(-1, 1, 15, dtype=np.float32).reshape(3, 5)
    check_same_outputs(fused, fn, [xv])


def _overlap(a, b):
    return a[0] < b[0] + b[1] and b[0] < a[0] + a[1]


@given(fn=functions(max_nodes=14), n=st.sampled_from([1, 5, 33]))
def test_memory_plan_never_overlaps_live_buffers(fn, n):
    fn = materialize_results(fn, tuple(range(len(fn.results))))
    fused = fuse_elementwise(fn)
    layout = assign_storage(fused, (), tuple(p.name for p in fn.params), (),
                            tuple(range(len(fn.results))))
    env = {"N": n}
    plan = plan_offsets(layout, env)
    arena = [s for s in layout.storages if s.kind == "arena"]
    spans = {s.id: (plan.offsets[s.id], s.nbytes(env)) for s in arena}
    for i, s in enumerate(arena):
        assert plan.offsets[s.id] + s.nbytes(env) <= plan.arena_bytes
        for t in arena[i + 1:]:
            live_together = s.first <= t.last and t.first <= s.last
            if live_together and s.nbytes(env) and t.nbytes(env):
                assert not _overlap(spans[s.id], spans[t.id]), (s, t)
    assert plan.lower_bound <= plan.arena_bytes <= max(plan.total_bytes, 0) or \
        plan.total_bytes == 0


def test_inplace_and_state_updates_share_buffers():
    b = ir.Builder("upd")
    x = b.param("x", ("N", 4))
    w = b.param("w", (4, 4))
    h = b.exp(b.matmul(x, w))  # matmul output dies at the exp: in place
    loss = b.reduce_sum(b.matmul(h, w), axes=None)
    w2 = b.sub(w, b.mul(b.constant(0.1), w))  # reads w only in place
    fn = b.build([loss, w2])
    fused = fuse_elementwise(fn)
    layout = assign_storage(fused, ("w",), ("x",), (("w", 1),), (0,))
    assert layout.storage_of("w").kind == "state"
    assert layout.storage_of(fused.results[1]).id == layout.storage_of("w").id
    assert not layout.end_copies
    assert layout.inplace, "the exp should overwrite the matmul output"


def _smallest_gap_reference(busy, need):
    """The gap rule spelled out: walk the busy ranges by offset, keep the
    first of the smallest gaps that fit, else the end of the last."""
    best = best_gap = None
    cur = 0
    for o, z in sorted(busy):
        if o - cur >= need and (best_gap is None or o - cur < best_gap):
            best, best_gap = cur, o - cur
        cur = max(cur, o + z)
    return cur if best is None else best


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 40), st.integers(1, 12)),
                max_size=12),
       st.integers(0, 10))
def test_smallest_gap_matches_the_rule_spelled_out(busy, need):
    from graphkeras.passes.plan_memory import _smallest_gap
    offs = np.array([o for o, _ in busy], np.int64)
    sizes = np.array([z for _, z in busy], np.int64)
    assert _smallest_gap(offs, sizes, need) == _smallest_gap_reference(busy, need)


class _FakeStorage:
    def __init__(self, i, first, last, nbytes):
        self.id, self.kind, self.first, self.last = i, "arena", first, last
        self._nbytes = nbytes

    def nbytes(self, env):
        return self._nbytes


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 30), st.integers(0, 12),
                          st.sampled_from([64, 128, 192, 640, 1000])),
                min_size=1, max_size=40))
def test_by_size_plan_over_the_time_tree_matches_the_scan(spec):
    """_plan_by_size (segment tree over kernel times) places every storage
    where the direct scan over all placed storages does."""
    from graphkeras.passes.plan_memory import (
        _plan_by_size_scan, _plan_by_size_tree, _round)
    arena = [_FakeStorage(i, f, f + d, z) for i, (f, d, z) in enumerate(spec)]
    size = {s.id: _round(s.nbytes({})) for s in arena}
    order = sorted(arena, key=lambda s: (-size[s.id], s.first, s.id))
    assert _plan_by_size_tree(arena, size, order) == \
        _plan_by_size_scan(arena, size, order)
