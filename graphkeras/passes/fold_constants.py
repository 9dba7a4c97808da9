"""Constant folding.

A node whose operands are all known at compile time is evaluated with its
op's NumPy reference (the same code the interpreter runs, so folding never
changes a result) and replaced by a `constant` node that keeps the node's
output Value (name and type) and its loc.

Known at compile time: `constant` nodes, and `zeros`/`ones`/`iota` nodes of
static shape (these stay as they are: they print shorter than an array).
`dim_size` of a static dimension folds whatever its operand is.

Not folded: results with a symbolic dimension (their size is only known at
run time) or more than `limit` elements (the constant would bloat the
program text and the binary); random ops (cheap to generate, large to
store); nodes whose reference raises (the error belongs to run time).

Requires: fn verifies.
Ensures: params, results and value names unchanged; every folded constant
has exactly the type of the value it replaces.
"""

from __future__ import annotations

import numpy as np

from ..ir import (
    ConstArray,
    Function,
    InternalCompilerError,
    Node,
    get_op,
    is_symbol,
)

FOLD_LIMIT = 4096  # elements; larger results stay computed at run time
_NEVER_FOLD = frozenset({"random_uniform", "random_normal"})
_FILLS = frozenset({"zeros", "ones", "iota"})


def _small_static(node: Node, limit: int) -> bool:
    return all(
        o.type.is_static and o.type.num_elements() <= limit for o in node.outputs
    )


def _static_axis(node: Node) -> bool:
    return not is_symbol(node.inputs[0].shape[node.attrs["axis"]])


def _canonical_nan(a: np.ndarray) -> np.ndarray:
    # NOTE: 0/0 gives a NaN with the sign bit set on x86; the text form has
    # one spelling, "nan", so keep one bit pattern or round trips break.
    if a.dtype.kind == "f" and np.isnan(a).any():
        a = np.where(np.isnan(a), np.array(np.nan, a.dtype), a)
    return a


def _evaluate(node: Node, known: dict) -> tuple | None:
    op = get_op(node.op)
    args = [known[v.name] for v in node.inputs]
    try:
        with np.errstate(all="ignore"):
            out = op.reference(*args, **dict(node.attrs))
    except Exception:  # noqa: BLE001 - the same error is raised at run time
        return None
    outs = out if isinstance(out, tuple) else (out,)
    if len(outs) != len(node.outputs):
        raise InternalCompilerError(
            f'fold_constants: the reference of "{node.op}" returned '
            f"{len(outs)} results for {len(node.outputs)} outputs"
        )
    arrays = []
    for o, r in zip(node.outputs, outs):
        r = np.asarray(r)
        if r.shape != o.type.shape:
            raise InternalCompilerError(
                f'fold_constants: the reference of "{node.op}" gave shape '
                f"{r.shape} for %{o.name}, its type says {o.type}"
            )
        arrays.append(_canonical_nan(r.astype(o.type.dtype.np, copy=False)))
    return tuple(arrays)


def fold_constants(fn: Function, *, limit: int = FOLD_LIMIT) -> Function:
    """Replace nodes computable at compile time by constants."""
    known: dict[str, np.ndarray] = {}
    nodes = []
    changed = False
    for node in fn.nodes:
        if node.op == "constant":
            known[node.output.name] = node.attrs["value"].array
            nodes.append(node)
            continue
        if node.op in _FILLS and _small_static(node, limit):
            known[node.output.name] = get_op(node.op).reference(**dict(node.attrs))
            nodes.append(node)
            continue
        foldable = (
            node.op not in _NEVER_FOLD
            and _small_static(node, limit)
            and not getattr(get_op(node.op), "needs_env", False)
            and (
                (node.inputs and all(v.name in known for v in node.inputs))
                or (node.op == "dim_size" and _static_axis(node))
            )
        )
        arrays = None
        if foldable:
            if node.op == "dim_size" and _static_axis(node):
                d = node.inputs[0].shape[node.attrs["axis"]]
                arrays = (np.asarray(d, node.output.dtype.np),)
            else:
                arrays = _evaluate(node, known)
        if arrays is None:
            nodes.append(node)
            continue
        changed = True
        for o, a in zip(node.outputs, arrays):
            known[o.name] = a
            nodes.append(
                Node("constant", (), {"value": ConstArray(a)}, (o,), node.loc)
            )
    return fn.replace(nodes=tuple(nodes)) if changed else fn
