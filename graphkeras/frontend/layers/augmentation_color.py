"""Keras 3's colour and intensity layers: AutoContrast, Equalization,
Solarization, RandomGrayscale, RandomHue, RandomSaturation,
RandomColorDegeneration, RandomColorJitter, RandomInvert,
RandomPosterization, RandomSharpness, ContrastLimitedAdaptiveHistogram-
Equalization and MaxNumBoundingBoxes (Keras 3 arguments, defaults, config
keys and formulas, quirks included: they are what a Keras file means).

Invariants:
- `training` follows Keras 3's image layers: None (a direct call outside
  a model) means training, so `layers.RandomInvert()(images)` inverts as
  in Keras; inside a model, fit passes True and predict False.
- Random layers are the identity at inference (after a cast to the
  compute dtype). AutoContrast and ContrastLimitedAdaptiveHistogram-
  Equalization act at inference too; Equalization acts only in training
  (Keras 3.15's code, whatever its docstring says); MaxNumBoundingBoxes
  passes images through.
- Draws are per image, from the layer's SeedGenerator, in the traced
  step, so a compiled train step augments each batch afresh.
- Images are rank 4 or rank 3 (one image, run as a batch of one).
"""

from __future__ import annotations

import numpy as np

from .. import ops
from .. import random as random_module
from ..ops.core import _apply
from .augmentation import (
    RandomBrightness,
    RandomContrast,
    _as_float,
    _check_rank,
    _factor_pair,
    _ImageLayer,
)
from .augmentation import _value_range as _value_range_list

_EPSILON = 1e-7  # keras.config.epsilon(), which RandomSaturation adds


def _rescale(x, source, target):
    """Keras's _transform_value_range: x from `source` to `target`."""
    if source[0] == target[0] and source[1] == target[1]:
        return x
    x = ops.divide(ops.subtract(x, float(source[0])),
                   float(source[1]) - float(source[0]))
    return ops.add(ops.multiply(x, float(target[1]) - float(target[0])),
                   float(target[0]))


class KerasImageLayer(_ImageLayer):
    """The shared frame of Keras 3's BaseImagePreprocessingLayer: casts,
    checks the rank, runs `_augment` on a rank 4 batch in training (or
    always, when `_ACTS_AT_INFERENCE`), else passes the images through."""

    _ACTS_AT_INFERENCE = False

    def __init__(self, seed=None, data_format=None, bounding_box_format=None,
                 **kwargs):
        super().__init__(seed=seed, data_format=data_format, **kwargs)
        self.bounding_box_format = bounding_box_format

    def call(self, inputs, training=None):
        if isinstance(inputs, dict):
            return self._call_dict(inputs, training)
        x = _as_float(inputs, self._tensor_dtype)
        rank = _check_rank(self, x)
        if training is None:
            training = True  # Keras 3: call(data, training=True)
        if not (training or self._ACTS_AT_INFERENCE):
            return x
        batch = x if rank == 4 else ops.expand_dims(x, 0)
        out = self._augment(batch, bool(training))
        return out if rank == 4 else ops.squeeze(out, 0)

    def _call_dict(self, data, training):
        """Keras's dict form {"images": ..., "labels": ...}: the images
        augmented, the labels as the layer changes them (mixed by MixUp
        and CutMix, else passed through)."""
        unknown = sorted(set(data) - {"images", "labels"})
        if "images" not in data or unknown:
            raise NotImplementedError(
                f'Layer "{self.name}" ({type(self).__name__}) takes images, '
                'or a dict with the keys "images" and (optionally) '
                '"labels"; bounding boxes and segmentation masks are not '
                f"supported. Received a dict with keys {sorted(data)}")
        if "labels" not in data:
            return {"images": self.call(data["images"], training)}
        x = _as_float(data["images"], self._tensor_dtype)
        labels = data["labels"]
        if training is None:
            training = True
        if not (training or self._ACTS_AT_INFERENCE):
            return {"images": x, "labels": labels}
        if _check_rank(self, x) == 3:
            out = self.call(x, training)
            return {"images": out, "labels": labels}
        images, labels = self._augment_with_labels(x, labels, bool(training))
        return {"images": images, "labels": labels}

    def _augment_with_labels(self, x, labels, training: bool):
        return self._augment(x, training), labels

    def _augment(self, x, training: bool):
        raise NotImplementedError

    def _uniform(self, x, lo, hi, tail=()):
        """Uniform draws of shape (batch, *tail) in [lo, hi)."""
        return random_module.uniform((ops.shape(x)[0],) + tuple(tail),
                                     float(lo), float(hi),
                                     dtype=self._tensor_dtype,
                                     seed=self.seed_generator)

    def _per_image(self, v):
        """(batch,) -> (batch, 1, 1, 1)."""
        return ops.reshape(v, (-1, 1, 1, 1))

    def _channel_axis(self) -> int:
        return 3 if self.data_format == "channels_last" else 1

    def get_config(self):
        config = {**super().get_config(), "data_format": self.data_format}
        if self.bounding_box_format is not None:
            config["bounding_box_format"] = self.bounding_box_format
        return config


