"""The convolutional layers against independent NumPy implementations
(direct loops over output positions, written from Keras's documented
semantics, not from graphkeras's references): output shapes (also
`compute_output_shape`) and values of the compiled `predict`, with
channels_last and channels_first, "same"/"valid"/"causal" padding,
strides, dilations, groups; and the errors users meet, word for word.

The values were also checked against Keras 3 (JAX backend) on identical
weights with tools outside the suite (Keras is not a test dependency):
every layer here agreed to 1e-5.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest

import graphkeras as keras
from graphkeras import layers

RNG = np.random.default_rng(7)


def _predict(layer, x):
    inp = keras.Input(x.shape[1:])
    model = keras.Model(inp, layer(inp))
    out = model.predict(x, verbose=0)
    assert tuple(out.shape[1:]) == tuple(layer.compute_output_shape(
        (None,) + x.shape[1:])[1:])
    return out


def _same(i, k, s, d):
    eff = (k - 1) * d + 1
    out = -(-i // s)
    total = max((out - 1) * s + eff - i, 0)
    return total // 2, total - total // 2


def np_conv(x, w, strides, padding, dilation, groups=1):
    """Channels-last N-d convolution by loops over output positions."""
    D = x.ndim - 2
    k = w.shape[:D]
    pads = []
    for i, kk, s, d in zip(x.shape[1:-1], k, strides, dilation):
        eff = (kk - 1) * d + 1
        if padding == "valid":
            pads.append((0, 0))
        elif padding == "causal":
            pads.append((eff - 1, 0))
        else:
            pads.append(_same(i, kk, s, d))
    xp = np.pad(x, [(0, 0)] + pads + [(0, 0)])
    outs = [(xp.shape[1 + a] - ((k[a] - 1) * dilation[a] + 1)) // strides[a] + 1
            for a in range(D)]
    cin, cout = x.shape[-1], w.shape[-1]
    cig, cog = cin // groups, cout // groups
    y = np.zeros((x.shape[0], *outs, cout))
    for o in itertools.product(*[range(n) for n in outs]):
        for t in itertools.product(*[range(n) for n in k]):
            pos = tuple(oo * s + tt * d for oo, s, tt, d in
                        zip(o, strides, t, dilation))
            patch = xp[(slice(None),) + pos]  # (N, cin)
            for g in range(groups):
                y[(slice(None),) + o + (slice(g * cog, (g + 1) * cog),)] += (
                    patch[:, g * cig:(g + 1) * cig] @ w[t][:, g * cog:(g + 1) * cog])
    return y


def np_pool(x, size, strides, padding, mode):
    D = x.ndim - 2
    pads = [(0, 0) if padding == "valid" else _same(i, k, s, 1)
            for i, k, s in zip(x.shape[1:-1], size, strides)]
    fill = -np.inf if mode == "max" else np.nan
    xp = np.pad(x.astype(np.float64), [(0, 0)] + pads + [(0, 0)],
                constant_values=fill)
    outs = [(xp.shape[1 + a] - size[a]) // strides[a] + 1 for a in range(D)]
    y = np.zeros((x.shape[0], *outs, x.shape[-1]))
    for o in itertools.product(*[range(n) for n in outs]):
        win = xp[(slice(None),) + tuple(slice(oo * s, oo * s + k) for oo, s, k
                                         in zip(o, strides, size))]
        win = win.reshape(x.shape[0], -1, x.shape[-1])
        y[(slice(None),) + o] = (win.max(1) if mode == "max"
                                 else np.nanmean(win, axis=1))
    return y


def _weights(layer, x):
    layer.build((None,) + x.shape[1:])
    ws = [RNG.normal(size=w.shape).astype(np.float32) for w in layer.get_weights()]
    layer.set_weights(ws)
    return ws


def _to_cf(x):
    return np.moveaxis(x, -1, 1)


def _to_cl(x):
    return np.moveaxis(x, 1, -1)


CONV_CASES = [
    (layers.Conv1D, {"filters": 3, "kernel_size": 3, "padding": "causal",
                         "dilation_rate": 2}, (2, 9, 2)),
    (layers.Conv1D, {"filters": 4, "kernel_size": 4, "strides": 3, "padding": "same"},
     (1, 10, 3)),
    (layers.Conv2D, {"filters": 5, "kernel_size": 3}, (2, 7, 8, 3)),
    (layers.Conv2D, {"filters": 4, "kernel_size": (2, 3), "strides": 2,
                         "padding": "same", "activation": "relu"}, (2, 7, 8, 3)),
    (layers.Conv2D, {"filters": 6, "kernel_size": 3, "groups": 3, "use_bias": False,
                         "dilation_rate": (2, 1)}, (1, 8, 6, 6)),
    (layers.Conv3D, {"filters": 2, "kernel_size": 2, "strides": (1, 2, 2),
                         "padding": "same"}, (1, 4, 5, 6, 2)),
]


@pytest.mark.parametrize("cls, kwargs, shape", CONV_CASES,
                         ids=lambda v: getattr(v, "__name__", None))
@pytest.mark.parametrize("fmt", ["channels_last", "channels_first"])
def test_conv_layers_match_numpy(cls, kwargs, shape, fmt):
    x = RNG.normal(size=shape).astype(np.float32)
    layer = cls(data_format=fmt, **kwargs)
    xin = x if fmt == "channels_last" else _to_cf(x)
    ws = _weights(layer, xin)
    D = x.ndim - 2
    strides = np.broadcast_to(kwargs.get("strides", 1), (D,))
    dil = np.broadcast_to(kwargs.get("dilation_rate", 1), (D,))
    want = np_conv(x, ws[0], strides, kwargs.get("padding", "valid"), dil,
                   kwargs.get("groups", 1))
    if kwargs.get("use_bias", True):
        want = want + ws[1]
    if kwargs.get("activation") == "relu":
        want = np.maximum(want, 0)
    got = _predict(layer, xin)
    got = got if fmt == "channels_last" else _to_cl(got)
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("kwargs, shape", [
    ({"filters": 3, "kernel_size": 3, "strides": 2}, (2, 4, 5, 2)),
    ({"filters": 3, "kernel_size": 4, "strides": 2, "padding": "same"}, (2, 4, 5, 2)),
    ({"filters": 2, "kernel_size": 3, "strides": 2, "padding": "same",
          "output_padding": 1}, (1, 3, 4, 3)),
    ({"filters": 2, "kernel_size": 3, "dilation_rate": 2, "padding": "same"},
     (1, 4, 5, 3)),
])
def test_conv2d_transpose_is_the_adjoint_of_conv2d(kwargs, shape):
    # Keras's transposed convolution is the gradient of the convolution
    # with the same kernel and padding: <T(g), y> = <g, conv(y)>
    g = RNG.normal(size=shape).astype(np.float32)
    layer = layers.Conv2DTranspose(use_bias=False, **kwargs)
    (w,) = _weights(layer, g)
    out = _predict(layer, g)
    y = RNG.normal(size=out.shape)
    conv_y = np_conv(y, w, np.broadcast_to(kwargs.get("strides", 1), (2,)),
                     kwargs.get("padding", "valid"),
                     np.broadcast_to(kwargs.get("dilation_rate", 1), (2,)))
    # for the "same" padding the forward conv's output must be g's size
    assert conv_y.shape == g.shape[:-1] + (w.shape[-1],)
    lhs = float(np.sum(out * y))
    rhs = float(np.sum(g * conv_y))
    assert abs(lhs - rhs) <= 1e-4 * (1 + abs(rhs))
    op = kwargs.get("output_padding")
    s, k = kwargs.get("strides", 1), kwargs["kernel_size"]
    want_h = (shape[1] * s + max(k - s, 0) if kwargs.get("padding") != "same"
              else shape[1] * s) if op is None else (shape[1] - 1) * s + k - 2 * (
                  k // 2) + op
    assert out.shape[1] == want_h


def test_depthwise_and_separable_match_numpy():
    x = RNG.normal(size=(2, 7, 6, 3)).astype(np.float32)
    dw = layers.DepthwiseConv2D(3, depth_multiplier=2, strides=2)
    k, b = _weights(dw, x)
    # depthwise: output channel c * 2 + m = x[..., c] (*) k[..., c, m]
    want = np_conv(x, k.reshape(3, 3, 1, 6), (2, 2), "valid", (1, 1), groups=3)
    np.testing.assert_allclose(_predict(dw, x), want + b, rtol=1e-4, atol=1e-4)
    sep = layers.SeparableConv2D(4, 3, padding="same", depth_multiplier=2)
    dk, pk, b = _weights(sep, x)
    mid = np_conv(x, dk.reshape(3, 3, 1, 6), (1, 1), "same", (1, 1), groups=3)
    want = np_conv(mid, pk, (1, 1), "valid", (1, 1)) + b
    np.testing.assert_allclose(_predict(sep, x), want, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("cls, mode, kwargs, shape", [
    (layers.MaxPooling2D, "max", {"pool_size": 3, "strides": 2, "padding": "same"},
     (2, 7, 8, 3)),
    (layers.MaxPooling2D, "max", {}, (2, 7, 8, 3)),
    (layers.AveragePooling2D, "avg", {"pool_size": 3, "strides": 2,
                                          "padding": "same"}, (2, 7, 8, 3)),
    (layers.AveragePooling1D, "avg", {"pool_size": 3, "strides": 1,
                                          "padding": "same"}, (2, 7, 3)),
    (layers.MaxPooling1D, "max", {"pool_size": 2, "strides": 1}, (1, 5, 2)),
    (layers.MaxPooling3D, "max", {"pool_size": 2, "padding": "same"},
     (1, 3, 5, 4, 2)),
    (layers.AveragePooling3D, "avg", {"pool_size": (1, 2, 3)}, (1, 2, 5, 7, 2)),
])
def test_pooling_layers_match_numpy(cls, mode, kwargs, shape):
    x = RNG.normal(size=shape).astype(np.float32)
    D = x.ndim - 2
    size = np.broadcast_to(kwargs.get("pool_size", 2), (D,))
    strides = np.broadcast_to(kwargs.get("strides", size), (D,))
    want = np_pool(x, size, strides, kwargs.get("padding", "valid"), mode)
    np.testing.assert_allclose(_predict(cls(**kwargs), x), want, rtol=1e-5,
                               atol=1e-6)
    got_cf = _predict(cls(data_format="channels_first", **kwargs), _to_cf(x))
    np.testing.assert_allclose(_to_cl(got_cf), want, rtol=1e-5, atol=1e-6)


def test_global_pooling_and_spatial_reshaping_match_numpy():
    x = RNG.normal(size=(2, 5, 6, 3)).astype(np.float32)
    cases = [
        (layers.GlobalAveragePooling2D(), x.mean((1, 2))),
        (layers.GlobalMaxPooling2D(keepdims=True), x.max((1, 2), keepdims=True)),
        (layers.GlobalAveragePooling2D(data_format="channels_first"),
         x.mean((2, 3))),
        (layers.ZeroPadding2D(((1, 2), (0, 3))),
         np.pad(x, ((0, 0), (1, 2), (0, 3), (0, 0)))),
        (layers.Cropping2D(((1, 0), (2, 1))), x[:, 1:, 2:-1]),
        (layers.UpSampling2D((2, 3)), x.repeat(2, 1).repeat(3, 2)),
    ]
    for layer, want in cases:
        np.testing.assert_allclose(_predict(layer, x), want, rtol=1e-5,
                                   atol=1e-6, err_msg=type(layer).__name__)
    s = RNG.normal(size=(2, 5, 3)).astype(np.float32)
    for layer, want in [(layers.GlobalMaxPooling1D(), s.max(1)),
                        (layers.ZeroPadding1D((2, 1)),
                         np.pad(s, ((0, 0), (2, 1), (0, 0)))),
                        (layers.Cropping1D(2), s[:, 2:3]),
                        (layers.UpSampling1D(3), s.repeat(3, 1))]:
        np.testing.assert_allclose(_predict(layer, s), want, rtol=1e-5,
                                   atol=1e-6, err_msg=type(layer).__name__)


def _tf_resize(x, h, w, method):
    """TensorFlow 2's resize (half-pixel centers), one output at a time."""
    def taps(o, n_in, n_out):
        scale = n_in / n_out
        if method == "nearest":
            i = min(int(np.floor((o + 0.5) * scale)), n_in - 1)
            return [(i, 1.0)]
        src = (o + 0.5) * scale - 0.5
        lo = int(np.floor(src))
        t = src - lo
        return [(min(max(lo, 0), n_in - 1), 1 - t),
                (min(max(lo + 1, 0), n_in - 1), t)]
    out = np.zeros((x.shape[0], h, w, x.shape[-1]))
    for i in range(h):
        for j in range(w):
            for (a, wa), (b, wb) in itertools.product(
                    taps(i, x.shape[1], h), taps(j, x.shape[2], w)):
                out[:, i, j] += wa * wb * x[:, a, b]
    return out


