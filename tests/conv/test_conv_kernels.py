"""The native conv, pooling and resizing kernels against the reference
interpreter on shapes like a CNN's: channel counts around and beyond the
micro-kernel's panel width (output-channel tails, pixel-block tails),
groups, strides, dilations, "same"/"valid"/explicit padding, 1 to 3
spatial dimensions, batch 1, float32 and float64.

float32 results are compared with the float64 interpretation of the same
program, within a bound scaled by the size of the sums (a convolution
adds K*C products, and the kernel adds them in another order).
"""

from __future__ import annotations

import numpy as np
import pytest
from compiled_helpers import compile_function
from conv_helpers import draw_spatial
from hypothesis import given, settings
from hypothesis import strategies as st

from graphkeras import ir
from graphkeras.ir.ops.conv import out_length


def _promoted(fn: ir.Function) -> ir.Function:
    """The same one-op program in float64."""
    b = ir.Builder(fn.name)
    ps = [b.param(p.name, p.type.with_dtype(ir.float64)) for p in fn.params]
    node = fn.nodes[-1]
    return b.build([b.op(node.op, *ps, **dict(node.attrs))])


def check_against_float64(fn: ir.Function, args, scale_terms: int) -> None:
    got = compile_function(fn).run(args)[0]
    want = ir.interpret(_promoted(fn), [a.astype(np.float64) for a in args])[0]
    assert got.shape == want.shape and got.dtype == fn.results[0].dtype.np
    if fn.results[0].dtype == ir.float64:
        np.testing.assert_allclose(got, want, rtol=1e-11, atol=1e-11)
        return
    # |error| <= eps * (number of terms) * (sum of |products|); inputs are
    # in [-1, 1], so the sum of |products| is at most scale_terms
    bound = 4 * np.finfo(np.float32).eps * scale_terms * max(1.0, np.sqrt(
        scale_terms))
    err = float(np.max(np.abs(got - want), initial=0.0))
    assert err <= bound, f"max error {err:.3g} > {bound:.3g}"


