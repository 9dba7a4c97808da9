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
from .augmentation import _as_float, _check_rank, _ImageLayer

FILL_MODES = ("reflect", "wrap", "constant", "nearest")
INTERPOLATIONS = ("nearest", "bilinear")


def _map_coordinate(c, size: int, fill_mode: str):
    """A float source coordinate mapped into [0, size - 1] by fill_mode
    ("constant" leaves it as is)."""
    if fill_mode == "constant":
        return c
    top = float(size - 1)
    if size == 1 or fill_mode == "nearest":
        return ops.clip(c, 0.0, top)
    if fill_mode == "wrap":
        # TensorFlow's wrap, whose shift counts periods of (size - 1) but
        # steps by size: c + size * (floor(-c / (size - 1)) + 1) below 0,
        # c - size * floor(c / (size - 1)) above size - 1
        below = ops.add(c, ops.multiply(
            ops.add(ops.floor(ops.divide(ops.negative(c), top)), 1.0),
            float(size)))
        above = ops.subtract(c, ops.multiply(
            ops.floor(ops.divide(c, top)), float(size)))
        c = ops.where(ops.less(c, 0.0), below,
                      ops.where(ops.greater(c, top), above, c))
        return ops.clip(c, 0.0, top)
    if fill_mode == "mirror":
        # reflect about the outer pixel centres (d c b | a b c d | c b a):
        # period 2 * (size - 1)
        period = 2.0 * top
        c = ops.abs(c)
        c = ops.subtract(c, ops.multiply(ops.floor(ops.divide(c, period)),
                                         period))
        c = ops.where(ops.greater(c, top), ops.subtract(period, c), c)
        return ops.clip(c, 0.0, top)
    # reflect about the outer pixel edges: period 2 * size
    period = 2.0 * size
    c = ops.subtract(c, ops.multiply(ops.floor(ops.divide(c, period)), period))
    c = ops.where(ops.greater_equal(c, float(size)),
                  ops.subtract(period - 1.0, c), c)
    # (-1, 0) folds to (-1, 0) -> its mirror image inside
    c = ops.where(ops.less(c, 0.0), ops.subtract(-1.0, c), c)
    return ops.clip(c, 0.0, top)


def _weights(coord, size: int, interpolation: str, dt: str):
    """(..., size) sampling weights of a float coordinate over the pixels
    0 .. size - 1: the bilinear hat max(0, 1 - |c - j|), or one at the
    nearest pixel (rounding half away from zero, as TensorFlow)."""
    grid = np.arange(size, dtype=dt)
    c = ops.expand_dims(coord, -1)
    if interpolation == "nearest":
        return ops.cast(ops.equal(_round_half_away(c), grid), dt)
    return ops.relu(ops.subtract(1.0, ops.abs(ops.subtract(c, grid))))


def _round_half_away(c):
    return ops.multiply(ops.sign(c), ops.floor(ops.add(ops.abs(c), 0.5)))


def affine_resample(images, transform, interpolation="bilinear",
                    fill_mode="reflect", fill_value=0.0,
                    data_format="channels_last", axis_aligned=False):
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
    if fill_mode not in FILL_MODES:
        raise ValueError(
            f"Unknown `fill_mode` {fill_mode!r}. Expected one of "
            f"{list(FILL_MODES)}.")
    if interpolation not in INTERPOLATIONS:
        raise ValueError(
            f"Unknown `interpolation` {interpolation!r}. Expected one of "
            f"{list(INTERPOLATIONS)}.")
    x = images
    if data_format == "channels_first":
        x = ops.transpose(x, (0, 2, 3, 1))
    _, h, w, c = ops.shape(x)
    dt = ops.dtype(x)
    params = [ops.reshape(ops.getitem(transform, (slice(None), i)),
                          (-1, 1, 1)) for i in range(6)]
    a0, a1, a2, b0, b1, b2 = params
    gx = np.arange(w, dtype=dt).reshape(1, 1, w)
    gy = np.arange(h, dtype=dt).reshape(1, h, 1)
    if axis_aligned:
        src_x = ops.add(ops.multiply(a0, gx), a2)  # (N, 1, W)
        src_y = ops.add(ops.multiply(b1, gy), b2)  # (N, H, 1)
    else:
        src_x = ops.add(ops.add(ops.multiply(a0, gx), ops.multiply(a1, gy)),
                        a2)
        src_y = ops.add(ops.add(ops.multiply(b0, gx), ops.multiply(b1, gy)),
                        b2)
        if ops.shape(transform)[-1] == 8:
            # projective: divide by c0 x + c1 y + 1
            c0, c1 = [ops.reshape(ops.getitem(transform, (slice(None), i)),
                                  (-1, 1, 1)) for i in (6, 7)]
            k = ops.add(ops.add(ops.multiply(c0, gx), ops.multiply(c1, gy)),
                        1.0)
            src_x, src_y = ops.divide(src_x, k), ops.divide(src_y, k)
    return resample_at(x, src_x, src_y, interpolation, fill_mode,
                       fill_value, data_format, axis_aligned)