@pytest.mark.parametrize("h, w, method", [(5, 3, "bilinear"), (11, 13, "bilinear"),
                                          (7, 3, "nearest"), (3, 12, "nearest")])
def test_resizing_matches_tensorflows_formula(h, w, method):
    x = RNG.uniform(0, 255, size=(2, 9, 7, 2)).astype(np.float32)
    got = _predict(layers.Resizing(h, w, interpolation=method), x)
    np.testing.assert_allclose(got, _tf_resize(x, h, w, method), rtol=1e-5,
                               atol=1e-3)
    up = _predict(layers.UpSampling2D(2, interpolation="bilinear"), x)
    np.testing.assert_allclose(up, _tf_resize(x, 18, 14, "bilinear"),
                               rtol=1e-5, atol=1e-3)


def test_normalization_and_rescaling_match_numpy():
    x = RNG.normal(size=(2, 4, 5, 6)).astype(np.float32)
    gn = layers.GroupNormalization(groups=2, epsilon=1e-3)
    gamma, beta = _weights(gn, x)
    xg = x.reshape(2, 4, 5, 2, 3).astype(np.float64)
    mean = xg.mean((1, 2, 4), keepdims=True)
    var = xg.var((1, 2, 4), keepdims=True)
    want = ((xg - mean) / np.sqrt(var + 1e-3)).reshape(x.shape) * gamma + beta
    np.testing.assert_allclose(_predict(gn, x), want, rtol=1e-4, atol=1e-4)
    bn = layers.BatchNormalization()
    g, b, m, v = _weights(bn, x)
    v = np.abs(v) + 0.5
    bn.set_weights([g, b, m, v])
    want = (x - m) / np.sqrt(v + 1e-3) * g + b
    np.testing.assert_allclose(_predict(bn, x), want, rtol=1e-4, atol=1e-4)
    img = RNG.integers(0, 256, size=(2, 3, 3, 2)).astype(np.uint8)
    out = layers.Rescaling(1 / 255, offset=-0.5)(img)
    np.testing.assert_allclose(out, img / 255 - 0.5, rtol=1e-6, atol=1e-6)
    assert out.dtype == np.float32


