"""Whole training steps compiled against the interpreter: an MLP with
dropout (counter-based random), softmax cross-entropy, autodiff, SGD and
Adam updates as program results, over 20 steps with a last partial batch;
and steps_per_execution through run_steps."""

from __future__ import annotations

import numpy as np
import pytest
from train_programs import init_store, mlp_train_program, teacher_batches

from graphkeras.runtime import InterpretedExecutable
from graphkeras.runtime.compiled import CompiledExecutable


def _run(exe, batches):
    return [float(exe.run(list(b))[0]) for b in batches]


@pytest.mark.parametrize("optimizer,dropout", [("sgd", 0.0), ("adam", 0.25)])
def test_twenty_steps_match_the_interpreter(optimizer, dropout):
    prog = mlp_train_program(optimizer=optimizer, dropout=dropout)
    batches = teacher_batches(prog, 20, 16, last=5)
    ref_store, store = init_store(prog), init_store(prog)
    ref = _run(InterpretedExecutable(prog, ref_store), batches)
    got = _run(CompiledExecutable(prog, store), batches)
    np.testing.assert_allclose(got, ref, rtol=2e-4, atol=1e-5)
    assert got[-1] < got[0]  # it learns
    for name in ref_store.names():
        np.testing.assert_allclose(store[name], ref_store[name], rtol=2e-3,
                                   atol=2e-5, err_msg=name)


def test_state_buffers_keep_their_addresses():
    prog = mlp_train_program(optimizer="adam")
    store = init_store(prog)
    addrs = {n: store[n].ctypes.data for n in store.names()}
    exe = CompiledExecutable(prog, store)
    for b in teacher_batches(prog, 3, 8):
        exe.run(list(b))
    assert {n: store[n].ctypes.data for n in store.names()} == addrs
    assert int(store["step"]) == 3


def test_run_steps_equals_single_steps():
    prog = mlp_train_program(optimizer="adam", dropout=0.25)
    batches = teacher_batches(prog, 7, 9, last=4)
    s1, s2 = init_store(prog), init_store(prog)
    one = _run(CompiledExecutable(prog, s1), batches)
    exe = CompiledExecutable(prog, s2)
    many = exe.run_steps(batches[:3]) + exe.run_steps(batches[3:])
    np.testing.assert_array_equal([float(o[0]) for o in many], one)
    for name in s1.names():
        np.testing.assert_array_equal(s1[name], s2[name], err_msg=name)
    assert exe.run_steps([]) == []


def test_memory_plan_reports_sizes():
    prog = mlp_train_program(sizes=(13, 33, 21, 10), optimizer="adam")
    store = init_store(prog)
    exe = CompiledExecutable(prog, store)
    exe.run(list(teacher_batches(prog, 1, 32)[0]))
    plan = exe.memory_plan
    assert plan.lower_bound <= plan.arena_bytes <= plan.total_bytes
    assert "arena" in plan.report()


def test_profile_gives_a_time_per_kernel_and_changes_nothing():
    prog = mlp_train_program(optimizer="sgd")
    s1, s2 = init_store(prog), init_store(prog)
    batch = list(teacher_batches(prog, 1, 8)[0])
    exe = CompiledExecutable(prog, s1)
    prof = exe.profile(batch, repeats=3)
    assert len(prof) == len(exe.layout.kernels) and prof.runs == 3
    assert all(k.seconds >= k.fastest >= 0 for k in prof)
    assert sum(k.seconds for k in prof) > 0 and prof.step_seconds > 0
    products = [k for k in prof if "matmul" in k.label]
    assert products and all(k.flops > 0 for k in products)
    # products: 2 M N K; batch 8 through 13 -> 17 -> 10, forward, weight
    # gradients, and the input gradient of the second layer
    fwd = 2 * 8 * (13 * 17 + 17 * 10)
    assert sum(k.flops for k in products) >= 2 * fwd + 2 * 8 * 17 * 10
    text = prof.table()
    assert "GFLOP/s" in text and "% peak" in text and products[0].label in text
    # the profile's runs leave the state as it was
    for name in s1.names():
        np.testing.assert_array_equal(s1[name], s2[name])


def test_profile_on_two_threads_counts_each_threads_waiting():
    prog = mlp_train_program(sizes=(40, 300, 10), optimizer="adam")
    exe = CompiledExecutable(prog, init_store(prog), threads=2)
    batch = list(teacher_batches(prog, 1, 64)[0])
    prof = exe.profile(batch, repeats=5)
    assert prof.threads == 2 and len(prof.waits) == 2
    # the step's small kernels run on one thread: the other waits for them
    assert all(w >= 0 for w in prof.waits) and max(prof.waits) > 0
    # (a worker enters the step as soon as the job is posted, thread 0
    # after the Python between posting and running it: a worker that
    # waits the whole step may count a little more than thread 0's step)
    assert max(prof.waits) < 1.5 * prof.step_seconds
    assert "waiting thread 0" in prof.table()
    one = CompiledExecutable(prog, init_store(prog), threads=1)
    assert one.profile(batch, repeats=2).waits == ()
