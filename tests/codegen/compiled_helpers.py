"""Helpers for tests that compile programs: run a Function compiled and
interpreted and compare."""

from __future__ import annotations

import numpy as np
from helpers import check_close

from graphkeras import ir
from graphkeras.runtime import Program, StateStore
from graphkeras.runtime.compiled import CompiledExecutable

# compiled code may contract a*b+c into an FMA and uses its own exp/log/...
# (a few ulp): float32 tolerances a little wider than the interpreter's
RTOL = {"f32": 2e-5, "f64": 1e-11}
ATOL = {"f32": 2e-6, "f64": 1e-12}


def compile_function(fn: ir.Function) -> CompiledExecutable:
    """Every parameter an input, every result an output."""
    names = tuple(p.name for p in fn.params)
    prog = Program(fn, state=(), inputs=names, updates=(),
                   outputs=tuple(range(len(fn.results))))
    return CompiledExecutable(prog, StateStore())


def check_compiled(fn: ir.Function, arrays, exe=None, what: str = "") -> None:
    exe = exe or compile_function(fn)
    got = exe.run(list(arrays))
    want = ir.interpret(fn, list(arrays))
    for k, (g, w) in enumerate(zip(got, want)):
        dt = ir.as_dtype(w.dtype)
        check_close(g, w, rtol=RTOL.get(dt.name), atol=ATOL.get(dt.name),
                    what=f"{what} result {k}")
    return exe


def with_symbol_inputs(fn: ir.Function, arrays, env: dict):
    """fn with an extra (unused) parameter of shape (S,) for every symbol S
    that no parameter binds (source ops such as zeros {shape=(N, 3)}), and
    the arrays to pass for them: compiled programs read symbols from their
    inputs' shapes."""
    bound = {d for p in fn.params for d in p.shape if ir.is_symbol(d)}
    used = {d for v in fn.values() for d in v.shape if ir.is_symbol(d)}
    extra = sorted(used - bound)
    if not extra:
        return fn, list(arrays)
    params = list(fn.params)
    arrays = list(arrays)
    for sym in extra:
        params.append(ir.Value(f"bind_{sym}", ir.TensorType((sym,), ir.float32)))
        arrays.append(np.zeros(env[sym], np.float32))
    return fn.replace(params=tuple(params)), arrays
