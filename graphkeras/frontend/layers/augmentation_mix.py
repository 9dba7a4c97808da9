"""Keras 3's mixing, erasing, blurring and warping layers (MixUp, CutMix,
RandomErasing, RandomGaussianBlur, RandomShear, RandomPerspective,
RandomElasticTransform), its policies (RandAugment, AugMix) and Pipeline,
with Keras 3 arguments, defaults and config keys.

Invariants:
- As augmentation_color: training None means training (a direct call),
  the random layers are the identity at inference, draws come from the
  layer's SeedGenerator inside the traced step.
- MixUp and CutMix pair each image with another of its batch through a
  random permutation built in the graph (ranks of random keys, a (batch,
  batch) selection matrix), so they run in a compiled step whose batch
  size is symbolic.
- Warps resample through augmentation_affine.resample_at (matmuls of
  sampling weights): meant for small images.
- RandAugment and AugMix choose their operations per batch with random
  draws in the graph (Keras draws per call), computing every candidate
  and selecting: their cost grows with the number of operations.
"""

from __future__ import annotations

import numpy as np

from .. import ops
from .. import random as random_module
from .augmentation import (
    RandomBrightness,
    RandomContrast,
    _as_float,
    _check_rank,
    _factor_pair,
)
from ..ops.image import _blur as blur
from ..ops.image import _elastic, _homography
from .augmentation_affine import (
    FILL_MODES,
    INTERPOLATIONS,
    RandomRotation,
    RandomTranslation,
    affine_resample,
)
from .augmentation_color import (
    AutoContrast,
    Equalization,
    KerasImageLayer,
    RandomColorDegeneration,
    RandomPosterization,
    RandomSharpness,
    Solarization,
)
from .layer import Layer


def _permutation_matrix(n_like, seed):
    """A uniformly random (batch, batch) permutation matrix P (row i
    selects image perm[i]) for a batch of symbolic size: with r and q the
    ranks of two sets of random keys (each a random permutation),
    perm = q^-1 o r, i.e. P[i, j] = (r[i] == q[j])."""
    def ranks():
        keys = random_module.uniform((ops.shape(n_like)[0],), seed=seed)
        # rank[i] = #{j: key_j < key_i}
        return ops.sum(ops.cast(ops.less(ops.expand_dims(keys, 0),
                                         ops.expand_dims(keys, 1)),
                                "float32"), axis=1)
    r, q = ranks(), ranks()
    return ops.cast(ops.equal(ops.expand_dims(r, 1), ops.expand_dims(q, 0)),
                    "float32")


def _permute(x, perm):
    """x (batch, ...) with its images in the order of the permutation
    matrix `perm`."""
    shape = ops.shape(x)
    flat = ops.reshape(x, (-1, int(np.prod(shape[1:]))))
    out = ops.matmul(ops.cast(perm, ops.dtype(x)), flat)
    return ops.reshape(out, (-1,) + tuple(shape[1:]))


def _blend(x, weight, perm):
    """w x + (1 - w) x[perm] per image, weight of shape (batch,)."""
    w = ops.reshape(weight, (-1,) + (1,) * (len(ops.shape(x)) - 1))
    return ops.add(ops.multiply(w, x),
                   ops.multiply(ops.subtract(1.0, w), _permute(x, perm)))


def _hw_axes(data_format: str) -> tuple:
    return (1, 2) if data_format == "channels_last" else (2, 3)


def _box_mask(layer, x, x0, x1, y0, y1):
    """(batch, H, W, 1) or (batch, 1, H, W) booleans: x0 <= col < x1 and
    y0 <= row < y1, corners of shape (batch,)."""
    h_axis, w_axis = _hw_axes(layer.data_format)
    shape = ops.shape(x)
    h, w = shape[h_axis], shape[w_axis]
    dt = ops.dtype(x)
    if layer.data_format == "channels_last":
        gy = np.arange(h, dtype=dt).reshape(1, h, 1, 1)
        gx = np.arange(w, dtype=dt).reshape(1, 1, w, 1)
    else:
        gy = np.arange(h, dtype=dt).reshape(1, 1, h, 1)
        gx = np.arange(w, dtype=dt).reshape(1, 1, 1, w)
    r = lambda v: ops.reshape(v, (-1, 1, 1, 1))  # noqa: E731
    inside = ops.logical_and(ops.greater_equal(gx, r(x0)),
                             ops.less(gx, r(x1)))
    inside = ops.logical_and(inside, ops.greater_equal(gy, r(y0)))
    return ops.logical_and(inside, ops.less(gy, r(y1)))


