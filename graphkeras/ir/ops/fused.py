"""The `fused` op: one kernel's worth of ops, kept as a nested Function.

`%a, %b = fused %x, %y {body=func @k(...) {...}}` runs `body` on its
operands; the body's parameters have the operands' types and its results
are the node's results. passes/fuse_elementwise.py builds these nodes and
codegen compiles each into one loop nest. Its meaning is the body's: the
reference interprets it. It is introduced after differentiation, so it has
no gradient of its own.
"""

from __future__ import annotations

from ..function import Function
from ..registry import NOT_DIFFERENTIABLE, Attr, OpDef, register_op


def _a_function(v):
    if not isinstance(v, Function):
        raise TypeError(f"expected a Function, got {type(v).__name__}")
    return v


@register_op
class Fused(OpDef):
    name, onnx, kind = "fused", "Function", "meta"
    num_inputs = None
    num_outputs = -1  # as many as the body has results
    attrs = {"body": Attr(_a_function)}  # noqa: RUF012 - as every OpDef
    vjp = NOT_DIFFERENTIABLE
    needs_env = True  # the interpreter hands over the symbol bindings

    def infer(self, *types, body):
        if len(types) != len(body.params):
            raise ValueError(
                f"the body @{body.name} takes {len(body.params)} operands, "
                f"received {len(types)}")
        for i, (t, p) in enumerate(zip(types, body.params)):
            if t != p.type:
                raise ValueError(
                    f"operand {i} is {t}, the body's parameter %{p.name} is "
                    f"{p.type}")
        return tuple(body.result_types)

    def reference(self, *arrays, body, _env=None):
        from ..interpret import interpret

        return tuple(interpret(body, list(arrays), env=_env))
