"""Keras's ops.math: logsumexp, top_k, in_top_k, segment reductions,
erfinv and erfc, as compositions of the numpy ops."""

from __future__ import annotations

import numpy as np

from ...ir import as_dtype
from ..tensors import TracedTensor
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
    _axes,
    _f,
    add,
    argmax,
    divide,
    erf,
    exp,
    expand_dims,
    full_like,
    greater,
    isnan,
    less,
    less_equal,
    log,
    matmul,
    max,
    min,
    multiply,
    one_hot,
    pad,
    prod,
    reshape,
    sqrt,
    squeeze,
    stack,
    stop_gradient,
    subtract,
    sum,
    swapaxes,
    take,
    tensordot,
    where,
    zeros_like,
)


@keras_op
def logsumexp(x, axis=None, keepdims=False):
    x = _floatify(convert_to_tensor(x))
    m = stop_gradient(max(x, axis=axis, keepdims=True))
    out = add(log(sum(exp(subtract(x, m)), axis=axis, keepdims=True)), m)
    return out if keepdims else squeeze(out, axis=_axes(axis) if axis is not None
                                        else None)


@keras_op
def in_top_k(targets, predictions, k):
    """Whether each target class is among the k largest predictions (a
    class ties with the others at its value, as Keras counts rank)."""
    predictions = _floatify(convert_to_tensor(predictions))
    targets = convert_to_tensor(targets)
    if not dtype(targets).startswith("int"):
        targets = cast(targets, "int32")
    n = shape(predictions)[-1]
    hot = one_hot(targets, n, dtype=dtype(predictions))
    at_label = sum(multiply(predictions, hot), axis=-1, keepdims=True)
    at_label = where(isnan(at_label), full_like(at_label, -np.inf), at_label)
    rank = add(sum(cast(greater(predictions, at_label), "int32"), axis=-1), 1)
    return less_equal(rank, int(k))


@keras_op
def top_k(x, k, sorted=True):
    """(values, indices) of the k largest entries along the last axis, in
    decreasing order (also for sorted=False). Built from k argmax / max
    steps, each masking the entry it took: meant for small k."""
    x = convert_to_tensor(x)
    n = shape(x)[-1]
    k = int(k)
    if n is None or not 0 < k <= n:
        raise ValueError(
            f"ops.top_k needs 0 < k <= the size of the last axis, received "
            f"k={k} for an input of shape {shape(x)}."
        )
    dt = globals()["dtype"](x)
    low = (-np.inf if dt.startswith("float")
           else np.iinfo(as_dtype(dt).np).min)
    values, indices = [], []
    for _ in range(k):
        i = argmax(x, axis=-1)
        values.append(max(x, axis=-1))
        indices.append(i)
        x = where(one_hot(i, n, dtype="bool"), low, x)
    return stack(values, axis=-1), stack(indices, axis=-1)


@keras_op
def erfc(x):
    return subtract(1.0, erf(_f(x)))


# Giles (2010), "Approximating the erfinv function": single-precision
# polynomials in w = -log(1 - x^2), around w = 2.5 and sqrt(w) = 3.
_ERFINV_LO = [2.81022636e-08, 3.43273939e-07, -3.5233877e-06, -4.39150654e-06,
              0.00021858087, -0.00125372503, -0.00417768164, 0.246640727,
              1.50140941]


_ERFINV_HI = [-0.000200214257, 0.000100950558, 0.00134934322,
              -0.00367342844, 0.00573950773, -0.0076224613, 0.00943887047,
              1.00167406, 2.83297682]


def _poly(t, coefs):
    acc = full_like(t, coefs[0])
    for c in coefs[1:]:
        acc = add(multiply(acc, t), c)
    return acc


@keras_op
def erfinv(x):
    """Inverse error function (Giles's single-precision approximation)."""
    x = _f(x)
    w = multiply(log(multiply(subtract(1.0, x), add(1.0, x))), -1.0)
    lo = less(w, 5.0)
    p_lo = _poly(subtract(where(lo, w, full_like(w, 2.5)), 2.5), _ERFINV_LO)
    p_hi = _poly(subtract(sqrt(where(lo, full_like(w, 9.0), w)), 3.0),
                 _ERFINV_HI)
    return multiply(where(lo, p_lo, p_hi), x)


def _segments(data, segment_ids, num_segments, fn):
    if num_segments is None:
        if isinstance(segment_ids, TracedTensor):
            raise ValueError(f"ops.{fn} of symbolic segment ids needs "
                             "num_segments, received num_segments=None.")
        num_segments = int(np.max(segment_ids)) + 1
    hot = one_hot(cast(segment_ids, "int32"), int(num_segments),
                  dtype="bool")  # (N, S)
    return hot, int(num_segments)