def _crop_bounds(layer, x, length: int, ratio):
    """Keras's box along one axis: a length of ratio * length starting at
    a uniform fraction of the room left."""
    crop = ops.multiply(ratio, float(length))
    start = ops.multiply(layer._uniform(x, 0.0, 1.0),
                         ops.subtract(float(length), crop))
    return start, ops.add(start, crop)


class MixUp(KerasImageLayer):
    """In training, blends each image with another image of the batch
    (a random permutation): w x + (1 - w) x[perm], w ~ Beta(alpha,
    alpha) per image. Labels are not mixed (graphkeras models take
    images). The identity at inference.

    Args:
        alpha: the Beta distribution's parameter (0.2).
        data_format: "channels_last" (default) or "channels_first".
        seed: an int for reproducible draws.

    Example:
        >>> images = np.random.uniform(0, 255, (2, 8, 8, 3))
        >>> MixUp()(images, training=True).shape
        (2, 8, 8, 3)
    """

    def __init__(self, alpha=0.2, data_format=None, seed=None, **kwargs):
        super().__init__(seed=seed, data_format=data_format, **kwargs)
        self.alpha = alpha

    def _augment(self, x, training):
        return self._augment_with_labels(x, None, training)[0]

    def _augment_with_labels(self, x, labels, training):
        perm = _permutation_matrix(x, self.seed_generator)
        weight = random_module.beta((ops.shape(x)[0],), self.alpha,
                                    self.alpha, dtype=self._tensor_dtype,
                                    seed=self.seed_generator)
        images = _blend(x, weight, perm)
        return images, None if labels is None else _blend(
            _as_float(labels, self._tensor_dtype), weight, perm)

    def get_config(self):
        return {**super().get_config(), "alpha": self.alpha,
                "seed": self.seed}


class CutMix(KerasImageLayer):
    """In training, pastes into each image a box cut from another image of
    the batch; the box covers a fraction 1 - w of the image, w ~ Beta(a,
    a) with a drawn from the factor range. A single image (rank 3) and
    inference pass through.

    Args:
        factor: a in [0, 1] (a drawn from [0, a]) or a pair.
        seed: an int for reproducible draws.
        data_format: "channels_last" (default) or "channels_first".

    Example:
        >>> images = np.random.uniform(0, 255, (2, 8, 8, 3))
        >>> CutMix()(images, training=True).shape
        (2, 8, 8, 3)
    """

    def __init__(self, factor=1.0, seed=None, data_format=None, **kwargs):
        super().__init__(seed=seed, data_format=data_format, **kwargs)
        self.factor = _factor_pair("CutMix", factor, (0, 1))

    def call(self, inputs, training=None):
        if isinstance(inputs, dict):
            return super().call(inputs, training=training)
        x = _as_float(inputs, self._tensor_dtype)
        if _check_rank(self, x) == 3:
            return x  # Keras 3 mixes batches only
        return super().call(x, training=training)

    def _augment(self, x, training):
        return self._augment_with_labels(x, None, training)[0]

    def _augment_with_labels(self, x, labels, training):
        h_axis, w_axis = _hw_axes(self.data_format)
        h, w = ops.shape(x)[h_axis], ops.shape(x)[w_axis]
        a = ops.add(random_module.uniform((1,), *self.factor,
                                          dtype=self._tensor_dtype,
                                          seed=self.seed_generator), 1e-6)
        weight = self._beta(x, a)
        ratio = ops.sqrt(ops.subtract(1.0, weight))
        x0, x1 = _crop_bounds(self, x, w, ratio)
        y0, y1 = _crop_bounds(self, x, h, ratio)
        mask = _box_mask(self, x, x0, x1, y0, y1)
        perm = _permutation_matrix(x, self.seed_generator)
        images = ops.where(mask, _permute(x, perm), x)
        if labels is None:
            return images, None
        # the labels weighted by the area each image keeps (Keras's
        # 1 - box area / image area, from the box corners as drawn)
        kept = ops.subtract(1.0, ops.divide(
            ops.multiply(ops.subtract(x1, x0), ops.subtract(y1, y0)),
            float(w * h)))
        return images, _blend(_as_float(labels, self._tensor_dtype), kept,
                              perm)

    def _beta(self, x, a):
        """Beta(a, a) per image, a a (1,) tensor."""
        n = ops.shape(x)[0]
        alpha = ops.add(ops.zeros_like(self._uniform(x, 0.0, 1.0)), a)
        g1 = random_module.gamma((n,), alpha, dtype=self._tensor_dtype,
                                 seed=self.seed_generator)
        g2 = random_module.gamma((n,), alpha, dtype=self._tensor_dtype,
                                 seed=self.seed_generator)
        return ops.divide(g1, ops.add(g1, g2))

    def get_config(self):
        return {**super().get_config(), "factor": self.factor,
                "seed": self.seed}


