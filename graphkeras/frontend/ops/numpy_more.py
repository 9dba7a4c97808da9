"""More of Keras 3's `keras.ops`: NumPy-like and `ops.nn` functions built
as compositions of the functions in `frontend/ops.py` (no new IR op).

Invariants:
- every function here records only existing IR ops (through ops.py), so it
  runs eagerly on arrays, traces into IR, differentiates and compiles like
  the primitives it is made of;
- shape-dependent constructions (sort, diagonal, split, roll, ...) need the
  axis they work along to be static (not the batch axis of a symbolic
  tensor) and say so otherwise;
- dtype rules follow Keras: functions of floats cast integer inputs to
  float32; index results are int32.

Sorting is a rank computation: element i's position is the number of
elements below it plus the equal ones before it, and the sorted tensor is
gathered with a one-hot of those ranks. That is O(n^2) in the axis size:
meant for the sizes layers and metrics sort (tens to a few hundreds).
"""

from __future__ import annotations

import builtins
import itertools
import math

import numpy as np

from .ops import (
    _ORDER,
    _align,
    _axes,
    _floatify,
    abs,
    add,
    all_,
    any_,
    broadcast_to,
    cast,
    concatenate,
    convert_to_tensor,
    cos,
    cumsum,
    divide,
    dtype,
    einsum,
    equal,
    erf,
    exp,
    expand_dims,
    expm1,
    flip,
    floor,
    full_like,
    getitem,
    greater,
    isnan,
    keras_op,
    less,
    less_equal,
    log,
    log1p,
    logical_not,
    logical_or,
    matmul,
    max,
    maximum,
    mean,
    min,
    minimum,
    moveaxis,
    multiply,
    not_equal,
    one_hot,
    ones_like,
    power,
    prod,
    relu,
    reshape,
    result_type,
    rsqrt,
    shape,
    sign,
    sin,
    softmax,
    sqrt,
    square,
    squeeze,
    stack,
    subtract,
    sum,
    take,
    transpose,
    var,
    where,
    zeros_like,
)
from .tensors import TracedTensor
from .variables import standardize_dtype

# --- helpers ------------------------------------------------------------------------


def _f(x):
    return _floatify(convert_to_tensor(x))


def _static_axis(x, axis: int, fn: str) -> tuple:
    """(axis normalized, its size); refuses the batch axis."""
    n = len(shape(x))
    if not -n <= axis < n:
        raise ValueError(f"ops.{fn}: axis {axis} is out of range for an "
                         f"input of shape {shape(x)}.")
    axis %= n
    size = shape(x)[axis]
    if size is None:
        raise ValueError(f"ops.{fn} needs a static axis, received axis={axis} "
                         f"of shape {shape(x)} (the batch axis).")
    return axis, size


def _take_range(x, axis: int, start: int, stop: int):
    """x[..., start:stop, ...] along a static axis."""
    key = [builtins.slice(None)] * len(shape(x))
    key[axis] = builtins.slice(start, stop)
    return getitem(x, tuple(key))


def _where0(cond, x):
    return where(cond, x, zeros_like(x))


# --- elementwise math -------------------------------------------------------------


@keras_op
def tan(x):
    """Elementwise tangent (sin / cos)."""
    return divide(sin(x), cos(x))


@keras_op
def sinh(x):
    x = _f(x)
    return multiply(subtract(expm1(x), expm1(multiply(x, -1.0))), 0.5)


@keras_op
def cosh(x):
    x = _f(x)
    return multiply(add(exp(x), exp(multiply(x, -1.0))), 0.5)


@keras_op
def arcsinh(x):
    x = _f(x)
    a = abs(x)
    s = square(a)
    return multiply(sign(x), log1p(add(a, divide(s, add(sqrt(add(s, 1.0)),
                                                          1.0)))))


@keras_op
def arccosh(x):
    x = _f(x)
    return log(add(x, sqrt(subtract(square(x), 1.0))))


@keras_op
def arctanh(x):
    x = _f(x)
    return multiply(log1p(divide(multiply(x, 2.0), subtract(1.0, x))), 0.5)


# atan(t) = t - t^3/3 + t^5/5 - ...: after two argument halvings |t| <= 0.2,
# where 9 terms leave a truncation error below 1e-13.
_ATAN = [(-1) ** i / (2 * i + 1) for i in range(9)]


@keras_op
def arctan(x):
    """Elementwise arctangent: |x| > 1 is reflected (atan x = pi/2 - atan
    1/x), then two halvings atan t = 2 atan(t / (1 + sqrt(1 + t^2))) and a
    series."""
    x = _f(x)
    big = greater(abs(x), 1.0)
    safe = where(big, x, ones_like(x))  # NOTE: no 1/0 on the unused branch
    t = where(big, divide(1.0, safe), x)
    for _ in range(2):
        t = divide(t, add(sqrt(add(square(t), 1.0)), 1.0))
    t2 = square(t)
    acc = full_like(t, _ATAN[-1])
    for c in reversed(_ATAN[:-1]):
        acc = add(multiply(acc, t2), c)
    small = multiply(multiply(acc, t), 4.0)
    return where(big, subtract(multiply(sign(x), math.pi / 2), small), small)


@keras_op
def arctan2(x1, x2):
    """Elementwise angle of the point (x2, x1), in [-pi, pi]."""
    dt = result_type(x1, x2)
    dt = dt if _ORDER[dt] >= 3 else "float32"
    _, (y, x) = _align(x1, x2, to=dt)
    r = sqrt(add(square(x), square(y)))
    pos = greater(x, 0.0)
    yzero = equal(y, 0.0)
    den_a = where(pos, add(r, x), ones_like(x))
    den_b = where(yzero, ones_like(y), y)
    a = multiply(arctan(divide(y, den_a)), 2.0)
    b = multiply(arctan(divide(subtract(r, x), den_b)), 2.0)
    axis_val = where(less(x, 0.0), full_like(x, math.pi), zeros_like(x))
    return where(pos, a, where(yzero, axis_val, b))


@keras_op
def arcsin(x):
    x = _f(x)
    return arctan2(x, sqrt(relu(subtract(1.0, square(x)))))


@keras_op
def arccos(x):
    x = _f(x)
    return arctan2(sqrt(relu(subtract(1.0, square(x)))), x)


@keras_op
def trunc(x):
    x = convert_to_tensor(x)
    if not dtype(x).startswith("float"):
        return x
    return multiply(sign(x), floor(abs(x)))


@keras_op
def fmod(x1, x2):
    """Remainder with the sign of x1 (C's fmod)."""
    dt, (a, b) = _align(x1, x2)
    af, bf = _floatify(a), _floatify(b)
    out = subtract(af, multiply(trunc(divide(af, bf)), bf))
    return cast(out, dt) if dt != dtype(out) else out


