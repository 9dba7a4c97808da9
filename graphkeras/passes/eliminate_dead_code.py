"""Dead-code elimination.

Every op is a pure function of its operands and attributes (random ops are
pure in (seed, counter, index)), so a node none of whose outputs reaches a
result can go.

Requires: fn verifies.
Ensures: params, results and the order of the kept nodes are unchanged;
every kept node has an output that a result depends on.
"""

from __future__ import annotations

from ..ir import Function, live_nodes


def eliminate_dead_code(fn: Function) -> Function:
    """Drop the nodes whose outputs no result depends on."""
    kept = live_nodes(fn.nodes, fn.results)
    if len(kept) == len(fn.nodes):
        return fn
    return fn.replace(nodes=tuple(kept))
