"""passes/assign_layouts: channels_first models run channels-last inside
(transposes sink through elementwise ops and cancel, only the edges keep
one), 1x1 convolutions with enough channels become GEMMs, and both keep
the program's results and gradients.
"""

from __future__ import annotations

import numpy as np
from helpers import check_grads

import graphkeras as keras
from graphkeras import ir, layers
from graphkeras.frontend.variables import STORE
from graphkeras.passes import differentiate
from graphkeras.passes.assign_layouts import (
    GEMM_MIN_CHANNELS,
    assign_layouts,
    convs_to_products,
)


def _cnn(fmt: str):
    keras.utils.set_random_seed(4)
    shape = (10, 9, 3) if fmt == "channels_last" else (3, 10, 9)
    inp = keras.Input(shape)
    h = layers.Conv2D(8, 3, padding="same", activation="relu", data_format=fmt)(inp)
    h = layers.BatchNormalization(axis=-1 if fmt == "channels_last" else 1)(h)
    h = layers.Conv2D(8, 3, activation="tanh", data_format=fmt)(h)
    h = layers.MaxPooling2D(2, data_format=fmt)(h)
    h = layers.DepthwiseConv2D(2, data_format=fmt)(h)
    h = layers.GlobalAveragePooling2D(data_format=fmt)(h)
    model = keras.Model(inp, layers.Dense(3)(h))
    model.compile(optimizer="sgd", loss="mse")
    return model


def _program(model, x, kind="predict"):
    if kind == "predict":
        model.predict(x, verbose=0)
    else:
        model.train_on_batch(x, np.zeros((x.shape[0], 3), np.float32))
    return model._steps.last_program(kind).fn


def _transposes(fn) -> int:
    return sum(n.op == "transpose" for n in fn.nodes)


def test_channels_first_cnn_runs_channels_last_inside():
    x = np.random.default_rng(0).normal(size=(4, 3, 10, 9)).astype(np.float32)
    model = _cnn("channels_first")
    fn = _program(model, x)
    before = _transposes(fn)
    out = assign_layouts(fn)
    ir.verify(out)
    # one transpose in (NCHW -> NHWC) and the GlobalAveragePooling reads
    # channels-last directly: every other pair cancelled
    assert before >= 8 and _transposes(out) <= 1, (before, _transposes(out))
    # same results as the untransformed program, on the interpreter
    vals = [x if p.name in model._steps.last_program("predict").inputs else
            STORE[p.name] for p in fn.params]
    for a, b in zip(ir.interpret(fn, vals), ir.interpret(out, vals)):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_channels_first_and_last_models_agree_compiled_and_in_training():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(4, 10, 9, 3)).astype(np.float32)
    y = rng.normal(size=(4, 3)).astype(np.float32)
    last, first = _cnn("channels_last"), _cnn("channels_first")
    first.set_weights(last.get_weights())
    xf = np.ascontiguousarray(np.moveaxis(x, -1, 1))
    np.testing.assert_allclose(first.predict(xf, verbose=0),
                               last.predict(x, verbose=0), rtol=1e-4, atol=1e-5)
    for _ in range(2):
        la = last.train_on_batch(x, y)
        lb = first.train_on_batch(xf, y)
        np.testing.assert_allclose(lb, la, rtol=1e-4)
    train = first._steps.last_program("train").fn
    assert _transposes(assign_layouts(train)) < _transposes(train)


def _one_by_one(cin, cout, batch="N"):
    b = ir.Builder("pw")
    x = b.param("x", (batch, 5, 6, cin), ir.float64)
    w = b.param("w", (1, 1, cin, cout), ir.float64)
    y = b.conv(x, w, strides=(1, 1), pads=((0, 0), (0, 0)), dilation=(1, 1))
    return b.build([b.reduce_sum(b.mul(y, b.tanh(y)))])


def test_wide_1x1_convolutions_become_products_with_equal_gradients():
    rng = np.random.default_rng(2)
    c = GEMM_MIN_CHANNELS
    for batch in ("N", 3):
        fn = _one_by_one(c, c + 5, batch)
        g = differentiate(fn, ["x", "w"])
        gp = convs_to_products(g)
        ir.verify(gp)
        ops = [n.op for n in gp.nodes]
        assert "matmul" in ops and not {"conv", "conv_transpose",
                                        "conv_filter_grad"} & set(ops), ops
        args = [rng.normal(size=(3, 5, 6, c)), rng.normal(size=(1, 1, c, c + 5)) / c]
        for a, b in zip(ir.interpret(g, args), ir.interpret(gp, args)):
            np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-10)
        check_grads(convs_to_products(fn), args, ["x", "w"], rng=rng)
    narrow = _one_by_one(c, 10)
    assert convs_to_products(narrow) is narrow


