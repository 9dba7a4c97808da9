"""Builder: appends typed nodes to a Function under construction.

Every `b.<op>(...)` call canonicalizes the attributes, infers the result
types with the op's rule and raises `IRTypeError` (naming the op and the
operand types) when the operands do not fit. Passes use the same Builder to
extend an existing Function (`Builder.from_function`).
"""

from __future__ import annotations

import contextlib
import re

import numpy as np

from .dtypes import as_dtype, float32
from .errors import IRTypeError
from .function import Attrs, ConstArray, Function, Node, Value
from .registry import get_op, has_op
from .types import TensorType


def infer_types(opname: str, input_types, attrs: dict) -> tuple:
    """Canonical attrs and result types of `opname` applied to input_types.

    Returns (attrs, types) where types is a tuple. Raises IRTypeError.
    """
    op = get_op(opname)
    attrs = op.canonical_attrs(dict(attrs))
    n = len(input_types)
    if op.num_inputs is None:
        if n < 1:
            raise IRTypeError(f'Op "{opname}" needs at least one operand.')
    elif n != op.num_inputs:
        raise IRTypeError(
            f'Op "{opname}" takes {op.num_inputs} operand(s), received {n}: '
            f"({', '.join(str(t) for t in input_types)})."
        )
    try:
        attrs = op.normalize(tuple(input_types), attrs)
        out = op.infer(*input_types, **attrs)
    except (TypeError, ValueError) as e:
        if isinstance(e, IRTypeError):
            raise
        shown = ", ".join(str(t) for t in input_types)
        extra = _fmt_attrs(attrs)
        raise IRTypeError(
            f'Op "{opname}" cannot take operands ({shown}){extra}: {e}'
        ) from None
    types = out if isinstance(out, tuple) else (out,)
    if len(types) != op.num_outputs and op.num_outputs >= 0:
        raise IRTypeError(
            f'Op "{opname}" inferred {len(types)} results, expected '
            f"{op.num_outputs}."
        )
    return attrs, types


def _fmt_attrs(attrs: dict) -> str:
    shown = {k: v for k, v in attrs.items() if not isinstance(v, (Function,))}
    if not shown:
        return ""
    return " {" + ", ".join(f"{k}={v!r}" for k, v in sorted(shown.items())) + "}"


_NUM_NAME = re.compile(r"^(\d+)$")


class Builder:
    """Builds a Function node by node.

    Example:
        b = Builder("mlp")
        x = b.param("x", TensorType(("N", 4)))
        w = b.param("w", TensorType((4, 3)))
        y = b.relu(b.matmul(x, w))
        fn = b.build([y])
    """

    def __init__(self, name: str = "main"):
        self.name = name
        self.params: list[Value] = []
        self.nodes: list[Node] = []
        self._used: set[str] = set()
        self._counter = 0
        self._loc: str | None = None

    @classmethod
    def from_function(cls, fn: Function) -> "Builder":
        """A builder holding fn's params and nodes, ready to append more."""
        b = cls(fn.name)
        b.params = list(fn.params)
        b.nodes = list(fn.nodes)
        for v in fn.values():
            b._reserve(v.name)
        return b

    # --- names and locations ------------------------------------------------

    def _reserve(self, name: str) -> None:
        self._used.add(name)
        m = _NUM_NAME.match(name)
        if m:
            self._counter = max(self._counter, int(m.group(1)) + 1)

    def fresh_name(self) -> str:
        while str(self._counter) in self._used:
            self._counter += 1
        name = str(self._counter)
        self._counter += 1
        self._used.add(name)
        return name

    @contextlib.contextmanager
    def at(self, loc: str | None):
        """Tag the nodes built inside the block with `loc` (a layer name)."""
        old, self._loc = self._loc, loc
        try:
            yield
        finally:
            self._loc = old

    # --- building -----------------------------------------------------------

    def param(self, name: str, type_or_shape, dtype=None) -> Value:
        if isinstance(type_or_shape, TensorType):
            t = type_or_shape if dtype is None else type_or_shape.with_dtype(dtype)
        else:
            t = TensorType(tuple(type_or_shape), dtype or float32)
        if name in self._used:
            raise ValueError(f'The name "%{name}" is already used in this function.')
        self._reserve(name)
        v = Value(name, t)
        self.params.append(v)
        return v

    def op(self, opname: str, *inputs: Value, loc: str | None = None, **attrs):
        """Append `opname(*inputs, **attrs)`; return its Value (or a tuple of
        Values for a multi-result op)."""
        for i, v in enumerate(inputs):
            if not isinstance(v, Value):
                raise IRTypeError(
                    f'Op "{opname}": operand {i} must be an IR Value, '
                    f"received {type(v).__name__} {v!r}."
                )
        attrs, types = infer_types(opname, [v.type for v in inputs], attrs)
        outs = tuple(Value(self.fresh_name(), t) for t in types)
        self.nodes.append(
            Node(opname, inputs, Attrs(attrs), outs, loc if loc else self._loc)
        )
        return outs[0] if get_op(opname).num_outputs == 1 else outs

    def append(self, node: Node) -> None:
        """Append an existing node (its output names must be unused)."""
        for o in node.outputs:
            if o.name in self._used:
                raise ValueError(f'The name "%{o.name}" is already used.')
            self._reserve(o.name)
        self.nodes.append(node)

    def __getattr__(self, name: str):
        if name.startswith("_") or not has_op(name):
            raise AttributeError(name)

        def build(*inputs, **attrs):
            return self.op(name, *inputs, **attrs)

        build.__name__ = name
        return build

    def build(self, results, name: str | None = None) -> Function:
        if isinstance(results, Value):
            results = [results]
        return Function(name or self.name, tuple(self.params), tuple(self.nodes),
                        tuple(results))

    # --- conveniences used by VJPs, passes and the frontend -----------------

    def constant(self, value, dtype=None) -> Value:
        """A constant: a scalar or an array, of `dtype` (default: float32 for
        Python floats, the array's dtype for arrays)."""
        if dtype is not None:
            arr = np.asarray(value, dtype=as_dtype(dtype).np)
        elif isinstance(value, np.ndarray):
            arr = value
        elif isinstance(value, bool):
            arr = np.asarray(value)
        elif isinstance(value, int):
            arr = np.asarray(value, np.float32)
        else:
            arr = np.asarray(value, np.float32)
        return self.op("constant", value=ConstArray(arr))

    def scalar_like(self, value, x: Value) -> Value:
        """A scalar constant with the dtype of x (broadcasts against x)."""
        return self.constant(value, x.dtype)

    def zeros_like(self, x: Value) -> Value:
        return self.op("zeros", shape=x.shape, dtype=x.dtype)

    def ones_like(self, x: Value) -> Value:
        return self.op("ones", shape=x.shape, dtype=x.dtype)

    def sum_to(self, g: Value, shape: tuple) -> Value:
        """Sum g over the axes that broadcasting added to reach g.shape from
        `shape` (the adjoint of broadcasting)."""
        shape = tuple(shape)
        if g.shape == shape:
            return g
        lead = g.rank - len(shape)
        axes = list(range(lead))
        for i, d in enumerate(shape):
            if d == 1 and g.shape[lead + i] != 1:
                axes.append(lead + i)
        if axes == list(range(lead)):  # only leading axes: no reshape needed
            return self.op("reduce_sum", g, axes=tuple(axes))
        out = g
        if axes:
            out = self.op("reduce_sum", g, axes=tuple(axes), keepdims=True)
        if out.shape != shape:
            out = self.op("reshape", out, shape=shape)
        return out
