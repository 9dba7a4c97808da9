"""Helpers shared by the op definitions (axes, shapes, counts)."""

from __future__ import annotations

import numpy as np

from ..types import is_symbol


def norm_axis(axis: int, rank: int) -> int:
    if not -rank <= axis < rank:
        raise ValueError(f"axis {axis} is out of range for rank {rank}")
    return axis % rank if rank else 0


def norm_axes(axes, rank: int) -> tuple:
    if axes is None:
        return tuple(range(rank))
    out = sorted({norm_axis(a, rank) for a in axes})
    if len(out) != len(axes):
        raise ValueError(f"axes {tuple(axes)} repeat an axis")
    return tuple(out)


def keepdims_shape(shape: tuple, axes: tuple) -> tuple:
    return tuple(1 if i in axes else d for i, d in enumerate(shape))


def reduced_shape(shape: tuple, axes: tuple, keepdims: bool) -> tuple:
    if keepdims:
        return keepdims_shape(shape, axes)
    return tuple(d for i, d in enumerate(shape) if i not in axes)


def count_value(b, x, axes: tuple, dtype):
    """A scalar Value: the number of elements of x over `axes` (symbolic
    dims are read at run time with dim_size)."""
    static = 1
    out = None
    for a in axes:
        d = x.shape[a]
        if is_symbol(d):
            v = b.dim_size(x, axis=a, dtype=dtype)
            out = v if out is None else b.mul(out, v)
        else:
            static *= d
    if out is None:
        return b.constant(static, dtype)
    return out if static == 1 else b.mul(out, b.constant(static, dtype))


def expand_to(b, g, x, axes: tuple, keepdims: bool):
    """Broadcast a reduction's cotangent g back to x's shape."""
    if not keepdims:
        g = b.reshape(g, shape=keepdims_shape(x.shape, axes))
    if g.shape != x.shape:
        g = b.broadcast_to(g, shape=x.shape)
    return g


def resolve_shape(shape: tuple, env: dict) -> tuple:
    return tuple(env[d] if is_symbol(d) else d for d in shape)


def same_count(a: tuple, b: tuple) -> bool:
    """Whether two shapes (with symbols) hold the same number of elements."""
    ia = int(np.prod([d for d in a if not is_symbol(d)], dtype=np.int64))
    ib = int(np.prod([d for d in b if not is_symbol(d)], dtype=np.int64))
    sa = sorted(d for d in a if is_symbol(d))
    sb = sorted(d for d in b if is_symbol(d))
    return ia == ib and sa == sb