def _channel_sum(shape, keepdims=False):
    b = ir.Builder("bias_grad")
    g = b.param("g", shape)
    return b.build([b.reduce_sum(g, axes=tuple(range(len(shape) - 1)),
                                 keepdims=keepdims)])


def test_per_channel_sums_of_images_run_in_two_stages():
    from conv_helpers import check_identical_across_threads

    from graphkeras.passes.assign_layouts import (SPLIT_SUM_MAX_PIXELS,
                                                  split_channel_sums)

    for shape, keep in ((("N", 9, 7, 5), False), (("N", 3, 4, 2, 33), True)):
        fn = _channel_sum(shape, keep)
        out = split_channel_sums(fn)
        ir.verify(out)
        sums = [n.attrs["axes"] for n in out.nodes if n.op == "reduce_sum"]
        assert sums == [tuple(range(1, len(shape) - 1)), (0,)], out
        assert out.results[0].type == fn.results[0].type
        # compiled (per-image sums split between threads) vs interpreter
        check_identical_across_threads(fn, batch=5)
    # too many pixels per image (float32 partial sums), a sequence, a
    # static batch, or a sum that keeps another axis: left as they are
    for fn in (_channel_sum(("N", 40, 40, 3)), _channel_sum(("N", 50, 4)),
               _channel_sum((6, 5, 5, 4))):
        assert split_channel_sums(fn) is fn
    assert 40 * 40 > SPLIT_SUM_MAX_PIXELS
    b = ir.Builder("keep_h")
    g = b.param("g", ("N", 5, 5, 4))
    fn = b.build([b.reduce_sum(g, axes=(0, 2))])
    assert split_channel_sums(fn) is fn


def _conv_fn(shape, kernel, cin, cout, strides, pads, dilation,
             dt=ir.float64):
    b = ir.Builder("conv")
    x = b.param("x", shape + (cin,), dt)
    w = b.param("w", tuple(kernel) + (cin, cout), dt)
    y = b.conv(x, w, strides=strides, pads=pads, dilation=dilation)
    return b.build([b.reduce_sum(b.mul(y, b.tanh(y)))])


# (spatial input with batch, kernel, strides, pads, dilation): ResNet's
# 3x3 "same" conv on a 3x3 map, stride 2 with uneven pads, a dilated
# filter, a 1-D and a 3-D conv, a static batch of one
PATCH_CASES = [
    (("N", 3, 3), (3, 3), (1, 1), ((1, 1), (1, 1)), (1, 1)),
    (("N", 5, 4), (3, 2), (2, 1), ((0, 1), (1, 0)), (1, 1)),
    (("N", 5, 5), (2, 2), (1, 2), ((1, 1), (0, 2)), (2, 1)),
    (("N", 7), (3,), (2,), ((1, 2),), (1,)),
    (("N", 3, 2, 3), (2, 2, 2), (1, 1, 1), ((0, 1), (0, 0), (1, 0)),
     (1, 1, 1)),
    ((1, 4, 3), (3, 3), (1, 1), ((1, 1), (1, 1)), (1, 1)),
]


def test_large_filters_on_few_pixels_become_patch_products(monkeypatch):
    """The conv, its input gradient and its filter gradient as products of
    patches: no conv op left, the interpreter's numbers unchanged (float64),
    the gradients of the rewritten function agree with finite differences,
    and the compiled step equals the interpreter on 1, 2 and 3 threads."""
    from conv_helpers import check_identical_across_threads

    from graphkeras.passes import assign_layouts as al

    rng = np.random.default_rng(3)
    cin, cout = 5, 6
    monkeypatch.setattr(al, "PATCH_MIN_FILTER_BYTES", 8 * 2 * cin * cout)
    for shape, kernel, strides, pads, dilation in PATCH_CASES:
        fn = _conv_fn(shape, kernel, cin, cout, strides, pads, dilation)
        g = differentiate(fn, ["x", "w"])
        gp = convs_to_products(g)
        ir.verify(gp)
        ops = {n.op for n in gp.nodes}
        assert "matmul" in ops and "matmul_sum" in ops and not {
            "conv", "conv_transpose", "conv_filter_grad"} & ops, ops
        sp = tuple(3 if d == "N" else d for d in shape)
        args = [rng.normal(size=sp + (cin,)),
                rng.normal(size=tuple(kernel) + (cin, cout)) / cin]
        for a, b in zip(ir.interpret(g, args), ir.interpret(gp, args)):
            np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)
        check_grads(convs_to_products(fn), args, ["x", "w"], rng=rng)
        g32 = differentiate(_conv_fn(shape, kernel, cin, cout, strides,
                                     pads, dilation, ir.float32), ["x", "w"])
        check_identical_across_threads(g32, batch=3)
    # too many pixels, a small filter, one tap or groups: left as convs
    big = _conv_fn(("N", 5, 5), (3, 3), cin, cout, (1, 1), ((1, 1),) * 2,
                   (1, 1))
    assert convs_to_products(big) is big  # 25 pixels
    monkeypatch.setattr(al, "PATCH_MIN_FILTER_BYTES", 1 << 20)
    small = _conv_fn(("N", 3, 3), (3, 3), cin, cout, (1, 1),
                     ((1, 1),) * 2, (1, 1))
    assert convs_to_products(small) is small


