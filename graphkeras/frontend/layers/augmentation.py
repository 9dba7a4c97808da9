"""Image augmentation layers for small vision models: RandomFlip, RandomCrop,
RandomContrast, RandomBrightness, and the deterministic CenterCrop (Keras 3
arguments, defaults and config keys).

Invariants:
- The random layers draw only when `training` is true, from the layer's
  SeedGenerator through counter-based random ops, so a traced train step
  draws fresh numbers every step and a run from the same seed repeats
  itself; at inference they are the identity (after a cast to the layer's
  float dtype), except RandomCrop, which then crops the center to the
  target's aspect ratio and resizes (see its docstring).
- Draws are per image (shape (batch, 1, 1, 1)), as Keras's; RandomCrop
  draws one offset per batch, as Keras's does.
- Images are rank 4 (batch) or rank 3 (one image), channels_last unless
  `data_format` says otherwise.
"""

from __future__ import annotations

import numpy as np

from .. import ops
from .. import random as random_module
from ..ops.nn import standardize_data_format
from .layer import Layer

_MODES = ("horizontal", "vertical", "horizontal_and_vertical")


def _as_float(x, dt: str):
    if isinstance(x, np.ndarray) or np.isscalar(x):
        return np.asarray(x, dt)
    return x if ops.dtype(x) == dt else ops.cast(x, dt)


def _check_rank(layer, x) -> int:
    rank = len(ops.shape(x))
    if rank not in (3, 4):
        raise ValueError(
            f'Layer "{layer.name}" ({type(layer).__name__}) expects images of '
            "rank 3 (one image) or 4 (a batch). Received inputs of shape "
            f"{tuple(ops.shape(x))}")
    return rank


def _labels_through(layer, data: dict, training):
    """Keras's dict form {"images": ..., "labels": ...}: the images
    through `layer`, the labels as they are."""
    unknown = sorted(set(data) - {"images", "labels"})
    if "images" not in data or unknown:
        raise NotImplementedError(
            f'Layer "{layer.name}" ({type(layer).__name__}) takes images, or '
            'a dict with the keys "images" and (optionally) "labels"; '
            "bounding boxes and segmentation masks are not supported. "
            f"Received a dict with keys {sorted(data)}")
    out = dict(data)
    out["images"] = layer.call(data["images"], training=training)
    return out


def _per_image_shape(x, rank: int) -> tuple:
    return (1, 1, 1) if rank == 3 else (ops.shape(x)[0], 1, 1, 1)


def _factor_pair(layer: str, factor, bounds) -> tuple:
    """Keras's factor convention: a pair (sorted) or a number f giving
    (max(-f, low), f)."""
    msg = (f"Layer {layer}: the `factor` argument should be a number (or a "
           f"list of two numbers) in the range [{bounds[0]}, {bounds[1]}]. "
           f"Received: factor={factor}")
    if isinstance(factor, (tuple, list)):
        if len(factor) != 2 or factor[0] > bounds[1] or factor[1] < bounds[0]:
            raise ValueError(msg)
        lo, hi = sorted(float(f) for f in factor)
        return lo, hi
    if isinstance(factor, (int, float)) and not isinstance(factor, bool):
        if not bounds[0] <= factor <= bounds[1]:
            raise ValueError(msg)
        f = abs(float(factor))
        return max(-f, bounds[0]), f
    raise ValueError(msg)


def _value_range(layer: str, value_range) -> list:
    if not isinstance(value_range, (tuple, list)) or len(value_range) != 2:
        raise ValueError(
            f"Layer {layer}: the `value_range` argument should be a list of "
            f"two numbers. Received: value_range={value_range}")
    return sorted(value_range)


class _ImageLayer(Layer):
    """Shared parts: data_format, a seed generator, shape passthrough."""

    def __init__(self, seed=None, data_format=None, **kwargs):
        super().__init__(**kwargs)
        self.seed = seed
        self.data_format = standardize_data_format(data_format)
        self.seed_generator = random_module.SeedGenerator(seed)
        self.built = True

    def _axes(self, rank: int) -> tuple:
        """(height axis, width axis)."""
        if self.data_format == "channels_last":
            return rank - 3, rank - 2
        return rank - 2, rank - 1

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)


