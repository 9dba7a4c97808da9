"""The thread pool that runs native steps on every core.

    pool = thread_pool()          # process-wide, GRAPHKERAS_NUM_THREADS
    if not pool.launch(entry_address, kind, blocks, k, stride, nthreads):
        ...                       # the pool is busy: run it alone
                                  # (the calling thread is thread 0)

Workers are Python threads that call the native worker loop
(codegen/work_sharing.py) with the GIL released: between jobs they wait in
native code (spinning, then sleeping on a futex that `post` wakes), and
after ~0.1 s without work they park on an Event, so an idle process uses
no CPU. How long threads spin before sleeping (~80 us between jobs, ~15
us inside a step, by default) follows the machine's load, sampled every
SAMPLE_EVERY jobs (runtime/adaptive.py SpinPolicy: longer spins when
every runnable task has a core). `post` publishes a job in the control
block and wakes the parked workers it needs.

Invariants:
- One job at a time: the pool is taken through a native word (ctl[8],
  codegen/work_sharing.py BUSY) by gk_launch, and by `job()` after the
  pool's Python lock; a caller that finds the pool busy runs
  single-threaded instead of waiting (two executables called from two
  Python threads never block each other, and never share the barrier).
- The control block is allocated once and never moves; the native code of
  every program reads its address from the slot table.
- Workers are daemon threads; at exit an exit job is posted and they
  return. `close` never blocks for long: it waits at most CLOSE_TIMEOUT
  for the pool's lock and for each worker.
- Ctrl-C: a job (taking the lock, posting, thread 0's part, releasing)
  runs with SIGINT deferred when called on the main thread
  (`_DeferInterrupts`): a KeyboardInterrupt at any point is raised once the
  job is over and the lock is free, never between taking the lock and its
  `try`, nor between posting a job and running thread 0's part (workers
  would wait for thread 0 forever). The native call cannot be interrupted
  anyway, so this delays Ctrl-C by at most one step.
- fork: a child has no workers and must not inherit a lock held by a
  parent's thread: the at-fork hook drops the pool (a new one is made on
  demand) and gives the module locks fresh objects.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import signal
import threading
import time
import weakref

import numpy as np

from .. import flags
from .adaptive import SpinPolicy, runnable_tasks
from .state import aligned_empty

_POOL = None
_POOL_LOCK = threading.Lock()
CLOSE_TIMEOUT = 2.0  # seconds close() waits for the lock, then per worker
SAMPLE_EVERY = 32  # jobs between two samples of the machine's load


class _DeferInterrupts:
    """Hold SIGINT back for the block (on the main thread; elsewhere a
    no-op, as Python delivers signals to the main thread only), then
    deliver it to the handler that was installed.

    NOTE: the handler is swapped first thing in __enter__: a signal that
    arrives after the swap runs `_record`, whatever bytecode it lands on,
    so no KeyboardInterrupt can split the block."""

    __slots__ = ("old", "got")

    def __enter__(self):
        self.old = None
        self.got = None
        if threading.current_thread() is threading.main_thread():
            try:
                old = signal.getsignal(signal.SIGINT)
                if callable(old):
                    self.old = signal.signal(signal.SIGINT, self._record)
            except (ValueError, OSError):  # not the main interpreter
                self.old = None
        return self

    def _record(self, signum, frame):
        self.got = (signum, frame)

    def __exit__(self, *exc):
        if self.old is not None:
            signal.signal(signal.SIGINT, self.old)
            if self.got is not None:
                self.old(*self.got)  # raises KeyboardInterrupt by default
        return False


def default_threads() -> int:
    """GRAPHKERAS_NUM_THREADS, else the cores this process may run on."""
    from ..codegen.work_sharing import MAX_THREADS

    return max(1, min(flags.num_threads(), MAX_THREADS))


class ThreadPool:
    def __init__(self, nthreads: int):
        from ..codegen.jit import threads_native
        from ..codegen.work_sharing import CTL_WORDS

        self.size = nthreads
        self.native = threads_native()
        self.ctl = aligned_empty((CTL_WORDS,), np.int64)
        self.ctl[:] = 0
        self.ctl[32::8][1:nthreads] = 1  # workers start parked (in Python)
        self.ctl[34::8][:nthreads] = -1  # (no worker has run a job yet)
        self.ctl_addr = self.ctl.ctypes.data
        self._lock = threading.Lock()
        self._events = [threading.Event() for _ in range(nthreads)]
        self._threads = []
        self._closed = False
        self._kept: dict = {}  # id(module) -> (weakref to owner, module)
        self._spins = SpinPolicy(os.cpu_count())
        self._jobs = 0  # jobs run, for sampling the load
        for t in range(1, nthreads):
            th = threading.Thread(target=self._work, args=(t,), daemon=True,
                                  name=f"graphkeras-worker-{t}")
            th.start()
            self._threads.append(th)
        self._sample_load(first=True)

    def _work(self, tid: int) -> None:
        ev = self._events[tid]
        worker = self.native.worker
        while True:
            ev.wait()
            ev.clear()
            if self._closed:
                return
            if worker(tid, self.size, self.ctl_addr) == 0:
                return

    @contextlib.contextmanager
    def job(self, nthreads: int):
        """Hold the pool for one native call; yields the number of threads
        granted (1 when the pool is busy or nthreads <= 1). SIGINT is
        deferred to the end of the block (see the module docstring)."""
        n = min(nthreads, self.size)
        if n <= 1 or self._closed:
            yield 1
            return
        with _DeferInterrupts():
            got = busy = False
            try:
                got = self._lock.acquire(blocking=False)
                busy = got and self.native.try_acquire(self.ctl_addr) == 1
                yield n if busy else 1
            finally:
                if busy:
                    self.native.release(self.ctl_addr)
                if got:
                    self._lock.release()

    def keep(self, owner, module) -> None:
        """Keep `module` loaded after `owner` is gone until no worker is
        reading any job's fields (ctl[24]: a worker reads a job's entry
        address before its admission check, codegen/work_sharing.py; none
        is inside a job's code once gk_run has returned); modules of dead
        owners are dropped when none is."""
        if id(module) in self._kept:
            return
        self._kept[id(module)] = (weakref.ref(owner), module)
        self._drop_kept()

    def _drop_kept(self) -> None:
        if self.ctl[24] == 0 and self._kept:
            for key, (owner, _) in list(self._kept.items()):
                if owner() is None:
                    del self._kept[key]

    def launch(self, entry: int, kind: int, blocks: int, k: int, stride: int,
               nthreads: int) -> bool:
        """Run the job on min(nthreads, size) threads, the calling thread
        as thread 0; False (nothing run) when the pool is busy or closed:
        the caller runs the job alone. Modules whose code workers run must
        be registered with `keep` first."""
        n = min(nthreads, self.size)
        if n <= 1 or self._closed:
            return False
        got = self.native.launch(self.ctl_addr, n, entry, kind, blocks, k,
                                 stride)
        if got == 0:
            self.count_job()
            return True
        if got == -1:
            return False
        # a worker is parked on its Event: the slow path wakes it
        with self.job(n) as granted:
            if granted > 1:
                self.run(entry, kind, blocks, k, stride, granted)
                return True
        return False

    def count_job(self) -> None:
        """One more job launched (every SAMPLE_EVERY jobs the load is
        sampled: a sample costs ~10 us, sampling every job of a
        latency-bound step doubled it); launches made in native code by
        an executable's own entry (gk_call_threads) count themselves here
        too."""
        self._jobs += 1
        if self._jobs % SAMPLE_EVERY == 0:
            self._sample_load()

    def _sample_load(self, first: bool = False) -> None:
        """Set the spin budgets and the chunks per thread (ctl words the
        native step reads) from a sample of the machine's load, taken
        right after a job, while the workers spin for the next one (they
        count as runnable)."""
        from ..codegen.work_sharing import CHUNKS_WORD, JOB_SPIN_WORD, SPIN_WORD

        step, job, chunks = self._spins.sample(runnable_tasks(), first)
        self.ctl[SPIN_WORD] = step
        self.ctl[JOB_SPIN_WORD] = job
        self.ctl[CHUNKS_WORD] = chunks

    def post(self, entry: int, kind: int, blocks: int, k: int, stride: int,
             nthreads: int) -> None:
        """Publish a job for threads 1..nthreads-1 (call inside job())."""
        parked = self.native.post(self.ctl_addr, nthreads, entry, kind, blocks,
                                  k, stride)
        for t in range(1, nthreads):
            if parked >> t & 1:
                self._events[t].set()

    def run(self, entry: int, kind: int, blocks: int, k: int, stride: int,
            nthreads: int, keep=None) -> None:
        """Post the job and run thread 0's part (call inside job()); it
        returns when every unit of the job is done and no worker is
        inside its entry any more. `keep` = (owner, native module): the
        module stays loaded after its owner is gone until no worker reads
        any job's fields (`keep`)."""
        if keep is not None:
            self.keep(*keep)
        self._drop_kept()
        self.post(entry, kind, blocks, k, stride, nthreads)
        self.native.run(self.ctl_addr, nthreads, entry, kind, blocks, k, stride)

    def close(self) -> None:
        """Stop the workers. Never blocks for long: when the lock stays
        held (a job that never ends) the pool is only marked closed and the
        daemon workers are left to the interpreter's exit."""
        if self._closed:
            return
        got = busy = False
        try:
            got = self._lock.acquire(timeout=CLOSE_TIMEOUT)
            self._closed = True  # (no launch takes the pool from now on)
            if got:  # wait for a launched job to end
                end = time.monotonic() + CLOSE_TIMEOUT
                while not (busy := self.native.try_acquire(self.ctl_addr)):
                    if time.monotonic() > end:
                        break
                    time.sleep(0.001)
            if busy:
                self.native.post(self.ctl_addr, self.size, 0, 2, 0, 0, 0)
            for ev in self._events:
                ev.set()
        finally:
            if busy:
                self.native.release(self.ctl_addr)
            if got:
                self._lock.release()
        if busy:
            for th in self._threads:
                th.join(timeout=CLOSE_TIMEOUT)


def thread_pool(min_size: int = 0) -> ThreadPool:
    """The process-wide pool (created on first use with
    GRAPHKERAS_NUM_THREADS threads, or recreated larger when a caller asks
    for more, as tests of 3 threads on 2 cores do)."""
    global _POOL
    pool = _POOL
    if pool is None or pool.size < min_size:
        with _POOL_LOCK:
            if _POOL is None or _POOL.size < min_size:
                old = _POOL
                _POOL = ThreadPool(max(default_threads(), min_size))
                atexit.register(_POOL.close)
                if old is not None:
                    old.close()
            pool = _POOL
    return pool


def _after_fork() -> None:
    # a forked child has no worker threads: start a fresh pool on demand;
    # a lock a parent's thread held at the fork would stay held forever
    global _POOL, _POOL_LOCK
    _POOL = None
    _POOL_LOCK = threading.Lock()
    from ..codegen import cache, jit

    jit._LIBRARY_LOCK = threading.Lock()
    cache._LOCK = threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork)
