"""Keras's ops.image: resize (nearest, bilinear, bicubic, lanczos3,
lanczos5, area, with or without antialias, Keras's crop_to_aspect_ratio
and pad_to_aspect_ratio), extract_patches (2D and 3D),
extract_patches_3d, pad_images, crop_images, rgb_to_grayscale, rgb_to_hsv,
hsv_to_rgb, affine_transform, perspective_transform, map_coordinates,
gaussian_blur, elastic_transform, sobel_edges, ssim and
scale_and_translate, with Keras 3's arguments, results and errors.

Invariants of the resampler (also the augmentation layers'):
- A transform is Keras's [a0, a1, a2, b0, b1, b2(, c0, c1)] per image:
  output pixel (row y, column x) reads the input at column (a0 x + a1 y
  + a2) / k and row (b0 x + b1 y + b2) / k, k = c0 x + c1 y + 1.
- fill_mode maps a source coordinate outside the image back inside
  first: "reflect" (d c b a | a b c d | d c b a), "mirror" (d c b | a b
  c d | c b a), "wrap" (TensorFlow's, for the layers), "periodic" (JAX's
  wrap, for the ops: the last pixel blends into the first), "nearest" (a
  a | a b c d | d d); "constant" keeps it, and every pixel read outside
  the image is `fill_value`. Bilinear weights the neighbours, nearest
  rounds.
- Resampling is batched matmuls with sampling weights computed from the
  coordinates (no gather: the IR's gather cannot index per image without
  merging the symbolic batch into another axis), so it is traced,
  compiled and exported like any other graph: H W (H + W) multiplies per
  channel for axis-aligned transforms, H^2 W^2 otherwise (small images).
- Resize methods other than plain bilinear / nearest, and antialias, are
  JAX's scale_and_translate weight matrices (computed in NumPy when
  traced) applied with matmuls.
"""

from __future__ import annotations

import builtins

import numpy as np

from ...ir.ops.conv import RESIZE_METHODS
from . import core as _core
from . import nn as _knn
from . import numpy as _knp
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


_RESIZE_METHODS = ("bilinear", "nearest", "lanczos3", "lanczos5", "bicubic",
                   "area")


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
    if method not in _RESIZE_METHODS:
        raise ValueError(
            "Invalid value for argument `interpolation`. Expected of one "
            f"{_RESIZE_METHODS}. Received: interpolation={interpolation}")
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
    if method in RESIZE_METHODS and not (antialias and method != "nearest"):
        y = _apply("resize", x, shape=(th, tw), method=method)
    else:
        # JAX's scale_and_translate weights (what Keras 3 computes on JAX;
        # the same as TensorFlow's for bicubic and lanczos with antialias)
        y = x
        kind = _SCALE_METHODS[method]
        for axis, (n_in, n_out) in ((1, (shape(x)[1], th)),
                                    (2, (shape(x)[2], tw))):
            if n_in != n_out:
                y = _apply_matrix(y, axis, _scale_matrix(
                    n_in, n_out, n_out / n_in, 0.0, kind, bool(antialias),
                    dtype(y)))
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


# --- resampling ---------------------------------------------------------------

_FILL_MODES = ("reflect", "wrap", "constant", "nearest")
_INTERPOLATIONS = ("nearest", "bilinear")


def _map_coordinate(c, size: int, fill_mode: str):
    """A float source coordinate mapped into [0, size - 1] by fill_mode
    ("constant" leaves it as is)."""
    if fill_mode in ("constant", "periodic"):
        return c
    top = float(size - 1)
    if size == 1 or fill_mode == "nearest":
        return _knp.clip(c, 0.0, top)
    if fill_mode == "wrap":
        # TensorFlow's wrap, whose shift counts periods of (size - 1) but
        # steps by size: c + size * (floor(-c / (size - 1)) + 1) below 0,
        # c - size * floor(c / (size - 1)) above size - 1
        below = _knp.add(c, _knp.multiply(
            _knp.add(_knp.floor(_knp.divide(_knp.negative(c), top)), 1.0),
            float(size)))
        above = _knp.subtract(c, _knp.multiply(
            _knp.floor(_knp.divide(c, top)), float(size)))
        c = _knp.where(_knp.less(c, 0.0), below,
                      _knp.where(_knp.greater(c, top), above, c))
        return _knp.clip(c, 0.0, top)
    if fill_mode == "mirror":
        # reflect about the outer pixel centres (d c b | a b c d | c b a):
        # period 2 * (size - 1)
        period = 2.0 * top
        c = _knp.abs(c)
        c = _knp.subtract(c, _knp.multiply(_knp.floor(_knp.divide(c, period)),
                                         period))
        c = _knp.where(_knp.greater(c, top), _knp.subtract(period, c), c)
        return _knp.clip(c, 0.0, top)
    # reflect about the outer pixel edges: period 2 * size
    period = 2.0 * size
    c = _knp.subtract(c, _knp.multiply(_knp.floor(_knp.divide(c, period)),
                                       period))
    c = _knp.where(_knp.greater_equal(c, float(size)),
                  _knp.subtract(period - 1.0, c), c)
    # (-1, 0) folds to (-1, 0) -> its mirror image inside
    c = _knp.where(_knp.less(c, 0.0), _knp.subtract(-1.0, c), c)
    return _knp.clip(c, 0.0, top)