class AutoContrast(KerasImageLayer):
    """Stretches each image's values over `value_range` (per channel: the
    minimum maps to the low end, the maximum to the high end). Acts at
    inference too. A constant channel is left as it is.

    Args:
        value_range: the images' value range, (0, 255) by default.

    Example:
        >>> x = np.array([[[[10.0], [20.0]]]], "float32")
        >>> AutoContrast()(x)[0, 0, :, 0]
        array([  0., 255.], dtype=float32)
    """

    _ACTS_AT_INFERENCE = True

    def __init__(self, value_range=(0, 255), **kwargs):
        super().__init__(**kwargs)
        self.value_range = _value_range_list("AutoContrast", value_range)

    def _augment(self, x, training):
        y = _rescale(x, self.value_range, (0, 255))
        # NOTE: axes (1, 2) whatever the data format, as Keras 3 reduces
        low = ops.min(y, axis=(1, 2), keepdims=True)
        high = ops.max(y, axis=(1, 2), keepdims=True)
        flat = ops.equal(high, low)
        # Keras divides by zero there and puts the input back where the
        # result is NaN; the same without computing a NaN
        scale = ops.divide(255.0, ops.where(flat, 1.0, ops.subtract(high,
                                                                    low)))
        out = ops.add(ops.multiply(y, scale),
                      ops.multiply(ops.negative(low), scale))
        out = _rescale(ops.clip(out, 0.0, 255.0), (0, 255), self.value_range)
        return ops.where(flat, x, out)

    def get_config(self):
        return {**super().get_config(), "value_range": self.value_range}


