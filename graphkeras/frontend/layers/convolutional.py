"""Convolution layers: Conv1D/2D/3D, Conv1D/2D/3DTranspose,
DepthwiseConv1D/2D, SeparableConv1D/2D (Keras 3 arguments, defaults,
weight names and layouts, output shapes, errors).

Weights have Keras's layouts, so they move to and from Keras unchanged:
- Conv: kernel (*kernel_size, in_channels // groups, filters), bias
  (filters,);
- ConvTranspose: kernel (*kernel_size, filters, in_channels);
- DepthwiseConv: kernel (*kernel_size, in_channels, depth_multiplier), bias
  (in_channels * depth_multiplier,);
- SeparableConv: depthwise_kernel (*kernel_size, in_channels,
  depth_multiplier), pointwise_kernel (1, ..., in_channels *
  depth_multiplier, filters), bias (filters,).

Every layer computes `activation(conv(x, kernel) + bias)` with the ops of
graphkeras.ops (frontend/ops/nn.py); the compiler fuses the bias and the
activation into the convolution kernel.
"""

from __future__ import annotations

import numpy as np

from .. import activations, constraints, initializers, ops, regularizers
from ..ops.nn import (
    deconv_output_length,
    standardize_data_format,
    standardize_padding,
    standardize_tuple,
)
from .core import _ser
from .input_spec import InputSpec
from . import lora
from .layer import Layer


def _positive(value, name: str, allow_none: bool = False):
    if value is None and allow_none:
        return None
    if not isinstance(value, (int, np.integer)) or isinstance(value, bool) \
            or value <= 0:
        raise ValueError(
            f"Invalid value for argument `{name}`. Expected a strictly positive "
            f"value. Received {name}={value}.")
    return int(value)


