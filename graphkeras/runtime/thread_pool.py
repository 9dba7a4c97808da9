"""The thread pool that runs native steps on every core.

    pool = thread_pool()          # process-wide, GRAPHKERAS_NUM_THREADS
    with pool.job(nthreads) as n: # n threads granted (1 if the pool is busy)
        pool.run(entry_address, kind, blocks, k, stride, n)
                                  # the calling thread is thread 0

Workers are Python threads that call the native worker loop
(codegen/threads.py) with the GIL released: between jobs they wait in
native code (spinning briefly, then yielding), and after a few
milliseconds without work they park on an Event, so an idle process uses
no CPU. `post` publishes a job in the control block and wakes the parked
workers it needs.

Invariants:
- One job at a time: `job()` holds the pool's lock for the whole native
  call; a caller that finds the pool busy runs single-threaded instead of
  waiting (two executables called from two Python threads never block each
  other, and never share the barrier).
- The control block is allocated once and never moves; the native code of
  every program reads its address from the slot table.
- Workers are daemon threads; at exit an exit job is posted and they
  return.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import threading
import weakref

import numpy as np

from .. import config
from .state import aligned_empty

_POOL = None
_POOL_LOCK = threading.Lock()


def default_threads() -> int:
    """GRAPHKERAS_NUM_THREADS, else the cores this process may run on."""
    from ..codegen.threads import MAX_THREADS

    return max(1, min(config.num_threads(), MAX_THREADS))


class ThreadPool:
    def __init__(self, nthreads: int):
        from ..codegen.jit import threads_native
        from ..codegen.threads import CTL_WORDS

        self.size = nthreads
        self.native = threads_native()
        self.ctl = aligned_empty((CTL_WORDS,), np.int64)
        self.ctl[:] = 0
        self.ctl[32::8][1:nthreads] = 1  # workers start parked (in Python)
        self.ctl_addr = self.ctl.ctypes.data
        self._lock = threading.Lock()
        self._events = [threading.Event() for _ in range(nthreads)]
        self._threads = []
        self._closed = False
        self._kept: dict = {}  # id(module) -> (weakref to owner, module)
        for t in range(1, nthreads):
            th = threading.Thread(target=self._work, args=(t,), daemon=True,
                                  name=f"graphkeras-worker-{t}")
            th.start()
            self._threads.append(th)

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
        granted (1 when the pool is busy or nthreads <= 1)."""
        n = min(nthreads, self.size)
        if n <= 1 or self._closed or not self._lock.acquire(blocking=False):
            yield 1
            return
        try:
            yield n
        finally:
            self._lock.release()

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
        returns when every unit of the job is done. `keep` = (owner,
        native module): the module stays loaded after its owner is gone
        until no worker is inside any job's code any more (a worker may
        still be leaving the last one)."""
        if keep is not None and id(keep[1]) not in self._kept:
            self._kept[id(keep[1])] = (weakref.ref(keep[0]), keep[1])
        if self.ctl[24] == 0 and self._kept:
            for key, (owner, _) in list(self._kept.items()):
                if owner() is None:
                    del self._kept[key]
        self.post(entry, kind, blocks, k, stride, nthreads)
        self.native.run(self.ctl_addr, nthreads, entry, kind, blocks, k, stride)

    def close(self) -> None:
        if self._closed:
            return
        with self._lock:
            self._closed = True
            self.native.post(self.ctl_addr, self.size, 0, 2, 0, 0, 0)
            for ev in self._events:
                ev.set()
        for th in self._threads:
            th.join(timeout=1.0)


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
    # a forked child has no worker threads: start a fresh pool on demand
    global _POOL
    _POOL = None


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork)
