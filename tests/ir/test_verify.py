"""The verifier rejects malformed Functions with a message naming the node
(function, node index, result names, op, and the layer when known)."""

from __future__ import annotations

import pytest

from graphkeras import ir
from graphkeras.ir import Function, Node, TensorType, Value

F32_3 = TensorType((3,))
X = Value("x", F32_3)
V0 = Value("0", F32_3)
V1 = Value("1", F32_3)


def _fn(nodes, results, params=(X,)) -> Function:
    return Function("f", tuple(params), tuple(nodes), tuple(results))


def _relu(x, out, loc=None) -> Node:
    return Node("relu", (x,), {}, (out,), loc)


def _check_rejected(fn: Function, message: str) -> None:
    with pytest.raises(ir.VerifyError) as info:
        ir.verify(fn)
    assert str(info.value) == message


def test_well_formed_function_passes_unchanged():
    fn = _fn([_relu(X, V0), Node("exp", (V0,), {}, (V1,))], [V1])
    assert ir.verify(fn) is fn


def test_use_before_definition():
    fn = _fn([_relu(V1, V0), _relu(X, V1)], [V0])
    _check_rejected(
        fn, "@f, node 0 (%0 = relu): operand %1 is used before it is defined")


def test_value_defined_twice():
    fn = _fn([_relu(X, V0), Node("exp", (X,), {}, (V0,))], [V0])
    _check_rejected(fn, "@f, node 1 (%0 = exp): %0 is defined twice")


def test_node_redefines_a_parameter():
    _check_rejected(_fn([_relu(X, X)], [X]),
                    "@f, node 0 (%x = relu): %x is defined twice")


def test_parameter_defined_twice():
    _check_rejected(_fn([], [X], params=(X, X)),
                    "@f: parameter %x is defined twice")


def test_wrong_declared_result_shape():
    out = Value("0", TensorType((4,)))
    _check_rejected(
        _fn([_relu(X, out)], [out]),
        "@f, node 0 (%0 = relu): result %0 is declared f32[4] but the op "
        "gives f32[3]",
    )


def test_wrong_declared_result_dtype_names_the_layer():
    out = Value("0", TensorType((3,), ir.float64))
    _check_rejected(
        _fn([_relu(X, out, loc="dense_1")], [out]),
        '@f, node 0 (%0 = relu) (layer "dense_1"): result %0 is declared '
        "f64[3] but the op gives f32[3]",
    )


def test_operand_type_differs_from_its_definition():
    x4 = Value("x", TensorType((4,)))
    out = Value("0", TensorType((4,)))
    _check_rejected(
        _fn([_relu(x4, out)], [out]),
        "@f, node 0 (%0 = relu): operand %x has type f32[4] but was defined "
        "as f32[3]",
    )


def test_unknown_op():
    _check_rejected(_fn([Node("nosuch", (X,), {}, (V0,))], [V0]),
                    "@f, node 0 (%0 = nosuch): unknown op 'nosuch'")


def test_bad_attribute_value():
    node = Node("clip", (X,), {"min": "a", "max": 1.0}, (V0,))
    _check_rejected(
        _fn([node], [V0]),
        "@f, node 0 (%0 = clip): Op \"clip\": bad attribute min='a': "
        "expected a number, got 'a'.",
    )


def test_attribute_illegal_for_the_operands():
    node = Node("transpose", (X,), {"perm": (0, 0)}, (V0,))
    _check_rejected(
        _fn([node], [V0]),
        '@f, node 0 (%0 = transpose): Op "transpose" cannot take operands '
        "(f32[3]) {perm=(0, 0)}: perm (0, 0) is not a permutation of 1 axes",
    )


def test_attribute_of_unsupported_type():
    node = Node("clip", (X,), {"min": {1: 2}, "max": 1.0}, (V0,))
    _check_rejected(
        _fn([node], [V0]),
        "@f, node 0 (%0 = clip): attribute min={1: 2} has an unsupported type",
    )


@pytest.mark.parametrize(
    "attrs, shown",
    [
        ({"axes": (-1,), "keepdims": False}, "{'axes': (-1,), 'keepdims': False}"),
        ({"axes": (0,)}, "{'axes': (0,)}"),  # a default left out
    ],
)
def test_non_canonical_attributes(attrs, shown):
    out = Value("0", TensorType(()))
    node = Node("reduce_sum", (X,), attrs, (out,))
    _check_rejected(
        _fn([node], [out]),
        f"@f, node 0 (%0 = reduce_sum): attributes {shown} are not in "
        "canonical form (expected {'axes': (0,), 'keepdims': False})",
    )


def test_undefined_result():
    _check_rejected(_fn([_relu(X, V0)], [V1]),
                    "@f: result %1 is not defined in the function")


def test_wrong_number_of_results():
    _check_rejected(_fn([Node("relu", (X,), {}, (V0, V1))], [V0]),
                    "@f, node 0 (%0, %1 = relu): has 2 results, the op gives 1")


def test_wrong_number_of_operands():
    _check_rejected(
        _fn([Node("relu", (X, X), {}, (V0,))], [V0]),
        '@f, node 0 (%0 = relu): Op "relu" takes 1 operand(s), received 2: '
        "(f32[3], f32[3]).",
    )


def test_bad_value_name():
    bad = Value("a b", F32_3)
    _check_rejected(_fn([_relu(X, bad)], [bad]),
                    "@f, node 0 (%a b = relu): bad value name %'a b'")
