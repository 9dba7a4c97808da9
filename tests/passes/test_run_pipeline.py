"""run_pipeline: verification after each pass, dumps, timings, and how
failures inside a pass reach the caller."""

from __future__ import annotations

import functools
import tempfile

import pytest

from graphkeras import ir
from graphkeras.ir import Function, Node, TensorType, Value
from graphkeras.passes import (
    SIMPLIFY_PIPELINE,
    NotDifferentiableError,
    differentiate,
    eliminate_dead_code,
    pass_name,
    run_pipeline,
    simplify,
)


@pytest.fixture(autouse=True)
def _reports_in_tmp(tmp_path, monkeypatch):
    """Programs saved for bug reports land in the test's own directory."""
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "reports"))
    (tmp_path / "reports").mkdir()


def _mlp() -> Function:
    b = ir.Builder("step")
    x = b.param("x", ("N", 4))
    w = b.param("w", (4, 3))
    with b.at("dense"):
        h = b.mul(b.relu(b.matmul(x, w)), b.constant(1.0))
    return b.build([b.reduce_mean(b.square(h))])


TRAIN = [functools.partial(differentiate, wrt=["w"]), *SIMPLIFY_PIPELINE]


def test_pass_names():
    assert [pass_name(p) for p in TRAIN] == ["differentiate", "simplify"]
    assert pass_name(("my_pass", simplify)) == "my_pass"


def test_runs_the_passes_in_order_and_times_them():
    timings: dict = {}
    out = run_pipeline(_mlp(), TRAIN + [simplify], verify=True, timings=timings)
    assert out == simplify(differentiate(_mlp(), ["w"]))
    assert list(timings) == ["differentiate", "simplify", "simplify#2"]
    assert all(isinstance(t, float) and t >= 0 for t in timings.values())


def test_dump_after_writes_text_that_parses(tmp_path):
    d = tmp_path / "dumps"
    out = run_pipeline(_mlp(), TRAIN, verify=True, dump_after={"simplify"},
                       dump_before="differentiate", dump=d)
    files = sorted(p.name for p in d.iterdir())
    assert files == ["00-before-differentiate.gkir", "01-after-simplify.gkir"]
    assert ir.parse((d / "01-after-simplify.gkir").read_text()) == out
    assert ir.parse((d / "00-before-differentiate.gkir").read_text()) == _mlp()


def test_dump_to_a_callable_and_all():
    seen = []
    run_pipeline(_mlp(), TRAIN, dump_after="all",
                 dump=lambda label, text: seen.append((label, ir.parse(text))))
    assert [label for label, _ in seen] == ["00-after-differentiate",
                                            "01-after-simplify"]


def test_graphkeras_dump_ir_dumps_every_pass(tmp_path, monkeypatch):
    monkeypatch.setenv("GRAPHKERAS_DUMP", "ir,llvm")
    monkeypatch.setenv("GRAPHKERAS_DUMP_DIR", str(tmp_path / "dumps"))
    run_pipeline(_mlp(), TRAIN)
    assert sorted(p.name for p in (tmp_path / "dumps").iterdir()) == [
        "00-after-differentiate.gkir", "01-after-simplify.gkir"]


def _raises_key_error(fn: Function) -> Function:
    raise KeyError("oops")


def test_a_crashing_pass_is_an_internal_error_naming_it():
    passes = [*TRAIN, _raises_key_error, eliminate_dead_code]
    with pytest.raises(ir.InternalCompilerError) as info:
        run_pipeline(_mlp(), passes)
    e = info.value
    assert e.pass_name == "_raises_key_error"
    assert str(e).startswith(
        "Pass _raises_key_error failed on @step: KeyError: 'oops'. Passes run "
        "before it: differentiate, simplify. (in pass _raises_key_error)"
    )
    assert "This is a bug in graphkeras" in str(e)
    assert isinstance(e.__cause__, KeyError)
    # the failing pass's input is saved for the bug report
    assert e.dump_path.startswith(tempfile.gettempdir())
    with open(e.dump_path) as f:
        assert ir.parse(f.read()) == run_pipeline(_mlp(), TRAIN)


def _retype(fn: Function) -> Function:
    """A broken pass: declares the first node's result with a wrong shape."""
    first = fn.nodes[0]
    bad = Value(first.output.name, TensorType((7,), first.output.dtype))
    node = Node(first.op, first.inputs, first.attrs, (bad,), first.loc)
    return fn.replace(nodes=(node,) + fn.nodes[1:])


def _use_before_def(fn: Function) -> Function:
    return fn.replace(nodes=tuple(reversed(fn.nodes)))


def test_an_invalid_result_is_an_internal_error_naming_the_pass():
    with pytest.raises(ir.InternalCompilerError,
                       match="Pass _retype failed on @step: it produced an invalid "
                       "program: @step, node 0 .*Passes run before it: none") as info:
        run_pipeline(_mlp(), [_retype], verify=True)
    assert isinstance(info.value.__cause__, ir.VerifyError)


def test_tests_verify_by_default():
    # tests/conftest.py sets GRAPHKERAS_VERIFY=1, so verify=None verifies
    with pytest.raises(ir.InternalCompilerError, match="Pass _retype failed"):
        run_pipeline(_mlp(), [_retype])


def test_without_verification_only_cheap_checks_run(monkeypatch):
    monkeypatch.setenv("GRAPHKERAS_VERIFY", "0")
    run_pipeline(_mlp(), [_retype])  # a type error goes unnoticed
    with pytest.raises(ir.InternalCompilerError, match="used before it is defined"):
        run_pipeline(_mlp(), [_use_before_def])
    monkeypatch.setenv("GRAPHKERAS_VERIFY", "1")
    with pytest.raises(ir.InternalCompilerError, match="Pass _retype failed"):
        run_pipeline(_mlp(), [_retype])


def test_a_pass_returning_something_else_is_an_internal_error():
    with pytest.raises(ir.InternalCompilerError, match="returned NoneType"):
        run_pipeline(_mlp(), [("nothing", lambda fn: None)])


def test_user_errors_propagate_unchanged():
    b = ir.Builder("f")
    x = b.param("x", (3,))
    fn = b.build([b.reduce_sum(b.round(x))])
    with pytest.raises(NotDifferentiableError) as info:
        run_pipeline(fn, [simplify, functools.partial(differentiate, wrt=["x"])])
    assert info.value.__cause__ is None
    assert str(info.value).startswith('Op "round" is not differentiable')