def test_spatial_dropout_drops_whole_channels():
    x = np.ones((4, 6, 5, 8), np.float32)
    inp = keras.Input((6, 5, 8))
    model = keras.Model(inp, layers.SpatialDropout2D(0.5, seed=1)(inp))
    y = model(x, training=True)
    y = np.asarray(y)
    # every (sample, channel) map is all zeros or all 2s
    per_map = y.reshape(4, 30, 8)
    assert np.all((per_map == 0).all(1) | (per_map == 2).all(1))
    assert 0 < (per_map == 0).all(1).sum() < 32
    np.testing.assert_array_equal(model.predict(x, verbose=0), x)


def test_weights_have_keras_layouts_and_names():
    x = np.zeros((1, 6, 6, 4), np.float32)
    expect = [
        (layers.Conv2D(8, (3, 2), groups=2), [("kernel", (3, 2, 2, 8)),
                                               ("bias", (8,))]),
        (layers.Conv2DTranspose(5, 3), [("kernel", (3, 3, 5, 4)),
                                        ("bias", (5,))]),
        (layers.DepthwiseConv2D(3, depth_multiplier=3),
         [("kernel", (3, 3, 4, 3)), ("bias", (12,))]),
        (layers.SeparableConv2D(7, 3, depth_multiplier=2),
         [("depthwise_kernel", (3, 3, 4, 2)), ("pointwise_kernel", (1, 1, 8, 7)),
          ("bias", (7,))]),
        (layers.GroupNormalization(2), [("gamma", (4,)), ("beta", (4,))]),
    ]
    for layer, want in expect:
        layer(x)
        got = [(w.name, tuple(w.shape)) for w in layer.weights]
        assert got == want, type(layer).__name__
    assert layers.Conv2D(2, 3).name.startswith("conv2d")
    assert layers.GlobalAveragePooling2D().name.startswith(
        "global_average_pooling2d")


