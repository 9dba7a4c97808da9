"""Thread counts that never hurt: each executable, per batch size, times
its steps on one thread and on all of them and keeps the faster.

    chooser = ThreadChooser(max_threads)
    n = chooser.pick()              # threads for the next step
    ... run the step on n threads ...
    chooser.report(n, seconds)      # how long it took (per step)

Why: on a machine where other programs keep cores busy, a step on two
threads waits for a thread the scheduler has taken off its core, and can
be slower than the same step on one thread (measured on 2 cores with one
busy process: W1 25.8k samples/s on 2 threads, 27.4k on 1). Which is
faster changes with the machine's load, so the choice is measured, not
guessed, and measured again as the run goes on.

Policy: the first steps alternate between the candidates (1 and
max_threads) until each has WARMUP timings; after that the faster by the
median of its last WINDOW timings runs, and one step in EXPLORE runs the
other candidate, so a change in load is seen within a few dozen steps.
The cost of exploring is bounded: at worst one step in EXPLORE runs at
the slower count.

Results do not depend on the choice: every kernel computes each element
within one work unit, in an order independent of the thread count
(codegen/step_module.py), so the numbers are those of any fixed count.
`CompiledExecutable.fixed_threads` (or GRAPHKERAS_NUM_THREADS=1) turns
the choice off.
"""

from __future__ import annotations

import statistics
from collections import deque

WARMUP = 3  # timings of each candidate before choosing
WINDOW = 7  # timings kept per candidate
EXPLORE = 16  # one step in EXPLORE runs the candidate not chosen


class ThreadChooser:
    def __init__(self, max_threads: int):
        self.candidates = (max_threads, 1) if max_threads > 1 else (1,)
        self.times = {n: deque(maxlen=WINDOW) for n in self.candidates}
        self.steps = 0
        self.current = self.candidates[0]

    def pick(self) -> int:
        """The thread count for the next step."""
        if len(self.candidates) == 1:
            return self.candidates[0]
        self.steps += 1
        want = [n for n in self.candidates if len(self.times[n]) < WARMUP]
        if want:
            return want[self.steps % len(want)]
        if self.steps % EXPLORE == 0:
            return next(n for n in self.candidates if n != self.current)
        return self.current

    def report(self, nthreads: int, seconds: float) -> None:
        """The time one step took on `nthreads` threads."""
        t = self.times.get(nthreads)
        if t is None:
            return
        t.append(seconds)
        if all(len(v) >= WARMUP for v in self.times.values()):
            self.current = min(self.candidates,
                               key=lambda n: statistics.median(self.times[n]))

    def __repr__(self) -> str:
        med = {n: (round(statistics.median(v) * 1e6) if v else None)
               for n, v in self.times.items()}
        return f"ThreadChooser(current={self.current}, median_us={med})"
