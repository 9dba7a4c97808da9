"""The rewrite rules one by one, constant folding, CSE, DCE and the golden
IR-in/IR-out fixtures of simplify (tests/passes/golden/*.gkir)."""

from __future__ import annotations

import pathlib
import re

import numpy as np
import pytest
from strategies import check_same_outputs

from graphkeras import ir
from graphkeras.passes import (
    RULES,
    apply_rewrites,
    eliminate_common_subexpressions,
    eliminate_dead_code,
    fold_constants,
    simplify,
)
from graphkeras.passes.rewrite import Match, P, X

GOLDEN = pathlib.Path(__file__).parent / "golden"


def _fn(body: str, ret: str = "f32[N,3]", sig: str = "%x: f32[N,3]") -> ir.Function:
    return ir.parse(f"func @f({sig}) -> ({ret}) {{\n{body}\n}}")


def _args(fn: ir.Function, seed: int = 0) -> list:
    rng = np.random.default_rng(seed)
    out = []
    for p in fn.params:
        shape = p.type.concrete_shape({"N": 2})
        if p.dtype.is_float:
            out.append(rng.uniform(-2, 2, shape).astype(p.dtype.np))
        elif p.dtype.is_int:
            out.append(rng.integers(-4, 5, shape).astype(p.dtype.np))
        else:
            out.append(rng.random(shape) < 0.5)
    return out