def _weights(coord, size: int, interpolation: str, dt: str,
             fill_mode: str = "reflect", half_even: bool = False):
    """(..., size) sampling weights of a float coordinate over the pixels
    0 .. size - 1: the bilinear hat max(0, 1 - |c - j|), or one at the
    nearest pixel (rounding half away from zero, as TensorFlow, or half
    to even, as JAX, when `half_even`; always for the "periodic" mode).
    In the "periodic" mode (JAX's "wrap") the distance is taken around a
    circle of `size` pixels, so the last pixel blends into the first."""
    grid = np.arange(size, dtype=dt)
    c = _knp.expand_dims(coord, -1)
    if fill_mode == "periodic":
        if interpolation == "nearest":
            c = _knp.round(c)
        c = _knp.subtract(c, _knp.multiply(_knp.floor(_knp.divide(c, size)),
                                           float(size)))
        d = _knp.abs(_knp.subtract(c, grid))
        d = _knp.minimum(d, _knp.subtract(float(size), d))
        if interpolation == "nearest":
            return _core.cast(_knp.less(d, 0.5), dt)
        return _knn.relu(_knp.subtract(1.0, d))
    if interpolation == "nearest":
        near = _knp.round(c) if half_even else _round_half_away(c)
        return _core.cast(_knp.equal(near, grid), dt)
    return _knn.relu(_knp.subtract(1.0, _knp.abs(_knp.subtract(c, grid))))


def _round_half_away(c):
    return _knp.multiply(_knp.sign(c), _knp.floor(_knp.add(_knp.abs(c), 0.5)))


def _affine_resample(images, transform, interpolation="bilinear",
                    fill_mode="reflect", fill_value=0.0,
                    data_format="channels_last", axis_aligned=False,
                    half_even=False):
    """`images` (N, H, W, C) resampled through per-image transforms.

    Args:
        images: a rank 4 float tensor.
        transform: (N, 6) or (N, 8) Keras transforms, as a tensor or a
            NumPy array (projective terms must be zero).
        interpolation: "bilinear" or "nearest".
        fill_mode: "reflect", "wrap", "constant" or "nearest".
        fill_value: the value read outside the image in "constant" mode.
        data_format: "channels_last" or "channels_first".
        axis_aligned: the caller guarantees a1 = b0 = 0 (translations and
            zooms): rows and columns are resampled separately, H + W
            times cheaper than the general path.
    """
    if fill_mode not in _FILL_MODES + ("mirror", "periodic"):
        raise ValueError(
            f"Unknown `fill_mode` {fill_mode!r}. Expected one of "
            f"{list(_FILL_MODES)}.")
    if interpolation not in _INTERPOLATIONS:
        raise ValueError(
            f"Unknown `interpolation` {interpolation!r}. Expected one of "
            f"{list(_INTERPOLATIONS)}.")
    x = images
    if data_format == "channels_first":
        x = _knp.transpose(x, (0, 2, 3, 1))
    _, h, w, c = _core.shape(x)
    dt = _core.dtype(x)
    params = [_knp.reshape(_knp.getitem(transform, (builtins.slice(None), i)),
                          (-1, 1, 1)) for i in range(6)]
    a0, a1, a2, b0, b1, b2 = params
    gx = np.arange(w, dtype=dt).reshape(1, 1, w)
    gy = np.arange(h, dtype=dt).reshape(1, h, 1)
    if axis_aligned:
        src_x = _knp.add(_knp.multiply(a0, gx), a2)  # (N, 1, W)
        src_y = _knp.add(_knp.multiply(b1, gy), b2)  # (N, H, 1)
    else:
        src_x = _knp.add(_knp.add(_knp.multiply(a0, gx), _knp.multiply(a1, gy)),
                        a2)
        src_y = _knp.add(_knp.add(_knp.multiply(b0, gx), _knp.multiply(b1, gy)),
                        b2)
        if _core.shape(transform)[-1] == 8:
            # projective: divide by c0 x + c1 y + 1
            c0, c1 = [_knp.reshape(_knp.getitem(transform,
                                                (builtins.slice(None), i)),
                                  (-1, 1, 1)) for i in (6, 7)]
            k = _knp.add(_knp.add(_knp.multiply(c0, gx), _knp.multiply(c1, gy)),
                        1.0)
            src_x, src_y = _knp.divide(src_x, k), _knp.divide(src_y, k)
    return _resample_at(x, src_x, src_y, interpolation, fill_mode,
                        fill_value, data_format, axis_aligned, half_even)


