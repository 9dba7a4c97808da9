"""The pass pipeline: runs a list of passes, checking, timing and dumping.

A pipeline is a plain list of passes, so callers print, slice and extend it
(codegen appends fusion and memory planning to SIMPLIFY_PIPELINE's passes).
A pass is a callable `Function -> Function`; its name is its `__name__`
(`functools.partial` objects use the wrapped function's), or give it one as
a `(name, callable)` pair.

After each pass the program is checked: fully with `ir.verify` when
`verify=True`, or when `verify=None` and GRAPHKERAS_VERIFY is on; otherwise
cheaply (each value defined once and before use; results defined), which is
linear and does no type inference.

Failures: a `UserError` raised inside a pass (e.g. NotDifferentiableError)
propagates unchanged, since it is about the user's program. Any other
exception, and a program that fails the check, becomes an
InternalCompilerError that names the pass, the passes before it and the
file the pass's input program was written to; the original exception is
chained as its cause.
"""

from __future__ import annotations

import functools
import os
import re
import tempfile
import time
from collections.abc import Callable, Iterable, Sequence

from .. import flags
from ..ir import Function, InternalCompilerError, VerifyError, print_function
from ..ir import verify as verify_function
from .errors import UserError
from .simplify import simplify

Pass = Callable[[Function], Function]

SIMPLIFY_PIPELINE: list = [simplify]


def pass_name(p) -> str:
    """The name a pipeline shows for pass p (a callable or a (name, fn) pair)."""
    if isinstance(p, tuple):
        return str(p[0])
    while isinstance(p, functools.partial):
        p = p.func
    return getattr(p, "__name__", type(p).__name__)


def _names(spec) -> set | bool:
    """dump_before / dump_after as a set of names, or True for "all"."""
    if spec in ("all", True):
        return True
    if isinstance(spec, str):
        return {spec}
    names = set(spec or ())
    return True if "all" in names else names


def _wants(spec, name: str) -> bool:
    return spec is True or name in spec


def _cheap_check(fn: Function) -> None:
    """Definitions before uses, each value defined once, results defined."""
    defined = {p.name for p in fn.params}
    if len(defined) != len(fn.params):
        raise VerifyError(f"@{fn.name}: two parameters share a name")
    for i, node in enumerate(fn.nodes):
        for v in node.inputs:
            if v.name not in defined:
                raise VerifyError(
                    f"@{fn.name}, node {i} ({node.op}): operand %{v.name} is "
                    "used before it is defined"
                )
        for o in node.outputs:
            if o.name in defined:
                raise VerifyError(
                    f"@{fn.name}, node {i} ({node.op}): %{o.name} is defined "
                    "twice"
                )
            defined.add(o.name)
    for r in fn.results:
        if r.name not in defined:
            raise VerifyError(f"@{fn.name}: result %{r.name} is not defined")


class _Dumper:
    """Writes program text to a directory or hands it to a callable."""

    def __init__(self, target):
        self.target = target

    def __call__(self, label: str, fn: Function) -> str | None:
        text = print_function(fn) + "\n"
        if callable(self.target):
            self.target(label, text)
            return None
        os.makedirs(self.target, exist_ok=True)
        path = os.path.join(self.target, f"{label}.gkir")
        with open(path, "w") as f:
            f.write(text)
        return path


def _save_for_report(fn: Function, name: str) -> str | None:
    """Write the failing pass's input where a bug report can pick it up."""
    try:
        fd, path = tempfile.mkstemp(
            prefix=f"graphkeras-{_slug(name)}-", suffix=".gkir"
        )
        with os.fdopen(fd, "w") as f:
            f.write(print_function(fn) + "\n")
        return path
    except Exception:  # noqa: BLE001 - a failed dump must not hide the error
        return None


def _slug(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name)


def run_pipeline(
    fn: Function,
    passes: Sequence,
    *,
    verify: bool | None = None,
    dump_before: Iterable[str] | str = (),
    dump_after: Iterable[str] | str = (),
    dump=None,
    timings: dict | None = None,
) -> Function:
    """Run `passes` over fn in order and return the final program.

    Args:
        fn: the program.
        passes: callables `Function -> Function` or `(name, callable)` pairs.
        verify: True: `ir.verify` after each pass; False: cheap checks only;
            None: as GRAPHKERAS_VERIFY says.
        dump_before, dump_after: pass names (or "all") whose input / output
            program text is dumped.
        dump: a directory (files `NN-after-NAME.gkir`) or a callable
            `(label, text)`; default: GRAPHKERAS_DUMP_DIR. When it is None
            and GRAPHKERAS_DUMP contains "ir", every pass's output is dumped.
        timings: a dict that receives seconds per pass, keyed by pass name
            (`name#2`, `name#3` for repeats).
    """
    full = flags.verify_passes() if verify is None else bool(verify)
    before, after = _names(dump_before), _names(dump_after)
    if dump is None and "ir" in flags.dump_kinds() and not (before or after):
        after = True
    dumper = _Dumper(flags.dump_dir() if dump is None else dump)
    done: list[str] = []
    for index, p in enumerate(passes):
        name = pass_name(p)
        run = p[1] if isinstance(p, tuple) else p
        label = f"{index:02d}-{{}}-{_slug(name)}"
        if _wants(before, name):
            dumper(label.format("before"), fn)
        start = time.perf_counter()
        try:
            out = run(fn)
        except UserError:
            raise
        except Exception as e:
            raise _internal(f"{type(e).__name__}: {e}", name, done, fn) from e
        elapsed = time.perf_counter() - start
        if not isinstance(out, Function):
            raise _internal(
                f"it returned {type(out).__name__}, not a Function", name, done,
                fn,
            )
        try:
            verify_function(out) if full else _cheap_check(out)
        except Exception as e:
            raise _internal(
                f"it produced an invalid program: {e}", name, done, fn
            ) from e
        if timings is not None:
            key, k = name, 1
            while key in timings:
                k += 1
                key = f"{name}#{k}"
            timings[key] = elapsed
        if _wants(after, name):
            dumper(label.format("after"), out)
        done.append(name)
        fn = out
    return fn


def _internal(what: str, name: str, done: list, fn: Function):
    ran = ", ".join(done) if done else "none"
    path = _save_for_report(fn, name)
    return InternalCompilerError(
        f"Pass {name} failed on @{fn.name}: {what}. Passes run before it: "
        f"{ran}.",
        pass_name=name,
        dump_path=path,
    )
