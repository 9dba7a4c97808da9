"""The op registry: one `OpDef` per op, holding every rule about it.

An OpDef carries the op's attributes (with their canonical form and
defaults), its shape/dtype rule (`infer`), its NumPy reference, its VJP (or
the explicit mark NOT_DIFFERENTIABLE), its ONNX op type and, for elementwise
ops, its scalar body (`emit`) written against the abstract ScalarBuilder.
`register_op` refuses an op missing any of these when it is imported, so the
set stays complete as it grows.
"""

from __future__ import annotations

from typing import Any, Callable

from .dtypes import DType, as_dtype
from .errors import IRTypeError
from .types import TensorType, check_dim


class _NotDifferentiable:
    """Mark for an op whose outputs carry no gradient (integer or boolean
    outputs, or piecewise-constant functions such as round)."""

    def __repr__(self) -> str:
        return "NOT_DIFFERENTIABLE"

    def __bool__(self) -> bool:
        return False


NOT_DIFFERENTIABLE = _NotDifferentiable()
REQUIRED = object()

KINDS = ("elementwise", "reduce", "structured", "source", "meta")


class Attr:
    """The specification of one attribute: how to canonicalize it, and its
    default (REQUIRED when there is none)."""

    def __init__(self, convert: Callable[[Any], Any], default=REQUIRED,
                 doc: str = ""):
        self.convert = convert
        self.default = default
        self.doc = doc


# --- attribute converters: each returns the canonical form or raises ---------


def a_int(v) -> int:
    if isinstance(v, bool) or not hasattr(v, "__index__"):
        raise TypeError(f"expected an int, got {v!r}")
    return int(v)


def a_float(v) -> float:
    if isinstance(v, bool) or not isinstance(v, (int, float)) and not hasattr(
        v, "__float__"
    ):
        raise TypeError(f"expected a number, got {v!r}")
    return float(v)


def a_bool(v) -> bool:
    if not isinstance(v, bool):
        raise TypeError(f"expected True or False, got {v!r}")
    return v


def a_str(v) -> str:
    if not isinstance(v, str):
        raise TypeError(f"expected a string, got {v!r}")
    return v


def a_dtype(v) -> DType:
    return as_dtype(v)


def a_ints(v) -> tuple:
    if isinstance(v, (int,)) and not isinstance(v, bool):
        return (int(v),)
    if not isinstance(v, (tuple, list)):
        raise TypeError(f"expected a tuple of ints, got {v!r}")
    return tuple(a_int(x) for x in v)


def a_opt_ints(v):
    return None if v is None else a_ints(v)


def a_shape(v) -> tuple:
    if not isinstance(v, (tuple, list)):
        raise TypeError(f"expected a shape tuple, got {v!r}")
    return tuple(check_dim(d) for d in v)


def a_opt_int(v):
    return None if v is None else a_int(v)


def a_opt_float(v):
    return None if v is None else a_float(v)


def a_any(v):
    return v


def one_of(*choices) -> Callable:
    def conv(v):
        if v not in choices:
            raise ValueError(f"expected one of {choices}, got {v!r}")
        return v

    return conv


# --- the OpDef base ----------------------------------------------------------


