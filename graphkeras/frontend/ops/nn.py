"""Keras's ops.nn: activations, losses as ops, normalizations,
attention, and the image and sequence ops (conv, pooling).

Keras's padding modes become explicit pads here, so the IR only knows
numbers: "valid" pads nothing, "same" pads `total = max((ceil(I / s) - 1) s
+ (K - 1) d + 1 - I, 0)` split as (total // 2, total - total // 2) (more
after than before, as TensorFlow and JAX do), "causal" (1-D convs) pads
(K - 1) d before. The IR ops work channels-last; channels_first inputs are
transposed in and out (simplify cancels the transposes between layers).
"""

from __future__ import annotations

import builtins
import math

import numpy as np

from ..variables import standardize_dtype
from .core import (
    _apply,
    _floatify,
    cast,
    convert_to_tensor,
    dtype,
    keras_op,
    shape,
)
from .numpy import (
    abs,
    concatenate,
    max,
    mean,
    slice,
    take,
    sum,
    tanh,  # noqa: F401  (one_hot: Keras's ops.nn.one_hot)
    _f,
    _static_axis,
    add,
    clip,
    divide,
    einsum,
    erf,
    exp,
    expand_dims,
    expm1,
    full_like,
    greater,
    greater_equal,
    less,
    less_equal,
    log,
    log1p,
    logical_and,
    minimum,
    moveaxis,
    multiply,
    negative,
    one_hot,
    pad,
    power,
    relu,
    reshape,
    rsqrt,
    sigmoid,
    sqrt,
    square,
    squeeze,
    subtract,
    transpose,
    var,
    where,
    zeros_like,
)


@keras_op
def softmax(x, axis=-1):
    return _apply("softmax", _floatify(convert_to_tensor(x)), axis=axis)


@keras_op
def log_softmax(x, axis=-1):
    return _apply("log_softmax", _floatify(convert_to_tensor(x)), axis=axis)


@keras_op
def softplus(x):
    x = _floatify(convert_to_tensor(x))
    return add(relu(x), log1p(exp(_minus_abs(x))))


def _minus_abs(x):
    """-|x|, written x - 2 relu(x) (the same value, bit for bit) so that,
    beside relu(x) (whose gradient at 0 is 0), its gradient at 0 is 1: the
    sum relu(x) + log1p(exp(-|x|)) then has the derivative 1/2 at 0 that
    softplus has (abs's gradient at 0 is 0: it gave 0, and a bias
    initialized to zeros sits exactly there)."""
    return subtract(x, multiply(relu(x), 2.0))


@keras_op
def log_sigmoid(x):
    return negative(softplus(negative(x)))


@keras_op
def softsign(x):
    x = _floatify(convert_to_tensor(x))
    return divide(x, add(abs(x), 1.0))


@keras_op
def silu(x):
    x = _floatify(convert_to_tensor(x))
    return multiply(x, sigmoid(x))


swish = silu


@keras_op
def relu6(x):
    return clip(x, 0.0, 6.0)


@keras_op
def leaky_relu(x, negative_slope=0.2):
    x = _floatify(convert_to_tensor(x))
    return where(greater(x, 0.0), x, multiply(x, negative_slope))


@keras_op
def elu(x, alpha=1.0):
    x = _floatify(convert_to_tensor(x))
    neg = multiply(expm1(minimum(x, 0.0)), alpha)
    return where(greater(x, 0.0), x, neg)


@keras_op
def selu(x):
    alpha, scale = 1.6732632423543772, 1.0507009873554805
    return multiply(elu(x, alpha), scale)


@keras_op
def gelu(x, approximate=True):
    x = _floatify(convert_to_tensor(x))
    if approximate:
        c = math.sqrt(2.0 / math.pi)
        inner = multiply(add(x, multiply(power(x, 3.0), 0.044715)), c)
        return multiply(multiply(x, 0.5), add(tanh(inner), 1.0))
    return multiply(multiply(x, 0.5), add(erf(divide(x, math.sqrt(2.0))), 1.0))


@keras_op
def hard_sigmoid(x):
    """relu6(x + 3) / 6 (Keras 3's formula)."""
    x = _floatify(convert_to_tensor(x))
    return divide(clip(add(x, 3.0), 0.0, 6.0), 6.0)


