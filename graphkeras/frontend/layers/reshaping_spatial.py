"""Spatial reshaping layers: ZeroPadding1D/2D/3D, Cropping1D/2D/3D,
UpSampling1D/2D/3D (Keras 3 arguments, defaults and output shapes).

They are data movement only: a `pad`, a `slice`, and for nearest
upsampling a repeat (broadcast + reshape) per axis, which fusion turns into
index arithmetic inside the consumer's loop; bilinear upsampling is a
`resize`.
"""

from __future__ import annotations

import numpy as np

from .. import ops
from ..ops.nn import standardize_data_format, standardize_tuple
from ..ops.image import _RESIZE_METHODS
from .input_spec import InputSpec
from .layer import Layer


def _pairs(value, n: int, name: str, layer: str) -> tuple:
    """Keras's padding/cropping argument as n (before, after) pairs: an int
    (all sides), n ints (symmetric per axis) or n pairs."""
    def bad():
        return ValueError(
            f"`{name}` should be either an int, a tuple of {n} ints, or a "
            f"tuple of {n} tuples of 2 ints. Received: {name}={value} "
            f"(layer {layer}).")

    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        if value < 0:
            raise bad()
        return ((int(value), int(value)),) * n
    try:
        items = tuple(value)
    except TypeError:
        raise bad() from None
    if n == 1 and len(items) == 2 and all(isinstance(v, (int, np.integer))
                                          for v in items):
        out = ((int(items[0]), int(items[1])),)
    elif len(items) == n and all(isinstance(v, (int, np.integer))
                                 for v in items):
        out = tuple((int(v), int(v)) for v in items)
    elif len(items) == n and all(isinstance(v, (tuple, list)) and len(v) == 2
                                 for v in items):
        out = tuple((int(a), int(b)) for a, b in items)
    else:
        raise bad()
    if any(a < 0 or b < 0 for a, b in out):
        raise bad()
    return out


class _Spatial(Layer):
    rank = 2

    def __init__(self, data_format=None, **kwargs):
        super().__init__(**kwargs)
        self.data_format = standardize_data_format(data_format)
        self.input_spec = InputSpec(ndim=self.rank + 2)
        self.built = True

    def _axes(self) -> list:
        first = 1 if self.data_format == "channels_last" else 2
        return list(range(first, first + self.rank))


# --- zero padding -----------------------------------------------------------------


class _ZeroPadding(_Spatial):
    def __init__(self, padding, data_format=None, **kwargs):
        super().__init__(data_format=data_format, **kwargs)
        self.padding = _pairs(padding, self.rank, "padding", type(self).__name__)

    def call(self, inputs):
        pads = [(0, 0)] * (self.rank + 2)
        for ax, p in zip(self._axes(), self.padding):
            pads[ax] = p
        return ops.pad(inputs, pads)

    def compute_output_shape(self, input_shape):
        out = list(input_shape)
        for ax, (a, b) in zip(self._axes(), self.padding):
            out[ax] = None if out[ax] is None else out[ax] + a + b
        return tuple(out)

    def get_config(self):
        cfg = {**super().get_config(), "padding": self.padding}
        if self.rank == 1:
            cfg["padding"] = self.padding[0]
        else:
            cfg["data_format"] = self.data_format
        return cfg


class ZeroPadding1D(_ZeroPadding):
    """Pads the steps axis with zeros: padding int or (before, after).

    Example:
        >>> ZeroPadding1D(2)(np.ones((1, 3, 2), "float32")).shape
        (1, 7, 2)
    """

    rank = 1

    def __init__(self, padding=1, **kwargs):
        kwargs.pop("data_format", None)
        super().__init__(padding, **kwargs)


class ZeroPadding2D(_ZeroPadding):
    """Pads height and width with zeros.

    Example:
        >>> ZeroPadding2D(((1, 0), (2, 1)))(np.ones((1, 3, 3, 2), "float32")).shape
        (1, 4, 6, 2)
    """

    rank = 2

    def __init__(self, padding=(1, 1), data_format=None, **kwargs):
        super().__init__(padding, data_format=data_format, **kwargs)


class ZeroPadding3D(_ZeroPadding):
    """Pads depth, height and width with zeros."""

    rank = 3

    def __init__(self, padding=((1, 1), (1, 1), (1, 1)), data_format=None,
                 **kwargs):
        super().__init__(padding, data_format=data_format, **kwargs)


# --- cropping -----------------------------------------------------------------------