# rule name -> a smallest program it rewrites (a body over %x: f32[N,3],
# or (body, result type))
RULE_CASES = {
    "x + 0 -> x": "%0 = zeros {shape=(3,)} : f32[3]\n%1 = add %x, %0 : f32[N,3]\n"
                  "return %1",
    "0 + x -> x": "%0 = constant {value=array<f32[] 0.0>} : f32[]\n"
                  "%1 = add %0, %x : f32[N,3]\nreturn %1",
    "x - 0 -> x": "%0 = constant {value=array<f32[] 0.0>} : f32[]\n"
                  "%1 = sub %x, %0 : f32[N,3]\nreturn %1",
    "0 - y -> -y": "%0 = constant {value=array<f32[] 0.0>} : f32[]\n"
                   "%1 = sub %0, %x : f32[N,3]\nreturn %1",
    "x * 1 -> x": "%0 = ones {shape=(1,3)} : f32[1,3]\n%1 = mul %x, %0 : f32[N,3]\n"
                  "return %1",
    "1 * x -> x": "%0 = constant {value=array<f32[] 1.0>} : f32[]\n"
                  "%1 = mul %0, %x : f32[N,3]\nreturn %1",
    "x / 1 -> x": "%0 = constant {value=array<f32[3] 1.0 1.0 1.0>} : f32[3]\n"
                  "%1 = div %x, %0 : f32[N,3]\nreturn %1",
    "-(-x) -> x": "%0 = neg %x : f32[N,3]\n%1 = neg %0 : f32[N,3]\nreturn %1",
    "x + (-y) -> x - y": "%0 = neg %x : f32[N,3]\n%1 = exp %x : f32[N,3]\n"
                         "%2 = add %1, %0 : f32[N,3]\nreturn %2",
    "(-y) + x -> x - y": "%0 = neg %x : f32[N,3]\n%1 = exp %x : f32[N,3]\n"
                         "%2 = add %0, %1 : f32[N,3]\nreturn %2",
    "x - (-y) -> x + y": "%0 = neg %x : f32[N,3]\n%1 = exp %x : f32[N,3]\n"
                         "%2 = sub %1, %0 : f32[N,3]\nreturn %2",
    "|(|x|)| -> |x|": "%0 = abs %x : f32[N,3]\n%1 = abs %0 : f32[N,3]\nreturn %1",
    "|-x| -> |x|": "%0 = neg %x : f32[N,3]\n%1 = abs %0 : f32[N,3]\nreturn %1",
    "relu(relu(x)) -> relu(x)": "%0 = relu %x : f32[N,3]\n%1 = relu %0 : f32[N,3]\n"
                                "return %1",
    "sg(sg(x)) -> sg(x)": "%0 = stop_gradient %x : f32[N,3]\n"
                          "%1 = stop_gradient %0 : f32[N,3]\nreturn %1",
    "where(c, x, x) -> x": "%0 = constant {value=array<f32[] 0.0>} : f32[]\n"
                           "%1 = greater %x, %0 : bool[N,3]\n"
                           "%2 = where %1, %x, %x : f32[N,3]\nreturn %2",
    "transpose(x, id) -> x": "%0 = transpose %x {perm=(0,1)} : f32[N,3]\nreturn %0",
    "transpose(transpose(x, a), b) -> transpose(x, a[b])":
        "%0 = transpose %x {perm=(1,0)} : f32[3,N]\n"
        "%1 = transpose %0 {perm=(1,0)} : f32[N,3]\nreturn %1",
    "reshape(x, shape(x)) -> x": "%0 = reshape %x {shape=(N,3)} : f32[N,3]\n"
                                 "return %0",
    "reshape(reshape(x)) -> reshape(x)": (
        ("%0 = reshape %x {shape=(3,N)} : f32[3,N]\n"
        "%1 = reshape %0 {shape=(N,1,3)} : f32[N,1,3]\nreturn %1"), "f32[N,1,3]"),
    "broadcast_to(x, shape(x)) -> x":
        "%0 = broadcast_to %x {shape=(N,3)} : f32[N,3]\nreturn %0",
    "broadcast_to(broadcast_to(x)) -> broadcast_to(x)": (
        ("%0 = broadcast_to %x {shape=(1,N,3)} : f32[1,N,3]\n"
        "%1 = broadcast_to %0 {shape=(2,N,3)} : f32[2,N,3]\nreturn %1"),
        "f32[2,N,3]"),
    "x[::] -> x": "%0 = slice %x {starts=(0,0), stops=(none,3), steps=(1,1)} "
                  ": f32[N,3]\nreturn %0",
    "pad(x, 0) -> x": "%0 = pad %x {pads=((0,0),(0,0))} : f32[N,3]\nreturn %0",
    "concat(x) -> x": "%0 = concat %x {axis=1} : f32[N,3]\nreturn %0",
    "reduce(x, axes of size 1) -> reshape(x)":
        "%0 = reshape %x {shape=(N,1,3)} : f32[N,1,3]\n"
        "%1 = reduce_sum %0 {axes=(1,)} : f32[N,3]\nreturn %1",
    "mean(x, axes of size 1) -> reshape(x)":
        "%0 = reshape %x {shape=(N,3,1)} : f32[N,3,1]\n"
        "%1 = reduce_mean %0 {axes=(2,)} : f32[N,3]\nreturn %1",
    "max(x, axes of size 1) -> reshape(x)":
        "%0 = reduce_max %x {axes=()} : f32[N,3]\nreturn %0",
    "min(x, axes of size 1) -> reshape(x)":
        "%0 = reshape %x {shape=(1,N,3)} : f32[1,N,3]\n"
        "%1 = reduce_min %0 {axes=(0,), keepdims=true} : f32[1,N,3]\n"
        "%2 = reshape %1 {shape=(N,3)} : f32[N,3]\nreturn %2",
    "dim_size(x, N) -> dim_size(param, N)": (
        ("%0 = exp %x : f32[N,3]\n%1 = dim_size %0 {axis=0} : f32[]\n"
        "%2 = dim_size %x {axis=0} : f32[]\n%3 = add %1, %2 : f32[]\nreturn %3"),
        "f32[]"),
    "cast(x, dtype(x)) -> x": "%0 = cast %x {dtype=f32} : f32[N,3]\nreturn %0",
    # (body, result type, signature): the transpose moves to the indices
    "transpose(gather(x, y), p) -> gather(x, transpose(y, p))": (
        ("%0 = gather %x, %y {axis=0} : f32[N,4,3]\n"
         "%1 = transpose %0 {perm=(1,0,2)} : f32[4,N,3]\nreturn %1"),
        "f32[4,N,3]", "%x: f32[5,3], %y: i32[N,4]"),
    "scatter_add(z, y, transpose(x, p)) -> scatter_add(z, transpose(y, p^-1), x)": (
        ("%0 = transpose %x {perm=(1,2,0,3)} : i32[N,2,4,3]\n"
         "%1 = scatter_add %z, %y, %0 {axis=0} : i32[5,3]\nreturn %1"),
        "i32[5,3]", "%x: i32[4,N,2,3], %y: i32[N,2,4], %z: i32[5,3]"),
    "cast(cast(x, wider), d) -> cast(x, d)":
        "%0 = cast %x {dtype=f64} : f64[N,3]\n%1 = cast %0 {dtype=f32} : f32[N,3]\n"
        "return %1",
}