@keras_op
def categorical_crossentropy(target, output, from_logits=False, axis=-1):
    output = _floatify(convert_to_tensor(output))
    target = cast(target, dtype(output))
    if from_logits:
        logp = log_softmax(output, axis=axis)
    else:
        output = divide(output, sum(output, axis=axis, keepdims=True))
        logp = log(clip(output, 1e-7, 1.0 - 1e-7))
    return negative(sum(multiply(target, logp), axis=axis))


@keras_op
def sparse_categorical_crossentropy(target, output, from_logits=False, axis=-1):
    output = _floatify(convert_to_tensor(output))
    target = convert_to_tensor(target)
    if len(shape(target)) == len(shape(output)) and shape(target)[-1] == 1:
        target = squeeze(target, -1)
    n = shape(output)[axis]
    hot = one_hot(cast(target, "int32"), n, axis=axis, dtype=dtype(output))
    return categorical_crossentropy(hot, output, from_logits=from_logits,
                                    axis=axis)


@keras_op
def binary_crossentropy(target, output, from_logits=False):
    output = _floatify(convert_to_tensor(output))
    target = cast(target, dtype(output))
    if from_logits:
        # max(x, 0) - x z + log(1 + exp(-|x|))
        return add(subtract(relu(output), multiply(output, target)),
                   log1p(exp(_minus_abs(output))))
    p = clip(output, 1e-7, 1.0 - 1e-7)
    return negative(add(multiply(target, log(p)),
                        multiply(subtract(1.0, target), log(subtract(1.0, p)))))


@keras_op
def hard_silu(x):
    x = _floatify(convert_to_tensor(x))
    return multiply(x, hard_sigmoid(x))


hard_swish = hard_silu


@keras_op
def hard_tanh(x):
    return clip(_floatify(convert_to_tensor(x)), -1.0, 1.0)


@keras_op
def mish(x):
    x = _floatify(convert_to_tensor(x))
    return multiply(x, tanh(softplus(x)))


@keras_op
def celu(x, alpha=1.0):
    x = _floatify(convert_to_tensor(x))
    neg = multiply(expm1(divide(minimum(x, 0.0), alpha)), alpha)
    return add(relu(x), minimum(neg, 0.0))


@keras_op
def glu(x, axis=-1):
    x = _floatify(convert_to_tensor(x))
    n = shape(x)[axis]
    if n is None or n % 2:
        raise ValueError(
            f"ops.glu splits axis {axis} in two halves: its size must be "
            f"even, received shape {shape(x)}.")
    rank = len(shape(x))
    ax = axis % rank
    starts = [0] * rank
    sizes = list(shape(x))
    sizes[ax] = n // 2
    a = slice(x, starts, sizes)
    starts[ax] = n // 2
    b = slice(x, starts, sizes)
    return multiply(a, sigmoid(b))


@keras_op
def soft_shrink(x, threshold=0.5):
    x = _floatify(convert_to_tensor(x))
    return where(greater(x, threshold), subtract(x, threshold),
                 where(less(x, -threshold), add(x, threshold), zeros_like(x)))


@keras_op
def hard_shrink(x, threshold=0.5):
    x = _floatify(convert_to_tensor(x))
    return where(greater(abs(x), threshold), x, zeros_like(x))


@keras_op
def tanh_shrink(x):
    x = _floatify(convert_to_tensor(x))
    return subtract(x, tanh(x))


@keras_op
def threshold(x, threshold, default_value):
    x = _floatify(convert_to_tensor(x))
    return where(greater(x, threshold), x, full_like(x, default_value))


@keras_op
def squareplus(x, b=4):
    x = _floatify(convert_to_tensor(x))
    return divide(add(x, sqrt(add(square(x), float(b)))), 2.0)


@keras_op
def sparse_plus(x):
    x = _floatify(convert_to_tensor(x))
    mid = multiply(square(add(x, 1.0)), 0.25)
    return where(less_equal(x, -1.0), zeros_like(x),
                 where(less(x, 1.0), mid, x))


@keras_op
def sparse_sigmoid(x):
    x = _floatify(convert_to_tensor(x))
    return clip(multiply(add(x, 1.0), 0.5), 0.0, 1.0)


