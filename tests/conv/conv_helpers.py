"""Helpers the conv tests share: drawing spatial cases and running a
program on one, two and three threads."""

from __future__ import annotations

import numpy as np
from hypothesis import strategies as st

from graphkeras import ir
from graphkeras.ir.ops.conv import out_length


def draw_spatial(draw, kernel, strides, dilation, limit: int) -> tuple:
    """(input sizes, pads, output sizes) per spatial axis: each axis
    "valid", "same" or explicit pads, inputs from a little under the
    dilated window up to `limit`."""
    sizes, pads = [], []
    for k, s, d in zip(kernel, strides, dilation):
        eff = (k - 1) * d + 1
        i = draw(st.integers(max(eff - 2, 1), limit))
        mode = draw(st.sampled_from(["valid", "same", "explicit"]))
        if mode == "valid" or i < eff and mode != "explicit":
            i = max(i, eff)
            lo = hi = 0
        elif mode == "same":
            total = max((-(-i // s) - 1) * s + eff - i, 0)
            lo, hi = total // 2, total - total // 2
        else:
            lo, hi = draw(st.integers(0, 2)), draw(st.integers(0, 2))
            i = max(i, eff - lo - hi)
        sizes.append(i)
        pads.append((lo, hi))
    outs = [out_length(i, k, s, d, lo, hi) for i, k, s, d, (lo, hi)
            in zip(sizes, kernel, strides, dilation, pads)]
    return sizes, pads, outs


def check_identical_across_threads(fn, batch: int) -> None:
    """Compile `fn` (float32 arguments, batch `batch`), run it on one, two
    and three threads: the results equal the reference interpreter (to
    float32 sums, relative to the scale) and each other to the bit."""
    from graphkeras.runtime import Program, StateStore
    from graphkeras.runtime.compiled import CompiledExecutable

    names = tuple(p.name for p in fn.params)
    prog = Program(fn, state=(), inputs=names, updates=(),
                   outputs=tuple(range(len(fn.results))))
    exe = CompiledExecutable(prog, StateStore(), threads=1)
    rng = np.random.default_rng(5)
    args = [rng.normal(size=p.type.concrete_shape({"N": batch}))
            .astype(np.float32) for p in fn.params]
    results = []
    for t in (1, 2, 3):
        exe.fixed_threads = t
        results.append(exe.run(args))
    want = ir.interpret(fn, args)
    for a, w in zip(results[0], want):
        np.testing.assert_allclose(a, w, rtol=1e-4,
                                   atol=1e-5 * float(np.abs(w).max()))
    for other in results[1:]:
        for a, c in zip(results[0], other):
            np.testing.assert_array_equal(a, c)