def conv_output_length(length, kernel, padding, stride, dilation) -> int:
    """Keras's output length of a convolution along one axis."""
    if length is None:
        return None
    eff = (kernel - 1) * dilation + 1
    if padding in ("same", "causal"):
        return -(-length // stride)
    return (length - eff) // stride + 1


class _ConvBase(Layer):
    """What every convolution layer shares: rank, the tuples, padding,
    data_format, activation, bias, the channel axis and the bias add."""

    _allow_causal = False  # padding="causal" (Conv1D only, see BaseConv)

    def __init__(self, rank, kernel_size, strides=1, padding="valid",
                 data_format=None, dilation_rate=1, activation=None,
                 use_bias=True, bias_initializer="zeros", bias_regularizer=None,
                 activity_regularizer=None, bias_constraint=None, **kwargs):
        super().__init__(activity_regularizer=activity_regularizer, **kwargs)
        self.rank = rank
        self.kernel_size = standardize_tuple(kernel_size, rank, "kernel_size")
        self.strides = standardize_tuple(strides, rank, "strides")
        self.dilation_rate = standardize_tuple(dilation_rate, rank,
                                               "dilation_rate")
        # as Keras 3: only the plain 1-D convolution pads "causal" (its
        # depthwise, separable and transposed ones refuse it, so a file
        # written here always loads in Keras)
        self.padding = standardize_padding(
            padding, allow_causal=rank == 1 and self._allow_causal)
        self.data_format = standardize_data_format(data_format)
        self.activation = activations.get(activation)
        self.use_bias = bool(use_bias)
        self.bias_initializer = initializers.get(bias_initializer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.bias_constraint = constraints.get(bias_constraint)
        self.input_spec = InputSpec(min_ndim=rank + 2)
        if max(self.strides) > 1 and max(self.dilation_rate) > 1:
            raise ValueError(
                "`strides > 1` not supported in conjunction with "
                f"`dilation_rate > 1`. Received: strides={self.strides} and "
                f"dilation_rate={self.dilation_rate}")

    @property
    def _channel_axis(self) -> int:
        return -1 if self.data_format == "channels_last" else 1

    def _input_channels(self, input_shape) -> int:
        c = input_shape[self._channel_axis]
        if c is None:
            raise ValueError(
                f'Layer "{self.name}": the channel dimension of the inputs '
                f"should be defined; received input_shape={tuple(input_shape)}.")
        if len(input_shape) != self.rank + 2:
            raise ValueError(
                f'Input 0 of layer "{self.name}" is incompatible with the '
                f"layer: expected ndim={self.rank + 2}, found "
                f"ndim={len(input_shape)}. Full shape received: "
                f"{tuple(input_shape)}")
        return int(c)

    def _spatial(self, input_shape) -> tuple:
        return tuple(input_shape[1:-1] if self.data_format == "channels_last"
                     else input_shape[2:])

    def _check_output(self, input_shape, out_sp) -> None:
        if any(o is not None and o <= 0 for o in out_sp):
            raise ValueError(
                "Computed output size would be zero or negative. Received "
                f"`inputs shape={tuple(input_shape)}`, `kernel_size="
                f"{self.kernel_size}`, `dilation_rate={self.dilation_rate}`, "
                f"`strides={self.strides}`, `padding={self.padding}`.")

    def _add_bias(self, outputs):
        if not self.use_bias:
            return outputs
        if self.data_format == "channels_last":
            return ops.add(outputs, self.bias)
        n = ops.shape(self.bias)[0]
        return ops.add(outputs, ops.reshape(self.bias, (1, n) + (1,) * self.rank))

    def _make_bias(self, n: int) -> None:
        self.bias = self.add_weight(
            name="bias", shape=(n,), initializer=self.bias_initializer,
            regularizer=self.bias_regularizer, constraint=self.bias_constraint
        ) if self.use_bias else None

    def _shape_with(self, input_shape, out_sp, channels) -> tuple:
        if self.data_format == "channels_last":
            return (input_shape[0],) + tuple(out_sp) + (channels,)
        return (input_shape[0], channels) + tuple(out_sp)

    def _conv_out_sp(self, input_shape) -> tuple:
        return tuple(conv_output_length(i, k, self.padding, s, d) for i, k, s, d
                     in zip(self._spatial(input_shape), self.kernel_size,
                            self.strides, self.dilation_rate))

    def get_config(self):
        return {
            **super().get_config(),
            "kernel_size": self.kernel_size,
            "strides": self.strides,
            "padding": self.padding,
            "data_format": self.data_format,
            "dilation_rate": self.dilation_rate,
            "activation": activations.serialize(self.activation),
            "use_bias": self.use_bias,
            "bias_initializer": _ser(self.bias_initializer, initializers),
            "bias_regularizer": _ser(self.bias_regularizer, regularizers),
            "activity_regularizer": _ser(self.activity_regularizer,
                                         regularizers),
            "bias_constraint": _ser(self.bias_constraint, constraints),
        }


class BaseConv(lora.LoraLayer, _ConvBase):
    """N-d convolution layer (the base of Conv1D, Conv2D and Conv3D)."""

    _allow_causal = True
    kernel = lora.lora_weight("kernel")

    def __init__(self, rank, filters, kernel_size, strides=1, padding="valid",
                 data_format=None, dilation_rate=1, groups=1, activation=None,
                 use_bias=True, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", kernel_regularizer=None,
                 bias_regularizer=None, activity_regularizer=None,
                 kernel_constraint=None, bias_constraint=None, lora_rank=None,
                 lora_alpha=None, **kwargs):
        super().__init__(rank, kernel_size, strides=strides, padding=padding,
                         data_format=data_format, dilation_rate=dilation_rate,
                         activation=activation, use_bias=use_bias,
                         bias_initializer=bias_initializer,
                         bias_regularizer=bias_regularizer,
                         activity_regularizer=activity_regularizer,
                         bias_constraint=bias_constraint, **kwargs)
        lora.init_lora(self, lora_rank, lora_alpha)
        self.filters = _positive(filters, "filters")
        if not isinstance(groups, (int, np.integer)) or groups <= 0:
            raise ValueError(
                "The number of groups must be a positive integer. Received: "
                f"groups={groups}.")
        self.groups = int(groups)
        if self.filters % self.groups:
            raise ValueError(
                "The number of filters must be evenly divisible by the number "
                f"of groups. Received: groups={self.groups}, "
                f"filters={self.filters}.")
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.kernel_constraint = constraints.get(kernel_constraint)

    def build(self, input_shape):
        cin = self._input_channels(input_shape)
        if cin % self.groups:
            raise ValueError(
                "The number of input channels must be evenly divisible by the "
                f"number of groups. Received groups={self.groups}, but the "
                f"input has {cin} channels (full input shape is "
                f"{tuple(input_shape)}).")
        self._check_output(input_shape, self._conv_out_sp(input_shape))
        self.input_spec = InputSpec(min_ndim=self.rank + 2,
                                    axes={self._channel_axis: cin})
        self.kernel = self.add_weight(
            name="kernel",
            shape=self.kernel_size + (cin // self.groups, self.filters),
            initializer=self.kernel_initializer,
            regularizer=self.kernel_regularizer,
            constraint=self.kernel_constraint)
        self._make_bias(self.filters)
        self.built = True
        if self.lora_rank:
            self.enable_lora(self.lora_rank, lora_alpha=self.lora_alpha)

    def call(self, inputs):
        y = ops.conv(inputs, self.kernel, strides=self.strides,
                          padding=self.padding, data_format=self.data_format,
                          dilation_rate=self.dilation_rate)
        return self.activation(self._add_bias(y))

    def compute_output_shape(self, input_shape):
        out_sp = self._conv_out_sp(input_shape)
        self._check_output(input_shape, out_sp)
        return self._shape_with(input_shape, out_sp, self.filters)

    def get_config(self):
        return {
            **super().get_config(),
            "filters": self.filters,
            "groups": self.groups,
            "kernel_initializer": _ser(self.kernel_initializer, initializers),
            "kernel_regularizer": _ser(self.kernel_regularizer, regularizers),
            "kernel_constraint": _ser(self.kernel_constraint, constraints),
            **lora.lora_config(self),
        }


class Conv1D(BaseConv):
    """1-D convolution over (batch, steps, channels); padding may also be
    "causal" (output t sees inputs <= t).

    Example:
        >>> Conv1D(4, 3)(np.ones((2, 10, 3), "float32")).shape
        (2, 8, 4)
    """

    def __init__(self, filters, kernel_size, strides=1, padding="valid",
                 data_format=None, dilation_rate=1, groups=1, activation=None,
                 use_bias=True, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", kernel_regularizer=None,
                 bias_regularizer=None, activity_regularizer=None,
                 kernel_constraint=None, bias_constraint=None, **kwargs):
        super().__init__(1, filters, kernel_size, strides=strides,
                         padding=padding, data_format=data_format,
                         dilation_rate=dilation_rate, groups=groups,
                         activation=activation, use_bias=use_bias,
                         kernel_initializer=kernel_initializer,
                         bias_initializer=bias_initializer,
                         kernel_regularizer=kernel_regularizer,
                         bias_regularizer=bias_regularizer,
                         activity_regularizer=activity_regularizer,
                         kernel_constraint=kernel_constraint,
                         bias_constraint=bias_constraint, **kwargs)


class Conv2D(BaseConv):
    """2-D convolution over (batch, height, width, channels) (or channels
    first with data_format="channels_first").

    Example:
        >>> Conv2D(8, 3, padding="same")(np.ones((2, 5, 5, 3), "float32")).shape
        (2, 5, 5, 8)
    """

    def __init__(self, filters, kernel_size, strides=(1, 1), padding="valid",
                 data_format=None, dilation_rate=(1, 1), groups=1,
                 activation=None, use_bias=True,
                 kernel_initializer="glorot_uniform", bias_initializer="zeros",
                 kernel_regularizer=None, bias_regularizer=None,
                 activity_regularizer=None, kernel_constraint=None,
                 bias_constraint=None, **kwargs):
        super().__init__(2, filters, kernel_size, strides=strides,
                         padding=padding, data_format=data_format,
                         dilation_rate=dilation_rate, groups=groups,
                         activation=activation, use_bias=use_bias,
                         kernel_initializer=kernel_initializer,
                         bias_initializer=bias_initializer,
                         kernel_regularizer=kernel_regularizer,
                         bias_regularizer=bias_regularizer,
                         activity_regularizer=activity_regularizer,
                         kernel_constraint=kernel_constraint,
                         bias_constraint=bias_constraint, **kwargs)


class Conv3D(BaseConv):
    """3-D convolution over (batch, depth, height, width, channels).

    Example:
        >>> Conv3D(2, 2)(np.ones((1, 4, 4, 4, 3), "float32")).shape
        (1, 3, 3, 3, 2)
    """

    def __init__(self, filters, kernel_size, strides=(1, 1, 1), padding="valid",
                 data_format=None, dilation_rate=(1, 1, 1), groups=1,
                 activation=None, use_bias=True,
                 kernel_initializer="glorot_uniform", bias_initializer="zeros",
                 kernel_regularizer=None, bias_regularizer=None,
                 activity_regularizer=None, kernel_constraint=None,
                 bias_constraint=None, **kwargs):
        super().__init__(3, filters, kernel_size, strides=strides,
                         padding=padding, data_format=data_format,
                         dilation_rate=dilation_rate, groups=groups,
                         activation=activation, use_bias=use_bias,
                         kernel_initializer=kernel_initializer,
                         bias_initializer=bias_initializer,
                         kernel_regularizer=kernel_regularizer,
                         bias_regularizer=bias_regularizer,
                         activity_regularizer=activity_regularizer,
                         kernel_constraint=kernel_constraint,
                         bias_constraint=bias_constraint, **kwargs)


# --- transposed convolutions ----------------------------------------------------------


class BaseConvTranspose(_ConvBase):
    """N-d transposed convolution (the input gradient of a convolution)."""

    def __init__(self, rank, filters, kernel_size, strides=1, padding="valid",
                 output_padding=None, data_format=None, dilation_rate=1,
                 activation=None, use_bias=True,
                 kernel_initializer="glorot_uniform", bias_initializer="zeros",
                 kernel_regularizer=None, bias_regularizer=None,
                 activity_regularizer=None, kernel_constraint=None,
                 bias_constraint=None, **kwargs):
        super().__init__(rank, kernel_size, strides=strides, padding=padding,
                         data_format=data_format, dilation_rate=dilation_rate,
                         activation=activation, use_bias=use_bias,
                         bias_initializer=bias_initializer,
                         bias_regularizer=bias_regularizer,
                         activity_regularizer=activity_regularizer,
                         bias_constraint=bias_constraint, **kwargs)
        self.filters = _positive(filters, "filters")
        self.output_padding = None if output_padding is None else \
            standardize_tuple(output_padding, rank, "output_padding",
                              allow_zero=True)
        if self.output_padding is not None:
            for s, p in zip(self.strides, self.output_padding):
                if p >= s:
                    raise ValueError(
                        "Strides must be greater than output padding. "
                        f"Received strides={self.strides}, "
                        f"output_padding={self.output_padding}.")
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.kernel_constraint = constraints.get(kernel_constraint)

    def build(self, input_shape):
        cin = self._input_channels(input_shape)
        self.input_spec = InputSpec(min_ndim=self.rank + 2,
                                    axes={self._channel_axis: cin})
        self.kernel = self.add_weight(
            name="kernel", shape=self.kernel_size + (self.filters, cin),
            initializer=self.kernel_initializer,
            regularizer=self.kernel_regularizer,
            constraint=self.kernel_constraint)
        self._make_bias(self.filters)

    def call(self, inputs):
        y = ops.conv_transpose(
            inputs, self.kernel, strides=self.strides, padding=self.padding,
            output_padding=self.output_padding, data_format=self.data_format,
            dilation_rate=self.dilation_rate)
        return self.activation(self._add_bias(y))

    def compute_output_shape(self, input_shape):
        ops_ = self.output_padding or (None,) * self.rank
        out_sp = tuple(
            None if i is None else deconv_output_length(i, k, self.padding, p,
                                                        s, d)
            for i, k, p, s, d in zip(self._spatial(input_shape),
                                     self.kernel_size, ops_, self.strides,
                                     self.dilation_rate))
        return self._shape_with(input_shape, out_sp, self.filters)

    def get_config(self):
        return {
            **super().get_config(),
            "filters": self.filters,
            "output_padding": self.output_padding,
            "kernel_initializer": _ser(self.kernel_initializer, initializers),
            "kernel_regularizer": _ser(self.kernel_regularizer, regularizers),
            "kernel_constraint": _ser(self.kernel_constraint, constraints),
        }


def _transpose_class(rank: int, name: str, doc: str):
    def __init__(self, filters, kernel_size, strides=1, padding="valid",
                 output_padding=None, data_format=None, dilation_rate=1,
                 activation=None, use_bias=True,
                 kernel_initializer="glorot_uniform", bias_initializer="zeros",
                 kernel_regularizer=None, bias_regularizer=None,
                 activity_regularizer=None, kernel_constraint=None,
                 bias_constraint=None, **kwargs):
        BaseConvTranspose.__init__(
            self, rank, filters, kernel_size, strides=strides, padding=padding,
            output_padding=output_padding, data_format=data_format,
            dilation_rate=dilation_rate, activation=activation,
            use_bias=use_bias, kernel_initializer=kernel_initializer,
            bias_initializer=bias_initializer,
            kernel_regularizer=kernel_regularizer,
            bias_regularizer=bias_regularizer,
            activity_regularizer=activity_regularizer,
            kernel_constraint=kernel_constraint,
            bias_constraint=bias_constraint, **kwargs)

    return type(name, (BaseConvTranspose,), {"__init__": __init__,
                                              "__doc__": doc})


Conv1DTranspose = _transpose_class(1, "Conv1DTranspose", """1-D transposed
    convolution (kernel (kernel_size, filters, in_channels)).

    Example:
        >>> Conv1DTranspose(4, 3, strides=2)(np.ones((2, 5, 3), "float32")).shape
        (2, 11, 4)
    """)
Conv2DTranspose = _transpose_class(2, "Conv2DTranspose", """2-D transposed
    convolution (kernel (kh, kw, filters, in_channels)); with
    padding="same" and strides s the output is s times the input.

    Example:
        >>> Conv2DTranspose(4, 3, strides=2, padding="same")(
        ...     np.ones((2, 5, 5, 3), "float32")).shape
        (2, 10, 10, 4)
    """)
Conv3DTranspose = _transpose_class(3, "Conv3DTranspose", """3-D transposed
    convolution (kernel (kd, kh, kw, filters, in_channels)).""")


# --- depthwise and separable convolutions -----------------------------------------


class BaseDepthwiseConv(_ConvBase):
    """Depthwise convolution: each input channel is convolved with its own
    depth_multiplier filters (a convolution with groups = in_channels)."""

    def __init__(self, rank, depth_multiplier, kernel_size, strides=1,
                 padding="valid", data_format=None, dilation_rate=1,
                 activation=None, use_bias=True,
                 depthwise_initializer="glorot_uniform", bias_initializer="zeros",
                 depthwise_regularizer=None, bias_regularizer=None,
                 activity_regularizer=None, depthwise_constraint=None,
                 bias_constraint=None, **kwargs):
        super().__init__(rank, kernel_size, strides=strides, padding=padding,
                         data_format=data_format, dilation_rate=dilation_rate,
                         activation=activation, use_bias=use_bias,
                         bias_initializer=bias_initializer,
                         bias_regularizer=bias_regularizer,
                         activity_regularizer=activity_regularizer,
                         bias_constraint=bias_constraint, **kwargs)
        self.depth_multiplier = _positive(depth_multiplier, "depth_multiplier")
        self.depthwise_initializer = initializers.get(depthwise_initializer)
        self.depthwise_regularizer = regularizers.get(depthwise_regularizer)
        self.depthwise_constraint = constraints.get(depthwise_constraint)

    def build(self, input_shape):
        cin = self._input_channels(input_shape)
        self._check_output(input_shape, self._conv_out_sp(input_shape))
        self.input_spec = InputSpec(min_ndim=self.rank + 2,
                                    axes={self._channel_axis: cin})
        self.kernel = self.add_weight(
            name="kernel",
            shape=self.kernel_size + (cin, self.depth_multiplier),
            initializer=self.depthwise_initializer,
            regularizer=self.depthwise_regularizer,
            constraint=self.depthwise_constraint)
        self._make_bias(cin * self.depth_multiplier)

    def call(self, inputs):
        y = ops.depthwise_conv(
            inputs, self.kernel, strides=self.strides, padding=self.padding,
            data_format=self.data_format, dilation_rate=self.dilation_rate)
        return self.activation(self._add_bias(y))

    def compute_output_shape(self, input_shape):
        out_sp = self._conv_out_sp(input_shape)
        self._check_output(input_shape, out_sp)
        c = input_shape[self._channel_axis]
        return self._shape_with(input_shape, out_sp,
                                None if c is None else c * self.depth_multiplier)

    def get_config(self):
        return {
            **super().get_config(),
            "depth_multiplier": self.depth_multiplier,
            "depthwise_initializer": _ser(self.depthwise_initializer,
                                          initializers),
            "depthwise_regularizer": _ser(self.depthwise_regularizer,
                                          regularizers),
            "depthwise_constraint": _ser(self.depthwise_constraint, constraints),
        }


class DepthwiseConv1D(BaseDepthwiseConv):
    """1-D depthwise convolution."""

    def __init__(self, kernel_size, strides=1, padding="valid",
                 depth_multiplier=1, data_format=None, dilation_rate=1,
                 activation=None, use_bias=True,
                 depthwise_initializer="glorot_uniform", bias_initializer="zeros",
                 depthwise_regularizer=None, bias_regularizer=None,
                 activity_regularizer=None, depthwise_constraint=None,
                 bias_constraint=None, **kwargs):
        super().__init__(1, depth_multiplier, kernel_size, strides=strides,
                         padding=padding, data_format=data_format,
                         dilation_rate=dilation_rate, activation=activation,
                         use_bias=use_bias,
                         depthwise_initializer=depthwise_initializer,
                         bias_initializer=bias_initializer,
                         depthwise_regularizer=depthwise_regularizer,
                         bias_regularizer=bias_regularizer,
                         activity_regularizer=activity_regularizer,
                         depthwise_constraint=depthwise_constraint,
                         bias_constraint=bias_constraint, **kwargs)


class DepthwiseConv2D(BaseDepthwiseConv):
    """2-D depthwise convolution.

    Example:
        >>> DepthwiseConv2D(3, depth_multiplier=2)(
        ...     np.ones((1, 5, 5, 3), "float32")).shape
        (1, 3, 3, 6)
    """

    def __init__(self, kernel_size, strides=(1, 1), padding="valid",
                 depth_multiplier=1, data_format=None, dilation_rate=(1, 1),
                 activation=None, use_bias=True,
                 depthwise_initializer="glorot_uniform", bias_initializer="zeros",
                 depthwise_regularizer=None, bias_regularizer=None,
                 activity_regularizer=None, depthwise_constraint=None,
                 bias_constraint=None, **kwargs):
        super().__init__(2, depth_multiplier, kernel_size, strides=strides,
                         padding=padding, data_format=data_format,
                         dilation_rate=dilation_rate, activation=activation,
                         use_bias=use_bias,
                         depthwise_initializer=depthwise_initializer,
                         bias_initializer=bias_initializer,
                         depthwise_regularizer=depthwise_regularizer,
                         bias_regularizer=bias_regularizer,
                         activity_regularizer=activity_regularizer,
                         depthwise_constraint=depthwise_constraint,
                         bias_constraint=bias_constraint, **kwargs)


class BaseSeparableConv(_ConvBase):
    """A depthwise convolution followed by a pointwise (1x1) convolution."""

    def __init__(self, rank, depth_multiplier, filters, kernel_size, strides=1,
                 padding="valid", data_format=None, dilation_rate=1,
                 activation=None, use_bias=True,
                 depthwise_initializer="glorot_uniform",
                 pointwise_initializer="glorot_uniform", bias_initializer="zeros",
                 depthwise_regularizer=None, pointwise_regularizer=None,
                 bias_regularizer=None, activity_regularizer=None,
                 depthwise_constraint=None, pointwise_constraint=None,
                 bias_constraint=None, **kwargs):
        super().__init__(rank, kernel_size, strides=strides, padding=padding,
                         data_format=data_format, dilation_rate=dilation_rate,
                         activation=activation, use_bias=use_bias,
                         bias_initializer=bias_initializer,
                         bias_regularizer=bias_regularizer,
                         activity_regularizer=activity_regularizer,
                         bias_constraint=bias_constraint, **kwargs)
        self.depth_multiplier = _positive(depth_multiplier, "depth_multiplier")
        self.filters = _positive(filters, "filters")
        self.depthwise_initializer = initializers.get(depthwise_initializer)
        self.pointwise_initializer = initializers.get(pointwise_initializer)
        self.depthwise_regularizer = regularizers.get(depthwise_regularizer)
        self.pointwise_regularizer = regularizers.get(pointwise_regularizer)
        self.depthwise_constraint = constraints.get(depthwise_constraint)
        self.pointwise_constraint = constraints.get(pointwise_constraint)

    def build(self, input_shape):
        cin = self._input_channels(input_shape)
        self._check_output(input_shape, self._conv_out_sp(input_shape))
        self.input_spec = InputSpec(min_ndim=self.rank + 2,
                                    axes={self._channel_axis: cin})
        self.depthwise_kernel = self.add_weight(
            name="depthwise_kernel",
            shape=self.kernel_size + (cin, self.depth_multiplier),
            initializer=self.depthwise_initializer,
            regularizer=self.depthwise_regularizer,
            constraint=self.depthwise_constraint)
        self.pointwise_kernel = self.add_weight(
            name="pointwise_kernel",
            shape=(1,) * self.rank + (cin * self.depth_multiplier, self.filters),
            initializer=self.pointwise_initializer,
            regularizer=self.pointwise_regularizer,
            constraint=self.pointwise_constraint)
        self._make_bias(self.filters)

    def call(self, inputs):
        y = ops.separable_conv(
            inputs, self.depthwise_kernel, self.pointwise_kernel,
            strides=self.strides, padding=self.padding,
            data_format=self.data_format, dilation_rate=self.dilation_rate)
        return self.activation(self._add_bias(y))

    def compute_output_shape(self, input_shape):
        out_sp = self._conv_out_sp(input_shape)
        self._check_output(input_shape, out_sp)
        return self._shape_with(input_shape, out_sp, self.filters)

    def get_config(self):
        return {
            **super().get_config(),
            "depth_multiplier": self.depth_multiplier,
            "filters": self.filters,
            "depthwise_initializer": _ser(self.depthwise_initializer,
                                          initializers),
            "pointwise_initializer": _ser(self.pointwise_initializer,
                                          initializers),
            "depthwise_regularizer": _ser(self.depthwise_regularizer,
                                          regularizers),
            "pointwise_regularizer": _ser(self.pointwise_regularizer,
                                          regularizers),
            "depthwise_constraint": _ser(self.depthwise_constraint, constraints),
            "pointwise_constraint": _ser(self.pointwise_constraint, constraints),
        }


def _separable_class(rank: int, name: str, doc: str):
    def __init__(self, filters, kernel_size, strides=1, padding="valid",
                 data_format=None, dilation_rate=1, depth_multiplier=1,
                 activation=None, use_bias=True,
                 depthwise_initializer="glorot_uniform",
                 pointwise_initializer="glorot_uniform", bias_initializer="zeros",
                 depthwise_regularizer=None, pointwise_regularizer=None,
                 bias_regularizer=None, activity_regularizer=None,
                 depthwise_constraint=None, pointwise_constraint=None,
                 bias_constraint=None, **kwargs):
        BaseSeparableConv.__init__(
            self, rank, depth_multiplier, filters, kernel_size, strides=strides,
            padding=padding, data_format=data_format,
            dilation_rate=dilation_rate, activation=activation,
            use_bias=use_bias, depthwise_initializer=depthwise_initializer,
            pointwise_initializer=pointwise_initializer,
            bias_initializer=bias_initializer,
            depthwise_regularizer=depthwise_regularizer,
            pointwise_regularizer=pointwise_regularizer,
            bias_regularizer=bias_regularizer,
            activity_regularizer=activity_regularizer,
            depthwise_constraint=depthwise_constraint,
            pointwise_constraint=pointwise_constraint,
            bias_constraint=bias_constraint, **kwargs)

    return type(name, (BaseSeparableConv,), {"__init__": __init__,
                                              "__doc__": doc})


SeparableConv1D = _separable_class(1, "SeparableConv1D", """1-D separable
    convolution (depthwise, then pointwise).""")
SeparableConv2D = _separable_class(2, "SeparableConv2D", """2-D separable
    convolution (depthwise, then pointwise).

    Example:
        >>> SeparableConv2D(4, 3)(np.ones((1, 5, 5, 3), "float32")).shape
        (1, 3, 3, 4)
    """)

__all__ = [
    "Conv1D", "Conv1DTranspose", "Conv2D", "Conv2DTranspose", "Conv3D",
    "Conv3DTranspose", "DepthwiseConv1D", "DepthwiseConv2D", "SeparableConv1D",
    "SeparableConv2D",
]
