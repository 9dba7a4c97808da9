"""Pooling layers: MaxPooling1D/2D/3D, AveragePooling1D/2D/3D and the
global poolings GlobalAveragePooling1D/2D/3D, GlobalMaxPooling1D/2D/3D
(Keras 3 arguments, defaults, output shapes).

Window pooling records one max_pool / avg_pool op ("same" padding is never
counted: max ignores it, the average divides by the elements inside);
global pooling is a reduce_mean / reduce_max over the spatial axes.
"""

from __future__ import annotations

from .. import ops
from ..ops.nn import standardize_data_format, standardize_padding, standardize_tuple
from .convolutional import conv_output_length
from .input_spec import InputSpec
from .layer import Layer


class BasePooling(Layer):
    """Max or average pooling over windows of `pool_size` (strides default
    to pool_size)."""

    mode = "max"

    def __init__(self, pool_size, strides, pool_dimensions, padding="valid",
                 data_format=None, name=None, **kwargs):
        super().__init__(name=name, **kwargs)
        self.pool_dimensions = pool_dimensions
        self.pool_size = standardize_tuple(pool_size, pool_dimensions,
                                           "pool_size")
        strides = pool_size if strides is None else strides
        self.strides = standardize_tuple(strides, pool_dimensions, "strides")
        self.padding = standardize_padding(padding)
        self.data_format = standardize_data_format(data_format)
        self.input_spec = InputSpec(ndim=pool_dimensions + 2)
        self.built = True

    def call(self, inputs):
        fn = ops.max_pool if self.mode == "max" else ops.average_pool
        return fn(inputs, pool_size=self.pool_size, strides=self.strides,
                  padding=self.padding, data_format=self.data_format)

    def compute_output_shape(self, input_shape):
        last = self.data_format == "channels_last"
        sp = input_shape[1:-1] if last else input_shape[2:]
        out = tuple(conv_output_length(i, k, self.padding, s, 1)
                    for i, k, s in zip(sp, self.pool_size, self.strides))
        if last:
            return (input_shape[0],) + out + (input_shape[-1],)
        return (input_shape[0], input_shape[1]) + out

    def get_config(self):
        return {**super().get_config(), "pool_size": self.pool_size,
                "padding": self.padding, "strides": self.strides,
                "data_format": self.data_format}


def _pooling_class(name: str, dims: int, mode: str, default_pool, doc: str):
    def __init__(self, pool_size=default_pool, strides=None, padding="valid",
                 data_format=None, name=None, **kwargs):
        BasePooling.__init__(self, pool_size, strides, dims, padding=padding,
                             data_format=data_format, name=name, **kwargs)

    return type(name, (BasePooling,), {"__init__": __init__, "mode": mode,
                                        "__doc__": doc})


MaxPooling1D = _pooling_class("MaxPooling1D", 1, "max", 2, """Max pooling
    over steps: (batch, steps, channels).

    Example:
        >>> MaxPooling1D()(np.ones((2, 6, 3), "float32")).shape
        (2, 3, 3)
    """)
MaxPooling2D = _pooling_class("MaxPooling2D", 2, "max", (2, 2), """Max
    pooling over height and width.

    Example:
        >>> MaxPooling2D()(np.ones((2, 6, 6, 3), "float32")).shape
        (2, 3, 3, 3)
    """)
MaxPooling3D = _pooling_class("MaxPooling3D", 3, "max", (2, 2, 2),
                              """Max pooling over depth, height and width.""")
AveragePooling1D = _pooling_class("AveragePooling1D", 1, "average", 2,
                                  """Average pooling over steps.""")
AveragePooling2D = _pooling_class("AveragePooling2D", 2, "average", (2, 2),
                                  """Average pooling over height and width.

    Example:
        >>> AveragePooling2D(3, strides=1, padding="same")(
        ...     np.ones((1, 4, 4, 2), "float32")).shape
        (1, 4, 4, 2)
    """)
AveragePooling3D = _pooling_class("AveragePooling3D", 3, "average", (2, 2, 2),
                                  """Average pooling over depth, height and
    width.""")


