"""Recurrent layers: RNN (any cell), SimpleRNN, LSTM, GRU and their cells.

A recurrence is one `scan` node (ir/ops/scan.py): the step is traced once
into the scan's body Function and the loop runs natively (codegen/scan.py),
neither unrolled nor in Python. The built-in cells split their work in two:

- outside the loop, the input-to-gate products of all time steps in one
  matmul over the time-major inputs ((T, N, F) @ (F, k*units), plus the
  bias and the input dropout): the inputs, which are narrower than the
  gates, are what gets transposed (and their gradient back), and the
  kernel's gradient is one GEMM over all T x N rows (ir matmul_sum);
- inside the loop, only what depends on the previous state: h @
  recurrent_kernel and the gate arithmetic, which fusion turns into one
  matmul kernel and one pointwise kernel per step.

A user's cell runs whole inside the loop; its weights enter the body as
constants (a Variable read in the step reads the body parameter).

Keras semantics kept: weight layouts and gate orders (LSTM i, f, c, o with
kernel (input_dim, 4 units); GRU z, r, h with reset_after=True and bias
(2, 3 units)), masks (a masked step keeps the states and repeats the last
output, or outputs zeros with zero_output_for_mask), go_backwards (the
output sequence in processing order), return_state, initial_state,
stateful, and dropout / recurrent_dropout masks drawn once per batch and
shared by all steps (four / three separate masks per gate when
recurrent_dropout is used, as Keras's implementation 1).

In training the body also emits the carries entering each step as
outputs, so the VJP of the scan reads them instead of running the forward
loop a second time (or shifting the carries after each step by one).
"""

from __future__ import annotations

import numpy as np

from ...ir import Builder, TensorType
from .. import activations, constraints, initializers, ops, regularizers, tracing, tree
from .. import random as random_module
from ..tensors import TracedTensor
from ..variables import Variable
from .core import _ser
from .input_spec import InputSpec
from .layer import Layer

# --- the scan helper ---------------------------------------------------------


def _ir_type(x) -> TensorType:
    if isinstance(x, TracedTensor):
        return x.value.type
    a = np.asarray(x)
    return TensorType(a.shape, a.dtype)


def scan(step, init, xs=(), consts=(), *, length=None, reverse=False,
         emit_carries=False):
    """Run `step` over the leading axis of `xs` as one `scan` op.

    `step(carries, x_slices, consts) -> (new_carries, ys)` is written with
    graphkeras.ops on the tensors it gets; it is traced once. `init`,
    `xs` and `consts` are lists of tensors (traced or arrays); a Variable
    among `consts` is read outside the loop and reading it inside `step`
    gives the body's parameter. Returns (final carries, stacked ys), each
    a list; with `emit_carries` the carries entering each step are
    appended to the ys (the VJP reads them: ir/ops/scan.py).
    """
    init, xs, consts = list(init), list(xs), list(consts)
    outer = tracing.current_trace()
    if length is None:
        if not xs:
            raise ValueError("scan needs `length` when it has no sequences.")
        length = int(ops.shape(xs[0])[0])
    values = [ops.convert_to_tensor(v) for v in init + xs + consts]
    traced = any(isinstance(v, TracedTensor) for v in values)
    if traced and outer is None:
        outer = next(v.trace for v in values if isinstance(v, TracedTensor))
    nc, nx = len(init), len(xs)
    body = Builder("step")
    inner = tracing.Trace(body, kind="scan")
    params = []
    for k, v in enumerate(values):
        t = _ir_type(v)
        if nc <= k < nc + nx:
            t = TensorType(t.shape[1:], t.dtype)
        params.append(inner.wrap(body.param(f"p{k}", t)))
    for k, c in enumerate(consts):
        if isinstance(c, Variable):  # reads of it inside the step
            inner.current[c.key] = params[nc + nx + k].value
    with inner:
        new, ys = step(params[:nc], params[nc:nc + nx], params[nc + nx:])
    new, ys = list(new), list(ys)
    if inner.updates or inner.variables:
        names = sorted(set(inner.updates) | set(inner.variables))
        raise ValueError(
            "A recurrent step cannot read or assign variables it was not "
            f"given: {names}. Pass the variables the step reads as constants.")
    if len(new) != nc:
        raise ValueError(
            f"The recurrent step returned {len(new)} states for {nc} initial "
            "states.")
    results = []
    for k, (n, p) in enumerate(zip(new, params[:nc])):
        n = _inner_value(inner, n, p.value.type)
        if n.type != p.value.type:
            raise ValueError(
                f"State {k} of the recurrent step changes from "
                f"{ops.to_keras(p.value.shape)} {p.value.dtype.long_name} to "
                f"{ops.to_keras(n.shape)} {n.dtype.long_name}: a state keeps "
                "its shape and dtype.")
        results.append(n)
    ys = [_inner_value(inner, y) for y in ys]
    if emit_carries:
        ys = ys + [p.value for p in params[:nc]]
    fn = body.build(results + ys)
    out = ops._apply("scan", *values, body=fn, num_carry=nc, num_xs=nx,
                     length=int(length), reverse=bool(reverse))
    out = list(out) if isinstance(out, tuple) else [out]
    return out[:nc], out[nc:]


def _inner_value(inner, x, want: TensorType | None = None):
    """x as a Value of the body (constants become body constants)."""
    if isinstance(x, TracedTensor):
        if x.trace is not inner:
            raise ValueError(
                "The recurrent step used a tensor from outside the loop; pass "
                "it as a constant instead.")
        return x.value
    arr = np.asarray(x, dtype=None if want is None else want.dtype.np)
    v = inner.builder.constant(arr)
    if want is not None and v.shape != want.shape:
        v = inner.builder.broadcast_to(v, shape=want.shape)
    return v


