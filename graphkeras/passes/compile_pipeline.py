"""The passes that prepare a program for codegen.

    prepare_for_codegen(fn, used_results) -> fn'

1. simplify (constant folding, rewrites, CSE, dead code).
2. materialize_results: every result that the runtime writes somewhere (a
   returned output or a state update) becomes a value of its own, computed
   by a kernel: a result that is a parameter or a constant, or that shares
   its buffer with another used result (the same value twice, or a reshape
   view of one), gets an identity copy (`stop_gradient`).
3. fuse_elementwise.
4. fuse_matmul_epilogues (a product and its elementwise consumer, with
   column sums of the result, as one kernel).
Between 1 and 2 runs assign_layouts (channels-first transposes sunk and
cancelled, wide 1x1 convolutions as GEMMs); after the fusions,
fuse_conv_epilogues (a conv and its elementwise consumer as one kernel).

Requires: fn verifies. Ensures: fn' verifies and computes the same results;
result i of fn' has result i's type.
"""

from __future__ import annotations

import functools

from ..ir import Builder, Function, verify
from .assign_layouts import assign_layouts
from .fuse_conv_epilogues import fuse_conv_epilogues
from .fuse_elementwise import fuse_elementwise
from .fuse_matmul_epilogues import fuse_matmul_epilogues
from .pipeline import run_pipeline
from .simplify import simplify

CODEGEN_PASSES = ("simplify", "assign_layouts", "materialize_results",
                  "fuse_elementwise", "fuse_matmul_epilogues",
                  "fuse_conv_epilogues")


def _root(fn: Function, name: str) -> str:
    """The value whose buffer `name` lives in (through reshape views)."""
    prod = fn.producers()
    while name in prod and prod[name].op == "reshape":
        name = prod[name].inputs[0].name
    return name


def materialize_results(fn: Function, used: tuple) -> Function:
    """See the module docstring; `used` lists the result indices that get
    written (outputs and updates)."""
    prod = fn.producers()
    params = {p.name for p in fn.params}
    b = None
    results = list(fn.results)
    seen: set = set()
    for i in sorted(set(used)):
        v = results[i]
        root = _root(fn, v.name)
        bad = root in params or root in seen or (
            root in prod and prod[root].op == "constant")
        if bad:
            if b is None:
                b = Builder.from_function(fn)
            results[i] = b.stop_gradient(v)
            root = results[i].name
        seen.add(root)
    if b is None:
        return fn
    return b.build(results, name=fn.name)


def codegen_passes(used: tuple, *, fuse: bool = True) -> list:
    """The pipeline (a plain list, for run_pipeline) for a program whose
    results `used` get written."""
    passes = [simplify, assign_layouts,
              ("materialize_results", functools.partial(materialize_results,
                                                        used=tuple(used)))]
    if fuse:
        passes += [fuse_elementwise, fuse_matmul_epilogues,
                   fuse_conv_epilogues]
    return passes


def prepare_for_codegen(fn: Function, used: tuple, *, fuse: bool = True,
                        check: bool = True, timings: dict | None = None) -> Function:
    """Run codegen_passes through passes.run_pipeline (which checks after
    each pass, dumps with GRAPHKERAS_DUMP=ir and names a failing pass)."""
    fn = run_pipeline(fn, codegen_passes(used, fuse=fuse), timings=timings)
    if check:
        verify(fn)
    return fn