@keras_op
def hypot(x1, x2):
    dt = result_type(x1, x2)
    dt = dt if _ORDER[dt] >= 3 else "float32"
    _, (a, b) = _align(x1, x2, to=dt)
    return sqrt(add(square(a), square(b)))


@keras_op
def logaddexp(x1, x2):
    """log(exp(x1) + exp(x2)) without overflow."""
    dt = result_type(x1, x2)
    dt = dt if _ORDER[dt] >= 3 else "float32"
    _, (a, b) = _align(x1, x2, to=dt)
    delta = subtract(a, b)
    out = add(maximum(a, b), log1p(exp(multiply(abs(delta), -1.0))))
    return where(isnan(delta), add(a, b), out)


@keras_op
def logical_xor(x1, x2):
    return not_equal(cast(x1, "bool"), cast(x2, "bool"))


@keras_op
def isinf(x):
    x = convert_to_tensor(x)
    if not dtype(x).startswith("float"):
        return cast(zeros_like(x), "bool")
    return equal(abs(x), np.inf)


@keras_op
def isfinite(x):
    x = convert_to_tensor(x)
    if not dtype(x).startswith("float"):
        return cast(ones_like(x), "bool")
    return less(abs(x), np.inf)


@keras_op
def nan_to_num(x, nan=0.0, posinf=None, neginf=None):
    """NaN -> `nan`, +inf / -inf -> `posinf` / `neginf` (the dtype's
    largest / lowest finite value by default)."""
    x = convert_to_tensor(x)
    if not dtype(x).startswith("float"):
        return x
    info = np.finfo(np.dtype(dtype(x)))
    hi = float(info.max) if posinf is None else float(posinf)
    lo = float(info.min) if neginf is None else float(neginf)
    x = where(isnan(x), full_like(x, nan), x)
    x = where(equal(x, np.inf), full_like(x, hi), x)
    return where(equal(x, -np.inf), full_like(x, lo), x)


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


@keras_op
def cbrt(x):
    x = _f(x)
    return multiply(sign(x), power(abs(x), 1.0 / 3.0))


@keras_op
def exp2(x):
    return exp(multiply(_f(x), math.log(2.0)))


@keras_op
def deg2rad(x):
    return multiply(_f(x), math.pi / 180.0)


@keras_op
def rad2deg(x):
    return multiply(_f(x), 180.0 / math.pi)


@keras_op
def heaviside(x1, x2):
    """0 where x1 < 0, x2 where x1 == 0, 1 where x1 > 0."""
    dt, (a, b) = _align(x1, x2)
    if _ORDER[dt] < 3:
        dt, (a, b) = _align(a, b, to="float32")
    b = add(b, zeros_like(a))
    return where(less(a, 0.0), zeros_like(b),
                 where(greater(a, 0.0), ones_like(b), b))


@keras_op
def signbit(x):
    """x < 0 (a negative zero counts as not negative here)."""
    x = convert_to_tensor(x)
    if dtype(x) == "bool":
        return cast(zeros_like(x), "bool")
    return less(x, 0)


@keras_op
def copy(x):
    return convert_to_tensor(x)


def array(x, dtype=None):
    return convert_to_tensor(x, dtype=dtype)


def empty(shape, dtype=None):
    return np.zeros(shape, standardize_dtype(dtype))


def empty_like(x, dtype=None):
    return zeros_like(x, dtype=dtype)


@keras_op
def isclose(x1, x2, rtol=1e-5, atol=1e-8, equal_nan=False):
    dt = result_type(x1, x2)
    dt = dt if _ORDER[dt] >= 3 else "float32"
    _, (a, b) = _align(x1, x2, to=dt)
    close = less_equal(abs(subtract(a, b)), add(multiply(abs(b), float(rtol)),
                                                float(atol)))
    close = logical_or(close, equal(a, b))  # equal infinities
    if equal_nan:
        close = logical_or(close, logical_and(isnan(a), isnan(b)))
    return close


def logical_and(a, b):
    from .ops import logical_and as land

    return land(a, b)


@keras_op
def allclose(x1, x2, rtol=1e-5, atol=1e-8, equal_nan=False):
    return all_(isclose(x1, x2, rtol=rtol, atol=atol, equal_nan=equal_nan))


@keras_op
def count_nonzero(x, axis=None):
    return sum(cast(not_equal(convert_to_tensor(x), 0), "int32"), axis=axis)


# --- constructors ----------------------------------------------------------------


def eye(N, M=None, k=0, dtype=None):
    return np.eye(int(N), None if M is None else int(M), int(k),
                  dtype=standardize_dtype(dtype))


def identity(n, dtype=None):
    return eye(n, dtype=dtype)


def tri(N, M=None, k=0, dtype=None):
    return np.tri(int(N), None if M is None else int(M), int(k),
                  dtype=standardize_dtype(dtype))


def _traced(*xs) -> bool:
    return builtins.any(isinstance(x, TracedTensor) for x in xs)


@keras_op
def linspace(start, stop, num=50, endpoint=True, retstep=False, dtype=None,
             axis=0):
    """`num` evenly spaced values from start to stop (tensors of starts and
    stops give one sequence per element, stacked along `axis`)."""
    num = int(num)
    if not _traced(start, stop):
        out = np.linspace(np.asarray(start), np.asarray(stop), num,
                          endpoint=endpoint, retstep=retstep, axis=axis)
        dt = standardize_dtype(dtype)
        if retstep:
            return out[0].astype(dt), np.asarray(out[1], dt)
        return out.astype(dt)
    start, stop = _f(start), _f(stop)
    div = (num - 1) if endpoint else num
    step = divide(subtract(stop, start), float(builtins.max(div, 1)))
    t = np.arange(num, dtype=np.float32).reshape(
        (num,) + (1,) * len(shape(add(start, stop))))
    out = add(multiply(expand_dims(step, 0), t), expand_dims(start, 0))
    if axis != 0:
        out = moveaxis(out, 0, axis)
    if dtype is not None:
        out = cast(out, standardize_dtype(dtype))
    return (out, step) if retstep else out


@keras_op
def logspace(start, stop, num=50, endpoint=True, base=10, dtype=None, axis=0):
    if not _traced(start, stop):
        return np.logspace(np.asarray(start), np.asarray(stop), int(num),
                           endpoint=endpoint, base=base, axis=axis).astype(
            standardize_dtype(dtype))
    out = power(float(base), linspace(start, stop, num, endpoint, axis=axis))
    return out if dtype is None else cast(out, standardize_dtype(dtype))


@keras_op
def geomspace(start, stop, num=50, endpoint=True, dtype=None, axis=0):
    if not _traced(start, stop):
        return np.geomspace(np.asarray(start), np.asarray(stop), int(num),
                            endpoint=endpoint, axis=axis).astype(
            standardize_dtype(dtype))
    out = exp(linspace(log(_f(start)), log(_f(stop)), num, endpoint,
                       axis=axis))
    return out if dtype is None else cast(out, standardize_dtype(dtype))