class Equalization(KerasImageLayer):
    """Histogram equalization of each channel, in training. As in Keras
    3.15, the histogram of a channel pools every image of the batch, and
    predict (training=False) passes images through.

    Args:
        value_range: the images' value range, (0, 255) by default.
        bins: the number of histogram bins (256).
        data_format: "channels_last" (default) or "channels_first".

    Example:
        >>> images = np.random.uniform(0, 255, (2, 8, 8, 3))
        >>> Equalization()(images, training=True).shape
        (2, 8, 8, 3)
    """

    def __init__(self, value_range=(0, 255), bins=256, data_format=None,
                 **kwargs):
        super().__init__(data_format=data_format, **kwargs)
        self.bins = int(bins)
        self.value_range = _value_range_list("Equalization", value_range)

    def _augment(self, x, training):
        ax = self._channel_axis()
        channels = ops.shape(x)[ax]
        bins = self.bins
        y = _rescale(x, self.value_range, (0, 255))
        dt = ops.dtype(y)
        # the histogram's bin of each value: trunc(v * (bins - 1) / 255)
        hist_bin = ops.clip(ops.cast(ops.divide(
            ops.multiply(y, float(bins - 1)), 255.0), "int32"), 0, bins - 1)
        # one histogram per channel over the whole batch: scatter-add into
        # channels * bins counters
        offset = np.arange(channels, dtype="int32") * bins
        offset = offset.reshape((1, 1, 1, -1) if ax == 3 else (1, -1, 1, 1))
        per_image = int(np.prod(ops.shape(y)[1:]))
        # NOTE: (batch, pixels) indices: the batch stays an axis of its own
        slots = ops.reshape(ops.add(hist_bin, offset), (-1, per_image))
        hist = _apply("scatter_add", np.zeros(channels * bins, dt), slots,
                      ops.ones_like(ops.cast(slots, dt)), axis=0)
        hist = ops.reshape(hist, (channels, bins))
        cdf = ops.cumsum(hist, axis=-1)
        total = ops.getitem(cdf, (slice(None), slice(bins - 1, bins)))
        cdf_min = ops.min(ops.where(ops.greater(cdf, 0.0), cdf, total),
                          axis=-1, keepdims=True)
        denominator = ops.subtract(total, cdf_min)
        denominator = ops.where(ops.equal(denominator, 0.0), 1.0,
                                denominator)
        lut = ops.divide(ops.multiply(ops.subtract(cdf, cdf_min), 255.0),
                         denominator)
        lut = ops.clip(ops.round(lut), 0.0, 255.0)  # (channels, bins)
        # the lookup's bin: trunc(v / 255 * (bins - 1)), in Keras's order
        idx = ops.cast(ops.clip(ops.multiply(ops.divide(y, 255.0),
                                             float(bins - 1)),
                                0.0, float(bins - 1)), "int32")
        idx = ops.reshape(ops.add(idx, offset), (-1, per_image))
        out = ops.reshape(ops.take(ops.reshape(lut, (-1,)), idx),
                          (-1,) + tuple(ops.shape(y)[1:]))
        # a channel with at most one occupied bin stays as it is
        occupied = ops.sum(ops.cast(ops.greater(hist, 0.0), dt), axis=-1)
        keep = ops.less_equal(occupied, 1.0)
        keep = ops.reshape(keep, (1, 1, 1, -1) if ax == 3 else (1, -1, 1, 1))
        out = ops.where(keep, y, out)
        return _rescale(out, (0, 255), self.value_range)

    def get_config(self):
        return {**super().get_config(), "bins": self.bins,
                "value_range": self.value_range}


def _zero_one_pair(layer: str, factor, name: str) -> tuple:
    """Solarization's factors: a number f in [0, 1] gives (0, f)."""
    msg = (f"Layer {layer}: the `addition_factor` and `threshold_factor` "
           "arguments should be a number (or a list of two numbers) in the "
           f"range [0, 1]. Received: {name}={factor}")
    if isinstance(factor, (tuple, list)):
        if len(factor) != 2 or any(not 0 <= f <= 1 for f in factor):
            raise ValueError(msg)
        return tuple(sorted(factor))
    if isinstance(factor, (int, float)) and not isinstance(factor, bool):
        if not 0 <= factor <= 1:
            raise ValueError(msg)
        return (0, factor)
    raise ValueError(msg)


class Solarization(KerasImageLayer):
    """In training, adds a random amount to each image, then inverts the
    values at or above a random threshold (`255 - v` on the 0..255 scale).
    With the default factors every value is inverted. The identity at
    inference.

    Args:
        addition_factor: f in [0, 1] (additions drawn in [0, 255 f)) or a
            pair (lo, hi) (additions in [lo, 255 hi), as Keras 3 draws).
        threshold_factor: likewise for the threshold.
        value_range: the images' value range, (0, 255) by default.
        seed: an int for reproducible draws.

    Example:
        >>> images = np.random.uniform(0, 255, (2, 8, 8, 3))
        >>> Solarization()(images, training=True).shape
        (2, 8, 8, 3)
    """

    def __init__(self, addition_factor=0.0, threshold_factor=0.0,
                 value_range=(0, 255), seed=None, **kwargs):
        super().__init__(seed=seed, **kwargs)
        self.addition_factor = _zero_one_pair("Solarization", addition_factor,
                                              "addition_factor")
        self.threshold_factor = _zero_one_pair(
            "Solarization", threshold_factor, "threshold_factor")
        self.value_range = _value_range_list("Solarization", value_range)

    def _augment(self, x, training):
        lo, hi = self.addition_factor
        additions = self._uniform(x, lo, hi * 255, (1, 1, 1))
        lo, hi = self.threshold_factor
        thresholds = self._uniform(x, lo, hi * 255, (1, 1, 1))
        y = _rescale(x, self.value_range, (0, 255))
        y = ops.clip(ops.add(y, additions), 0.0, 255.0)
        y = ops.where(ops.less(y, thresholds), y, ops.subtract(255.0, y))
        return _rescale(y, (0, 255), self.value_range)

    def get_config(self):
        return {**super().get_config(), "value_range": self.value_range,
                "addition_factor": self.addition_factor,
                "threshold_factor": self.threshold_factor, "seed": self.seed}