class OpDef:
    """Base class of every op definition. Subclasses set the class attributes
    and implement `infer`, `reference`, `vjp` (or set it to
    NOT_DIFFERENTIABLE) and, when `kind == "elementwise"`, `emit`."""

    name: str = ""
    onnx: str | None = None  # ONNX op type the exporter maps this to
    kind: str = "structured"
    attrs: dict = {}
    num_inputs: int | None = 1  # None: variadic (at least one)
    num_outputs: int = 1
    # attrs holding shapes that may name symbols; the interpreter binds them
    shape_attrs: tuple = ()
    # differentiable inputs; None means all of them
    diff_inputs: tuple | None = None
    vjp: Any = None
    emit: Any = None

    def flops(self, node, env: dict) -> int:
        """Floating-point (or integer) operations of one node at symbol
        sizes env: the one count `graphkeras inspect`, runtime/profile.py
        and the thread cost model read (through `node_flops`).

        By kind: an elementwise op costs 1 per output element, a reduction
        1 per input element, a meta op (a fused kernel) what its body's
        nodes cost; sources and data movement cost 0. Ops that compute
        otherwise define their own (matmul, softmax, scatter_add, scan,
        conv, pooling, resize)."""
        if self.kind == "elementwise":
            return sum(o.type.num_elements(env) for o in node.outputs)
        if self.kind == "reduce":
            return node.inputs[0].type.num_elements(env)
        if self.kind == "meta":
            return sum(node_flops(n, env) for v in node.attrs.values()
                       if hasattr(v, "nodes") for n in v.nodes)
        return 0

    # NOTE: infer and reference take the inputs positionally and the
    # (canonicalized, defaults filled) attrs as keywords.
    def infer(self, *types: TensorType, **attrs):
        raise NotImplementedError

    def reference(self, *arrays, **attrs):
        raise NotImplementedError

    def normalize(self, types: tuple, attrs: dict) -> dict:
        """Bring attrs that depend on the operand types (negative axes, an
        axes=None meaning "all") into their one canonical form. Raise
        ValueError for attrs the operands make illegal."""
        return attrs

    def canonical_attrs(self, given: dict) -> dict:
        """Fill defaults, convert to canonical form, reject unknown names."""
        out = {}
        for key in given:
            if key not in self.attrs:
                known = ", ".join(sorted(self.attrs)) or "none"
                raise IRTypeError(
                    f'Op "{self.name}" has no attribute "{key}" '
                    f"(its attributes: {known})."
                )
        for key, spec in self.attrs.items():
            if key in given:
                try:
                    out[key] = spec.convert(given[key])
                except (TypeError, ValueError) as e:
                    raise IRTypeError(
                        f'Op "{self.name}": bad attribute {key}={given[key]!r}: '
                        f"{str(e).rstrip('.')}."
                    ) from None
            elif spec.default is REQUIRED:
                raise IRTypeError(
                    f'Op "{self.name}" requires the attribute "{key}".'
                )
            else:
                out[key] = spec.default
        return out

    def __repr__(self) -> str:
        return f"<op {self.name}>"


_REGISTRY: dict[str, OpDef] = {}


def register_op(cls):
    """Class decorator: check the definition is complete, then register it."""
    op = cls()
    missing = []
    if not op.name:
        missing.append("name")
    if op.kind not in KINDS:
        missing.append(f"kind (one of {KINDS})")
    if type(op).infer is OpDef.infer:
        missing.append("infer")
    if type(op).reference is OpDef.reference:
        missing.append("reference")
    if op.vjp is None:
        missing.append("vjp (or vjp = NOT_DIFFERENTIABLE)")
    if not op.onnx:
        missing.append("onnx")
    if op.kind == "elementwise" and op.emit is None:
        missing.append("emit (elementwise ops need a scalar body)")
    if missing:
        raise TypeError(f"op {cls.__name__} lacks: {', '.join(missing)}")
    if op.name in _REGISTRY:
        raise TypeError(f'op "{op.name}" is registered twice')
    _REGISTRY[op.name] = op
    return cls


def node_flops(node, env: dict) -> int:
    """The operations of `node` at symbol sizes env, by its op's rule
    (OpDef.flops)."""
    return get_op(node.op).flops(node, env)


def get_op(name: str) -> OpDef:
    try:
        return _REGISTRY[name]
    except KeyError:
        raise IRTypeError(f'Unknown op "{name}".') from None


def has_op(name: str) -> bool:
    return name in _REGISTRY


def all_ops() -> dict:
    """Every registered op, by name (a copy)."""
    return dict(_REGISTRY)


def is_differentiable(op: OpDef) -> bool:
    return op.vjp is not NOT_DIFFERENTIABLE
