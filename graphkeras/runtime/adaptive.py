"""Thread counts that never hurt: each executable, per batch size, times
its steps on one thread and on all of them and keeps the faster.

    chooser = ThreadChooser(max_threads)
    n = chooser.pick()              # threads for the next step
    ... run the step on n threads ...
    if chooser.timed:
        chooser.report(n, seconds)  # how long it took (per step)
    else:
        n, k = chooser.lease()      # the next k steps: n threads, untimed

Why: on a machine where other programs keep cores busy, a step on two
threads waits for a thread the scheduler has taken off its core, and can
be slower than the same step on one thread (measured on 2 cores with one
busy process: W1 25.8k samples/s on 2 threads, 27.4k on 1). Which is
faster changes with the machine's load, so the choice is measured, not
guessed, and measured again as the run goes on.

Policy: the first steps run each candidate (max_threads, then 1) in
turn until it has WARMUP timings; after that the faster by the median of
its last WARMUP timings runs, and every `interval` steps the other
candidate runs WARMUP timed steps in a row and is compared again. The
first SETTLE steps after a change of count are not timed: the workers of
a pool that ran nothing for a while are asleep, and waking them costs
more than a small step (W4's MLP at batch 1 after 200 one-thread steps:
two-thread steps of 78, 35, then 18-21 us; timed from the first, one
thread won every comparison and stayed, at 27 us a step). The very first
steps on several threads settle longer (COLD_SETTLE): a new pool's
workers start parked in Python and may first have to move off the
caller's CPU (codegen/work_sharing.py); W4 at batch 1 from a fresh
process took 180-320, 30-60, 21-38 us, and ~17-25 from the 8th step, and
timed from the 3rd, two threads lost the first comparison in 5 of 5
processes (medians 54-90 us). The interval starts at EXPLORE steps and doubles
(up to MAX_EXPLORE) each time the other is timed and found slower, so a
clear choice costs little (the slower count runs once in MAX_EXPLORE
steps), and goes back to EXPLORE when the choice flips, so a change in
load is followed. Medians are computed only when such a burst ends, so
a step costs a counter and an append.

Results do not depend on the choice: every kernel computes each element
within one work unit, in an order independent of the thread count
(codegen/step_module.py), so the numbers are those of any fixed count.
`CompiledExecutable.fixed_threads` (or GRAPHKERAS_NUM_THREADS=1) turns
the choice off.

SpinPolicy, the other half of threads that never hurt: how long a
waiting thread spins before it sleeps, from samples of the machine's
load (long spins when every runnable task has a core; the library's
short ones otherwise). The thread pool samples it every few jobs
(runtime/thread_pool.py) and writes the budgets where the native waits
read them (codegen/work_sharing.py).
"""

from __future__ import annotations

import os
import statistics
from collections import deque

WARMUP = 3  # timings of each candidate before choosing
SETTLE = 2  # untimed steps after each change of thread count
COLD_SETTLE = 8  # ... the first time a count of several threads runs
WINDOW = 7  # timings kept per candidate
EXPLORE = 16  # one step in EXPLORE runs the candidate not chosen...
MAX_EXPLORE = 512  # ... one in up to this many once the choice is clear


class ThreadChooser:
    def __init__(self, max_threads: int):
        self.candidates = (max_threads, 1) if max_threads > 1 else (1,)
        self.times = {n: deque(maxlen=WINDOW) for n in self.candidates}
        self.steps = 0
        self.current = self.candidates[0]
        self.interval = EXPLORE
        self._since = 0  # steps since the other candidate last ran
        self._burst = 0  # steps of the other candidate still to run
        self._ready = False  # both candidates timed WARMUP times
        self._last = 0  # the count of the previous step (0: none yet)
        self._settle = 0  # untimed steps still to run on that count
        self.timed = True  # report() the step pick() just chose

    def _other(self) -> int:
        a, b = self.candidates
        return b if self.current == a else a

    def pick(self) -> int:
        """The thread count for the next step; `timed` says whether the
        caller must report its time (the steady state times only the
        WARMUP steps before each burst of the other count: those are the
        timings a decision reads)."""
        if len(self.candidates) == 1:
            self.timed = False
            return self.candidates[0]
        n = self._pick()
        if n != self._last:
            cold = n > 1 and not self.times[n]  # (never timed: a new pool)
            self._last, self._settle = n, COLD_SETTLE if cold else SETTLE
        if self._settle:  # a settling step: not timed
            self._settle -= 1
            self.timed = False
        return n

    def _pick(self) -> int:
        self.steps += 1
        self.timed = True
        if not self._ready:
            want = [n for n in self.candidates if len(self.times[n]) < WARMUP]
            if want:
                return want[0]
        if self._burst:
            self._burst -= 1
            return self._other()
        self._since += 1
        if self._since >= self.interval:  # the other: settle, WARMUP timed
            self._since = 0
            self._burst = SETTLE + WARMUP - 1
            return self._other()
        self.timed = self._since >= self.interval - WARMUP
        return self.current

    def lease(self) -> tuple:
        """(n, k) after a pick() that was not timed: the next k steps run
        on n threads untimed too, counted here as picked already (the
        caller runs them without calling pick(): a step of a latency-bound
        predict costs no chooser bookkeeping), then pick() again."""
        if len(self.candidates) == 1 or not self._ready or self._burst:
            return self.current, 0
        k = max(0, self.interval - WARMUP - 1 - self._since)
        if k:
            self._settle = 0  # (settled by then: k steps on this count)
        self._since += k
        self.steps += k
        return self.current, k

    def report(self, nthreads: int, seconds: float) -> None:
        """The time one step took on `nthreads` threads."""
        t = self.times.get(nthreads)
        if t is None:
            return
        t.append(seconds)
        if self._ready:
            if nthreads == self.current or self._burst:
                return  # (decide only when a burst of the other ends)
        elif any(len(v) < WARMUP for v in self.times.values()):
            return
        self._ready = True
        # the last WARMUP timings of each (the other's are all fresh)
        recent = {n: statistics.median(list(v)[-WARMUP:])
                  for n, v in self.times.items()}
        best = min(self.candidates, key=recent.__getitem__)
        if best != self.current:
            self.current = best
            self.interval = EXPLORE
        elif nthreads != self.current:  # timed again and still slower
            self.interval = min(2 * self.interval, MAX_EXPLORE)

    def __repr__(self) -> str:
        med = {n: (round(statistics.median(v) * 1e6) if v else None)
               for n, v in self.times.items()}
        return f"ThreadChooser(current={self.current}, median_us={med})"