class RandomGrayscale(KerasImageLayer):
    """In training, turns each image to grayscale (the luma, repeated over
    the channels) with probability `factor`. The identity at inference.

    Args:
        factor: the probability, in [0, 1] (0.5).
        data_format: "channels_last" (default) or "channels_first".
        seed: an int for reproducible draws.

    Example:
        >>> images = np.random.uniform(0, 255, (2, 8, 8, 3))
        >>> RandomGrayscale()(images, training=True).shape
        (2, 8, 8, 3)
    """

    def __init__(self, factor=0.5, data_format=None, seed=None, **kwargs):
        super().__init__(seed=seed, data_format=data_format, **kwargs)
        if factor < 0 or factor > 1:
            raise ValueError("`factor` should be between 0 and 1. Received: "
                             f"factor={factor}")
        self.factor = factor

    def _augment(self, x, training):
        apply = ops.less(self._uniform(x, 0.0, 1.0, (1, 1, 1)),
                         float(self.factor))
        gray = ops.image.rgb_to_grayscale(x, data_format=self.data_format)
        return ops.where(apply, ops.add(gray, ops.zeros_like(x)), x)

    def get_config(self):
        return {**super().get_config(), "factor": self.factor}


def _hsv_planes(hsv, ax: int):
    return [ops.squeeze(p, ax) for p in ops.split(hsv, 3, axis=ax)]


class RandomHue(KerasImageLayer):
    """In training, turns each image's hue by a random fraction of a half
    turn, in either direction. The identity at inference.

    Args:
        factor: f in [0, 1] (turns of up to f / 2) or a pair (lo, hi).
        value_range: the images' value range, (0, 255) by default.
        data_format: "channels_last" (default) or "channels_first".
        seed: an int for reproducible draws.

    Example:
        >>> images = np.random.uniform(0, 255, (2, 8, 8, 3))
        >>> RandomHue(0.2)(images, training=True).shape
        (2, 8, 8, 3)
    """

    def __init__(self, factor, value_range=(0, 255), data_format=None,
                 seed=None, **kwargs):
        super().__init__(seed=seed, data_format=data_format, **kwargs)
        self.factor = _factor_pair("RandomHue", factor, (0, 1))
        self.value_range = value_range

    def _shift(self, x):
        """The hue shift per image, (batch,)."""
        invert = ops.where(ops.greater(self._uniform(x, 0.0, 1.0), 0.5),
                           -1.0, 1.0)
        factor = self._uniform(x, *self.factor)
        return ops.multiply(ops.multiply(invert, factor), 0.5)

    def _augment(self, x, training):
        return self._turn(x, self._shift(x))

    def _turn(self, x, shift):
        ax = self._channel_axis()
        y = _rescale(x, self.value_range, (0, 1))
        hue, sat, val = _hsv_planes(
            ops.image.rgb_to_hsv(y, data_format=self.data_format), ax)
        hue = ops.add(hue, ops.reshape(shift, (-1, 1, 1)))
        hue = ops.where(ops.greater(hue, 1.0), ops.subtract(hue, 1.0), hue)
        hue = ops.where(ops.less(hue, 0.0), ops.add(hue, 1.0), hue)
        y = ops.image.hsv_to_rgb(ops.stack([hue, sat, val], axis=ax),
                                 data_format=self.data_format)
        return _rescale(ops.clip(y, 0.0, 1.0), (0, 1), self.value_range)

    def get_config(self):
        return {**super().get_config(), "factor": self.factor,
                "value_range": self.value_range, "seed": self.seed}