class RandomErasing(KerasImageLayer):
    """In training, with a probability drawn from the factor range, fills
    a random box of each image (its sides sqrt(s) of the image's, s drawn
    from `scale` per side) with `fill_value`, or Gaussian noise times
    value_range[1] when fill_value is None, clipped to value_range. The
    identity at inference.

    Args:
        factor: the probability p (drawn from [0, p]) or a pair.
        scale: the box's area fraction range, (0.02, 0.33).
        fill_value: a number, three numbers (per channel) or None (noise).
        value_range: the images' value range, (0, 255) by default.
        seed: an int for reproducible draws.
        data_format: "channels_last" (default) or "channels_first".

    Example:
        >>> images = np.random.uniform(0, 255, (2, 8, 8, 3))
        >>> RandomErasing()(images, training=True).shape
        (2, 8, 8, 3)
    """

    def __init__(self, factor=1.0, scale=(0.02, 0.33), fill_value=None,
                 value_range=(0, 255), seed=None, data_format=None,
                 **kwargs):
        super().__init__(seed=seed, data_format=data_format, **kwargs)
        self.factor = _factor_pair("RandomErasing", factor, (0, 1))
        self.scale = _factor_pair("RandomErasing", scale, (0, 1))
        if fill_value is not None and not (
                isinstance(fill_value, (int, float)) or (
                    isinstance(fill_value, (tuple, list))
                    and len(fill_value) == 3)):
            raise ValueError(
                "The `fill_value` argument should be a number (or a list of "
                f"three numbers) Received: fill_value={fill_value}")
        self.fill_value = fill_value
        self.value_range = value_range

    def _augment(self, x, training):
        h_axis, w_axis = _hw_axes(self.data_format)
        h, w = ops.shape(x)[h_axis], ops.shape(x)[w_axis]
        sides = ops.sqrt(self._uniform(x, *self.scale, (2,)))
        x0, x1 = _crop_bounds(self, x, w, ops.getitem(sides, (slice(None), 0)))
        y0, y1 = _crop_bounds(self, x, h, ops.getitem(sides, (slice(None), 1)))
        mask = _box_mask(self, x, x0, x1, y0, y1)
        p = self._uniform(x, *self.factor, (1, 1, 1))
        apply = ops.less(self._uniform(x, 0.0, 1.0, (1, 1, 1)), p)
        if self.fill_value is None:
            fill = ops.multiply(random_module.normal(
                (ops.shape(x)[0],) + tuple(ops.shape(x)[1:]),
                dtype=self._tensor_dtype, seed=self.seed_generator),
                float(self.value_range[1]))
        else:
            fill = np.asarray(self.fill_value, self._tensor_dtype)
            if fill.ndim == 1 and self.data_format == "channels_first":
                fill = fill.reshape(3, 1, 1)
            fill = ops.add(ops.zeros_like(x), fill)
        fill = ops.clip(fill, float(self.value_range[0]),
                        float(self.value_range[1]))
        return ops.where(ops.logical_and(mask, apply), fill, x)

    def get_config(self):
        return {**super().get_config(), "factor": self.factor,
                "scale": self.scale, "fill_value": self.fill_value,
                "value_range": self.value_range, "seed": self.seed}


def _odd_pair(name: str, value) -> tuple:
    msg = f"{name} must be an odd number. Received: {name}={value}"
    if isinstance(value, (tuple, list)):
        if len(value) != 2:
            raise ValueError(
                f"The `{name}` argument should be a number (or a list of two "
                f"numbers) Received: {name}={value}")
        if value[0] % 2 == 0 or value[1] % 2 == 0:
            raise ValueError(msg)
        return tuple(value)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if value % 2 == 0:
            raise ValueError(msg)
        return (value, value)
    raise ValueError(msg)