@keras_op
def segment_sum(data, segment_ids, num_segments=None, sorted=False):
    data = convert_to_tensor(data)
    hot, _ = _segments(data, segment_ids, num_segments, "segment_sum")
    h = cast(hot, dtype(data) if dtype(data) != "bool" else "int32")
    return tensordot(h, data, axes=([0], [0]))


@keras_op
def segment_max(data, segment_ids, num_segments=None, sorted=False):
    """Per-segment maximum (the dtype's lowest value for empty segments,
    -inf for floats)."""
    data = convert_to_tensor(data)
    hot, _ = _segments(data, segment_ids, num_segments, "segment_max")
    r = len(shape(data))
    h = reshape(hot, [-1 if shape(data)[0] is None else shape(data)[0],
                      shape(hot)[-1]] + [1] * (r - 1))
    low = (-np.inf if dtype(data).startswith("float")
           else np.iinfo(np.dtype(dtype(data))).min)
    vals = where(h, expand_dims(data, 1), full_like(expand_dims(data, 1), low))
    return max(vals, axis=0)


def _segment_fill(data, segment_ids, num_segments, fn, fill, reduce):
    data = convert_to_tensor(data)
    hot, _ = _segments(data, segment_ids, num_segments, fn)
    r = len(shape(data))
    h = reshape(hot, [-1 if shape(data)[0] is None else shape(data)[0],
                      shape(hot)[-1]] + [1] * (r - 1))
    vals = where(h, expand_dims(data, 1), full_like(expand_dims(data, 1), fill))
    return reduce(vals, axis=0)


@keras_op
def segment_min(data, segment_ids, num_segments=None, sorted=False):
    """Per-segment minimum (the dtype's largest value for empty segments,
    inf for floats)."""
    dt = dtype(convert_to_tensor(data))
    high = (np.inf if dt.startswith("float")
            else np.iinfo(np.dtype(dt)).max)
    return _segment_fill(data, segment_ids, num_segments, "segment_min", high,
                         min)


@keras_op
def segment_prod(data, segment_ids, num_segments=None, sorted=False):
    """Per-segment product (1 for empty segments)."""
    return _segment_fill(data, segment_ids, num_segments, "segment_prod", 1,
                         prod)


# --- Fourier transforms ------------------------------------------------------------
#
# A transform of a static length n is a product with constant cos / sin
# matrices (O(n^2) per row, which the GEMM makes fast for the lengths
# layers use), so it traces, differentiates and compiles like any matmul.
# Complex values are (real, imag) pairs, as Keras's ops take and return them.


def _complex_pair(x, fn: str):
    if not isinstance(x, (tuple, list)) or len(x) != 2:
        raise ValueError(
            "Input `x` should be a tuple of two tensors - real and imaginary."
            f"Received: x={x}")
    re, im = convert_to_tensor(x[0]), convert_to_tensor(x[1])
    if tuple(shape(re)) != tuple(shape(im)):
        raise ValueError(
            "Input `x` should be a tuple of two tensors - real and imaginary."
            "Both the real and imaginary parts should have the same shape. "
            f"Received: x[0].shape = {shape(re)}, x[1].shape = {shape(im)}")
    if not (dtype(re).startswith("float") and dtype(im).startswith("float")):
        raise ValueError(
            "At least one tensor in input `x` is not of type float."
            f"Received: x={x}.")
    dt = "float64" if "float64" in (dtype(re), dtype(im)) else "float32"
    return cast(re, dt), cast(im, dt)


def _last_size(x, fn: str, axis: int = -1) -> int:
    n = shape(x)[axis]
    if n is None:
        raise ValueError(f"ops.{fn} needs a static size along axis {axis}; "
                         f"received shape {tuple(shape(x))}.")
    return int(n)


def _dft(n: int, bins: int, dt: str, inverse: bool = False):
    """cos and -sin (sin for the inverse) of 2 pi j k / n, shape (n, bins)."""
    jk = np.outer(np.arange(n), np.arange(bins)) % n
    angle = 2.0 * np.pi * jk / n
    sign = 1.0 if inverse else -1.0
    return (np.cos(angle).astype(dt), (sign * np.sin(angle)).astype(dt))


def _cmatmul(re, im, c, s):
    """(re + i im) @ (c + i s) along the last axis."""
    return (subtract(matmul(re, c), matmul(im, s)),
            add(matmul(re, s), matmul(im, c)))


def _fft_last(re, im, inverse=False):
    n = shape(re)[-1]
    c, s = _dft(n, n, dtype(re), inverse)
    out_re, out_im = _cmatmul(re, im, c, s)
    if inverse:
        out_re, out_im = divide(out_re, float(n)), divide(out_im, float(n))
    return out_re, out_im


