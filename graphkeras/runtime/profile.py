"""Per-kernel profiles of compiled steps: time, GFLOP/s and % of peak.

    prof = exe.profile([x, y], repeats=20)    # CompiledExecutable.profile
    print(prof.table())

The native step adds the cycles each kernel takes to profile[t + 1]
(summed over the threads that ran its chunks) and the whole step's, as
thread 0 saw it, to profile[0] (codegen/step_module.py), and with several
threads the cycles thread t waits for the others (between units and at
the end) to profile[1 + kernels + t] (`Profile.waits`, in the table's
head). The counter's rate is
calibrated once per process against time.perf_counter across a 20 ms
sleep. A kernel's time is the median over the runs (a kernel cut into
chunks: its threads' cycles divided by the thread count) (`fastest`: the minimum, what a quiet machine gives); its
floating-point operations are counted from the IR by each op's rule
(OpDef.flops: a product 2MNK, an elementwise op one per element it
produces, a reduction one per element it reads, softmax five per element,
a conv its multiply-adds; the count `graphkeras inspect` prints), so
GFLOP/s compares kernels of every kind and the % of peak says how far a
product is from the machine's limit.

Peak: threads x one thread's float32 FMA throughput, measured once per
process (codegen/peak.py: a formula of FMA units x lanes x nominal clock
is 2x off on cores that split 512-bit vectors in halves, and misses
turbo).
"""

from __future__ import annotations

import functools
import statistics
import time
from dataclasses import dataclass

import numpy as np

from ..codegen.work_sharing import MAX_THREADS
from ..ir.registry import node_flops

@dataclass(frozen=True)
class KernelTime:
    index: int
    label: str
    seconds: float  # median over the runs
    fastest: float
    flops: int
    loc: str

    @property
    def gflops(self) -> float:
        return self.flops / self.seconds / 1e9 if self.seconds > 0 else 0.0


@dataclass(frozen=True)
class Profile:
    name: str
    env: dict
    threads: int
    runs: int
    step_seconds: float  # median of whole steps (kernels only)
    peak_gflops: float  # for `threads` threads
    kernels: tuple
    # per thread, the median time a step spent waiting for other threads
    # (at the waits between units and at the end)
    waits: tuple = ()

    def __len__(self) -> int:
        return len(self.kernels)

    def __iter__(self):
        return iter(self.kernels)

    def percent_of_peak(self, k: KernelTime) -> float:
        return 100.0 * k.gflops / self.peak_gflops if self.peak_gflops else 0.0

    def table(self, top: int | None = None) -> str:
        sizes = ", ".join(f"{s}={n}" for s, n in sorted(self.env.items()))
        total_flops = sum(k.flops for k in self.kernels)
        head = (f"profile: @{self.name}{' (' + sizes + ')' if sizes else ''}, "
                f"{self.threads} thread{'s' if self.threads > 1 else ''}, "
                f"{self.runs} runs: step {self.step_seconds * 1e3:.3f} ms "
                f"(median), {total_flops / max(self.step_seconds, 1e-12) / 1e9:.1f}"
                f" GFLOP/s; peak {self.peak_gflops:.1f} GFLOP/s")
        if self.threads > 1 and self.waits:
            head += "; waiting " + ", ".join(
                f"thread {t} {w * 1e6:.1f} us" for t, w in
                enumerate(self.waits[:self.threads]))
        rows = sorted(self.kernels, key=lambda k: -k.seconds)
        if top is not None:
            rows = rows[:top]
        total = sum(k.seconds for k in self.kernels) or 1e-12
        cells = [(f"k{k.index} {k.label}", f"{k.seconds * 1e6:.1f}",
                  f"{k.fastest * 1e6:.1f}", f"{100 * k.seconds / total:.1f}%",
                  f"{k.gflops:.1f}", f"{self.percent_of_peak(k):.0f}%",
                  k.loc) for k in rows]
        header = ("kernel", "us", "min us", "share", "GFLOP/s", "% peak",
                  "layer")
        widths = [max(len(str(r[i])) for r in [header, *cells])
                  for i in range(len(header))]
        lines = [head]
        for r in [header, *cells]:
            first = str(r[0]).ljust(widths[0])
            rest = [str(c).rjust(w) for c, w in zip(r[1:-1], widths[1:-1])]
            lines.append("  " + "  ".join([first, *rest, str(r[-1])]).rstrip())
        return "\n".join(lines)