class RandomGaussianBlur(KerasImageLayer):
    """In training, with a probability drawn from the factor range, blurs
    each image with a Gaussian of `kernel_size` taps; the two sigmas
    (width, height) are drawn from `sigma` once per batch, as Keras 3
    does. Clipped to value_range. The identity at inference.

    Args:
        factor: the probability p (drawn from [0, p]) or a pair.
        kernel_size: an odd number or a pair of odd numbers (3).
        sigma: s in [0, 1] (drawn from [0, s]) or a pair (1.0).
        value_range: the images' value range, (0, 255) by default.
        data_format: "channels_last" (default) or "channels_first".
        seed: an int for reproducible draws.

    Example:
        >>> images = np.random.uniform(0, 255, (2, 8, 8, 3))
        >>> RandomGaussianBlur()(images, training=True).shape
        (2, 8, 8, 3)
    """

    def __init__(self, factor=1.0, kernel_size=3, sigma=1.0,
                 value_range=(0, 255), data_format=None, seed=None,
                 **kwargs):
        super().__init__(seed=seed, data_format=data_format, **kwargs)
        self.factor = _factor_pair("RandomGaussianBlur", factor, (0, 1))
        self.kernel_size = _odd_pair("kernel_size", kernel_size)
        self.sigma = _factor_pair("RandomGaussianBlur", sigma, (0, 1))
        self.value_range = value_range

    def _augment(self, x, training):
        p = self._uniform(x, *self.factor, (1, 1, 1))
        apply = ops.less(self._uniform(x, 0.0, 1.0, (1, 1, 1)), p)
        sigma = ops.add(random_module.uniform(
            (2,), *self.sigma, dtype=self._tensor_dtype,
            seed=self.seed_generator), 1e-6)
        blurred = blur(x, self.kernel_size, ops.getitem(sigma, (slice(0, 1),)),
                       ops.getitem(sigma, (slice(1, 2),)), self.data_format)
        return ops.clip(ops.where(apply, blurred, x),
                        float(self.value_range[0]),
                        float(self.value_range[1]))

    def get_config(self):
        return {**super().get_config(), "factor": self.factor,
                "kernel_size": self.kernel_size, "sigma": self.sigma,
                "value_range": self.value_range, "seed": self.seed}


def _shear_pair(name: str, factor) -> tuple:
    msg = ("The `factor` argument should be a number (or a list of two "
           f"numbers) in the range [0, 1.0]. Received: {name}={factor}")
    if isinstance(factor, (tuple, list)):
        # NOTE: a pair may hold negatives: Keras 3 writes f as (-f, f) in
        # its config (and then refuses to load it); graphkeras loads it
        if len(factor) != 2 or any(not -1.0 <= f <= 1.0 for f in factor):
            raise ValueError(msg)
        return tuple(sorted(factor))
    if isinstance(factor, (int, float)) and not isinstance(factor, bool):
        if not 0.0 <= factor <= 1.0:
            raise ValueError(msg)
        return (-abs(factor), abs(factor))
    raise ValueError(msg)


def _check_fill(layer: str, fill_mode, interpolation, fill_modes=FILL_MODES):
    if fill_mode not in fill_modes:
        raise NotImplementedError(
            f"Layer {layer}: unknown `fill_mode` {fill_mode!r}. Expected one "
            f"of {list(fill_modes)}.")
    if interpolation not in INTERPOLATIONS:
        raise NotImplementedError(
            f"Layer {layer}: unknown `interpolation` {interpolation!r}. "
            f"Expected one of {list(INTERPOLATIONS)}.")