def _resample_at(x, src_x, src_y, interpolation="bilinear",
                fill_mode="reflect", fill_value=0.0,
                data_format="channels_last", axis_aligned=False,
                half_even=False):
    """`x` (N, H, W, C), channels last, read at the source columns src_x
    and rows src_y of each output pixel ((N, H, W), or (N, 1, W) and (N,
    H, 1) when `axis_aligned`); the result in `data_format`."""
    _, h, w, c = _core.shape(x)
    dt = _core.dtype(x)
    src_x = _map_coordinate(src_x, w, fill_mode)
    src_y = _map_coordinate(src_y, h, fill_mode)
    # Sampling is separable in weights: out[n, y, x] = sum_ij x[n, i, j] *
    # wy[n, y, x, i] * wx[n, y, x, j], with wx / wy the bilinear hat (or
    # the nearest one-hot) weights of the source column / row; rows or
    # columns outside the image have no weight, and the weight they miss,
    # 1 - sum(wy) * sum(wx), reads fill_value. Batched matmuls, the batch
    # never merged with another axis.
    wx = _weights(src_x, w, interpolation, dt, fill_mode,
                  half_even)  # (N, H or 1, W, W_in)
    wy = _weights(src_y, h, interpolation, dt, fill_mode,
                  half_even)  # (N, H, W or 1, H_in)
    if axis_aligned:
        # rows then columns: H*H*W + H*W*W multiplies per channel and image
        t = _knp.matmul(_knp.reshape(wy, (-1, h, h)),
                       _knp.reshape(x, (-1, h, w * c)))  # (N, H, W_in*C)
        t = _knp.reshape(_knp.transpose(_knp.reshape(t, (-1, h, w, c)),
                                      (0, 2, 1, 3)), (-1, w, h * c))
        t = _knp.matmul(_knp.reshape(wx, (-1, w, w)), t)  # (N, W, H*C)
        out = _knp.transpose(_knp.reshape(t, (-1, w, h, c)), (0, 2, 1, 3))
    else:
        # H*W*W*H multiplies per channel and image: meant for small images
        cols = _knp.reshape(_knp.transpose(x, (0, 2, 1, 3)), (-1, w, h * c))
        rows = _knp.matmul(_knp.reshape(wx, (-1, h * w, w)), cols)
        rows = _knp.reshape(rows, (-1, h * w, h, c))  # (N, HW, H_in, C)
        out = _knp.sum(_knp.multiply(rows, _knp.reshape(wy, (-1, h * w, h, 1))),
                      axis=2)
        out = _knp.reshape(out, (-1, h, w, c))
    if fill_mode == "constant":
        missing = _knp.subtract(1.0, _knp.multiply(_knp.sum(wx, axis=-1),
                                                 _knp.sum(wy, axis=-1)))
        out = _knp.add(out, _knp.multiply(_knp.expand_dims(missing, -1),
                                        float(fill_value)))
    if data_format == "channels_first":
        out = _knp.transpose(out, (0, 3, 1, 2))
    return out


def _gaussian_1d(size: int, sigma, dt: str):
    """Keras's normalized Gaussian of `size` taps; sigma a number or a
    (1,) tensor."""
    t = np.arange(size, dtype=dt) - np.asarray((size - 1) / 2, dt)
    k = _knp.exp(_knp.multiply(-0.5, _knp.square(_knp.divide(t, sigma))))
    return _knp.divide(k, _knp.sum(k, axis=-1, keepdims=True))


