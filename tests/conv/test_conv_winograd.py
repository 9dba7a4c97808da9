"""Stride-1 3x3 convolutions and their input gradients (conv_transpose)
run as Winograd F(2x2, 3x3) (codegen/conv.py) when both channel counts
reach WINOGRAD_MIN_CHANNELS: compiled against the float64 interpretation
(odd and even sizes, valid / same / asymmetric padding, channel counts
off the panel width, batch 1), with a fused epilogue and pooling (whose
corner crop cuts tiles), in a training step, and the same bits on one,
two and three threads."""

from __future__ import annotations

import numpy as np
import pytest
from compiled_helpers import compile_function
from conv_helpers import check_identical_across_threads

from graphkeras import ir
from graphkeras.codegen.conv import (WINOGRAD_MIN_CHANNELS, ConvPlan,
                                     winograd_dims)
from graphkeras.codegen.target import host


def _conv(op, size, cin, cout, pads, dtype=ir.float32):
    b = ir.Builder(op)
    h, w_ = size
    if op == "conv":
        x = b.param("x", ir.TensorType(("N", h, w_, cin), dtype))
        w = b.param("w", ir.TensorType((3, 3, cin, cout), dtype))
        y = b.conv(x, w, strides=(1, 1), pads=pads, dilation=(1, 1))
    else:  # the input gradient of a conv cout -> cin channels, as cin -> cout
        g = b.param("g", ir.TensorType(("N", h, w_, cin), dtype))
        w = b.param("w", ir.TensorType((3, 3, cout, cin), dtype))
        out = [i + 2 - lo - hi for i, (lo, hi) in zip(size, pads)]
        y = b.conv_transpose(g, w, strides=(1, 1), pads=pads,
                             dilation=(1, 1), shape=tuple(out))
    return b.build([y])


def _winograd(fn) -> bool:
    return winograd_dims(ConvPlan(fn.nodes[-1], host().vector_bytes)) \
        is not None


CASES = [("conv", (11, 11), 32, 64, ((0, 0), (0, 0))),
         ("conv", (8, 13), 17, 33, ((1, 1), (1, 1))),
         ("conv", (5, 4), 16, 20, ((2, 0), (0, 1))),
         ("conv_transpose", (11, 11), 64, 32, ((0, 0), (0, 0))),
         ("conv_transpose", (6, 9), 24, 17, ((1, 1), (0, 2)))]


@pytest.mark.parametrize("op,size,cin,cout,pads", CASES)
def test_winograd_matches_the_float64_reference(op, size, cin, cout, pads):
    fn = _conv(op, size, cin, cout, pads)
    assert _winograd(fn)
    rng = np.random.default_rng(cin * cout)
    for n in (1, 3):
        args = [rng.uniform(-1, 1, p.type.concrete_shape({"N": n})).astype(
            np.float32) for p in fn.params]
        got = compile_function(fn).run(args)[0]
        f64 = _conv(op, size, cin, cout, pads, ir.float64)
        want = ir.interpret(f64, [a.astype(np.float64) for a in args])[0]
        # a few float32 roundings per transform on sums of 9 cin products
        err = float(np.abs(got - want).max())
        # (measured 2e-6 .. 1e-5: ~1e-7 per product; direct taps ~half)
        assert err <= 2e-7 * 9 * cin, (n, err)
    check_identical_across_threads(fn, 2)


def test_other_convolutions_keep_the_taps():
    for fn in (_conv("conv", (9, 9), WINOGRAD_MIN_CHANNELS - 1, 32,
                     ((0, 0), (0, 0))),
               _conv("conv", (9, 9), 32, 8, ((0, 0), (0, 0))),
               _conv("conv", (9, 9), 32, 32, ((0, 0), (0, 0)),
                     dtype=ir.float64)):
        assert not _winograd(fn)
    b = ir.Builder("strided")
    x, w = b.param("x", ("N", 9, 9, 32)), b.param("w", (3, 3, 32, 32))
    fn = b.build([b.conv(x, w, strides=(2, 2), pads=((0, 0), (0, 0)),
                         dilation=(1, 1))])
    assert not _winograd(fn)


def _block(pool: bool):
    b = ir.Builder("block")
    x = b.param("x", ("N", 13, 12, 32))
    w = b.param("w", (3, 3, 32, 48))
    bias = b.param("bias", (48,))
    y = b.relu(b.add(b.conv(x, w, strides=(1, 1), pads=((0, 0), (0, 0)),
                            dilation=(1, 1)), bias))
    if pool:  # 11 x 10 -> 5 x 5: the conv computes a 10 x 10 corner
        y = b.max_pool(y, window=(2, 2), strides=(2, 2), pads=((0, 0), (0, 0)))
    return b.build([y])


def test_winograd_with_epilogue_pooling_and_in_training():
    from graphkeras.passes import differentiate

    for pool in (False, True):
        fn = _block(pool)
        check_identical_across_threads(fn, 1)
        check_identical_across_threads(fn, 3)
    fwd = _block(True)
    b = ir.Builder.from_function(fwd)
    y = fwd.results[0]
    loss = b.build([b.reduce_sum(b.mul(y, y))])
    step = differentiate(loss, ["x", "w", "bias"])
    check_identical_across_threads(step, 3)
