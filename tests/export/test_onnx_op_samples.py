"""Breadth: the op-conformance samples of tests/ir/op_samples.py (random
shapes with size-1 and odd dims, broadcasting, every legal dtype, negative
axes) exported to ONNX and run under onnxruntime against the interpreter.

The deterministic table in export_samples.py pins the batch sizes and the
edge cases; this file checks the exporter over the shapes and dtypes the
op samplers draw.
"""

from __future__ import annotations

import os
import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from onnx_check import check_same, session

from graphkeras import ir
from graphkeras.export.onnx import export_function, unexportable_ops

sys.path.insert(0, os.path.join(os.path.dirname(__file__), os.pardir, "ir"))
op_samples = pytest.importorskip(
    "op_samples", reason="tests/ir/op_samples.py has not landed")

OPS = sorted(set(op_samples.SAMPLES) - set(unexportable_ops()))
FLOAT32_IN_ORT = {"conv", "conv_transpose", "conv_filter_grad", "avg_pool",
                  "avg_pool_grad", "resize", "resize_grad"}


def _build(opname: str, sample) -> tuple:
    """A one-op Function over the sample's operands, plus its arguments. A
    source op whose shape names N gets an input that carries N."""
    b = ir.Builder("sample")
    vals = [b.param(f"a{i}", x.type) for i, x in enumerate(sample.inputs)]
    args = [np.asarray(a) for a in sample.arrays]
    out = b.op(opname, *vals, **sample.attrs)
    outs = list(out) if isinstance(out, tuple) else [out]
    if not any(v.type.symbols for v in vals) and any(
        o.type.symbols for n in b.nodes for o in n.outputs
    ):
        b.param("batch_carrier", ("N",))
        args.append(np.zeros(sample.env["N"], np.float32))
    return b.build(outs), args


@pytest.mark.parametrize("opname", OPS)
@settings(max_examples=8)
@given(data=st.data())
def test_sampled_op_matches_interpreter(opname, data):
    sample = op_samples.draw_sample(data, opname)
    fn, args = _build(opname, sample)
    model = export_function(fn)
    feeds = {i.name: a for i, a in zip(model.graph.input, args)}
    got = session(model).run(None, feeds)
    # float64 erf is computed in float32: a float32 tolerance for it
    tol = (2e-5, 2e-6) if opname == "erf" else None
    # onnxruntime has no float64 Conv, ConvTranspose, AveragePool or Resize
    # (the exporter computes them in float32), and convolutions sum in
    # another order: float32 tolerances for those ops
    if opname in FLOAT32_IN_ORT:
        tol = (1e-4, 1e-5)
    check_same(got, ir.interpret(fn, args, env=sample.env), opname, tol)