def _blur(x, kernel_size, sigma_x, sigma_y, data_format):
    """x (N, ...) blurred as Keras's gaussian_blur (zero padding, 'same'
    size): kernel_size[0] taps with sigma_x along the width,
    kernel_size[1] taps with sigma_y along the height (Keras's pairing)."""
    dt = _core.dtype(x)
    kx = _gaussian_1d(int(kernel_size[0]), sigma_x, dt)
    ky = _gaussian_1d(int(kernel_size[1]), sigma_y, dt)
    if data_format == "channels_first":
        x = _knp.transpose(x, (0, 2, 3, 1))
    channels = _core.shape(x)[-1]
    kernel = _knp.multiply(_knp.reshape(ky, (-1, 1, 1, 1)),
                           _knp.reshape(kx, (1, -1, 1, 1)))
    kernel = _knp.add(kernel, np.zeros((1, 1, channels, 1), dt))
    out = _knn.depthwise_conv(x, kernel, strides=1, padding="same",
                              data_format="channels_last")
    if data_format == "channels_first":
        out = _knp.transpose(out, (0, 3, 1, 2))
    return out


def _square_to_quad(p):
    """The homography (9 tensors, row-major) taking the unit square's
    corners (0,0), (1,0), (0,1), (1,1) to the points p[0..3] (each an (x,
    y) pair of (batch, 1) tensors), in closed form (Heckbert)."""
    (x0, y0), (x1, y1), (x3, y3), (x2, y2) = p
    s, m, a = _knp.subtract, _knp.multiply, _knp.add
    dx1, dx2, dx3 = s(x1, x2), s(x3, x2), a(s(x0, x1), s(x2, x3))
    dy1, dy2, dy3 = s(y1, y2), s(y3, y2), a(s(y0, y1), s(y2, y3))
    det = s(m(dx1, dy2), m(dx2, dy1))
    g = _knp.divide(s(m(dx3, dy2), m(dx2, dy3)), det)
    h = _knp.divide(s(m(dx1, dy3), m(dx3, dy1)), det)
    one = _knp.ones_like(x0)
    return [a(s(x1, x0), m(g, x1)), a(s(x3, x0), m(h, x3)), x0,
            a(s(y1, y0), m(g, y1)), a(s(y3, y0), m(h, y3)), y0,
            g, h, one]


def _adjugate(q):
    """The adjugate of a 3x3 matrix of tensors (its inverse up to scale)."""
    a, b, c, d, e, f, g, h, i = q
    s, m = _knp.subtract, _knp.multiply
    return [s(m(e, i), m(f, h)), s(m(c, h), m(b, i)), s(m(b, f), m(c, e)),
            s(m(f, g), m(d, i)), s(m(a, i), m(c, g)), s(m(c, d), m(a, f)),
            s(m(d, h), m(e, g)), s(m(b, g), m(a, h)), s(m(a, e), m(b, d))]


def _homography(start_points, end_points):
    """(batch, 8) transforms taking each output pixel at the end points
    back to the start points (what Keras's compute_homography_matrix
    solves for), from (batch, 4, 2) points, in closed form: the map from
    the unit square to the start quad after the inverse of the one to the
    end quad."""
    def corners(points):
        every = builtins.slice(None)
        return [tuple(_knp.reshape(_knp.getitem(points, (every, k, i)),
                                   (-1, 1)) for i in (0, 1))
                for k in range(4)]
    p = _square_to_quad(corners(start_points))
    q = _adjugate(_square_to_quad(corners(end_points)))
    hm = [_knp.add(_knp.add(_knp.multiply(p[3 * r], q[k]),
                            _knp.multiply(p[3 * r + 1], q[3 + k])),
                   _knp.multiply(p[3 * r + 2], q[6 + k]))
          for r in range(3) for k in range(3)]
    return _knp.concatenate([_knp.divide(v, hm[8]) for v in hm[:8]], axis=1)


def _elastic(x, alpha, sigma, size: int, interpolation, fill_mode,
             fill_value, seed):
    """x (N, H, W, C) displaced by Gaussian noise times sigma, blurred by
    a Gaussian of `size` taps and `sigma`, times alpha (alpha, sigma:
    numbers or (1,) tensors)."""
    from .. import random as random_module

    n, h, w, _ = _core.shape(x)
    dt = _core.dtype(x)
    fields = []
    for _ in range(2):
        noise = random_module.normal((n, h, w, 1), dtype=dt, seed=seed)
        smooth = _blur(_knp.multiply(noise, sigma), (size, size), sigma,
                       sigma, "channels_last")
        fields.append(_knp.multiply(squeeze(smooth, -1), alpha))
    gx = np.arange(w, dtype=dt).reshape(1, 1, w)
    gy = np.arange(h, dtype=dt).reshape(1, h, 1)
    return _resample_at(x, _knp.add(gx, fields[0]), _knp.add(gy, fields[1]),
                        interpolation, fill_mode, fill_value)


