"""Program: a Function plus the roles of its parameters and results.

A program's parameters are either persistent *state* (model weights,
optimizer slots, metric accumulators, the step counter), read from a
StateStore at every call, or per-call *inputs*. After a call, the results
named in `updates` are written back into the store; the results named in
`outputs` are returned to the caller.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

from ..ir import Function


@dataclass(frozen=True)
class Program:
    fn: Function
    state: tuple  # names of fn params that live in the StateStore
    inputs: tuple  # names of fn params passed at each call, in order
    updates: tuple  # ((state name, result index), ...)
    outputs: tuple  # result indices returned by a call, in order

    def __post_init__(self):
        names = [p.name for p in self.fn.params]
        if sorted(names) != sorted(tuple(self.state) + tuple(self.inputs)):
            raise ValueError(
                f"Program: the parameters of @{self.fn.name} ({names}) must be "
                f"exactly state {self.state} plus inputs {self.inputs}."
            )
        n = len(self.fn.results)
        state = set(self.state)  # a set: thousands of updates, each checked
        for name, i in self.updates:
            if name not in state or not 0 <= i < n:
                raise ValueError(f"Program: bad update ({name!r}, {i}).")
            if self.param(name).type != self.fn.results[i].type:
                raise ValueError(
                    f"Program: state {name!r} is {self.param(name).type} but "
                    f"result {i} is {self.fn.results[i].type}."
                )
        for i in self.outputs:
            if not 0 <= i < n:
                raise ValueError(f"Program: bad output index {i}.")

    @cached_property
    def _params_by_name(self) -> dict:
        return {p.name: p for p in reversed(self.fn.params)}  # the first wins

    def param(self, name: str):
        return self._params_by_name[name]

    @property
    def input_params(self) -> tuple:
        return tuple(self.param(n) for n in self.inputs)

    @property
    def state_params(self) -> tuple:
        return tuple(self.param(n) for n in self.state)
