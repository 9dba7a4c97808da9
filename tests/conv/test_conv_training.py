"""CNNs train natively with the interpreter's results, and gradients of
composed conv/pool/resize graphs agree with finite differences.

- A model using every kind of conv-family layer (strided "same" conv,
  transposed conv, depthwise, pooling both ways, bilinear upsampling,
  GroupNormalization, BatchNormalization on conv features, Dropout) runs
  three train steps compiled and three on the reference interpreter
  (run_eagerly) from the same weights: losses and weights agree.
- Random compositions of the smooth ops (conv with strides, dilations,
  groups and padding; conv_transpose; avg_pool; resize) in float64: the
  VJPs through passes.differentiate match central finite differences.
"""

from __future__ import annotations

import numpy as np
import pytest
from conv_helpers import check_identical_across_threads
from helpers import check_grads
from hypothesis import given, settings
from hypothesis import strategies as st

import graphkeras as keras
from graphkeras import ir, layers


def _model(seed: int):
    keras.utils.set_random_seed(seed)
    inp = keras.Input((12, 10, 3))
    h = layers.Conv2D(8, 3, strides=2, padding="same", activation="relu")(inp)
    h = layers.BatchNormalization()(h)
    h = layers.Conv2DTranspose(6, 3, strides=2, padding="same")(h)
    h = layers.DepthwiseConv2D(3, depth_multiplier=2, activation="tanh")(h)
    h = layers.GroupNormalization(3)(h)
    h = layers.MaxPooling2D(3, strides=2, padding="same")(h)
    h = layers.UpSampling2D(2, interpolation="bilinear")(h)
    h = layers.AveragePooling2D(2)(h)
    h = layers.Conv2D(5, 2, dilation_rate=2, padding="same")(h)
    h = layers.GlobalAveragePooling2D()(h)
    out = layers.Dense(4, activation="softmax")(layers.Dropout(0.25)(h))
    model = keras.Model(inp, out)
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    return model


def test_cnn_train_steps_compiled_equal_the_interpreter():
    rng = np.random.default_rng(3)
    x = rng.normal(size=(6, 12, 10, 3)).astype(np.float32)
    y = rng.integers(0, 4, 6)
    compiled, eager = _model(1), _model(1)
    eager.set_weights(compiled.get_weights())
    eager.run_eagerly = True
    for step in range(3):
        a = compiled.train_on_batch(x, y)
        b = eager.train_on_batch(x, y)
        np.testing.assert_allclose(a, b, rtol=1e-4, err_msg=f"step {step}")
    for wa, wb in zip(compiled.get_weights(), eager.get_weights()):
        np.testing.assert_allclose(wa, wb, rtol=1e-3, atol=1e-5)
    np.testing.assert_allclose(compiled.predict(x, verbose=0),
                               eager.predict(x, verbose=0), rtol=1e-4,
                               atol=1e-6)


