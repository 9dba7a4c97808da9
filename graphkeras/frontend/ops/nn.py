"""`graphkeras.ops` for images and sequences: conv, conv_transpose,
depthwise_conv, separable_conv, max_pool, average_pool, and
`ops.image.resize`, with Keras 3's arguments and semantics.

Keras's padding modes become explicit pads here, so the IR only knows
numbers: "valid" pads nothing, "same" pads `total = max((ceil(I / s) - 1) s
+ (K - 1) d + 1 - I, 0)` split as (total // 2, total - total // 2) (more
after than before, as TensorFlow and JAX do), "causal" (1-D convs) pads
(K - 1) d before. The IR ops work channels-last; channels_first inputs are
transposed in and out (simplify cancels the transposes between layers).
"""

from __future__ import annotations

import numpy as np

from ..ir.ops.conv import RESIZE_METHODS
from . import ops
from .ops import keras_op

_LAYOUTS = ("channels_last", "channels_first")


# --- argument helpers ---------------------------------------------------------------


def standardize_data_format(data_format) -> str:
    """None means the global image data format (`keras.config.
    image_data_format()`, "channels_last" unless set)."""
    if data_format is None:
        from ..config import image_data_format

        return image_data_format()
    fmt = str(data_format).lower()
    if fmt not in _LAYOUTS:
        raise ValueError(
            "The `data_format` argument must be one of {'channels_first', "
            f"'channels_last'}}. Received: data_format={data_format}")
    return fmt


def standardize_tuple(value, n: int, name: str, allow_zero: bool = False) -> tuple:
    """An int or n ints as a tuple of n ints (Keras's rules and wording)."""
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        out = (int(value),) * n
    else:
        try:
            out = tuple(value)
        except TypeError:
            raise ValueError(
                f"The `{name}` argument must be a tuple of {n} integers. "
                f"Received {name}={value}") from None
        if len(out) != n or not all(
                isinstance(v, (int, np.integer)) and not isinstance(v, bool)
                for v in out):
            raise ValueError(
                f"The `{name}` argument must be a tuple of {n} integers. "
                f"Received {name}={value}")
        out = tuple(int(v) for v in out)
    bad = [v for v in out if v < 0 or (v == 0 and not allow_zero)]
    if bad:
        req = "> 0" if not allow_zero else ">= 0"
        raise ValueError(
            f"The `{name}` argument must be a tuple of {n} integers. Received "
            f"{name}={value} including values {bad} that do not satisfy "
            f"`value {req}`")
    return out


def standardize_padding(padding, allow_causal: bool = False) -> str:
    if isinstance(padding, (tuple, list)):
        return padding
    p = str(padding).lower()
    allowed = ("valid", "same", "causal") if allow_causal else ("valid", "same")
    if p not in allowed:
        raise ValueError(
            f"The `padding` argument must be a list/tuple or one of {allowed}. "
            f"Received: {padding}")
    return p


