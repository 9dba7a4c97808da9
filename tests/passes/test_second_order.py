"""Second-order gradients (a gradient penalty differentiates a gradient):
for every differentiable op, the VJP it builds is differentiable again, so
`differentiate` can run over the first-order graph. An op whose VJP uses a
non-differentiable op is listed in FIRST_ORDER_ONLY (a failure here names
any new one, and an op that becomes twice differentiable must leave the
list)."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "ir"))
from op_samples import draw_sample  # noqa: E402

from graphkeras import ir  # noqa: E402
from graphkeras.ir import Builder  # noqa: E402
from graphkeras.passes import differentiate  # noqa: E402
from graphkeras.passes.differentiate import NotDifferentiableError  # noqa: E402

from helpers import one_op_function  # noqa: E402

OPS = sorted(ir.all_ops())
DIFFERENTIABLE = [n for n in OPS if ir.is_differentiable(ir.get_op(n))
                  and n != "stop_gradient"]
# Ops whose VJP holds an op without a gradient (found by this test):
# max_pool's VJP is max_pool_grad, whose own derivative is not provided.
FIRST_ORDER_ONLY = {"max_pool"}


def _second_order(fn: ir.Function, wrt: list) -> None:
    out = fn.results[0]
    b = Builder.from_function(fn)
    loss = out if out.rank == 0 else b.op("reduce_sum", out, axes=tuple(
        range(out.rank)), keepdims=False)
    g1 = differentiate(b.build([loss]), wrt)
    # a scalar of the first-order gradients, differentiated again
    b = Builder.from_function(g1)
    total = None
    for g in g1.results[1:]:
        s = b.op("reduce_sum", b.op("mul", g, g), axes=tuple(
            range(g.rank)), keepdims=False)
        total = s if total is None else b.op("add", total, s)
    differentiate(b.build([total]), wrt)


@pytest.mark.parametrize("name", DIFFERENTIABLE)
@settings(max_examples=2, deadline=None,
          suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_vjp_is_differentiable_again(name, data):
    s = draw_sample(data, name, grad=True)
    fn = one_op_function(name, s.types, s.attrs)
    op = ir.get_op(name)
    diff = range(len(s.inputs)) if op.diff_inputs is None else op.diff_inputs
    wrt = [p.name for i, p in enumerate(fn.params)
           if i in diff and p.dtype.is_float]
    if name in FIRST_ORDER_ONLY:
        with pytest.raises(NotDifferentiableError):
            _second_order(fn, wrt)
        return
    _second_order(fn, wrt)
