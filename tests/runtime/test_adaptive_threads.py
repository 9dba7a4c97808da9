"""The thread count chosen by timing (runtime/adaptive.py): the policy on
made-up timings, and a training run whose steps switch between one and
two threads giving exactly the numbers of one thread."""

from __future__ import annotations

import numpy as np
from train_programs import init_store, mlp_train_program, teacher_batches

from graphkeras.runtime import compiled
from graphkeras.runtime.adaptive import (COLD_SETTLE, EXPLORE, SETTLE, WARMUP,
                                         ThreadChooser)
from graphkeras.runtime.compiled import CompiledExecutable


def _drive(chooser, cost, steps, timed=None):
    picked = []
    for _ in range(steps):
        n = chooser.pick()
        if chooser.timed:  # the protocol: report only the timed steps
            chooser.report(n, cost[n])
            if timed is not None:
                timed.append(n)
        picked.append(n)
    return picked


def test_chooser_keeps_the_faster_count_and_keeps_checking_the_other():
    ch = ThreadChooser(2)
    picked = _drive(ch, {1: 1.0, 2: 2.0}, 10 * EXPLORE)
    # each timed first (after its settling steps)
    # (the first steps on two threads settle longer: a cold pool)
    first = COLD_SETTLE + SETTLE + 2 * WARMUP
    assert picked[:first] == [2] * (COLD_SETTLE + WARMUP) + \
        [1] * (SETTLE + WARMUP)
    tail = picked[first:]
    assert ch.current == 1
    # backing off: bursts (settling steps and WARMUP timed) after 16, 32
    # and 64 steps of one thread, not one every EXPLORE steps
    assert 0 < tail.count(2) <= 3 * (SETTLE + WARMUP)
    # the load changes: two threads become the faster
    picked = _drive(ch, {1: 1.0, 2: 0.5}, 10 * EXPLORE)
    assert ch.current == 2
    assert picked[-EXPLORE:].count(2) >= EXPLORE - WARMUP - SETTLE


def test_steady_state_times_only_what_a_decision_reads():
    ch = ThreadChooser(2)
    timed = []
    _drive(ch, {1: 1.0, 2: 2.0}, 600, timed)
    assert ch.current == 1
    # warm-up, then per burst WARMUP steps of each: far fewer than 600
    assert len(timed) < 2 * WARMUP * 8, len(timed)
    # a change of load is still followed, from the timed steps alone
    _drive(ch, {1: 1.0, 2: 0.5}, 1200)
    assert ch.current == 2


def test_waking_the_workers_is_not_held_against_two_threads():
    """The first step on a count after steps on the other pays for waking
    (or cooling) the pool: it settles untimed, so two threads that are
    faster once awake win, however dear the wake-up (the old policy timed
    it and kept one thread for good: W4 at batch 1)."""
    ch = ThreadChooser(2)
    run, picked = 0, []  # two-thread steps in a row
    for _ in range(10 * EXPLORE):
        n = ch.pick()
        if n == 1:
            cost, run = 27e-6, 0
        else:  # measured: 78, 35, then 18-21 us after one-thread steps
            cost, run = 17e-6 + (80e-6, 30e-6, 0.0)[min(run, 2)], run + 1
        if ch.timed:
            ch.report(n, cost)
        picked.append(n)
    assert ch.current == 2, ch
    assert picked[-EXPLORE:].count(2) >= EXPLORE - WARMUP - SETTLE


def test_chooser_with_one_thread_never_explores():
    ch = ThreadChooser(1)
    assert _drive(ch, {1: 1.0}, 20) == [1] * 20


def test_switching_thread_counts_gives_the_numbers_of_one_thread(monkeypatch):
    monkeypatch.setattr(compiled, "MIN_PARALLEL_WORK", 0)
    prog = mlp_train_program(sizes=(70, 45, 10), optimizer="adam")
    batches = teacher_batches(prog, 20, 53)
    store1 = init_store(prog)
    exe1 = CompiledExecutable(prog, store1, threads=1)
    want = [float(exe1.run(list(b))[0]) for b in batches]
    store = init_store(prog)
    exe = CompiledExecutable(prog, store)
    exe.max_threads = 2
    got = [float(exe.run(list(b))[0]) for b in batches]
    chooser = next(iter(exe._choosers.values()))
    assert all(len(t) >= WARMUP for t in chooser.times.values())  # both ran
    assert got == want
    for k in store1.names():
        np.testing.assert_array_equal(store[k], store1[k], err_msg=k)


def _drive_leased(chooser, costs, steps):
    """The executable's protocol: after an untimed pick, lease() the next
    steps and run them without pick(); the cost model costs[i] for the
    i-th `steps` steps."""
    picked, left, n_left = [], 0, 1
    for cost in costs:
        for _ in range(steps):
            if left:
                left -= 1
                picked.append(n_left)
                continue
            n = chooser.pick()
            if chooser.timed:
                chooser.report(n, cost[n])
            else:
                n_left, left = chooser.lease()
            picked.append(n)
    return picked


