"""Gradients through time: the VJP of the recurrent layers (a reverse
scan over the steps, reading the forward's saved states and products)
against central finite differences, in float64, for every weight and the
inputs; and at the IR level for scans whose outputs are all used."""

import numpy as np
import pytest
from helpers import check_grads

import graphkeras as keras
from graphkeras import ir, ops
from graphkeras.frontend import tracing
from graphkeras.ir import Builder, TensorType
from graphkeras.passes import differentiate


def _loss_function(layer, shape, mask=None, training=True, int_input=False):
    """@f(x, weights...) -> sum(out * proj): the layer traced in float64."""
    b = Builder("f")
    trace = tracing.Trace(b, "test")
    with trace:
        x = trace.input("x", (None,) + shape, "int32" if int_input else "float64")
        kwargs = {"training": training}
        if mask is not None:
            kwargs["mask"] = trace.input("m", (None, shape[0]), "bool")
        out = layer(x, **kwargs)
        outs = out if isinstance(out, list) else [out]
        total = None
        for k, o in enumerate(outs):
            w = np.linspace(-1.0, 1.0, int(np.prod(o.shape[1:]))).reshape(
                o.shape[1:]) * (k + 1)
            term = ops.sum(ops.multiply(o, w))
            total = term if total is None else ops.add(total, term)
    fn = b.build([total.value])
    weights = [trace.variables[k] for k in trace.variables]
    return fn, [w for w in weights if w.trainable]