def test_every_rule_has_a_case():
    assert sorted(RULE_CASES) == sorted(name for name, _, _ in RULES)


@pytest.mark.parametrize("name", sorted(RULE_CASES))
def test_rule_fires_and_keeps_results(name):
    case = RULE_CASES[name]
    fn = _fn(*case) if isinstance(case, tuple) else _fn(case)
    applied: list = []
    out = eliminate_dead_code(apply_rewrites(fn, applied=applied))
    assert name in applied
    ir.verify(out)
    if "gather" in name or "scatter" in name:
        # as many nodes, but the transpose now moves the (smaller) indices
        (t,) = [n for n in out.nodes if n.op == "transpose"]
        assert t.outputs[0].dtype.is_int and t.inputs[0].name == "y"
    else:
        assert len(out.nodes) < len(fn.nodes)
    check_same_outputs(out, fn, _args(fn), rtol=0, atol=0)


# programs that look like a rule's pattern but must not change:
# name -> (signature, body, result types)
NO_REWRITE = {
    "x * 0 is not 0 (NaN, inf)": (
        "%x: f32[N,3]",
        ("%0 = constant {value=array<f32[] 0.0>} : f32[]\n"
        "%1 = mul %x, %0 : f32[N,3]\nreturn %1"),
        "f32[N,3]"),
    "a transpose of the same type that is no identity": (
        "%x: f32[N,3,3]", "%0 = transpose %x {perm=(0,2,1)} : f32[N,3,3]\nreturn %0",
        "f32[N,3,3]"),
    "a reversing slice keeps the shape": (
        "%x: f32[N,3]",
        ("%0 = slice %x {starts=(0,2), stops=(none,none), steps=(1,-1)} : f32[N,3]\n"
        "return %0"),
        "f32[N,3]"),
    "reduce over an axis of size 3": (
        "%x: f32[N,3]", ("%0 = reduce_max %x {axes=(1,), keepdims=true} : f32[N,1]\n"
        "return %0"),
        "f32[N,1]"),
    "i64 -> i32 -> i64 may wrap": (
        "%x: i64[N,3]",
        ("%0 = cast %x {dtype=i32} : i32[N,3]\n%1 = cast %0 {dtype=i64} : i64[N,3]\n"
        "return %1"),
        "i64[N,3]"),
    "f64 -> f32 -> f64 rounds": (
        "%x: f64[N,3]",
        ("%0 = cast %x {dtype=f32} : f32[N,3]\n%1 = cast %0 {dtype=f64} : f64[N,3]\n"
        "return %1"),
        "f64[N,3]"),
    "i32 -> f32 -> i32 rounds above 2**24": (
        "%x: i32[N,3]",
        ("%0 = cast %x {dtype=f32} : f32[N,3]\n%1 = cast %0 {dtype=i32} : i32[N,3]\n"
        "return %1"),
        "i32[N,3]"),
}