class RandomSaturation(KerasImageLayer):
    """In training, scales each image's saturation by f / (1 - f) for a
    random f in the factor range (0.5 keeps it, 0 greys the image, 1
    saturates it fully). The identity at inference.

    Args:
        factor: a number f (range [-f, f], Keras's convention) or a pair,
            in [-1, 1].
        value_range: the images' value range, (0, 255) by default.
        data_format: "channels_last" (default) or "channels_first".
        seed: an int for reproducible draws.

    Example:
        >>> images = np.random.uniform(0, 255, (2, 8, 8, 3))
        >>> RandomSaturation(0.5)(images, training=True).shape
        (2, 8, 8, 3)
    """

    def __init__(self, factor, value_range=(0, 255), data_format=None,
                 seed=None, **kwargs):
        super().__init__(seed=seed, data_format=data_format, **kwargs)
        self.factor = _factor_pair("RandomSaturation", factor, (-1, 1))
        self.value_range = _value_range_list("RandomSaturation", value_range)

    def _augment(self, x, training):
        f = self._uniform(x, *self.factor)
        f = ops.divide(f, ops.add(ops.subtract(1.0, f), _EPSILON))
        ax = self._channel_axis()
        # NOTE: Keras converts the images as they are (not rescaled to
        # [0, 1]) and clips the saturation to value_range
        hue, sat, val = _hsv_planes(
            ops.image.rgb_to_hsv(x, data_format=self.data_format), ax)
        sat = ops.clip(ops.multiply(sat, ops.reshape(f, (-1, 1, 1))),
                       float(self.value_range[0]),
                       float(self.value_range[1]))
        return ops.image.hsv_to_rgb(ops.stack([hue, sat, val], axis=ax),
                                    data_format=self.data_format)

    def get_config(self):
        return {**super().get_config(), "factor": self.factor,
                "value_range": self.value_range, "seed": self.seed}


class RandomColorDegeneration(KerasImageLayer):
    """In training, blends each image toward its grayscale version by a
    random factor (x + f (gray - x)), clipped to value_range. The
    identity at inference.

    Args:
        factor: a number f (range [-f, f]) or a pair, in [-1, 1].
        value_range: the images' value range, (0, 255) by default.
        data_format: "channels_last" (default) or "channels_first".
        seed: an int for reproducible draws.

    Example:
        >>> images = np.random.uniform(0, 255, (2, 8, 8, 3))
        >>> RandomColorDegeneration(0.5)(images, training=True).shape
        (2, 8, 8, 3)
    """

    def __init__(self, factor, value_range=(0, 255), data_format=None,
                 seed=None, **kwargs):
        super().__init__(seed=seed, data_format=data_format, **kwargs)
        self.factor = _factor_pair("RandomColorDegeneration", factor,
                                   (-1, 1))
        self.value_range = _value_range_list("RandomColorDegeneration",
                                             value_range)

    def _augment(self, x, training):
        f = self._uniform(x, *self.factor, (1, 1, 1))
        gray = ops.image.rgb_to_grayscale(x, data_format=self.data_format)
        y = ops.add(x, ops.multiply(f, ops.subtract(gray, x)))
        return ops.clip(y, float(self.value_range[0]),
                        float(self.value_range[1]))

    def get_config(self):
        return {**super().get_config(), "factor": self.factor,
                "value_range": self.value_range, "seed": self.seed}


class RandomInvert(KerasImageLayer):
    """In training, inverts each image (value_range[1] - x) with a
    probability drawn from the factor range. The identity at inference.

    Args:
        factor: a probability p in [0, 1] (drawn from [0, p]) or a pair.
        value_range: the images' value range, (0, 255) by default.
        seed: an int for reproducible draws.
        data_format: "channels_last" (default) or "channels_first".

    Example:
        >>> images = np.random.uniform(0, 255, (2, 8, 8, 3))
        >>> RandomInvert()(images, training=True).shape
        (2, 8, 8, 3)
    """

    def __init__(self, factor=1.0, value_range=(0, 255), seed=None,
                 data_format=None, **kwargs):
        super().__init__(seed=seed, data_format=data_format, **kwargs)
        self.factor = _factor_pair("RandomInvert", factor, (0, 1))
        self.value_range = value_range

    def _augment(self, x, training):
        p = self._uniform(x, *self.factor, (1, 1, 1))
        apply = ops.less(self._uniform(x, 0.0, 1.0, (1, 1, 1)), p)
        return ops.where(apply, ops.subtract(float(self.value_range[1]), x),
                         x)

    def get_config(self):
        return {**super().get_config(), "factor": self.factor,
                "value_range": self.value_range, "seed": self.seed}


