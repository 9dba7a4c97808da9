"""Reverse-mode automatic differentiation, IR to IR.

`differentiate(fn, wrt)` returns a Function with fn's parameters and fn's
results followed by the gradient of result `output` with respect to each
parameter named in `wrt` (or each Value of fn given in `wrt`, which may be
one a node defines). The backward nodes are built from each op's VJP,
so the gradient is ordinary IR that the later passes fuse and compile.

Requires: fn verifies; the differentiated result is floating-point.
Ensures: the result verifies; a gradient has its parameter's type; only
nodes on a path from a `wrt` parameter to the output get cotangents.

NOTE: a VJP builds the cotangents of all its operands, also of those no
gradient is wanted for (dx of matmul(x, w) when only w is in `wrt`);
eliminate_dead_code removes them. Mistakes in the arguments and a
non-differentiable op on the path raise UserError subclasses, which
run_pipeline passes through to the user unchanged.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from ..ir import Builder, Function, Value
from ..ir.errors import InternalCompilerError, IRTypeError
from ..ir.registry import NOT_DIFFERENTIABLE, get_op
from .errors import UserError


class NotDifferentiableError(UserError, ValueError):
    """A non-differentiable op lies between the output and a parameter."""


class DifferentiateArgumentError(UserError, ValueError):
    """`wrt` names no parameter, or `output` is not a result index."""


class DifferentiateTypeError(UserError, IRTypeError):
    """The output or a `wrt` parameter is not floating-point."""


def _param(fn: Function, key, defined: set, by_name: dict) -> Value:
    """The parameter (or defined value) `key` names: a Value, a parameter
    name or a parameter index. `defined` holds the values fn's nodes
    define, `by_name` its parameters by name (built once per call of
    differentiate: a deep model asks for hundreds)."""
    if isinstance(key, Value):
        # NOTE: a Value may also be one a node defines (the gradient with
        # respect to an intermediate value, as GradientTape.gradient and
        # value_and_grad in the frontend ask for)
        if key in defined:
            return key
        key = key.name
    if isinstance(key, int) and not isinstance(key, bool):
        if not -len(fn.params) <= key < len(fn.params):
            raise DifferentiateArgumentError(
                f"differentiate: parameter index {key} is out of range; "
                f"@{fn.name} has {len(fn.params)} parameter(s)."
            )
        return fn.params[key]
    if key in by_name:
        return by_name[key]
    raise DifferentiateArgumentError(
        f"differentiate: @{fn.name} has no parameter %{key} "
        f"(parameters: {', '.join('%' + p.name for p in fn.params)})."
    )


def _reaching(fn: Function, values, deps: set, wrt: set) -> set:
    """The names of the `wrt` parameters that `values` depend on, through
    the values in `deps` (the dependence differentiate tracks)."""
    producer = {o.name: n for n in fn.nodes for o in n.outputs}
    found, seen = set(), set()
    stack = [v.name for v in values]
    while stack:
        name = stack.pop()
        if name in seen or name not in deps:
            continue
        seen.add(name)
        if name in wrt:
            found.add(name)
        elif name in producer:
            stack.extend(v.name for v in _diff_operands(producer[name]))
    return found


def _diff_operands(node) -> tuple:
    """The operands a gradient can flow to (OpDef.diff_inputs; all if None)."""
    idx = get_op(node.op).diff_inputs
    if idx is None:
        return node.inputs
    return tuple(node.inputs[i] for i in idx)


def differentiate(fn: Function, wrt: Sequence, *, output: int = 0,
                  seed_name: str = "seed",
                  custom_vjps: Mapping | None = None) -> Function:
    """Append d(results[output]) / d(wrt[i]) for every i to fn's results.

    A scalar output is seeded with 1; any other output takes its cotangent
    as a new last parameter named `seed_name`.

    `custom_vjps` maps the name of a value v (computed by any node) to
    `(targets, vjp)`: v's cotangent g goes to the values `targets` as
    `vjp(builder, g)` (one cotangent or None per target) instead of through
    the node computing v, whatever that node is (the frontend's
    ops.custom_gradient: v is a stop_gradient of the function's output).
    """
    custom_vjps = dict(custom_vjps or {})
    defined = {v for n in fn.nodes for v in n.outputs}
    by_name: dict = {}
    for p in fn.params:
        by_name.setdefault(p.name, p)
    wrt_params = [_param(fn, k, defined, by_name) for k in wrt]
    if not -len(fn.results) <= output < len(fn.results):
        raise DifferentiateArgumentError(
            f"differentiate: output={output} is out of range; @{fn.name} has "
            f"{len(fn.results)} result(s)."
        )
    out = fn.results[output]
    if not out.dtype.is_float:
        raise DifferentiateTypeError(
            f"differentiate: result {output} of @{fn.name} is "
            f"{out.dtype.long_name}; only floating-point results have gradients."
        )
    for p in wrt_params:
        if not p.dtype.is_float:
            raise DifferentiateTypeError(
                f"differentiate: parameter %{p.name} is {p.dtype.long_name}; "
                "only floating-point parameters have gradients."
            )

    # Which wrt parameters each value depends on (forward), and which values
    # the output depends on (backward): only their intersection needs work.
    # NOTE: dependence flows only through an op's `diff_inputs`: dim_size
    # reads its operand's shape, so a batch size in a loss is no obstacle.
    # (a set of names, not each value's set of parameters: along a chain of
    # thousands of layers those sets made the pass quadratic; the error
    # below finds its parameters by a walk back, _reaching)
    def operands(n) -> tuple:
        custom = custom_vjps.get(n.outputs[0].name) if n.outputs else None
        return _diff_operands(n) if custom is None else tuple(custom[0])

    deps: set = {p.name for p in wrt_params}
    for n in fn.nodes:
        if any(v.name in deps for v in operands(n)):
            deps.update(o.name for o in n.outputs if o.dtype.is_float)
    needed = {out.name}
    for n in reversed(fn.nodes):
        if any(o.name in needed for o in n.outputs):
            needed.update(v.name for v in n.inputs)
            needed.update(v.name for v in operands(n))

    b = Builder.from_function(fn)
    if out.rank == 0:
        seed = b.scalar_like(1.0, out)
    else:
        if any(p.name == seed_name for p in fn.params):
            raise DifferentiateArgumentError(
                f"differentiate: @{fn.name} already has a parameter "
                f"%{seed_name}; pass another seed_name for the output's "
                "cotangent."
            )
        seed = b.param(seed_name, out.type)
    cts: dict[str, Value] = {out.name: seed}

    def accumulate(v: Value, g: Value) -> None:
        if g.type != v.type:
            raise InternalCompilerError(
                f"differentiate: the gradient for %{v.name} has type "
                f"{g.type}, expected {v.type}"
            )
        cts[v.name] = b.add(cts[v.name], g) if v.name in cts else g

    for n in reversed(fn.nodes):
        if not any(o.name in cts for o in n.outputs):
            continue
        if not any(v.name in deps and v.name in needed
                   for v in operands(n)):
            continue
        custom = custom_vjps.get(n.outputs[0].name)
        if custom is not None:
            targets, vjp = custom
            with b.at(n.loc):
                grads = vjp(b, cts[n.outputs[0].name])
            for v, gv in zip(targets, grads):
                if gv is not None and v.name in deps:
                    accumulate(v, gv)
            continue
        op = get_op(n.op)
        if op.vjp is NOT_DIFFERENTIABLE:
            if any(o.dtype.is_float for o in n.outputs):
                reach = _reaching(fn, _diff_operands(n), deps,
                                  {p.name for p in wrt_params})
                names = ", ".join(f'"{r}"' for r in sorted(reach))
                what = "variable" if len(reach) == 1 else "variables"
                loc = f' (layer "{n.loc}")' if n.loc else ""
                raise NotDifferentiableError(
                    f'Op "{n.op}"{loc} is not differentiable, but it lies '
                    f"between the output and the trainable {what} {names}. "
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
            raise InternalCompilerError(
                f'differentiate: the VJP of "{n.op}" returned {len(grads)} '
                f"gradients for {len(n.inputs)} operands"
            )
        for v, gv in zip(n.inputs, grads):
            if gv is not None and v.name in deps:
                accumulate(v, gv)

    results = list(fn.results)
    for p in wrt_params:
        results.append(cts[p.name] if p.name in cts else b.zeros_like(p))
    return b.build(results)