# --- warps (Keras 3's ops.image, JAX semantics) -------------------------------

_MAP_FILL_MODES = ("constant", "nearest", "wrap", "mirror", "reflect")


def _check_warp(interpolation, fill_mode, what: str) -> str:
    """The resampler's fill mode for Keras's (JAX's "wrap" is periodic)."""
    if interpolation not in _INTERPOLATIONS:
        raise ValueError(
            "Invalid value for argument `interpolation`. Expected of one "
            f"{set(_INTERPOLATIONS)}. Received: interpolation={interpolation}")
    if fill_mode not in _MAP_FILL_MODES:
        raise ValueError(
            "Invalid value for argument `fill_mode`. Expected of one "
            f"{set(_MAP_FILL_MODES)}. Received: fill_mode={fill_mode}")
    return "periodic" if fill_mode == "wrap" else fill_mode


def _batch_last(images, fmt: str, what: str):
    """(images as a rank 4 channels_last float batch, how to undo)."""
    r = _rank(images)
    if r not in (3, 4):
        raise ValueError(
            "Invalid images rank: expected rank 3 (single image) or rank 4 "
            "(batch of images). Received input with shape: "
            f"images.shape={tuple(shape(images))}")
    x = images if r == 4 else expand_dims(images, 0)
    x = _floats(_channels_last(x, fmt))

    def undo(y):
        y = _restore(y, fmt)
        return y if r == 4 else squeeze(y, 0)
    return x, undo


def _float_array(v, dt: str):
    if isinstance(v, (list, tuple)) or np.isscalar(v):
        return np.asarray(v, dt)
    if isinstance(v, np.ndarray):
        return v.astype(dt)
    return v if dtype(v) == dt else cast(v, dt)


@keras_op
def affine_transform(images, transform, interpolation="bilinear",
                     fill_mode="constant", fill_value=0, data_format=None):
    """Images resampled through projective transforms [a0, a1, a2, b0, b1,
    b2, c0, c1] (one, or one per image): output pixel (x, y) reads the
    input at ((a0 x + a1 y + a2) / k, (b0 x + b1 y + b2) / k), k = c0 x +
    c1 y + 1. Fill modes as JAX's map_coordinates ("reflect" d c b a |
    a b c d, "mirror" d c b | a b c d, "wrap" periodic, "nearest",
    "constant" reading fill_value).

    Example:
        >>> x = np.arange(16, dtype="float32").reshape(1, 4, 4, 1)
        >>> shift = [1, 0, 1, 0, 1, 0, 0, 0]  # read one column to the right
        >>> affine_transform(x, shift)[0, 0, :, 0]
        array([1., 2., 3., 0.], dtype=float32)
    """
    mode = _check_warp(interpolation, fill_mode, "affine_transform")
    x, undo = _batch_last(images, standardize_data_format(data_format),
                          "affine_transform")
    t = _float_array(transform, dtype(x))
    if _rank(t) not in (1, 2) or shape(t)[-1] not in (6, 8):
        raise ValueError(
            "Invalid transform: expected shape (6,), (8,), (batch, 6) or "
            f"(batch, 8). Received: transform.shape={tuple(shape(t))}")
    if _rank(t) == 1:
        t = expand_dims(t, 0)
    return undo(_affine_resample(x, t, interpolation, mode, fill_value,
                                 half_even=True))


@keras_op
def perspective_transform(images, start_points, end_points,
                          interpolation="bilinear", fill_value=0,
                          data_format=None):
    """Images warped so that the four `end_points` (x, y) show what was at
    the `start_points` ((4, 2), or (batch, 4, 2)); outside pixels read
    fill_value.

    Example:
        >>> corners = np.array([[0, 0], [3, 0], [0, 3], [3, 3]], "float32")
        >>> x = np.ones((1, 4, 4, 1), "float32")
        >>> perspective_transform(x, corners, corners).shape  # identity
        (1, 4, 4, 1)
    """
    _check_warp(interpolation, "constant", "perspective_transform")
    x, undo = _batch_last(images, standardize_data_format(data_format),
                          "perspective_transform")
    dt = dtype(x)
    start, end = _float_array(start_points, dt), _float_array(end_points,
                                                             dt)
    for name, p in (("start_points", start), ("end_points", end)):
        if tuple(shape(p))[-2:] != (4, 2) or _rank(p) not in (2, 3):
            raise ValueError(
                f"Invalid {name} shape: expected (4,2) for a single image or "
                f"(N,4,2) for a batch. Received shape: {tuple(shape(p))}")
    if _rank(start) == 2:
        start = expand_dims(start, 0)
    if _rank(end) == 2:
        end = expand_dims(end, 0)
    return undo(_affine_resample(x, _homography(start, end), interpolation,
                                 "constant", fill_value, half_even=True))


