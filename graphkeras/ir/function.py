"""The IR's data structures: Value, Node, Function, and attribute values.

Invariant: everything here is immutable and compares by value, so that
`parse(print(f)) == f` is a plain equality and passes can share sub-objects.
An edit builds a new object (`node.replace(...)` returns `self` when nothing
changed).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace as _dc_replace
from typing import Any, Iterator, Mapping

import numpy as np

from .dtypes import DType, as_dtype
from .types import TensorType


class ConstArray:
    """An immutable NumPy array used as an attribute value (a constant).

    Compares and hashes by dtype, shape and bytes, so two equal constants are
    equal attributes (needed for CSE and for text round trips).
    """

    __slots__ = ("_a", "_hash")

    def __init__(self, value, dtype=None):
        a = np.array(value, dtype=None if dtype is None else as_dtype(dtype).np)
        if a.dtype == np.float64 and dtype is None and not isinstance(
            value, np.ndarray
        ):
            a = a.astype(np.float32)
        as_dtype(a.dtype)  # reject unsupported dtypes early
        a = np.array(a, order="C", copy=True)
        a.setflags(write=False)
        self._a = a
        self._hash = None

    @property
    def array(self) -> np.ndarray:
        return self._a

    @property
    def dtype(self) -> DType:
        return as_dtype(self._a.dtype)

    @property
    def shape(self) -> tuple:
        return self._a.shape

    def __eq__(self, other) -> bool:
        if not isinstance(other, ConstArray):
            return NotImplemented
        return (
            self._a.dtype == other._a.dtype
            and self._a.shape == other._a.shape
            and self._a.tobytes() == other._a.tobytes()
        )

    def __hash__(self) -> int:
        if self._hash is None:
            self._hash = hash((self._a.dtype.str, self._a.shape, self._a.tobytes()))
        return self._hash

    def __repr__(self) -> str:
        return f"ConstArray({self._a.tolist()!r}, {self.dtype.name})"


class Attrs(Mapping):
    """A frozen, hashable mapping of attribute name to value, sorted by key."""

    __slots__ = ("_items", "_dict")

    def __init__(self, items=()):
        if isinstance(items, Mapping):
            items = items.items()
        pairs = tuple(sorted((str(k), _freeze(v)) for k, v in items))
        self._items = pairs
        self._dict = dict(pairs)

    def __getitem__(self, key):
        return self._dict[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._dict)

    def __len__(self) -> int:
        return len(self._items)

    def __hash__(self) -> int:
        return hash(self._items)

    def __eq__(self, other) -> bool:
        if isinstance(other, Attrs):
            return self._items == other._items
        if isinstance(other, Mapping):
            return self._dict == dict(other)
        return NotImplemented

    def __repr__(self) -> str:
        return "Attrs(" + ", ".join(f"{k}={v!r}" for k, v in self._items) + ")"

    def replace(self, **changes) -> "Attrs":
        d = dict(self._dict)
        d.update(changes)
        return Attrs(d)


def _freeze(v):
    if isinstance(v, list):
        return tuple(_freeze(x) for x in v)
    if isinstance(v, tuple):
        return tuple(_freeze(x) for x in v)
    if isinstance(v, np.ndarray):
        return ConstArray(v)
    if isinstance(v, np.generic):
        return v.item()
    return v


@dataclass(frozen=True)
class Value:
    """An SSA value: a unique name within its Function and a TensorType."""

    name: str
    type: TensorType

    @property
    def shape(self) -> tuple:
        return self.type.shape

    @property
    def dtype(self) -> DType:
        return self.type.dtype

    @property
    def rank(self) -> int:
        return self.type.rank

    def __str__(self) -> str:
        return f"%{self.name}"


@dataclass(frozen=True)
class Node:
    """One operation: `outputs = op(inputs) {attrs}`, with an optional loc.

    `loc` names the source of the node (the Keras layer that recorded it); it
    is printed as `loc("dense")` and takes part in equality.
    """

    op: str
    inputs: tuple
    attrs: Attrs
    outputs: tuple
    loc: str | None = None

    def __post_init__(self):
        object.__setattr__(self, "inputs", tuple(self.inputs))
        object.__setattr__(self, "outputs", tuple(self.outputs))
        if not isinstance(self.attrs, Attrs):
            object.__setattr__(self, "attrs", Attrs(self.attrs))

    @property
    def output(self) -> Value:
        if len(self.outputs) != 1:
            raise ValueError(f"node {self.op} has {len(self.outputs)} outputs")
        return self.outputs[0]

    def replace(self, **changes) -> "Node":
        if all(getattr(self, k) == v for k, v in changes.items()):
            return self
        return _dc_replace(self, **changes)


@dataclass(frozen=True)
class Function:
    """A typed SSA function: parameters, nodes in topological order, results."""

    name: str
    params: tuple
    nodes: tuple
    results: tuple
    _index: dict = field(default=None, compare=False, hash=False, repr=False)

    def __post_init__(self):
        object.__setattr__(self, "params", tuple(self.params))
        object.__setattr__(self, "nodes", tuple(self.nodes))
        object.__setattr__(self, "results", tuple(self.results))

    def replace(self, **changes) -> "Function":
        if all(getattr(self, k) == v for k, v in changes.items()):
            return self
        changes.setdefault("_index", None)
        return _dc_replace(self, **changes)

    @property
    def param_types(self) -> tuple:
        return tuple(p.type for p in self.params)

    @property
    def result_types(self) -> tuple:
        return tuple(r.type for r in self.results)

    def producers(self) -> dict:
        """Map from a value's name to the node that defines it."""
        if self._index is None:
            idx = {}
            for n in self.nodes:
                for o in n.outputs:
                    idx[o.name] = n
            object.__setattr__(self, "_index", idx)
        return self._index

    def users(self) -> dict:
        """Map from a value's name to the nodes that read it, in order."""
        out: dict[str, list] = {}
        for n in self.nodes:
            for v in n.inputs:
                out.setdefault(v.name, []).append(n)
        return out

    def values(self) -> list:
        vals = list(self.params)
        for n in self.nodes:
            vals.extend(n.outputs)
        return vals

    def __str__(self) -> str:
        from .text import print_function

        return print_function(self)


def live_nodes(nodes, results) -> list:
    """The nodes `results` depend on, in their order: the one dead-code
    rule (passes/eliminate_dead_code.py, the ONNX exporter). Every op is a
    pure function of its operands and attributes, so a node none of whose
    outputs reaches a result can go."""
    live = {r.name for r in results}
    kept = []
    for node in reversed(nodes):
        if any(o.name in live for o in node.outputs):
            kept.append(node)
            live.update(v.name for v in node.inputs)
    kept.reverse()
    return kept


def attr_value_ok(v: Any) -> bool:
    """True for the attribute values the IR can store and print."""
    if v is None or isinstance(v, (bool, int, float, str, DType, ConstArray)):
        return True
    if isinstance(v, TensorType) or isinstance(v, Function):
        return True
    if isinstance(v, tuple):
        return all(attr_value_ok(x) for x in v)
    return False