def _fft_axis(re, im, axis, inverse=False):
    re, im = swapaxes(re, axis, -1), swapaxes(im, axis, -1)
    re, im = _fft_last(re, im, inverse)
    return swapaxes(re, axis, -1), swapaxes(im, axis, -1)


@keras_op
def fft(x):
    """The discrete Fourier transform along the last axis of the complex
    tensor x = (real, imag); returns (real, imag)."""
    re, im = _complex_pair(x, "fft")
    _last_size(re, "fft")
    return _fft_last(re, im)


@keras_op
def fft2(x):
    """The 2D discrete Fourier transform over the last two axes of
    x = (real, imag); returns (real, imag)."""
    re, im = _complex_pair(x, "fft2")
    _last_size(re, "fft2", -2)
    _last_size(re, "fft2", -1)
    re, im = _fft_axis(re, im, -2)
    return _fft_last(re, im)


@keras_op
def ifft2(x):
    """The inverse of fft2 (normalized by 1 / (rows * cols))."""
    re, im = _complex_pair(x, "ifft2")
    _last_size(re, "ifft2", -2)
    _last_size(re, "ifft2", -1)
    re, im = _fft_axis(re, im, -2, inverse=True)
    return _fft_last(re, im, inverse=True)


def _fit_length(x, n: int):
    """x cropped or zero-padded along the last axis to length n."""
    have = shape(x)[-1]
    if have > n:
        return x[..., :n]
    if have < n:
        return pad(x, [(0, 0)] * (len(shape(x)) - 1) + [(0, n - have)])
    return x


