"""The verifier: checks a Function's invariants and names the node that
breaks one.

Checked: every op is registered; every value is defined once, and before it
is used; attributes are legal and canonical; each node's result types are
what the op's rule infers from its operands; results are defined; nested
functions (attributes) verify too.
"""

from __future__ import annotations

from .builder import infer_types
from .errors import IRTypeError, VerifyError
from .function import Attrs, Function, Node, attr_value_ok
from .registry import has_op
from .text import NAME_RE, format_type


def _where(fn: Function, i: int, n: Node) -> str:
    outs = ", ".join(f"%{o.name}" for o in n.outputs) or "(no results)"
    loc = f' (layer "{n.loc}")' if n.loc else ""
    return f"@{fn.name}, node {i} ({outs} = {n.op}){loc}"


def verify(fn: Function) -> Function:
    """Return fn unchanged if it is well formed; raise VerifyError if not."""
    defined: dict[str, object] = {}
    for p in fn.params:
        if not NAME_RE.match(p.name):
            raise VerifyError(f"@{fn.name}: bad parameter name %{p.name!r}")
        if p.name in defined:
            raise VerifyError(f"@{fn.name}: parameter %{p.name} is defined twice")
        defined[p.name] = p
    for i, n in enumerate(fn.nodes):
        where = _where(fn, i, n)
        if not has_op(n.op):
            raise VerifyError(f"{where}: unknown op {n.op!r}")
        if not isinstance(n.attrs, Attrs):
            raise VerifyError(f"{where}: attrs must be an Attrs mapping")
        for v in n.inputs:
            if v.name not in defined:
                raise VerifyError(
                    f"{where}: operand %{v.name} is used before it is defined"
                )
            if defined[v.name] != v:
                raise VerifyError(
                    f"{where}: operand %{v.name} has type {format_type(v.type)} "
                    f"but was defined as {format_type(defined[v.name].type)}"
                )
        for k, val in n.attrs.items():
            if not attr_value_ok(val):
                raise VerifyError(f"{where}: attribute {k}={val!r} has an "
                                  "unsupported type")
            if isinstance(val, Function):
                try:
                    verify(val)
                except VerifyError as e:
                    raise VerifyError(f"{where}: in attribute {k}: {e}") from None
        try:
            canon, types = infer_types(n.op, [v.type for v in n.inputs],
                                       dict(n.attrs))
        except IRTypeError as e:
            raise VerifyError(f"{where}: {e}") from None
        if Attrs(canon) != n.attrs:
            raise VerifyError(
                f"{where}: attributes {dict(n.attrs)} are not in canonical form "
                f"(expected {canon})"
            )
        if len(types) != len(n.outputs):
            raise VerifyError(
                f"{where}: has {len(n.outputs)} results, the op gives "
                f"{len(types)}"
            )
        for o, t in zip(n.outputs, types):
            if o.type != t:
                raise VerifyError(
                    f"{where}: result %{o.name} is declared "
                    f"{format_type(o.type)} but the op gives {format_type(t)}"
                )
            if not NAME_RE.match(o.name):
                raise VerifyError(f"{where}: bad value name %{o.name!r}")
            if o.name in defined:
                raise VerifyError(f"{where}: %{o.name} is defined twice")
            defined[o.name] = o
    for r in fn.results:
        if r.name not in defined or defined[r.name] != r:
            raise VerifyError(
                f"@{fn.name}: result %{r.name} is not defined in the function"
            )
    return fn