@pytest.mark.parametrize("name", sorted(NO_REWRITE))
def test_lookalikes_are_left_alone(name):
    sig, body, ret = NO_REWRITE[name]
    fn = _fn(body, ret, sig)
    assert simplify(fn) == fn


def test_adding_a_broadcasting_zero_becomes_broadcast_to():
    fn = _fn("%0 = zeros {shape=(2,1,3)} : f32[2,1,3]\n"
             "%1 = add %x, %0 : f32[2,N,3]\nreturn %1", ret="f32[2,N,3]")
    out = simplify(fn)
    assert [n.op for n in out.nodes] == ["broadcast_to"]
    assert out.results[0].type == fn.results[0].type
    check_same_outputs(out, fn, _args(fn), rtol=0, atol=0)


def test_rules_keep_loc_and_results_may_become_params():
    b = ir.Builder("f")
    x = b.param("x", (2, 3, 4))
    with b.at("dense"):
        t = b.transpose(b.transpose(x, perm=(1, 0, 2)), perm=(0, 2, 1))
    y = b.mul(x, b.constant(1.0))
    fn = b.build([t, y, x])
    out = simplify(fn)
    assert out.results[1] is x and out.results[2] is x
    (node,) = out.nodes
    assert (node.op, node.attrs["perm"], node.loc) == ("transpose", (1, 2, 0),
                                                       "dense")
    check_same_outputs(out, fn, _args(fn), rtol=0, atol=0)


def test_unused_params_stay():
    fn = _fn("%0 = exp %x : f32[N,3]\nreturn %x", sig="%x: f32[N,3], %y: f32[2]")
    out = simplify(fn)
    assert out.params == fn.params and out.nodes == () and out.results == fn.results


# --- constant folding --------------------------------------------------------


def test_folding_evaluates_constants_and_keeps_names_and_locs():
    fn = _fn('%0 = constant {value=array<f32[2] 1.0 2.0>} : f32[2]\n'
             '%1 = exp %0 : f32[2]  loc("dense")\n'
             "%2 = ones {shape=(2,)} : f32[2]\n"
             "%3 = add %1, %2 : f32[2]\n%4 = dim_size %x {axis=1} : f32[]\n"
             "%5 = dim_size %x {axis=0} : f32[]\n"
             "%6 = mul %4, %5 : f32[]\nreturn %3, %6",
             ret="f32[2], f32[]")
    out = fold_constants(fn)
    ops = {n.outputs[0].name: (n.op, n.loc) for n in out.nodes}
    assert ops["1"] == ("constant", "dense")
    assert ops["3"][0] == "constant" and ops["4"][0] == "constant"
    assert ops["5"][0] == "dim_size" and ops["6"][0] == "mul"  # N is unknown
    np.testing.assert_array_equal(
        out.producers()["3"].attrs["value"].array,
        np.exp(np.float32([1, 2])) + np.float32(1),
    )
    check_same_outputs(out, fn, _args(fn), rtol=0, atol=0)


def test_folding_skips_symbolic_large_and_random_results():
    fn = _fn("%0 = ones {shape=(N,3)} : f32[N,3]\n%1 = neg %0 : f32[N,3]\n"
             "%2 = ones {shape=(4097,)} : f32[4097]\n%3 = neg %2 : f32[4097]\n"
             "%4 = constant {value=array<i64[] 7>} : i64[]\n"
             "%5 = random_uniform %4 {seed=1, shape=(3,)} : f32[3]\n"
             "%6 = ones {shape=(4096,)} : f32[4096]\n%7 = neg %6 : f32[4096]\n"
             "return %1, %3, %5, %7",
             ret="f32[N,3], f32[4097], f32[3], f32[4096]")
    ops = [n.op for n in fold_constants(fn).nodes]
    assert ops == ["ones", "neg", "ones", "neg", "constant", "random_uniform",
                   "ones", "constant"]