class RandomFlip(_ImageLayer):
    """Flips each image horizontally and / or vertically with probability
    1/2 during training (for "horizontal_and_vertical", one draw decides
    both flips, as in Keras 3). The identity at inference.

    Args:
        mode: "horizontal", "vertical" or "horizontal_and_vertical"
            (default).
        seed: an int for reproducible flips.
        data_format: "channels_last" (default) or "channels_first".

    Example:
        >>> x = np.arange(4, dtype="float32").reshape(1, 1, 4, 1)
        >>> RandomFlip("horizontal")(x)[0, 0, :, 0]   # inference: unchanged
        array([0., 1., 2., 3.], dtype=float32)
    """

    def __init__(self, mode="horizontal_and_vertical", seed=None,
                 data_format=None, **kwargs):
        super().__init__(seed=seed, data_format=data_format, **kwargs)
        if mode not in _MODES:
            raise ValueError(
                f"RandomFlip layer {self.name} received an unknown mode "
                f"argument {mode!r}. Expected one of {list(_MODES)}.")
        self.mode = mode

    def call(self, inputs, training=True):
        if isinstance(inputs, dict):
            return _labels_through(self, inputs, training)
        x = _as_float(inputs, self._tensor_dtype)
        rank = _check_rank(self, x)
        if not training:
            return x
        draw = random_module.uniform(_per_image_shape(x, rank),
                                     dtype=self._tensor_dtype,
                                     seed=self.seed_generator)
        flip = ops.less_equal(draw, 0.5)
        if rank == 3:
            flip = ops.reshape(flip, (1, 1, 1))
        h_axis, w_axis = self._axes(rank)
        if self.mode in ("horizontal", "horizontal_and_vertical"):
            x = ops.where(flip, ops.flip(x, axis=w_axis), x)
        if self.mode in ("vertical", "horizontal_and_vertical"):
            x = ops.where(flip, ops.flip(x, axis=h_axis), x)
        return x

    def get_config(self):
        return {**super().get_config(), "seed": self.seed, "mode": self.mode,
                "data_format": self.data_format}


class CenterCrop(Layer):
    """Crops the center of each image to (height, width); an image smaller
    than the target is cropped to the target's aspect ratio and resized
    (bilinear), as Keras 3 does.

    Args:
        height: the output height.
        width: the output width.
        data_format: "channels_last" (default) or "channels_first".

    Example:
        >>> CenterCrop(2, 2)(np.ones((1, 4, 4, 3), "float32")).shape
        (1, 2, 2, 3)
    """

    def __init__(self, height, width, data_format=None, **kwargs):
        super().__init__(**kwargs)
        self.height = int(height)
        self.width = int(width)
        self.data_format = standardize_data_format(data_format)
        self.built = True

    def call(self, inputs):
        x = _as_float(inputs, self._tensor_dtype)
        rank = _check_rank(self, x)
        shape = ops.shape(x)
        h_axis = rank - 3 if self.data_format == "channels_last" else rank - 2
        h, w = shape[h_axis], shape[h_axis + 1]
        if h is None or w is None:
            raise ValueError(
                f'Layer "{self.name}" (CenterCrop) needs images of known '
                f"height and width. Received inputs of shape {tuple(shape)}")
        if h >= self.height and w >= self.width:
            start = [0] * rank
            size = list(shape)
            start[h_axis] = (h - self.height) // 2
            start[h_axis + 1] = (w - self.width) // 2
            size[h_axis], size[h_axis + 1] = self.height, self.width
            return ops.slice(x, start, size)
        return ops.image.resize(x, (self.height, self.width),
                               crop_to_aspect_ratio=True,
                               data_format=self.data_format)

    def compute_output_shape(self, input_shape):
        shape = list(input_shape)
        h = len(shape) - 3 if self.data_format == "channels_last" else \
            len(shape) - 2
        shape[h], shape[h + 1] = self.height, self.width
        return tuple(shape)

    def get_config(self):
        return {**super().get_config(), "height": self.height,
                "width": self.width, "data_format": self.data_format}


