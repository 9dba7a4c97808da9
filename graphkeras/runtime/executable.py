"""Executable: the one interface the trainer calls to run a Program.

`InterpretedExecutable` runs the reference interpreter (what
`compile(run_eagerly=True)` uses); the compiled executable from codegen has
the same interface, so the trainer never knows which one it holds.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from ..ir import interpret
from .program import Program
from .state import StateStore


class Executable:
    """Runs `program` against `store`: `run(inputs) -> outputs`."""

    program: Program
    store: StateStore

    def run(self, inputs: Sequence[np.ndarray]) -> list:
        raise NotImplementedError

    def check_inputs(self, inputs: Sequence) -> list:
        """Validate the per-call inputs against the program's types; return
        them as arrays. Raises ValueError naming the input."""
        params = self.program.input_params
        if len(inputs) != len(params):
            raise ValueError(
                f"Expected {len(params)} input arrays "
                f"({', '.join(p.name for p in params)}), received {len(inputs)}."
            )
        out = []
        env: dict = {}
        for p, a in zip(params, inputs):
            a = np.asarray(a)
            t = p.type
            if a.dtype != t.dtype.np:
                raise ValueError(
                    f'Input "{p.name}" must have dtype {t.dtype.long_name}, '
                    f"received {a.dtype}."
                )
            if a.ndim != t.rank or any(
                (d != n) if isinstance(d, int) else (env.setdefault(d, n) != n)
                for d, n in zip(t.shape, a.shape)
            ):
                raise ValueError(
                    f'Input "{p.name}" must have shape {t}, received {a.shape}.'
                )
            out.append(a)
        return out


class InterpretedExecutable(Executable):
    def __init__(self, program: Program, store: StateStore):
        self.program = program
        self.store = store

    def run(self, inputs: Sequence[np.ndarray]) -> list:
        inputs = self.check_inputs(inputs)
        prog = self.program
        args = {name: self.store[name] for name in prog.state}
        args.update(zip(prog.inputs, inputs))
        results = interpret(prog.fn, args)
        for name, i in prog.updates:
            self.store.assign(name, results[i])
        return [results[i] for i in prog.outputs]