class _Cropping(_Spatial):
    def __init__(self, cropping, data_format=None, **kwargs):
        super().__init__(data_format=data_format, **kwargs)
        self.cropping = _pairs(cropping, self.rank, "cropping",
                               type(self).__name__)

    def call(self, inputs):
        shape = ops.shape(inputs)
        starts = [0] * len(shape)
        sizes = list(shape)
        for ax, (a, b) in zip(self._axes(), self.cropping):
            n = shape[ax]
            if n is None or a + b >= n:
                raise ValueError(
                    f'Layer "{self.name}": cropping {self.cropping} does not '
                    f"leave anything of an input of shape {tuple(shape)}; "
                    "the cropped axes must be longer than the crop.")
            starts[ax] = a
            sizes[ax] = n - a - b
        return ops.slice(inputs, starts, sizes)

    def compute_output_shape(self, input_shape):
        out = list(input_shape)
        for ax, (a, b) in zip(self._axes(), self.cropping):
            out[ax] = None if out[ax] is None else out[ax] - a - b
        return tuple(out)

    def get_config(self):
        cfg = {**super().get_config(), "cropping": self.cropping}
        if self.rank == 1:
            cfg["cropping"] = self.cropping[0]
        else:
            cfg["data_format"] = self.data_format
        return cfg


class Cropping1D(_Cropping):
    """Crops the steps axis: cropping int or (start, end).

    Example:
        >>> Cropping1D((1, 2))(np.ones((1, 6, 2), "float32")).shape
        (1, 3, 2)
    """

    rank = 1

    def __init__(self, cropping=(1, 1), **kwargs):
        kwargs.pop("data_format", None)
        super().__init__(cropping, **kwargs)


class Cropping2D(_Cropping):
    """Crops height and width.

    Example:
        >>> Cropping2D(((1, 1), (0, 2)))(np.ones((1, 5, 5, 2), "float32")).shape
        (1, 3, 3, 2)
    """

    rank = 2

    def __init__(self, cropping=((0, 0), (0, 0)), data_format=None, **kwargs):
        super().__init__(cropping, data_format=data_format, **kwargs)


class Cropping3D(_Cropping):
    """Crops depth, height and width."""

    rank = 3

    def __init__(self, cropping=((1, 1), (1, 1), (1, 1)), data_format=None,
                 **kwargs):
        super().__init__(cropping, data_format=data_format, **kwargs)


# --- upsampling ---------------------------------------------------------------------


class _UpSampling(_Spatial):
    def __init__(self, size, data_format=None, interpolation="nearest",
                 **kwargs):
        super().__init__(data_format=data_format, **kwargs)
        self.size = standardize_tuple(size, self.rank, "size")
        self.interpolation = str(interpolation).lower()
        # UpSampling2D resizes with any method of ops.image.resize, as
        # Keras's does ("nearest" repeats rows and columns)
        allowed = _RESIZE_METHODS if self.rank == 2 else ("nearest",)
        if self.interpolation not in allowed:
            raise ValueError(
                f'Layer "{self.name}": interpolation must be one of {allowed}; '
                f"received interpolation={interpolation!r}.")

    def call(self, inputs):
        if self.interpolation != "nearest":
            shape = ops.shape(inputs)
            hw = [shape[ax] for ax in self._axes()]
            return ops.image.resize(
                inputs, (hw[0] * self.size[0], hw[1] * self.size[1]),
                interpolation=self.interpolation,
                data_format=self.data_format)
        x = inputs
        for ax, s in zip(self._axes(), self.size):
            if s != 1:
                x = ops.repeat(x, s, axis=ax)
        return x

    def compute_output_shape(self, input_shape):
        out = list(input_shape)
        for ax, s in zip(self._axes(), self.size):
            out[ax] = None if out[ax] is None else out[ax] * s
        return tuple(out)

    def get_config(self):
        cfg = {**super().get_config(), "size": self.size}
        if self.rank == 1:
            cfg["size"] = self.size[0]
            return cfg
        cfg["data_format"] = self.data_format
        if self.rank == 2:
            cfg["interpolation"] = self.interpolation
        return cfg


class UpSampling1D(_UpSampling):
    """Repeats each step `size` times.

    Example:
        >>> UpSampling1D(3)(np.ones((1, 2, 4), "float32")).shape
        (1, 6, 4)
    """

    rank = 1

    def __init__(self, size=2, **kwargs):
        kwargs.pop("data_format", None)
        super().__init__(size, **kwargs)


class UpSampling2D(_UpSampling):
    """Repeats rows and columns (interpolation="nearest") or resizes with
    ops.image.resize ("bilinear", "bicubic", "lanczos3", "lanczos5",
    "area").

    Example:
        >>> UpSampling2D((2, 3))(np.ones((1, 2, 2, 1), "float32")).shape
        (1, 4, 6, 1)
    """

    rank = 2

    def __init__(self, size=(2, 2), data_format=None, interpolation="nearest",
                 **kwargs):
        super().__init__(size, data_format=data_format,
                         interpolation=interpolation, **kwargs)


class UpSampling3D(_UpSampling):
    """Repeats along depth, height and width."""

    rank = 3

    def __init__(self, size=(2, 2, 2), data_format=None, **kwargs):
        super().__init__(size, data_format=data_format, **kwargs)


__all__ = ["Cropping1D", "Cropping2D", "Cropping3D", "UpSampling1D",
           "UpSampling2D", "UpSampling3D", "ZeroPadding1D", "ZeroPadding2D",
           "ZeroPadding3D"]