class RandomPosterization(KerasImageLayer):
    """In training, keeps a random number of the high bits of each 8-bit
    value (drawn in [lo, hi) of the factor range, as Keras 3's randint;
    lo when lo == hi). The identity at inference.

    Args:
        factor: bits f in [1, 8] (range [1, f)) or a pair.
        value_range: the images' value range, (0, 255) by default.
        data_format: "channels_last" (default) or "channels_first".
        seed: an int for reproducible draws.

    Example:
        >>> images = np.random.uniform(0, 255, (2, 8, 8, 3))
        >>> RandomPosterization(4)(images, training=True).shape
        (2, 8, 8, 3)
    """

    def __init__(self, factor, value_range=(0, 255), data_format=None,
                 seed=None, **kwargs):
        super().__init__(seed=seed, data_format=data_format, **kwargs)
        self.factor = _factor_pair("RandomPosterization", factor, (1, 8))
        self.value_range = _value_range_list("RandomPosterization",
                                             value_range)

    def _augment(self, x, training):
        lo, hi = (int(f) for f in self.factor)
        if lo != hi:
            bits = ops.floor(self._uniform(x, lo, hi, (1, 1, 1)))
            bits = ops.minimum(bits, float(hi - 1))
        else:
            bits = float(lo)
        # (v >> s) << s of the uint8 value, with s = 8 - bits: exact in
        # floats, the steps being powers of two
        step = ops.power(2.0, ops.subtract(8.0, bits))
        y = ops.floor(ops.clip(_rescale(x, self.value_range, (0, 255)), 0.0,
                               255.0))
        y = ops.multiply(ops.floor(ops.divide(y, step)), step)
        return _rescale(y, (0, 255), self.value_range)

    def get_config(self):
        return {**super().get_config(), "factor": self.factor,
                "value_range": self.value_range, "seed": self.seed}


class RandomSharpness(KerasImageLayer):
    """In training, blends each image with a 3x3 smoothed copy: factor
    0.5 keeps it, 0 smooths, 1 sharpens (x + (1 - 2 f)(smooth - x)),
    clipped to value_range. The identity at inference.

    Args:
        factor: f in [0, 1] (range [0, f]) or a pair.
        value_range: the images' value range, (0, 255) by default.
        data_format: "channels_last" (default) or "channels_first".
        seed: an int for reproducible draws.

    Example:
        >>> images = np.random.uniform(0, 255, (2, 8, 8, 3))
        >>> RandomSharpness(0.5)(images, training=True).shape
        (2, 8, 8, 3)
    """

    def __init__(self, factor, value_range=(0, 255), data_format=None,
                 seed=None, **kwargs):
        super().__init__(seed=seed, data_format=data_format, **kwargs)
        self.factor = _factor_pair("RandomSharpness", factor, (0, 1))
        self.value_range = _value_range_list("RandomSharpness", value_range)

    def _augment(self, x, training):
        f = ops.multiply(self._uniform(x, *self.factor, (1, 1, 1)), 2.0)
        if self.data_format == "channels_first":
            x = ops.transpose(x, (0, 2, 3, 1))
        channels = ops.shape(x)[-1]
        a, b = 1.0 / 13.0, 5.0 / 13.0
        kernel = np.full((3, 3, 1, 1), a, ops.dtype(x))
        kernel[1, 1] = b
        kernel = np.tile(kernel, (1, 1, channels, 1))
        smooth = ops.depthwise_conv(x, kernel, strides=1, padding="same",
                                    data_format="channels_last")
        if self.data_format == "channels_first":
            smooth = ops.transpose(smooth, (0, 3, 1, 2))
            x = ops.transpose(x, (0, 3, 1, 2))
        y = ops.add(x, ops.multiply(ops.subtract(1.0, f),
                                    ops.subtract(smooth, x)))
        return ops.clip(y, float(self.value_range[0]),
                        float(self.value_range[1]))

    def get_config(self):
        return {**super().get_config(), "factor": self.factor,
                "value_range": self.value_range, "seed": self.seed}


