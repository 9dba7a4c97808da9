"""Reverse-mode automatic differentiation, IR to IR.

`differentiate(fn, wrt)` returns a Function with fn's parameters and fn's
results followed by the gradient of result `output` with respect to each
parameter named in `wrt`. The backward nodes are built from each op's VJP,
so the gradient is ordinary IR that the later passes fuse and compile.

Requires: fn verifies; the differentiated result is floating-point.
Ensures: the result verifies; a gradient has its parameter's type; only
nodes on a path from a `wrt` parameter to the output get cotangents.
"""

from __future__ import annotations

from typing import Sequence

from ..ir import Builder, Function, Value
from ..ir.errors import IRTypeError
from ..ir.registry import NOT_DIFFERENTIABLE, get_op


class NotDifferentiableError(ValueError):
    """A non-differentiable op lies between the output and a parameter."""


def _param(fn: Function, key) -> Value:
    if isinstance(key, Value):
        key = key.name
    if isinstance(key, int):
        return fn.params[key]
    for p in fn.params:
        if p.name == key:
            return p
    raise ValueError(
        f"differentiate: @{fn.name} has no parameter %{key} "
        f"(parameters: {', '.join('%' + p.name for p in fn.params)})."
    )


def differentiate(fn: Function, wrt: Sequence, *, output: int = 0,
                  seed_name: str = "seed") -> Function:
    """Append d(results[output]) / d(wrt[i]) for every i to fn's results.

    A scalar output is seeded with 1; any other output takes its cotangent
    as a new last parameter named `seed_name`.
    """
    wrt_params = [_param(fn, k) for k in wrt]
    out = fn.results[output]
    if not out.dtype.is_float:
        raise IRTypeError(
            f"differentiate: result {output} of @{fn.name} is "
            f"{out.dtype.long_name}; only floating-point results have gradients."
        )
    for p in wrt_params:
        if not p.dtype.is_float:
            raise IRTypeError(
                f"differentiate: parameter %{p.name} is {p.dtype.long_name}; "
                "only floating-point parameters have gradients."
            )

    # Which wrt parameters each value depends on (forward), and which values
    # the output depends on (backward): only their intersection needs work.
    deps: dict[str, frozenset] = {p.name: frozenset([p.name]) for p in wrt_params}
    for n in fn.nodes:
        d = frozenset().union(*(deps.get(v.name, frozenset()) for v in n.inputs))
        if d:
            for o in n.outputs:
                if o.dtype.is_float:
                    deps[o.name] = d
    needed = {out.name}
    for n in reversed(fn.nodes):
        if any(o.name in needed for o in n.outputs):
            needed.update(v.name for v in n.inputs)

    b = Builder.from_function(fn)
    if out.rank == 0:
        seed = b.scalar_like(1.0, out)
    else:
        seed = b.param(seed_name, out.type)
    cts: dict[str, Value] = {out.name: seed}

    def accumulate(v: Value, g: Value) -> None:
        if g.type != v.type:
            raise IRTypeError(
                f"internal: the gradient for %{v.name} has type {g.type}, "
                f"expected {v.type}"
            )
        cts[v.name] = b.add(cts[v.name], g) if v.name in cts else g

    for n in reversed(fn.nodes):
        if not any(o.name in cts for o in n.outputs):
            continue
        if not any(v.name in deps and v.name in needed for v in n.inputs):
            continue
        op = get_op(n.op)
        if op.vjp is NOT_DIFFERENTIABLE:
            if any(o.dtype.is_float for o in n.outputs):
                reach = set().union(*(deps.get(v.name, ()) for v in n.inputs))
                var = sorted(reach)[0]
                loc = f' (layer "{n.loc}")' if n.loc else ""
                raise NotDifferentiableError(
                    f'Op "{n.op}" is not differentiable, but it lies between '
                    f'the output and the trainable variable "{var}"{loc}. '
                    "Wrap its output in ops.stop_gradient() if that is "
                    "intended."
                )
            continue
        with b.at(n.loc):
            if len(n.outputs) == 1:
                g = cts[n.outputs[0].name]
            else:
                g = tuple(
                    cts[o.name] if o.name in cts else b.zeros_like(o)
                    for o in n.outputs
                )
            grads = op.vjp(b, g, n.inputs, n.outputs, **dict(n.attrs))
        if len(grads) != len(n.inputs):
            raise IRTypeError(
                f'internal: the VJP of "{n.op}" returned {len(grads)} '
                f"gradients for {len(n.inputs)} operands"
            )
        for v, gv in zip(n.inputs, grads):
            if gv is not None and v.name in deps:
                accumulate(v, gv)

    results = list(fn.results)
    for p in wrt_params:
        results.append(cts[p.name] if p.name in cts else b.zeros_like(p))
    return b.build(results)
