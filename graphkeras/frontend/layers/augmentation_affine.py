"""Affine augmentation layers: RandomTranslation, RandomRotation and
RandomZoom (Keras 3 arguments, defaults, factor conventions and config
keys), over one resampler, `affine_resample`.

Invariants:
- A transform is Keras's [a0, a1, a2, b0, b1, b2] per image: output pixel
  (row y, column x) reads the input at column a0*x + a1*y + a2 and row
  b0*x + b1*y + b2 (the projective terms are zero for these layers).
- fill_mode maps a source coordinate outside the image back inside first,
  as TensorFlow's ImageProjectiveTransformV3 does: "reflect" (d c b a |
  a b c d | d c b a), "wrap" (a b c d | a b c d), "nearest" (a a | a b c
  d | d d); "constant" keeps it, and every pixel read outside the image is
  `fill_value`. Bilinear weights the four neighbours, nearest rounds.
- The resampler is two batched matmuls with sampling weights computed
  from the coordinates (no gather: the IR's gather cannot index per image
  without merging the symbolic batch into another axis), so it is traced,
  compiled and exported like any other graph. Translations and zooms
  resample rows then columns (H * W * (H + W) multiplies per channel);
  rotations need H * W * H * W: meant for small images.
- Random parameters are drawn per image, only in training, from the
  layer's SeedGenerator; at inference the layers are the identity.
"""

from __future__ import annotations

import math

import numpy as np

from .. import ops
from .. import random as random_module
from ..ops.image import _affine_resample as affine_resample
from ..ops.image import _resample_at as resample_at
from .augmentation import (
    _as_float,
    _check_rank,
    _ImageLayer,
    _labels_through,
)

FILL_MODES = ("reflect", "wrap", "constant", "nearest")
INTERPOLATIONS = ("nearest", "bilinear")


def _factor_range(layer: str, arg: str, factor) -> tuple:
    """Keras's translation / zoom / rotation factors: a pair in [-1, 1]
    (sorted), or f giving (-|f|, |f|)."""
    msg = (f"Layer {layer}: the `{arg}` argument should be a number (or a "
           f"list of two numbers) in the range [-1.0, 1.0]. Received: "
           f"{arg}={factor}")
    if isinstance(factor, (tuple, list)):
        if len(factor) != 2 or any(not -1.0 <= f <= 1.0 for f in factor):
            raise ValueError(msg)
        lo, hi = sorted(float(f) for f in factor)
        return lo, hi
    if isinstance(factor, (int, float)) and not isinstance(factor, bool):
        if not -1.0 <= factor <= 1.0:
            raise ValueError(msg)
        return -abs(float(factor)), abs(float(factor))
    raise ValueError(msg)


class _AffineLayer(_ImageLayer):
    """Shared parts: fill / interpolation arguments and the resampling of
    a (N, 6) transform the subclass draws."""

    _axis_aligned = False  # whether the transforms keep a1 = b0 = 0

    def __init__(self, fill_mode="reflect", interpolation="bilinear",
                 seed=None, fill_value=0.0, data_format=None, **kwargs):
        super().__init__(seed=seed, data_format=data_format, **kwargs)
        if fill_mode not in FILL_MODES:
            raise NotImplementedError(
                f"Layer {type(self).__name__}: unknown `fill_mode` "
                f"{fill_mode!r}. Expected one of {list(FILL_MODES)}.")
        if interpolation not in INTERPOLATIONS:
            raise NotImplementedError(
                f"Layer {type(self).__name__}: unknown `interpolation` "
                f"{interpolation!r}. Expected one of {list(INTERPOLATIONS)}.")
        self.fill_mode = fill_mode
        self.interpolation = interpolation
        self.fill_value = fill_value

    def _draw(self, x, lo: float, hi: float):
        """(N, 1) uniform numbers in [lo, hi), one per image."""
        return random_module.uniform((ops.shape(x)[0], 1), lo, hi,
                                     dtype=self._tensor_dtype,
                                     seed=self.seed_generator)

    def _size(self, x) -> tuple:
        h_axis, w_axis = self._axes(4)
        shape = ops.shape(x)
        return shape[h_axis], shape[w_axis]

    def call(self, inputs, training=True):
        if isinstance(inputs, dict):
            return _labels_through(self, inputs, training)
        x = _as_float(inputs, self._tensor_dtype)
        rank = _check_rank(self, x)
        if not training:
            return x
        if rank == 3:
            x = ops.expand_dims(x, 0)
        transform = self._transform(x)
        out = affine_resample(x, transform, self.interpolation,
                              self.fill_mode, self.fill_value,
                              self.data_format, self._axis_aligned)
        return ops.squeeze(out, 0) if rank == 3 else out

    def get_config(self):
        return {**super().get_config(), "fill_mode": self.fill_mode,
                "interpolation": self.interpolation, "seed": self.seed,
                "fill_value": self.fill_value, "data_format": self.data_format}


def _stack(columns):
    return ops.concatenate(columns, axis=1)