@keras_op
def meshgrid(*x, indexing="xy"):
    if indexing not in ("xy", "ij"):
        raise ValueError(f"ops.meshgrid: indexing must be 'xy' or 'ij', "
                         f"received indexing={indexing!r}.")
    xs = [reshape(convert_to_tensor(v), (-1,)) for v in x]
    sizes = [shape(v)[0] for v in xs]
    if indexing == "xy" and len(xs) > 1:
        sizes[0], sizes[1] = sizes[1], sizes[0]
    out = []
    for i, v in enumerate(xs):
        pos = i
        if indexing == "xy" and len(xs) > 1 and i < 2:
            pos = 1 - i
        s = [1] * len(xs)
        s[pos] = sizes[pos]
        out.append(add(reshape(v, s), np.zeros(sizes, dtype(v))))
    return out


# --- triangles and diagonals ------------------------------------------------------


def _last_two(x, fn: str) -> tuple:
    if len(shape(x)) < 2 or None in shape(x)[-2:]:
        raise ValueError(f"ops.{fn} needs an input of rank >= 2 with static "
                         f"last two axes, received shape {shape(x)}.")
    return shape(x)[-2:]


@keras_op
def tril(x, k=0):
    x = convert_to_tensor(x)
    n, m = _last_two(x, "tril")
    return where(np.tri(n, m, k, dtype=bool), x, zeros_like(x))


@keras_op
def triu(x, k=0):
    x = convert_to_tensor(x)
    n, m = _last_two(x, "triu")
    return where(np.tri(n, m, k - 1, dtype=bool), zeros_like(x), x)


@keras_op
def diagonal(x, offset=0, axis1=0, axis2=1):
    """The diagonal x[..., i, i + offset] of the (axis1, axis2) planes,
    as the last axis."""
    x = convert_to_tensor(x)
    r = len(shape(x))
    a1, n = _static_axis(x, axis1, "diagonal")
    a2, m = _static_axis(x, axis2, "diagonal")
    rest = [i for i in range(r) if i not in (a1, a2)]
    x = transpose(x, rest + [a1, a2])
    rows = np.arange(n) if offset >= 0 else np.arange(-offset, n)
    cols = rows + offset
    keep = (cols >= 0) & (cols < m) & (rows < n)
    idx = (rows[keep] * m + cols[keep]).astype(np.int32)
    lead = [-1 if d is None else d for d in shape(x)[:-2]]
    flat = reshape(x, lead + [n * m])
    return take(flat, idx, axis=len(lead))


@keras_op
def diag(x, k=0):
    """A 1-D x gives the 2-D matrix with x on diagonal k; a 2-D x gives its
    diagonal k."""
    x = convert_to_tensor(x)
    if len(shape(x)) == 2:
        return diagonal(x, offset=k)
    if len(shape(x)) != 1:
        raise ValueError(f"ops.diag expects a 1-D or 2-D input, received "
                         f"shape {shape(x)}.")
    m = shape(x)[0]
    n = m + builtins.abs(int(k))
    sel = np.zeros((m, n * n), dtype(x))
    for i in range(m):
        r, c = (i, i + k) if k >= 0 else (i - k, i)
        sel[i, r * n + c] = 1
    if dtype(x) == "bool":
        return cast(diag(cast(x, "int32"), k), "bool")
    return reshape(matmul(reshape(x, (1, m)), sel), (n, n))


@keras_op
def trace(x, offset=0, axis1=0, axis2=1):
    x = convert_to_tensor(x)
    d = diagonal(x, offset, axis1, axis2)
    if dtype(d) == "bool":
        d = cast(d, "int32")
    return sum(d, axis=-1)


# --- products ------------------------------------------------------------------------

_LETTERS = "abcdefghijklmnopqrstuvwxyz"


@keras_op
def tensordot(x1, x2, axes=2):
    """Sum of products over axes[0] of x1 and axes[1] of x2 (an int n:
    the last n of x1 and the first n of x2)."""
    _, (a, b) = _align(x1, x2)
    ra, rb = len(shape(a)), len(shape(b))
    if isinstance(axes, int):
        ax_a = list(range(ra - axes, ra))
        ax_b = list(range(axes))
    else:
        ax_a, ax_b = axes
        ax_a = [ax_a] if isinstance(ax_a, int) else list(ax_a)
        ax_b = [ax_b] if isinstance(ax_b, int) else list(ax_b)
    ax_a = [i % ra for i in ax_a]
    ax_b = [i % rb for i in ax_b]
    if len(ax_a) != len(ax_b):
        raise ValueError(f"ops.tensordot: axes must pair up, received "
                         f"axes={axes!r}.")
    la = _LETTERS[:ra]
    lb = [None] * rb
    for i, j in zip(ax_a, ax_b):
        lb[j] = la[i]
    free = iter(_LETTERS[ra:])
    lb = "".join(c if c is not None else next(free) for c in lb)
    out = ("".join(c for i, c in enumerate(la) if i not in ax_a)
           + "".join(c for j, c in enumerate(lb) if j not in ax_b))
    return einsum(f"{la},{lb}->{out}", a, b)


@keras_op
def outer(x1, x2):
    _, (a, b) = _align(x1, x2)
    return multiply(reshape(a, (-1, 1)), reshape(b, (1, -1)))


@keras_op
def inner(x1, x2):
    _, (a, b) = _align(x1, x2)
    if len(shape(a)) == 0 or len(shape(b)) == 0:
        return multiply(a, b)
    return tensordot(a, b, axes=([-1], [-1]))


@keras_op
def vdot(x1, x2):
    _, (a, b) = _align(x1, x2)
    return sum(multiply(ravel(a), ravel(b)))


# --- shapes ---------------------------------------------------------------------------


@keras_op
def swapaxes(x, axis1, axis2):
    x = convert_to_tensor(x)
    perm = list(range(len(shape(x))))
    a, b = axis1 % len(perm), axis2 % len(perm)
    perm[a], perm[b] = perm[b], perm[a]
    return transpose(x, perm)


@keras_op
def ravel(x):
    return reshape(convert_to_tensor(x), (-1,))


def _split_points(size: int, indices_or_sections, fn: str, even: bool):
    if isinstance(indices_or_sections, (list, tuple, np.ndarray)):
        pts = [int(i) for i in indices_or_sections]
        return [0, *[builtins.min(builtins.max(p % size if p < 0 else p, 0),
                                  size) for p in pts], size]
    k = int(indices_or_sections)
    if k <= 0 or (even and size % k):
        raise ValueError(
            f"ops.{fn}: the axis of size {size} cannot be split into "
            f"{k} equal sections. Pass the split indices instead, or use "
            "ops.array_split.")
    q, r = divmod(size, k)
    pts, at = [0], 0
    for i in range(k):
        at += q + (1 if i < r else 0)
        pts.append(at)
    return pts


