"""keras.ops.image beyond resize: extract_patches (2D, 3D, every stride,
dilation and padding), pad_images, crop_images, rgb_to_grayscale,
rgb_to_hsv, hsv_to_rgb. Each against a NumPy rendering of its definition
(written out here, not our code), eagerly and compiled inside a model;
models using them save and load; misuse gets Keras 3's errors."""

from __future__ import annotations

import colorsys
import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import graphkeras as keras
from graphkeras import ops


def _patches(x, size, strides, dilation, padding):
    """Patch element (i, j, ..., c) of each window, by loops: batched
    channels_last input, Keras's (TensorFlow's) 'same' padding."""
    spatial, channels = x.shape[1:-1], x.shape[-1]
    D = len(size)
    span = [(k - 1) * d + 1 for k, d in zip(size, dilation)]
    if padding == "same":
        outs = [-(-s // st_) for s, st_ in zip(spatial, strides)]
        total = [max((o - 1) * st_ + sp - s, 0)
                 for o, st_, sp, s in zip(outs, strides, span, spatial)]
        x = np.pad(x, [(0, 0)] + [(t // 2, t - t // 2) for t in total]
                   + [(0, 0)])
    else:
        outs = [(s - sp) // st_ + 1 for s, sp, st_ in zip(spatial, span,
                                                         strides)]
    out = np.zeros((x.shape[0], *outs, int(np.prod(size)) * channels),
                   x.dtype)
    for pos in itertools.product(*[range(o) for o in outs]):
        parts = []
        for k in itertools.product(*[range(s) for s in size]):
            at = [p * st_ + kk * d for p, st_, kk, d in zip(pos, strides, k,
                                                           dilation)]
            parts.append(x[(slice(None), *at)])
        out[(slice(None), *pos)] = np.concatenate(parts, axis=-1)
    assert len(pos) == D
    return out


@settings(max_examples=25, deadline=None)
@given(data=st.data())
def test_extract_patches_matches_its_definition(data):
    D = data.draw(st.sampled_from([2, 2, 3]))
    size = tuple(data.draw(st.integers(1, 3)) for _ in range(D))
    dilated = data.draw(st.booleans())
    strides = (1,) * D if dilated else tuple(
        data.draw(st.integers(1, 3)) for _ in range(D))
    dilation = tuple(data.draw(st.integers(1, 2)) for _ in range(D)) \
        if dilated else (1,) * D
    padding = data.draw(st.sampled_from(["valid", "same"]))
    spatial = tuple(data.draw(st.integers(s * 2 + 1, s * 2 + 4))
                    for s in size)
    channels = data.draw(st.integers(1, 3))
    batch = data.draw(st.integers(1, 3))
    x = np.random.default_rng(0).normal(
        size=(batch, *spatial, channels)).astype("float32")
    want = _patches(x, size, strides, dilation, padding)
    got = ops.image.extract_patches(x, size, strides=strides,
                                    dilation_rate=dilation, padding=padding)
    np.testing.assert_array_equal(np.asarray(got), want)
    # compiled inside a model: the same numbers, batch 1 included
    inp = keras.Input(x.shape[1:])
    model = keras.Model(inp, ops.image.extract_patches(
        inp, size, strides=strides, dilation_rate=dilation, padding=padding))
    np.testing.assert_array_equal(model.predict(x, verbose=0), want)
    np.testing.assert_array_equal(model.predict(x[:1], verbose=0), want[:1])


def test_extract_patches_forms():
    x = np.random.default_rng(1).random((2, 11, 13, 3)).astype("float32")
    tiles = ops.image.extract_patches(x, 4)  # strides = size, rows cropped
    assert tiles.shape == (2, 2, 3, 48)
    np.testing.assert_array_equal(tiles, _patches(x, (4, 4), (4, 4), (1, 1),
                                                  "valid"))
    np.testing.assert_array_equal(ops.image.extract_patches(x[0], (3, 5)),
                                  _patches(x[:1], (3, 5), (3, 5), (1, 1),
                                           "valid")[0])
    first = ops.image.extract_patches(np.transpose(x, (0, 3, 1, 2)), 4,
                                      data_format="channels_first")
    np.testing.assert_array_equal(first, np.transpose(tiles, (0, 3, 1, 2)))
    ints = (x * 255).astype("int32")
    got = ops.image.extract_patches(ints, 3, strides=2, padding="same")
    assert str(got.dtype) == "int32"
    np.testing.assert_array_equal(got, _patches(ints, (3, 3), (2, 2), (1, 1),
                                                "same"))


def test_extract_patches_errors_are_keras_3s():
    x = np.zeros((1, 8, 8, 3), "float32")
    with pytest.raises(TypeError, match="Expected an int or a tuple"):
        ops.image.extract_patches(x, "4")
    with pytest.raises(ValueError, match="Expected a tuple of length 2 or 3"):
        ops.image.extract_patches(x, (1, 2, 3, 4))
    with pytest.raises(ValueError, match="expects an input of rank 3"):
        ops.image.extract_patches(np.zeros((8, 8), "float32"), 2)
    with pytest.raises(ValueError, match="do not fit"):
        ops.image.extract_patches(x, 9)


def test_pad_and_crop_images():
    x = np.random.default_rng(2).random((2, 11, 13, 3)).astype("float32")
    got = ops.image.pad_images(x, 2, 3, target_height=20, target_width=30)
    np.testing.assert_array_equal(
        got, np.pad(x, [(0, 0), (2, 7), (3, 14), (0, 0)]))
    got = ops.image.pad_images(x[0], top_padding=1, bottom_padding=2,
                               left_padding=0, right_padding=4)
    np.testing.assert_array_equal(got, np.pad(x[0], [(1, 2), (0, 4), (0, 0)]))
    cf = np.transpose(x, (0, 3, 1, 2))
    got = ops.image.crop_images(cf, top_cropping=1, bottom_cropping=2,
                                left_cropping=3, right_cropping=1,
                                data_format="channels_first")
    np.testing.assert_array_equal(got, cf[:, :, 1:9, 3:12])
    np.testing.assert_array_equal(
        ops.image.crop_images(x, 2, 3, target_height=5, target_width=6),
        x[:, 2:7, 3:9])
    with pytest.raises(ValueError, match="Must specify exactly two of "
                       "top_padding, bottom_padding, target_height"):
        ops.image.pad_images(x, 2, 3)
    with pytest.raises(ValueError, match="top_padding must be >= 0"):
        ops.image.pad_images(x, bottom_padding=15, target_height=20,
                             left_padding=0, right_padding=0)
    with pytest.raises(ValueError, match="does not fit"):
        ops.image.crop_images(x, 2, 3, target_height=20, target_width=6)
    with pytest.raises(ValueError, match="Invalid images rank"):
        ops.image.crop_images(x[0, 0], 0, 0, target_height=1, target_width=1)


def test_colour_spaces():
    rng = np.random.default_rng(3)
    x = rng.random((2, 5, 7, 3)).astype("float32")
    x[0, 0, 0] = [0.5, 0.5, 0.5]  # grey: hue and saturation 0
    x[0, 0, 1] = [0.0, 0.0, 0.0]
    gray = ops.image.rgb_to_grayscale(x)
    np.testing.assert_allclose(gray[..., 0], x @ np.array(
        [0.2989, 0.5870, 0.1140], np.float32), rtol=1e-6)
    np.testing.assert_allclose(
        ops.image.rgb_to_grayscale(np.transpose(x, (0, 3, 1, 2)),
                                   data_format="channels_first")[:, 0],
        gray[..., 0], rtol=1e-6)
    assert ops.image.rgb_to_grayscale(x[..., :1]) is not None
    hsv = np.asarray(ops.image.rgb_to_hsv(x))
    want = np.array([colorsys.rgb_to_hsv(*p) for p in x.reshape(-1, 3)
                     ]).reshape(x.shape)
    np.testing.assert_allclose(hsv, want, atol=2e-6)
    np.testing.assert_allclose(ops.image.hsv_to_rgb(hsv), x, atol=2e-6)
    with pytest.raises(ValueError, match="expected float dtype"):
        ops.image.rgb_to_hsv(x.astype("int32"))
    with pytest.raises(ValueError, match="expected 3 \\(RGB\\) or 1"):
        ops.image.rgb_to_grayscale(x[..., :2])


def test_models_with_image_ops_train_save_and_load(tmp_path):
    inp = keras.Input((12, 12, 3))
    patches = ops.image.extract_patches(inp, 4)  # (3, 3, 48): ViT's input
    x = keras.layers.Dense(8, activation="relu")(
        keras.layers.Reshape((9, 48))(patches))
    x = keras.layers.GlobalAveragePooling1D()(x)
    gray = ops.image.rgb_to_grayscale(
        ops.image.crop_images(inp, 1, 1, target_height=8, target_width=8))
    g = keras.layers.Flatten()(ops.image.pad_images(
        gray, 1, 1, target_height=10, target_width=10))
    hsv = keras.layers.GlobalAveragePooling2D()(
        ops.image.hsv_to_rgb(ops.image.rgb_to_hsv(inp)))
    out = keras.layers.Dense(2, activation="softmax")(
        keras.layers.Concatenate()([x, g, hsv]))
    model = keras.Model(inp, out)
    model.compile("adam", "sparse_categorical_crossentropy")
    rng = np.random.default_rng(4)
    xs = rng.random((16, 12, 12, 3)).astype("float32")
    ys = rng.integers(0, 2, 16)
    model.fit(xs, ys, epochs=2, batch_size=8, verbose=0)
    path = tmp_path / "image_ops.keras"
    model.save(path)
    back = keras.models.load_model(path)
    np.testing.assert_allclose(back.predict(xs, verbose=0),
                               model.predict(xs, verbose=0), rtol=1e-6)
    # written as Keras 3 writes these calls (its Operation classes)
    config = str(back.get_config())
    for name in ("ExtractPatches", "CropImages", "PadImages",
                 "RGBToGrayscale", "RGBToHSV", "HSVToRGB"):
        assert f"'class_name': '{name}'" in config, name