@keras_op
def map_coordinates(inputs, coordinates, order, fill_mode="constant",
                    fill_value=0):
    """`inputs` read at `coordinates` (shape (inputs.ndim, *out)) with
    order 0 (nearest) or 1 (linear) interpolation, as
    scipy / JAX's map_coordinates (fill modes as affine_transform's).

    Example:
        >>> a = np.array([0.0, 10.0, 20.0], "float32")
        >>> map_coordinates(a, np.array([[0.5, 1.25]], "float32"), 1)
        array([ 5. , 12.5], dtype=float32)
    """
    if order not in (0, 1):
        raise NotImplementedError(
            "map_coordinates does not support order > 1. Received: "
            f"order={order}")
    interpolation = "nearest" if order == 0 else "bilinear"
    mode = _check_warp(interpolation, fill_mode, "map_coordinates")
    x = _floats(inputs)
    dt = dtype(x)
    dims = tuple(shape(x))
    coords = _float_array(coordinates, dt)
    cshape = tuple(shape(coords))
    if cshape[0] != len(dims) or len(cshape) < 2:
        raise ValueError(
            "First dim of `coordinates` must be the same as the rank of "
            f"`inputs`. Received inputs with shape: {dims} and coordinate "
            f"leading dim of {cshape[0]}")
    out_shape = cshape[1:]
    points = int(np.prod(out_shape))
    weights = []
    for d, size in enumerate(dims):
        c = reshape(_knp.getitem(coords, d), (points,))
        weights.append(_weights(_map_coordinate(c, size, mode), size,
                                interpolation, dt, mode, True))  # (P, size)
    # contract one axis at a time: (P, rest) after the first
    acc = _knp.matmul(weights[0], reshape(x, (dims[0], -1)))
    for d in range(1, len(dims)):
        acc = reshape(acc, (points, dims[d], -1))
        acc = sum(multiply(acc, expand_dims(weights[d], -1)), axis=1)
    out = reshape(acc, out_shape)
    if mode == "constant":
        kept = sum(weights[0], axis=-1)
        for w in weights[1:]:
            kept = multiply(kept, sum(w, axis=-1))
        out = _knp.add(out, multiply(reshape(subtract(1.0, kept), out_shape),
                                     float(fill_value)))
    return out


@keras_op
def gaussian_blur(images, kernel_size=(3, 3), sigma=(1.0, 1.0),
                  data_format=None):
    """Images blurred by a Gaussian: kernel_size (width taps, height
    taps) and sigma (along the width, along the height), zero padding,
    the same size (Keras's pairing of the tuples).

    Example:
        >>> gaussian_blur(np.ones((1, 5, 5, 3), "float32")).shape
        (1, 5, 5, 3)
    """
    ks = standardize_tuple(kernel_size, 2, "kernel_size")
    sg = tuple(float(s) for s in ((sigma, sigma) if np.isscalar(sigma)
                                  else sigma))
    x, undo = _batch_last(images, standardize_data_format(data_format),
                          "gaussian_blur")
    return undo(_blur(x, ks, sg[0], sg[1], "channels_last"))


@keras_op
def elastic_transform(images, alpha=20.0, sigma=5.0,
                      interpolation="bilinear", fill_mode="reflect",
                      fill_value=0.0, seed=None, data_format=None):
    """Images displaced by random smooth fields: unit Gaussian noise times
    sigma, blurred by a Gaussian of sigma (int(6 sigma) | 1 taps), times
    alpha. The two displacement fields are independent draws.

    Example:
        >>> x = np.ones((1, 8, 8, 1), "float32")
        >>> elastic_transform(x, alpha=2.0, sigma=1.0, seed=1).shape
        (1, 8, 8, 1)
    """
    mode = _check_warp(interpolation, fill_mode, "elastic_transform")
    x, undo = _batch_last(images, standardize_data_format(data_format),
                          "elastic_transform")
    size = int(6 * float(sigma)) | 1
    return undo(_elastic(x, float(alpha), float(sigma), size,
                         interpolation, mode, fill_value, seed))


