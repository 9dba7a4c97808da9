"""gk_grab (codegen/work_sharing.py): chunks of a unit are taken from the
front (even threads) or from the back (odd threads), each exactly once
per epoch, so that each of two threads takes the same half of a unit step
after step when both keep pace (its half of the weights stays in its
core's cache)."""

from __future__ import annotations

import ctypes

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from graphkeras.codegen.jit import threads_native

_GRAB = ctypes.CFUNCTYPE(ctypes.c_int64, ctypes.c_void_p, ctypes.c_int64,
                         ctypes.c_int64, ctypes.c_int64)


def _grab():
    native = threads_native()
    return _GRAB(native._engine.get_function_address("gk_grab"))


def test_front_and_back_meet_in_the_middle():
    grab = _grab()
    word = np.zeros(8, np.int64)
    at = word.ctypes.data
    assert [grab(at, 5, 4, 0), grab(at, 5, 4, 1), grab(at, 5, 4, 1),
            grab(at, 5, 4, 0), grab(at, 5, 4, 0), grab(at, 5, 4, 1)] == \
        [0, 3, 2, 1, -1, -1]
    # a new epoch restarts the counts, whichever end comes first
    assert [grab(at, 6, 4, 1), grab(at, 6, 4, 0)] == [3, 0]
    assert grab(at, 5, 4, 0) == -1  # a thread a step behind takes nothing
    assert grab(at, 7, 0, 0) == -1  # a unit of no chunks
    assert grab(at, 7, 1, 1) == 0


@settings(max_examples=60, deadline=None, derandomize=True)
@given(total=st.integers(1, 128),
       ends=st.lists(st.integers(0, 1), min_size=1, max_size=300),
       epoch=st.integers(1, 2**30))
def test_every_chunk_is_taken_once(total, ends, epoch):
    grab = _grab()
    word = np.zeros(8, np.int64)
    got, fronts, backs = [], [], []
    for e in ends:
        c = grab(word.ctypes.data, epoch, total, e)  # e: 1 from the back
        if c >= 0:
            got.append(c)
            (backs if e else fronts).append(c)
    assert len(got) == len(set(got)) == min(total, len(ends))
    assert fronts == list(range(len(fronts)))
    assert backs == list(range(total - 1, total - 1 - len(backs), -1))