@keras_op
def split(x, indices_or_sections, axis=0):
    """Sub-tensors along a static axis (a count of equal sections or the
    split indices)."""
    x = convert_to_tensor(x)
    axis, size = _static_axis(x, axis, "split")
    pts = _split_points(size, indices_or_sections, "split", even=True)
    return [_take_range(x, axis, a, builtins.max(a, b))
            for a, b in itertools.pairwise(pts)]


@keras_op
def array_split(x, indices_or_sections, axis=0):
    x = convert_to_tensor(x)
    axis, size = _static_axis(x, axis, "array_split")
    pts = _split_points(size, indices_or_sections, "array_split", even=False)
    return [_take_range(x, axis, a, builtins.max(a, b))
            for a, b in itertools.pairwise(pts)]


def _atleast(x, n: int, where_: str):
    x = convert_to_tensor(x)
    r = len(shape(x))
    if r >= n:
        return x
    if n == 1:
        return reshape(x, (1,))
    if n == 2:
        return reshape(x, (1, -1) if r else (1, 1))
    s = [1, 1, 1] if r == 0 else ([1, shape(x)[0], 1] if r == 1 else
                                  [*shape(x), 1])
    return reshape(x, [-1 if d is None else d for d in s])


@keras_op
def hstack(xs):
    xs = [_atleast(x, 1, "h") for x in xs]
    axis = 0 if len(shape(xs[0])) == 1 else 1
    return concatenate(xs, axis=axis)


@keras_op
def vstack(xs):
    return concatenate([_atleast(x, 2, "v") for x in xs], axis=0)


@keras_op
def dstack(xs):
    return concatenate([_atleast(x, 3, "d") for x in xs], axis=2)


@keras_op
def unstack(x, num=None, axis=0):
    x = convert_to_tensor(x)
    axis, size = _static_axis(x, axis, "unstack")
    if num is not None and int(num) != size:
        raise ValueError(f"ops.unstack: num={num} does not match the size "
                         f"{size} of axis {axis} (shape {shape(x)}).")
    return [squeeze(_take_range(x, axis, i, i + 1), axis=axis)
            for i in range(size)]


@keras_op
def roll(x, shift, axis=None):
    x = convert_to_tensor(x)
    if axis is None:
        return reshape(roll(ravel(x), shift, 0),
                       [-1 if d is None else d for d in shape(x)])
    shifts = [int(s) for s in _axes(shift)]
    axes_ = list(_axes(axis))
    if len(shifts) == 1 and len(axes_) > 1:
        shifts = shifts * len(axes_)
    for s, a in zip(shifts, axes_):
        a, size = _static_axis(x, a, "roll")
        s %= size
        if s:
            x = concatenate([_take_range(x, a, size - s, size),
                             _take_range(x, a, 0, size - s)], axis=a)
    return x


@keras_op
def fliplr(x):
    return flip(x, axis=1)


@keras_op
def flipud(x):
    return flip(x, axis=0)


@keras_op
def rot90(array, k=1, axes=(0, 1)):
    x = convert_to_tensor(array)
    a0, a1 = (a % len(shape(x)) for a in axes)
    k %= 4
    if k == 0:
        return x
    if k == 2:
        return flip(flip(x, a0), a1)
    if k == 1:
        return swapaxes(flip(x, a1), a0, a1)
    return flip(swapaxes(x, a0, a1), a1)


@keras_op
def diff(a, n=1, axis=-1, prepend=None, append=None):
    x = convert_to_tensor(a)
    if prepend is not None or append is not None:
        ax, _ = _static_axis(x, axis, "diff")

        def edge(p):
            # a scalar (or lower-rank) value is broadcast to one slice
            # along `axis`, as NumPy does
            p = convert_to_tensor(p, dtype=dtype(x))
            if len(p.shape) < len(x.shape):
                shape = list(x.shape)
                shape[ax] = 1
                p = broadcast_to(p, tuple(shape))
            return p

        parts = [edge(p) if p is not None else x
                 for p in (prepend, x, append) if p is not None]
        parts = [x if p is x else p for p in parts]
        x = concatenate(parts, axis=ax)
    for _ in range(int(n)):
        ax, size = _static_axis(x, axis, "diff")
        if dtype(x) == "bool":
            x = not_equal(_take_range(x, ax, 1, size),
                          _take_range(x, ax, 0, size - 1))
        else:
            x = subtract(_take_range(x, ax, 1, size),
                         _take_range(x, ax, 0, size - 1))
    return x


@keras_op
def cumprod(x, axis=None, dtype=None):
    """Cumulative product along a static axis (exp of a cumulative sum of
    log-magnitudes, with signs and zeros counted separately)."""
    x = convert_to_tensor(x)
    if dtype is not None:
        x = cast(x, dtype)
    if axis is None:
        x, axis = ravel(x), 0
    out_dt = globals()["dtype"](x)
    xf = _floatify(x) if out_dt != "bool" else cast(x, "float32")
    zero = equal(xf, 0.0)
    mag = exp(cumsum(log(where(zero, ones_like(xf), abs(xf))), axis=axis))
    negs = cumsum(cast(less(xf, 0.0), "float32"), axis=axis)
    sgn = subtract(1.0, multiply(subtract(negs, multiply(
        floor(multiply(negs, 0.5)), 2.0)), 2.0))
    zeros_seen = greater(cumsum(cast(zero, "float32"), axis=axis), 0.0)
    out = _where0(logical_not(zeros_seen), multiply(mag, sgn))
    if out_dt != globals()["dtype"](out):
        if out_dt != "bool":
            out = floor(add(out, 0.5))
        out = cast(out, out_dt)
    return out


# --- sort, ranks, selection ---------------------------------------------------------


def _ranks(x):
    """The position each element of the last axis takes in ascending order
    (ties keep their order): an int32 tensor of x's shape."""
    n = shape(x)[-1]
    xi = expand_dims(x, -1)  # (..., n, 1): element i
    xj = expand_dims(x, -2)  # (..., 1, n): element j
    before = np.tril(np.ones((n, n), bool), -1)  # [i, j]: j < i
    below = logical_or(less(xj, xi), logical_and(equal(xj, xi), before))
    return sum(cast(below, "int32"), axis=-1)


def _rank_onehot(x):
    """(..., n_in, n_out) bool: element i goes to position p."""
    n = shape(x)[-1]
    return equal(expand_dims(_ranks(x), -1), np.arange(n, dtype=np.int32))


