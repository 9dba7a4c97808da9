"""Convolution, pooling and resizing over channels-last tensors.

Every op here reads and writes tensors laid out as (batch, *spatial,
channels) with 1 to 3 static spatial dimensions; the batch may be the
symbol N. A channels-first model is expressed with transposes around these
ops (the frontend inserts them; simplify cancels adjacent pairs).

Conventions shared by the ops (D = number of spatial dims):
- `strides`, `dilation` and `window` are D ints >= 1; `pads` are D pairs
  `(before, after)`. A negative pad crops (this only arises inside the
  gradients of a transposed convolution, whose padding may exceed the
  kernel); the pooling ops take pads in [0, window).
- Along a spatial axis of input length I, kernel length K, dilation d,
  stride s and pads (lo, hi), the output has
  O = (I + lo + hi - ((K - 1) d + 1)) // s + 1 positions, and output o
  reads input positions o s + k d - lo, k = 0 .. K-1 (outside [0, I): 0 for
  conv and avg_pool, ignored by max_pool).
- Filters have Keras's layout: (*kernel, in_channels // groups, out
  channels); group g maps input channels [g Ci, (g+1) Ci) to output
  channels [g Co, (g+1) Co).

The gradient ops are ops of their own (not compositions), so that the
backward pass of a CNN is a few structured kernels:
- conv_transpose(g, w): the input gradient of conv (and Keras's transposed
  convolution); conv_filter_grad(x, g): the filter gradient. conv,
  conv_transpose and conv_filter_grad are the three bilinear maps of one
  trilinear form, so the VJP of each is written with the other two.
- max_pool_grad(x, g) routes each output's cotangent to the first maximum
  of its window (row-major window order), as TensorFlow does.
- avg_pool_grad and resize_grad are the adjoints of the linear maps
  avg_pool and resize (and each other's VJP).

Resizing follows TensorFlow 2 / Keras 3 (half-pixel centers, no
antialiasing): "bilinear" samples at (o + 0.5) in / out - 0.5 and clamps to
the edge, "nearest" takes floor((o + 0.5) in / out) clamped to in - 1.
"""

from __future__ import annotations

import itertools

import numpy as np

from ..registry import (
    NOT_DIFFERENTIABLE,
    Attr,
    OpDef,
    a_int,
    a_ints,
    one_of,
    register_op,
)
from ..types import TensorType, format_shape, is_symbol

RESIZE_METHODS = ("bilinear", "nearest")

# --- attribute converters ------------------------------------------------------


def _a_pos_ints(v) -> tuple:
    out = a_ints(v)
    if any(x < 1 for x in out):
        raise ValueError(f"expected ints >= 1, got {v!r}")
    return out


def _a_pairs(v) -> tuple:
    if not isinstance(v, (tuple, list)):
        raise TypeError(f"expected ((before, after), ...), got {v!r}")
    out = []
    for p in v:
        if not isinstance(p, (tuple, list)) or len(p) != 2:
            raise TypeError(f"expected ((before, after), ...), got {v!r}")
        out.append((a_int(p[0]), a_int(p[1])))
    return tuple(out)


def _a_groups(v) -> int:
    g = a_int(v)
    if g < 1:
        raise ValueError(f"groups must be >= 1, got {v!r}")
    return g


# --- shape helpers (shared with codegen and export) ----------------------------


def out_length(i: int, k: int, s: int, d: int, lo: int, hi: int) -> int:
    """Output positions along one axis (may be <= 0: no position fits)."""
    return (i + lo + hi - ((k - 1) * d + 1)) // s + 1


def spatial(t: TensorType) -> tuple:
    return tuple(t.shape[1:-1])


def _count(t: TensorType, env: dict) -> int:
    return t.num_elements({d: env.get(d, 1) for d in t.symbols})


