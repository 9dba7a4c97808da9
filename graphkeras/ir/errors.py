"""Exceptions raised by the IR and the compiler."""

from __future__ import annotations


class IRTypeError(TypeError):
    """An op was given operands or attributes it cannot take.

    The message names the op and the operand types, as built or as parsed.
    """


class VerifyError(ValueError):
    """A Function breaks an IR invariant; the message names the node."""


class ParseError(ValueError):
    """IR text that does not parse; the message gives line and column."""


class InternalCompilerError(RuntimeError):
    """A broken invariant inside graphkeras: a bug of ours, not the user's."""

    def __init__(self, message: str, *, pass_name: str | None = None,
                 dump_path: str | None = None):
        parts = [message]
        if pass_name:
            parts.append(f"(in pass {pass_name})")
        if dump_path:
            parts.append(f"The program was written to {dump_path}.")
        parts.append(
            "This is a bug in graphkeras; please report it with the program "
            "text at https://github.com/graphkeras/graphkeras/issues."
        )
        super().__init__(" ".join(parts))
        self.pass_name = pass_name
        self.dump_path = dump_path
