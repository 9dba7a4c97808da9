"""Adaptive pooling layers, Keras 3's: AdaptiveAveragePooling1D/2D/3D and
AdaptiveMaxPooling1D/2D/3D pool any spatial size to a fixed
`output_size` with ops.adaptive_average_pool / adaptive_max_pool
(frontend/ops/nn.py: output i along an axis of length L pools
[floor(i L / n), ceil((i + 1) L / n)), as Keras 3 and PyTorch)."""

from __future__ import annotations

import numpy as np

from .. import ops
from ..ops.nn import standardize_data_format
from .input_spec import InputSpec
from .layer import Layer

_WHAT = {1: "integer or tuple of 1 integer", 2: "integer or (height, width) "
         "tuple", 3: "integer or (depth, height, width) tuple"}


class _AdaptivePooling(Layer):
    """What the six layers share: output_size, data_format, config."""

    _rank = 1
    _op = None

    def __init__(self, output_size, data_format=None, **kwargs):
        n = self._rank
        if isinstance(output_size, (int, np.integer)) and not isinstance(
                output_size, bool):
            output_size = (int(output_size),) * n
        elif isinstance(output_size, (tuple, list)) and len(output_size) == n:
            output_size = tuple(output_size)
        else:
            raise TypeError(
                f"`output_size` must be an {_WHAT[n]}. Received: "
                f"{output_size} of type {type(output_size)}")
        if not all(isinstance(d, (int, np.integer)) and not isinstance(
                d, bool) and d > 0 for d in output_size):
            raise ValueError(
                "`output_size` must hold positive integers. Received: "
                f"output_size={output_size}")
        super().__init__(**kwargs)
        self.output_size = tuple(int(d) for d in output_size)
        self.data_format = standardize_data_format(data_format)
        self.input_spec = InputSpec(ndim=n + 2)

    def call(self, inputs):
        return type(self)._op(inputs, output_size=self.output_size,
                              data_format=self.data_format)

    def compute_output_shape(self, input_shape):
        shape = tuple(input_shape)
        if self.data_format == "channels_last":
            return (shape[0], *self.output_size, shape[-1])
        return (shape[0], shape[1], *self.output_size)

    def get_config(self):
        return {**super().get_config(), "output_size": self.output_size,
                "data_format": self.data_format}


def _doc(kind: str, rank: int) -> str:
    sp = {1: "steps", 2: "height, width", 3: "depth, height, width"}[rank]
    return f"""Adaptive {kind} pooling over {rank} spatial dimension(s) to a
    fixed output size (Keras 3's).

    Args:
        output_size: an int, or {rank} int(s): the output's ({sp}).
        data_format: "channels_last" (default: the global image data
            format) or "channels_first".
    """


class AdaptiveAveragePooling1D(_AdaptivePooling):
    __doc__ = _doc("average", 1) + """
    Example:
        >>> AdaptiveAveragePooling1D(4)(np.ones((1, 10, 3), "float32")).shape
        (1, 4, 3)
    """
    _rank, _op = 1, staticmethod(ops.adaptive_average_pool)


class AdaptiveAveragePooling2D(_AdaptivePooling):
    __doc__ = _doc("average", 2) + """
    Example:
        >>> AdaptiveAveragePooling2D((2, 3))(np.ones((1, 7, 8, 3))).shape
        (1, 2, 3, 3)
    """
    _rank, _op = 2, staticmethod(ops.adaptive_average_pool)


class AdaptiveAveragePooling3D(_AdaptivePooling):
    __doc__ = _doc("average", 3) + """
    Example:
        >>> AdaptiveAveragePooling3D(2)(np.ones((1, 5, 5, 5, 1))).shape
        (1, 2, 2, 2, 1)
    """
    _rank, _op = 3, staticmethod(ops.adaptive_average_pool)


class AdaptiveMaxPooling1D(_AdaptivePooling):
    __doc__ = _doc("max", 1) + """
    Example:
        >>> AdaptiveMaxPooling1D(4)(np.ones((1, 10, 3), "float32")).shape
        (1, 4, 3)
    """
    _rank, _op = 1, staticmethod(ops.adaptive_max_pool)


class AdaptiveMaxPooling2D(_AdaptivePooling):
    __doc__ = _doc("max", 2) + """
    Example:
        >>> AdaptiveMaxPooling2D((2, 3))(np.ones((1, 7, 8, 3))).shape
        (1, 2, 3, 3)
    """
    _rank, _op = 2, staticmethod(ops.adaptive_max_pool)


class AdaptiveMaxPooling3D(_AdaptivePooling):
    __doc__ = _doc("max", 3) + """
    Example:
        >>> AdaptiveMaxPooling3D(2)(np.ones((1, 5, 5, 5, 1))).shape
        (1, 2, 2, 2, 1)
    """
    _rank, _op = 3, staticmethod(ops.adaptive_max_pool)
