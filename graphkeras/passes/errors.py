"""Errors raised by passes.

A pass raises two kinds of errors. A *user error* means the program the user
wrote cannot be compiled as asked (a non-differentiable op between the loss
and a variable, an unknown variable name); it derives from `UserError` and
from ValueError or TypeError, and `run_pipeline` lets it through unchanged so
the user reads the pass's own message. Anything else raised inside a pass is
a graphkeras bug, and `run_pipeline` wraps it in `InternalCompilerError`.
"""

from __future__ import annotations


class UserError(Exception):
    """Mixin marking an error caused by the user's program, not by a bug.

    Subclasses also derive from ValueError or TypeError, e.g.
    `class NotDifferentiableError(UserError, ValueError)`.
    """