class RandomShear(KerasImageLayer):
    """In training, shears each image: the output pixel (x, y) reads the
    input at (x + sx y, sy x + y), sx and sy drawn from the factor ranges
    and both negated with probability 1/2. The identity at inference.

    Args:
        x_factor: f in [0, 1] (range [-f, f]) or a pair in [0, 1].
        y_factor: likewise for the vertical shear.
        interpolation: "bilinear" (default) or "nearest".
        fill_mode: "reflect" (default), "wrap", "constant" or "nearest".
        fill_value: the value read outside in "constant" mode (0.0).
        data_format: "channels_last" (default) or "channels_first".
        seed: an int for reproducible draws.

    Example:
        >>> images = np.random.uniform(0, 255, (2, 8, 8, 3))
        >>> RandomShear(x_factor=0.2)(images, training=True).shape
        (2, 8, 8, 3)
    """

    def __init__(self, x_factor=0.0, y_factor=0.0, interpolation="bilinear",
                 fill_mode="reflect", fill_value=0.0, data_format=None,
                 seed=None, **kwargs):
        super().__init__(seed=seed, data_format=data_format, **kwargs)
        self.x_factor = _shear_pair("x_factor", x_factor)
        self.y_factor = _shear_pair("y_factor", y_factor)
        _check_fill("RandomShear", fill_mode, interpolation)
        self.fill_mode = fill_mode
        self.fill_value = fill_value
        self.interpolation = interpolation

    def _augment(self, x, training):
        invert = ops.where(ops.greater(self._uniform(x, 0.0, 1.0, (1,)),
                                       0.5), -1.0, 1.0)
        sy = ops.multiply(self._uniform(x, *self.y_factor, (1,)), invert)
        sx = ops.multiply(self._uniform(x, *self.x_factor, (1,)), invert)
        return shear(x, sx, sy, self.interpolation, self.fill_mode,
                     self.fill_value, self.data_format)

    def get_config(self):
        # NOTE: Keras 3 writes a number f as (-f, f) and then refuses to
        # read it back; a symmetric pair is written as the number, which
        # both read as (-f, f)
        def arg(pair):
            lo, hi = pair
            return hi if lo == -hi else pair
        return {**super().get_config(), "x_factor": arg(self.x_factor),
                "y_factor": arg(self.y_factor), "fill_mode": self.fill_mode,
                "interpolation": self.interpolation, "seed": self.seed,
                "fill_value": self.fill_value}


def shear(x, sx, sy, interpolation, fill_mode, fill_value, data_format):
    """x sheared by (batch, 1) amounts sx, sy (Keras's shear matrix)."""
    one, zero = ops.ones_like(sx), ops.zeros_like(sx)
    transform = ops.concatenate([one, sx, zero, sy, one, zero, zero, zero],
                                axis=1)
    if data_format == "channels_first":
        x = ops.transpose(x, (0, 2, 3, 1))
    out = affine_resample(x, transform, interpolation, fill_mode,
                          fill_value)
    return ops.transpose(out, (0, 3, 1, 2)) \
        if data_format == "channels_first" else out


class RandomPerspective(KerasImageLayer):
    """In training, with a probability drawn from the factor range, warps
    each image so its corners move by up to scale / 2 of their
    coordinates (a perspective transform); outside pixels read
    `fill_value`. The identity at inference.

    Args:
        factor: the probability p (drawn from [0, p]) or a pair.
        scale: the corners' displacement, in [0, 1] (1.0).
        interpolation: "bilinear" (default) or "nearest".
        fill_value: the value read outside the image (0.0).
        seed: an int for reproducible draws.
        data_format: "channels_last" (default) or "channels_first".

    Example:
        >>> images = np.random.uniform(0, 255, (2, 8, 8, 3))
        >>> RandomPerspective()(images, training=True).shape
        (2, 8, 8, 3)
    """

    def __init__(self, factor=1.0, scale=1.0, interpolation="bilinear",
                 fill_value=0.0, seed=None, data_format=None, **kwargs):
        super().__init__(seed=seed, data_format=data_format, **kwargs)
        self.factor = _factor_pair("RandomPerspective", factor, (0, 1))
        if scale < 0.0 or scale > 1.0:
            raise ValueError("The `scale` argument should be a number in the "
                             f"range [0,1]. Received: scale={scale}")
        _check_fill("RandomPerspective", "constant", interpolation)
        self.scale = scale
        self.fill_value = fill_value
        self.interpolation = interpolation

    def _augment(self, x, training):
        h_axis, w_axis = _hw_axes(self.data_format)
        h, w = ops.shape(x)[h_axis], ops.shape(x)[w_axis]
        p = self._uniform(x, *self.factor, (1, 1, 1))
        apply = ops.less(self._uniform(x, 0.0, 1.0, (1, 1, 1)), p)
        move = self._uniform(x, -0.5 * self.scale, 0.5 * self.scale, (4, 2))
        start = np.array([[[0.0, 0.0], [w - 1, 0.0], [0.0, h - 1],
                           [w - 1, h - 1]]], ops.dtype(x))
        end = ops.add(start, ops.multiply(start, move))
        start = ops.add(ops.zeros_like(move), start)
        warped = perspective(x, start, end, self.interpolation,
                             self.fill_value, self.data_format)
        return ops.where(apply, warped, x)

    def get_config(self):
        return {**super().get_config(), "factor": self.factor,
                "scale": self.scale, "interpolation": self.interpolation,
                "fill_value": self.fill_value, "seed": self.seed}


