"""Keras's ops.image: resize (nearest, bilinear, bicubic, ..., with
Keras's crop_to_aspect_ratio and pad_to_aspect_ratio)."""

from __future__ import annotations

import numpy as np

from ...ir.ops.conv import RESIZE_METHODS
from .core import _apply, keras_op, shape
from .nn import (
    _channels_last,
    _floats,
    _rank,
    _restore,
    _static_spatial,
    standardize_data_format,
)
from .numpy import expand_dims, pad, slice, squeeze


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
