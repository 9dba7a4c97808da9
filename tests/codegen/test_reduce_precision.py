"""float32 sums over many rows keep their precision: reduce_sum / mean
over leading axes (BatchNormalization's moments and its beta / gamma
gradients over N*H*W) accumulate in float64 when the output is small, so
a sum of 65,536 unnormalized values (0-255 pixels) is within float32
rounding of the exact one; a float32 running sum was ~1e-4 off, which put
one MobileNetV2 SGD step ~5x further from Keras-JAX's than Keras's own
backends are from each other."""

from __future__ import annotations

import numpy as np
import pytest
from compiled_helpers import compile_function

from graphkeras import ir


@pytest.mark.parametrize("op,axes,shape", [
    ("reduce_sum", (0, 1, 2), ("N", 32, 32, 4)),   # NHWC, channels kept
    ("reduce_mean", (0, 1, 2), ("N", 32, 32, 4)),
    ("reduce_sum", (0,), ("N", 6)),                 # a bias gradient
])
def test_float32_sums_over_rows_are_accurate(op, axes, shape):
    b = ir.Builder("sums")
    x = b.param("x", shape)
    fn = b.build([getattr(b, op)(x, axes=axes)])
    rng = np.random.default_rng(0)
    n = 64 if len(shape) == 4 else 65536
    data = (rng.random((n, *shape[1:])) * 255).astype(np.float32)
    got = compile_function(fn).run([data])[0]
    exact = getattr(np, op.split("_")[1])(data.astype(np.float64), axis=axes)
    # float32 rounding of the exact result, plus a little: a float32
    # running sum of these inputs is ~100x further off
    np.testing.assert_allclose(got, exact, rtol=3e-7)