def perspective(x, start_points, end_points, interpolation, fill_value,
                data_format):
    """x (batch) warped so that end_points read the start points."""
    transform = _homography(start_points, end_points)
    if data_format == "channels_first":
        x = ops.transpose(x, (0, 2, 3, 1))
    out = affine_resample(x, transform, interpolation, "constant",
                          fill_value)
    return ops.transpose(out, (0, 3, 1, 2)) \
        if data_format == "channels_first" else out


_ELASTIC_FILL = ("constant", "nearest", "wrap", "mirror", "reflect")


class RandomElasticTransform(KerasImageLayer):
    """In training, with a probability drawn from the factor range,
    displaces each pixel by smoothed Gaussian noise (Keras's elastic
    transform: alpha = 0.1 max(H, W) d, sigma = 0.05 min(H, W) d, the
    distortion d drawn from `scale` per batch), clipped to value_range.
    The identity at inference.

    The smoothing kernel has the size Keras gives the largest distortion
    of the range (its taps are weighted by the drawn sigma).

    Args:
        factor: the probability p (drawn from [0, p]) or a pair.
        scale: d in [0, 1] (drawn from [0, d]) or a pair (1.0).
        interpolation: "bilinear" (default) or "nearest".
        fill_mode: "reflect" (default), "mirror", "wrap", "constant" or
            "nearest".
        fill_value: the value read outside in "constant" mode (0.0).
        value_range: the images' value range, (0, 255) by default.
        seed: an int for reproducible draws.
        data_format: "channels_last" (default) or "channels_first".

    Example:
        >>> images = np.random.uniform(0, 255, (2, 8, 8, 3))
        >>> RandomElasticTransform()(images, training=True).shape
        (2, 8, 8, 3)
    """

    def __init__(self, factor=1.0, scale=1.0, interpolation="bilinear",
                 fill_mode="reflect", fill_value=0.0, value_range=(0, 255),
                 seed=None, data_format=None, **kwargs):
        super().__init__(seed=seed, data_format=data_format, **kwargs)
        self.factor = _factor_pair("RandomElasticTransform", factor, (0, 1))
        self.scale = _factor_pair("RandomElasticTransform", scale, (0, 1))
        _check_fill("RandomElasticTransform", fill_mode, interpolation,
                    _ELASTIC_FILL)
        self.interpolation = interpolation
        self.fill_mode = fill_mode
        self.fill_value = fill_value
        self.value_range = value_range

    def _augment(self, x, training):
        if self.scale[1] == 0 or self.factor[1] == 0:
            return x
        p = self._uniform(x, *self.factor, (1, 1, 1))
        apply = ops.less(self._uniform(x, 0.0, 1.0, (1, 1, 1)), p)
        d = random_module.uniform((1,), *self.scale, dtype=self._tensor_dtype,
                                  seed=self.seed_generator)
        h_axis, w_axis = _hw_axes(self.data_format)
        h, w = ops.shape(x)[h_axis], ops.shape(x)[w_axis]
        # Keras's alpha and sigma for the distortion d; the kernel sized
        # for the largest d of the range
        size = int(6 * 0.05 * min(h, w) * self.scale[1]) | 1
        y = x if self.data_format == "channels_last" else \
            ops.transpose(x, (0, 2, 3, 1))
        warped = _elastic(y, ops.multiply(d, 0.1 * max(h, w)),
                          ops.multiply(d, 0.05 * min(h, w)), size,
                          self.interpolation,
                          "periodic" if self.fill_mode == "wrap"
                          else self.fill_mode, self.fill_value,
                          self.seed_generator)
        if self.data_format == "channels_first":
            warped = ops.transpose(warped, (0, 3, 1, 2))
        out = ops.where(apply, warped, x)
        return ops.clip(out, float(self.value_range[0]),
                        float(self.value_range[1]))

    def get_config(self):
        return {**super().get_config(), "factor": self.factor,
                "scale": self.scale, "interpolation": self.interpolation,
                "fill_mode": self.fill_mode, "fill_value": self.fill_value,
                "value_range": self.value_range, "seed": self.seed}


