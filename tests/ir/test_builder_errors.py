"""Builder errors name the op, the operand types and what was expected."""

from __future__ import annotations

import re

import pytest

from graphkeras import ir


@pytest.fixture
def b():
    return ir.Builder("f")


def _raises(message: str):
    """pytest.raises for an IRTypeError whose text is exactly `message`."""
    return pytest.raises(ir.IRTypeError, match="^" + re.escape(message) + "$")


def test_operand_dtype_mismatch(b):
    x, y = b.param("x", ("N", 3)), b.param("y", (3,), ir.int32)
    with _raises('Op "add" cannot take operands (f32[N,3], i32[3]): operand '
                 "dtypes differ (float32 vs int32); cast one of them first"):
        b.add(x, y)


def test_shapes_not_broadcastable(b):
    x, y = b.param("x", ("N", 3)), b.param("y", (4,))
    with _raises('Op "mul" cannot take operands (f32[N,3], f32[4]): shapes '
                 "(N, 3) and (4,) are not broadcastable (axis -1: 3 vs 4)"):
        b.mul(x, y)


def test_symbol_does_not_broadcast_against_another_size(b):
    x, y = b.param("x", ("N", 3)), b.param("y", (2, 3))
    with _raises('Op "sub" cannot take operands (f32[N,3], f32[2,3]): shapes '
                 "(N, 3) and (2, 3) are not broadcastable (axis -2: N vs 2)"):
        b.sub(x, y)


def test_wrong_operand_count(b):
    x = b.param("x", ("N", 3))
    with _raises('Op "add" takes 2 operand(s), received 1: (f32[N,3]).'):
        b.op("add", x)
    with _raises('Op "concat" needs at least one operand.'):
        b.op("concat")


def test_unknown_attribute(b):
    x = b.param("x", (3,))
    with _raises('Op "relu" has no attribute "alpha" (its attributes: none).'):
        b.relu(x, alpha=0.1)
    with _raises('Op "reduce_sum" has no attribute "axis" '
                 "(its attributes: axes, keepdims)."):
        b.reduce_sum(x, axis=0)


def test_missing_required_attribute(b):
    x = b.param("x", (3,))
    with _raises('Op "clip" requires the attribute "max".'):
        b.clip(x, min=0.0)


def test_bad_attribute_value(b):
    x = b.param("x", (3,))
    with _raises('Op "reduce_sum": bad attribute keepdims=1: expected True or '
                 "False, got 1."):
        b.reduce_sum(x, keepdims=1)
    with _raises("Op \"cast\": bad attribute dtype='float16': Unsupported "
                 "dtype: 'float16'. Expected one of float32, float64, int32, "
                 "int64, bool."):
        b.cast(x, dtype="float16")


def test_attribute_illegal_for_the_operands(b):
    x = b.param("x", ("N", 3))
    with _raises('Op "reduce_sum" cannot take operands (f32[N,3]) {axes=(5,), '
                 "keepdims=False}: axis 5 is out of range for rank 2"):
        b.reduce_sum(x, axes=(5,))
    with _raises('Op "pad" cannot take operands (f32[N,3]) {pads=((1, 1), '
                 "(0, 0)), value=0.0}: cannot pad the symbolic dimension N"):
        b.pad(x, pads=((1, 1), (0, 0)))


def test_operand_kind(b):
    y = b.param("y", (3,), ir.int32)
    with _raises('Op "log" cannot take operands (i32[3]): the operand must be '
                 "floating-point, got int32"):
        b.log(y)
    with _raises('Op "where" cannot take operands (i32[3], i32[3], i32[3]): '
                 "the condition must be boolean, got int32"):
        b.where(y, y, y)


def test_matmul_contracted_dims(b):
    x, w = b.param("x", ("N", 3)), b.param("w", (4, 5))
    with _raises('Op "matmul" cannot take operands (f32[N,3], f32[4,5]) '
                 "{precision='float32', transpose_a=False, transpose_b=False}: "
                 "the contracted "
                 "dimensions differ (3 vs 4)"):
        b.matmul(x, w)


def test_operand_not_a_value(b):
    with _raises('Op "relu": operand 0 must be an IR Value, received float 3.0.'):
        b.relu(3.0)


def test_unknown_op(b):
    x = b.param("x", (3,))
    with _raises('Unknown op "nosuch".'):
        b.op("nosuch", x)
    with pytest.raises(AttributeError):
        b.nosuch(x)


def test_duplicate_parameter_name(b):
    b.param("x", (3,))
    with pytest.raises(ValueError, match=r'^The name "%x" is already used'):
        b.param("x", (3,))


def test_size_zero_axis_where_no_result_exists(b):
    x, i = b.param("x", (0, 3)), b.param("i", (2,), ir.int32)
    with _raises('Op "reduce_max" cannot take operands (f32[0,3]) {axes=(0,), '
                 "keepdims=False}: reduce_max over axis 0, of size 0, has no "
                 "value"):
        b.reduce_max(x, axes=(0,))
    with _raises('Op "argmin" cannot take operands (f32[0,3]) {axis=0, '
                 "dtype=i64, keepdims=False}: argmin over axis 0, of size 0, "
                 "has no value"):
        b.argmin(x, axis=0)
    with _raises('Op "gather" cannot take operands (f32[0,3], i32[2]) '
                 "{axis=0}: cannot gather along axis 0, of size 0"):
        b.gather(x, i, axis=0)
    assert b.reduce_max(x, axes=(1,)).shape == (0,)  # other axes are fine