def _pads(padding: str, sizes, kernel, strides, dilation) -> tuple:
    out = []
    for i, k, s, d in zip(sizes, kernel, strides, dilation):
        eff = (k - 1) * d + 1
        if padding == "valid":
            out.append((0, 0))
        elif padding == "causal":
            out.append((eff - 1, 0))
        else:
            total = max((-(-i // s) - 1) * s + eff - i, 0)
            out.append((total // 2, total - total // 2))
    return tuple(out)


def _rank(x) -> int:
    return len(ops.shape(x))


def _static_spatial(x, what: str) -> tuple:
    shape = ops.shape(x)
    sp = tuple(shape[1:-1])
    if any(d is None for d in sp) or shape[-1] is None:
        raise ValueError(
            f"{what} needs static spatial and channel dimensions; received an "
            f"input of shape {tuple(shape)}.")
    return sp


def _channels_last(x, data_format: str):
    if data_format == "channels_last":
        return x
    r = _rank(x)
    return ops.transpose(x, (0,) + tuple(range(2, r)) + (1,))


def _restore(y, data_format: str):
    if data_format == "channels_last":
        return y
    r = _rank(y)
    return ops.transpose(y, (0, r - 1) + tuple(range(1, r - 1)))


def _floats(x, like=None):
    dt = ops.dtype(x)
    if dt.startswith("float"):
        return x
    return ops.cast(x, ops.dtype(like) if like is not None and ops.dtype(
        like).startswith("float") else "float32")


def _check_rank(x, what: str) -> int:
    r = _rank(x)
    if r not in (3, 4, 5):
        raise ValueError(
            f"{what} takes inputs of rank 3, 4 or 5 (batch, 1 to 3 spatial "
            f"dimensions, channels); received an input of shape "
            f"{tuple(ops.shape(x))}.")
    return r - 2


# --- convolutions ------------------------------------------------------------------


@keras_op
def conv(inputs, kernel, strides=1, padding="valid", data_format=None,
         dilation_rate=1):
    """N-d convolution; kernel (*kernel_size, in_channels // groups,
    out_channels), groups = in_channels // kernel.shape[-2]."""
    fmt = standardize_data_format(data_format)
    x = _floats(_channels_last(inputs, fmt))
    D = _check_rank(x, "ops.conv")
    padding = standardize_padding(padding, allow_causal=D == 1)
    strides = standardize_tuple(strides, D, "strides")
    dilation = standardize_tuple(dilation_rate, D, "dilation_rate")
    kshape = tuple(ops.shape(kernel))
    sp = _static_spatial(x, "ops.conv")
    cin = ops.shape(x)[-1]
    if len(kshape) != D + 2 or cin % kshape[-2]:
        raise ValueError(
            f"ops.conv: the kernel must have shape (*kernel_size, "
            f"in_channels // groups, out_channels) with {D} spatial "
            f"dimensions and in_channels ({cin}) divisible by its axis -2; "
            f"received a kernel of shape {kshape}.")
    pads = _pads(padding, sp, kshape[:D], strides, dilation)
    y = ops._apply("conv", x, _floats(kernel, x), strides=strides, pads=pads,
                   dilation=dilation, groups=cin // kshape[-2])
    return _restore(y, fmt)


def deconv_output_length(length, kernel, padding, output_padding, stride,
                         dilation) -> int:
    """Keras's output length of a transposed convolution."""
    eff = kernel + (kernel - 1) * (dilation - 1)
    if output_padding is None:
        if padding == "valid":
            return length * stride + max(eff - stride, 0)
        return length * stride
    pad = eff // 2 if padding == "same" else 0
    return (length - 1) * stride + eff - 2 * pad + output_padding


def _transpose_pads(kernel, stride, dilation, padding, output_padding) -> tuple:
    """(left, right) padding of the stride-dilated input of a transposed
    conv, as Keras computes it for its JAX backend."""
    eff = (kernel - 1) * dilation + 1
    if padding == "valid":
        op = max(eff, stride) - eff if output_padding is None else output_padding
        return eff - 1, eff - 1 + op
    if output_padding is None:
        pad_len = stride + eff - 2
    else:
        pad_len = eff + eff % 2 - 2 + output_padding
    left = min(pad_len // 2 + pad_len % 2, eff - 1)
    return left, pad_len - left


@keras_op
def conv_transpose(inputs, kernel, strides, padding="valid", output_padding=None,
                   data_format=None, dilation_rate=1):
    """Transposed convolution; kernel (*kernel_size, out_channels,
    in_channels). It is the input gradient of conv with that kernel."""
    fmt = standardize_data_format(data_format)
    x = _floats(_channels_last(inputs, fmt))
    D = _check_rank(x, "ops.conv_transpose")
    padding = standardize_padding(padding)
    strides = standardize_tuple(strides, D, "strides")
    dilation = standardize_tuple(dilation_rate, D, "dilation_rate")
    if output_padding is not None:
        output_padding = standardize_tuple(output_padding, D, "output_padding",
                                           allow_zero=True)
    kshape = tuple(ops.shape(kernel))
    sp = _static_spatial(x, "ops.conv_transpose")
    if len(kshape) != D + 2 or kshape[-1] != ops.shape(x)[-1]:
        raise ValueError(
            f"ops.conv_transpose: the kernel must have shape (*kernel_size, "
            f"out_channels, in_channels={ops.shape(x)[-1]}) with {D} spatial "
            f"dimensions; received a kernel of shape {kshape}.")
    pads, shape = [], []
    for ax in range(D):
        k, s, d = kshape[ax], strides[ax], dilation[ax]
        opad = None if output_padding is None else output_padding[ax]
        left, right = _transpose_pads(k, s, d, padding, opad)
        eff = (k - 1) * d + 1
        pads.append((eff - 1 - left, eff - 1 - right))
        shape.append((sp[ax] - 1) * s + left + right - eff + 2)
    y = ops._apply("conv_transpose", x, _floats(kernel, x), strides=strides,
                   pads=tuple(pads), dilation=dilation, groups=1,
                   shape=tuple(shape))
    return _restore(y, fmt)


@keras_op
def depthwise_conv(inputs, kernel, strides=1, padding="valid", data_format=None,
                   dilation_rate=1):
    """Depthwise convolution; kernel (*kernel_size, in_channels,
    depth_multiplier); output channel c * depth_multiplier + m."""
    kshape = tuple(ops.shape(kernel))
    grouped = ops.reshape(kernel, kshape[:-2] + (1, kshape[-2] * kshape[-1]))
    return conv.raw(inputs, grouped, strides=strides, padding=padding,
                    data_format=data_format, dilation_rate=dilation_rate)


@keras_op
def separable_conv(inputs, depthwise_kernel, pointwise_kernel, strides=1,
                   padding="valid", data_format=None, dilation_rate=1):
    """A depthwise convolution followed by a 1x1 convolution."""
    y = depthwise_conv.raw(inputs, depthwise_kernel, strides=strides,
                           padding=padding, data_format=data_format,
                           dilation_rate=dilation_rate)
    return conv.raw(y, pointwise_kernel, strides=1, padding="valid",
                    data_format=data_format, dilation_rate=1)


# --- pooling -----------------------------------------------------------------------


def _pool(op: str, what: str, inputs, pool_size, strides, padding, data_format):
    fmt = standardize_data_format(data_format)
    x = _floats(_channels_last(inputs, fmt))
    D = _check_rank(x, what)
    window = standardize_tuple(pool_size, D, "pool_size")
    strides = window if strides is None else standardize_tuple(strides, D,
                                                                "strides")
    padding = standardize_padding(padding)
    sp = _static_spatial(x, what)
    pads = _pads(padding, sp, window, strides, (1,) * D)
    for i, k, (lo, hi) in zip(sp, window, pads):
        if i + lo + hi < k:
            raise ValueError(
                f"{what}: the pool window {window} does not fit the input of "
                f"shape {tuple(ops.shape(inputs))} with padding={padding!r}.")
    y = ops._apply(op, x, window=window, strides=strides, pads=pads)
    return _restore(y, fmt)


@keras_op
def max_pool(inputs, pool_size, strides=None, padding="valid", data_format=None):
    """The maximum over each window (padding never counts)."""
    return _pool("max_pool", "ops.max_pool", inputs, pool_size, strides,
                 padding, data_format)


@keras_op
def average_pool(inputs, pool_size, strides=None, padding="valid",
                 data_format=None):
    """The mean over each window of the elements inside the input."""
    return _pool("avg_pool", "ops.average_pool", inputs, pool_size, strides,
                 padding, data_format)


# --- resizing ----------------------------------------------------------------------


def _aspect_window(height, width, th, tw, mode: str):
    """Keras's centered crop (or pad) box to the target aspect ratio:
    (size, start) for both axes."""
    if mode == "crop":
        ch = max(min(height, int(float(width * th) / tw)), 1)
        cw = max(min(width, int(float(height * tw) / th)), 1)
        return (ch, int(float(height - ch) / 2)), (cw, int(float(width - cw) / 2))
    ph = max(height, int(float(width * th) / tw))
    pw = max(width, int(float(height * tw) / th))
    return (ph, int(float(ph - height) / 2)), (pw, int(float(pw - width) / 2))


@keras_op
def resize(images, size, interpolation="bilinear", antialias=False,
           crop_to_aspect_ratio=False, pad_to_aspect_ratio=False,
           fill_mode="constant", fill_value=0.0, data_format=None):
    """Resize images (batched, rank 4, or one image, rank 3) to `size` =
    (height, width) with TensorFlow's half-pixel conventions."""
    fmt = standardize_data_format(data_format)
    method = str(interpolation).lower()
    if method not in RESIZE_METHODS:
        raise ValueError(
            f"ops.image.resize supports interpolation in {RESIZE_METHODS}; "
            f"received interpolation={interpolation!r}.")
    if antialias:
        raise ValueError(
            "ops.image.resize: antialias=True is not supported; received "
            "antialias=True.")
    if crop_to_aspect_ratio and pad_to_aspect_ratio:
        raise ValueError(
            "Only one of `pad_to_aspect_ratio` & `crop_to_aspect_ratio` can be "
            "`True`.")
    if fill_mode != "constant":
        raise ValueError(
            f"ops.image.resize supports fill_mode='constant' only; received "
            f"fill_mode={fill_mode!r}.")
    size = tuple(size)
    if len(size) != 2 or not all(isinstance(s, (int, np.integer)) and s > 0
                                 for s in size):
        raise ValueError(
            "Expected `size` to be a tuple of 2 positive integers. Received: "
            f"size={size}")
    r = _rank(images)
    if r not in (3, 4):
        raise ValueError(
            "Invalid images rank: expected rank 3 (single image) or rank 4 "
            f"(batch of images). Received input with shape: "
            f"images.shape={tuple(ops.shape(images))}")
    x = images if r == 4 else ops.expand_dims(images, 0)
    x = _floats(_channels_last(x, fmt))
    height, width = _static_spatial(x, "ops.image.resize")
    th, tw = int(size[0]), int(size[1])
    if crop_to_aspect_ratio or pad_to_aspect_ratio:
        mode = "crop" if crop_to_aspect_ratio else "pad"
        (h2, hs), (w2, ws) = _aspect_window(height, width, th, tw, mode)
        if mode == "crop":
            x = ops.slice(x, (0, hs, ws, 0), (None, h2, w2, None))
        else:
            # NOTE: Keras pads the same amount on both sides (so an odd
            # difference loses a row), and so does this
            x = ops.pad(x, ((0, 0), (hs, hs), (ws, ws), (0, 0)),
                        constant_values=fill_value)
    y = ops._apply("resize", x, shape=(th, tw), method=method)
    y = _restore(y, fmt)
    return y if r == 4 else ops.squeeze(y, 0)


class _ImageOps:
    """`graphkeras.ops.image`: the image functions of keras.ops.image."""

    resize = staticmethod(resize)


image = _ImageOps()

__all__ = ["average_pool", "conv", "conv_transpose", "depthwise_conv", "image",
           "max_pool", "resize", "separable_conv"]