# --- how long waiting threads spin ------------------------------------------

# Spin budgets (cycles) of a machine with a core for each thread: waits
# inside a step (W1's step waits a few times a step for a unit of 10-50 us
# that one thread runs; sleeping on a futex and being woken cost more) and
# workers between two steps (fit()'s Python between two steps takes
# ~70-150 us). Measured on 2 cores, W1 at 2 threads: 62k samples/s with
# the library's defaults (codegen/work_sharing.py: ~15 and ~80 us), 65-67k
# with long spins. Under load the defaults stay (a spinning thread keeps a
# core that a thread holding work waits for).
QUIET_SPIN_CYCLES = 500_000
QUIET_JOB_SPIN_CYCLES = 1_500_000
# Chunks per thread of a split unit (codegen/dispatch.py): under load two
# (a thread kept off its core holds up half of its share, the others take
# the rest); on a quiet machine one, as the threads start together and
# every chunk of a column (row) split packs all of op(A) (op(B)) again.
QUIET_CHUNKS_PER_THREAD = 1
LOAD_SAMPLES = 4  # the load looks quiet when this many samples in a row do


def runnable_tasks() -> int | None:
    """Tasks runnable on the machine now (the fourth field of
    /proc/loadavg, `running/total`), None where there is no such file."""
    try:
        fd = os.open("/proc/loadavg", os.O_RDONLY)
    except OSError:
        return None
    try:
        text = os.read(fd, 128).decode("ascii", "replace")
    finally:
        os.close(fd)
    try:
        return int(text.split()[3].split("/")[0])
    except (IndexError, ValueError):
        return None


class SpinPolicy:
    """Spin budgets from samples of the machine's load.

        policy = SpinPolicy(cpus=os.cpu_count())
        step_spin, job_spin, chunks = policy.sample(runnable_tasks())

    A sample is taken while the pool's threads are running or spinning
    (right after a job), so they count themselves: the machine is quiet
    when no more tasks are runnable than it has cores. Long spins (and
    one chunk per thread) only after LOAD_SAMPLES quiet samples in a row;
    a busy sample (or none) goes back to the library's defaults at once
    (0, 0, 0)."""

    def __init__(self, cpus: int | None):
        self.cpus = cpus or 1
        self.quiet = 0  # quiet samples in a row

    def sample(self, runnable: int | None, first: bool = False) -> tuple:
        """The budgets after this sample of the runnable tasks; `first`:
        the pool's first sample, taken when it starts: a quiet one counts
        as LOAD_SAMPLES (a pool must not begin with short spins on a
        quiet machine: its workers then sleep between small steps, two
        threads look slower than one, the thread chooser keeps one, and
        with one thread no more jobs come to sample: W4 at batch 1 stayed
        at 28 us a step where long spins give 14 us)."""
        if runnable is None or runnable > self.cpus:
            self.quiet = 0
        else:
            self.quiet += LOAD_SAMPLES if first else 1
        if self.long:
            return (QUIET_SPIN_CYCLES, QUIET_JOB_SPIN_CYCLES,
                    QUIET_CHUNKS_PER_THREAD)
        return 0, 0, 0

    @property
    def long(self) -> bool:
        """Whether the last samples gave long spins."""
        return self.quiet >= LOAD_SAMPLES