@keras_op
def sort(x, axis=-1):
    """Values sorted ascending along a static axis."""
    x = convert_to_tensor(x)
    ax, _ = _static_axis(x, axis, "sort")
    last = len(shape(x)) - 1
    if ax != last:
        x = moveaxis(x, ax, -1)
    hot = _rank_onehot(x)
    vals = expand_dims(x, -1)
    if dtype(x) == "bool":
        out = greater(sum(cast(logical_and(hot, vals), "int32"), axis=-2), 0)
    else:
        out = sum(_where0(hot, add(vals, zeros_like(cast(hot, dtype(x))))),
                  axis=-2)
    return moveaxis(out, -1, ax) if ax != last else out


@keras_op
def argsort(x, axis=-1):
    """Indices that sort x ascending along a static axis (stable)."""
    x = convert_to_tensor(x)
    if axis is None:
        x, axis = ravel(x), 0
    ax, n = _static_axis(x, axis, "argsort")
    last = len(shape(x)) - 1
    if ax != last:
        x = moveaxis(x, ax, -1)
    hot = cast(_rank_onehot(x), "int32")
    out = sum(multiply(hot, np.arange(n, dtype=np.int32).reshape(n, 1)),
              axis=-2)
    return moveaxis(out, -1, ax) if ax != last else out


@keras_op
def take_along_axis(x, indices, axis=None):
    """x's entries at `indices` along `axis` (indices broadcast with x on
    the other axes; negative indices count from the end)."""
    x = convert_to_tensor(x)
    indices = cast(convert_to_tensor(indices), "int32")
    if axis is None:
        x, indices, axis = ravel(x), ravel(indices), 0
    ax, n = _static_axis(x, axis, "take_along_axis")
    last = len(shape(x)) - 1
    if ax != last:
        x = moveaxis(x, ax, -1)
        indices = moveaxis(indices, ax, -1)
    indices = where(less(indices, 0), add(indices, n), indices)
    hot = one_hot(indices, n, dtype="bool")  # (..., m, n)
    vals = expand_dims(x, -2)  # (..., 1, n)
    if dtype(x) == "bool":
        out = greater(sum(cast(logical_and(hot, vals), "int32"), axis=-1), 0)
    else:
        out = sum(_where0(hot, add(vals, zeros_like(cast(hot, dtype(x))))),
                  axis=-1)
    return moveaxis(out, -1, ax) if ax != last else out


@keras_op
def select(condlist, choicelist, default=0):
    if len(condlist) != len(choicelist) or not condlist:
        raise ValueError(
            f"ops.select: condlist and choicelist must have the same "
            f"non-zero length, received {len(condlist)} and "
            f"{len(choicelist)}.")
    out = default
    for c, v in reversed(list(zip(condlist, choicelist))):
        dt = result_type(v, out)
        _, (v2, o2) = _align(v, out, to=dt)
        out = where(c, v2, o2)
    return out


_METHODS = ("linear", "lower", "higher", "midpoint", "nearest")


@keras_op
def quantile(x, q, axis=None, method="linear", keepdims=False):
    """q-th quantiles (q in [0, 1], static) of x along axis (None: all),
    NumPy's interpolation methods."""
    if method not in _METHODS:
        raise ValueError(f"ops.quantile: method must be one of {_METHODS}, "
                         f"received method={method!r}.")
    if isinstance(q, (TracedTensor,)):
        raise ValueError(  # noqa: TRY004  (Keras raises ValueError)
            "ops.quantile needs q as numbers or an array, "
                         "received a symbolic tensor.")
    qs = np.asarray(q, np.float64)
    if np.any((qs < 0) | (qs > 1)):
        raise ValueError(f"ops.quantile: q must lie in [0, 1], received "
                         f"q={q!r}.")
    x = _f(x)
    r = len(shape(x))
    axes_ = tuple(range(r)) if axis is None else tuple(
        a % r for a in _axes(axis))
    rest = [i for i in range(r) if i not in axes_]
    xt = transpose(x, rest + list(axes_))
    lead = [-1 if shape(x)[i] is None else shape(x)[i] for i in rest]
    n = int(np.prod([shape(x)[a] for a in axes_]))
    if builtins.any(shape(x)[a] is None for a in axes_):
        raise ValueError("ops.quantile needs static axes, received the batch "
                         f"axis of shape {shape(x)}.")
    s = sort(reshape(xt, lead + [n]), axis=-1)
    outs = []
    for qv in qs.reshape(-1):
        pos = qv * (n - 1)
        lo, hi = math.floor(pos), math.ceil(pos)
        a = _take_range(s, len(lead), lo, lo + 1)
        b = _take_range(s, len(lead), hi, hi + 1)
        frac = pos - lo
        if method == "lower":
            v = a
        elif method == "higher":
            v = b
        elif method == "midpoint":
            v = multiply(add(a, b), 0.5)
        elif method == "nearest":
            v = a if np.around(pos) == lo else b
        else:
            v = add(a, multiply(subtract(b, a), frac))
        outs.append(squeeze(v, axis=-1))
    out = stack(outs, axis=0) if qs.ndim else outs[0]
    if keepdims:
        for a in sorted(axes_):
            out = expand_dims(out, a + (1 if qs.ndim else 0))
    return out


@keras_op
def percentile(x, q, axis=None, method="linear", keepdims=False):
    return quantile(x, np.asarray(q, np.float64) / 100.0, axis=axis,
                    method=method, keepdims=keepdims)


@keras_op
def median(x, axis=None, keepdims=False):
    return quantile(x, 0.5, axis=axis, keepdims=keepdims)


@keras_op
def average(x, axis=None, weights=None):
    x = _f(x)
    if weights is None:
        return mean(x, axis=axis)
    w = cast(weights, dtype(x))
    if len(shape(w)) == 1 and len(shape(x)) > 1:
        if axis is None:
            raise ValueError("ops.average: 1-D weights need an axis, received "
                             "axis=None for an input of shape "
                             f"{shape(x)}.")
        ax = axis % len(shape(x))
        w = reshape(w, [-1 if i == ax else 1 for i in range(len(shape(x)))])
    return divide(sum(multiply(x, w), axis=axis),
                  sum(multiply(ones_like(x), w), axis=axis))


# --- NaN-ignoring reductions --------------------------------------------------------


@keras_op
def nansum(x, axis=None, keepdims=False):
    x = convert_to_tensor(x)
    return sum(_where0(logical_not(isnan(x)), x), axis=axis, keepdims=keepdims)


@keras_op
def nanmean(x, axis=None, keepdims=False):
    x = _f(x)
    ok = cast(logical_not(isnan(x)), dtype(x))
    return divide(nansum(x, axis, keepdims), sum(ok, axis=axis,
                                                  keepdims=keepdims))


@keras_op
def nanmax(x, axis=None, keepdims=False):
    x = convert_to_tensor(x)
    low = full_like(x, -np.inf)
    out = max(where(isnan(x), low, x), axis=axis, keepdims=keepdims)
    allnan = all_(isnan(x), axis=axis, keepdims=keepdims)
    return where(allnan, full_like(out, np.nan), out)