CASES = {
    "lstm": (lambda: keras.layers.LSTM(3, dtype="float64"), (5, 2), None),
    "lstm_masked_seq_state": (
        lambda: keras.layers.LSTM(3, return_sequences=True, return_state=True,
                                  dtype="float64"), (5, 2), "mask"),
    "gru": (lambda: keras.layers.GRU(3, go_backwards=True, dtype="float64"),
            (4, 2), None),
    "gru_reset_before_masked": (
        lambda: keras.layers.GRU(3, reset_after=False, return_sequences=True,
                                 dtype="float64"), (4, 2), "mask"),
    "simple_rnn": (lambda: keras.layers.SimpleRNN(
        3, return_sequences=True, dtype="float64"), (4, 3), None),
    "bidirectional": (lambda: keras.layers.Bidirectional(
        keras.layers.LSTM(2, return_sequences=True, dtype="float64"),
        dtype="float64"), (4, 2), "mask"),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_recurrent_gradients_match_finite_differences(name):
    make, shape, masked = CASES[name]
    keras.utils.set_random_seed(5)
    rng = np.random.default_rng(5)
    layer = make()
    n = 3
    x = rng.normal(size=(n,) + shape)
    mask = None
    if masked:
        mask = np.ones((n, shape[0]), bool)
        mask[1, 3:] = False
        mask[2, :1] = False
    layer(x, mask=mask)  # build
    fn, weights = _loss_function(layer, shape, mask)
    first = [x] if mask is None else [x, mask]
    args = first + [_var(layer, p.name) for p in fn.params[len(first):]]
    wrt = ["x"] + [w.key for w in weights]
    check_grads(fn, args, wrt, rng=rng, env={"N": n})


def _var(layer, key):
    for v in layer.variables:
        if v.key == key:
            return v.numpy()
    raise KeyError(key)


def test_embedding_lstm_gradient_is_a_sparse_scatter():
    keras.utils.set_random_seed(6)
    rng = np.random.default_rng(6)
    emb = keras.layers.Embedding(7, 3, dtype="float64", mask_zero=True)
    lstm = keras.layers.LSTM(2, dtype="float64")
    x = np.array([[1, 2, 0], [3, 3, 6]], "int32")
    lstm(emb(x))
    b = Builder("f")
    trace = tracing.Trace(b, "test")
    with trace:
        xi = trace.input("x", (None, 3), "int32")
        out = lstm(emb(xi), training=True)
        loss = ops.sum(ops.multiply(out, np.array([0.3, -0.7])))
    fn = b.build([loss.value])
    keys = list(trace.variables)
    args = [x] + [trace.variables[k].numpy() for k in keys]
    check_grads(fn, args, keys, rng=rng, env={"N": 2})
    grad = ir.interpret(differentiate(fn, [keys[0]]), args, env={"N": 2})[1]
    # only the rows of the tokens used get a gradient
    assert np.all(grad[[4, 5]] == 0) and np.all(np.abs(grad[[1, 2, 3, 6]]).sum(1)
                                                 > 0)


def _scan_all_outputs(reverse, length):
    """A scan whose carries and stacked outputs (one of them a carry,
    one a computed value saved as a residual) all reach the loss."""
    f = "f64"
    bb = Builder("step")
    h = bb.param("h", TensorType(("N", 3), f))
    c = bb.param("c", TensorType(("N", 3), f))
    x = bb.param("x", TensorType(("N", 3), f))
    u = bb.param("u", TensorType((3, 3), f))
    r = bb.matmul(h, u)
    z = bb.tanh(bb.add(r, x))
    c2 = bb.add(bb.mul(c, bb.sigmoid(x)), z)
    body = bb.build([z, c2, z, r, bb.mul(c2, x)])
    b = Builder("f")
    h0 = b.param("h0", TensorType(("N", 3), f))
    c0 = b.param("c0", TensorType(("N", 3), f))
    xs = b.param("xs", TensorType((length, "N", 3), f))
    uu = b.param("u", TensorType((3, 3), f))
    outs = b.scan(h0, c0, xs, uu, body=body, num_carry=2, num_xs=1,
                  length=length, reverse=reverse)
    w = b.constant(np.linspace(-1, 1, 3))
    loss = None
    for o in outs:
        t = b.reduce_sum(b.mul(o, w), axes=tuple(range(o.rank)))
        loss = t if loss is None else b.add(loss, t)
    return b.build([loss])


@pytest.mark.parametrize("reverse", [False, True])
@pytest.mark.parametrize("length", [1, 4])
def test_scan_gradients_through_every_output(reverse, length):
    rng = np.random.default_rng(length)
    fn = _scan_all_outputs(reverse, length)
    args = [rng.normal(size=(2, 3)), rng.normal(size=(2, 3)),
            rng.normal(size=(length, 2, 3)), rng.normal(size=(3, 3)) * 0.5]
    check_grads(fn, args, ["h0", "c0", "xs", "u"], rng=rng, env={"N": 2})


@pytest.mark.parametrize("rows", [2, "N"])
def test_constant_gradient_hoisted_into_one_matmul(rows):
    # the per-step x^T @ d of a constant leaves the loop as one matmul_sum
    # over all steps (one GEMM over T x rows, also with a symbolic batch),
    # and stays correct
    f = "f64"
    bb = Builder("step")
    h = bb.param("h", TensorType((rows, 3), f))
    x = bb.param("x", TensorType((rows, 4), f))
    w = bb.param("w", TensorType((4, 3), f))
    body = bb.build([bb.tanh(bb.add(h, bb.matmul(x, w)))])
    b = Builder("f")
    h0 = b.param("h0", TensorType((rows, 3), f))
    xs = b.param("xs", TensorType((5, rows, 4), f))
    ww = b.param("w", TensorType((4, 3), f))
    (last,) = b.scan(h0, xs, ww, body=body, num_carry=1, num_xs=1, length=5)
    fn = b.build([b.reduce_sum(b.mul(last, last), axes=(0, 1))])
    g = differentiate(fn, ["w"])
    outer = [n for n in g.nodes if n.op == "matmul_sum"]
    assert any(n.inputs[0].shape == (5, rows, 4) for n in outer), \
        "the constant's gradient was not hoisted out of the loop"
    scans = [n for n in g.nodes if n.op == "scan"]
    assert all(p.type.shape != (4, 3) for n in scans
               for p in n.attrs["body"].params[:n.attrs["num_carry"]]), \
        "the constant's gradient is still accumulated in the loop"
    rng = np.random.default_rng(2)
    args = [rng.normal(size=(2, 3)), rng.normal(size=(5, 2, 4)),
            rng.normal(size=(4, 3)) * 0.5]
    check_grads(fn, args, ["h0", "xs", "w"], rng=rng,
                **({"env": {"N": 2}} if rows == "N" else {}))