class _PolicyLayer(KerasImageLayer):
    """RandAugment / AugMix: Keras's candidate layers, built from one
    factor range."""

    def _candidates(self, names, interpolation, data_format):
        f, vr, seed = self.factor, self.value_range, self.seed
        fmt = {"data_format": data_format}
        make = {
            "random_shear": lambda: RandomShear(
                x_factor=f, y_factor=f, interpolation=interpolation,
                seed=seed, **fmt),
            "random_translation": lambda: RandomTranslation(
                height_factor=f, width_factor=f, interpolation=interpolation,
                seed=seed, **fmt),
            "random_rotation": lambda: RandomRotation(
                factor=f, interpolation=interpolation, seed=seed, **fmt),
            "random_brightness": lambda: RandomBrightness(
                factor=f, value_range=vr, seed=seed, **fmt),
            "random_color_degeneration": lambda: RandomColorDegeneration(
                factor=f, value_range=vr, seed=seed, **fmt),
            "random_contrast": lambda: RandomContrast(
                factor=f, value_range=vr, seed=seed, **fmt),
            "random_sharpness": lambda: RandomSharpness(
                factor=f, value_range=vr, seed=seed, **fmt),
            "random_posterization": lambda: RandomPosterization(
                factor=max(1, int(8 * f[1])), value_range=vr, seed=seed,
                **fmt),
            "solarization": lambda: Solarization(
                addition_factor=f, threshold_factor=f, value_range=vr,
                seed=seed, **fmt),
            "auto_contrast": lambda: AutoContrast(value_range=vr, **fmt),
            "equalization": lambda: Equalization(value_range=vr, **fmt),
        }
        return [make[n]() for n in names]

    def _choose(self, x, choice, layers):
        """The output of layers[choice] (choice a (1,) integer-valued
        float tensor; len(layers) or more: x itself)."""
        out = x
        for k, layer in enumerate(layers):
            out = ops.where(ops.equal(choice, float(k)),
                            layer(x, training=True), out)
        return out


_RAND_AUGMENT = ["random_shear", "random_translation", "random_rotation",
                 "random_brightness", "random_color_degeneration",
                 "random_contrast", "random_sharpness",
                 "random_posterization", "solarization", "auto_contrast",
                 "equalization"]


class RandAugment(_PolicyLayer):
    """In training, applies `num_ops` operations, each chosen at random
    per batch among Keras's eleven (shear, translation, rotation,
    brightness, colour degeneration, contrast, sharpness, posterization,
    solarization, auto-contrast, equalization), of strength `factor`. The
    identity at inference.

    Args:
        value_range: the images' value range, (0, 255) by default.
        num_ops: the number of operations applied (2).
        factor: f in [0, 1] (range [0, f]) or a pair (0.5).
        interpolation: "bilinear" (default) or "nearest".
        seed: an int for reproducible draws.
        data_format: "channels_last" (default) or "channels_first".

    Example:
        >>> images = np.random.uniform(0, 255, (2, 8, 8, 3))
        >>> RandAugment()(images, training=True).shape
        (2, 8, 8, 3)
    """

    def __init__(self, value_range=(0, 255), num_ops=2, factor=0.5,
                 interpolation="bilinear", seed=None, data_format=None,
                 **kwargs):
        super().__init__(seed=seed, data_format=data_format, **kwargs)
        self.value_range = value_range
        self.num_ops = num_ops
        self.factor = _factor_pair("RandAugment", factor, (0, 1))
        self.interpolation = interpolation
        self._ops = self._candidates(_RAND_AUGMENT, interpolation,
                                     self.data_format)

    def _augment(self, x, training):
        n = len(self._ops)
        for _ in range(int(self.num_ops)):
            choice = ops.floor(random_module.uniform(
                (1,), 0.0, float(n), dtype=self._tensor_dtype,
                seed=self.seed_generator))
            x = self._choose(x, choice, self._ops)
        return x

    def get_config(self):
        return {**super().get_config(), "value_range": self.value_range,
                "num_ops": self.num_ops, "factor": self.factor,
                "interpolation": self.interpolation, "seed": self.seed}


_AUG_MIX_ALL = ["random_shear", "random_translation", "random_rotation",
                "random_posterization", "solarization", "auto_contrast",
                "equalization", "random_brightness",
                "random_color_degeneration", "random_contrast",
                "random_sharpness"]