class RandomCrop(_ImageLayer):
    """During training, crops a random (height, width) window (one offset
    per batch, as Keras 3 draws it).

    At inference Keras 3 returns the images uncropped, which changes the
    output shape between training and inference; graphkeras instead crops
    the center to the target's aspect ratio and resizes to (height, width)
    (what Keras 3 does in training for images not larger than the target,
    and what Keras 2 did at inference), so one model serves both.

    Args:
        height: the output height.
        width: the output width.
        seed: an int for reproducible crops.
        data_format: "channels_last" (default) or "channels_first".
    """

    def __init__(self, height, width, seed=None, data_format=None, name=None,
                 **kwargs):
        super().__init__(seed=seed, data_format=data_format, name=name,
                         **kwargs)
        self.height = int(height)
        self.width = int(width)

    def call(self, inputs, training=True):
        if isinstance(inputs, dict):
            return _labels_through(self, inputs, training)
        x = _as_float(inputs, self._tensor_dtype)
        rank = _check_rank(self, x)
        h_axis, w_axis = self._axes(rank)
        shape = ops.shape(x)
        h, w = shape[h_axis], shape[w_axis]
        if h is None or w is None:
            raise ValueError(
                f'Layer "{self.name}" (RandomCrop) requires the input to have '
                f"a fully defined height and width. Received: images.shape="
                f"{tuple(shape)}")
        if training and h > self.height and w > self.width:
            for axis, size, target in ((h_axis, h, self.height),
                                       (w_axis, w, self.width)):
                start = random_module.uniform(
                    (1,), 0.0, float(size - target + 1), dtype="float32",
                    seed=self.seed_generator)
                start = ops.minimum(ops.floor(start), float(size - target))
                rows = ops.add(ops.cast(start, "int32"),
                               np.arange(target, dtype="int32"))
                x = ops.take(x, rows, axis=axis)
            return x
        if h == self.height and w == self.width:
            return x
        return ops.image.resize(x, (self.height, self.width),
                               crop_to_aspect_ratio=True,
                               data_format=self.data_format)

    def compute_output_shape(self, input_shape):
        shape = list(input_shape)
        h, w = self._axes(len(shape))
        shape[h], shape[w] = self.height, self.width
        return tuple(shape)

    def get_config(self):
        return {**super().get_config(), "height": self.height,
                "width": self.width, "seed": self.seed,
                "data_format": self.data_format}


class RandomContrast(_ImageLayer):
    """During training, scales each image's deviation from its per-channel
    mean by a random factor in [1 - lower, 1 + upper], then clips to
    `value_range`. The identity at inference.

    Args:
        factor: a number f in [0, 1] (factors in [1, 1 + f], Keras 3's
            convention) or a pair (lower, upper).
        value_range: the images' value range (default (0, 255)).
        seed: an int for reproducible draws.
    """

    def __init__(self, factor, value_range=(0, 255), seed=None, **kwargs):
        super().__init__(seed=seed, **kwargs)
        self.factor = _factor_pair("RandomContrast", factor, (0, 1))
        self.value_range = _value_range("RandomContrast", value_range)

    def call(self, inputs, training=True):
        if isinstance(inputs, dict):
            return _labels_through(self, inputs, training)
        x = _as_float(inputs, self._tensor_dtype)
        rank = _check_rank(self, x)
        if not training:
            return x
        factor = random_module.uniform(
            _per_image_shape(x, rank), 1.0 - self.factor[0],
            1.0 + self.factor[1], dtype=self._tensor_dtype,
            seed=self.seed_generator)
        if rank == 3:
            factor = ops.reshape(factor, (1, 1, 1))
        h_axis, w_axis = self._axes(rank)
        mean = ops.mean(x, axis=(h_axis, w_axis), keepdims=True)
        out = ops.add(ops.multiply(ops.subtract(x, mean), factor), mean)
        return ops.clip(out, float(self.value_range[0]),
                        float(self.value_range[1]))

    def get_config(self):
        return {**super().get_config(), "factor": list(self.factor),
                "value_range": list(self.value_range), "seed": self.seed,
                "data_format": self.data_format}


class RandomBrightness(_ImageLayer):
    """During training, adds to each image a random delta drawn from
    `factor` times the width of `value_range`, then clips to `value_range`.
    The identity at inference.

    Args:
        factor: a number f in [-1, 1] (deltas in [-f, f]) or a pair.
        value_range: the images' value range (default (0, 255)).
        seed: an int for reproducible draws.
    """

    def __init__(self, factor, value_range=(0, 255), seed=None, **kwargs):
        super().__init__(seed=seed, **kwargs)
        self.factor = _factor_pair("RandomBrightness", factor, (-1, 1))
        self.value_range = _value_range("RandomBrightness", value_range)

    def call(self, inputs, training=True):
        if isinstance(inputs, dict):
            return _labels_through(self, inputs, training)
        x = _as_float(inputs, self._tensor_dtype)
        rank = _check_rank(self, x)
        if not training:
            return x
        delta = random_module.uniform(
            _per_image_shape(x, rank), self.factor[0], self.factor[1],
            dtype=self._tensor_dtype, seed=self.seed_generator)
        if rank == 3:
            delta = ops.reshape(delta, (1, 1, 1))
        span = float(self.value_range[1] - self.value_range[0])
        out = ops.add(x, ops.multiply(delta, span))
        return ops.clip(out, float(self.value_range[0]),
                        float(self.value_range[1]))

    def get_config(self):
        return {**super().get_config(), "factor": list(self.factor),
                "value_range": list(self.value_range), "seed": self.seed,
                "data_format": self.data_format}


__all__ = ["CenterCrop", "RandomBrightness", "RandomContrast", "RandomCrop",
           "RandomFlip"]