@keras_op
def rfft(x, fft_length=None):
    """The DFT of the real x along its last axis, the fft_length // 2 + 1
    non-negative frequencies (x cropped or zero-padded to fft_length);
    returns (real, imag)."""
    x = _floatify(convert_to_tensor(x))
    n = _last_size(x, "rfft") if fft_length is None else int(fft_length)
    x = _fit_length(x, n)
    c, s = _dft(n, n // 2 + 1, dtype(x))
    return matmul(x, c), matmul(x, s)


@keras_op
def irfft(x, fft_length=None):
    """The inverse of rfft: the real signal of length fft_length
    (default 2 * (bins - 1)) whose non-negative frequencies are x =
    (real, imag)."""
    re, im = _complex_pair(x, "irfft")
    bins = _last_size(re, "irfft")
    n = 2 * (bins - 1) if fft_length is None else int(fft_length)
    keep = n // 2 + 1
    re, im = _fit_length(re, keep), _fit_length(im, keep)
    # x_j = (1/n) sum_k w_k (re_k cos - im_k sin)(2 pi j k / n), with
    # w_k = 2 for the frequencies that stand for a conjugate pair too
    k = np.arange(keep)
    w = np.where((k == 0) | ((n % 2 == 0) & (k == n // 2)), 1.0, 2.0)
    angle = 2.0 * np.pi * (np.outer(k, np.arange(n)) % n) / n
    c = (w[:, None] * np.cos(angle) / n).astype(dtype(re))
    s = (-w[:, None] * np.sin(angle) / n).astype(dtype(re))
    return add(matmul(re, c), matmul(im, s))


@keras_op
def extract_sequences(x, sequence_length, sequence_stride):
    """The frames x[..., i * stride : i * stride + sequence_length] of the
    last axis, stacked: shape (..., num_sequences, sequence_length)."""
    x = convert_to_tensor(x)
    n = _last_size(x, "extract_sequences")
    length, stride = int(sequence_length), int(sequence_stride)
    if length < 1 or stride < 1 or length > n:
        raise ValueError(
            "ops.extract_sequences needs 1 <= sequence_length <= the signal "
            f"length ({n}) and sequence_stride >= 1; received "
            f"sequence_length={sequence_length}, "
            f"sequence_stride={sequence_stride}.")
    count = (n - length) // stride + 1
    index = (np.arange(count)[:, None] * stride
             + np.arange(length)[None, :]).astype("int32")
    return take(x, index, axis=len(shape(x)) - 1)


def _stft_window(window, sequence_length: int, fft_length: int, dt: str):
    """The window, zero-padded on both sides to fft_length (Keras)."""
    if window is None:
        return np.ones(fft_length, dt), None
    if isinstance(window, str):
        if window not in ("hann", "hamming"):
            raise ValueError(
                "If a string is passed to `window`, it must be one of "
                f'`"hann"`, `"hamming"`. Received: window={window}')
        # periodic windows (scipy.signal.get_window's, as Keras)
        a = 0.5 if window == "hann" else 0.54
        win = a - (1 - a) * np.cos(2 * np.pi * np.arange(sequence_length)
                                   / sequence_length)
    else:
        if isinstance(window, TracedTensor):
            raise ValueError("ops.stft / istft need a constant `window`; "
                             "received a traced tensor.")
        win = np.asarray(window, np.float64)
    if win.ndim != 1 or win.shape[-1] != sequence_length:
        raise ValueError(
            "The shape of `window` must be equal to [sequence_length]."
            f"Received: window shape={win.shape}")
    left = (fft_length - sequence_length) // 2
    win = np.pad(win, (left, fft_length - sequence_length - left))
    return win.astype(dt), win


@keras_op
def stft(x, sequence_length, sequence_stride, fft_length, window="hann",
         center=True):
    """The short-time Fourier transform of the real x along its last axis:
    frames of fft_length every sequence_stride samples (x reflect-padded
    by fft_length // 2 on both sides with center=True), multiplied by the
    window (of sequence_length, zero-padded to fft_length), transformed by
    rfft. Returns (real, imag) of shape (..., frames, fft_length // 2 + 1).
    """
    x = convert_to_tensor(x)
    if dtype(x) not in ("float32", "float64"):
        raise TypeError(
            "Invalid input type. Expected `float32` or `float64`. "
            f"Received: input type={dtype(x)}")
    fft_length, sequence_length = int(fft_length), int(sequence_length)
    if fft_length < sequence_length:
        raise ValueError(
            "`fft_length` must equal or larger than `sequence_length`. "
            f"Received: sequence_length={sequence_length}, "
            f"fft_length={fft_length}")
    win, _ = _stft_window(window, sequence_length, fft_length, dtype(x))
    if center:
        half = fft_length // 2
        x = pad(x, [(0, 0)] * (len(shape(x)) - 1) + [(half, half)],
                mode="reflect")
    frames = multiply(extract_sequences(x, fft_length, sequence_stride), win)
    return rfft(frames, fft_length)


@keras_op
def istft(x, sequence_length, sequence_stride, fft_length, length=None,
          window="hann", center=True):
    """The inverse of stft: each frame's irfft, windowed and overlap-added,
    divided by the overlapping squared window (Keras's and scipy's
    istft); cropped by fft_length // 2 on both sides with center=True, or
    to `length` samples."""
    re, im = _complex_pair(x, "istft")
    if len(shape(re)) < 2:
        raise ValueError(
            "Input `x` must have at least 2 dimensions. "
            f"Received shape: {tuple(shape(re))}")
    fft_length, stride = int(fft_length), int(sequence_stride)
    frames = _last_size(re, "istft", -2)
    dt = dtype(re)
    win, raw = _stft_window(window, int(sequence_length), fft_length, dt)
    total = fft_length + stride * (frames - 1)
    y = multiply(irfft((re, im), fft_length), win)  # (..., frames, n)
    positions = (np.arange(frames)[:, None] * stride
                 + np.arange(fft_length)[None, :]).reshape(-1)
    lead = tuple(shape(y)[:-2])
    y = reshape(y, lead + (frames * fft_length,))
    base = multiply(zeros_like(y[..., :1]), np.zeros(total, dt))
    y = _apply("scatter_add", base, positions.astype("int32"), y,
               axis=len(lead))
    norm = np.zeros(total)
    np.add.at(norm, positions, np.tile(np.asarray(win, np.float64) ** 2,
                                       frames))
    scale = (float(np.sum(raw)) if raw is not None
             else float(fft_length)) / np.where(norm > 1e-10, norm, 1.0)
    scale = scale / (float(np.sum(raw)) if raw is not None else stride)
    y = multiply(y, scale.astype(dt))
    start = fft_length // 2 if center else 0
    if length is not None:
        end = start + int(length)
    elif center:
        end = total - fft_length // 2
    else:
        end = total
    return y[..., start:end]


@keras_op
def view_as_complex(x):
    """The complex tensor whose real and imaginary parts are x[..., 0]
    and x[..., 1] (eager only: graphkeras compiles no complex dtype)."""
    from .numpy import _eager_only

    (a,) = _eager_only("view_as_complex", "its result is complex", x)
    if a.ndim < 1 or a.shape[-1] != 2:
        raise ValueError(
            "Input tensor's last dimension must be 2 (real and imaginary). "
            f"Received shape: {a.shape}")
    dt = np.complex128 if a.dtype == np.float64 else np.complex64
    return (a[..., 0] + 1j * a[..., 1]).astype(dt)


@keras_op
def view_as_real(x):
    """A complex tensor's real and imaginary parts stacked on a new last
    axis (eager only)."""
    from .numpy import _eager_only

    (a,) = _eager_only("view_as_real", "its input is complex", x)
    return np.stack([a.real, a.imag], axis=-1)