class RandomColorJitter(KerasImageLayer):
    """In training, RandomBrightness, RandomContrast, RandomSaturation and
    RandomHue in that order, each for the factors given (None skips it).
    The identity at inference.

    Args:
        value_range: the images' value range, (0, 255) by default.
        brightness_factor, contrast_factor, saturation_factor, hue_factor:
            the factor of each layer, or None.
        seed: an int for reproducible draws.
        data_format: "channels_last" (default) or "channels_first".

    Example:
        >>> images = np.random.uniform(0, 255, (2, 8, 8, 3))
        >>> RandomColorJitter()(images, training=True).shape
        (2, 8, 8, 3)
    """

    def __init__(self, value_range=(0, 255), brightness_factor=None,
                 contrast_factor=None, saturation_factor=None,
                 hue_factor=None, seed=None, data_format=None, **kwargs):
        super().__init__(seed=seed, data_format=data_format, **kwargs)
        self.value_range = value_range
        self.brightness_factor = brightness_factor
        self.contrast_factor = contrast_factor
        self.saturation_factor = saturation_factor
        self.hue_factor = hue_factor
        fmt = {"data_format": self.data_format}
        self._stages = []
        for cls, factor in ((RandomBrightness, brightness_factor),
                            (RandomContrast, contrast_factor),
                            (RandomSaturation, saturation_factor),
                            (RandomHue, hue_factor)):
            if factor is not None:
                self._stages.append(cls(factor=factor,
                                        value_range=value_range, seed=seed,
                                        **fmt))

    def _augment(self, x, training):
        for stage in self._stages:
            x = stage(x, training=True)
        return x

    def get_config(self):
        return {**super().get_config(), "value_range": self.value_range,
                "brightness_factor": self.brightness_factor,
                "contrast_factor": self.contrast_factor,
                "saturation_factor": self.saturation_factor,
                "hue_factor": self.hue_factor, "seed": self.seed}


