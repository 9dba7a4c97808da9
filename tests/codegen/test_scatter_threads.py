"""scatter_add (the embedding's gradient) cut over threads by the
elements of one update (codegen/kernels.py emit_scatter_add): against the
reference interpreter, and to the bit on 1, 2 and 3 threads, with repeated
and out-of-range indices, along axis 0 and 1, with rows of one, 15 and no
trailing elements, fused producers of the base and the updates."""

from __future__ import annotations

import numpy as np
import pytest

from graphkeras import ir
from graphkeras.ir import interpret
from graphkeras.runtime import Program, StateStore
from graphkeras.runtime.compiled import CompiledExecutable

# (x shape, indices shape, axis); updates: x[:axis] + indices + x[axis+1:]
# (bases of more than step_module.SMALL_FIXED elements: a smaller kernel
# runs whole on one thread)
CASES = [((2000, 3, 15), ("N", 4), 0), ((2, 3000, 13), ("N",), 1),
         ((70000,), ("N", 2), 0), ((70000, 1), ("N", 3), 0)]


def _program(xs, ids, axis):
    b = ir.Builder("f")
    x = b.param("x", xs)
    i = b.param("i", ids, dtype=ir.int32)
    us = tuple(xs[:axis]) + tuple(ids) + tuple(xs[axis + 1:])
    u = b.param("u", us)
    # elementwise producers of the base and the updates fuse into the kernel
    out = b.scatter_add(b.add(x, b.constant(1.0)), i,
                        b.mul(u, b.constant(2.0)), axis=axis)
    return b.build([out])


def _run(fn, args, threads):
    prog = Program(fn, state=(), inputs=tuple(p.name for p in fn.params),
                   updates=(), outputs=(0,))
    return CompiledExecutable(prog, StateStore(), threads=threads).run(args)[0]


@pytest.mark.parametrize("xs,ids,axis", CASES)
def test_scatter_add_on_threads_matches_the_interpreter(xs, ids, axis):
    fn = _program(xs, ids, axis)
    rng = np.random.default_rng(len(xs) + axis)
    n = 300
    ishape = tuple(n if d == "N" else d for d in ids)
    size = xs[axis]
    # repeated indices, and some out of range (clamped)
    idx = rng.integers(-2, size + 2, size=ishape).astype(np.int32)
    us = tuple(xs[:axis]) + ishape + tuple(xs[axis + 1:])
    args = [rng.normal(size=xs).astype(np.float32), idx,
            rng.normal(size=us).astype(np.float32)]
    want = interpret(fn, args, env={"N": n})[0]
    one = _run(fn, args, 1)
    np.testing.assert_allclose(one, want, rtol=1e-5, atol=1e-5)
    for t in (2, 3):
        np.testing.assert_array_equal(_run(fn, args, t), one,
                                      err_msg=f"{t} threads")
