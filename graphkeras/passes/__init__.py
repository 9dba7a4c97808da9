"""graphkeras.passes: IR -> IR transforms and the pipeline that runs them."""

from .differentiate import (
    DifferentiateArgumentError,
    DifferentiateTypeError,
    NotDifferentiableError,
    differentiate,
)
from .eliminate_common_subexpressions import eliminate_common_subexpressions
from .eliminate_dead_code import eliminate_dead_code
from .errors import UserError
from .fold_constants import fold_constants
from .pipeline import SIMPLIFY_PIPELINE, pass_name, run_pipeline
from .rewrite import RULES, apply_rewrites
from .simplify import simplify

__all__ = [
    "RULES",
    "SIMPLIFY_PIPELINE",
    "DifferentiateArgumentError",
    "DifferentiateTypeError",
    "NotDifferentiableError",
    "UserError",
    "apply_rewrites",
    "differentiate",
    "eliminate_common_subexpressions",
    "eliminate_dead_code",
    "fold_constants",
    "pass_name",
    "run_pipeline",
    "simplify",
]