# --- dropout masks -------------------------------------------------------------


def _dropout_masks(like, rate, count, seed_generator):
    """`count` dropout masks (1 / (1 - rate) or 0) of like's shape."""
    ones = ops.ones_like(like)
    return [random_module.dropout(ones, rate, seed=seed_generator)
            for _ in range(count)]


def _step_input(x):
    """The first time step of a time-major (T, N, F) sequence, (N, F)."""
    return x[0]


class DropoutRNNCell:
    """Dropout configuration shared by the built-in cells: `dropout` on the
    inputs and `recurrent_dropout` on the previous state, each mask drawn
    once per batch (per call of the RNN) and used by every step."""

    def _masks(self, training, x_step, h_like):
        count = 1 if self.recurrent_dropout == 0.0 else self._gates
        dp = rdp = None
        if training and 0.0 < self.dropout < 1.0:
            dp = _dropout_masks(x_step, self.dropout, count, self.seed_generator)
        if training and 0.0 < self.recurrent_dropout < 1.0:
            rdp = _dropout_masks(h_like, self.recurrent_dropout, count,
                                 self.seed_generator)
        return dp, rdp


def _split_gates(t, gates: int, units: int) -> list:
    """The gate column blocks of t (N, gates * units), each as a (N, 1,
    units) slice of the (N, gates, units) view of t. The gate arithmetic
    then runs in that 3-D space (_as3 / _as2 are free views), and its
    gradient assembles the blocks along the middle axis, which vectorises
    (blocks of the last axis would make every element select among all
    the blocks)."""
    t3 = ops.reshape(t, (ops.shape(t)[0], gates, units))
    return [t3[:, k:k + 1, :] for k in range(gates)]


def _as3(x):
    return ops.reshape(x, (ops.shape(x)[0], 1, ops.shape(x)[-1]))


def _as2(x):
    return ops.reshape(x, (ops.shape(x)[0], ops.shape(x)[-1]))


def _output_gradient(activation) -> bool:
    """Whether the activation's gradient reads only its output (so that
    saving the output spares recomputing it in the gradient's loop)."""
    return activations.serialize(activation) in ("sigmoid", "tanh")


def _rate(v):
    return min(1.0, max(0.0, float(v)))


def _check_units(units):
    if not isinstance(units, (int, np.integer)) or isinstance(units, bool) or \
            units <= 0:
        raise ValueError(
            "Received an invalid value for argument `units`, expected a "
            f"positive integer, got {units}.")
    return int(units)


# --- cells ---------------------------------------------------------------------