@keras_op
def normalize(x, axis=-1, order=2, epsilon=None):
    """x scaled to unit L2 norm along `axis`: x * min(rsqrt(sum(x^2)),
    1 / epsilon) (Keras's formula, epsilon 1e-7 by default)."""
    if order != 2:
        raise ValueError(f"ops.normalize supports order=2 only, received "
                         f"order={order!r}.")
    x = _floatify(convert_to_tensor(x))
    eps = 1e-7 if epsilon is None else float(epsilon)
    inv = rsqrt(sum(square(x), axis=axis, keepdims=True))
    return multiply(x, minimum(inv, 1.0 / eps))


_LAYOUTS = ("channels_last", "channels_first")


def standardize_data_format(data_format) -> str:
    """None means the global image data format (`keras.config.
    image_data_format()`, "channels_last" unless set)."""
    if data_format is None:
        from ...config import image_data_format

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
            total = builtins.max((-(-i // s) - 1) * s + eff - i, 0)
            out.append((total // 2, total - total // 2))
    return tuple(out)


def _rank(x) -> int:
    return len(shape(x))


def _static_spatial(x, what: str) -> tuple:
    dims = shape(x)
    sp = tuple(dims[1:-1])
    if any(d is None for d in sp) or dims[-1] is None:
        raise ValueError(
            f"{what} needs static spatial and channel dimensions; received an "
            f"input of shape {tuple(dims)}.")
    return sp


def _channels_last(x, data_format: str):
    if data_format == "channels_last":
        return x
    r = _rank(x)
    return transpose(x, (0,) + tuple(range(2, r)) + (1,))


def _restore(y, data_format: str):
    if data_format == "channels_last":
        return y
    r = _rank(y)
    return transpose(y, (0, r - 1) + tuple(range(1, r - 1)))


def _floats(x, like=None):
    dt = dtype(x)
    if dt.startswith("float"):
        return x
    return cast(x, dtype(like) if like is not None and dtype(
        like).startswith("float") else "float32")


def _check_rank(x, what: str) -> int:
    r = _rank(x)
    if r not in (3, 4, 5):
        raise ValueError(
            f"{what} takes inputs of rank 3, 4 or 5 (batch, 1 to 3 spatial "
            f"dimensions, channels); received an input of shape "
            f"{tuple(shape(x))}.")
    return r - 2


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
    kshape = tuple(shape(kernel))
    sp = _static_spatial(x, "ops.conv")
    cin = shape(x)[-1]
    if len(kshape) != D + 2 or cin % kshape[-2]:
        raise ValueError(
            f"ops.conv: the kernel must have shape (*kernel_size, "
            f"in_channels // groups, out_channels) with {D} spatial "
            f"dimensions and in_channels ({cin}) divisible by its axis -2; "
            f"received a kernel of shape {kshape}.")
    pads = _pads(padding, sp, kshape[:D], strides, dilation)
    y = _apply("conv", x, _floats(kernel, x), strides=strides, pads=pads,
                   dilation=dilation, groups=cin // kshape[-2])
    return _restore(y, fmt)


def deconv_output_length(length, kernel, padding, output_padding, stride,
                         dilation) -> int:
    """Keras's output length of a transposed convolution."""
    eff = kernel + (kernel - 1) * (dilation - 1)
    if output_padding is None:
        if padding == "valid":
            return length * stride + builtins.max(eff - stride, 0)
        return length * stride
    pad = eff // 2 if padding == "same" else 0
    return (length - 1) * stride + eff - 2 * pad + output_padding


def _transpose_pads(kernel, stride, dilation, padding, output_padding) -> tuple:
    """(left, right) padding of the stride-dilated input of a transposed
    conv, as Keras computes it for its JAX backend."""
    eff = (kernel - 1) * dilation + 1
    if padding == "valid":
        op = builtins.max(eff, stride) - eff if output_padding is None else output_padding
        return eff - 1, eff - 1 + op
    if output_padding is None:
        pad_len = stride + eff - 2
    else:
        pad_len = eff + eff % 2 - 2 + output_padding
    left = builtins.min(pad_len // 2 + pad_len % 2, eff - 1)
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
    kshape = tuple(shape(kernel))
    sp = _static_spatial(x, "ops.conv_transpose")
    if len(kshape) != D + 2 or kshape[-1] != shape(x)[-1]:
        raise ValueError(
            f"ops.conv_transpose: the kernel must have shape (*kernel_size, "
            f"out_channels, in_channels={shape(x)[-1]}) with {D} spatial "
            f"dimensions; received a kernel of shape {kshape}.")
    pads, out_shape = [], []
    for ax in range(D):
        k, s, d = kshape[ax], strides[ax], dilation[ax]
        opad = None if output_padding is None else output_padding[ax]
        left, right = _transpose_pads(k, s, d, padding, opad)
        eff = (k - 1) * d + 1
        pads.append((eff - 1 - left, eff - 1 - right))
        out_shape.append((sp[ax] - 1) * s + left + right - eff + 2)
    y = _apply("conv_transpose", x, _floats(kernel, x), strides=strides,
                   pads=tuple(pads), dilation=dilation, groups=1,
                   shape=tuple(out_shape))
    return _restore(y, fmt)


@keras_op
def depthwise_conv(inputs, kernel, strides=1, padding="valid", data_format=None,
                   dilation_rate=1):
    """Depthwise convolution; kernel (*kernel_size, in_channels,
    depth_multiplier); output channel c * depth_multiplier + m."""
    kshape = tuple(shape(kernel))
    grouped = reshape(kernel, kshape[:-2] + (1, kshape[-2] * kshape[-1]))
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
            # Keras 3's words, and what it is in ours
            raise ValueError(
                "Computed output size would be zero or negative. Received: "
                f"`inputs.shape={tuple(shape(inputs))}`, `pool_size="
                f"{window}`, `strides={strides}`, `padding={padding}` "
                f"({what}: the pool window does not fit the input).")
    y = _apply(op, x, window=window, strides=strides, pads=pads)
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


def _adaptive_windows(length: int, size: int) -> tuple:
    """PyTorch's and Keras's adaptive windows: output i pools
    [floor(i L / n), ceil((i + 1) L / n)), of ceil(L / n) or one more
    elements."""
    starts = [(i * length) // size for i in range(size)]
    ends = [-(-((i + 1) * length) // size) for i in range(size)]
    return starts, [e - s for s, e in zip(starts, ends)]


def _adaptive_pool(op: str, what: str, inputs, output_size, data_format):
    fmt = standardize_data_format(data_format)
    x = _floats(_channels_last(inputs, fmt))
    D = _check_rank(x, what)
    out = standardize_tuple(output_size, D, "output_size")
    sp = _static_spatial(x, what)
    # one axis at a time (a box's mean or max is the iterated one): per
    # window size present, a stride-1 pool along that axis, then each
    # output position gathers its window's result
    for ax, (length, size) in enumerate(zip(sp, out)):
        if size == length:
            continue
        starts, sizes = _adaptive_windows(length, size)
        pooled, offset = [], {}
        base = 0
        for k in sorted(set(sizes)):
            window = tuple(k if a == ax else 1 for a in range(D))
            pooled.append(_apply(op, x, window=window, strides=(1,) * D,
                                 pads=((0, 0),) * D))
            offset[k] = base
            base += length - k + 1
        both = pooled[0] if len(pooled) == 1 else concatenate(pooled,
                                                                 ax + 1)
        index = np.array([offset[k] + s for k, s in zip(sizes, starts)],
                         "int32")
        x = take(both, index, axis=ax + 1)
    return _restore(x, fmt)


@keras_op
def adaptive_average_pool(inputs, output_size, data_format=None):
    """Average pooling to a fixed spatial `output_size` (an int or one int
    per spatial axis): output i along an axis of length L averages the
    inputs [floor(i L / n), ceil((i + 1) L / n)), as Keras 3 and PyTorch."""
    return _adaptive_pool("avg_pool", "ops.adaptive_average_pool", inputs,
                          output_size, data_format)


@keras_op
def adaptive_max_pool(inputs, output_size, data_format=None):
    """Max pooling to a fixed spatial `output_size` (windows as
    adaptive_average_pool's)."""
    return _adaptive_pool("max_pool", "ops.adaptive_max_pool", inputs,
                          output_size, data_format)


@keras_op
def rms_normalization(x, scale=1, axis=-1, epsilon=None):
    """x * rsqrt(mean(x^2) + epsilon) * scale (epsilon: config.epsilon(),
    1e-7 by default, as Keras)."""
    from ... import config

    x = _f(x)
    eps = config.epsilon() if epsilon is None else float(epsilon)
    out = multiply(x, rsqrt(add(mean(square(x), axis=axis, keepdims=True),
                                eps)))
    return multiply(out, cast(scale, dtype(x)))


@keras_op
def layer_normalization(x, gamma=None, beta=None, axis=-1, epsilon=None,
                        rms_scaling=False, **kwargs):
    """(x - mean) / sqrt(var + epsilon) * gamma + beta over `axis`
    (epsilon: config.epsilon(), 1e-7 by default, as Keras's ops function;
    the LayerNormalization layer's own default is 1e-3)."""
    from ... import config

    x = _f(x)
    eps = config.epsilon() if epsilon is None else float(epsilon)
    if rms_scaling:
        out = multiply(x, rsqrt(add(var(x, axis=axis, keepdims=True), eps)))
        return out if gamma is None else multiply(out, cast(gamma, dtype(x)))
    m = mean(x, axis=axis, keepdims=True)
    v = var(x, axis=axis, keepdims=True)
    out = multiply(subtract(x, m), rsqrt(add(v, eps)))
    if gamma is not None:
        out = multiply(out, cast(gamma, dtype(x)))
    if beta is not None:
        out = add(out, cast(beta, dtype(x)))
    return out


@keras_op
def batch_normalization(x, mean, variance, axis, offset=None, scale=None,
                        epsilon=1e-3):
    x = _f(x)
    r = len(shape(x))
    ax = axis % r

    def along(v):
        v = cast(v, dtype(x))
        if len(shape(v)) == 1:
            return reshape(v, [-1 if i == ax else 1 for i in range(r)])
        return v

    inv = rsqrt(add(along(variance), float(epsilon)))
    if scale is not None:
        inv = multiply(inv, along(scale))
    out = multiply(subtract(x, along(mean)), inv)
    return out if offset is None else add(out, along(offset))


@keras_op
def dot_product_attention(query, key, value, bias=None, mask=None,
                          scale=None, is_causal=False, flash_attention=None,
                          attn_logits_soft_cap=None):
    """softmax(q k^T * scale + bias, masked) v for (B, T, H, D) inputs
    (Keras's layout); scale defaults to 1 / sqrt(D)."""
    if flash_attention:
        raise ValueError("ops.dot_product_attention: flash_attention is not "
                         "supported by graphkeras, received "
                         "flash_attention=True.")
    q, k, v = _f(query), _f(key), _f(value)
    if len(shape(q)) != 4:
        raise ValueError("ops.dot_product_attention expects 4-D (batch, "
                         "length, heads, depth) inputs, received query of "
                         f"shape {shape(q)}.")
    d = shape(q)[-1]
    s = 1.0 / math.sqrt(d) if scale is None else float(scale)
    logits = multiply(einsum("btnh,bsnh->bnts", q, k), s)
    if attn_logits_soft_cap is not None:
        cap = float(attn_logits_soft_cap)
        logits = multiply(tanh(divide(logits, cap)), cap)
    if bias is not None:
        logits = add(logits, cast(bias, dtype(logits)))
    t, sl = shape(q)[1], shape(k)[1]
    keep = None
    if mask is not None:
        keep = cast(mask, "bool")
    if is_causal:
        causal = np.tril(np.ones((t, sl), bool))
        keep = causal if keep is None else logical_and(keep, causal)
    if keep is not None:
        big = float(np.finfo(np.float32).max) * -0.7
        logits = where(keep, logits, full_like(logits, big))
    probs = softmax(logits, axis=-1)
    return einsum("bnts,bsnh->btnh", probs, v)


@keras_op
def sparsemax(x, axis=-1):
    """Euclidean projection of x onto the simplex along `axis` (Martins &
    Astudillo): max(x - tau, 0), with tau from the support set found by
    comparing every pair (no sort)."""
    x = _f(x)
    ax, _ = _static_axis(x, axis, "sparsemax")
    last = len(shape(x)) - 1
    if ax != last:
        x = moveaxis(x, ax, -1)
    xi = expand_dims(x, -1)
    xj = expand_dims(x, -2)
    ge = cast(greater_equal(xj, xi), dtype(x))  # [i, j]: x_j >= x_i
    rank = sum(ge, axis=-1)
    above = sum(multiply(ge, xj), axis=-1)
    support = cast(greater(add(multiply(rank, x), 1.0), above), dtype(x))
    k = sum(support, axis=-1, keepdims=True)
    tau = divide(subtract(sum(multiply(support, x), axis=-1, keepdims=True),
                          1.0), k)
    out = relu(subtract(x, tau))
    return moveaxis(out, -1, ax) if ax != last else out


@keras_op
def multi_hot(inputs, num_classes=None, axis=-1, dtype=None, sparse=False,
              **kwargs):
    """1 at each class index of the last axis of `inputs`, 0 elsewhere."""
    if sparse:
        raise ValueError("ops.multi_hot: sparse=True is not supported, "
                         "received sparse=True.")
    num_classes = kwargs.pop("num_tokens", num_classes)
    dt = standardize_dtype(dtype)
    x = convert_to_tensor(inputs)
    if not globals()["dtype"](x).startswith("int"):
        x = cast(x, "int32")
    hot = one_hot(x, int(num_classes), axis=-1, dtype="float32")
    out = max(hot, axis=-2) if len(shape(x)) > 1 else max(hot, axis=0)
    if axis != -1:
        out = moveaxis(out, -1, axis)
    return cast(out, dt)


def _check_format(data_format: str, fn: str):
    if data_format not in ("channels_last", "channels_first"):
        raise ValueError(f"ops.{fn}: data_format must be 'channels_last' or "
                         f"'channels_first', received {data_format!r}.")


@keras_op
def depth_to_space(x, block_size, data_format="channels_last"):
    """(B, H, W, C * b^2) -> (B, H b, W b, C) (TensorFlow's DCR order)."""
    _check_format(data_format, "depth_to_space")
    x = convert_to_tensor(x)
    if data_format == "channels_first":
        x = transpose(x, (0, 2, 3, 1))
    _, h, w, c = shape(x)
    b = int(block_size)
    if c % (b * b):
        raise ValueError(f"ops.depth_to_space: channels ({c}) must be a "
                         f"multiple of block_size^2 = {b * b}.")
    co = c // (b * b)
    y = reshape(x, (-1, h, w, b, b, co))
    y = transpose(y, (0, 1, 3, 2, 4, 5))
    y = reshape(y, (-1, h * b, w * b, co))
    return transpose(y, (0, 3, 1, 2)) if data_format == "channels_first" else y


@keras_op
def space_to_depth(x, block_size, data_format="channels_last"):
    """(B, H b, W b, C) -> (B, H, W, C * b^2), the inverse of
    depth_to_space."""
    _check_format(data_format, "space_to_depth")
    x = convert_to_tensor(x)
    if data_format == "channels_first":
        x = transpose(x, (0, 2, 3, 1))
    _, h, w, c = shape(x)
    b = int(block_size)
    if h % b or w % b:
        raise ValueError(f"ops.space_to_depth: height and width ({h}, {w}) "
                         f"must be multiples of block_size={b}.")
    y = reshape(x, (-1, h // b, b, w // b, b, c))
    y = transpose(y, (0, 1, 3, 2, 4, 5))
    y = reshape(y, (-1, h // b, w // b, b * b * c))
    return transpose(y, (0, 3, 1, 2)) if data_format == "channels_first" else y


@keras_op
def psnr(x1, x2, max_val):
    """Peak signal-to-noise ratio: 20 log10(max_val) - 10 log10(mse)."""
    a, b = _f(x1), _f(x2)
    mse = mean(square(subtract(a, b)))
    return subtract(20.0 * math.log10(float(max_val)),
                    multiply(log(mse), 10.0 / math.log(10.0)))


# --- im2col / col2im (torch-style, channels first) -------------------------------


def _pair(v, name: str) -> tuple:
    t = (v, v) if isinstance(v, int) else tuple(int(a) for a in v)
    if len(t) != 2:
        raise ValueError(f"`{name}` must be an int or a pair of ints; "
                         f"received {name}={v!r}.")
    return t


def _block_positions(size, kernel, dilation, padding, stride):
    """(blocks per axis, flat positions (kH * kW, L) of every block's
    entries in the padded image of size `size`)."""
    (h, w), (kh, kw) = size, kernel
    (dh, dw), (ph, pw), (sh, sw) = dilation, padding, stride
    hp, wp = h + 2 * ph, w + 2 * pw
    nh = (hp - dh * (kh - 1) - 1) // sh + 1
    nw = (wp - dw * (kw - 1) - 1) // sw + 1
    if nh < 1 or nw < 1:
        raise ValueError(
            f"No {kh}x{kw} block (dilation {dilation}) fits an image of "
            f"{h}x{w} padded by {padding}.")
    rows = (np.arange(nh)[None, :, None] * sh
            + np.arange(kh)[:, None, None] * dh)  # (kh, nh, 1)
    cols = (np.arange(nw)[None, None, :] * sw
            + np.arange(kw)[:, None, None] * dw)  # (kw, 1, nw)
    pos = rows[:, None] * wp + cols[None]  # (kh, kw, nh, nw)
    return (hp, wp), pos.reshape(kh * kw, nh * nw).astype("int32")


@keras_op
def unfold(x, kernel_size, dilation=1, padding=0, stride=1):
    """The sliding blocks of a (N, C, H, W) image as columns (im2col):
    shape (N, C * kH * kW, L), channel slowest, then kernel row, column.
    """
    x = convert_to_tensor(x)
    if len(shape(x)) != 4:
        raise ValueError(
            f"Input must be a 4D tensor. Received: input.shape={shape(x)}")
    n, c, h, w = shape(x)
    if None in (c, h, w):
        raise ValueError(f"ops.unfold needs static C, H, W; received "
                         f"shape {shape(x)}.")
    k = _pair(kernel_size, "kernel_size")
    d, p = _pair(dilation, "dilation"), _pair(padding, "padding")
    (hp, wp), pos = _block_positions((h, w), k, d, p,
                                     _pair(stride, "stride"))
    if p != (0, 0):
        x = pad(x, [(0, 0), (0, 0), (p[0], p[0]), (p[1], p[1])])
    flat = reshape(x, (-1, c, hp * wp))
    cols = take(flat, pos, axis=2)  # (N, C, kk, L)
    return reshape(cols, (-1, c * pos.shape[0], pos.shape[1]))


@keras_op
def fold(x, output_size, kernel_size, dilation=1, padding=0, stride=1):
    """The inverse of unfold (col2im): the columns (N, C * kH * kW, L)
    summed back into an image of `output_size`, (N, C, oH, oW)."""
    x = convert_to_tensor(x)
    if len(shape(x)) != 3:
        raise ValueError(
            f"Input must be a 3D tensor. Received: input.shape={shape(x)}")
    k = _pair(kernel_size, "kernel_size")
    p = _pair(padding, "padding")
    size = _pair(output_size, "output_size")
    (hp, wp), pos = _block_positions(size, k, _pair(dilation, "dilation"),
                                     p, _pair(stride, "stride"))
    ckk, blocks = shape(x)[1], shape(x)[2]
    kk = pos.shape[0]
    if ckk is None or ckk % kk or blocks != pos.shape[1]:
        raise ValueError(
            f"ops.fold expects input of shape (N, C * {kk}, {pos.shape[1]}) "
            f"for kernel_size={kernel_size} and output_size={output_size}; "
            f"received shape {shape(x)}.")
    c = ckk // kk
    cols = reshape(x, (-1, c, kk * blocks))
    base = multiply(zeros_like(cols[..., :1]), np.zeros(hp * wp, dtype(x)))
    img = _apply("scatter_add", base, pos.reshape(-1), cols, axis=2)
    img = reshape(img, (-1, c, hp, wp))
    return img[:, :, p[0]:p[0] + size[0], p[1]:p[1] + size[1]]


@keras_op
def polar(abs_, angle):
    """The complex numbers abs_ * exp(i angle) (a complex array: eager
    only, as graphkeras has no complex dtype in compiled code)."""
    from .numpy import _eager_only

    r, t = _eager_only("polar", "its result is complex", abs_, angle)
    return (r * np.exp(1j * t)).astype(
        np.complex128 if np.float64 in (r.dtype, t.dtype) else np.complex64)
