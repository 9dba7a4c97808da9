"""Keras's ops.image: resize (nearest, bilinear, bicubic, ..., with
Keras's crop_to_aspect_ratio and pad_to_aspect_ratio), extract_patches
(2D and 3D), pad_images, crop_images, rgb_to_grayscale, rgb_to_hsv and
hsv_to_rgb, with Keras 3's arguments, results and errors."""

from __future__ import annotations

import numpy as np

from ...ir.ops.conv import RESIZE_METHODS
from .core import _apply, cast, dtype, keras_op, shape
from .nn import (
    _channels_last,
    _floats,
    _rank,
    _restore,
    _static_spatial,
    conv,
    standardize_data_format,
    standardize_tuple,
)
from .numpy import (
    abs,
    clip,
    divide,
    equal,
    expand_dims,
    greater,
    less,
    maximum,
    minimum,
    mod,
    multiply,
    pad,
    reshape,
    slice,
    split,
    squeeze,
    stack,
    subtract,
    sum,
    transpose,
    where,
)


def _aspect_window(height, width, th, tw, mode: str):
    """Keras's centered crop (or pad) box to the target aspect ratio:
    (size, start) for both axes."""
    if mode == "crop":
        ch = max(min(height, int(float(width * th) / tw)), 1)
        cw = max(min(width, int(float(height * tw) / th)), 1)
        return (ch, int(float(height - ch) / 2)), (cw, int(float(width - cw) / 2))
    ph = max(height, int(float(width * th) / tw))
    pw = max(width, int(float(height * tw) / th))
    return (ph, int(float(ph - height) / 2)), (pw, int(float(pw - width) / 2))


@keras_op
def resize(images, size, interpolation="bilinear", antialias=False,
           crop_to_aspect_ratio=False, pad_to_aspect_ratio=False,
           fill_mode="constant", fill_value=0.0, data_format=None):
    """Resize images (batched, rank 4, or one image, rank 3) to `size` =
    (height, width) with TensorFlow's half-pixel conventions."""
    fmt = standardize_data_format(data_format)
    method = str(interpolation).lower()
    if method not in RESIZE_METHODS:
        raise ValueError(
            f"ops.image.resize supports interpolation in {RESIZE_METHODS}; "
            f"received interpolation={interpolation!r}.")
    if antialias:
        raise ValueError(
            "ops.image.resize: antialias=True is not supported; received "
            "antialias=True.")
    if crop_to_aspect_ratio and pad_to_aspect_ratio:
        raise ValueError(
            "Only one of `pad_to_aspect_ratio` & `crop_to_aspect_ratio` can be "
            "`True`.")
    if fill_mode != "constant":
        raise ValueError(
            f"ops.image.resize supports fill_mode='constant' only; received "
            f"fill_mode={fill_mode!r}.")
    size = tuple(size)
    if len(size) != 2 or not all(isinstance(s, (int, np.integer)) and s > 0
                                 for s in size):
        raise ValueError(
            "Expected `size` to be a tuple of 2 positive integers. Received: "
            f"size={size}")
    r = _rank(images)
    if r not in (3, 4):
        raise ValueError(
            "Invalid images rank: expected rank 3 (single image) or rank 4 "
            f"(batch of images). Received input with shape: "
            f"images.shape={tuple(shape(images))}")
    x = images if r == 4 else expand_dims(images, 0)
    x = _floats(_channels_last(x, fmt))
    height, width = _static_spatial(x, "ops.image.resize")
    th, tw = int(size[0]), int(size[1])
    if crop_to_aspect_ratio or pad_to_aspect_ratio:
        mode = "crop" if crop_to_aspect_ratio else "pad"
        (h2, hs), (w2, ws) = _aspect_window(height, width, th, tw, mode)
        if mode == "crop":
            x = slice(x, (0, hs, ws, 0), (None, h2, w2, None))
        else:
            # NOTE: Keras pads the same amount on both sides (so an odd
            # difference loses a row), and so does this
            x = pad(x, ((0, 0), (hs, hs), (ws, ws), (0, 0)),
                        constant_values=fill_value)
    y = _apply("resize", x, shape=(th, tw), method=method)
    y = _restore(y, fmt)
    return y if r == 4 else squeeze(y, 0)