@st.composite
def conv_cases(draw, op: str):
    D = draw(st.sampled_from([1, 2, 2, 2, 3]))
    dtype = draw(st.sampled_from([ir.float32, ir.float32, ir.float64]))
    groups = draw(st.sampled_from([1, 1, 1, 2, 4]))
    cig = draw(st.sampled_from([1, 3, 5, 8, 17, 32]))
    cog = draw(st.sampled_from([1, 7, 16, 17, 33, 40]))
    if groups > 1:
        cig, cog = max(cig // groups, 1), max(cog // groups, 1)
    limit = {1: 40, 2: 11, 3: 5}[D]
    kernel = [draw(st.integers(1, 3)) for _ in range(D)]
    strides = [draw(st.sampled_from([1, 1, 2, 3])) for _ in range(D)]
    dilation = [1 if s > 1 else draw(st.sampled_from([1, 1, 2])) for s in strides]
    sizes, pads, outs = draw_spatial(draw, kernel, strides, dilation, limit)
    n = draw(st.sampled_from([1, 2, 3]))
    attrs = {"strides": tuple(strides), "pads": tuple(pads),
             "dilation": tuple(dilation), "groups": groups}
    x = ("N", *sizes, groups * cig)
    w = (*kernel, cig, groups * cog)
    g = ("N", *outs, groups * cog)
    if op == "conv":
        types, extra, terms = [x, w], {}, int(np.prod(kernel)) * cig
    elif op == "conv_transpose":
        types, extra = [g, w], {"shape": tuple(sizes)}
        terms = int(np.prod(kernel)) * cog
    else:
        types, extra = [x, g], {"shape": tuple(kernel)}
        terms = n * int(np.prod(outs))
    seed = draw(st.integers(0, 2**31 - 1))
    return types, {**attrs, **extra}, dtype, n, terms, seed


def _args(fn, n, seed):
    rng = np.random.default_rng(seed)
    return [rng.uniform(-1, 1, p.type.concrete_shape({"N": n})).astype(
        p.dtype.np) for p in fn.params]


@pytest.mark.parametrize("op", ["conv", "conv_transpose", "conv_filter_grad"])
@settings(max_examples=12)
@given(data=st.data())
def test_conv_kernels_match_the_reference(op, data):
    types, attrs, dtype, n, terms, seed = data.draw(conv_cases(op))
    b = ir.Builder(op)
    ps = [b.param(f"x{i}", ir.TensorType(t, dtype)) for i, t in enumerate(types)]
    fn = b.build([b.op(op, *ps, **attrs)])
    check_against_float64(fn, _args(fn, n, seed), terms)


@pytest.mark.parametrize("op", ["max_pool", "avg_pool", "max_pool_grad",
                                "avg_pool_grad"])
@settings(max_examples=10)
@given(data=st.data())
def test_pool_kernels_match_the_reference(op, data):
    D = data.draw(st.sampled_from([1, 2, 2, 3]))
    window = [data.draw(st.integers(1, 3)) for _ in range(D)]
    strides = [data.draw(st.integers(1, 3)) for _ in range(D)]
    pads = [(data.draw(st.integers(0, k - 1)), data.draw(st.integers(0, k - 1)))
            for k in window]
    limit = {1: 30, 2: 9, 3: 5}[D]
    sizes = [max(data.draw(st.integers(1, limit)), k - lo - hi)
             for k, (lo, hi) in zip(window, pads)]
    outs = [out_length(i, k, s, 1, lo, hi) for i, k, s, (lo, hi)
            in zip(sizes, window, strides, pads)]
    c = data.draw(st.sampled_from([1, 3, 8, 19]))
    dtype = data.draw(st.sampled_from([ir.float32, ir.float64]))
    n = data.draw(st.sampled_from([1, 2]))
    attrs = {"window": tuple(window), "strides": tuple(strides),
             "pads": tuple(pads)}
    x, g = ("N", *sizes, c), ("N", *outs, c)
    types = {"max_pool": [x], "avg_pool": [x], "max_pool_grad": [x, g],
             "avg_pool_grad": [g]}[op]
    if op == "avg_pool_grad":
        attrs["shape"] = tuple(sizes)
    b = ir.Builder(op)
    ps = [b.param(f"x{i}", ir.TensorType(t, dtype)) for i, t in enumerate(types)]
    fn = b.build([b.op(op, *ps, **attrs)])
    rng = np.random.default_rng(data.draw(st.integers(0, 2**31 - 1)))
    args = []
    for p in fn.params:
        shape = p.type.concrete_shape({"N": n})
        # distinct values: no ties, so max pooling has one answer
        size = int(np.prod(shape))
        vals = rng.permutation(size).reshape(shape) / max(size, 1)
        args.append(vals.astype(dtype.np))
    check_against_float64(fn, args, int(np.prod(window)))


@settings(max_examples=12)
@given(data=st.data())
def test_resize_kernels_match_the_reference(data):
    op = data.draw(st.sampled_from(["resize", "resize_grad"]))
    D = data.draw(st.sampled_from([1, 2, 2, 3]))
    small = 5 if D == 3 else 13
    a = [data.draw(st.integers(1, small)) for _ in range(D)]
    z = [data.draw(st.integers(1, small)) for _ in range(D)]
    method = data.draw(st.sampled_from(["bilinear", "nearest"]))
    c = data.draw(st.sampled_from([1, 3, 9]))
    dtype = data.draw(st.sampled_from([ir.float32, ir.float64]))
    b = ir.Builder(op)
    x = b.param("x", ir.TensorType(("N", *a, c), dtype))
    fn = b.build([b.op(op, x, shape=tuple(z), method=method)])
    check_against_float64(fn, _args(fn, 2, data.draw(st.integers(0, 99))),
                          int(np.prod([-(-i // o) + 2 for i, o in zip(a, z)])))


def test_one_module_serves_every_batch_size():
    b = ir.Builder("cnn")
    x = b.param("x", ("N", 9, 9, 3))
    w = b.param("w", (3, 3, 3, 20))
    y = b.conv(x, w, strides=(2, 2), pads=((1, 1), (1, 1)), dilation=(1, 1))
    y = b.max_pool(b.relu(y), window=(2, 2), strides=(1, 1), pads=((0, 1), (0, 1)))
    fn = b.build([y])
    exe = compile_function(fn)
    rng = np.random.default_rng(0)
    wv = rng.uniform(-1, 1, (3, 3, 3, 20)).astype(np.float32)
    for n in (1, 5, 2, 0):
        xv = rng.uniform(-1, 1, (n, 9, 9, 3)).astype(np.float32)
        got = exe.run([xv, wv])[0]
        want = ir.interpret(fn, [xv, wv])[0]
        assert got.shape == (n, 5, 5, 20)
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)
