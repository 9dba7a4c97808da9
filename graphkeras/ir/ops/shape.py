"""Ops that move data without arithmetic: reshape, transpose, slice,
concat, pad, broadcast_to.

Shapes in attributes are fully resolved at build time (no -1) and may name
symbols; a slice may only take the whole of a symbolic dimension.
"""

from __future__ import annotations

import numpy as np

from ..registry import (
    Attr,
    OpDef,
    a_float,
    a_int,
    a_ints,
    a_shape,
    register_op,
)
from ..types import TensorType, broadcast_shapes, format_shape, is_symbol
from ._util import norm_axis, same_count


@register_op
class Reshape(OpDef):
    name, onnx = "reshape", "Reshape"
    attrs = {"shape": Attr(a_shape)}
    shape_attrs = ("shape",)

    def infer(self, x, shape):
        if not same_count(x.shape, shape):
            raise ValueError(
                f"cannot reshape {format_shape(x.shape)} to {format_shape(shape)}"
            )
        return TensorType(shape, x.dtype)

    def reference(self, x, shape):
        return np.reshape(x, shape)

    def vjp(self, b, g, inputs, outputs, shape):
        return (b.reshape(g, shape=inputs[0].shape),)


def _check_perm(perm, rank):
    if sorted(perm) != list(range(rank)):
        raise ValueError(f"perm {perm} is not a permutation of {rank} axes")


@register_op
class Transpose(OpDef):
    name, onnx = "transpose", "Transpose"
    attrs = {"perm": Attr(a_ints)}

    def infer(self, x, perm):
        _check_perm(perm, x.rank)
        return TensorType(tuple(x.shape[p] for p in perm), x.dtype)

    def reference(self, x, perm):
        return np.transpose(x, perm)

    def vjp(self, b, g, inputs, outputs, perm):
        inv = tuple(int(i) for i in np.argsort(perm))
        return (b.transpose(g, perm=inv),)


def _a_opt_ints(v):
    if not isinstance(v, (tuple, list)):
        raise TypeError(f"expected a tuple, got {v!r}")
    return tuple(None if x is None else a_int(x) for x in v)


def _slice_len(start, stop, step, dim):
    return len(range(*slice(start, stop, step).indices(dim)))


@register_op
class Slice(OpDef):
    """x[starts[i]:stops[i]:steps[i] for each axis], NumPy semantics.

    The attrs are normalized at build time: starts non-negative, stops
    non-negative or None (to the end; with a negative step, past the
    beginning), steps non-zero.
    """

    name, onnx = "slice", "Slice"
    attrs = {
        "starts": Attr(a_ints),
        "stops": Attr(_a_opt_ints),
        "steps": Attr(a_ints),
    }

    def normalize(self, types, attrs):
        x = types[0]
        starts, stops, steps = attrs["starts"], attrs["stops"], attrs["steps"]
        if not len(starts) == len(stops) == len(steps) == x.rank:
            raise ValueError(
                f"starts, stops and steps need {x.rank} entries each, got "
                f"{len(starts)}, {len(stops)}, {len(steps)}"
            )
        ns, ne = [], []
        for d, s, e, st in zip(x.shape, starts, stops, steps):
            if st == 0:
                raise ValueError("a slice step cannot be 0")
            if is_symbol(d):
                if (s, e, st) not in ((0, None, 1),):
                    raise ValueError(
                        f"the symbolic dimension {d} can only be taken whole"
                    )
                ns.append(0)
                ne.append(None)
                continue
            a, z, _ = slice(s, e, st).indices(d)
            if not range(a, z, st):
                # NOTE: every empty selection is spelled 0:0, since .indices()
                # may give a start of -1, which would read as "the last".
                a, z = 0, 0
            ns.append(a)
            # a stop of -1 after .indices() means "before index 0"
            ne.append(None if z < 0 else z)
        return dict(attrs, starts=tuple(ns), stops=tuple(ne))

    def infer(self, x, starts, stops, steps):
        shape = tuple(
            d if is_symbol(d) else _slice_len(s, e, st, d)
            for d, s, e, st in zip(x.shape, starts, stops, steps)
        )
        return TensorType(shape, x.dtype)

    def reference(self, x, starts, stops, steps):
        return np.array(x[tuple(slice(*t) for t in zip(starts, stops, steps))])

    def vjp(self, b, g, inputs, outputs, starts, stops, steps):
        x = inputs[0]
        if all(st == 1 for st in steps):
            pads = tuple(
                (0, 0) if is_symbol(d) else (s, d - s - n)
                for d, s, n in zip(x.shape, starts, g.shape)
            )
            return (b.pad(g, pads=pads),)
        # General strides: scatter the cotangent back through a 0/1 mask
        # built with the same slice (positions are unique, so a sum works).
        return (strided_slice_adjoint(b, g, x, starts, stops, steps),)