@keras_op
def sobel_edges(images, data_format=None):
    """The Sobel derivatives of a batch of images, stacked last:
    (..., 2) = (d/dy, d/dx), zero padding.

    Example:
        >>> sobel_edges(np.ones((1, 4, 4, 3), "float32")).shape
        (1, 4, 4, 3, 2)
    """
    fmt = standardize_data_format(data_format)
    if _rank(images) != 4:
        raise ValueError(
            "sobel_edges expects a batch of images (rank 4). Received: "
            f"images.shape={tuple(shape(images))}")
    x = _floats(_channels_last(images, fmt))
    dt = dtype(x)
    channels = shape(x)[-1]
    gx = np.array([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]], dt)
    out = []
    for k in (gx.T, gx):
        kernel = np.tile(k.reshape(3, 3, 1, 1), (1, 1, channels, 1))
        e = _knn.depthwise_conv(x, kernel, strides=1, padding="same",
                                data_format="channels_last")
        out.append(_restore(e, fmt))
    return stack(out, axis=-1)


@keras_op
def ssim(image1, image2, max_val=1.0, filter_size=11, filter_sigma=1.5,
         k1=0.01, k2=0.03, data_format=None):
    """The structural similarity of two images (or batches), averaged over
    the pixels of a valid Gaussian window and the channels (Keras 3's
    formula).

    Example:
        >>> x = np.random.rand(2, 16, 16, 3).astype("float32")
        >>> np.round(ssim(x, x), 4)
        array([1., 1.], dtype=float32)
    """
    fmt = standardize_data_format(data_format)
    for name, im in (("image1", image1), ("image2", image2)):
        if _rank(im) not in (3, 4):
            raise ValueError(
                f"Invalid {name} rank: expected rank 3 (single image) or "
                f"rank 4 (batch of images). Received input with shape: "
                f"{name}.shape={tuple(shape(im))}")
    unbatched = _rank(image1) == 3
    a, b = _floats(image1), _floats(image2)
    if unbatched:
        a, b = expand_dims(a, 0), expand_dims(b, 0)
    a, b = _channels_last(a, fmt), _channels_last(b, fmt)
    dt = dtype(a)
    channels = shape(a)[-1]
    t = np.arange(filter_size, dtype=dt) - np.asarray(
        (filter_size - 1) / 2.0, dt)
    g = np.exp(-t ** 2 / np.asarray(2.0 * filter_sigma ** 2, dt))
    g = (g / g.sum()).astype(dt)
    kernel = np.tile(np.outer(g, g).reshape(filter_size, filter_size, 1, 1),
                     (1, 1, channels, 1))

    def window(v):
        return _knn.depthwise_conv(v, kernel, strides=1, padding="valid",
                                   data_format="channels_last")
    c1, c2 = (k1 * max_val) ** 2, (k2 * max_val) ** 2
    mu1, mu2 = window(a), window(b)
    mu11, mu22, mu12 = multiply(mu1, mu1), multiply(mu2, mu2), \
        multiply(mu1, mu2)
    s11 = subtract(window(multiply(a, a)), mu11)
    s22 = subtract(window(multiply(b, b)), mu22)
    s12 = subtract(window(multiply(a, b)), mu12)
    num = multiply(_knp.add(multiply(2.0, mu12), c1),
                   _knp.add(multiply(2.0, s12), c2))
    den = multiply(_knp.add(_knp.add(mu11, mu22), c1),
                   _knp.add(_knp.add(s11, s22), c2))
    value = _knp.mean(divide(num, den), axis=(1, 2, 3))
    return squeeze(value, 0) if unbatched else value


@keras_op
def extract_patches_3d(volumes, size, strides=None, dilation_rate=1,
                       padding="valid", data_format=None):
    """3D patches of volumes (batch, D, H, W, C) or one volume, as
    channels (Keras 3's order): extract_patches with a 3D size.

    Example:
        >>> extract_patches_3d(np.ones((1, 4, 4, 4, 2), "float32"), 2).shape
        (1, 2, 2, 2, 16)
    """
    if isinstance(size, (int, np.integer)):
        size = (int(size),) * 3
    elif not isinstance(size, (tuple, list)) or len(size) != 3:
        raise TypeError(
            "Invalid `size` argument. Expected an int or a tuple of length "
            f"3. Received: size={size}")
    return extract_patches(volumes, tuple(size), strides=strides,
                           dilation_rate=dilation_rate, padding=padding,
                           data_format=data_format)


# --- resampling matrices (JAX's scale_and_translate) --------------------------

_SCALE_METHODS = {"linear": "linear", "bilinear": "linear",
                  "trilinear": "linear", "cubic": "cubic",
                  "bicubic": "cubic", "tricubic": "cubic",
                  "lanczos3": "lanczos3", "lanczos5": "lanczos5",
                  "area": "area"}