# --- patches ----------------------------------------------------------------------


@keras_op
def extract_patches(images, size, strides=None, dilation_rate=1,
                    padding="valid", data_format=None):
    """Patches of `size` (an int or (h, w): 2D; (d, h, w): 3D) as channels:
    (batch, rows, cols, h * w * channels) for images (batch, H, W,
    channels), or without the batch for one image. Patch element (i, j, c)
    is channel (i * w + j) * channels + c of the result (Keras 3's order:
    a convolution with an identity kernel)."""
    if not isinstance(size, (int, np.integer)):
        if not isinstance(size, (tuple, list)):
            raise TypeError(
                "Invalid `size` argument. Expected an int or a tuple. "
                f"Received: size={size} of type {type(size).__name__}")
        if len(size) not in (2, 3):
            raise ValueError(
                "Invalid `size` argument. Expected a tuple of length 2 or 3. "
                f"Received: size={size} with length {len(size)}")
    D = 2 if isinstance(size, (int, np.integer)) else len(size)
    size = standardize_tuple(size, D, "size")
    strides = size if not strides else standardize_tuple(strides, D,
                                                         "strides")
    dilation = standardize_tuple(dilation_rate, D, "dilation_rate")
    fmt = standardize_data_format(data_format)
    r = _rank(images)
    if r not in (D + 1, D + 2):
        raise ValueError(
            f"extract_patches with a size of length {D} expects an input of "
            f"rank {D + 1} (one image) or {D + 2} (a batch). Received: "
            f"images.shape={tuple(shape(images))}")
    x = images if r == D + 2 else expand_dims(images, 0)
    x = _channels_last(x, fmt)
    dims = tuple(shape(x))
    spatial, channels = dims[1:-1], dims[-1]
    if any(d is None for d in spatial) or channels is None:
        raise ValueError(
            "extract_patches needs static spatial and channel dimensions; "
            f"received images of shape {tuple(shape(images))}.")
    if str(padding).lower() == "valid" and strides == size and \
            all(d == 1 for d in dilation):
        y = _tiles(x, size, spatial, channels)
    else:
        # the general case as Keras computes it: a convolution whose
        # kernel copies each patch element to its own channel
        n = int(np.prod(size)) * channels
        kernel = np.eye(n, dtype=np.float32).reshape(*size, channels, n)
        xf = _floats(x)
        y = conv(xf, kernel.astype(dtype(xf)), strides=strides,
                 padding=padding, dilation_rate=dilation)
        if dtype(y) != dtype(x):
            y = cast(y, dtype(x))
    y = _restore(y, fmt)
    return y if r == D + 2 else squeeze(y, 0)


