"""A job of the thread pool is over when gk_run returns (codegen/
work_sharing.py, ctl[ADMIT_WORD]): thread 0 waits for the workers inside
the job's entry to leave, and a worker that reads the job after thread
0's part is done never enters it. Before this, a worker that a busy
machine kept off its core between reading a job and entering it ran the
job late, on a slot table the executable had already freed (a segfault
in CI under load).

And a worker that picks up a job on the CPU its caller posted it from
moves to another CPU first (Linux): Linux wakes a futex sleeper near its
waker, and a worker left queued behind a caller that runs steps back to
back did none of the work.

The entries here are ctypes callbacks, so the test decides when each
thread is inside."""

from __future__ import annotations

import ctypes
import os
import sys
import threading
import time

import numpy as np
import pytest

from graphkeras.codegen.jit import threads_native
from graphkeras.codegen.work_sharing import ADMIT_COUNT, ADMIT_WORD, CTL_WORDS
from graphkeras.runtime.state import aligned_empty

_ENTRY = ctypes.CFUNCTYPE(None, ctypes.c_int64, ctypes.c_int64,
                          ctypes.c_void_p)


def _ctl():
    ctl = aligned_empty((CTL_WORDS,), np.int64)
    ctl[:] = 0
    return ctl


def _worker(native, ctl, tid, nthreads, returned):
    def run():
        returned.append(native.worker(tid, nthreads, ctl.ctypes.data))
    th = threading.Thread(target=run, daemon=True)
    th.start()
    return th


def _stop(native, ctl, threads, nthreads):
    native.post(ctl.ctypes.data, nthreads, 0, 2, 0, 0, 0)  # the exit job
    for th in threads:
        th.join(timeout=10)
        assert not th.is_alive()


def _two_thread_job(native, ctl, worker_cpus=None, calls=None):
    """One job of two threads; thread 0 returns once the worker is in.
    Records the threads that entered (calls) and the CPU the worker
    picked the job up on (worker_cpus; ctl[34 + 8], after any move: the
    callback itself may run elsewhere, as taking the GIL can put the
    worker to sleep and wake it on another CPU)."""
    inside = threading.Event()

    def entry(tid, nth, blocks):
        if calls is not None:
            calls.append(tid)
        if tid == 0:
            assert inside.wait(10)
        else:
            inside.set()

    cb = _ENTRY(entry)
    addr = ctypes.cast(cb, ctypes.c_void_p).value
    native.post(ctl.ctypes.data, 2, addr, 0, 0, 1, 0)
    native.run(ctl.ctypes.data, 2, addr, 0, 0, 1, 0)
    if worker_cpus is not None:
        worker_cpus.append(int(ctl[34 + 8]))


def test_run_returns_only_after_the_workers_left_the_entry():
    native, ctl = threads_native(), _ctl()
    inside = threading.Event()
    log = []

    def entry(tid, nth, blocks):
        if tid == 0:
            # thread 0 finishes its part only once the worker is inside
            assert inside.wait(10)
            log.append(("thread 0 done", time.monotonic()))
        else:
            inside.set()
            time.sleep(0.2)  # a worker still inside the entry
            log.append(("worker left", time.monotonic()))

    cb = _ENTRY(entry)
    addr = ctypes.cast(cb, ctypes.c_void_p).value
    returned = []
    th = _worker(native, ctl, 1, 2, returned)
    native.post(ctl.ctypes.data, 2, addr, 0, 0, 1, 0)
    native.run(ctl.ctypes.data, 2, addr, 0, 0, 1, 0)
    back = time.monotonic()
    names = [name for name, _ in log]
    assert names == ["thread 0 done", "worker left"]
    assert log[1][1] <= back  # gk_run waited for the worker
    assert ctl[ADMIT_WORD] & ADMIT_COUNT == 0
    _stop(native, ctl, [th], 2)
    assert returned == [0]


def test_a_worker_that_reads_a_finished_job_does_not_enter_it():
    native, ctl = threads_native(), _ctl()
    calls = []
    cb = _ENTRY(lambda tid, nth, blocks: calls.append(tid))
    addr = ctypes.cast(cb, ctypes.c_void_p).value
    # the job is posted and run by thread 0 alone before the worker looks
    native.post(ctl.ctypes.data, 2, addr, 0, 0, 1, 0)
    native.run(ctl.ctypes.data, 2, addr, 0, 0, 1, 0)
    assert calls == [0]
    returned = []
    th = _worker(native, ctl, 1, 2, returned)  # a late worker: sees job 1
    time.sleep(0.05)
    assert calls == [0]
    # the next job admits it again
    _two_thread_job(native, ctl, calls=calls)
    assert sorted(calls[1:]) == [0, 1]
    _stop(native, ctl, [th], 2)
    assert returned == [0]


@pytest.mark.skipif(not sys.platform.startswith("linux")
                    or len(os.sched_getaffinity(0)) < 2,
                    reason="needs Linux and two CPUs this process may use")
def test_a_worker_on_its_callers_cpu_moves_off_it():
    native, ctl = threads_native(), _ctl()
    ctl[34::8] = -1
    allowed = os.sched_getaffinity(0)
    c0 = min(allowed)
    returned, cpus = [], []
    th = _worker(native, ctl, 1, 2, returned)
    try:
        # caller and worker both on c0; the worker cannot move off yet
        os.sched_setaffinity(0, {c0})
        os.sched_setaffinity(th.native_id, {c0})
        _two_thread_job(native, ctl, cpus)
        assert cpus == [c0]
        # the worker may run anywhere again, but sits on the caller's CPU
        os.sched_setaffinity(th.native_id, allowed)
        for _ in range(3):
            _two_thread_job(native, ctl, cpus)
        assert all(c != c0 for c in cpus[1:]), cpus
        assert os.sched_getaffinity(th.native_id) == allowed  # (put back)
    finally:
        os.sched_setaffinity(0, allowed)
    _stop(native, ctl, [th], 2)
    assert returned == [0]
