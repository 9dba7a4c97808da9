"""The step's schedule (codegen/step_module.py): units that run without a
barrier between them (a span) never touch overlapping memory where one of
them writes, in the arena the runtime plans (held_layout keeps a storage
dying inside a span until its end); training through such spans gives
the same numbers on 1, 2 and 3 threads."""

from __future__ import annotations

import numpy as np
from train_programs import init_store, mlp_train_program, teacher_batches

from graphkeras.codegen.step_module import (
    barriers_needed,
    held_layout,
    schedule,
)
from graphkeras.runtime.compiled import CompiledExecutable

# wide enough that the products are split units (not small kernels)
SIZES = (300, 600, 300, 10)


def _touched(exe, ks):
    """(written, read) memory intervals [lo, hi) of the kernels ks, at the
    sizes of the last run."""
    layout, plan = exe.layout, exe.memory_plan
    vs, st = layout.value_storage, layout.storages
    env = exe._planned_env

    def where(v):
        s = st[vs[v.name]]
        if s.kind == "const":
            return None
        if s.kind == "arena":
            lo = plan.offsets[s.id]
            return ("arena", lo, lo + s.nbytes(env))
        return (s.id, 0, 1)  # own buffers: by identity

    nodes = [layout.kernels[t] for t in ks]
    outs = {where(v) for n in nodes for v in n.outputs} - {None}
    ins = {where(v) for n in nodes for v in n.inputs} - {None}
    return outs, ins


def _overlap(a, b):
    return a[0] == b[0] and a[1] < b[2] and b[1] < a[2]


def check_spans_do_not_collide(exe):
    units = schedule(exe.layout)
    needs = barriers_needed(exe.layout, units)
    spans, cur = [], []
    for (ks, _), need in zip(units, needs):
        if need and cur:
            spans.append(cur)
            cur = []
        cur.append(ks)
    spans.append(cur)
    shared = 0
    for span in spans:
        shared += len(span) > 1
        for i, ki in enumerate(span):
            wi, ri = _touched(exe, ki)
            for kj in span[i + 1:]:
                wj, rj = _touched(exe, kj)
                for w in wi:
                    for x in wj | rj:
                        assert not _overlap(w, x), (ki, kj, w, x)
                for w in wj:
                    for x in ri:
                        assert not _overlap(w, x), (ki, kj, w, x)
    return shared


def test_spans_never_write_where_another_unit_of_the_span_works():
    prog = mlp_train_program(sizes=SIZES, optimizer="adam")
    batches = teacher_batches(prog, 1, 32)
    exe = CompiledExecutable(prog, init_store(prog), threads=2)
    exe.run(list(batches[0]))
    # the products of the backward pass share spans: the test means it
    assert check_spans_do_not_collide(exe) >= 2


def test_held_layout_only_lengthens_lives():
    prog = mlp_train_program(sizes=SIZES, optimizer="sgd")
    exe = CompiledExecutable(prog, init_store(prog), threads=2)
    held = held_layout(exe.layout)
    longer = 0
    for a, b in zip(exe.layout.storages, held.storages):
        assert (a.id, a.kind, a.first) == (b.id, b.kind, b.first)
        assert b.last >= a.last
        longer += b.last > a.last
    assert longer > 0


def test_training_through_shared_spans_is_identical_on_1_2_3_threads():
    prog = mlp_train_program(sizes=SIZES, optimizer="adam")
    batches = teacher_batches(prog, 3, 48, last=17)
    runs = []
    for threads in (1, 2, 3, 2):
        store = init_store(prog)
        exe = CompiledExecutable(prog, store, threads=threads)
        losses = [float(exe.run(list(b))[0]) for b in batches]
        runs.append((losses, {k: np.array(store[k]) for k in store.names()}))
    ref_losses, ref_state = runs[0]
    for losses, state in runs[1:]:
        assert losses == ref_losses
        for k, v in ref_state.items():
            np.testing.assert_array_equal(state[k], v, err_msg=k)


def test_spans_of_a_cnn_train_step_never_collide():
    import graphkeras as keras

    rng = np.random.default_rng(0)
    x = rng.normal(size=(16, 12, 12, 3)).astype(np.float32)
    y = np.eye(4, dtype=np.float32)[rng.integers(0, 4, 16)]
    model = keras.Sequential([
        keras.Input((12, 12, 3)),
        keras.layers.Conv2D(8, 3, activation="relu"),
        keras.layers.MaxPooling2D(2),
        keras.layers.Conv2D(16, 3, activation="relu"),
        keras.layers.Flatten(),
        keras.layers.Dense(4, activation="softmax"),
    ])
    model.compile(optimizer="adam", loss="categorical_crossentropy",
                  metrics=["accuracy"])
    model.train_on_batch(x, y)
    exe = model._steps._last["train"].executable
    assert check_spans_do_not_collide(exe) >= 1
