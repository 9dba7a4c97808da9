"""Keras's ops.math: logsumexp, top_k, in_top_k, segment reductions,
erfinv and erfc, as compositions of the numpy ops."""

from __future__ import annotations

import numpy as np

from ...ir import as_dtype
from ..tensors import TracedTensor
from .core import _floatify, cast, convert_to_tensor, dtype, keras_op, shape
from .numpy import (
    _axes,
    _f,
    add,
    argmax,
    erf,
    exp,
    expand_dims,
    full_like,
    greater,
    isnan,
    less,
    less_equal,
    log,
    max,
    multiply,
    one_hot,
    reshape,
    sqrt,
    squeeze,
    stack,
    stop_gradient,
    subtract,
    sum,
    tensordot,
    where,
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
