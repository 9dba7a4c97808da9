"""Control flow, as Keras 3's keras.ops: cond, switch, fori_loop,
while_loop, scan, map, vectorized_map, associative_scan.

A compiled graphkeras program has no branches and no loops of its own
(RNN layers aside), so inside a traced step (a layer's call, a train_step)
`cond` and `switch` compute every branch and select the result with
`where` (as an XLA select would; a branch's side effects all happen), and
`fori_loop`, `scan` and `map` unroll over their trip count, which must be
known when the step is traced (Python numbers, or the static leading size
of `xs`). `while_loop` runs while its condition is a concrete value.
Eagerly (NumPy arrays) all of them are Python control flow.
"""

from __future__ import annotations

import numpy as np

from ...ir.types import is_symbol
from .. import tree
from ..tensors import TracedTensor
from .core import convert_to_numpy, convert_to_tensor, shape
from .numpy import clip, equal, moveaxis, stack, where


def _traced(x) -> bool:
    return any(isinstance(t, TracedTensor) for t in tree.flatten(x))


def _concrete(value, what: str):
    if _traced(value):
        raise ValueError(
            f"{what} must be known when the step is traced (a Python number "
            "or a NumPy value), but it is computed from the step's inputs "
            f"(received {value!r}). graphkeras compiles loops by unrolling "
            "them; give a fixed count.")
    return convert_to_numpy(value)


def _select(pred, a, b):
    flat_a, flat_b = tree.flatten(a), tree.flatten(b)
    if len(flat_a) != len(flat_b):
        raise ValueError(
            "The branches must return the same structure. Received "
            f"{len(flat_a)} and {len(flat_b)} values.")
    return tree.pack_like(a, [where(pred, u, v)
                              for u, v in zip(flat_a, flat_b)])


def cond(pred, true_fn, false_fn):
    """`true_fn()` if `pred` else `false_fn()`.

    Args:
        pred: a boolean scalar.
        true_fn: called without arguments when `pred` is true.
        false_fn: likewise when `pred` is false.

    Returns:
        The result of the branch taken (both branches run in a traced
        step, which keeps one of their results element by element).

    Example:
        >>> cond(np.array(True), lambda: 1.0, lambda: 2.0)
        1.0
    """
    if not _traced(pred):
        return true_fn() if bool(np.asarray(convert_to_numpy(pred))) else \
            false_fn()
    shape = tuple(pred.shape)
    if shape not in ((), (1,)):
        raise ValueError(
            "`pred` of ops.cond must be a scalar (one boolean), received a "
            f"tensor of shape {shape}. Use ops.where to choose element by "
            "element.")
    return _select(pred, true_fn(), false_fn())


def switch(index, branches, *operands):
    """`branches[index](*operands)`, the index clipped to the branches.

    Example:
        >>> switch(1, [lambda x: x + 1, lambda x: x * 10], 2)
        20
    """
    n = len(branches)
    if n == 0:
        raise ValueError("`branches` of ops.switch must not be empty.")
    if not _traced(index):
        i = int(np.clip(np.asarray(convert_to_numpy(index)), 0, n - 1))
        return branches[i](*operands)
    idx = clip(index, 0, n - 1)
    results = [branch(*operands) for branch in branches]
    out = results[0]
    for i in range(1, n):
        out = _select(equal(idx, i), results[i], out)
    return out


def fori_loop(lower, upper, body_fun, init_val):
    """`val = body_fun(i, val)` for i from `lower` to `upper` - 1.

    Example:
        >>> fori_loop(0, 4, lambda i, v: v + i, 0)
        6
    """
    lo = int(_concrete(lower, "`lower` of ops.fori_loop"))
    hi = int(_concrete(upper, "`upper` of ops.fori_loop"))
    val = init_val
    for i in range(lo, hi):
        val = body_fun(i, val)
    return val


def while_loop(cond, body, loop_vars, maximum_iterations=None):
    """`loop_vars = body(*loop_vars)` while `cond(*loop_vars)` holds (at
    most `maximum_iterations` times).

    Args:
        cond: returns a boolean scalar from the loop variables.
        body: returns the next loop variables (same structure).
        loop_vars: a tuple or list of values, or a single value.
        maximum_iterations: an optional bound on the iterations.

    Example:
        >>> while_loop(lambda i, s: i < 3, lambda i, s: (i + 1, s * 2), (0, 1))
        (3, 8)
    """
    is_tuple = isinstance(loop_vars, (tuple, list))
    state = tuple(loop_vars) if is_tuple else (loop_vars,)
    count = 0
    while maximum_iterations is None or count < maximum_iterations:
        go = cond(*state)
        if not bool(np.asarray(_concrete(go, "The condition of "
                                         "ops.while_loop"))):
            break
        out = body(*state)
        state = tuple(out) if is_tuple else (out,)
        count += 1
    if not is_tuple:
        return state[0]
    return type(loop_vars)(state) if isinstance(loop_vars, list) else state


