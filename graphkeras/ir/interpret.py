"""The reference interpreter: runs any Function with the ops' NumPy
references. It defines what a program means; every compiled result is
tested against it, and `compile(run_eagerly=True)` runs it.

Symbols in types (the batch `N`) are bound from the arguments' shapes; an
argument that disagrees with its parameter's type raises ValueError naming
the parameter.
"""

from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np

from .errors import InternalCompilerError
from .function import Function
from .registry import get_op
from .types import TensorType, is_symbol


def bind_symbols(params, arrays, env: dict | None = None) -> dict:
    """Bind each symbol in the params' types to a size, checking that the
    arrays agree with the types. Returns the environment."""
    env = dict(env or {})
    for p, a in zip(params, arrays):
        t: TensorType = p.type
        if a.dtype != t.dtype.np:
            raise ValueError(
                f"Argument %{p.name} must have dtype {t.dtype.long_name}, "
                f"received {a.dtype}."
            )
        if a.ndim != t.rank:
            raise ValueError(
                f"Argument %{p.name} must have rank {t.rank} ({t}), received "
                f"shape {a.shape}."
            )
        for d, n in zip(t.shape, a.shape):
            if is_symbol(d):
                if env.setdefault(d, n) != n:
                    raise ValueError(
                        f"Argument %{p.name} has {d}={n}, but another argument "
                        f"set {d}={env[d]}."
                    )
            elif d != n:
                raise ValueError(
                    f"Argument %{p.name} must have shape {t}, received "
                    f"{a.shape}."
                )
    return env


def _resolve(op, attrs: Mapping, env: dict) -> dict:
    attrs = dict(attrs)
    for k in op.shape_attrs:
        attrs[k] = tuple(env[d] if is_symbol(d) else d for d in attrs[k])
    return attrs


def interpret(fn: Function, args: Sequence | Mapping, *,
              env: dict | None = None) -> list[np.ndarray]:
    """Run fn on NumPy arrays (a sequence in parameter order, or a dict by
    parameter name); return the results as a list of arrays."""
    if isinstance(args, Mapping):
        missing = [p.name for p in fn.params if p.name not in args]
        if missing:
            raise ValueError(f"Missing arguments: {', '.join(missing)}.")
        args = [args[p.name] for p in fn.params]
    if len(args) != len(fn.params):
        raise ValueError(
            f"@{fn.name} takes {len(fn.params)} arguments, received {len(args)}."
        )
    arrays = [np.asarray(a) for a in args]
    env = bind_symbols(fn.params, arrays, env)
    vals: dict[str, np.ndarray] = {p.name: a for p, a in zip(fn.params, arrays)}
    for node in fn.nodes:
        op = get_op(node.op)
        ins = [vals[v.name] for v in node.inputs]
        attrs = _resolve(op, node.attrs, env)
        if getattr(op, "needs_env", False):
            attrs["_env"] = env
        with np.errstate(all="ignore"):
            out = op.reference(*ins, **attrs)
        outs = out if isinstance(out, tuple) else (out,)
        if len(outs) != len(node.outputs):
            raise InternalCompilerError(
                f'reference of "{node.op}" returned {len(outs)} results, '
                f"expected {len(node.outputs)}"
            )
        for o, r in zip(node.outputs, outs):
            r = np.asarray(r)
            want = o.type.concrete_shape(env)
            if r.shape != want:
                raise InternalCompilerError(
                    f'reference of "{node.op}" gave shape {r.shape} for %{o.name}, '
                    f"its type says {o.type} = {want}"
                )
            if r.dtype != o.type.dtype.np:
                r = r.astype(o.type.dtype.np)
            vals[o.name] = r
    return [vals[r.name] for r in fn.results]
