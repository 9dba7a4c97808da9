"""The floor under layers: how an op function meets KerasTensors.

    @keras_op
    def add(x1, x2): ...          # in frontend/ops/

    add(inp, 1.0)                 # inp a KerasTensor (Input(...)):
                                  # symbolic_call -> one op node of the
                                  # functional graph, applying `add`

A graphkeras.ops function called with KerasTensors records a node instead
of computing, as Keras's `Operation.symbolic_call` does. The node is an
*op node*: a layer without weights holding the function and its call
template (`OpLayer`, frontend/layers/core.py). That class registers itself
here when the layers are imported (`register_op_node`), so frontend/ops
needs no layer class and sits below the layers on the import ladder
(docs/architecture.md).

Invariant: an op function given no KerasTensor runs as it is (`fn.raw` is
the undecorated function), so the decorator costs one scan of the
arguments on arrays and traced tensors.
"""

from __future__ import annotations

import functools

from .tensors import KerasTensor

_OP_NODE: list = []  # [the op node class], set by frontend/layers/core.py


def register_op_node(cls) -> type:
    """Make `cls(fn, template=(args, kwargs))(keras_tensors)` the way an
    op function applied to KerasTensors becomes a functional-graph node."""
    _OP_NODE[:] = [cls]
    return cls


def flatten(x):
    """The leaves of nested lists, tuples and dict values, in order."""
    if isinstance(x, (list, tuple)):
        for y in x:
            yield from flatten(y)
    elif isinstance(x, dict):
        for y in x.values():
            yield from flatten(y)
    else:
        yield x


def has_keras_tensor(items) -> bool:
    """Whether any (nested) item is a KerasTensor."""
    for a in items:
        if isinstance(a, KerasTensor):
            return True
        if isinstance(a, (list, tuple)) and has_keras_tensor(a):
            return True
        if isinstance(a, dict) and has_keras_tensor(a.values()):
            return True
    return False


def symbolic_call(fn, args: tuple, kwargs: dict):
    """The KerasTensor(s) of an op node applying `fn` to (args, kwargs)."""
    if not _OP_NODE:
        raise RuntimeError(
            "graphkeras.ops functions applied to KerasTensors need the layers "
            "(the op node class); import graphkeras (or graphkeras.layers) "
            "first.")
    tensors = [a for a in flatten((args, kwargs)) if isinstance(a, KerasTensor)]
    return _OP_NODE[0](fn, template=(args, kwargs))(tensors)


def keras_op(fn):
    """Make `fn` record a functional-graph node when given KerasTensors."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        if has_keras_tensor(args) or (kwargs and has_keras_tensor(
                kwargs.values())):
            return symbolic_call(fn, args, kwargs)
        return fn(*args, **kwargs)

    wrapper.raw = fn
    return wrapper