def _leading(xs, what: str) -> int:
    sizes = {tuple(np.shape(x) if not isinstance(x, TracedTensor)
                   else x.shape)[0] for x in tree.flatten(xs)}
    if len(sizes) != 1:
        raise ValueError(
            f"All of `xs` of {what} must have the same leading size; "
            f"received sizes {sorted(str(n) for n in sizes)}.")
    n = sizes.pop()
    if n is None or is_symbol(n):
        raise ValueError(
            f"{what} unrolls over the leading axis of `xs`, which is the "
            "batch axis here (its size is unknown when the step is traced). "
            "Loop over an axis of fixed size instead (e.g. transpose the "
            "time axis first).")
    return int(n)


def _stack_all(items: list):
    if not items or items[0] is None:
        return None
    flat = [tree.flatten(y) for y in items]
    return tree.pack_like(items[0], [stack([f[k] for f in flat], axis=0)
                                     for k in range(len(flat[0]))])


def scan(f, init, xs=None, length=None, reverse=False, unroll=1):
    """Loop `carry, y = f(carry, x)` over the leading axis of `xs`.

    Args:
        f: the step, `(carry, x) -> (carry, y)`.
        init: the first carry.
        xs: the values to loop over (leading axis), or None.
        length: the number of steps when `xs` is None.
        reverse: loop from the last to the first item (the stacked ys
            stay in the order of `xs`).
        unroll: accepted for compatibility (loops always unroll).

    Returns:
        (the last carry, the ys stacked along a new leading axis).

    Example:
        >>> scan(lambda c, x: (c + x, c * x), 0.0, np.arange(3.0))
        (3.0, array([0., 0., 2.]))
    """
    del unroll
    if xs is None:
        if length is None:
            raise ValueError("ops.scan needs `xs` or `length`.")
        n = int(_concrete(length, "`length` of ops.scan"))
    else:
        n = _leading(xs, "ops.scan")
        if length is not None and int(length) != n:
            raise ValueError(
                f"`length` of ops.scan ({length}) does not match the leading "
                f"size of `xs` ({n}).")
    flat_xs = None if xs is None else tree.flatten(xs)
    carry, ys = init, [None] * n
    for i in (reversed(range(n)) if reverse else range(n)):
        x = None if xs is None else tree.pack_like(xs, [v[i] for v in flat_xs])
        carry, ys[i] = f(carry, x)
    return carry, _stack_all(ys)


def map(f, xs):  # noqa: A001  (Keras's name)
    """`f` applied to each item along the leading axis of `xs`, the
    results stacked.

    Example:
        >>> map(lambda x: x * 2, np.arange(3))
        array([0, 2, 4])
    """
    n = _leading(xs, "ops.map")
    flat = tree.flatten(xs)
    return _stack_all([f(tree.pack_like(xs, [v[i] for v in flat]))
                       for i in range(n)])


def vectorized_map(function, elements):
    """`function` applied to each item along axis 0 of `elements` (a
    tensor or a structure of tensors), the results stacked, as Keras's
    ops.vectorized_map. The items are taken one by one (the leading axis
    must have a static size: not the batch axis of a traced step, where
    `function` should be written for the whole batch instead).

    Example:
        >>> vectorized_map(lambda x: x * 2, np.arange(3))
        array([0, 2, 4])
    """
    n = _leading(elements, "ops.vectorized_map")
    flat = tree.flatten(elements)
    items = [function(tree.pack_like(elements, [v[i] for v in flat]))
             for i in range(n)]
    return _stack_all(items)


def associative_scan(f, elems, reverse=False, axis=0):
    """The inclusive prefix combination of `elems` along `axis` with the
    associative `f` (out[i] = f(out[i - 1], elems[i])), as Keras's
    ops.associative_scan; the slices are combined one after the other.

    Example:
        >>> associative_scan(lambda a, b: a + b, np.arange(1, 5))
        array([ 1,  3,  6, 10])
    """
    flat = [convert_to_tensor(v) for v in tree.flatten(elems)]
    rank = len(shape(flat[0]))
    ax = axis % rank if rank else 0
    moved = [moveaxis(v, ax, 0) for v in flat]
    n = _leading(moved, "ops.associative_scan")
    order = list(reversed(range(n))) if reverse else list(range(n))
    outs, acc = [None] * n, None
    for i in order:
        item = tree.pack_like(elems, [v[i] for v in moved])
        acc = item if acc is None else f(acc, item)
        outs[i] = acc
    stacked = tree.flatten(_stack_all(outs))
    return tree.pack_like(elems, [moveaxis(v, 0, ax) for v in stacked])
