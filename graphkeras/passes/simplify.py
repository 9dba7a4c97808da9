"""simplify: constant folding, algebraic rewrites, common subexpressions and
dead code, repeated until none of them changes the program.

Each step can enable another (folding makes the `1` that `x * 1 -> x`
needs, a rewrite makes two nodes equal for CSE), hence the loop. Every step
only merges, replaces or removes nodes, so the loop ends quickly; a program
still changing after MAX_ROUNDS rounds is a bug (InternalCompilerError).

Requires: fn verifies.
Ensures: params unchanged, results the same in number and type and equal in
value (as the interpreter computes them); no node is dead; no rule of the
table matches; no two nodes compute the same thing; simplify is idempotent.
"""

from __future__ import annotations

from collections.abc import Sequence

from ..ir import Function, InternalCompilerError
from .eliminate_common_subexpressions import eliminate_common_subexpressions
from .eliminate_dead_code import eliminate_dead_code
from .fold_constants import FOLD_LIMIT, fold_constants
from .rewrite import apply_rewrites

MAX_ROUNDS = 16


def simplify(fn: Function, *, rules: Sequence | None = None,
             fold_limit: int = FOLD_LIMIT) -> Function:
    """Simplify fn to a fixed point (see the module docstring)."""
    fn = eliminate_dead_code(fn)
    for _ in range(MAX_ROUNDS):
        new = fold_constants(fn, limit=fold_limit)
        new = apply_rewrites(new, rules)
        new = eliminate_common_subexpressions(new)
        new = eliminate_dead_code(new)
        if new is fn or new == fn:
            return new
        fn = new
    raise InternalCompilerError(
        f"simplify: @{fn.name} still changes after {MAX_ROUNDS} rounds"
    )