@pytest.mark.parametrize("make, message", [
    (lambda: layers.Conv2D(0, 3),
     ("Invalid value for argument `filters`. Expected a strictly positive "
     "value. Received filters=0.")),
    (lambda: layers.Conv2D(6, 3, groups=4),
     ("The number of filters must be evenly divisible by the number of groups. "
     "Received: groups=4, filters=6.")),
    (lambda: layers.Conv2D(4, 3, strides=2, dilation_rate=2),
     ("`strides > 1` not supported in conjunction with `dilation_rate > 1`. "
     "Received: strides=(2, 2) and dilation_rate=(2, 2)")),
    (lambda: layers.Conv2D(4, (3, 0)),
     ("The `kernel_size` argument must be a tuple of 2 integers. Received "
     "kernel_size=(3, 0) including values [0] that do not satisfy `value > 0`")),
    (lambda: layers.Conv2DTranspose(4, 3, strides=2, output_padding=2),
     ("Strides must be greater than output padding. Received strides=(2, 2), "
     "output_padding=(2, 2).")),
    (lambda: layers.MaxPooling2D(padding="full"),
     ("The `padding` argument must be a list/tuple or one of ('valid', "
     "'same'). Received: full")),
    (lambda: layers.Resizing(4, 4, interpolation="cubic", name="rs"),
     ("Layer \"rs\" supports interpolation in ('bilinear', 'nearest', "
     "'lanczos3', 'lanczos5', 'bicubic', 'area'); received "
     "interpolation='cubic'.")),
    # Keras 3 pads "causal" in Conv1D only: the depthwise, separable and
    # transposed 1-D convolutions refuse it (they accepted it here)
    (lambda: layers.SeparableConv1D(2, 3, padding="causal"),
     ("The `padding` argument must be a list/tuple or one of ('valid', "
     "'same'). Received: causal")),
    (lambda: layers.DepthwiseConv1D(3, padding="causal"),
     ("The `padding` argument must be a list/tuple or one of ('valid', "
     "'same'). Received: causal")),
    (lambda: layers.Conv1DTranspose(2, 3, padding="causal"),
     ("The `padding` argument must be a list/tuple or one of ('valid', "
     "'same'). Received: causal")),
    (lambda: layers.Conv2D(4, 3, data_format="nhwc"),
     ("The `data_format` argument must be one of {'channels_first', "
     "'channels_last'}. Received: data_format=nhwc")),
])
def test_argument_errors_name_what_was_received(make, message):
    with pytest.raises(ValueError) as info:
        make()
    assert str(info.value) == message


def test_build_errors_name_the_layer_and_shape():
    with pytest.raises(ValueError) as info:
        layers.Conv2D(4, 3, groups=2, name="c")(keras.Input((8, 8, 3)))
    assert str(info.value) == (
        "The number of input channels must be evenly divisible by the number "
        "of groups. Received groups=2, but the input has 3 channels (full "
        "input shape is (None, 8, 8, 3)).")
    with pytest.raises(ValueError) as info:
        layers.Conv2D(4, 5, name="c2")(keras.Input((3, 8, 2)))
    assert str(info.value).startswith(
        "Computed output size would be zero or negative. Received `inputs "
        "shape=(None, 3, 8, 2)`")
    with pytest.raises(ValueError, match=r'Input 0 of layer "pool" is '
                                         r"incompatible with the layer: "
                                         r"expected ndim=4, found ndim=3"):
        layers.MaxPooling2D(name="pool")(keras.Input((8, 3)))