@keras_op
def nanmin(x, axis=None, keepdims=False):
    x = convert_to_tensor(x)
    high = full_like(x, np.inf)
    out = min(where(isnan(x), high, x), axis=axis, keepdims=keepdims)
    allnan = all_(isnan(x), axis=axis, keepdims=keepdims)
    return where(allnan, full_like(out, np.nan), out)


@keras_op
def nanprod(x, axis=None, keepdims=False):
    x = _f(x)
    return prod(where(isnan(x), ones_like(x), x), axis=axis,
                keepdims=keepdims)


@keras_op
def nanvar(x, axis=None, keepdims=False):
    x = _f(x)
    m = nanmean(x, axis=axis, keepdims=True)
    return nanmean(square(subtract(x, m)), axis=axis, keepdims=keepdims)


@keras_op
def nanstd(x, axis=None, keepdims=False):
    return sqrt(nanvar(x, axis=axis, keepdims=keepdims))


# --- ops.nn -----------------------------------------------------------------------------


@keras_op
def rms_normalization(x, scale=1, axis=-1, epsilon=None):
    """x * rsqrt(mean(x^2) + epsilon) * scale (epsilon: config.epsilon(),
    1e-7 by default, as Keras)."""
    from .. import config

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
    from .. import config

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
        from .ops import tanh

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
    ge = cast(greater_equal_(xj, xi), dtype(x))  # [i, j]: x_j >= x_i
    rank = sum(ge, axis=-1)
    above = sum(multiply(ge, xj), axis=-1)
    support = cast(greater(add(multiply(rank, x), 1.0), above), dtype(x))
    k = sum(support, axis=-1, keepdims=True)
    tau = divide(subtract(sum(multiply(support, x), axis=-1, keepdims=True),
                          1.0), k)
    out = relu(subtract(x, tau))
    return moveaxis(out, -1, ax) if ax != last else out


def greater_equal_(a, b):
    from .ops import greater_equal

    return greater_equal(a, b)


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


__all__ = [
    "allclose", "arccos", "arccosh", "arcsin", "arcsinh", "arctan", "arctan2",
    "arctanh", "argsort", "array", "array_split", "average",
    "batch_normalization", "cbrt", "copy", "cosh", "count_nonzero", "cumprod",
    "deg2rad", "depth_to_space", "diag", "diagonal", "diff",
    "dot_product_attention", "dstack", "empty", "empty_like", "erfc",
    "erfinv", "exp2", "eye", "fliplr", "flipud", "fmod", "geomspace",
    "heaviside", "hstack", "hypot", "identity", "inner", "isclose",
    "isfinite", "isinf", "layer_normalization", "linspace", "logaddexp",
    "logical_xor", "logspace", "median", "meshgrid", "multi_hot",
    "nan_to_num", "nanmax", "nanmean", "nanmin", "nanprod", "nanstd",
    "nansum", "nanvar", "outer", "percentile", "quantile", "rad2deg",
    "ravel", "rms_normalization", "roll", "rot90", "select", "signbit",
    "sinh", "sort", "space_to_depth", "sparsemax", "split", "swapaxes",
    "take_along_axis", "tan", "tensordot", "trace", "tri", "tril", "triu",
    "trunc", "unstack", "vdot", "vstack",
]


# --- more NumPy functions (cheap compositions) -----------------------------------


@keras_op
def fabs(x):
    return abs(_f(x))


@keras_op
def logaddexp2(x1, x2):
    ln2 = math.log(2.0)
    return divide(logaddexp(multiply(_f(x1), ln2), multiply(_f(x2), ln2)), ln2)


@keras_op
def isposinf(x):
    x = convert_to_tensor(x)
    return equal(x, np.inf) if dtype(x).startswith("float") else cast(
        zeros_like(x), "bool")


@keras_op
def isneginf(x):
    x = convert_to_tensor(x)
    return equal(x, -np.inf) if dtype(x).startswith("float") else cast(
        zeros_like(x), "bool")


@keras_op
def fmax(x1, x2):
    """Elementwise maximum that ignores a NaN operand."""
    _, (a, b) = _align(x1, x2)
    return where(isnan(a), b, where(isnan(b), a, maximum(a, b)))


@keras_op
def fmin(x1, x2):
    """Elementwise minimum that ignores a NaN operand."""
    _, (a, b) = _align(x1, x2)
    return where(isnan(a), b, where(isnan(b), a, minimum(a, b)))


@keras_op
def ptp(x, axis=None, keepdims=False):
    x = convert_to_tensor(x)
    return subtract(max(x, axis=axis, keepdims=keepdims),
                    min(x, axis=axis, keepdims=keepdims))


@keras_op
def sinc(x):
    """sin(pi x) / (pi x), 1 at 0."""
    x = _f(x)
    zero = equal(x, 0.0)
    safe = where(zero, ones_like(x), multiply(x, math.pi))
    return where(zero, ones_like(x), divide(sin(safe), safe))


@keras_op
def real(x):
    return convert_to_tensor(x)


@keras_op
def imag(x):
    return zeros_like(convert_to_tensor(x))


@keras_op
def conj(x):
    return convert_to_tensor(x)


conjugate = conj


@keras_op
def isreal(x):
    return cast(ones_like(convert_to_tensor(x)), "bool")


@keras_op
def angle(x):
    """0 for non-negative reals, pi for negative ones."""
    x = _f(x)
    return where(less(x, 0.0), full_like(x, math.pi), zeros_like(x))


@keras_op
def append(x1, x2, axis=None):
    _, (a, b) = _align(x1, x2)
    if axis is None:
        return concatenate([ravel(a), ravel(b)], axis=0)
    return concatenate([a, b], axis=axis)


@keras_op
def hsplit(x, indices_or_sections):
    return split(x, indices_or_sections,
                 axis=0 if len(shape(x)) == 1 else 1)


@keras_op
def vsplit(x, indices_or_sections):
    return split(x, indices_or_sections, axis=0)


@keras_op
def dsplit(x, indices_or_sections):
    return split(x, indices_or_sections, axis=2)


def get_item(x, key):
    return getitem(x, key)


