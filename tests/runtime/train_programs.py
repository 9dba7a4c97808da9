"""Hand-built training steps (Builder + passes.differentiate + optimizer
updates as results) as Programs with state, for runtime tests and bench/."""

from __future__ import annotations

import itertools

import numpy as np

from graphkeras import ir
from graphkeras.passes import differentiate
from graphkeras.runtime import Program, StateStore


def mlp_train_program(sizes=(13, 17, 10), optimizer: str = "adam",
                      dropout: float = 0.0, lr: float = 1e-2) -> Program:
    """(x: f32[N, sizes[0]], y: i32[N]) -> loss; dense-relu layers, a
    softmax cross-entropy head, SGD or Adam updates of every weight."""
    b = ir.Builder("train_step")
    x = b.param("x", ("N", sizes[0]))
    y = b.param("y", ("N",), ir.int32)
    step = b.param("step", (), ir.int64)
    weights = []
    h = x
    for i, (fan_in, fan_out) in enumerate(itertools.pairwise(sizes)):
        w = b.param(f"w{i}", (fan_in, fan_out))
        bias = b.param(f"b{i}", (fan_out,))
        weights += [w, bias]
        h = b.add(b.matmul(h, w), bias)
        if i < len(sizes) - 2:
            h = b.relu(h)
            if dropout:
                u = b.random_uniform(step, shape=("N", fan_out), seed=11 + i)
                keep = b.greater_equal(u, b.constant(dropout))
                h = b.where(keep, b.div(h, b.constant(1 - dropout)),
                            b.zeros_like(h))
    ls = b.log_softmax(h, axis=-1)
    oh = b.one_hot(y, depth=sizes[-1])
    loss = b.neg(b.reduce_mean(b.reduce_sum(b.mul(oh, ls), axes=(1,))))
    fn = differentiate(b.build([loss]), [w.name for w in weights])
    grads = fn.results[1:]
    b = ir.Builder.from_function(fn)
    new_state, updates = [], []
    one = b.constant(1.0)
    if optimizer == "adam":
        b1, b2, eps = 0.9, 0.999, 1e-7
        t = b.cast(b.add(step, b.constant(1, ir.int64)), dtype=ir.float32)
        lr_t = b.mul(b.constant(lr), b.div(
            b.sqrt(b.sub(one, b.pow(b.constant(b2), t))),
            b.sub(one, b.pow(b.constant(b1), t))))
        for w, g in zip(weights, grads):
            m = b.param(f"m_{w.name}", w.type)
            v = b.param(f"v_{w.name}", w.type)
            m2 = b.add(b.mul(b.constant(b1), m), b.mul(b.constant(1 - b1), g))
            v2 = b.add(b.mul(b.constant(b2), v),
                       b.mul(b.constant(1 - b2), b.square(g)))
            w2 = b.sub(w, b.div(b.mul(lr_t, m2), b.add(b.sqrt(v2), b.constant(eps))))
            new_state += [(w.name, w2), (m.name, m2), (v.name, v2)]
    else:
        for w, g in zip(weights, grads):
            new_state.append((w.name, b.sub(w, b.mul(b.constant(lr), g))))
    new_state.append(("step", b.add(step, b.constant(1, ir.int64))))
    results = [fn.results[0]] + [v for _, v in new_state]
    full = b.build(results)
    ir.verify(full)
    state = tuple(p.name for p in full.params if p.name not in ("x", "y"))
    updates = tuple((name, i + 1) for i, (name, _) in enumerate(new_state))
    return Program(full, state=state, inputs=("x", "y"), updates=updates,
                   outputs=(0,))


def init_store(program: Program, seed: int = 0) -> StateStore:
    rng = np.random.default_rng(seed)
    store = StateStore()
    for p in program.state_params:
        t = p.type
        if p.name.startswith("w"):
            val = rng.normal(0, 1 / np.sqrt(t.shape[0]), t.shape).astype(np.float32)
        else:
            val = np.zeros(t.shape, t.dtype.np)
        store.define(p.name, t, val)
    return store


def teacher_batches(program: Program, n_batches: int, batch: int, seed: int = 1,
                    last: int | None = None) -> list:
    """Learnable labels: argmax of the inputs times a fixed random matrix."""
    rng = np.random.default_rng(seed)
    d_in = program.param("x").type.shape[1]
    n_out = 10
    teacher = rng.normal(size=(d_in, n_out))
    out = []
    for i in range(n_batches):
        n = last if (last is not None and i == n_batches - 1) else batch
        x = rng.normal(size=(n, d_in)).astype(np.float32)
        y = np.argmax(x @ teacher, axis=1).astype(np.int32)
        out.append((x, y))
    return out
