"""Random well-typed Functions: they round-trip through text, verify, and
every pass of passes/ keeps the interpreter's results."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from strategies import (
    NOT_GENERATED,
    check_same_outputs,
    functions,
    generated_ops,
    inputs_for,
)

from graphkeras import ir
from graphkeras.passes import (
    apply_rewrites,
    eliminate_common_subexpressions,
    eliminate_dead_code,
    fold_constants,
    simplify,
)

PASSES = [
    eliminate_dead_code,
    eliminate_common_subexpressions,
    fold_constants,
    apply_rewrites,
    simplify,
]


@given(fn=functions(max_nodes=12))
def test_random_functions_verify_and_round_trip(fn):
    ir.verify(fn)
    assert ir.parse(ir.print_function(fn)) == fn


@pytest.mark.parametrize("run", PASSES, ids=lambda p: p.__name__)
@given(fn=functions(max_nodes=12), data=st.data())
def test_pass_keeps_results(run, fn, data):
    out = run(fn)
    ir.verify(out)
    assert out.params == fn.params
    assert out.result_types == fn.result_types
    assert ir.parse(ir.print_function(out)) == out
    check_same_outputs(out, fn, data.draw(inputs_for(fn)))


@given(fn=functions(max_nodes=12))
def test_simplify_is_idempotent_and_never_grows(fn):
    once = simplify(fn)
    assert simplify(once) == once
    assert len(once.nodes) <= len(fn.nodes)
    live = {v.name for n in once.nodes for v in n.inputs}
    live |= {r.name for r in once.results}
    # nothing dead is left
    assert all(any(o.name in live for o in n.outputs) for n in once.nodes)


def test_every_registered_op_has_a_generator():
    missing = set(ir.all_ops()) - generated_ops() - set(NOT_GENERATED)
    assert not missing, (
        f"ops without a generator in tests/strategies.py: {sorted(missing)}"
    )
    assert not generated_ops() - set(ir.all_ops())


@pytest.mark.parametrize("op", sorted(generated_ops()))
@settings(max_examples=4)
@given(data=st.data())
def test_each_op_through_simplify(op, data):
    fn = data.draw(functions(max_nodes=3, ops={op}))
    out = simplify(fn)
    ir.verify(out)
    assert ir.parse(ir.print_function(fn)) == fn
    check_same_outputs(out, fn, data.draw(inputs_for(fn)))
