import numpy as np

from graphkeras import ir
from graphkeras.ir.ops.elementwise import clip_bounds


def test_integer_clip_with_infinite_bound_is_unbounded():
    b = ir.Builder()
    x = b.param("x", (5,), "int64")
    fn = b.build([b.clip(x, min=-1.5, max=float("inf"))])
    xv = np.array([-7, -2, -1, 3, 2**40], np.int64)
    (out,) = ir.interpret(fn, [xv])
    np.testing.assert_array_equal(out, np.maximum(xv, -1))


def test_integer_clip_bounds_round_inward():
    assert clip_bounds(-1.5, 2.5, ir.int32) == (-1, 2)
    assert clip_bounds(float("-inf"), 3.0, ir.int32) == (-(2**31), 3)
    assert clip_bounds(-1.5, 2.5, ir.float32) == (-1.5, 2.5)
