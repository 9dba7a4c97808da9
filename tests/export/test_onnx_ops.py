"""Every registered op exports to ONNX, passes the checker, and computes
under onnxruntime what the reference interpreter computes, at batch sizes
1, 7 and 64 (one ONNX model serves them all)."""

from __future__ import annotations

import onnx
import pytest
from export_samples import SAMPLES, UNEXPORTABLE, live_random_case
from onnx_check import check_ort_matches_interpreter, session

from graphkeras import ir
from graphkeras.export.onnx import (
    MAX_OPSET,
    MIN_OPSET,
    ExportError,
    export_function,
    exportable_ops,
    unexportable_ops,
)

BATCHES = (1, 7, 64)

CASES = [
    pytest.param(case, id=f"{name}-{i}" + (f"-{case.label}" if case.label else ""))
    for name, cases in sorted(SAMPLES.items())
    for i, case in enumerate(cases)
    if case is not UNEXPORTABLE
]


def test_every_op_has_an_export_sample_and_a_mapping():
    ops = set(ir.all_ops())
    no_sample = sorted(ops - set(SAMPLES))
    assert not no_sample, (
        f"ops without export samples in tests/export/export_samples.py: {no_sample}"
    )
    handled = exportable_ops() | set(unexportable_ops())
    assert not sorted(ops - handled), "ops without an ONNX converter"
    for name in unexportable_ops():
        assert SAMPLES[name] == [UNEXPORTABLE], name


def test_every_exportable_op_has_a_case():
    for name in exportable_ops() & set(ir.all_ops()):
        assert any(c is not UNEXPORTABLE for c in SAMPLES.get(name, [])), name


def _feeds(fn, model, args):
    names = [i.name for i in model.graph.input]
    assert names == [p.name for p in fn.params]
    return dict(zip(names, args))


@pytest.mark.parametrize("case", CASES)
def test_op_matches_interpreter(case):
    fn = ir.verify(case.build())
    model = export_function(fn)
    onnx.checker.check_model(model, full_check=True)
    sess = session(model)
    from onnx_check import check_same

    for batch in BATCHES if case.has_batch else (3,):
        args = case.inputs(batch)
        got = sess.run(None, _feeds(fn, model, args))
        check_same(got, ir.interpret(fn, args), f"batch {batch}", case.tol)


# The opset changes how reductions are written (axes attribute before 18);
# the other ops are the same nodes. Check the whole table at both ends of
# the supported range at one batch size.
@pytest.mark.parametrize("opset", [MIN_OPSET, MAX_OPSET])
def test_all_cases_at_opset(opset):
    for param in CASES:
        case = param.values[0]
        fn = case.build()
        if opset < 18 and param.id.startswith("bitwise"):
            # ONNX has BitwiseAnd / Or / Xor / Not from opset 18 on
            with pytest.raises(ExportError, match="exists from opset 18 on"):
                export_function(fn, opset=opset)
            continue
        model = export_function(fn, opset=opset)
        assert model.opset_import[0].version == opset
        args = case.inputs(5)
        check_ort_matches_interpreter(model, fn, args, _feeds(fn, model, args),
                                      f"{param.id} at opset {opset}", case.tol)


@pytest.mark.parametrize("opname", sorted(
    n for n in unexportable_ops() if n.startswith("random")))
def test_live_random_op_is_a_clear_error(opname):
    with pytest.raises(ExportError) as info:
        export_function(live_random_case(opname))
    msg = str(info.value)
    assert f'op "{opname}"' in msg
    assert 'in layer "dropout"' in msg
    assert "no ONNX equivalent" in msg
    assert "inference program" in msg


def test_collective_op_is_a_clear_error():
    b = ir.Builder("train_forward")
    x = b.param("x", ("N", 4))
    comm = b.param("comm", (8,), "i64")
    with b.at("batch_normalization"):
        y = b.all_reduce_sum(x, comm)
    with pytest.raises(ExportError) as info:
        export_function(b.build([y]))
    msg = str(info.value)
    assert 'op "all_reduce_sum"' in msg
    assert 'in layer "batch_normalization"' in msg
    assert "no ONNX equivalent" in msg


def test_dead_random_op_is_skipped():
    # A training-only random value that the results do not use does not
    # block export (e.g. an inference program before dead-code removal).
    b = ir.Builder("predict")
    x = b.param("x", ("N", 4))
    step = b.param("step", (), "i64")
    with b.at("dropout"):
        b.random_uniform(step, shape=("N", 4), seed=1)
    fn = b.build([b.relu(x)])
    model = export_function(fn)
    assert {n.op_type for n in model.graph.node} == {"Relu"}
