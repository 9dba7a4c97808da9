"""Convolutions cut into row bands when a batch has fewer images than
chunks (batch-1 inference on two threads): every band of every image
computes its pixels as a whole image would, with a fused epilogue and
pooling on the band's rows only (and a fused pooling's conv computing
only the corner of its output that the windows read), so the results
equal the interpreter's
and each other to the bit on one, two and three threads (odd sizes,
strides, padding, overlapping and padded pooling windows, 1 to 3 spatial
axes, filters packed or read as they are)."""

from __future__ import annotations

import pytest
from conv_helpers import check_identical_across_threads

from graphkeras import ir


def _cnn(cout1: int, cout2: int):
    """The W2 network's inference graph: conv, bias, relu, max_pool twice."""
    b = ir.Builder("cnn")
    x = b.param("x", ("N", 17, 16, 1))
    w1, b1 = b.param("w1", (3, 3, 1, cout1)), b.param("b1", (cout1,))
    w2, b2 = b.param("w2", (3, 3, cout1, cout2)), b.param("b2", (cout2,))
    pool = {"window": (2, 2), "strides": (2, 2), "pads": ((0, 0), (0, 0))}
    valid = {"strides": (1, 1), "pads": ((0, 0), (0, 0)), "dilation": (1, 1)}
    y = b.max_pool(b.relu(b.add(b.conv(x, w1, **valid), b1)), **pool)
    y = b.max_pool(b.relu(b.add(b.conv(y, w2, **valid), b2)), **pool)
    return b.build([b.reshape(y, shape=("N", 2 * 2 * cout2))])


@pytest.mark.parametrize("batch", [1, 3])
def test_cnn_inference_in_bands(batch):
    # 32 and 64 channels: filters used as they are; 20 and 7: packed
    check_identical_across_threads(_cnn(32, 64), batch)
    check_identical_across_threads(_cnn(20, 7), batch)


def _conv_pool(pool: str, window, strides, pads, conv_pads, stride: int):
    b = ir.Builder("conv_pool")
    x = b.param("x", ("N", 11, 9, 3))
    w = b.param("w", (3, 2, 3, 33))
    bias = b.param("bias", (33,))
    y = b.conv(x, w, strides=(stride, 1), pads=conv_pads, dilation=(1, 1))
    y = b.op(pool, b.relu(b.add(y, bias)), window=window, strides=strides,
             pads=pads)
    return b.build([y])


@pytest.mark.parametrize("pool,window,strides,pads,conv_pads,stride", [
    ("max_pool", (3, 3), (2, 2), ((1, 1), (1, 1)), ((1, 1), (0, 1)), 1),
    ("avg_pool", (2, 3), (1, 2), ((0, 0), (1, 1)), ((0, 0), (0, 0)), 2),
    ("max_pool", (3, 1), (3, 1), ((0, 0), (0, 0)), ((2, 0), (0, 0)), 1),
])
def test_fused_pooling_reads_only_its_band_rows(pool, window, strides, pads,
                                               conv_pads, stride):
    fn = _conv_pool(pool, window, strides, pads, conv_pads, stride)
    for batch in (1, 2):
        check_identical_across_threads(fn, batch)


def test_plain_and_transposed_convs_in_bands():
    for shape, kernel, pads in (
            (("N", 29, 3), (4, 3, 32), ((1, 1),)),  # 1 spatial axis
            (("N", 7, 10, 4), (2, 3, 4, 64), ((0, 1), (1, 1))),
            (("N", 4, 5, 3, 2), (2, 2, 2, 2, 5), ((0, 0), (1, 0), (0, 0)))):
        D = len(kernel) - 2
        b = ir.Builder("conv")
        x, w = b.param("x", shape), b.param("w", kernel)
        y = b.conv(x, w, strides=(1,) * D, pads=pads, dilation=(1,) * D)
        check_identical_across_threads(b.build([b.relu(y)]), 1)
    b = ir.Builder("conv_transpose")
    g, w = b.param("g", ("N", 5, 6, 32)), b.param("w", (3, 3, 8, 32))
    y = b.conv_transpose(g, w, strides=(2, 2), pads=((1, 1), (0, 1)),
                         dilation=(1, 1), shape=(9, 12))
    check_identical_across_threads(b.build([y]), 1)
