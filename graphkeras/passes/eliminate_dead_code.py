"""Dead-code elimination.

Every op is a pure function of its operands and attributes (random ops are
pure in (seed, counter, index)), so a node none of whose outputs reaches a
result can go.

Requires: fn verifies.
Ensures: params, results and the order of the kept nodes are unchanged;
every kept node has an output that a result depends on.
"""

from __future__ import annotations

from ..ir import Function


def eliminate_dead_code(fn: Function) -> Function:
    """Drop the nodes whose outputs no result depends on."""
    live = {r.name for r in fn.results}
    kept = []
    for node in reversed(fn.nodes):
        if any(o.name in live for o in node.outputs):
            kept.append(node)
            live.update(v.name for v in node.inputs)
    if len(kept) == len(fn.nodes):
        return fn
    return fn.replace(nodes=tuple(reversed(kept)))