class _BuiltinCell(Layer, DropoutRNNCell):
    """What the three built-in cells share: Keras's arguments, weights and
    the split of a step into the projection outside the loop and the
    recurrent part inside it."""

    _gates = 1

    def __init__(self, units, activation="tanh", recurrent_activation="sigmoid",
                 use_bias=True, kernel_initializer="glorot_uniform",
                 recurrent_initializer="orthogonal", bias_initializer="zeros",
                 kernel_regularizer=None, recurrent_regularizer=None,
                 bias_regularizer=None, kernel_constraint=None,
                 recurrent_constraint=None, bias_constraint=None, dropout=0.0,
                 recurrent_dropout=0.0, seed=None, **kwargs):
        self.implementation = kwargs.pop("implementation", 2)
        super().__init__(**kwargs)
        self.units = _check_units(units)
        self.activation = activations.get(activation)
        self.recurrent_activation = activations.get(recurrent_activation)
        self.use_bias = use_bias
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.recurrent_initializer = initializers.get(recurrent_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.recurrent_regularizer = regularizers.get(recurrent_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.kernel_constraint = constraints.get(kernel_constraint)
        self.recurrent_constraint = constraints.get(recurrent_constraint)
        self.bias_constraint = constraints.get(bias_constraint)
        self.dropout = _rate(dropout)
        self.recurrent_dropout = _rate(recurrent_dropout)
        if self.recurrent_dropout != 0.0:
            self.implementation = 1
        self.seed = seed
        self.seed_generator = random_module.SeedGenerator(seed)
        self.output_size = self.units
        # The recurrent products of a step: in training the RNN returns them
        # from the loop too, so the gradient's loop reads them instead of
        # multiplying again (ir/ops/scan.py, residuals).
        self._residuals = []

    def _weights(self, input_dim, bias_shape, bias_init=None):
        g = self._gates
        self.kernel = self.add_weight(
            shape=(input_dim, self.units * g), name="kernel",
            initializer=self.kernel_initializer,
            regularizer=self.kernel_regularizer,
            constraint=self.kernel_constraint)
        self.recurrent_kernel = self.add_weight(
            shape=(self.units, self.units * g), name="recurrent_kernel",
            initializer=self.recurrent_initializer,
            regularizer=self.recurrent_regularizer,
            constraint=self.recurrent_constraint)
        if self.use_bias:
            self.bias = self.add_weight(
                shape=bias_shape, name="bias",
                initializer=bias_init or self.bias_initializer,
                regularizer=self.bias_regularizer,
                constraint=self.bias_constraint)
        else:
            self.bias = None

    # the projection of every time step, outside the loop
    def _input_bias(self):
        return self.bias

    def _project(self, x, dp):
        """x (..., F) -> x @ kernel + input bias, (..., gates * units),
        with the input dropout masks dp (one, or one per gate)."""
        kernel = ops.convert_to_tensor(self.kernel)
        if dp is None:
            z = ops.matmul(x, kernel)
        elif len(dp) == 1:
            z = ops.matmul(ops.multiply(x, dp[0]), kernel)
        else:
            u = self.units
            z = ops.concatenate(
                [ops.matmul(ops.multiply(x, m), kernel[:, k * u:(k + 1) * u])
                 for k, m in enumerate(dp)], axis=-1)
        b = self._input_bias()
        return z if b is None else ops.add(z, b)

    def _recurrent(self, h, k_rec, rdp, note=True):
        """h @ recurrent kernel, with the recurrent dropout masks (one, or
        one per gate); the product is noted as a residual (see rnn_parts)
        unless `note` is False."""
        if rdp is None:
            r = ops.matmul(h, k_rec)
        elif len(rdp) == 1:
            r = ops.matmul(ops.multiply(h, rdp[0]), k_rec)
        else:
            u = self.units
            r = ops.concatenate(
                [ops.matmul(ops.multiply(h, m), k_rec[:, k * u:(k + 1) * u])
                 for k, m in enumerate(rdp)], axis=-1)
        if note:
            self._residuals.append(r)
        return r

    def rnn_parts(self, sequences, h_like, training):
        """(projected sequences (T, N, K) list, constants list, step) for
        RNN, from time-major sequences (T, N, F): step(states,
        proj_slices, consts) -> (output, new_states)."""
        dp, rdp = self._masks(training, _step_input(sequences), h_like)
        if dp is not None:
            dp = [ops.expand_dims(m, 0) for m in dp]  # shared by all steps
        proj = self._project(sequences, dp)
        consts = [ops.convert_to_tensor(self.recurrent_kernel)]
        consts += self._extra_consts()
        n_rdp = 0 if rdp is None else len(rdp)
        consts += list(rdp or [])
        n_extra = len(consts) - 1 - n_rdp

        def step(states, xs, ks):
            rd = ks[1 + n_extra:] or None
            return self._step(states, xs[0], ks[0], ks[1:1 + n_extra], rd)

        return [proj], consts, step


    def _extra_consts(self):
        return []

    def call(self, inputs, states, training=False):
        """One step on (N, input_dim) inputs, as the Keras cell."""
        self._residuals = []
        states = list(states) if isinstance(states, (list, tuple)) else [states]
        dp, rdp = self._masks(training, inputs, states[0])
        z = self._project(inputs, dp)
        extra = [ops.convert_to_tensor(e) for e in self._extra_consts()]
        out, new = self._step(states, z, ops.convert_to_tensor(
            self.recurrent_kernel), extra, rdp)
        return out, new

    def get_initial_state(self, batch_size=None):
        sizes = self.state_size if isinstance(self.state_size, list) else \
            [self.state_size]
        return [ops.zeros((batch_size, d), dtype=self._tensor_dtype)
                for d in sizes]

    def get_config(self):
        return {
            **super().get_config(),
            "units": self.units,
            "activation": activations.serialize(self.activation),
            "recurrent_activation": activations.serialize(
                self.recurrent_activation),
            "use_bias": self.use_bias,
            "kernel_initializer": _ser(self.kernel_initializer, initializers),
            "recurrent_initializer": _ser(self.recurrent_initializer,
                                          initializers),
            "bias_initializer": _ser(self.bias_initializer, initializers),
            "kernel_regularizer": _ser(self.kernel_regularizer, regularizers),
            "recurrent_regularizer": _ser(self.recurrent_regularizer,
                                          regularizers),
            "bias_regularizer": _ser(self.bias_regularizer, regularizers),
            "kernel_constraint": _ser(self.kernel_constraint, constraints),
            "recurrent_constraint": _ser(self.recurrent_constraint,
                                         constraints),
            "bias_constraint": _ser(self.bias_constraint, constraints),
            "dropout": self.dropout,
            "recurrent_dropout": self.recurrent_dropout,
            "seed": self.seed,
        }


class SimpleRNNCell(_BuiltinCell):
    """Cell of SimpleRNN: h' = activation(x @ kernel + bias + h @
    recurrent_kernel). Arguments as SimpleRNN's."""

    def __init__(self, units, activation="tanh", use_bias=True, **kwargs):
        kwargs.pop("recurrent_activation", None)
        super().__init__(units, activation=activation, use_bias=use_bias,
                         **kwargs)
        self.state_size = self.units

    def build(self, input_shape):
        self._weights(input_shape[-1], (self.units,))

    def _step(self, states, z, k_rec, extra, rdp):
        h = self.activation(ops.add(z, self._recurrent(states[0], k_rec, rdp)))
        return h, [h]

    def get_config(self):
        config = super().get_config()
        config.pop("recurrent_activation")
        return config


class LSTMCell(_BuiltinCell):
    """Cell of LSTM (gates i, f, c, o; kernel (input_dim, 4 units)).
    Arguments as LSTM's."""

    _gates = 4

    def __init__(self, units, unit_forget_bias=True, **kwargs):
        super().__init__(units, **kwargs)
        self.unit_forget_bias = unit_forget_bias
        self.state_size = [self.units, self.units]

    def build(self, input_shape):
        init = None
        if self.use_bias and self.unit_forget_bias:
            base, u = self.bias_initializer, self.units

            def init(shape, dtype=None):
                return np.concatenate([
                    np.asarray(base((u,), dtype=dtype)), np.ones(u, dtype),
                    np.asarray(base((2 * u,), dtype=dtype))])

        self._weights(input_shape[-1], (4 * self.units,), init)

    def _step(self, states, z, k_rec, extra, rdp):
        h, c = states[0], states[1]
        u = self.units
        # With sigmoid / tanh (whose gradients read their outputs) the
        # gates' activations and tanh(c) are the residuals: the gradient's
        # loop then recomputes nothing (no exp or division per element);
        # other activations may read their inputs, so the product is kept
        saved = _output_gradient(self.activation) and _output_gradient(
            self.recurrent_activation)
        r = self._recurrent(h, k_rec, rdp, note=not saved)
        # slice before adding: each gate stays in the (N, 1, units) space
        # of the state, so the step's pointwise work is one loop
        gate = [ops.add(a, b) for a, b in zip(_split_gates(z, 4, u),
                                              _split_gates(r, 4, u))]
        i = self.recurrent_activation(gate[0])
        f = self.recurrent_activation(gate[1])
        g = self.activation(gate[2])
        c = ops.add(ops.multiply(f, _as3(c)), ops.multiply(i, g))
        o = self.recurrent_activation(gate[3])
        tc = self.activation(c)
        h = _as2(ops.multiply(o, tc))
        if saved:
            self._residuals += [i, f, g, o, tc]
        return h, [h, _as2(c)]

    def get_config(self):
        return {**super().get_config(), "unit_forget_bias": self.unit_forget_bias}


class GRUCell(_BuiltinCell):
    """Cell of GRU (gates z, r, h; kernel (input_dim, 3 units); with
    reset_after=True the bias is (2, 3 units): input and recurrent).
    Arguments as GRU's."""

    _gates = 3

    def __init__(self, units, reset_after=True, **kwargs):
        super().__init__(units, **kwargs)
        self.reset_after = reset_after
        self.state_size = self.units

    def build(self, input_shape):
        shape = (2, 3 * self.units) if self.reset_after else (3 * self.units,)
        self._weights(input_shape[-1], shape)

    def _input_bias(self):
        if self.bias is None:
            return None
        b = ops.convert_to_tensor(self.bias)
        return b[0] if self.reset_after else b

    def _extra_consts(self):
        if self.bias is None or not self.reset_after:
            return []
        return [ops.convert_to_tensor(self.bias)[1]]

    def _step(self, states, x, k_rec, extra, rdp):
        h = states[0]
        u = self.units
        xz, xr, xh = _split_gates(x, 3, u)
        if self.reset_after:
            inner = self._recurrent(h, k_rec, rdp)
            if extra:
                inner = ops.add(inner, extra[0])
            rz, rr, rh = _split_gates(inner, 3, u)
            z = self.recurrent_activation(ops.add(xz, rz))
            r = self.recurrent_activation(ops.add(xr, rr))
            hh = self.activation(ops.add(xh, ops.multiply(r, rh)))
            h3 = _as3(h)
            h = _as2(ops.add(ops.multiply(z, h3),
                             ops.multiply(ops.subtract(1.0, z), hh)))
        else:
            xz, xr, xh = _as2(xz), _as2(xr), _as2(xh)
            if rdp is not None and len(rdp) == 3:
                rz = ops.matmul(ops.multiply(h, rdp[0]), k_rec[:, :u])
                rr = ops.matmul(ops.multiply(h, rdp[1]), k_rec[:, u:2 * u])
                hr = ops.multiply(h, rdp[2])
            else:
                hd = h if rdp is None else ops.multiply(h, rdp[0])
                inner = ops.matmul(hd, k_rec[:, :2 * u])
                self._residuals.append(inner)
                rz, rr = (_as2(g) for g in _split_gates(inner, 2, u))
                hr = hd
            z = self.recurrent_activation(ops.add(xz, rz))
            r = self.recurrent_activation(ops.add(xr, rr))
            hh = self.activation(ops.add(xh, ops.matmul(ops.multiply(r, hr),
                                                        k_rec[:, 2 * u:])))
            h = ops.add(ops.multiply(z, h),
                        ops.multiply(ops.subtract(1.0, z), hh))
        return h, [h]

    def get_config(self):
        return {**super().get_config(), "reset_after": self.reset_after}


# --- the RNN layer --------------------------------------------------------------


class _StateVariable(Variable):
    """A stateful RNN's state: stored at the fixed batch size, typed with
    the batch symbol N in programs, so that a batch of another size is
    refused with the runtime's message rather than mis-read."""

    @property
    def shape(self) -> tuple:
        return (None,) + tuple(self._shape[1:])

    @property
    def ir_type(self) -> TensorType:
        return TensorType(("N",) + tuple(self._shape[1:]), self._dtype)


def _scope_paths(variables, scope: str) -> None:
    """Prefix the paths of a sublayer's variables with the owner's name
    (Keras's name scopes: "lstm/lstm_cell/kernel"), so that two RNNs'
    cells, which share the name "lstm_cell", never share a weight path."""
    for v in variables:
        # built inside the owner's name scope, the path has it already
        if f"/{scope}/" not in f"/{v.path}":
            v.path = f"{scope}/{v.path}"


def _zeros_state(x, size, dtype):
    if isinstance(x, TracedTensor):  # the batch of x: N, or a fixed size
        return ops.zeros((ops.shape(x)[0], size), dtype=dtype)
    return np.zeros((np.shape(x)[0], size), dtype)


def _cell_sizes(cell) -> list:
    sizes = cell.state_size
    return [sizes] if isinstance(sizes, int) else list(tree.flatten(sizes))


def _cell_output_size(cell) -> int:
    if getattr(cell, "output_size", None) is not None:
        return cell.output_size
    return _cell_sizes(cell)[0]


class StackedRNNCells(Layer):
    """Wrapper allowing a stack of RNN cells to behave as a single cell:
    each step runs the cells in order, each on the output of the one
    before. `RNN([cell_1, cell_2])` makes one.

    Args:
        cells: a list of RNN cells.

    Its states are the cells' states one after the other (`state_size`
    lists them flat), so `RNN(..., return_state=True)` returns the output
    and then every cell's final states.

    Example:
        >>> cells = [keras.layers.LSTMCell(8), keras.layers.LSTMCell(4)]
        >>> rnn = keras.layers.RNN(keras.layers.StackedRNNCells(cells))
        >>> rnn(np.ones((2, 5, 3), "float32")).shape
        (2, 4)
    """

    def __init__(self, cells, **kwargs):
        super().__init__(**kwargs)
        for cell in cells:
            if "call" not in dir(cell) or "state_size" not in dir(cell):
                raise ValueError(
                    "All cells must have a `call` method and a `state_size` "
                    f"attribute. Received cells={cells}")
        self.cells = list(cells)

    @property
    def state_size(self):
        return [d for cell in self.cells for d in _cell_sizes(cell)]

    def group_states(self, flat: list) -> list:
        """Flat states grouped per cell as Keras 3 returns them: a list for
        a cell with several states, the tensor for a cell with one."""
        out = []
        for cell in self.cells:
            n = len(_cell_sizes(cell))
            mine, flat = list(flat[:n]), flat[n:]
            out.append(mine[0] if isinstance(cell.state_size, int) else mine)
        return out

    @property
    def output_size(self):
        return _cell_output_size(self.cells[-1])

    def build(self, input_shape):
        batch = tuple(input_shape)[0]
        for cell in self.cells:
            if isinstance(cell, Layer) and not cell.built:
                cell.build(tuple(input_shape))
                cell.built = True
            input_shape = (batch, _cell_output_size(cell))
        self.built = True

    def call(self, inputs, states, training=False):
        states = list(states)
        new_states = []
        for cell in self.cells:
            n = len(_cell_sizes(cell))
            mine, states = states[:n], states[n:]
            kwargs = {}
            if isinstance(cell, Layer) and cell._accepts("training"):
                kwargs["training"] = training
            inputs, new = cell.call(inputs, mine, **kwargs)
            new_states += list(new) if isinstance(new, (list, tuple)) \
                else [new]
        return inputs, new_states

    def get_config(self):
        from ..saving.serialization_lib import serialize_keras_object

        return {**super().get_config(),
                "cells": [serialize_keras_object(c) for c in self.cells]}

    @classmethod
    def from_config(cls, config, custom_objects=None):
        from ..saving.serialization_lib import deserialize_keras_object

        config = dict(config)
        cells = [deserialize_keras_object(c, custom_objects=custom_objects)
                 for c in config.pop("cells")]
        return cls(cells, **config)


class RNN(Layer):
    """Base class for recurrent layers: runs `cell` over the time axis.

    Args:
        cell: a cell (a layer with `call(inputs, states)`, `state_size`
            and optionally `output_size`), e.g. LSTMCell.
        return_sequences: return the whole output sequence (default: the
            last output only).
        return_state: also return the final states.
        go_backwards: process the sequence backwards (the output sequence
            then comes in processing order).
        stateful: keep the final states of a batch as the initial states
            of the next (needs a fixed batch size).
        unroll: accepted for compatibility; the loop always runs natively.
        zero_output_for_mask: output zeros at masked steps instead of the
            previous output.

    Call arguments: `sequences` (batch, timesteps, features),
    `initial_state` (a list of state tensors), `mask` (batch, timesteps)
    booleans, `training`.
    """

    def __init__(self, cell, return_sequences=False, return_state=False,
                 go_backwards=False, stateful=False, unroll=False,
                 zero_output_for_mask=False, **kwargs):
        if isinstance(cell, (list, tuple)):
            cell = StackedRNNCells(cell)
        if not hasattr(cell, "call") or not hasattr(cell, "state_size"):
            raise ValueError(
                "Argument `cell` should have a `call` method and a "
                f"`state_size` attribute. Received: cell={cell}")
        super().__init__(**kwargs)
        self.cell = cell
        self.return_sequences = bool(return_sequences)
        self.return_state = bool(return_state)
        self.go_backwards = bool(go_backwards)
        self.stateful = bool(stateful)
        self.unroll = bool(unroll)
        self.zero_output_for_mask = bool(zero_output_for_mask)
        self.supports_masking = True
        self.input_spec = None
        self.states = None
        self._batch_size = None
        sizes = cell.state_size
        if not isinstance(sizes, (list, tuple, int)):
            raise ValueError(  # noqa: TRY004  (Keras raises ValueError)
                "state_size must be an integer, or a list/tuple of integers "
                "(one for each state tensor).")
        self.state_size = [sizes] if isinstance(sizes, int) else list(
            tree.flatten(sizes))
        self.single_state = isinstance(sizes, int)

    # --- building -----------------------------------------------------------------

    def build(self, sequences_shape, initial_state_shape=None):
        if isinstance(sequences_shape, list) and sequences_shape and isinstance(
                sequences_shape[0], (list, tuple)):
            sequences_shape = sequences_shape[0]
        sequences_shape = tuple(sequences_shape)
        if len(sequences_shape) != 3:
            raise ValueError(
                f'Input 0 of layer "{self.name}" is incompatible with the '
                f"layer: expected ndim=3, found ndim={len(sequences_shape)}. "
                f"Full shape received: {sequences_shape}")
        if isinstance(self.cell, Layer) and not self.cell.built:
            self.cell.build((sequences_shape[0],) + sequences_shape[2:])
            self.cell.built = True
            _scope_paths(self.cell.weights, self.name)
        if self.stateful:
            if sequences_shape[0] is None:
                raise ValueError(
                    "When using `stateful=True` in a RNN, the batch size must "
                    "be static. Found dynamic batch size: sequence.shape="
                    f"{sequences_shape}. Give Input(batch_size=...) or "
                    "batch_input_shape.")
            self._batch_size = int(sequences_shape[0])
            self.states = [
                _StateVariable(np.zeros((self._batch_size, d), "float32"),
                               trainable=False, name="rnn_state",
                               path=f"{self.name}/rnn_state")
                for d in self.state_size]

    def reset_state(self):
        if self.states is not None:
            for v in self.states:
                v.assign(np.zeros(v._shape, v.dtype))

    reset_states = reset_state

    def get_initial_state(self, batch_size):
        fn = getattr(self.cell, "get_initial_state", None)
        if fn is not None:
            out = fn(batch_size=batch_size)
            return list(out) if isinstance(out, (list, tuple)) else [out]
        return [ops.zeros((batch_size, d)) for d in self.state_size]

    # --- calling --------------------------------------------------------------------

    def compute_mask(self, _, mask):
        mask = tree.flatten(mask)[0] if mask is not None else None
        out = mask if self.return_sequences else None
        if self.return_state:
            return [out] + self._group([None for _ in self.state_size])
        return out

    def _group(self, states: list) -> list:
        group = getattr(self.cell, "group_states", None)
        return group(states) if group is not None else states

    def call(self, sequences, initial_state=None, mask=None, training=False):
        if isinstance(mask, (list, tuple)):
            mask = mask[0] if mask else None
        shape = ops.shape(sequences)
        if mask is not None and tuple(ops.shape(mask))[1:] == (shape[1], 1):
            mask = ops.squeeze(mask, axis=-1)  # (batch, timesteps, 1) masks
        if mask is not None and tuple(ops.shape(mask))[1:] != (shape[1],):
            raise ValueError(
                f'Layer "{self.name}": the mask must have shape (batch_size, '
                f"timesteps) = {(shape[0], shape[1])}, received shape "
                f"{tuple(ops.shape(mask))}.")
        length = shape[1]
        if length is None:
            raise ValueError(
                f'Layer "{self.name}" needs a fixed number of timesteps, '
                f"received sequences of shape {shape}. Give the time dimension "
                "a size in Input(shape=...).")
        dtype = self._tensor_dtype
        trace = tracing.current_trace()
        # a shape-only trace of a fixed-size batch: the states' program type
        # has the batch symbol N, so zeros stand in for them there
        spec = trace is not None and trace.kind == "spec" and \
            shape[0] is not None
        if initial_state is None:
            if self.stateful and not spec:
                if trace is not None and shape[0] is not None:
                    raise ValueError(
                        f'Stateful layer "{self.name}" cannot be traced with '
                        f"a fixed batch size ({shape[0]}); its states are "
                        "bound to the batch of the program's inputs.")
                initial_state = [v.value for v in self.states]
            else:
                initial_state = [_zeros_state(sequences, d, dtype)
                                 for d in self.state_size]
        else:
            # (stacked cells take their states nested per cell)
            initial_state = tree.flatten(initial_state) if isinstance(
                initial_state, (list, tuple)) else [initial_state]
            if len(initial_state) != len(self.state_size):
                raise ValueError(
                    f'Layer "{self.name}" has {len(self.state_size)} state(s) '
                    f"but was passed {len(initial_state)} initial state(s).")
            initial_state = [ops.cast(s, dtype) for s in initial_state]
            for k, (st, d) in enumerate(zip(initial_state, self.state_size)):
                got = tuple(ops.shape(st))
                if len(got) != 2 or got[1] != d:
                    raise ValueError(
                        f'Layer "{self.name}": initial state {k} must have '
                        f"shape (batch_size, {d}), received shape {got}.")
        if self.stateful and self._batch_size is not None and \
                shape[0] is not None and shape[0] != self._batch_size:
            raise ValueError(
                "If an RNN is stateful, the batch size of the input sequences "
                "must be the same as the batch size of the initial state. \n"
                f"- Expected batch size: {self._batch_size}\n"
                f"- Received batch size: {shape[0]}")
        if initial_state and isinstance(sequences, TracedTensor) and any(
                not isinstance(s, TracedTensor) for s in initial_state):
            # constant initial states: broadcast to the traced batch
            initial_state = [s if isinstance(s, TracedTensor) else ops.add(
                _zeros_state(sequences, d, dtype), s)
                for s, d in zip(initial_state, self.state_size)]

        # time-major sequences: each step reads one contiguous slice
        time_major = ops.transpose(sequences, (1, 0, 2))
        parts = getattr(self.cell, "rnn_parts", None)
        if parts is not None:
            seqs, consts, core = parts(time_major, initial_state[0], training)
        else:
            seqs, consts, core = [time_major], list(self.cell.weights), \
                self._generic_step(training)
        nseq = len(seqs)
        if mask is not None:
            m = ops.cast(mask, "bool")
            seqs.append(ops.expand_dims(ops.transpose(m, (1, 0)), -1))
        builtin = parts is not None
        # the last output is the first state for the built-in cells (also
        # at masked steps), unless masked steps output zeros
        need_ys = self.return_sequences or not builtin or (
            mask is not None and self.zero_output_for_mask)
        zero_out = self.zero_output_for_mask

        cell = self.cell

        def step(states, xs, ks):
            cell._residuals = []
            out, new = core(list(states), xs[:nseq], ks)
            new = list(new) if isinstance(new, (list, tuple)) else [new]
            if mask is not None:
                keep = xs[nseq]
                new = [ops.where(keep, n, s) for n, s in zip(new, states)]
                prev = ops.zeros_like(out) if zero_out else states[0]
                out = ops.where(keep, out, prev)
            res = list(cell._residuals) if training and builtin else []
            cell._residuals = []
            return new, ([out] if need_ys else []) + res

        final, ys = scan(step, initial_state, seqs, consts,
                         length=length, reverse=self.go_backwards,
                         emit_carries=bool(training))
        if self.stateful and not spec:
            for v, s in zip(self.states, final):
                v.assign(s)
        if self.return_sequences:
            out = ys[0]
            if self.go_backwards:  # Keras: outputs in processing order
                out = ops.flip(out, axis=0)
            output = ops.transpose(out, (1, 0, 2))
        elif need_ys:
            output = ys[0][0 if self.go_backwards else length - 1]
        else:
            output = final[0]
        if self.return_state:
            return [output] + self._group(list(final))
        return output

    def _generic_step(self, training):
        cell = self.cell
        kwargs = {}
        if isinstance(cell, Layer) and cell._accepts("training"):
            kwargs["training"] = training

        def core(states, xs, ks):
            # Keras hands a cell its states as a list, also a single one
            out, new = cell.call(xs[0], list(states), **kwargs)
            return out, new

        return core

    def compute_output_shape(self, sequences_shape, initial_state_shape=None):
        batch, length = sequences_shape[0], sequences_shape[1]
        size = getattr(self.cell, "output_size", None) or self.state_size[0]
        out = (batch, length, size) if self.return_sequences else (batch, size)
        if self.return_state:
            return [out] + self._group([(batch, d) for d in self.state_size])
        return out

    def get_config(self):
        from ..saving.serialization_lib import serialize_keras_object

        return {
            **super().get_config(),
            "return_sequences": self.return_sequences,
            "return_state": self.return_state,
            "go_backwards": self.go_backwards,
            "stateful": self.stateful,
            "unroll": self.unroll,
            "zero_output_for_mask": self.zero_output_for_mask,
            "cell": serialize_keras_object(self.cell),
        }

    @classmethod
    def from_config(cls, config, custom_objects=None):
        from ..saving.serialization_lib import deserialize_keras_object

        config = dict(config)
        cell = deserialize_keras_object(config.pop("cell"),
                                        custom_objects=custom_objects)
        return cls(cell, **config)


_CELL_ARGS = ("units", "activation", "recurrent_activation", "use_bias",
              "kernel_initializer", "recurrent_initializer",
              "bias_initializer", "kernel_regularizer",
              "recurrent_regularizer", "bias_regularizer",
              "kernel_constraint", "recurrent_constraint", "bias_constraint",
              "dropout", "recurrent_dropout", "seed")


class _BuiltinRNN(RNN):
    """SimpleRNN, LSTM and GRU: an RNN over their own cell, with the
    cell's arguments as properties and a flat Keras config."""

    _cell_class = None
    _cell_name = ""

    def __init__(self, cell_kwargs, return_sequences=False, return_state=False,
                 go_backwards=False, stateful=False, unroll=False,
                 activity_regularizer=None, **kwargs):
        kwargs.pop("use_cudnn", None)
        cell = self._cell_class(
            dtype=kwargs.get("dtype"), trainable=kwargs.get("trainable", True),
            name=self._cell_name, implementation=kwargs.pop("implementation", 2),
            **cell_kwargs)
        super().__init__(cell, return_sequences=return_sequences,
                         return_state=return_state, go_backwards=go_backwards,
                         stateful=stateful, unroll=unroll,
                         activity_regularizer=activity_regularizer, **kwargs)
        self.input_spec = InputSpec(ndim=3)

    def __getattr__(self, name):
        # the cell's arguments read through the layer (layer.units, ...)
        if name in _CELL_ARGS or name in ("unit_forget_bias", "reset_after"):
            cell = self.__dict__.get("cell")
            if cell is not None:
                return getattr(cell, name)
        raise AttributeError(
            f"'{type(self).__name__}' object has no attribute '{name}'")

    def get_config(self):
        config = super().get_config()
        config.pop("cell")
        cell = self.cell.get_config()
        for k in ("name", "trainable", "dtype"):
            cell.pop(k, None)
        config.update(cell)
        config["activity_regularizer"] = _ser(self.activity_regularizer,
                                              regularizers)
        return config

    @classmethod
    def from_config(cls, config, custom_objects=None):
        return cls(**config)


class SimpleRNN(_BuiltinRNN):
    """Fully-connected RNN where the output is fed back as the next input:
    h_t = activation(x_t @ kernel + h_{t-1} @ recurrent_kernel + bias).

    Args:
        units: dimensionality of the output space.
        activation: default "tanh".
        use_bias, kernel_initializer ("glorot_uniform"),
        recurrent_initializer ("orthogonal"), bias_initializer ("zeros"),
        the regularizers and constraints, dropout, recurrent_dropout, seed;
        and RNN's return_sequences, return_state, go_backwards, stateful,
        unroll.

    Example:
        >>> SimpleRNN(4)(np.ones((2, 3, 5), "float32")).shape
        (2, 4)
    """

    _cell_class, _cell_name = SimpleRNNCell, "simple_rnn_cell"

    def __init__(self, units, activation="tanh", use_bias=True,
                 kernel_initializer="glorot_uniform",
                 recurrent_initializer="orthogonal", bias_initializer="zeros",
                 kernel_regularizer=None, recurrent_regularizer=None,
                 bias_regularizer=None, activity_regularizer=None,
                 kernel_constraint=None, recurrent_constraint=None,
                 bias_constraint=None, dropout=0.0, recurrent_dropout=0.0,
                 return_sequences=False, return_state=False,
                 go_backwards=False, stateful=False, unroll=False, seed=None,
                 **kwargs):
        cell_kwargs = {k: v for k, v in locals().items() if k in _CELL_ARGS
                       and k != "recurrent_activation"}
        super().__init__(cell_kwargs, return_sequences=return_sequences,
                         return_state=return_state, go_backwards=go_backwards,
                         stateful=stateful, unroll=unroll,
                         activity_regularizer=activity_regularizer, **kwargs)


class LSTM(_BuiltinRNN):
    """Long Short-Term Memory layer (Hochreiter 1997), Keras 3's.

    Args:
        units: dimensionality of the output space.
        activation: default "tanh"; recurrent_activation: default
            "sigmoid".
        use_bias, kernel_initializer ("glorot_uniform"),
        recurrent_initializer ("orthogonal"), bias_initializer ("zeros"),
        unit_forget_bias (True: the forget gate's bias starts at 1), the
        regularizers and constraints, dropout, recurrent_dropout, seed;
        and RNN's return_sequences, return_state, go_backwards, stateful,
        unroll. Weights: kernel (input_dim, 4 units), recurrent_kernel
        (units, 4 units), bias (4 units), gates in the order i, f, c, o.

    Example:
        >>> LSTM(4, return_sequences=True)(np.ones((2, 3, 5), "float32")).shape
        (2, 3, 4)
    """

    _cell_class, _cell_name = LSTMCell, "lstm_cell"

    def __init__(self, units, activation="tanh", recurrent_activation="sigmoid",
                 use_bias=True, kernel_initializer="glorot_uniform",
                 recurrent_initializer="orthogonal", bias_initializer="zeros",
                 unit_forget_bias=True, kernel_regularizer=None,
                 recurrent_regularizer=None, bias_regularizer=None,
                 activity_regularizer=None, kernel_constraint=None,
                 recurrent_constraint=None, bias_constraint=None, dropout=0.0,
                 recurrent_dropout=0.0, seed=None, return_sequences=False,
                 return_state=False, go_backwards=False, stateful=False,
                 unroll=False, use_cudnn="auto", **kwargs):
        cell_kwargs = {k: v for k, v in locals().items() if k in _CELL_ARGS}
        cell_kwargs["unit_forget_bias"] = unit_forget_bias
        super().__init__(cell_kwargs, return_sequences=return_sequences,
                         return_state=return_state, go_backwards=go_backwards,
                         stateful=stateful, unroll=unroll,
                         activity_regularizer=activity_regularizer, **kwargs)
        self.use_cudnn = use_cudnn


class GRU(_BuiltinRNN):
    """Gated Recurrent Unit (Cho et al. 2014), Keras 3's: reset_after=True
    by default (the reset gate applied after the recurrent matmul, with a
    separate recurrent bias: bias shape (2, 3 units)).

    Args:
        units: dimensionality of the output space.
        activation ("tanh"), recurrent_activation ("sigmoid"), use_bias,
        kernel_initializer ("glorot_uniform"), recurrent_initializer
        ("orthogonal"), bias_initializer ("zeros"), the regularizers and
        constraints, dropout, recurrent_dropout, seed, reset_after; and
        RNN's return_sequences, return_state, go_backwards, stateful,
        unroll. Gates in the order z, r, h.

    Example:
        >>> GRU(4)(np.ones((2, 3, 5), "float32")).shape
        (2, 4)
    """

    _cell_class, _cell_name = GRUCell, "gru_cell"

    def __init__(self, units, activation="tanh", recurrent_activation="sigmoid",
                 use_bias=True, kernel_initializer="glorot_uniform",
                 recurrent_initializer="orthogonal", bias_initializer="zeros",
                 kernel_regularizer=None, recurrent_regularizer=None,
                 bias_regularizer=None, activity_regularizer=None,
                 kernel_constraint=None, recurrent_constraint=None,
                 bias_constraint=None, dropout=0.0, recurrent_dropout=0.0,
                 seed=None, return_sequences=False, return_state=False,
                 go_backwards=False, stateful=False, unroll=False,
                 reset_after=True, use_cudnn="auto", **kwargs):
        cell_kwargs = {k: v for k, v in locals().items() if k in _CELL_ARGS}
        cell_kwargs["reset_after"] = reset_after
        super().__init__(cell_kwargs, return_sequences=return_sequences,
                         return_state=return_state, go_backwards=go_backwards,
                         stateful=stateful, unroll=unroll,
                         activity_regularizer=activity_regularizer, **kwargs)
        self.use_cudnn = use_cudnn
