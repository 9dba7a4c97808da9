"""SpatialDropout1D/2D/3D: dropout of whole feature maps (one keep/drop
draw per sample and channel, shared over the spatial axes), as Keras 3
does. The noise is counter-based, like Dropout's (core.py)."""

from __future__ import annotations

from .. import ops
from .. import random as random_module
from ..ops.nn import standardize_data_format
from .core import Dropout
from .input_spec import InputSpec


class _SpatialDropout(Dropout):
    rank = 1

    def __init__(self, rate, seed=None, name=None, dtype=None,
                 data_format=None, **kwargs):
        super().__init__(rate, seed=seed, name=name, dtype=dtype, **kwargs)
        self.data_format = standardize_data_format(data_format)
        self.input_spec = InputSpec(ndim=self.rank + 2)

    def _noise_shape(self, inputs) -> tuple:
        shape = ops.shape(inputs)
        if self.data_format == "channels_last":
            return (shape[0],) + (1,) * self.rank + (shape[-1],)
        return (shape[0], shape[1]) + (1,) * self.rank

    def call(self, inputs, training=False):
        if training and self.rate > 0:
            return random_module.dropout(inputs, self.rate,
                                         noise_shape=self._noise_shape(inputs),
                                         seed=self.seed_generator)
        return inputs

    def get_config(self):
        cfg = {**super().get_config()}
        cfg.pop("noise_shape", None)
        # Keras 3's SpatialDropout has no `trainable` argument: a config
        # holding one does not load there
        cfg.pop("trainable", None)
        if self.rank > 1:
            cfg["data_format"] = self.data_format
        return cfg


class SpatialDropout1D(_SpatialDropout):
    """Drops whole channels of (batch, steps, channels) inputs while
    training.

    Example:
        >>> SpatialDropout1D(0.5)(np.ones((2, 4, 3), "float32")).shape
        (2, 4, 3)
    """

    rank = 1

    def __init__(self, rate, seed=None, name=None, dtype=None, **kwargs):
        super().__init__(rate, seed=seed, name=name, dtype=dtype, **kwargs)


class SpatialDropout2D(_SpatialDropout):
    """Drops whole feature maps of images while training."""

    rank = 2

    def __init__(self, rate, data_format=None, seed=None, name=None, dtype=None,
                 **kwargs):
        super().__init__(rate, seed=seed, name=name, dtype=dtype,
                         data_format=data_format, **kwargs)


class SpatialDropout3D(_SpatialDropout):
    """Drops whole feature maps of volumes while training."""

    rank = 3

    def __init__(self, rate, data_format=None, seed=None, name=None, dtype=None,
                 **kwargs):
        super().__init__(rate, seed=seed, name=name, dtype=dtype,
                         data_format=data_format, **kwargs)


__all__ = ["SpatialDropout1D", "SpatialDropout2D", "SpatialDropout3D"]