@keras_op
def cross(x1, x2, axisa=-1, axisb=-1, axisc=-1, axis=None):
    """Cross product of 3-vectors along the last axes (2-vectors are
    padded with a zero z, as NumPy does)."""
    if axis is not None:
        axisa = axisb = axisc = axis
    _, (a, b) = _align(x1, x2)
    a, b = moveaxis(a, axisa, -1), moveaxis(b, axisb, -1)

    def comps(v):
        n = shape(v)[-1]
        if n not in (2, 3):
            raise ValueError(f"ops.cross: vectors must have 2 or 3 "
                             f"components, received shape {shape(v)}.")
        parts = [getitem(v, (Ellipsis, i)) for i in range(n)]
        if n == 2:
            parts.append(zeros_like(parts[0]))
        return parts

    (a0, a1, a2), (b0, b1, b2) = comps(a), comps(b)
    out = stack([subtract(multiply(a1, b2), multiply(a2, b1)),
                 subtract(multiply(a2, b0), multiply(a0, b2)),
                 subtract(multiply(a0, b1), multiply(a1, b0))], axis=-1)
    if shape(a)[-1] == 2 and shape(b)[-1] == 2:
        return getitem(out, (Ellipsis, 2))
    return moveaxis(out, -1, axisc)


@keras_op
def kron(x1, x2):
    _, (a, b) = _align(x1, x2)
    r = builtins.max(len(shape(a)), len(shape(b)))
    a = reshape(a, (1,) * (r - len(shape(a))) + tuple(shape(a)))
    b = reshape(b, (1,) * (r - len(shape(b))) + tuple(shape(b)))
    ea = reshape(a, [d for s in shape(a) for d in (s, 1)])
    eb = reshape(b, [d for s in shape(b) for d in (1, s)])
    return reshape(multiply(ea, eb),
                   [p * q for p, q in zip(shape(a), shape(b))])


@keras_op
def trapezoid(y, x=None, dx=1.0, axis=-1):
    y = _f(y)
    ax, n = _static_axis(y, axis, "trapezoid")
    mid = multiply(add(_take_range(y, ax, 1, n), _take_range(y, ax, 0, n - 1)),
                   0.5)
    if x is None:
        return multiply(sum(mid, axis=ax), float(dx))
    return sum(multiply(mid, diff(_f(x), axis=axis)), axis=ax)


@keras_op
def vander(x, N=None, increasing=False):
    x = convert_to_tensor(x)
    n = shape(x)[0] if N is None else int(N)
    pw = np.arange(n) if increasing else np.arange(n)[::-1]
    cols = [power(x, int(p)) if p else ones_like(x) for p in pw]
    return stack(cols, axis=-1)


@keras_op
def corrcoef(x):
    """Pearson correlation of the rows of x."""
    x = _f(x)
    xc = subtract(x, mean(x, axis=-1, keepdims=True))
    cov = matmul(xc, transpose(xc))
    d = sqrt(diagonal(cov))
    return divide(cov, multiply(expand_dims(d, 1), expand_dims(d, 0)))


@keras_op
def searchsorted(sorted_sequence, values, side="left"):
    """Insertion indices of values into a sorted 1-D sequence (a count of
    the entries below, or not above, each value)."""
    if side not in ("left", "right"):
        raise ValueError(f"ops.searchsorted: side must be 'left' or 'right', "
                         f"received side={side!r}.")
    s = convert_to_tensor(sorted_sequence)
    if len(shape(s)) != 1:
        raise ValueError("ops.searchsorted expects a 1-D sorted_sequence, "
                         f"received shape {shape(s)}.")
    _, (s, v) = _align(s, values)
    cmp = less if side == "left" else less_equal
    return sum(cast(cmp(s, expand_dims(v, -1)), "int32"), axis=-1)


@keras_op
def digitize(x, bins):
    """Index of the bin of each x (bins increasing): the number of bin
    edges <= x."""
    return searchsorted(bins, x, side="right")


@keras_op
def isin(x1, x2, assume_unique=False, invert=False):
    x1 = convert_to_tensor(x1)
    _, (a, b) = _align(x1, x2)
    hit = any_(equal(expand_dims(a, -1), ravel(b)), axis=-1)
    return logical_not(hit) if invert else hit


@keras_op
def bincount(x, weights=None, minlength=0, sparse=False):
    """Counts of each value of x (a static length: minlength, or the
    largest value + 1 of a concrete x)."""
    if sparse:
        raise ValueError("ops.bincount: sparse=True is not supported.")
    x = convert_to_tensor(x)
    n = int(minlength)
    if not isinstance(x, TracedTensor):
        n = builtins.max(n, int(np.max(x)) + 1 if np.size(x) else 0)
    elif n <= 0:
        raise ValueError("ops.bincount of a symbolic tensor needs minlength "
                         "(the number of bins), received minlength=0.")
    hot = one_hot(cast(x, "int32"), n, dtype="float32")
    if weights is not None:
        w = convert_to_tensor(weights)
        hot = multiply(hot, expand_dims(_floatify(w), -1))
        out_dt = dtype(w) if dtype(w).startswith("float") else "int32"
    else:
        out_dt = "int32"
    out = sum(hot, axis=-2)
    return cast(out, out_dt) if out_dt != dtype(out) else out


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


@keras_op
def psnr(x1, x2, max_val):
    """Peak signal-to-noise ratio: 20 log10(max_val) - 10 log10(mse)."""
    a, b = _f(x1), _f(x2)
    mse = mean(square(subtract(a, b)))
    return subtract(20.0 * math.log10(float(max_val)),
                    multiply(log(mse), 10.0 / math.log(10.0)))


@keras_op
def cdist(x1, x2, p=2):
    """Distances between the rows of x1 and x2 (the p-norm)."""
    a, b = _f(x1), _f(x2)
    d = subtract(expand_dims(a, -2), expand_dims(b, -3))
    if p == 2:
        return sqrt(sum(square(d), axis=-1))
    if p == 1:
        return sum(abs(d), axis=-1)
    return power(sum(power(abs(d), float(p)), axis=-1), 1.0 / p)


@keras_op
def saturate_cast(x, dtype):
    """cast after clipping to the target dtype's range."""
    dt = standardize_dtype(dtype)
    x = convert_to_tensor(x)
    if dt.startswith("int") and globals()["dtype"](x).startswith("float"):
        info = np.iinfo(np.dtype(dt))
        # the float32 neighbours inside the range (2^31 - 1 is not a float32)
        hi = float(np.nextafter(np.float32(info.max), np.float32(0)))
        x = clip_(x, float(info.min), hi)
    return cast(x, dt)


def clip_(x, lo, hi):
    from .ops import clip

    return clip(x, lo, hi)


@keras_op
def nancumsum(x, axis=None, dtype=None):
    x = convert_to_tensor(x)
    x = where(isnan(x), zeros_like(x), x) if globals()["dtype"](
        x).startswith("float") else x
    out = cumsum(x, axis=axis)
    return out if dtype is None else cast(out, dtype)


@keras_op
def nancumprod(x, axis=None, dtype=None):
    x = convert_to_tensor(x)
    x = where(isnan(x), ones_like(x), x) if globals()["dtype"](
        x).startswith("float") else x
    return cumprod(x, axis=axis, dtype=dtype)