# --- global pooling -------------------------------------------------------------------


class BaseGlobalPooling(Layer):
    """Mean or max over every spatial axis (keepdims keeps them as 1s)."""

    mode = "max"

    def __init__(self, pool_dimensions, data_format=None, keepdims=False,
                 **kwargs):
        super().__init__(**kwargs)
        self.pool_dimensions = pool_dimensions
        self.data_format = standardize_data_format(data_format)
        self.keepdims = bool(keepdims)
        self.input_spec = InputSpec(ndim=pool_dimensions + 2)
        self.built = True
        # the 1D mean takes the mask (the mean of the unmasked steps) and
        # ends it, as Keras 3's; the others do not take one
        self.supports_masking = pool_dimensions == 1 and self.mode == "avg"

    def compute_mask(self, inputs, mask=None):
        return None  # the steps are pooled away

    def _axes(self) -> list:
        if self.data_format == "channels_last":
            return list(range(1, self.pool_dimensions + 1))
        return list(range(2, self.pool_dimensions + 2))

    def call(self, inputs, mask=None):
        x = inputs
        if not ops.dtype(x).startswith("float"):
            x = ops.cast(x, "float32")
        axes = self._axes()
        if mask is not None and self.pool_dimensions == 1 and self.mode == "avg":
            # the mean over the unmasked steps only (Keras's masked mean)
            m = ops.cast(mask, ops.dtype(x))
            m = ops.expand_dims(m, -1 if self.data_format == "channels_last"
                                else 1)
            total = ops.sum(ops.multiply(x, m), axis=axes, keepdims=self.keepdims)
            count = ops.sum(m, axis=axes, keepdims=self.keepdims)
            return ops.divide(total, count)
        fn = ops.mean if self.mode == "avg" else ops.max
        return fn(x, axis=axes, keepdims=self.keepdims)

    def compute_output_shape(self, input_shape):
        axes = self._axes()
        if self.keepdims:
            return tuple(1 if i in axes else d for i, d in enumerate(input_shape))
        return tuple(d for i, d in enumerate(input_shape) if i not in axes)

    def get_config(self):
        return {**super().get_config(), "data_format": self.data_format,
                "keepdims": self.keepdims}


def _global_class(name: str, dims: int, mode: str, doc: str):
    def __init__(self, data_format=None, keepdims=False, **kwargs):
        BaseGlobalPooling.__init__(self, dims, data_format=data_format,
                                   keepdims=keepdims, **kwargs)

    cls = type(name, (BaseGlobalPooling,), {"__init__": __init__, "mode": mode,
                                             "__doc__": doc})
    return cls


GlobalAveragePooling1D = _global_class("GlobalAveragePooling1D", 1, "avg",
                                       """The mean over steps (of the unmasked
    steps when a mask is given).

    Example:
        >>> GlobalAveragePooling1D()(np.ones((2, 5, 3), "float32")).shape
        (2, 3)
    """)
GlobalAveragePooling2D = _global_class("GlobalAveragePooling2D", 2, "avg",
                                       """The mean over height and width.""")
GlobalAveragePooling3D = _global_class("GlobalAveragePooling3D", 3, "avg",
                                       """The mean over depth, height and
    width.""")
GlobalMaxPooling1D = _global_class("GlobalMaxPooling1D", 1, "max",
                                   """The maximum over steps.""")
GlobalMaxPooling2D = _global_class("GlobalMaxPooling2D", 2, "max",
                                   """The maximum over height and width.""")
GlobalMaxPooling3D = _global_class("GlobalMaxPooling3D", 3, "max",
                                   """The maximum over depth, height and
    width.""")

__all__ = [
    "AveragePooling1D", "AveragePooling2D", "AveragePooling3D",
    "GlobalAveragePooling1D", "GlobalAveragePooling2D", "GlobalAveragePooling3D",
    "GlobalMaxPooling1D", "GlobalMaxPooling2D", "GlobalMaxPooling3D",
    "MaxPooling1D", "MaxPooling2D", "MaxPooling3D",
]