def conv_flops(node, env: dict) -> int:
    """Floating-point operations of a conv-family node at symbol sizes env
    (a multiply-add counts 2): 2 x (elements of the conv's output) x
    (kernel taps) x (input channels per group)."""
    op, a = node.op, node.attrs
    if op == "conv":
        x, w = node.inputs
        out = node.outputs[0]
        taps = int(np.prod(w.shape[:-2]))
        return 2 * _count(out.type, env) * taps * w.shape[-2]
    if op == "conv_transpose":
        g, w = node.inputs
        return 2 * _count(g.type, env) * int(np.prod(w.shape[:-2])) * w.shape[-2]
    x, g = node.inputs  # conv_filter_grad
    return 2 * _count(g.type, env) * int(np.prod(a["shape"])) * (
        x.shape[-1] // a["groups"])


def window_flops(node, env: dict) -> int:
    """Operations of a pooling or resizing node: one per window tap (or
    interpolation tap) of every output element."""
    big = max((o for o in list(node.inputs) + list(node.outputs)),
              key=lambda v: _count(v.type, env))
    if node.op.startswith(("max_pool", "avg_pool")):
        small = min(list(node.inputs) + list(node.outputs),
                    key=lambda v: _count(v.type, env))
        return _count(small.type, env) * int(np.prod(node.attrs["window"]))
    taps = 1 if node.attrs["method"] == "nearest" else 2 ** (big.rank - 2)
    return _count(big.type, env) * taps


def _check_activation(x: TensorType, what: str) -> int:
    """D for a channels-last activation; raise for anything else."""
    if not x.dtype.is_float:
        raise TypeError(f"{what} must be floating-point, got {x.dtype.long_name}")
    if not 3 <= x.rank <= 5:
        raise ValueError(
            f"{what} must have rank 3, 4 or 5 (batch, 1 to 3 spatial "
            f"dimensions, channels), got shape {format_shape(x.shape)}")
    if any(is_symbol(d) for d in x.shape[1:]):
        raise ValueError(
            f"{what} must have static spatial and channel dimensions, got "
            f"shape {format_shape(x.shape)}")
    return x.rank - 2


def _check_lengths(D: int, **named) -> None:
    for key, v in named.items():
        if len(v) != D:
            raise ValueError(f"{key} needs {D} entries (one per spatial "
                             f"dimension), got {v!r}")


def _conv_out(in_sp, k_sp, strides, pads, dilation) -> tuple:
    out = []
    for i, k, s, d, (lo, hi) in zip(in_sp, k_sp, strides, dilation, pads):
        o = out_length(i, k, s, d, lo, hi)
        if o < 1 or i + lo < 0 or i + hi < 0:
            raise ValueError(
                f"the window (size {k}, dilation {d}) does not fit the padded "
                f"input (size {i}, pads ({lo}, {hi})); output sizes must be >= 1")
        out.append(o)
    return tuple(out)


def _check_filter(w: TensorType, D: int, cin: int, groups: int) -> int:
    """Cout for a filter (*kernel, cin // groups, cout)."""
    if w.rank != D + 2 or not w.is_static:
        raise ValueError(
            f"the filter must have static shape (*kernel, in_channels // "
            f"groups, out_channels) of rank {D + 2}, got "
            f"{format_shape(w.shape)}")
    if cin % groups or w.shape[-2] * groups != cin:
        raise ValueError(
            f"the filter's input channels ({w.shape[-2]}) times groups "
            f"({groups}) must equal the input's channels ({cin})")
    cout = w.shape[-1]
    if cout % groups:
        raise ValueError(
            f"the filter's output channels ({cout}) must be divisible by "
            f"groups ({groups})")
    return cout


def _same_batch(a: TensorType, b: TensorType) -> None:
    if a.shape[0] != b.shape[0]:
        raise ValueError(f"the batch dimensions differ ({a.shape[0]} vs "
                         f"{b.shape[0]})")


def _dtypes(a: TensorType, b: TensorType) -> None:
    if a.dtype != b.dtype:
        raise TypeError(f"operand dtypes differ ({a.dtype.long_name} vs "
                        f"{b.dtype.long_name})")


# --- NumPy helpers of the references ------------------------------------------


def pad_or_crop(x: np.ndarray, pads, value=0.0) -> np.ndarray:
    """Pad the spatial axes of a channels-last array by `pads` (negative
    entries crop)."""
    grow = [(0, 0)] + [(max(lo, 0), max(hi, 0)) for lo, hi in pads] + [(0, 0)]
    x = np.pad(x, grow, constant_values=np.asarray(value).astype(x.dtype))
    sl = [slice(None)]
    for lo, hi in pads:
        sl.append(slice(max(-lo, 0), x.shape[len(sl)] - max(-hi, 0)))
    return x[tuple(sl + [slice(None)])]


def _taps(kernel) -> list:
    return list(itertools.product(*[range(k) for k in kernel]))


def _tap_slice(tap, out_sp, strides, dilation) -> tuple:
    """Index of the positions o s + k d, o < O, for one tap."""
    return (slice(None),) + tuple(
        slice(k * d, k * d + (o - 1) * s + 1, s)
        for k, o, s, d in zip(tap, out_sp, strides, dilation)) + (slice(None),)


def _grouped(a: np.ndarray, groups: int) -> np.ndarray:
    """(..., C) -> (G, M, C // G)."""
    rows = int(np.prod(a.shape[:-1], dtype=np.int64))
    m = a.reshape(rows, groups, a.shape[-1] // groups)
    return m.transpose(1, 0, 2)


def _ungrouped(r: np.ndarray, lead: tuple) -> np.ndarray:
    """(G, M, c) -> (*lead, G * c)."""
    return r.transpose(1, 0, 2).reshape(lead + (r.shape[0] * r.shape[2],))


def _conv_ref(x, w, strides, pads, dilation, groups):
    D = x.ndim - 2
    kernel = w.shape[:D]
    out_sp = _conv_out(x.shape[1:-1], kernel, strides, pads, dilation)
    xp = pad_or_crop(x, pads)
    cout = w.shape[-1]
    lead = (x.shape[0],) + out_sp
    out = np.zeros(lead + (cout,), x.dtype)
    for tap in _taps(kernel):
        win = xp[_tap_slice(tap, out_sp, strides, dilation)]
        wk = w[tap].reshape(w.shape[-2], groups, cout // groups).transpose(1, 0, 2)
        out += _ungrouped(np.matmul(_grouped(win, groups), wk), lead)
    return out


def _conv_transpose_ref(g, w, strides, pads, dilation, groups, shape):
    D = g.ndim - 2
    kernel = w.shape[:D]
    out_sp = g.shape[1:-1]
    full_sp = tuple((o - 1) * s + (k - 1) * d + 1
                    for o, s, k, d in zip(out_sp, strides, kernel, dilation))
    cin = w.shape[-2] * groups
    full = np.zeros((g.shape[0],) + full_sp + (cin,), g.dtype)
    gg = _grouped(g, groups)
    lead = g.shape[:-1]
    for tap in _taps(kernel):
        wk = w[tap].reshape(w.shape[-2], groups, -1).transpose(1, 2, 0)
        full[_tap_slice(tap, out_sp, strides, dilation)] += _ungrouped(
            np.matmul(gg, wk), lead)
    crop = [(-lo, i + lo - f) for (lo, _), i, f in zip(pads, shape, full_sp)]
    return np.ascontiguousarray(pad_or_crop(full, crop))


def _conv_filter_grad_ref(x, g, strides, pads, dilation, groups, shape):
    out_sp = g.shape[1:-1]
    xp = pad_or_crop(x, pads)
    cin, cout = x.shape[-1], g.shape[-1]
    dw = np.zeros(tuple(shape) + (cin // groups, cout), x.dtype)
    gg = _grouped(g, groups)
    for tap in _taps(shape):
        win = _grouped(xp[_tap_slice(tap, out_sp, strides, dilation)], groups)
        r = np.matmul(win.transpose(0, 2, 1), gg)  # (G, Ci, Co)
        dw[tap] = r.transpose(1, 0, 2).reshape(cin // groups, cout)
    return dw


# --- convolution ----------------------------------------------------------------

_CONV_ATTRS = {
    "strides": Attr(_a_pos_ints),
    "pads": Attr(_a_pairs),
    "dilation": Attr(_a_pos_ints),
    "groups": Attr(_a_groups, 1),
}


def _conv_attrs(strides, pads, dilation, groups) -> dict:
    return {"strides": strides, "pads": pads, "dilation": dilation,
            "groups": groups}


@register_op
class Conv(OpDef):
    """N-d convolution (cross-correlation, as Keras and every framework
    compute it): out[n, o, co] = sum over taps k and the group's input
    channels ci of x[n, o s + k d - lo, ci] w[k, ci, co]."""

    name, onnx, num_inputs = "conv", "Conv", 2
    attrs = _CONV_ATTRS
    flops = staticmethod(conv_flops)

    def infer(self, x, w, strides, pads, dilation, groups):
        _dtypes(x, w)
        D = _check_activation(x, "the input")
        _check_lengths(D, strides=strides, pads=pads, dilation=dilation)
        cout = _check_filter(w, D, x.shape[-1], groups)
        out_sp = _conv_out(spatial(x), w.shape[:D], strides, pads, dilation)
        return TensorType((x.shape[0],) + out_sp + (cout,), x.dtype)

    def reference(self, x, w, strides, pads, dilation, groups):
        return _conv_ref(x, w, strides, pads, dilation, groups)

    def vjp(self, b, g, inputs, outputs, strides, pads, dilation, groups):
        x, w = inputs
        a = _conv_attrs(strides, pads, dilation, groups)
        D = x.rank - 2
        dx = b.conv_transpose(g, w, shape=spatial(x.type), **a)
        dw = b.conv_filter_grad(x, g, shape=w.shape[:D], **a)
        return (dx, dw)


@register_op
class ConvTranspose(OpDef):
    """The input gradient of conv (Keras's transposed convolution): for the
    conv from spatial size `shape` to g's spatial size with these attrs,
    conv_transpose(g, w) = conv^T g. w has conv's filter layout."""

    name, onnx, num_inputs = "conv_transpose", "ConvTranspose", 2
    attrs = {**_CONV_ATTRS, "shape": Attr(_a_pos_ints)}  # noqa: RUF012
    flops = staticmethod(conv_flops)

    def infer(self, g, w, strides, pads, dilation, groups, shape):
        _dtypes(g, w)
        D = _check_activation(g, "the input")
        _check_lengths(D, strides=strides, pads=pads, dilation=dilation,
                       shape=shape)
        if w.rank != D + 2 or not w.is_static:
            raise ValueError(f"the filter must have static rank-{D + 2} shape, "
                             f"got {format_shape(w.shape)}")
        cin = w.shape[-2] * groups
        cout = _check_filter(w, D, cin, groups)
        if g.shape[-1] != cout:
            raise ValueError(f"the input has {g.shape[-1]} channels, the "
                             f"filter's output channels are {cout}")
        want = _conv_out(shape, w.shape[:D], strides, pads, dilation)
        if want != spatial(g):
            raise ValueError(
                f"a conv of spatial size {tuple(shape)} with these attrs has "
                f"output size {want}, but the input's spatial size is "
                f"{spatial(g)}")
        return TensorType((g.shape[0],) + tuple(shape) + (cin,), g.dtype)

    def reference(self, g, w, strides, pads, dilation, groups, shape):
        return _conv_transpose_ref(g, w, strides, pads, dilation, groups, shape)

    def vjp(self, b, gg, inputs, outputs, strides, pads, dilation, groups,
            shape):
        g, w = inputs
        a = _conv_attrs(strides, pads, dilation, groups)
        D = g.rank - 2
        return (b.conv(gg, w, **a),
                b.conv_filter_grad(gg, g, shape=w.shape[:D], **a))


@register_op
class ConvFilterGrad(OpDef):
    """The filter gradient of conv: dw[k, ci, co] = sum over n and output
    positions o of x[n, o s + k d - lo, ci] g[n, o, co] (within a group);
    `shape` is the kernel's spatial size."""

    name, onnx, num_inputs = "conv_filter_grad", "Conv", 2
    attrs = {**_CONV_ATTRS, "shape": Attr(_a_pos_ints)}  # noqa: RUF012
    flops = staticmethod(conv_flops)

    def infer(self, x, g, strides, pads, dilation, groups, shape):
        _dtypes(x, g)
        D = _check_activation(x, "the input")
        _check_activation(g, "the output gradient")
        _check_lengths(D, strides=strides, pads=pads, dilation=dilation,
                       shape=shape)
        if g.rank != x.rank:
            raise ValueError("the input and the output gradient have "
                             "different ranks")
        _same_batch(x, g)
        cin, cout = x.shape[-1], g.shape[-1]
        if cin % groups or cout % groups:
            raise ValueError(f"channels ({cin}, {cout}) must be divisible by "
                             f"groups ({groups})")
        want = _conv_out(spatial(x), shape, strides, pads, dilation)
        if want != spatial(g):
            raise ValueError(
                f"a conv of this input with kernel {tuple(shape)} has output "
                f"size {want}, but the output gradient's spatial size is "
                f"{spatial(g)}")
        return TensorType(tuple(shape) + (cin // groups, cout), x.dtype)

    def reference(self, x, g, strides, pads, dilation, groups, shape):
        return _conv_filter_grad_ref(x, g, strides, pads, dilation, groups,
                                     shape)

    def vjp(self, b, gw, inputs, outputs, strides, pads, dilation, groups,
            shape):
        x, g = inputs
        a = _conv_attrs(strides, pads, dilation, groups)
        return (b.conv_transpose(g, gw, shape=spatial(x.type), **a),
                b.conv(x, gw, **a))


# --- pooling --------------------------------------------------------------------

_POOL_ATTRS = {
    "window": Attr(_a_pos_ints),
    "strides": Attr(_a_pos_ints),
    "pads": Attr(_a_pairs),
}


def _pool_out(x: TensorType, window, strides, pads) -> tuple:
    D = _check_activation(x, "the input")
    _check_lengths(D, window=window, strides=strides, pads=pads)
    for k, (lo, hi) in zip(window, pads):
        if not (0 <= lo < k and 0 <= hi < k):
            raise ValueError(
                f"pooling pads must be in [0, window) so that every window "
                f"holds an input element, got pads {pads} for window {window}")
    return _conv_out(spatial(x), window, strides, pads, (1,) * D)


def _pool_windows(xp, out_sp, window, strides):
    D = len(window)
    for tap in _taps(window):
        yield tap, _tap_slice(tap, out_sp, strides, (1,) * D)


def pool_counts(in_sp, window, strides, pads) -> np.ndarray:
    """How many input elements each output position of a pool averages
    (padding excluded), shape out_sp; float64."""
    D = len(window)
    out_sp = _conv_out(in_sp, window, strides, pads, (1,) * D)
    ones = pad_or_crop(np.ones((1,) + tuple(in_sp) + (1,)), pads)
    count = np.zeros((1,) + out_sp + (1,))
    for _, sl in _pool_windows(ones, out_sp, window, strides):
        count += ones[sl]
    return count[0, ..., 0]


def _max_pool_ref(x, window, strides, pads):
    out_sp = _conv_out(x.shape[1:-1], window, strides, pads, (1,) * len(window))
    xp = pad_or_crop(x, pads, -np.inf)
    out = None
    for _, sl in _pool_windows(xp, out_sp, window, strides):
        out = xp[sl].copy() if out is None else np.maximum(out, xp[sl])
    return out


def _max_pool_grad_ref(x, g, window, strides, pads):
    out_sp = g.shape[1:-1]
    xp = pad_or_crop(x, pads, -np.inf)
    wins = list(_pool_windows(xp, out_sp, window, strides))
    best = xp[wins[0][1]].copy()
    arg = np.zeros(best.shape, np.int64)
    for t, (_, sl) in enumerate(wins[1:], 1):
        take = xp[sl] > best  # strict: the first maximum keeps its place
        best = np.where(take, xp[sl], best)
        arg = np.where(take, t, arg)
    dxp = np.zeros(xp.shape, g.dtype)
    for t, (_, sl) in enumerate(wins):
        dxp[sl] += np.where(arg == t, g, 0)
    crop = [(-lo, -hi) for lo, hi in pads]
    return np.ascontiguousarray(pad_or_crop(dxp, crop))


def _avg_pool_ref(x, window, strides, pads):
    out_sp = _conv_out(x.shape[1:-1], window, strides, pads, (1,) * len(window))
    xp = pad_or_crop(x, pads)
    total = np.zeros((x.shape[0],) + out_sp + (x.shape[-1],), x.dtype)
    for _, sl in _pool_windows(xp, out_sp, window, strides):
        total += xp[sl]
    count = pool_counts(x.shape[1:-1], window, strides, pads)
    return (total / count[None, ..., None]).astype(x.dtype)


def _avg_pool_grad_ref(g, window, strides, pads, shape):
    out_sp = g.shape[1:-1]
    count = pool_counts(shape, window, strides, pads)
    gs = (g / count[None, ..., None]).astype(g.dtype)
    full = tuple(i + lo + hi for i, (lo, hi) in zip(shape, pads))
    dxp = np.zeros((g.shape[0],) + full + (g.shape[-1],), g.dtype)
    for _, sl in _pool_windows(dxp, out_sp, window, strides):
        dxp[sl] += gs
    crop = [(-lo, -hi) for lo, hi in pads]
    return np.ascontiguousarray(pad_or_crop(dxp, crop))


@register_op
class MaxPool(OpDef):
    """The maximum over each window; padding never wins (it is -inf)."""

    name, onnx = "max_pool", "MaxPool"
    attrs = _POOL_ATTRS
    flops = staticmethod(window_flops)

    def infer(self, x, window, strides, pads):
        out_sp = _pool_out(x, window, strides, pads)
        return TensorType((x.shape[0],) + out_sp + (x.shape[-1],), x.dtype)

    def reference(self, x, window, strides, pads):
        return _max_pool_ref(x, window, strides, pads)

    def vjp(self, b, g, inputs, outputs, window, strides, pads):
        return (b.max_pool_grad(inputs[0], g, window=window, strides=strides,
                                pads=pads),)


@register_op
class MaxPoolGrad(OpDef):
    """The gradient of max_pool: each output position's cotangent goes to
    the first maximum of its window. Its own derivative is not provided
    (second derivatives through max pooling are refused)."""

    name, onnx, num_inputs = "max_pool_grad", "ScatterElements", 2
    attrs = _POOL_ATTRS
    vjp = NOT_DIFFERENTIABLE
    flops = staticmethod(window_flops)

    def infer(self, x, g, window, strides, pads):
        _dtypes(x, g)
        out_sp = _pool_out(x, window, strides, pads)
        want = (x.shape[0],) + out_sp + (x.shape[-1],)
        if g.shape != want:
            raise ValueError(f"the output gradient must have shape "
                             f"{format_shape(want)}, got {format_shape(g.shape)}")
        return x

    def reference(self, x, g, window, strides, pads):
        return _max_pool_grad_ref(x, g, window, strides, pads)


@register_op
class AvgPool(OpDef):
    """The mean over each window of the elements inside the input (padding
    is not counted, as in Keras and TensorFlow)."""

    name, onnx = "avg_pool", "AveragePool"
    attrs = _POOL_ATTRS
    flops = staticmethod(window_flops)

    def infer(self, x, window, strides, pads):
        out_sp = _pool_out(x, window, strides, pads)
        return TensorType((x.shape[0],) + out_sp + (x.shape[-1],), x.dtype)

    def reference(self, x, window, strides, pads):
        return _avg_pool_ref(x, window, strides, pads)

    def vjp(self, b, g, inputs, outputs, window, strides, pads):
        return (b.avg_pool_grad(g, window=window, strides=strides, pads=pads,
                                shape=spatial(inputs[0].type)),)


@register_op
class AvgPoolGrad(OpDef):
    """The adjoint of avg_pool from spatial size `shape`."""

    name, onnx = "avg_pool_grad", "ConvTranspose"
    attrs = {**_POOL_ATTRS, "shape": Attr(_a_pos_ints)}  # noqa: RUF012
    flops = staticmethod(window_flops)

    def infer(self, g, window, strides, pads, shape):
        D = _check_activation(g, "the output gradient")
        _check_lengths(D, shape=shape)
        x = TensorType((g.shape[0],) + tuple(shape) + (g.shape[-1],), g.dtype)
        want = _pool_out(x, window, strides, pads)
        if want != spatial(g):
            raise ValueError(f"pooling spatial size {tuple(shape)} gives "
                             f"{want}, but the gradient's is {spatial(g)}")
        return x

    def reference(self, g, window, strides, pads, shape):
        return _avg_pool_grad_ref(g, window, strides, pads, shape)

    def vjp(self, b, gg, inputs, outputs, window, strides, pads, shape):
        return (b.avg_pool(gg, window=window, strides=strides, pads=pads),)


# --- resizing -------------------------------------------------------------------


def resize_taps(in_size: int, out_size: int, method: str):
    """(lower, upper, weight of upper) per output index along one axis
    (int64, int64, float64 arrays of length out_size); nearest gives
    lower == upper and weight 0."""
    o = np.arange(out_size, dtype=np.float64)
    scale = in_size / out_size
    if method == "nearest":
        idx = np.minimum(np.floor((o + 0.5) * scale), in_size - 1)
        idx = idx.astype(np.int64)
        return idx, idx.copy(), np.zeros(out_size)
    pos = (o + 0.5) * scale - 0.5
    fl = np.floor(pos)
    lower = np.maximum(fl, 0).astype(np.int64)
    upper = np.minimum(np.ceil(pos), in_size - 1).astype(np.int64)
    return lower, upper, pos - fl


def resize_matrix(in_size: int, out_size: int, method: str) -> np.ndarray:
    """The (out_size, in_size) float64 interpolation matrix of one axis."""
    lo, hi, t = resize_taps(in_size, out_size, method)
    m = np.zeros((out_size, in_size))
    rows = np.arange(out_size)
    np.add.at(m, (rows, lo), 1.0 - t)
    np.add.at(m, (rows, hi), t)
    return m


def _apply_axes(x: np.ndarray, mats) -> np.ndarray:
    out = x.astype(np.float64)
    for a, m in enumerate(mats, start=1):
        out = np.moveaxis(np.tensordot(m, out, axes=([1], [a])), 0, a)
    return out.astype(x.dtype)


@register_op
class Resize(OpDef):
    """Resize the spatial axes to `shape` (see the module docstring)."""

    name, onnx = "resize", "Resize"
    attrs = {"shape": Attr(_a_pos_ints),  # noqa: RUF012 - as every OpDef
             "method": Attr(one_of(*RESIZE_METHODS), "bilinear")}
    flops = staticmethod(window_flops)

    def infer(self, x, shape, method):
        D = _check_activation(x, "the input")
        _check_lengths(D, shape=shape)
        if 0 in spatial(x):
            raise ValueError("cannot resize an empty spatial dimension")
        return TensorType((x.shape[0],) + tuple(shape) + (x.shape[-1],),
                          x.dtype)

    def reference(self, x, shape, method):
        mats = [resize_matrix(i, o, method)
                for i, o in zip(x.shape[1:-1], shape)]
        return _apply_axes(x, mats)

    def vjp(self, b, g, inputs, outputs, shape, method):
        return (b.resize_grad(g, shape=spatial(inputs[0].type), method=method),)


@register_op
class ResizeGrad(OpDef):
    """The adjoint of resize from spatial size `shape` to g's."""

    name, onnx = "resize_grad", "MatMul"
    attrs = {"shape": Attr(_a_pos_ints),  # noqa: RUF012 - as every OpDef
             "method": Attr(one_of(*RESIZE_METHODS), "bilinear")}
    flops = staticmethod(window_flops)

    def infer(self, g, shape, method):
        D = _check_activation(g, "the output gradient")
        _check_lengths(D, shape=shape)
        return TensorType((g.shape[0],) + tuple(shape) + (g.shape[-1],),
                          g.dtype)

    def reference(self, g, shape, method):
        mats = [resize_matrix(i, o, method).T
                for i, o in zip(shape, g.shape[1:-1])]
        return _apply_axes(g, mats)

    def vjp(self, b, gg, inputs, outputs, shape, method):
        return (b.resize(gg, shape=spatial(inputs[0].type), method=method),)


CONV_OPS = ("conv", "conv_transpose", "conv_filter_grad")
POOL_OPS = ("max_pool", "max_pool_grad", "avg_pool", "avg_pool_grad")
RESIZE_OPS = ("resize", "resize_grad")