def test_strided_1x1_convolution_is_the_product_of_a_strided_slice():
    rng = np.random.default_rng(4)
    c = GEMM_MIN_CHANNELS
    for batch in ("N", 2):
        fn = _conv_fn((batch, 5, 6), (1, 1), c, c + 3, (2, 3),
                      ((0, 0), (0, 0)), (1, 1))
        g = differentiate(fn, ["x", "w"])
        gp = convs_to_products(g)
        ir.verify(gp)
        ops = [n.op for n in gp.nodes]
        assert "slice" in ops and "conv" not in ops, ops
        args = [rng.normal(size=(2, 5, 6, c)),
                rng.normal(size=(1, 1, c, c + 3)) / c]
        for a, b in zip(ir.interpret(g, args), ir.interpret(gp, args)):
            np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)


def test_concat_of_stored_operands_copies_rows(monkeypatch):
    """A kernel that is one concat (copied row by row, codegen/kernels.
    copy_concat) against the interpreter on 1-3 threads: odd sizes, the
    last and a middle axis, booleans, a symbolic batch; along the first
    axis (no rows) the pointwise rule still runs."""
    from conv_helpers import check_identical_across_threads

    from graphkeras.codegen import pointwise

    copied = []

    def spy(ctx, node, key):
        copied.append(pointwise_copy(ctx, node, key))
        return copied[-1]

    pointwise_copy = pointwise.copy_concat
    monkeypatch.setattr(pointwise, "copy_concat", spy)
    for shapes, axis, dt in (
            ([("N", 3, 5), ("N", 3, 1), ("N", 3, 7)], -1, ir.float32),
            ([("N", 2, 3), ("N", 5, 3)], 1, ir.float32),
            ([("N", 4, 3), ("N", 4, 9)], 2, ir.bool_),
            ([(4, 3), (1, 3), (2, 3)], 0, ir.float32)):
        b = ir.Builder(f"cat{len(copied)}")
        xs = [b.param(f"x{i}", s) for i, s in enumerate(shapes)]
        # the operands are stored values (a kernel each), then concatenated
        parts = [b.exp(x) if dt == ir.float32 else
                 b.greater(b.exp(x), b.constant(np.float32(1))) for x in xs]
        cat = b.concat(*parts, axis=axis)
        fn = b.build([cat])
        copied.clear()
        check_identical_across_threads(fn, batch=3)
        assert copied and all(copied) == (axis != 0), (shapes, copied)


def test_concat_fused_with_elementwise_ops_reads_one_operand_a_stretch():
    """A fused concat along the last axis (DenseNet's concat + batch norm +
    relu) runs its innermost loop in stretches, one per operand: compiled
    equals the interpreter on 1-3 threads, with operands of odd widths, a
    broadcast operand, two outputs, and a concat that is also read sliced
    (through a re-indexing op, which takes the general rule)."""
    from conv_helpers import check_identical_across_threads

    b = ir.Builder("dense_block")
    xs = [b.param(f"x{i}", ("N", 3, k)) for i, k in enumerate((5, 1, 11))]
    scale = b.param("scale", (17,))
    cat = b.concat(*xs, axis=-1)
    y = b.relu(b.mul(b.sub(cat, b.constant(np.float32(0.25))), scale))
    fn = b.build([y, b.exp(cat)])
    check_identical_across_threads(fn, batch=3)
    b = ir.Builder("cat_sliced")
    xs = [b.param(f"x{i}", ("N", 4, k)) for i, k in enumerate((3, 6))]
    cat = b.concat(*xs, axis=2)
    rev = b.slice(cat, starts=(0, 3, 8), stops=(None, None, None),
                  steps=(1, -1, -1))
    fn = b.build([b.add(b.tanh(cat), rev)])
    check_identical_across_threads(fn, batch=2)