class ContrastLimitedAdaptiveHistogramEqualization(KerasImageLayer):
    """CLAHE: histogram equalization per tile of a grid, each tile's
    histogram clipped at `clip_limit` times the mean bin count (the excess
    spread evenly), the tiles' lookup tables blended bilinearly. Acts at
    inference too. The per-tile histograms are one-hot sums: meant for
    small images.

    Args:
        value_range: the images' value range, (0, 255) by default.
        clip_limit: the histogram clip, in mean bin counts (4.0); 0 or
            less: no clipping.
        tile_grid_size: (rows, columns) of tiles, (8, 8).
        data_format: "channels_last" (default) or "channels_first".

    Example:
        >>> images = np.random.uniform(0, 255, (2, 8, 8, 3))
        >>> clahe = ContrastLimitedAdaptiveHistogramEqualization(
        ...     tile_grid_size=(2, 2))
        >>> clahe(images).shape
        (2, 8, 8, 3)
    """

    _ACTS_AT_INFERENCE = True

    def __init__(self, value_range=(0, 255), clip_limit=4.0,
                 tile_grid_size=(8, 8), data_format=None, **kwargs):
        super().__init__(data_format=data_format, **kwargs)
        self.value_range = value_range
        self.clip_limit = clip_limit
        self.tile_grid_size = tile_grid_size

    def _augment(self, x, training):
        if self.data_format == "channels_first":
            x = ops.transpose(x, (0, 2, 3, 1))
        y = _rescale(x, self.value_range, (0, 255))
        _, height, width, channels = ops.shape(y)
        gh, gw = (int(g) for g in self.tile_grid_size)
        th, tw = -(-height // gh), -(-width // gw)
        ph, pw = th * gh - height, tw * gw - width
        if ph or pw:
            y = ops.pad(y, ((0, 0), (0, ph), (0, pw), (0, 0)),
                        mode="symmetric")
        pixels = ops.clip(ops.cast(y, "int32"), 0, 255)
        tiles = ops.reshape(pixels, (-1, gh, th, gw, tw, channels))
        tiles = ops.transpose(tiles, (0, 1, 3, 5, 2, 4))
        tiles = ops.reshape(tiles, (-1, gh, gw, channels, th * tw))
        hist = ops.sum(ops.one_hot(tiles, 256, dtype="float32"), axis=-2)
        if self.clip_limit > 0:
            limit = float(np.float32(self.clip_limit * (th * tw) / 256.0))
            clipped = ops.clip(hist, 0.0, limit)
            excess = ops.sum(ops.subtract(hist, clipped), axis=-1,
                             keepdims=True)
            hist = ops.add(clipped, ops.divide(excess, 256.0))
        cdf = ops.cumsum(hist, axis=-1)
        cdf_min = ops.min(cdf, axis=-1, keepdims=True)
        denominator = ops.subtract(float(th * tw), cdf_min)
        denominator = ops.where(ops.equal(denominator, 0.0), 1.0,
                                denominator)
        table = ops.clip(ops.divide(ops.multiply(ops.subtract(cdf, cdf_min),
                                                 255.0), denominator),
                         0.0, 255.0)  # (N, gh, gw, C, 256)
        # edge tiles repeated once on each side, for the blend
        table = ops.concatenate([table[:, :1], table, table[:, -1:]], axis=1)
        table = ops.concatenate([table[:, :, :1], table, table[:, :, -1:]],
                                axis=2)
        out = self._blend(table, pixels, th * gh, tw * gw, th, tw, gh, gw)
        out = ops.slice(out, (0, 0, 0, 0), (None, height, width, None))
        out = _rescale(out, (0, 255), self.value_range)
        if self.data_format == "channels_first":
            out = ops.transpose(out, (0, 3, 1, 2))
        return out

    @staticmethod
    def _blend(table, pixels, hp, wp, th, tw, gh, gw):
        """Each pixel's value read from the tables of its four nearest
        tile centres, blended bilinearly."""
        def axis_weights(size, tile, grid):
            g = (np.arange(size, dtype=np.float32) - np.float32(tile / 2.0)) \
                / np.float32(tile) + np.float32(1.0)
            lo = np.floor(g)
            w = (g - lo).astype(np.float32)
            lo_i = np.clip(lo, 0, grid + 1).astype(np.int64)
            hi_i = np.clip(lo + 1, 0, grid + 1).astype(np.int64)
            # (size, grid + 2) selection matrices of the two neighbours
            eye = np.eye(grid + 2, dtype=np.float32)
            return eye[lo_i], eye[hi_i], w
        y0, y1, wy = axis_weights(hp, th, gh)
        x0, x1, wx = axis_weights(wp, tw, gw)
        # the lookup of every pixel value in every table: (N, gh+2, gw+2,
        # C, hp * wp) would be large; select the pixel's value first
        hot = ops.one_hot(pixels, 256, dtype="float32")  # (N, hp, wp, C, 256)
        # rows: (N, hp, gw+2, C, 256) tables blended along the tile rows
        my = (y0 * (1.0 - wy)[:, None] + y1 * wy[:, None]).astype(np.float32)
        mx = (x0 * (1.0 - wx)[:, None] + x1 * wx[:, None]).astype(np.float32)
        rows = ops.einsum("yi,nijcv->nyjcv", my, table)
        both = ops.einsum("xj,nyjcv->nyxcv", mx, rows)
        return ops.sum(ops.multiply(both, hot), axis=-1)

    def get_config(self):
        return {**super().get_config(), "value_range": self.value_range,
                "clip_limit": self.clip_limit,
                "tile_grid_size": self.tile_grid_size}


class MaxNumBoundingBoxes(KerasImageLayer):
    """Keras 3's bounding-box padding layer; graphkeras models take image
    tensors, which it passes through (as Keras 3 does).

    Example:
        >>> images = np.random.uniform(0, 255, (2, 8, 8, 3))
        >>> MaxNumBoundingBoxes(max_number=4)(images, training=True).shape
        (2, 8, 8, 3)
    """

    _ACTS_AT_INFERENCE = True

    def __init__(self, max_number, fill_value=-1, **kwargs):
        super().__init__(**kwargs)
        self.max_number = int(max_number)
        self.fill_value = int(fill_value)

    def call(self, inputs, training=None):
        return _as_float(inputs, self._tensor_dtype)

    def get_config(self):
        return {**super().get_config(), "max_number": self.max_number}


__all__ = ["AutoContrast", "ContrastLimitedAdaptiveHistogramEqualization",
           "Equalization", "MaxNumBoundingBoxes", "RandomColorDegeneration",
           "RandomColorJitter", "RandomGrayscale", "RandomHue",
           "RandomInvert", "RandomPosterization", "RandomSaturation",
           "RandomSharpness", "Solarization"]