class AugMix(_PolicyLayer):
    """In training, mixes `num_chains` chains of up to `chain_depth`
    random operations (each step one of Keras's operations or none,
    chosen at random per batch) with Dirichlet(alpha) weights, then
    blends the mix with the image by a Beta(alpha, alpha) weight, clipped
    to value_range. The identity at inference.

    Args:
        value_range: the images' value range, (0, 255) by default.
        num_chains: the number of chains (3).
        chain_depth: the operations per chain (3).
        factor: the operations' strength, f in [0, 1] (range [0, f]) or a
            pair (0.3).
        alpha: the Dirichlet and Beta parameter (1.0).
        all_ops: all eleven operations (True) or the seven geometric and
            histogram ones.
        interpolation: "bilinear" (default) or "nearest".
        seed: an int for reproducible draws.
        data_format: "channels_last" (default) or "channels_first".

    Example:
        >>> images = np.random.uniform(0, 255, (2, 8, 8, 3))
        >>> AugMix()(images, training=True).shape
        (2, 8, 8, 3)
    """

    def __init__(self, value_range=(0, 255), num_chains=3, chain_depth=3,
                 factor=0.3, alpha=1.0, all_ops=True,
                 interpolation="bilinear", seed=None, data_format=None,
                 **kwargs):
        super().__init__(seed=seed, data_format=data_format, **kwargs)
        self.value_range = value_range
        self.num_chains = num_chains
        self.chain_depth = chain_depth
        self.factor = _factor_pair("AugMix", factor, (0, 1))
        self.alpha = alpha
        self.all_ops = all_ops
        self.interpolation = interpolation
        names = _AUG_MIX_ALL if all_ops else _AUG_MIX_ALL[:7]
        self._ops = self._candidates(names, interpolation, self.data_format)

    def _augment(self, x, training):
        dt = self._tensor_dtype
        chains = int(self.num_chains)
        g = random_module.gamma((chains,), self.alpha, dtype=dt,
                                seed=self.seed_generator)
        weights = ops.divide(g, ops.sum(g))
        blend = random_module.beta((1,), self.alpha, self.alpha, dtype=dt,
                                   seed=self.seed_generator)
        mixed = ops.zeros_like(x)
        n = len(self._ops)
        for c in range(chains):
            y = x
            for _ in range(int(self.chain_depth)):
                choice = ops.floor(random_module.uniform(
                    (1,), 0.0, float(n + 1), dtype=dt,
                    seed=self.seed_generator))
                y = self._choose(y, choice, self._ops)
            mixed = ops.add(mixed, ops.multiply(
                y, ops.getitem(weights, (slice(c, c + 1),))))
        out = ops.add(ops.multiply(blend, x),
                      ops.multiply(ops.subtract(1.0, blend), mixed))
        return ops.clip(out, float(self.value_range[0]),
                        float(self.value_range[1]))

    def get_config(self):
        return {**super().get_config(), "value_range": self.value_range,
                "num_chains": self.num_chains,
                "chain_depth": self.chain_depth, "factor": self.factor,
                "alpha": self.alpha, "all_ops": self.all_ops,
                "interpolation": self.interpolation, "seed": self.seed}


class Pipeline(Layer):
    """Applies a list of layers in order (Keras 3's Pipeline: a plain
    layer, not a Model), passing `training` on to each.

    Args:
        layers: the layers.
        name: the layer's name.

    Example:
        >>> pipe = Pipeline([AutoContrast(), RandomInvert()])
        >>> pipe(np.zeros((1, 4, 4, 3), "float32"), training=False).shape
        (1, 4, 4, 3)
    """

    def __init__(self, layers, name=None, **kwargs):
        super().__init__(name=name, **kwargs)
        self._pipeline_layers = list(layers)
        self.built = True

    @property
    def layers(self):
        return self._pipeline_layers

    def call(self, inputs, training=None):
        x = inputs
        for layer in self._pipeline_layers:
            x = layer(x, training=training)
        return x

    def compute_output_shape(self, input_shape):
        for layer in self._pipeline_layers:
            input_shape = layer.compute_output_shape(input_shape)
        return input_shape

    def get_config(self):
        from ..saving.serialization_lib import serialize_keras_object

        return {"layers": [serialize_keras_object(layer)
                           for layer in self._pipeline_layers],
                "name": self.name}

    @classmethod
    def from_config(cls, config, custom_objects=None):
        from ..saving.serialization_lib import deserialize_keras_object

        layers = config.get("layers")
        if not isinstance(layers, (list, tuple)):
            raise ValueError(
                "`Pipeline` config must contain a `layers` key mapping to a "
                f"list of serialized layers. Received config with "
                f"layers={layers}.")
        config = dict(config)
        config["layers"] = [deserialize_keras_object(
            layer, custom_objects=custom_objects) for layer in layers]
        return cls(**config)


__all__ = ["AugMix", "CutMix", "MixUp", "Pipeline", "RandAugment",
           "RandomElasticTransform", "RandomErasing", "RandomGaussianBlur",
           "RandomPerspective", "RandomShear"]