def _kernel(method: str, x: np.ndarray) -> np.ndarray:
    if method == "linear":
        return np.maximum(0.0, 1.0 - np.abs(x))
    if method == "cubic":  # Keys, a = -0.5
        out = ((1.5 * x - 2.5) * x) * x + 1.0
        out = np.where(x >= 1.0, ((-0.5 * x + 2.5) * x - 4.0) * x + 2.0, out)
        return np.where(x >= 2.0, 0.0, out)
    radius = 3.0 if method == "lanczos3" else 5.0
    y = radius * np.sin(np.pi * x) * np.sin(np.pi * x / radius)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.where(x > 1e-3, y / np.where(x != 0, np.pi ** 2 * x ** 2, 1),
                       1.0)
    return np.where(x > radius, 0.0, out)


def _scale_matrix(in_size: int, out_size: int, scale: float,
                  translation: float, method: str, antialias: bool,
                  dt: str) -> np.ndarray:
    """(out, in) sampling weights: output pixel i centred at input
    coordinate (i + 0.5 - translation) / scale - 0.5, the kernel widened
    by 1 / scale when shrinking with antialias, normalized, zero for
    centres outside the input (JAX's compute_weight_mat, in float64)."""
    inv = 1.0 / scale
    sample = (np.arange(out_size) + 0.5) * inv - translation * inv - 0.5
    grid = np.arange(in_size, dtype=np.float64)
    if method == "area":
        left = np.arange(out_size) * inv - translation * inv
        w = np.maximum(0.0, np.minimum(left[None] + inv, grid[:, None] + 1)
                       - np.maximum(left[None], grid[:, None]))
    else:
        width = max(inv, 1.0) if antialias else 1.0
        w = _kernel(method, np.abs(sample[None] - grid[:, None]) / width)
    total = w.sum(axis=0, keepdims=True)
    w = np.where(np.abs(total) > 1000.0 * float(np.finfo(np.float32).eps),
                 w / np.where(total != 0, total, 1), 0.0)
    if method != "area":
        inside = (sample >= -0.5) & (sample <= in_size - 0.5)
        w = np.where(inside[None], w, 0.0)
    return w.T.astype(dt)


def _apply_matrix(x, axis: int, matrix: np.ndarray):
    """x with `axis` resampled by the (out, in) matrix."""
    r = _rank(x)
    axis = axis % r
    order = [i for i in range(r) if i != axis] + [axis]
    y = _knp.matmul(transpose(x, order), matrix.T)
    back = list(np.argsort(order))
    return transpose(y, back)


@keras_op
def scale_and_translate(images, output_shape, scale, translation,
                        spatial_dims, method, antialias=True):
    """`images` resampled to `output_shape` along `spatial_dims`: input
    coordinate u maps to u * scale + translation (pixel centres at
    half-integers), with the linear, cubic (Keys), lanczos3, lanczos5 or
    area kernel (JAX's scale_and_translate). scale and translation must
    be known when called (numbers or arrays).

    Example:
        >>> x = np.ones((1, 4, 4, 1), "float32")
        >>> scale_and_translate(x, (1, 8, 8, 1), [2.0, 2.0], [0.0, 0.0],
        ...                     (1, 2), "linear").shape
        (1, 8, 8, 1)
    """
    if method not in _SCALE_METHODS or method == "area":
        raise ValueError(
            "Invalid value for argument `method`. Expected of one "
            f"{sorted(k for k in _SCALE_METHODS if k != 'area')}. "
            f"Received: method={method}")
    try:
        scale = np.asarray(scale, np.float64).reshape(-1)
        translation = np.asarray(translation, np.float64).reshape(-1)
    except (TypeError, ValueError):
        raise ValueError(
            "scale_and_translate needs `scale` and `translation` known when "
            "it is called (numbers or arrays), not symbolic tensors.") \
            from None
    x = _floats(images)
    dims = tuple(shape(x))
    output_shape = tuple(int(s) for s in output_shape)
    if len(output_shape) != len(dims):
        raise ValueError(
            "shape must have length equal to the number of dimensions of "
            f"x;  {output_shape} vs {dims}")
    for i, d in enumerate(spatial_dims):
        m = _scale_matrix(dims[d], output_shape[d], float(scale[i]),
                          float(translation[i]), _SCALE_METHODS[method],
                          bool(antialias), dtype(x))
        x = _apply_matrix(x, d, m)
    return x