class RandomTranslation(_AffineLayer):
    """During training, shifts each image by a random fraction of its
    height and width (fill_mode decides what enters at the edges). The
    identity at inference.

    Args:
        height_factor: a fraction f (shifts in [-f, f] of the height) or a
            pair (lower, upper), in [-1, 1]; positive moves the image down.
        width_factor: likewise for the width; positive moves it right.
        fill_mode: "reflect" (default), "wrap", "constant" or "nearest".
        interpolation: "bilinear" (default) or "nearest".
        seed: an int for reproducible draws.
        fill_value: the value entering in "constant" mode (0.0).
        data_format: "channels_last" (default) or "channels_first".
    """

    _axis_aligned = True

    def __init__(self, height_factor, width_factor, fill_mode="reflect",
                 interpolation="bilinear", seed=None, fill_value=0.0,
                 data_format=None, **kwargs):
        super().__init__(fill_mode=fill_mode, interpolation=interpolation,
                         seed=seed, fill_value=fill_value,
                         data_format=data_format, **kwargs)
        self.height_factor = height_factor
        self.width_factor = width_factor
        self._height_range = _factor_range("RandomTranslation",
                                           "height_factor", height_factor)
        self._width_range = _factor_range("RandomTranslation",
                                          "width_factor", width_factor)

    def _transform(self, x):
        h, w = self._size(x)
        dy = ops.multiply(self._draw(x, *self._height_range), float(h))
        dx = ops.multiply(self._draw(x, *self._width_range), float(w))
        one, zero = ops.ones_like(dx), ops.zeros_like(dx)
        return _stack([one, zero, ops.negative(dx), zero, one,
                       ops.negative(dy)])

    def get_config(self):
        return {**super().get_config(), "height_factor": self.height_factor,
                "width_factor": self.width_factor}


class RandomRotation(_AffineLayer):
    """During training, rotates each image about its center by a random
    angle of `factor` full turns. The identity at inference.

    Args:
        factor: a fraction f of 2 pi (angles in [-f, f] turns) or a pair
            (lower, upper), in [-1, 1]; positive turns counter-clockwise.
        fill_mode, interpolation, seed, fill_value, data_format: as
            RandomTranslation's.
    """

    def __init__(self, factor, fill_mode="reflect", interpolation="bilinear",
                 seed=None, fill_value=0.0, data_format=None, **kwargs):
        super().__init__(fill_mode=fill_mode, interpolation=interpolation,
                         seed=seed, fill_value=fill_value,
                         data_format=data_format, **kwargs)
        self.factor = _factor_range("RandomRotation", "factor", factor)

    def _transform(self, x):
        h, w = self._size(x)
        lo, hi = self.factor
        angle = self._draw(x, lo * 2 * math.pi, hi * 2 * math.pi)
        cos, sin = ops.cos(angle), ops.sin(angle)
        cx, cy = 0.5 * (w - 1), 0.5 * (h - 1)
        a2 = ops.subtract(ops.subtract(cx, ops.multiply(cos, cx)),
                          ops.multiply(ops.negative(sin), cy))
        b2 = ops.subtract(ops.subtract(cy, ops.multiply(sin, cx)),
                          ops.multiply(cos, cy))
        return _stack([cos, ops.negative(sin), a2, sin, cos, b2])

    def get_config(self):
        return {**super().get_config(), "factor": list(self.factor)}


class RandomZoom(_AffineLayer):
    """During training, zooms each image about its center by a random
    amount. The identity at inference.

    Args:
        height_factor: a fraction f (zoom in [-f, f]) or a pair (lower,
            upper), in [-1, 1]; positive zooms out (the image shrinks),
            negative zooms in, as Keras 3.
        width_factor: likewise for the width; None (default) zooms both
            axes by the same amount, keeping the aspect ratio.
        fill_mode, interpolation, seed, fill_value, data_format: as
            RandomTranslation's.
    """

    _axis_aligned = True

    def __init__(self, height_factor, width_factor=None, fill_mode="reflect",
                 interpolation="bilinear", seed=None, fill_value=0.0,
                 data_format=None, **kwargs):
        super().__init__(fill_mode=fill_mode, interpolation=interpolation,
                         seed=seed, fill_value=fill_value,
                         data_format=data_format, **kwargs)
        self.height_factor = height_factor
        self.width_factor = width_factor
        self._height_range = _factor_range("RandomZoom", "height_factor",
                                           height_factor)
        self._width_range = (None if width_factor is None else _factor_range(
            "RandomZoom", "width_factor", width_factor))

    def _transform(self, x):
        h, w = self._size(x)
        lo, hi = self._height_range
        zy = self._draw(x, 1.0 + lo, 1.0 + hi)
        if self._width_range is None:
            zx = zy
        else:
            lo, hi = self._width_range
            zx = self._draw(x, 1.0 + lo, 1.0 + hi)
        zero = ops.zeros_like(zx)
        ox = ops.multiply(ops.subtract(1.0, zx), (w - 1) / 2.0)
        oy = ops.multiply(ops.subtract(1.0, zy), (h - 1) / 2.0)
        return _stack([zx, zero, ox, zero, zy, oy])

    def get_config(self):
        return {**super().get_config(), "height_factor": self.height_factor,
                "width_factor": self.width_factor}


__all__ = ["RandomRotation", "RandomTranslation", "RandomZoom",
           "affine_resample"]