def strided_slice_adjoint(b, g, x, starts, stops, steps):
    """dx for a strided slice: each axis is expanded with gather-free
    index arithmetic (pad plus reshape for positive steps, reversal first
    for negative steps)."""
    out = g
    for axis, (d, s, e, st) in enumerate(zip(x.shape, starts, stops, steps)):
        if is_symbol(d) or (st == 1 and s == 0 and out.shape[axis] == d):
            continue
        if st < 0:
            # reverse: take the same elements in increasing order
            n = out.shape[axis]
            rev = [0] * out.rank, [None] * out.rank, [1] * out.rank
            rev[0][axis], rev[2][axis] = n - 1, -1
            out = b.slice(out, starts=tuple(rev[0]), stops=tuple(rev[1]),
                          steps=tuple(rev[2]))
            first = s + (n - 1) * st  # smallest index taken
            s, st = first, -st
        n = out.shape[axis]
        # interleave zeros: (.., n, ..) -> (.., n, st, ..) -> (.., n*st, ..)
        if st > 1:
            shp = list(out.shape)
            expanded = shp[: axis + 1] + [1] + shp[axis + 1:]
            out = b.reshape(out, shape=tuple(expanded))
            pads = [(0, 0)] * out.rank
            pads[axis + 1] = (0, st - 1)
            out = b.pad(out, pads=tuple(pads))
            merged = shp[:axis] + [n * st] + shp[axis + 1:]
            out = b.reshape(out, shape=tuple(merged))
        # trim or pad to the full length d, the first element landing at s
        cur = out.shape[axis]
        end = s + cur
        if end > d:
            st_, sp_, ss_ = [0] * out.rank, [None] * out.rank, [1] * out.rank
            sp_[axis] = d - s
            out = b.slice(out, starts=tuple(st_), stops=tuple(sp_),
                          steps=tuple(ss_))
            cur = d - s
        pads = [(0, 0)] * out.rank
        pads[axis] = (s, d - s - cur)
        out = b.pad(out, pads=tuple(pads))
    return out


@register_op
class Concat(OpDef):
    name, onnx = "concat", "Concat"
    num_inputs = None
    attrs = {"axis": Attr(a_int, 0)}

    def normalize(self, types, attrs):
        return dict(attrs, axis=norm_axis(attrs["axis"], types[0].rank))

    def infer(self, *xs, axis):
        first = xs[0]
        total = 0
        for i, t in enumerate(xs):
            if t.dtype != first.dtype:
                raise TypeError(
                    f"operand {i} is {t.dtype.long_name}, operand 0 is "
                    f"{first.dtype.long_name}"
                )
            if t.rank != first.rank or any(
                a != c for j, (a, c) in enumerate(zip(t.shape, first.shape))
                if j != axis
            ):
                raise ValueError(
                    f"operand {i} has shape {format_shape(t.shape)}, which does "
                    f"not match {format_shape(first.shape)} outside axis {axis}"
                )
        for t in xs:
            if is_symbol(t.shape[axis]):
                raise ValueError("cannot concatenate along a symbolic axis")
            total += t.shape[axis]
        shape = list(first.shape)
        shape[axis] = total
        return TensorType(tuple(shape), first.dtype)

    def reference(self, *xs, axis):
        return np.concatenate(xs, axis=axis)

    def vjp(self, b, g, inputs, outputs, axis):
        grads, off = [], 0
        for x in inputs:
            n = x.shape[axis]
            starts = [0] * g.rank
            stops = [None] * g.rank
            starts[axis], stops[axis] = off, off + n
            grads.append(
                b.slice(g, starts=tuple(starts), stops=tuple(stops),
                        steps=(1,) * g.rank)
            )
            off += n
        return tuple(grads)


def _a_pads(v):
    if not isinstance(v, (tuple, list)):
        raise TypeError(f"expected ((before, after), ...), got {v!r}")
    out = []
    for p in v:
        if not isinstance(p, (tuple, list)) or len(p) != 2:
            raise TypeError(f"expected ((before, after), ...), got {v!r}")
        lo, hi = a_int(p[0]), a_int(p[1])
        if lo < 0 or hi < 0:
            raise ValueError(f"pads must be >= 0, got {v!r}")
        out.append((lo, hi))
    return tuple(out)


@register_op
class Pad(OpDef):
    """Constant padding: `pads[i] = (before, after)` for each axis."""

    name, onnx = "pad", "Pad"
    attrs = {"pads": Attr(_a_pads), "value": Attr(a_float, 0.0)}

    def infer(self, x, pads, value):
        if len(pads) != x.rank:
            raise ValueError(f"pads needs {x.rank} pairs, got {len(pads)}")
        shape = []
        for d, (lo, hi) in zip(x.shape, pads):
            if is_symbol(d):
                if lo or hi:
                    raise ValueError(f"cannot pad the symbolic dimension {d}")
                shape.append(d)
            else:
                shape.append(d + lo + hi)
        return TensorType(tuple(shape), x.dtype)

    def reference(self, x, pads, value):
        if x.ndim == 0:  # np.pad rejects rank 0; there is nothing to pad
            return np.array(x, copy=True)
        return np.pad(x, pads, mode="constant",
                      constant_values=np.asarray(value).astype(x.dtype))

    def vjp(self, b, g, inputs, outputs, pads, value):
        x = inputs[0]
        starts = tuple(lo for lo, _ in pads)
        stops = tuple(
            None if is_symbol(d) else lo + d for d, (lo, _) in zip(x.shape, pads)
        )
        return (b.slice(g, starts=starts, stops=stops, steps=(1,) * g.rank),)


@register_op
class BroadcastTo(OpDef):
    name, onnx = "broadcast_to", "Expand"
    attrs = {"shape": Attr(a_shape)}
    shape_attrs = ("shape",)

    def infer(self, x, shape):
        if broadcast_shapes(x.shape, shape) != tuple(shape):
            raise ValueError(
                f"cannot broadcast {format_shape(x.shape)} to "
                f"{format_shape(shape)}"
            )
        return TensorType(shape, x.dtype)

    def reference(self, x, shape):
        return np.array(np.broadcast_to(x, shape))

    def vjp(self, b, g, inputs, outputs, shape):
        return (b.sum_to(g, inputs[0].shape),)