def _tiles(x, size, spatial, channels):
    """Non-overlapping patches by reshapes: (batch, *spatial, channels) ->
    (batch, *counts, prod(size) * channels)."""
    D = len(size)
    counts = [s // p for s, p in zip(spatial, size)]
    if any(c == 0 for c in counts):
        raise ValueError(
            f"extract_patches: patches of size {size} do not fit images of "
            f"spatial size {tuple(spatial)}.")
    if any(c * p != s for c, p, s in zip(counts, size, spatial)):
        x = slice(x, (0,) * (D + 2),
                  (None, *[c * p for c, p in zip(counts, size)], None))
    split_dims = [d for c, p in zip(counts, size) for d in (c, p)]
    x = reshape(x, (-1, *split_dims, channels))
    # (batch, c0, p0, c1, p1, ..., ch) -> (batch, c0, c1, ..., p0, p1, ..., ch)
    order = (0, *range(1, 2 * D, 2), *range(2, 2 * D + 1, 2), 2 * D + 1)
    x = transpose(x, order)
    return reshape(x, (-1, *counts, int(np.prod(size)) * channels))


# --- padding and cropping ---------------------------------------------------------


def _non_negative(**sizes) -> None:
    for name, v in sizes.items():
        if v is not None and v < 0:
            raise ValueError(f"{name} must be >= 0. Received: {name}={v}")


def _two_of(first, second, target, names: tuple, verb: str) -> None:
    if [first, second, target].count(None) != 1:
        raise ValueError(
            f"Must specify exactly two of {names[0]}, {names[1]}, {names[2]}. "
            f"Received: {names[0]}={first}, {names[1]}={second}, "
            f"{names[2]}={target}")
    _non_negative(**dict(zip(names, (first, second, target))))


def _image_hw(images, fmt: str, what: str):
    r = _rank(images)
    if r not in (3, 4):
        raise ValueError(
            "Invalid images rank: expected rank 3 (single image) or rank 4 "
            f"(batch of images). Received: images.shape="
            f"{tuple(shape(images))}")
    dims = tuple(shape(images))
    h, w = (dims[-3], dims[-2]) if fmt == "channels_last" else dims[-2:]
    if h is None or w is None:
        raise ValueError(
            f"{what} needs static heights and widths; received images of "
            f"shape {dims}.")
    return r, h, w


@keras_op
def pad_images(images, top_padding=None, left_padding=None,
               bottom_padding=None, right_padding=None, target_height=None,
               target_width=None, data_format=None):
    """Zeros around images (rank 3 or 4): two of top_padding,
    bottom_padding, target_height and two of left_padding, right_padding,
    target_width."""
    fmt = standardize_data_format(data_format)
    r, h, w = _image_hw(images, fmt, "pad_images")
    _two_of(top_padding, bottom_padding, target_height,
            ("top_padding", "bottom_padding", "target_height"), "pad")
    _two_of(left_padding, right_padding, target_width,
            ("left_padding", "right_padding", "target_width"), "pad")
    if top_padding is None:
        top_padding = target_height - bottom_padding - h
    if bottom_padding is None:
        bottom_padding = target_height - top_padding - h
    if left_padding is None:
        left_padding = target_width - right_padding - w
    if right_padding is None:
        right_padding = target_width - left_padding - w
    _non_negative(top_padding=top_padding, left_padding=left_padding,
                  right_padding=right_padding, bottom_padding=bottom_padding)
    widths = [(int(top_padding), int(bottom_padding)),
              (int(left_padding), int(right_padding))]
    widths = widths + [(0, 0)] if fmt == "channels_last" else \
        [(0, 0)] + widths
    if r == 4:
        widths = [(0, 0)] + widths
    return pad(images, widths)


@keras_op
def crop_images(images, top_cropping=None, left_cropping=None,
                bottom_cropping=None, right_cropping=None,
                target_height=None, target_width=None, data_format=None):
    """A window of images (rank 3 or 4): two of top_cropping,
    bottom_cropping, target_height and two of left_cropping,
    right_cropping, target_width."""
    fmt = standardize_data_format(data_format)
    r, h, w = _image_hw(images, fmt, "crop_images")
    _two_of(top_cropping, bottom_cropping, target_height,
            ("top_cropping", "bottom_cropping", "target_height"), "crop")
    _two_of(left_cropping, right_cropping, target_width,
            ("left_cropping", "right_cropping", "target_width"), "crop")
    if top_cropping is None:
        top_cropping = h - target_height - bottom_cropping
    if target_height is None:
        target_height = h - bottom_cropping - top_cropping
    if left_cropping is None:
        left_cropping = w - target_width - right_cropping
    if target_width is None:
        target_width = w - right_cropping - left_cropping
    _non_negative(top_cropping=top_cropping, target_height=target_height,
                  left_cropping=left_cropping, target_width=target_width)
    if top_cropping + target_height > h or left_cropping + target_width > w:
        raise ValueError(
            f"crop_images: the window (top {top_cropping}, left "
            f"{left_cropping}, {target_height} x {target_width}) does not "
            f"fit images of height {h} and width {w}.")
    start, size = [int(top_cropping), int(left_cropping)], \
        [int(target_height), int(target_width)]
    if fmt == "channels_last":
        start, size = start + [0], size + [None]
    else:
        start, size = [0] + start, [None] + size
    if r == 4:
        start, size = [0] + start, [None] + size
    return slice(images, tuple(start), tuple(size))


# --- colour spaces ----------------------------------------------------------------


def _channel_axis(images, fmt: str, what: str, need_float: bool) -> int:
    r = _rank(images)
    if r not in (3, 4):
        raise ValueError(
            "Invalid images rank: expected rank 3 (single image) or rank 4 "
            "(batch of images). Received input with shape: "
            f"images.shape={tuple(shape(images))}")
    if need_float and not dtype(images).startswith("float"):
        raise ValueError(
            "Invalid images dtype: expected float dtype. Received: "
            f"images.dtype={dtype(images)}")
    return -1 if fmt == "channels_last" else -3


@keras_op
def rgb_to_grayscale(images, data_format=None):
    """Luma 0.2989 R + 0.5870 G + 0.1140 B, one channel (Keras's weights);
    a one-channel input is returned as it is."""
    fmt = standardize_data_format(data_format)
    ax = _channel_axis(images, fmt, "rgb_to_grayscale", False)
    c = tuple(shape(images))[ax]
    if c not in (1, 3):
        raise ValueError(
            "Invalid channel size: expected 3 (RGB) or 1 (Grayscale). "
            f"Received input with shape: images.shape={tuple(shape(images))}")
    if c == 1:
        return images
    dt = dtype(images)
    x = _floats(images)
    weights = np.array([0.2989, 0.5870, 0.1140], dtype(x))
    if fmt != "channels_last":
        weights = weights.reshape(3, 1, 1)
    y = sum(multiply(x, weights), axis=ax, keepdims=True)
    return y if dtype(y) == dt else cast(y, dt)


def _planes(images, ax: int):
    return [squeeze(p, ax) for p in split(images, 3, axis=ax)]


@keras_op
def rgb_to_hsv(images, data_format=None):
    """Hue, saturation and value in [0, 1] of float RGB images in [0, 1]."""
    fmt = standardize_data_format(data_format)
    ax = _channel_axis(images, fmt, "rgb_to_hsv", True)
    eps = float(np.finfo(dtype(images)).eps)
    images = where(less(abs(images), eps), 0.0, images)
    r, g, b = _planes(images, ax)
    value = maximum(maximum(r, g), b)
    span = subtract(value, minimum(minimum(r, g), b))
    positive = greater(value, 0.0)
    saturation = where(positive, divide(span, where(positive, value, 1.0)),
                       0.0)
    norm = divide(1.0, multiply(6.0, where(greater(span, 0.0), span, 1.0)))
    hue = where(equal(value, g),
                multiply(norm, subtract(b, r)) + 2.0 / 6.0,
                multiply(norm, subtract(r, g)) + 4.0 / 6.0)
    hue = where(equal(value, r), multiply(norm, subtract(g, b)), hue)
    hue = where(greater(span, 0.0), hue, 0.0) + cast(less(hue, 0.0),
                                                       dtype(hue))
    return stack([hue, saturation, value], axis=ax)


@keras_op
def hsv_to_rgb(images, data_format=None):
    """Float RGB images from hue, saturation and value in [0, 1]."""
    fmt = standardize_data_format(data_format)
    ax = _channel_axis(images, fmt, "hsv_to_rgb", True)
    hue, saturation, value = _planes(images, ax)
    dh = multiply(mod(hue, 1.0), 6.0)
    dr = clip(subtract(abs(subtract(dh, 3.0)), 1.0), 0.0, 1.0)
    dg = clip(subtract(2.0, abs(subtract(dh, 2.0))), 0.0, 1.0)
    db = clip(subtract(2.0, abs(subtract(dh, 4.0))), 0.0, 1.0)
    rest = subtract(1.0, saturation)
    return stack([multiply(value, rest + multiply(saturation, d))
                  for d in (dr, dg, db)], axis=ax)