def test_folded_nan_round_trips():
    fn = _fn("%0 = constant {value=array<f32[] -1.0>} : f32[]\n"
             "%1 = log %0 : f32[]\n%2 = add %x, %1 : f32[N,3]\nreturn %2")
    out = simplify(fn)
    assert "nan" in ir.print_function(out)
    assert ir.parse(ir.print_function(out)) == out
    check_same_outputs(out, fn, _args(fn))


# --- CSE and DCE -------------------------------------------------------------


def test_cse_merges_equal_nodes_random_ones_included():
    fn = _fn("%c = constant {value=array<i64[] 3>} : i64[]\n"
             "%0 = random_normal %c {seed=5, shape=(N,3)} : f32[N,3]\n"
             "%1 = random_normal %c {seed=5, shape=(N,3)} : f32[N,3]\n"
             "%2 = random_normal %c {seed=6, shape=(N,3)} : f32[N,3]\n"
             "%3 = add %x, %0 : f32[N,3]\n%4 = add %1, %x : f32[N,3]\n"
             "%5 = maximum %x, %2 : f32[N,3]\n%6 = maximum %2, %x : f32[N,3]\n"
             "%7 = sub %3, %4 : f32[N,3]\n%8 = sub %5, %6 : f32[N,3]\n"
             "return %7, %8", ret="f32[N,3], f32[N,3]")
    out = eliminate_dead_code(eliminate_common_subexpressions(fn))
    ops = [n.op for n in out.nodes]
    assert ops.count("random_normal") == 2  # seeds 5 and 6
    assert ops.count("add") == 1  # x + r == r + x
    assert ops.count("maximum") == 2  # a tie's gradient depends on the order
    check_same_outputs(out, fn, _args(fn), rtol=0, atol=0)


def test_dce_removes_the_unused_gradient_products():
    # loss = mean(square(x @ w)); the VJP of matmul also builds dx = g @ w^T,
    # which nothing reads since x is not in wrt.
    from graphkeras.passes import differentiate

    b = ir.Builder("step")
    x = b.param("x", ("N", 4))
    w = b.param("w", (4, 3))
    loss = b.reduce_mean(b.square(b.matmul(x, w)))
    grad = differentiate(b.build([loss]), ["w"])
    matmuls = [n for n in grad.nodes if n.op == "matmul"]
    assert len(matmuls) == 3
    out = eliminate_dead_code(grad)
    kept = [n for n in out.nodes if n.op == "matmul"]
    assert len(kept) == 2
    dx = [n for n in matmuls if n.attrs["transpose_b"]]
    assert dx and dx[0] not in out.nodes
    check_same_outputs(out, grad, _args(grad), rtol=0, atol=0)


# --- the engine's own errors ---------------------------------------------------


def test_a_rule_that_never_settles_is_an_internal_error():
    looping = [("exp(x) -> exp(x)", P.exp(X), lambda m: m.builder.exp(m.x))]
    fn = _fn("%0 = exp %x : f32[N,3]\nreturn %0")
    with pytest.raises(ir.InternalCompilerError,
                       match=re.escape('still firing are: "exp(x) -> exp(x)"')):
        apply_rewrites(fn, looping, max_sweeps=5)


def test_a_rule_that_changes_the_type_is_an_internal_error():
    def bad(m: Match):
        return m.builder.reduce_sum(m.x, axes=(0,))

    fn = _fn("%0 = neg %x : f32[N,3]\nreturn %0")
    with pytest.raises(ir.InternalCompilerError,
                       match=r'rule "bad" replaced %0: f32\[N,3\] by .*f32\[3\]'):
        apply_rewrites(fn, [("bad", P.neg(X), bad)])


# --- golden fixtures -----------------------------------------------------------


@pytest.mark.parametrize("path", sorted(GOLDEN.glob("*.gkir")), ids=lambda p: p.stem)
def test_simplify_golden(path):
    text = path.read_text()
    source, expected = text.split("// expect:\n")
    fn = ir.parse(source)
    out = simplify(fn)
    assert ir.print_function(out) + "\n" == expected
    check_same_outputs(out, fn, _args(fn))
