"""Common-subexpression elimination.

Two nodes with the same op, the same operands and the same attributes
compute the same values, since every op is pure. That includes random ops:
they are functions of (seed attribute, counter operand, element index), so
two with equal attrs and counter draw the same numbers. The later node's
outputs are replaced by the earlier node's everywhere, results included.

For exactly commutative ops (add, mul, equal, ...) the operand order does
not take part in the key. maximum/minimum are left out on purpose: their
VJPs send a tie's gradient to the first operand, so swapping operands would
change gradients taken later.

Requires: fn verifies.
Ensures: params and result count/types unchanged; no two nodes share a key;
the surviving node of each class is the first one and keeps its loc.
"""

from __future__ import annotations

from ..ir import Function, Value

# a op b == b op a, bit for bit
COMMUTATIVE = frozenset(
    {"add", "mul", "equal", "not_equal", "logical_and", "logical_or"}
)


def _key(node) -> tuple:
    names = tuple(v.name for v in node.inputs)
    if node.op in COMMUTATIVE:
        names = tuple(sorted(names))
    types = tuple(o.type for o in node.outputs)
    return (node.op, names, node.attrs, types)


def eliminate_common_subexpressions(fn: Function) -> Function:
    """Merge nodes that compute the same values."""
    seen: dict[tuple, object] = {}
    subst: dict[str, Value] = {}
    nodes = []
    for node in fn.nodes:
        if subst:
            node = node.replace(
                inputs=tuple(subst.get(v.name, v) for v in node.inputs)
            )
        key = _key(node)
        first = seen.get(key)
        if first is None:
            seen[key] = node
            nodes.append(node)
            continue
        for o, keep in zip(node.outputs, first.outputs):
            subst[o.name] = keep
    if not subst:
        return fn
    results = tuple(subst.get(r.name, r) for r in fn.results)
    return fn.replace(nodes=tuple(nodes), results=results)
