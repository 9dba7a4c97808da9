"""graphkeras.ir: types, ops, Function/Node/Value, Builder, text, verifier
and the reference interpreter. Imports nothing else of graphkeras."""

from . import ops as _ops  # noqa: F401  (registers every op)
from .builder import Builder, infer_types
from .dtypes import DType, as_dtype, bool_, float32, float64, int32, int64
from .errors import (
    InternalCompilerError,
    IRTypeError,
    ParseError,
    VerifyError,
)
from .function import Attrs, ConstArray, Function, Node, Value, live_nodes
from .interpret import interpret
from .registry import (
    NOT_DIFFERENTIABLE,
    OpDef,
    all_ops,
    get_op,
    is_differentiable,
    register_op,
)
from .scalar import NumpyScalar, ScalarBuilder
from .text import canonical_print, canonical_text, parse, parse_many, print_function
from .types import TensorType, broadcast_shapes, is_symbol
from .verify import verify

__all__ = [
    "Attrs", "Builder", "canonical_print", "canonical_text", "ConstArray", "DType", "Function", "IRTypeError",
    "InternalCompilerError", "NOT_DIFFERENTIABLE", "Node", "NumpyScalar",
    "OpDef", "ParseError", "ScalarBuilder", "TensorType", "Value",
    "VerifyError", "all_ops", "as_dtype", "bool_", "broadcast_shapes",
    "float32", "float64", "get_op", "infer_types", "int32", "int64",
    "interpret", "is_differentiable", "is_symbol", "live_nodes", "parse",
    "parse_many",
    "print_function", "register_op", "verify",
]
