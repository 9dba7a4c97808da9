"""Image preprocessing layers that run inside the model: Rescaling and
Resizing (Keras 3 arguments and defaults). Both cast their inputs to the
layer's float dtype first, so uint8 images can be fed as they are."""

from __future__ import annotations

import numpy as np

from .. import ops
from ..ops.nn import standardize_data_format
from .layer import Layer


def _as_float(x, dt: str):
    """x cast to the float dtype dt; NumPy images of any integer type
    (uint8 included, which graphkeras tensors do not have) are accepted."""
    if isinstance(x, np.ndarray) or np.isscalar(x):
        return np.asarray(x, dt)
    return x if ops.dtype(x) == dt else ops.cast(x, dt)


class Rescaling(Layer):
    """`inputs * scale + offset` (e.g. scale=1/255 for [0, 255] images).

    Args:
        scale: a float, or an array broadcasting against the inputs.
        offset: likewise (default 0.0).

    Example:
        >>> Rescaling(1 / 255)(np.full((1, 2, 2, 3), 255, "uint8")).max()
        1.0
    """

    def __init__(self, scale, offset=0.0, **kwargs):
        super().__init__(**kwargs)
        self.scale = scale
        self.offset = offset
        self.supports_masking = True
        self.built = True

    def call(self, inputs):
        dt = self._tensor_dtype
        x = _as_float(inputs, dt)
        scale = np.asarray(self.scale, dt)
        offset = np.asarray(self.offset, dt)
        return ops.add(ops.multiply(x, scale if scale.ndim else float(scale)),
                       offset if offset.ndim else float(offset))

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self):
        def plain(v):
            return np.asarray(v).tolist() if isinstance(v, np.ndarray) else v

        return {**super().get_config(), "scale": plain(self.scale),
                "offset": plain(self.offset)}


class Resizing(Layer):
    """Resizes images to (height, width) (bilinear, nearest, bicubic,
    lanczos3, lanczos5 or area, half-pixel conventions, antialias when
    shrinking if asked, as ops.image.resize; optionally cropping or padding
    to the target aspect ratio first).

    Example:
        >>> Resizing(4, 6)(np.ones((2, 8, 8, 3), "float32")).shape
        (2, 4, 6, 3)
    """

    def __init__(self, height, width, interpolation="bilinear",
                 crop_to_aspect_ratio=False, pad_to_aspect_ratio=False,
                 fill_mode="constant", fill_value=0.0, antialias=False,
                 data_format=None, **kwargs):
        super().__init__(**kwargs)
        self.height = int(height)
        self.width = int(width)
        self.interpolation = interpolation
        self.crop_to_aspect_ratio = crop_to_aspect_ratio
        self.pad_to_aspect_ratio = pad_to_aspect_ratio
        self.fill_mode = fill_mode
        self.fill_value = fill_value
        self.antialias = antialias
        self.data_format = standardize_data_format(data_format)
        methods = ("bilinear", "nearest", "lanczos3", "lanczos5", "bicubic",
                   "area")
        if str(interpolation).lower() not in methods:
            raise ValueError(
                f'Layer "{self.name}" supports interpolation in {methods}; '
                f"received interpolation={interpolation!r}.")
        self.built = True

    def call(self, inputs):
        x = _as_float(inputs, self._tensor_dtype)
        return ops.image.resize(
            x, (self.height, self.width), interpolation=self.interpolation,
            antialias=self.antialias,
            crop_to_aspect_ratio=self.crop_to_aspect_ratio,
            pad_to_aspect_ratio=self.pad_to_aspect_ratio,
            fill_mode=self.fill_mode, fill_value=self.fill_value,
            data_format=self.data_format)

    def compute_output_shape(self, input_shape):
        shape = list(input_shape)
        h = -3 if self.data_format == "channels_last" else -2
        shape[h], shape[h + 1] = self.height, self.width
        return tuple(shape)

    def get_config(self):
        return {
            **super().get_config(),
            "height": self.height, "width": self.width,
            "interpolation": self.interpolation,
            "crop_to_aspect_ratio": self.crop_to_aspect_ratio,
            "pad_to_aspect_ratio": self.pad_to_aspect_ratio,
            "fill_mode": self.fill_mode, "fill_value": self.fill_value,
            "antialias": self.antialias, "data_format": self.data_format,
        }


__all__ = ["Rescaling", "Resizing"]
