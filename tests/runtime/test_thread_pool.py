"""Multi-threaded steps: results identical run to run and between 1, 2 and
3 threads (every kernel splits its work so that each element is computed
by one thread in a fixed order), run_steps with threads, two executables
called from two Python threads at once, and the pool's idle workers
parking."""

from __future__ import annotations

import threading
import time

import numpy as np
from train_programs import init_store, mlp_train_program, teacher_batches

from graphkeras.runtime.compiled import CompiledExecutable
from graphkeras.runtime.thread_pool import thread_pool


def _train(program, batches, threads, steps=False):
    store = init_store(program)
    exe = CompiledExecutable(program, store, threads=threads)
    if steps:
        losses = [float(o[0]) for o in exe.run_steps([list(b) for b in batches])]
    else:
        losses = [float(exe.run(list(b))[0]) for b in batches]
    return losses, {k: np.array(store[k]) for k in store.names()}


def test_training_is_identical_for_one_two_and_three_threads():
    prog = mlp_train_program(sizes=(70, 45, 10), optimizer="adam", dropout=0.25)
    batches = teacher_batches(prog, 5, 53)
    ref_losses, ref_state = _train(prog, batches, 1)
    for t in (2, 3):
        for _ in range(2):  # and run to run
            losses, state = _train(prog, batches, t)
            assert losses == ref_losses, t
            for k, v in ref_state.items():
                np.testing.assert_array_equal(state[k], v, err_msg=f"{k} t={t}")


def test_run_steps_with_threads_equals_single_steps():
    prog = mlp_train_program(sizes=(40, 30, 10), optimizer="sgd")
    batches = teacher_batches(prog, 4, 33, last=7)
    one, s1 = _train(prog, batches, 1)
    many, s2 = _train(prog, batches, 2, steps=True)
    assert one == many
    for k in s1:
        np.testing.assert_array_equal(s1[k], s2[k])


def test_two_python_threads_calling_two_executables():
    prog = mlp_train_program(sizes=(50, 40, 10), optimizer="adam")
    batches = teacher_batches(prog, 6, 40)
    want, _ = _train(prog, batches, 1)
    exes = [CompiledExecutable(prog, init_store(prog), threads=2)
            for _ in range(2)]
    got: dict = {}

    def work(i):
        got[i] = [float(exes[i].run(list(b))[0]) for b in batches]

    ths = [threading.Thread(target=work, args=(i,)) for i in range(2)]
    for th in ths:
        th.start()
    for th in ths:
        th.join(timeout=120)
    assert got == {0: want, 1: want}


def test_idle_workers_park():
    prog = mlp_train_program(sizes=(40, 30, 10), optimizer="sgd")
    batches = teacher_batches(prog, 1, 64)
    exe = CompiledExecutable(prog, init_store(prog), threads=2)
    exe.run(list(batches[0]))
    pool = thread_pool(2)
    # after ~4 ms without work a worker leaves native code and sleeps
    deadline = time.monotonic() + 5.0
    while time.monotonic() < deadline:
        if all(pool.ctl[32 + 8 * t] == 1 for t in range(1, pool.size)):
            break
        time.sleep(0.01)
    assert all(pool.ctl[32 + 8 * t] == 1 for t in range(1, pool.size))
    # and wakes up for the next job
    exe.run(list(batches[0]))
