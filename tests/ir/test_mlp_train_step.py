"""Issue 2's "Done when": a hand-built 2-layer MLP training step (forward,
softmax cross-entropy through log_softmax, differentiate, SGD update) prints
like the IR example of the design notes, parses back equal, and its gradients match finite
differences in float64."""

from __future__ import annotations

import numpy as np
from helpers import check_grads, check_round_trip

from graphkeras import ir
from graphkeras.passes import differentiate

IN, HIDDEN, CLASSES = 4, 8, 3
PARAMS = ("w0", "b0", "w1", "b1")
LR = 0.1


def forward(dtype=ir.float32) -> ir.Function:
    """(x, y, w0, b0, w1, b1) -> mean softmax cross-entropy of the MLP."""
    b = ir.Builder("train_step")
    x = b.param("x", ("N", IN), dtype)
    y = b.param("y", ("N",), ir.int64)
    w0 = b.param("w0", (IN, HIDDEN), dtype)
    b0 = b.param("b0", (HIDDEN,), dtype)
    w1 = b.param("w1", (HIDDEN, CLASSES), dtype)
    b1 = b.param("b1", (CLASSES,), dtype)
    with b.at("dense"):
        h = b.relu(b.add(b.matmul(x, w0), b0))
    with b.at("dense_1"):
        logits = b.add(b.matmul(h, w1), b1)
    with b.at("loss"):
        labels = b.one_hot(y, depth=CLASSES, dtype=dtype)
        picked = b.reduce_sum(b.mul(labels, b.log_softmax(logits)), axes=(1,))
        loss = b.neg(b.reduce_mean(picked))
    return b.build([loss])


def train_step(dtype=ir.float32) -> ir.Function:
    """forward + gradients + `p - lr * grad` for every parameter; results
    (loss, new w0, new b0, new w1, new b1)."""
    fn = differentiate(forward(dtype), PARAMS)
    b = ir.Builder.from_function(fn)
    loss, grads = fn.results[0], fn.results[1:]
    params = {p.name: p for p in fn.params}
    with b.at("sgd"):
        lr = b.constant(LR, dtype)
        new = [b.sub(params[n], b.mul(lr, g)) for n, g in zip(PARAMS, grads)]
    return b.build([loss, *new])


def _inputs(dtype, batch=5, seed=0):
    rng = np.random.default_rng(seed)
    f = dtype.np
    return [
        rng.normal(size=(batch, IN)).astype(f),
        rng.integers(0, CLASSES, size=batch).astype(np.int64),
        (rng.normal(size=(IN, HIDDEN)) * 0.7).astype(f),
        (rng.normal(size=HIDDEN) * 0.3).astype(f),
        (rng.normal(size=(HIDDEN, CLASSES)) * 0.7).astype(f),
        (rng.normal(size=CLASSES) * 0.3).astype(f),
    ]


def _numpy_loss(x, y, w0, b0, w1, b1):
    h = np.maximum(x @ w0 + b0, 0)
    z = h @ w1 + b1
    z = z - z.max(axis=1, keepdims=True)
    logp = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
    return -np.mean(logp[np.arange(len(y)), y])


def test_train_step_prints_like_design_and_round_trips():
    step = train_step()
    text = check_round_trip(step)
    lines = text.splitlines()
    assert lines[0] == (
        "func @train_step(%x: f32[N,4], %y: i64[N], %w0: f32[4,8], %b0: f32[8], "
        "%w1: f32[8,3], %b1: f32[3]) -> (f32[], f32[4,8], f32[8], f32[8,3], "
        "f32[3]) {"
    )
    assert lines[1].split(":")[0].strip() == "%0 = matmul %x, %w0"
    assert lines[1].endswith(': f32[N,8]  loc("dense")')
    assert lines[-2].startswith("  return ")
    assert all(op in text for op in ("log_softmax", "one_hot", "dim_size"))


def test_train_step_matches_numpy_and_lowers_the_loss():
    step = train_step(ir.float64)
    args = _inputs(ir.float64)
    loss, *new = ir.interpret(step, args)
    np.testing.assert_allclose(loss, _numpy_loss(*args), rtol=1e-12)
    after = _numpy_loss(args[0], args[1], *new)
    assert after < loss  # a small SGD step downhill


def test_train_step_gradients_match_finite_differences():
    args = _inputs(ir.float64, batch=7, seed=1)
    # the gradients through differentiate, against finite differences
    check_grads(forward(ir.float64), args, PARAMS,
                rng=np.random.default_rng(2))
    # and the SGD results are exactly p - lr * grad
    step = train_step(ir.float64)
    grads = ir.interpret(differentiate(forward(ir.float64), PARAMS), args)[1:]
    _, *new = ir.interpret(step, args)
    for p, g, n in zip(args[2:], grads, new):
        np.testing.assert_allclose(n, p - LR * g, rtol=1e-15, atol=1e-15)


def test_train_step_serves_every_batch_size():
    step = train_step()
    for batch in (1, 3, 17):
        args = _inputs(ir.float32, batch=batch)
        loss, *new = ir.interpret(step, args)
        np.testing.assert_allclose(loss, _numpy_loss(*args), rtol=1e-5)
        assert [a.shape for a in new] == [a.shape for a in args[2:]]
