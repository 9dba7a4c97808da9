"""Compiled recurrences against the reference interpreter, at batch sizes
that cut the loop into several blocks of rows (codegen/scan.py runs a scan
separable over the batch as blocks of ROW_BLOCK rows on the threads): the
forward outputs and the gradients of every weight and the inputs, on one
and on two threads (which must agree to the bit), with masks,
go_backwards, return_sequences, dropout masks (per-row constants of the
loop), other activations, and a user's cell (run whole)."""

import numpy as np
import pytest

import graphkeras as keras
from graphkeras import ops
from graphkeras.codegen.scan import (ROW_BLOCK, _packed_weights,
                                     _separable_over)
from graphkeras.frontend import tracing
from graphkeras.ir import Builder, interpret
from graphkeras.passes import differentiate
from graphkeras.runtime import Program, StateStore
from graphkeras.runtime.compiled import CompiledExecutable


class _MinimalCell(keras.layers.Layer):
    """A user's cell: its step reads the batch size (not separable)."""

    def __init__(self, units, **kwargs):
        super().__init__(**kwargs)
        self.units = units
        self.state_size = units

    def build(self, input_shape):
        self.kernel = self.add_weight(shape=(input_shape[-1], self.units),
                                      name="kernel")

    def call(self, inputs, states):
        h = ops.add(ops.matmul(inputs, self.kernel), states[0])
        # the mean over the batch mixes the rows: the loop stays whole
        h = ops.subtract(h, ops.mean(h, axis=0, keepdims=True))
        return h, [h]


CASES = {
    "lstm": lambda: keras.layers.LSTM(5),
    "lstm_seq_backwards": lambda: keras.layers.LSTM(
        3, return_sequences=True, go_backwards=True),
    "lstm_dropout_relu": lambda: keras.layers.LSTM(
        4, activation="relu", dropout=0.25, recurrent_dropout=0.3, seed=2),
    "gru_state": lambda: keras.layers.GRU(4, return_state=True),
    "gru_reset_before": lambda: keras.layers.GRU(
        3, reset_after=False, recurrent_dropout=0.2, seed=1),
    "simple_rnn_masked": lambda: keras.layers.SimpleRNN(
        3, return_sequences=True),
    "users_cell": lambda: keras.layers.RNN(_MinimalCell(3)),
    # wider than NARROW: the loops multiply by a recurrent kernel packed
    # once before the loop (codegen/scan.py, GEMM flag PACKED_B); 40 and
    # 36 units leave partial column panels
    "lstm_wide": lambda: keras.layers.LSTM(40),
    "gru_wide_seq": lambda: keras.layers.GRU(36, return_sequences=True),
}


def _program(name):
    """(@f(x[, m], weights...) -> (sum(out * w), its gradients), the scan
    nodes of f)."""
    keras.utils.set_random_seed(3)
    b = Builder("f")
    trace = tracing.Trace(b, "test")
    with trace:
        x = trace.input("x", (None, 6, 2), "float32")
        kwargs = {"training": True}
        if name.endswith("masked"):
            kwargs["mask"] = trace.input("m", (None, 6), "bool")
        out = CASES[name]()(x, **kwargs)
        outs = out if isinstance(out, list) else [out]
        total = None
        for k, o in enumerate(outs):
            w = np.linspace(-1.0, 1.0, int(np.prod(o.shape[1:]))).reshape(
                o.shape[1:]) * (k + 1)
            term = ops.sum(ops.multiply(o, w.astype("float32")))
            total = term if total is None else ops.add(total, term)
    fn = b.build([total.value])
    wrt = ["x"] + [p.name for p in fn.params if p.name not in ("x", "m")
                   and p.dtype.is_float]
    values = [v.value for v in trace.variables.values()]
    return differentiate(fn, wrt), values


def _run(fn, args, threads):
    names = tuple(p.name for p in fn.params)
    prog = Program(fn, state=(), inputs=names, updates=(),
                   outputs=tuple(range(len(fn.results))))
    exe = CompiledExecutable(prog, StateStore(), threads=threads)
    return exe.run(args)


@pytest.mark.parametrize("name", sorted(CASES))
def test_compiled_recurrence_matches_the_interpreter(name):
    gfn, weights = _program(name)
    scans = [n for n in gfn.nodes if n.op == "scan"]
    split = [_separable_over(n) for n in scans]
    if name == "users_cell":
        assert split == [None] * len(scans)  # the cell mixes the rows
    elif name in ("gru_reset_before", "lstm_dropout_relu"):
        # recurrent dropout multiplies h by a mask per gate before the
        # product: the kernel's gradient is summed in the backward loop,
        # which then runs whole (the forward one is cut)
        assert split == ["N", None], split
    else:
        assert all(s == "N" for s in split), split
    rng = np.random.default_rng(0)
    for batch in (1, ROW_BLOCK + 1, 2 * ROW_BLOCK + 6):  # 1, 2 and 3 blocks
        args = [rng.normal(size=(batch, 6, 2)).astype("float32")]
        if name.endswith("masked"):
            m = np.ones((batch, 6), bool)
            m[::3, 4:] = False  # some sequences end early
            m[1::5, 0] = False
            args.append(m)
        args += [np.asarray(w, "float32" if np.asarray(w).dtype.kind == "f"
                            else np.asarray(w).dtype) for w in weights]
        want = interpret(gfn, args, env={"N": batch})
        one = _run(gfn, args, 1)
        two = _run(gfn, args, 2)
        for k, (w, a, b_) in enumerate(zip(want, one, two)):
            np.testing.assert_allclose(a, w, rtol=2e-4, atol=2e-5,
                                       err_msg=f"{name} batch {batch} "
                                       f"result {k}")
            np.testing.assert_array_equal(a, b_, err_msg=f"{name} batch "
                                          f"{batch} result {k}: 1 vs 2 "
                                          "threads")


def test_wide_recurrent_kernels_are_packed_once_per_loop():
    """The forward and the backward loop of a 40-unit LSTM both multiply
    by the packed recurrent kernel (the forward by K, the backward by its
    transpose), which the case lstm_wide above checks numerically."""
    gfn, _ = _program("lstm_wide")
    names = tuple(p.name for p in gfn.params)
    exe = CompiledExecutable(Program(gfn, state=(), inputs=names, updates=(),
                                     outputs=(0,)), StateStore(), threads=1)
    fn, layout = exe.fn, exe.layout
    scans = [n for n in fn.nodes if n.op == "scan"]
    found = []
    for n in scans:
        body, blayout = layout.bodies[n.attrs["body"]]
        found.append(sorted((kk, nn, tb) for _, _, kk, nn, tb, _ in
                            _packed_weights(n, body, blayout).values()))
    assert found == [[(40, 160, False)], [(160, 40, True)]], found