@functools.cache
def counter_rate() -> float:
    """Cycle-counter ticks per second, measured once (see the module
    docstring)."""
    from ..codegen.jit import threads_native

    tick = threads_native().clock
    t0, c0 = time.perf_counter(), tick()
    time.sleep(0.02)
    t1, c1 = time.perf_counter(), tick()
    return (c1 - c0) / (t1 - t0)


def peak_gflops(threads: int) -> float:
    """The host's float32 peak on `threads` threads: one thread's measured
    FMA throughput (codegen/peak.py) times the thread count."""
    from ..codegen.peak import fma_gflops

    return threads * fma_gflops()


def kernel_label(node) -> str:
    if node.op == "fused":
        ops = "+".join(m.op for m in node.attrs["body"].nodes
                       if m.op not in ("constant", "zeros", "ones"))
        label = f"fused({ops})"
    else:
        label = node.op
    return label + " -> " + ", ".join(str(o.type) for o in node.outputs)


def kernel_flops(node, env: dict) -> int:
    """Floating-point operations of one kernel at sizes env: its op's rule
    (OpDef.flops, the count `graphkeras inspect` prints too)."""
    return node_flops(node, env)

class KernelRecorder:
    """Accumulates the cycles of every kernel of `exe` over the steps run
    between `start()` and `stop()` (the steps a program runs anyway: the
    TensorBoard callback's `profile_batch` records real training batches).

        rec = KernelRecorder(exe); rec.start(); exe.run(inputs); rec.stop()
        prof = rec.profile()
    """

    def __init__(self, exe):
        self.exe = exe
        # the step, each kernel, each thread's waiting (dispatch._shared)
        self._buf = np.zeros(len(exe.layout.kernels) + 1 + MAX_THREADS,
                             np.int64)
        self._runs: list = []
        self._before = None

    def start(self) -> None:
        self._before = self._buf.copy()
        self.exe._block[self.exe.native_layout.profile_slot] = \
            self._buf.ctypes.data

    def stop(self) -> None:
        self.exe._block[self.exe.native_layout.profile_slot] = 0
        if self._before is not None:
            self._runs.append(self._buf - self._before)
            self._before = None

    def profile(self) -> Profile:
        """Per kernel the median and fastest over the recorded stretches."""
        return _profile_of(self.exe, self._runs)


def profile_executable(exe, inputs, repeats: int) -> Profile:
    exe.run(inputs)  # warm up, plan the arena
    rec = KernelRecorder(exe)
    try:
        for _ in range(max(1, repeats)):
            rec.start()
            exe.run(inputs)
            rec.stop()  # cycles per kernel, and the step's
    finally:
        exe._block[exe.native_layout.profile_slot] = 0
    return rec.profile()


def _profile_of(exe, per_run: list) -> Profile:
    from ..codegen.step_module import schedule, threaded

    nk = len(exe.layout.kernels)
    env = exe._planned_env or {}
    threads = exe._threads_for(env)
    rate = counter_rate()
    if not per_run:
        per_run = [np.zeros(nk + 1 + MAX_THREADS, np.int64)]
    cycles = np.array(per_run, dtype=np.float64) / rate  # runs x (1 + kernels)
    # a kernel cut into chunks is summed over the threads that ran them:
    # divided by the threads, an estimate of its share of the step
    split = [False] * nk
    for ks, sequential in schedule(exe.layout):
        if len(ks) == 1 and not sequential:
            split[ks[0]] = threaded(exe.layout.kernels[ks[0]])
    rows = []
    for t, node in enumerate(exe.layout.kernels):
        col = cycles[:, t + 1] / (threads if split[t] else 1)
        rows.append(KernelTime(t, kernel_label(node), float(np.median(col)),
                               float(col.min()), kernel_flops(node, env),
                               node.loc or ""))
    waits = tuple(float(np.median(cycles[:, 1 + nk + t]))
                  for t in range(threads)) if threads > 1 else ()
    return Profile(exe.program.fn.name, dict(env), threads, len(per_run),
                   float(statistics.median(cycles[:, 0])), peak_gflops(threads),
                   tuple(rows), waits)