@st.composite
def smooth_graphs(draw):
    """A float64 chain of conv-family ops on one image batch, with the
    parameters that are differentiated."""
    b = ir.Builder("chain")
    h, w, c = draw(st.integers(4, 7)), draw(st.integers(4, 7)), draw(
        st.integers(1, 3))
    x = b.param("x", ("N", h, w, c), ir.float64)
    params = [x]
    cur = x
    for k in range(draw(st.integers(2, 3))):
        kind = draw(st.sampled_from(["conv", "conv_transpose", "avg_pool",
                                     "resize"]))
        sp = cur.shape[1:3]
        if kind == "resize":
            shape = tuple(draw(st.integers(2, 8)) for _ in sp)
            cur = b.resize(cur, shape=shape, method=draw(st.sampled_from(
                ["bilinear", "nearest"])))
            continue
        if kind == "avg_pool":
            win = tuple(min(draw(st.integers(1, 3)), d) for d in sp)
            cur = b.avg_pool(cur, window=win, strides=(draw(st.integers(1, 2)),) * 2,
                             pads=tuple((min(1, k_ - 1), 0) for k_ in win))
            continue
        groups = draw(st.sampled_from([1, cur.shape[-1]]))
        cout = groups * draw(st.integers(1, 2))
        ks = tuple(draw(st.integers(1, 3)) for _ in sp)
        strides = (draw(st.integers(1, 2)), 1)
        dil = (1, draw(st.integers(1, 2)))
        pads = tuple((draw(st.integers(0, 1)), draw(st.integers(0, 1)))
                     for _ in sp)
        if kind == "conv":
            if any(d + lo + hi < (kk - 1) * dd + 1 for d, kk, dd, (lo, hi)
                   in zip(sp, ks, dil, pads)):
                continue
            wv = b.param(f"w{k}", ks + (cur.shape[-1] // groups, cout), ir.float64)
            cur = b.conv(cur, wv, strides=strides, pads=pads, dilation=dil,
                         groups=groups)
        else:
            shape = tuple((o - 1) * s + (kk - 1) * dd + 1 - lo - hi
                          for o, s, kk, dd, (lo, hi) in zip(sp, strides, ks, dil,
                                                            pads))
            if min(shape) < 1:
                continue
            wv = b.param(f"w{k}", ks + (cout // groups, cur.shape[-1]) if groups == 1
                         else ks + (1, cur.shape[-1]), ir.float64)
            cur = b.conv_transpose(cur, wv, strides=strides, pads=pads,
                                   dilation=dil, groups=1 if groups == 1 else
                                   cur.shape[-1], shape=shape)
        params.append(wv)
    loss = b.reduce_sum(b.mul(cur, b.tanh(cur)))
    return b.build([loss])


@settings(max_examples=8)
@given(fn=smooth_graphs(), data=st.data())
def test_composed_gradients_match_finite_differences(fn, data):
    rng = np.random.default_rng(data.draw(st.integers(0, 2**31 - 1)))
    n = data.draw(st.sampled_from([1, 2]))
    args = [rng.normal(size=p.type.concrete_shape({"N": n})) * 0.5
            for p in fn.params]
    check_grads(fn, args, [p.name for p in fn.params], rng=rng)


def test_max_pool_gradient_goes_to_the_first_maximum():
    b = ir.Builder("mp")
    x = b.param("x", (1, 2, 4, 1))
    y = b.max_pool(x, window=(2, 2), strides=(1, 2), pads=((0, 1), (0, 0)))
    fn = b.build([b.reduce_sum(y)])
    from graphkeras.passes import differentiate

    g = differentiate(fn, ["x"])
    xv = np.array([[1, 3, 3, 0], [2, 3, 1, 1]], np.float32).reshape(1, 2, 4, 1)
    # windows (row-major first maximum): rows 0-1 x cols 0-1 -> (0, 1);
    # rows 0-1 x cols 2-3 -> (0, 2); the padded row 2 never wins, so rows
    # 1-2 x cols 0-1 -> (1, 1) and rows 1-2 x cols 2-3 (a tie) -> (1, 2)
    grad = ir.interpret(g, [xv])[1].reshape(2, 4)
    np.testing.assert_array_equal(grad, [[0, 1, 1, 0], [0, 1, 1, 0]])


def test_second_derivative_through_max_pool_is_refused_clearly():
    b = ir.Builder("mp2")
    x = b.param("x", ("N", 4, 4, 1))
    y = b.max_pool(x, window=(2, 2), strides=(2, 2), pads=((0, 0), (0, 0)))
    fn = b.build([b.reduce_sum(b.mul(y, y))])
    from graphkeras.passes import NotDifferentiableError, differentiate

    g1 = differentiate(fn, ["x"])
    gb = ir.Builder.from_function(g1)
    fn2 = gb.build([gb.reduce_sum(g1.results[1])])
    with pytest.raises(NotDifferentiableError, match='Op "max_pool_grad"'):
        differentiate(fn2, ["x"])


def test_kernels_give_identical_results_for_one_two_and_three_threads():
    # every conv-family kernel splits its images (or filter tiles) into
    # chunks; each element is computed in a fixed order whatever the split
    from graphkeras.passes import differentiate

    b = ir.Builder("cnn_step")
    x = b.param("x", ("N", 9, 8, 3))
    w1 = b.param("w1", (3, 3, 3, 20))
    bias = b.param("bias", (20,))
    w2 = b.param("w2", (2, 2, 20, 6))
    h = b.relu(b.add(b.conv(x, w1, strides=(1, 1), pads=((1, 1), (1, 1)),
                            dilation=(1, 1)), bias))
    h = b.max_pool(h, window=(3, 3), strides=(2, 2), pads=((1, 1), (1, 1)))
    h = b.conv(h, w2, strides=(1, 1), pads=((0, 1), (0, 1)), dilation=(1, 1))
    h = b.avg_pool(b.resize(h, shape=(7, 5)), window=(2, 2), strides=(1, 1),
                   pads=((0, 0), (0, 0)))
    loss = b.reduce_sum(b.mul(h, h))
    fn = differentiate(b.build([loss]), ["x", "w1", "bias", "w2"])
    check_identical_across_threads(fn, batch=7)


def test_max_pool_gradient_of_disjoint_windows_leaves_uncovered_rows_zero():
    # 2x2 windows, stride 2, over 11 x 9 and 3 x 7 x 5 inputs: the last row
    # (and column) belongs to no window, each other element to one
    from graphkeras.passes import differentiate

    for shape, window in ((("N", 11, 9, 5), (2, 2)),
                          (("N", 3, 7, 5, 4), (2, 2, 2)),
                          (("N", 10, 8, 3), (2, 2))):
        b = ir.Builder("pool_grad")
        x = b.param("x", shape)
        h = b.relu(x)
        y = b.max_pool(h, window=window, strides=window,
                       pads=tuple((0, 0) for _ in window))
        fn = differentiate(b.build([b.reduce_sum(b.mul(y, y))]), ["x"])
        check_identical_across_threads(fn, batch=3)