def test_leased_steps_are_the_steps_pick_would_choose():
    for costs in ([{1: 1.0, 2: 2.0}, {1: 1.0, 2: 0.5}],
                  [{1: 1.0, 2: 0.5}, {1: 1.0, 2: 3.0}]):
        plain, leased = ThreadChooser(2), ThreadChooser(2)
        want = [n for cost in costs for n in _drive(plain, cost, 700)]
        got = _drive_leased(leased, costs, 700)
        assert got == want
        # and the choice followed the change of load
        assert leased.current == min(costs[-1], key=costs[-1].get)

def test_spin_policy_spins_long_only_after_quiet_samples():
    from graphkeras.runtime.adaptive import (
        LOAD_SAMPLES,
        QUIET_CHUNKS_PER_THREAD,
        QUIET_JOB_SPIN_CYCLES,
        QUIET_SPIN_CYCLES,
        SpinPolicy,
    )

    quiet = (QUIET_SPIN_CYCLES, QUIET_JOB_SPIN_CYCLES, QUIET_CHUNKS_PER_THREAD)
    p = SpinPolicy(cpus=2)
    for _ in range(LOAD_SAMPLES - 1):
        assert p.sample(2) == (0, 0, 0)
    assert p.sample(2) == quiet
    assert p.sample(1) == quiet
    assert p.sample(3) == (0, 0, 0)  # a busy sample: the defaults at once
    assert p.sample(2) == (0, 0, 0)
    assert p.sample(None) == (0, 0, 0)  # no /proc/loadavg: the defaults


def test_runnable_tasks_reads_the_machine():
    from graphkeras.runtime.adaptive import runnable_tasks

    n = runnable_tasks()
    assert n is None or n >= 1  # this thread is running


def test_spin_budgets_and_chunks_change_no_number(monkeypatch):
    """Steps on two threads with the pool's spin words set to long spins,
    to none (sleep at once) and to the defaults, and with 1, 3 and the
    default chunks per thread, give one thread's numbers."""
    from graphkeras.codegen.work_sharing import (
        CHUNKS_WORD,
        JOB_SPIN_WORD,
        SPIN_WORD,
    )
    from graphkeras.runtime import thread_pool as tp
    from graphkeras.runtime.thread_pool import thread_pool

    monkeypatch.setattr(tp, "SAMPLE_EVERY", 1 << 60)  # the words as set here
    prog = mlp_train_program(sizes=(40, 300, 10), optimizer="adam")
    batches = teacher_batches(prog, 3, 40)
    pool = thread_pool(2)
    ref = None
    try:
        for threads, spin, job, chunks in (
                (1, 0, 0, 0), (2, 1, 1, 3), (2, 2_000_000, 4_000_000, 1),
                (2, 0, 0, 0)):
            store = init_store(prog)
            exe = CompiledExecutable(prog, store, threads=threads)
            pool.ctl[SPIN_WORD], pool.ctl[JOB_SPIN_WORD] = spin, job
            pool.ctl[CHUNKS_WORD] = chunks
            got = ([float(exe.run(list(b))[0]) for b in batches],
                   {k: np.array(store[k]) for k in store.names()})
            if ref is None:
                ref = got
                continue
            assert got[0] == ref[0]
            for k, v in ref[1].items():
                np.testing.assert_array_equal(got[1][k], v, err_msg=k)
    finally:
        pool.ctl[SPIN_WORD] = pool.ctl[JOB_SPIN_WORD] = 0
        pool.ctl[CHUNKS_WORD] = 0


def test_spin_policy_starts_long_on_a_quiet_machine():
    """The pool's first sample, quiet, gives long spins at once (short
    ones made two-thread batch-1 steps look slower than one thread, so
    the chooser kept one and no sample ever came to change it)."""
    from graphkeras.runtime.adaptive import QUIET_SPIN_CYCLES, SpinPolicy

    assert SpinPolicy(cpus=2).sample(2, first=True)[0] == QUIET_SPIN_CYCLES
    assert SpinPolicy(cpus=2).sample(3, first=True) == (0, 0, 0)
    p = SpinPolicy(cpus=2)
    p.sample(1, first=True)
    assert p.sample(3) == (0, 0, 0)  # and a busy sample still ends it



def test_a_cold_pool_settles_longer_before_its_first_timing():
    """A new pool's first two-thread steps (workers parked in Python,
    maybe moving off the caller's CPU) are not timed: measured at batch 1,
    180-320, 30-60, 21-38 us, then ~17-25 from the 8th step."""
    ch = ThreadChooser(2)
    timed = []
    for i in range(COLD_SETTLE + WARMUP):
        n = ch.pick()
        assert n == 2
        if ch.timed:
            timed.append(i)
            ch.report(n, 17e-6)
    assert timed == list(range(COLD_SETTLE, COLD_SETTLE + WARMUP))
    # then one thread, timed after the usual SETTLE steps
    ones = []
    for i in range(SETTLE + WARMUP):
        assert ch.pick() == 1
        if ch.timed:
            ones.append(i)
            ch.report(1, 27e-6)
    assert ones == list(range(SETTLE, SETTLE + WARMUP))
    assert ch.current == 2