@keras_op
def nanargmax(x, axis=None, keepdims=False):
    from .ops import argmax

    x = convert_to_tensor(x)
    x = where(isnan(x), full_like(x, -np.inf), x)
    if axis is None:
        x, axis = ravel(x), 0
    return argmax(x, axis=axis, keepdims=keepdims)


@keras_op
def nanargmin(x, axis=None, keepdims=False):
    from .ops import argmin

    x = convert_to_tensor(x)
    x = where(isnan(x), full_like(x, np.inf), x)
    if axis is None:
        x, axis = ravel(x), 0
    return argmin(x, axis=axis, keepdims=keepdims)


@keras_op
def unravel_index(indices, shape):
    """Coordinates of flat `indices` in an array of `shape` (a tuple of
    index tensors)."""
    idx = cast(convert_to_tensor(indices), "int32")
    out = []
    for d in reversed([int(s) for s in shape]):
        q = floor(divide(cast(idx, "float32"), float(d)))
        qi = cast(q, "int32")
        out.append(subtract(idx, multiply(qi, d)))
        idx = qi
    return tuple(reversed(out))


# --- linalg for small static matrices (unrolled elimination) ------------------

_MAX_LINALG = 64


def _square(a, fn: str):
    a = _f(a)
    if len(shape(a)) < 2 or shape(a)[-1] != shape(a)[-2] or shape(a)[-1] is None:
        raise ValueError(f"ops.linalg.{fn} expects square matrices (..., n, "
                         f"n) with a static n, received shape {shape(a)}.")
    n = shape(a)[-1]
    if n > _MAX_LINALG:
        raise ValueError(
            f"ops.linalg.{fn} unrolls its elimination and supports n <= "
            f"{_MAX_LINALG}, received matrices of size {n}.")
    return a, n


def _eliminate(a, b, n: int):
    """Gauss-Jordan with partial pivoting on [a | b]: returns (x with
    a x = b, det(a))."""
    aug = concatenate([a, b], axis=-1)
    det = None
    for k in range(n):
        col = getitem(aug, (Ellipsis, builtins.slice(None), k))  # (..., n)
        below = np.arange(n) >= k
        mag = where(below, abs(col), full_like(col, -1.0))
        p = stop_gradient_(one_hot_argmax(mag, n))  # (..., n) one-hot row
        ek = np.eye(n, dtype=np.float32)[k]
        # row swap k <-> p as a permutation matrix
        pk = multiply(expand_dims(p, -1), ek)  # [i, j] = p_i [j == k]
        perm = add(subtract(np.eye(n, dtype=np.float32) - np.outer(ek, ek),
                            multiply(expand_dims(p, -1), expand_dims(p, -2))),
                   add(pk, swapaxes(pk, -1, -2)))
        aug = matmul(perm, aug)
        swapped = subtract(1.0, getitem(p, (Ellipsis, k)))  # 1 if p != k
        pivot = getitem(aug, (Ellipsis, k, k))
        sgn = subtract(1.0, multiply(swapped, 2.0))
        term = multiply(pivot, sgn)
        det = term if det is None else multiply(det, term)
        row = divide(getitem(aug, (Ellipsis, builtins.slice(k, k + 1),
                                   builtins.slice(None))),
                     expand_dims(expand_dims(pivot, -1), -1))
        factor = getitem(aug, (Ellipsis, builtins.slice(None),
                               builtins.slice(k, k + 1)))
        factor = multiply(factor, (1.0 - ek)[:, None])
        aug = subtract(aug, multiply(factor, row))
        aug = add(multiply(aug, (1.0 - ek)[:, None]),
                  multiply(row, ek[:, None]))
    return getitem(aug, (Ellipsis, builtins.slice(n, None))), det


def stop_gradient_(x):
    from .ops import stop_gradient

    return stop_gradient(x)


def one_hot_argmax(x, n):
    from .ops import argmax

    return one_hot(argmax(x, axis=-1), n, dtype=dtype(x))


@keras_op
def solve(a, b):
    """x with a x = b (b: (..., n) or (..., n, k))."""
    a, n = _square(a, "solve")
    b = cast(b, dtype(a))
    vec = len(shape(b)) == len(shape(a)) - 1
    if vec:
        b = expand_dims(b, -1)
    x, _ = _eliminate(a, b, n)
    return squeeze(x, -1) if vec else x


@keras_op
def inv(a):
    a, n = _square(a, "inv")
    eye_ = add(zeros_like(a), np.eye(n, dtype=dtype(a)))
    x, _ = _eliminate(a, eye_, n)
    return x


@keras_op
def det(a):
    a, n = _square(a, "det")
    _, d = _eliminate(a, getitem(a, (Ellipsis, builtins.slice(0, 1))), n)
    return d


@keras_op
def slogdet(x):
    d = det(x)
    return sign(d), log(abs(d))


@keras_op
def logdet(x):
    """log(det(x)) (NaN for a negative determinant, as Keras)."""
    return log(det(x))


@keras_op
def cholesky(x, upper=False):
    """The lower factor L of x = L L^T (x symmetric positive definite),
    column by column."""
    a, n = _square(x, "cholesky")
    cols = []
    for j in range(n):
        col = getitem(a, (Ellipsis, builtins.slice(None), j))  # (..., n)
        for k, lk in enumerate(cols):
            col = subtract(col, multiply(lk, expand_dims(
                getitem(lk, (Ellipsis, j)), -1)))
        d = sqrt(getitem(col, (Ellipsis, j)))
        mask = (np.arange(n) >= j).astype(np.float32)
        cols.append(multiply(divide(col, expand_dims(d, -1)), mask))
    low = stack(cols, axis=-1)
    return swapaxes(low, -1, -2) if upper else low


@keras_op
def solve_triangular(a, b, lower=False):
    a, _ = _square(a, "solve_triangular")
    a = tril(a) if lower else triu(a)
    return solve(a, b)


@keras_op
def cholesky_inverse(x, upper=False):
    """inv(x x^T) for a Cholesky factor x (lower, or upper if `upper`)."""
    f = _f(x)
    prod_ = matmul(swapaxes(f, -1, -2), f) if upper else matmul(
        f, swapaxes(f, -1, -2))
    return inv(prod_)


__all__ += [
    "angle", "append", "bincount", "cdist", "cholesky", "cholesky_inverse",
    "conj", "conjugate", "corrcoef", "cross", "det", "digitize", "dsplit",
    "fabs", "fmax", "fmin", "get_item", "hsplit", "imag", "inv", "isin",
    "isneginf", "isposinf", "isreal", "kron", "logaddexp2", "logdet",
    "nanargmax", "nanargmin", "nancumprod", "nancumsum", "psnr", "ptp",
    "real", "saturate_cast", "searchsorted", "segment_max", "segment_sum",
    "sinc", "slogdet", "solve", "solve_triangular", "trapezoid",
    "unravel_index", "vander", "vsplit",
]
