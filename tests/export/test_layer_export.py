"""Every layer that can sit in an inference graph, exported with
non-default configurations (strides, dilation, groups, causal and
channels_first convolutions, transposed convolutions, pooling variants,
RNNs with return_sequences / go_backwards / masks / Bidirectional,
attention with masks, normalization in inference mode, the numeric
preprocessing layers, activations, reshaping and merging layers), run
under onnxruntime at batch sizes 1, 7 and 33 against the model's compiled
`predict` (tests/export/onnx_check.py: check_export). Convolution and
pooling geometry is also drawn by hypothesis (odd sizes, batch 1).
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from onnx_check import check_export

import graphkeras as keras
from graphkeras import layers as L


def seq(shape, *layers, dtype="float32"):
    inp = keras.Input(shape, dtype=dtype)
    h = inp
    for layer in layers:
        h = layer(h)
    return keras.Model(inp, h)


def _conv1d():
    inp = keras.Input((11, 4))
    a = L.Conv1D(4, 3, padding="causal", dilation_rate=2)(inp)
    a = L.Conv1D(4, 2, strides=2, padding="same", groups=2)(a)
    b = L.Conv1D(6, 3, groups=2, data_format="channels_first")(
        L.Permute((2, 1))(inp))
    c = L.SeparableConv1D(5, 3, strides=2, padding="same")(
        L.DepthwiseConv1D(3, depth_multiplier=2, dilation_rate=2)(inp))
    return keras.Model(inp, [a, b, c])


def _conv2d():
    inp = keras.Input((9, 10, 4))
    a = L.Conv2D(6, 3, strides=2, padding="same", groups=2)(inp)
    a = L.Conv2D(5, (2, 3), dilation_rate=(2, 1), activation="gelu")(a)
    b = L.Conv2D(4, 3, padding="same", strides=(2, 1),
                 data_format="channels_first")(inp)
    c = L.SeparableConv2D(5, 3, depth_multiplier=2)(
        L.DepthwiseConv2D(3, depth_multiplier=2, strides=2,
                          padding="same")(inp))
    d = L.DepthwiseConv2D(3, data_format="channels_first", padding="same")(inp)
    return keras.Model(inp, [a, b, c, d])


def _conv3d():
    inp, cf = keras.Input((5, 6, 7, 2)), keras.Input((2, 5, 6, 7))
    a = L.Conv3D(3, 2, strides=(1, 2, 1), padding="same")(inp)
    b = L.Conv3D(3, 2, dilation_rate=2, data_format="channels_first")(cf)
    return keras.Model([inp, cf], [a, b])


def _transposed():
    i2, i1, i3 = (keras.Input((5, 6, 3)), keras.Input((7, 3)),
                  keras.Input((3, 4, 5, 2)))
    a = L.Conv2DTranspose(4, 3, strides=2, padding="same")(i2)
    a = L.Conv2DTranspose(2, 2, strides=(1, 2))(a)
    b = L.Conv2DTranspose(4, 3, strides=2, data_format="channels_first")(i2)
    c = L.Conv2DTranspose(4, 3, dilation_rate=2)(i2)
    d = L.Conv1DTranspose(2, 2)(L.Conv1DTranspose(4, 3, strides=3,
                                                  padding="same")(i1))
    e = L.Conv3DTranspose(3, 2, strides=2, padding="same")(i3)
    return keras.Model([i2, i1, i3], [a, b, c, d, e])


def _pooling():
    i2, i1, i3 = (keras.Input((9, 11, 3)), keras.Input((13, 3)),
                  keras.Input((5, 6, 7, 2)))
    outs = [
        L.MaxPooling2D(3, strides=2, padding="same")(i2),
        L.AveragePooling2D((2, 3), strides=1, padding="same")(i2),
        L.AveragePooling2D(3, strides=2)(i2),
        L.MaxPooling2D(2, data_format="channels_first", padding="same")(i2),
        L.GlobalAveragePooling2D(keepdims=True)(i2),
        L.GlobalMaxPooling2D()(i2),
        L.MaxPooling1D(3, strides=2, padding="same")(i1),
        L.AveragePooling1D(3, strides=1, padding="same",
                           data_format="channels_first")(i1),
        L.GlobalMaxPooling1D(data_format="channels_first")(i1),
        L.GlobalAveragePooling1D()(i1),
        L.MaxPooling3D(2, padding="same")(i3),
        L.AveragePooling3D((1, 2, 2))(i3),
        L.GlobalMaxPooling3D(data_format="channels_first")(i3),
    ]
    return keras.Model([i2, i1, i3], outs)


def _recurrent():
    inp = keras.Input((6, 3))
    a = L.SimpleRNN(4, return_sequences=True)(inp)
    a = L.GRU(5, return_sequences=True, go_backwards=True)(a)
    a = L.GRU(3, reset_after=False, return_sequences=True)(a)
    out, h, c = L.LSTM(3, return_state=True)(a)
    b = L.Bidirectional(L.LSTM(3, return_sequences=True),
                        merge_mode="sum")(inp)
    b = L.Bidirectional(L.GRU(2), merge_mode="mul")(b)
    f, r = L.Bidirectional(L.SimpleRNN(2), merge_mode=None)(inp)
    t = L.TimeDistributed(L.Dense(2))(inp)
    return keras.Model(inp, [out, h, c, b, f, r, t])


def _masked_recurrent():
    inp = keras.Input((7,), dtype="int32")
    h = L.Embedding(20, 4, mask_zero=True)(inp)
    a = L.LSTM(3, return_sequences=True)(h)
    a = L.Bidirectional(L.GRU(3, go_backwards=True), merge_mode="ave")(a)
    m = L.SimpleRNN(2)(L.Masking(0.0)(L.Dense(3)(h)))
    return keras.Model(inp, [a, m])


def _attention():
    q, v = keras.Input((5, 8)), keras.Input((7, 8))
    mask = keras.Input((5, 7), dtype="bool")
    a = L.MultiHeadAttention(2, 4, value_dim=3, output_shape=6)(
        q, v, attention_mask=mask)
    b, scores = L.MultiHeadAttention(2, 4)(
        q, q, use_causal_mask=True, return_attention_scores=True)
    c = L.Attention(use_scale=True, score_mode="concat")([q, v])
    d = L.AdditiveAttention()([q, v])
    return keras.Model([q, v, mask], [a, b, scores, c, d])


def _attention_padding_mask():
    inp = keras.Input((6,), dtype="int32")
    e = L.Embedding(10, 8, mask_zero=True)(inp)
    o = L.MultiHeadAttention(2, 4)(e, e)
    return keras.Model(inp, L.GlobalAveragePooling1D()(o))


def _normalization():
    norm = L.Normalization(axis=-1)
    norm.adapt(np.random.default_rng(0).normal(
        size=(50, 6, 5, 4)).astype("float32") * 3 + 1)
    return seq((6, 5, 4), norm,
               L.BatchNormalization(momentum=0.5, epsilon=1e-2),
               L.LayerNormalization(axis=[1, 2]), L.GroupNormalization(2),
               L.UnitNormalization(axis=-1),
               L.BatchNormalization(axis=1, center=False, scale=False),
               L.RMSNormalization())


def _preprocessing():
    inp = keras.Input((4,))
    n = L.Normalization(mean=[0.5, 1, 2, 3], variance=[1, 2, 3, 4])(inp)
    r = L.Rescaling(0.5, offset=-1)(n)
    d = L.Discretization(bin_boundaries=[-1.0, 0.0, 1.0])(r)
    c = L.CategoryEncoding(num_tokens=4, output_mode="multi_hot")(d)
    k = L.CategoryEncoding(num_tokens=4, output_mode="count")(d)
    return keras.Model(inp, [r, d, c, k])


def _integer_lookup():
    inp = keras.Input((4,), dtype="int64")
    a = L.IntegerLookup(vocabulary=[3, 7, 1, 5])(inp)
    b = L.IntegerLookup(vocabulary=[3, 7, 1, 5], output_mode="multi_hot",
                        num_oov_indices=2)(inp)
    c = L.IntegerLookup(vocabulary=[3, 7, 1], invert=True)(a)
    return keras.Model(inp, [a, b, c])


def _image_preprocessing():
    inp = keras.Input((12, 10, 3))
    h = L.Rescaling(1 / 255.0)(inp)
    outs = [L.CenterCrop(5, 6)(L.Resizing(7, 9)(h)),
            L.Resizing(8, 8, interpolation="nearest")(h),
            L.Resizing(5, 13, interpolation="nearest")(h),
            L.Resizing(6, 5, crop_to_aspect_ratio=True)(h),
            L.Resizing(6, 6, pad_to_aspect_ratio=True)(h)]
    # training-only augmentation is the identity at inference
    aug = seq((12, 10, 3), L.RandomFlip(), L.RandomRotation(0.2),
              L.RandomZoom(0.1), L.RandomContrast(0.2),
              L.RandomTranslation(0.1, 0.1), L.RandomCrop(6, 6))
    outs.append(aug(inp))
    return keras.Model(inp, outs)


def _activations():
    inp = keras.Input((3, 4, 5))
    acts = ["relu", "relu6", "elu", "selu", "gelu", "silu", "sigmoid",
            "hard_sigmoid", "hard_silu", "softplus", "softsign", "tanh",
            "exponential", "leaky_relu", "mish", "log_softmax", "softmax",
            "linear"]
    outs = [L.Activation(a)(inp) for a in acts]
    outs += [L.Lambda(lambda t: keras.ops.gelu(t, approximate=True))(inp),
             L.Lambda(lambda t: keras.ops.gelu(t, approximate=False))(inp),
             L.Softmax(axis=1)(inp), L.Softmax(axis=(1, 3))(inp),
             L.Lambda(lambda t: keras.ops.log_softmax(t, axis=2))(inp),
             L.ReLU(max_value=2.0, negative_slope=0.1, threshold=0.3)(inp),
             L.LeakyReLU(0.2)(inp), L.ELU(0.7)(inp),
             L.PReLU(shared_axes=[1])(inp)]
    return keras.Model(inp, outs)


def _reshaping():
    i2, i1, i3 = (keras.Input((7, 8, 3)), keras.Input((4, 6)),
                  keras.Input((4, 5, 6, 2)))
    a = L.ZeroPadding2D(((1, 2), (0, 3)))(i2)
    a = L.Cropping2D(((2, 1), (1, 0)))(a)
    a = L.UpSampling2D(2, interpolation="bilinear")(L.UpSampling2D((2, 3))(a))
    b = L.ZeroPadding2D(1, data_format="channels_first")(i2)
    b = L.Cropping2D(((1, 0), (0, 2)), data_format="channels_first")(b)
    b = L.UpSampling2D(2, data_format="channels_first")(b)
    c = L.UpSampling1D(3)(L.Cropping1D((1, 2))(L.ZeroPadding1D((2, 1))(i1)))
    d = L.Reshape((-1, 4))(L.RepeatVector(3)(L.Flatten()(
        L.Permute((2, 1))(L.Reshape((3, 8))(i1)))))
    e = L.UpSampling3D((1, 2, 2))(
        L.Cropping3D(((1, 0), (1, 1), (0, 2)))(L.ZeroPadding3D(1)(i3)))
    return keras.Model([i2, i1, i3], [a, b, c, d, e])


def _merging():
    a, b, c = keras.Input((4,)), keras.Input((4,)), keras.Input((4,))
    s3, s5 = keras.Input((3, 4)), keras.Input((5, 4))
    outs = [L.Add()([a, b, c]), L.Subtract()([a, b]),
            L.Multiply()([a, b, c]), L.Average()([a, b]),
            L.Maximum()([a, b, c]), L.Minimum()([a, b]),
            L.Concatenate()([a, b]), L.Dot(axes=1)([a, b]),
            L.Dot(axes=1, normalize=True)([a, c]),
            L.Dot(axes=(2, 2))([s3, s5])]
    return keras.Model([a, b, c, s3, s5], outs)


def _embedding_einsum():
    ids = keras.Input((5,), dtype="int32")
    e = L.Embedding(30, 6)(ids)
    h = L.EinsumDense("abc,cd->abd", output_shape=(None, 4),
                      bias_axes="d")(e)
    h = L.EinsumDense("abd,bd->ab", output_shape=(5,))(h)
    return keras.Model(ids, [L.Flatten()(e), h])


def _inference_identities():
    return seq((6,), L.Dropout(0.5), L.GaussianNoise(0.3),
               L.GaussianDropout(0.2), L.AlphaDropout(0.1),
               L.ActivityRegularization(0.1), L.Dense(3), L.Identity())


def _channels_first_3d():
    c = keras.Input((2, 4, 5, 6))
    z = L.SpatialDropout3D(0.2)(c)
    z = L.ZeroPadding3D(1, data_format="channels_first")(z)
    z = L.Cropping3D(((1, 0), (0, 1), (1, 1)), data_format="channels_first")(z)
    z = L.UpSampling3D(2, data_format="channels_first")(z)
    z = L.AveragePooling3D(2, data_format="channels_first", padding="same")(z)
    m = L.MaxPooling3D((1, 2, 3), data_format="channels_first")(c)
    g = L.GlobalAveragePooling3D(data_format="channels_first")(c)
    return keras.Model(c, [z, m, g])


def _attention_key_and_padding_masks():
    q, v, k = keras.Input((4, 6)), keras.Input((5, 6)), keras.Input((5, 6))
    a = L.MultiHeadAttention(3, 2, use_bias=False, dropout=0.2)(q, v, key=k)
    qi, vi = keras.Input((4,), dtype="int32"), keras.Input((5,), dtype="int32")
    qe = L.Embedding(10, 6, mask_zero=True)(qi)
    ve = L.Embedding(10, 6, mask_zero=True)(vi)
    b = L.MultiHeadAttention(2, 3)(qe, ve, use_causal_mask=True)
    return keras.Model([q, v, k, qi, vi], [a, b])


def _preprocessing_modes():
    x, ids = keras.Input((4,)), keras.Input((3,), dtype="int64")
    outs = [
        L.Normalization(mean=[0.5, 1, 2, 3], variance=[1, 2, 3, 4],
                        invert=True)(x),
        L.Discretization(bin_boundaries=[-1.0, 0.0, 1.0],
                         output_mode="one_hot")(x),
        L.Discretization(bin_boundaries=[-0.5, 0.5], output_mode="count")(x),
        L.Rescaling([1.0, 2.0, 3.0, 4.0], offset=[0.0, 1.0, 0.0, 1.0])(x),
        L.IntegerLookup(vocabulary=[4, 6, 8], mask_token=0)(ids),
        L.IntegerLookup(vocabulary=[4, 6, 8], output_mode="one_hot")(
            ids[:, :1]),
        L.IntegerLookup(vocabulary=[4, 6, 8], output_mode="count")(ids),
        L.CategoryEncoding(10, output_mode="one_hot")(ids[:, :1]),
    ]
    return keras.Model([x, ids], outs)


MODELS = {f.__name__[1:]: f for f in [
    _channels_first_3d, _attention_key_and_padding_masks,
    _preprocessing_modes,
    _conv1d, _conv2d, _conv3d, _transposed, _pooling, _recurrent,
    _masked_recurrent, _attention, _attention_padding_mask, _normalization,
    _preprocessing, _integer_lookup, _image_preprocessing, _activations,
    _reshaping, _merging, _embedding_einsum, _inference_identities]}


# resampling sums its taps in another order than onnxruntime's Resize
TOL = {"image_preprocessing": (1e-5, 1e-5)}


@pytest.mark.parametrize("name", sorted(MODELS))
def test_layers_export(tmp_path, name):
    keras.utils.set_random_seed(0)
    check_export(MODELS[name](), tmp_path / "m.onnx",
                 tol=TOL.get(name, (1e-5, 1e-6)))


def test_small_keras_application(tmp_path):
    keras.utils.set_random_seed(0)
    model = keras.applications.MobileNetV2(
        input_shape=(32, 32, 3), alpha=0.35, weights=None, classes=5)
    check_export(model, tmp_path / "m.onnx", batches=(1, 3), tol=(1e-4, 1e-5))


@st.composite
def conv_configs(draw):
    rank = draw(st.sampled_from([1, 2]))
    kernel = draw(st.integers(1, 3))
    dilation = draw(st.integers(1, 2))
    padding = draw(st.sampled_from(["valid", "same"] +
                                   (["causal"] if rank == 1 else [])))
    strides = 1 if dilation > 1 else draw(st.integers(1, 3))
    reach = (kernel - 1) * dilation + 1
    sizes = tuple(draw(st.integers(reach, reach + 6)) for _ in range(rank))
    channels_first = draw(st.booleans()) and padding != "causal"
    return dict(rank=rank, kernel=kernel, dilation=dilation, padding=padding,
                strides=strides, sizes=sizes, channels_first=channels_first,
                groups=draw(st.sampled_from([1, 2])),
                pool=draw(st.sampled_from(["max", "average"])),
                batch=draw(st.sampled_from([1, 2, 5])))


@settings(max_examples=8)
@given(cfg=conv_configs())
def test_conv_and_pool_geometry(tmp_path_factory, cfg):
    """Odd spatial sizes, strides, dilation, padding, groups and layouts:
    a Conv then a pooling layer over what it leaves."""
    keras.utils.set_random_seed(0)
    fmt = "channels_first" if cfg["channels_first"] else "channels_last"
    conv = (L.Conv1D if cfg["rank"] == 1 else L.Conv2D)(
        4, cfg["kernel"], strides=cfg["strides"], padding=cfg["padding"],
        dilation_rate=cfg["dilation"], groups=cfg["groups"], data_format=fmt)
    pool = {("max", 1): L.MaxPooling1D, ("max", 2): L.MaxPooling2D,
            ("average", 1): L.AveragePooling1D,
            ("average", 2): L.AveragePooling2D}[cfg["pool"], cfg["rank"]]
    shape = ((2,) + cfg["sizes"]) if cfg["channels_first"] else (
        cfg["sizes"] + (2,))
    model = seq(shape, conv, pool(2, padding="same", data_format=fmt))
    path = tmp_path_factory.mktemp("conv") / "m.onnx"
    check_export(model, path, batches=(1, cfg["batch"]))
