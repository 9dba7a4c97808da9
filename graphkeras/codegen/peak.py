"""The host's float32 multiply-add peak, measured: what one core can do
at best, the ceiling every "% of peak" figure divides by.

    fma_gflops()        # one thread, GFLOP/s (cached for the process)

Why measured: the count of FMA units x lanes x clock overstates cores
that run 512-bit vectors as two 256-bit halves (AMD Zen 4: 32 float32
FLOP a cycle, not 64) and understates turbo clocks, so a formula can be
off by 2x either way. The kernel is ACCUMULATORS independent chains of
vector FMAs (enough to cover the FMA latency on every current core) at
the host's widest vector; the best of a few ~5 ms runs is the figure,
so a busy moment lowers it only if every run is disturbed.
"""

from __future__ import annotations

import ctypes
import functools
import time

from llvmlite import ir

from .scalar import F32, I64
from .target import ensure_llvm, host, new_target_machine

ACCUMULATORS = 12
RUNS = 5


def _kernel_module(lanes: int) -> ir.Module:
    """float peak(i64 n, float x): n iterations of ACCUMULATORS FMAs."""
    vec = ir.VectorType(F32, lanes)
    mod = ir.Module(name="gk_peak")
    fma = ir.Function(mod, ir.FunctionType(vec, [vec, vec, vec]),
                      f"llvm.fma.v{lanes}f32")
    fn = ir.Function(mod, ir.FunctionType(F32, [I64, F32]), "gk_peak")
    n, xs = fn.args
    entry, loop, done = (fn.append_basic_block(s)
                         for s in ("entry", "loop", "done"))
    b = ir.IRBuilder(entry)
    x = b.insert_element(ir.Constant(vec, ir.Undefined), xs,
                         ir.Constant(I64, 0))
    x = b.shuffle_vector(x, ir.Constant(vec, ir.Undefined),
                         ir.Constant(ir.VectorType(ir.IntType(32), lanes),
                                     [0] * lanes))
    y = b.fadd(x, x)
    b.branch(loop)
    b.position_at_end(loop)
    i = b.phi(I64)
    accs = [b.phi(vec) for _ in range(ACCUMULATORS)]
    new = [b.call(fma, [a, x, y]) for a in accs]
    i1 = b.add(i, ir.Constant(I64, 1))
    b.cbranch(b.icmp_unsigned("<", i1, n), loop, done)
    i.add_incoming(ir.Constant(I64, 0), entry)
    i.add_incoming(i1, loop)
    for a, v in zip(accs, new):
        a.add_incoming(ir.Constant(vec, None), entry)
        a.add_incoming(v, loop)
    b.position_at_end(done)
    total = new[0]
    for v in new[1:]:  # (keeps every chain live)
        total = b.fadd(total, v)
    b.ret(b.extract_element(total, ir.Constant(I64, 0)))
    return mod


@functools.lru_cache(maxsize=1)
def fma_gflops() -> float:
    """float32 GFLOP/s of one thread running nothing but vector FMAs."""
    import llvmlite.binding as llvm

    ensure_llvm()
    lanes = max(1, host().vector_bytes // 4)
    tm = new_target_machine()
    engine = llvm.create_mcjit_compiler(
        llvm.parse_assembly(str(_kernel_module(lanes))), tm)
    engine.finalize_object()
    fn = ctypes.CFUNCTYPE(ctypes.c_float, ctypes.c_int64, ctypes.c_float)(
        engine.get_function_address("gk_peak"))
    flops_per_iter = ACCUMULATORS * lanes * 2
    n = 1000
    fn(n, 1e-9)
    while True:  # ~5 ms a run
        t0 = time.perf_counter()
        fn(n, 1e-9)
        dt = time.perf_counter() - t0
        if dt > 0.005 or n > 1 << 30:
            break
        n *= 2
    best = dt
    for _ in range(RUNS - 1):
        t0 = time.perf_counter()
        fn(n, 1e-9)
        best = min(best, time.perf_counter() - t0)
    fma_gflops.engine = engine  # (the code lives as long as the figure)
    return n * flops_per_iter / best / 1e9