def resample_at(x, src_x, src_y, interpolation="bilinear",
                fill_mode="reflect", fill_value=0.0,
                data_format="channels_last", axis_aligned=False):
    """`x` (N, H, W, C), channels last, read at the source columns src_x
    and rows src_y of each output pixel ((N, H, W), or (N, 1, W) and (N,
    H, 1) when `axis_aligned`); the result in `data_format`."""
    _, h, w, c = ops.shape(x)
    dt = ops.dtype(x)
    src_x = _map_coordinate(src_x, w, fill_mode)
    src_y = _map_coordinate(src_y, h, fill_mode)
    # Sampling is separable in weights: out[n, y, x] = sum_ij x[n, i, j] *
    # wy[n, y, x, i] * wx[n, y, x, j], with wx / wy the bilinear hat (or
    # the nearest one-hot) weights of the source column / row; rows or
    # columns outside the image have no weight, and the weight they miss,
    # 1 - sum(wy) * sum(wx), reads fill_value. Batched matmuls, the batch
    # never merged with another axis.
    wx = _weights(src_x, w, interpolation, dt)  # (N, H or 1, W, W_in)
    wy = _weights(src_y, h, interpolation, dt)  # (N, H, W or 1, H_in)
    if axis_aligned:
        # rows then columns: H*H*W + H*W*W multiplies per channel and image
        t = ops.matmul(ops.reshape(wy, (-1, h, h)),
                       ops.reshape(x, (-1, h, w * c)))  # (N, H, W_in*C)
        t = ops.reshape(ops.transpose(ops.reshape(t, (-1, h, w, c)),
                                      (0, 2, 1, 3)), (-1, w, h * c))
        t = ops.matmul(ops.reshape(wx, (-1, w, w)), t)  # (N, W, H*C)
        out = ops.transpose(ops.reshape(t, (-1, w, h, c)), (0, 2, 1, 3))
    else:
        # H*W*W*H multiplies per channel and image: meant for small images
        cols = ops.reshape(ops.transpose(x, (0, 2, 1, 3)), (-1, w, h * c))
        rows = ops.matmul(ops.reshape(wx, (-1, h * w, w)), cols)
        rows = ops.reshape(rows, (-1, h * w, h, c))  # (N, HW, H_in, C)
        out = ops.sum(ops.multiply(rows, ops.reshape(wy, (-1, h * w, h, 1))),
                      axis=2)
        out = ops.reshape(out, (-1, h, w, c))
    if fill_mode == "constant":
        missing = ops.subtract(1.0, ops.multiply(ops.sum(wx, axis=-1),
                                                 ops.sum(wy, axis=-1)))
        out = ops.add(out, ops.multiply(ops.expand_dims(missing, -1),
                                        float(fill_value)))
    if data_format == "channels_first":
        out = ops.transpose(out, (0, 3, 1, 2))
    return out


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
                                     dtype=self.compute_dtype,
                                     seed=self.seed_generator)

    def _size(self, x) -> tuple:
        h_axis, w_axis = self._axes(4)
        shape = ops.shape(x)
        return shape[h_axis], shape[w_axis]

    def call(self, inputs, training=False):
        x = _as_float(inputs, self.compute_dtype)
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
