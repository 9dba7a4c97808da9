"""Convolutional LSTM layers: ConvLSTM1D, ConvLSTM2D, ConvLSTM3D and their
cell, Keras 3's (Shi et al. 2015, without the peephole connections).

An LSTM whose input-to-gate and state-to-gate products are convolutions:
the states h and c are images (batch, *spatial', filters). The recurrence
is one `scan` node (ir/ops/scan.py) as for LSTM (layers/rnn.py), and the
work splits the same way:

- outside the loop (ConvLSTM1D and ConvLSTM2D), the input convolution of
  every time step at once: a convolution of one rank more over the
  batch-major (N, T, *spatial, C) sequence whose kernel has size 1 (and
  stride 1, no padding) along the time axis, plus the bias and the input
  dropout. ConvLSTM3D would need a 4-D convolution, which the conv op does
  not have, so its input convolution runs inside the loop, step by step;
- inside the loop, the recurrent convolution of h ("same" padding, stride
  1) and the gate arithmetic.

Keras semantics kept: weights kernel (*kernel_size, in_channels, 4
filters), recurrent_kernel (*kernel_size, filters, 4 filters), bias (4
filters,), gates in the order i, f, c, o along the last axis; the
recurrent convolution is always "same" with stride 1 and no dilation;
four separate dropout masks (one per gate) for the inputs and for the
state, drawn once per call and shared by the steps; data_format (the
states and outputs in the inputs' layout); masks, go_backwards (outputs
in processing order), return_state, initial_state, stateful.
"""

from __future__ import annotations

import numpy as np

from .. import activations, constraints, initializers, ops, regularizers, tracing
from .. import random as random_module
from ..ops.nn import standardize_data_format, standardize_padding, standardize_tuple
from ..tensors import TracedTensor
from .convolutional import _positive, conv_output_length
from .core import _ser
from .input_spec import InputSpec
from .layer import Layer
from .rnn import (
    RNN,
    DropoutRNNCell,
    _dropout_masks,
    _rate,
    _scope_paths,
    _StateVariable,
    scan,
)

_GATES = 4


def _last(x, rank: int):
    """channels_first (N, C, *sp) -> channels_last (N, *sp, C)."""
    return ops.transpose(x, (0,) + tuple(range(2, rank + 2)) + (1,))


def _first(x, rank: int):
    """channels_last (N, *sp, C) -> channels_first (N, C, *sp)."""
    return ops.transpose(x, (0, rank + 1) + tuple(range(1, rank + 1)))


class ConvLSTMCell(Layer, DropoutRNNCell):
    """Cell of the ConvLSTM layers: one step of a convolutional LSTM on
    (batch, *spatial, channels) inputs (or channels first).

    Args:
        rank: number of spatial dimensions (1, 2 or 3).
        filters: number of output channels of the states.
        kernel_size, strides, padding ("valid" or "same"), data_format,
        dilation_rate: those of the input convolution (the recurrent one
            is "same", stride 1, dilation 1).
        activation ("tanh"), recurrent_activation ("sigmoid"), use_bias,
        kernel_initializer ("glorot_uniform"), recurrent_initializer
        ("orthogonal"), bias_initializer ("zeros"), unit_forget_bias
        (True), the regularizers and constraints, dropout,
        recurrent_dropout, seed: as LSTM's.

    Example:
        >>> cell = ConvLSTMCell(2, 4, 3, padding="same")
        >>> h0 = np.zeros((1, 5, 5, 4), "float32")
        >>> h, (h, c) = cell(np.ones((1, 5, 5, 2), "float32"), [h0, h0])
        >>> h.shape
        (1, 5, 5, 4)
    """

    def __init__(self, rank, filters, kernel_size, strides=1, padding="valid",
                 data_format=None, dilation_rate=1, activation="tanh",
                 recurrent_activation="sigmoid", use_bias=True,
                 kernel_initializer="glorot_uniform",
                 recurrent_initializer="orthogonal", bias_initializer="zeros",
                 unit_forget_bias=True, kernel_regularizer=None,
                 recurrent_regularizer=None, bias_regularizer=None,
                 kernel_constraint=None, recurrent_constraint=None,
                 bias_constraint=None, dropout=0.0, recurrent_dropout=0.0,
                 seed=None, **kwargs):
        super().__init__(**kwargs)
        if rank not in (1, 2, 3):
            raise ValueError(
                f"Rank {rank} convolutions are not currently implemented. "
                f"Received: rank={rank}")
        self.rank = int(rank)
        self.seed = seed
        self.seed_generator = random_module.SeedGenerator(seed)
        self.filters = _positive(filters, "filters")
        self.kernel_size = standardize_tuple(kernel_size, rank, "kernel_size")
        self.strides = standardize_tuple(strides, rank, "strides")
        self.padding = standardize_padding(padding)
        if not isinstance(self.padding, str):
            raise ValueError(
                "The `padding` argument must be one of 'valid', 'same'. "
                f"Received: padding={padding}")
        self.data_format = standardize_data_format(data_format)
        self.dilation_rate = standardize_tuple(dilation_rate, rank,
                                               "dilation_rate")
        if max(self.strides) > 1 and max(self.dilation_rate) > 1:
            raise ValueError(
                "Specifying `strides > 1` is not compatible with "
                "`dilation_rate > 1`. Please provide `strides=1` or "
                f"`dilation_rate=1`. Received: strides={self.strides} and "
                f"dilation_rate={self.dilation_rate}")
        self.activation = activations.get(activation)
        self.recurrent_activation = activations.get(recurrent_activation)
        self.use_bias = bool(use_bias)
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.recurrent_initializer = initializers.get(recurrent_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.unit_forget_bias = bool(unit_forget_bias)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.recurrent_regularizer = regularizers.get(recurrent_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.kernel_constraint = constraints.get(kernel_constraint)
        self.recurrent_constraint = constraints.get(recurrent_constraint)
        self.bias_constraint = constraints.get(bias_constraint)
        self.dropout = _rate(dropout)
        self.recurrent_dropout = _rate(recurrent_dropout)
        self.input_spec = InputSpec(ndim=self.rank + 2)
        self.state_size = -1  # Keras's: the states' shapes come from build
        self.spatial_dims = None
        self.input_dim = None
        self._owner = None  # the ConvLSTM layer's name, for errors

    # --- shapes ---------------------------------------------------------------

    def _split_shape(self, shape) -> tuple:
        """(spatial dims, channels) of a (batch, ...) step shape."""
        shape = tuple(shape)
        if self.data_format == "channels_first":
            return tuple(shape[2:]), shape[1]
        return tuple(shape[1:-1]), shape[-1]

    def output_spatial(self, spatial) -> tuple:
        return tuple(conv_output_length(n, k, self.padding, s, d)
                     for n, k, s, d in zip(spatial, self.kernel_size,
                                           self.strides, self.dilation_rate))

    def _state_shape(self, batch, spatial) -> tuple:
        sp = self.output_spatial(spatial)
        if self.data_format == "channels_first":
            return (batch, self.filters) + sp
        return (batch,) + sp + (self.filters,)

    def compute_output_shape(self, inputs_shape, states_shape=None):
        spatial, _ = self._split_shape(inputs_shape)
        out = self._state_shape(tuple(inputs_shape)[0], spatial)
        return out, [out, out]

    def build(self, inputs_shape, states_shape=None):
        inputs_shape = tuple(inputs_shape)
        name = self._owner or self.name
        if len(inputs_shape) != self.rank + 2:
            raise ValueError(
                f'Input 0 of layer "{name}" is incompatible with the '
                f"layer: expected ndim={self.rank + 2}, found "
                f"ndim={len(inputs_shape)}. Full shape received: "
                f"{inputs_shape}")
        spatial, channels = self._split_shape(inputs_shape)
        if None in spatial:
            raise ValueError(
                f'Layer "{name}": ConvLSTM layers only support static input '
                "shapes for the spatial dimension. Received invalid input "
                f"shape: input_shape={inputs_shape}")
        if channels is None:
            raise ValueError(
                f'Layer "{name}": the channel dimension of the inputs should '
                "be defined. Found None. Full input shape received: "
                f"input_shape={inputs_shape}")
        out_sp = self.output_spatial(spatial)
        if any(o <= 0 for o in out_sp):
            raise ValueError(
                f'Layer "{name}": computed output size would be zero or '
                f"negative. Received step inputs of shape {inputs_shape} with "
                f"kernel_size={self.kernel_size}, strides={self.strides}, "
                f"dilation_rate={self.dilation_rate}, "
                f"padding={self.padding}.")
        self.spatial_dims = tuple(int(s) for s in spatial)
        self.input_dim = int(channels)
        self.input_spec = InputSpec(ndim=self.rank + 2,
                                    shape=(None,) + inputs_shape[1:])
        f4 = self.filters * _GATES
        self.kernel = self.add_weight(
            shape=self.kernel_size + (self.input_dim, f4), name="kernel",
            initializer=self.kernel_initializer,
            regularizer=self.kernel_regularizer,
            constraint=self.kernel_constraint)
        self.recurrent_kernel = self.add_weight(
            shape=self.kernel_size + (self.filters, f4),
            name="recurrent_kernel", initializer=self.recurrent_initializer,
            regularizer=self.recurrent_regularizer,
            constraint=self.recurrent_constraint)
        if self.use_bias:
            init = self.bias_initializer
            if self.unit_forget_bias:
                base, f = self.bias_initializer, self.filters

                def init(shape, dtype=None):
                    return np.concatenate([
                        np.asarray(base((f,), dtype=dtype)),
                        np.ones(f, dtype or "float32"),
                        np.asarray(base((2 * f,), dtype=dtype))])

            self.bias = self.add_weight(
                shape=(f4,), name="bias", initializer=init,
                regularizer=self.bias_regularizer,
                constraint=self.bias_constraint)
        else:
            self.bias = None
        self.built = True

    def get_initial_state(self, batch_size=None):
        shape = self._state_shape(batch_size, self.spatial_dims)
        return [ops.zeros(shape, dtype=self._tensor_dtype),
                ops.zeros(shape, dtype=self._tensor_dtype)]

    # --- the arithmetic (channels last) -----------------------------------------

    def input_conv(self, x, kernel, bias=None):
        """The input convolution of (N, *sp, C) x, channels last."""
        y = ops.conv(x, kernel, strides=self.strides, padding=self.padding,
                     dilation_rate=self.dilation_rate)
        return y if bias is None else ops.add(y, bias)

    def recurrent_conv(self, h, kernel):
        return ops.conv(h, kernel, strides=1, padding="same")

    def _gated(self, conv, x, kernel, masks, bias=None):
        """conv(x, kernel) + bias with one dropout mask per gate (each gate
        then convolves its own masked x with its quarter of the kernel)."""
        if masks is None:
            return conv(x, kernel) if bias is None else conv(x, kernel, bias)
        f = self.filters
        parts = []
        for k, m in enumerate(masks):
            kk = kernel[..., k * f:(k + 1) * f]
            xk = ops.multiply(x, m)
            parts.append(conv(xk, kk) if bias is None else
                         conv(xk, kk, bias[k * f:(k + 1) * f]))
        return ops.concatenate(parts, axis=-1)

    def gates(self, z, r, c):
        """New (h, c) from the input part z and the recurrent part r (each
        (N, *sp, 4 filters)) and the previous carry c (N, *sp, filters)."""
        f = self.filters
        # the gates as (N, S, 1, filters) slices of a (N, S, 4, filters)
        # view: each gate's pointwise work stays in one space (see
        # rnn._split_gates) and the state is a free view of it
        sp = tuple(ops.shape(c)[1:-1])
        s = int(np.prod(sp))
        n = ops.shape(c)[0]
        t = ops.reshape(ops.add(z, r), (n, s, _GATES, f))
        g = [t[:, :, k:k + 1, :] for k in range(_GATES)]
        c3 = ops.reshape(c, (n, s, 1, f))
        i = self.recurrent_activation(g[0])
        fg = self.recurrent_activation(g[1])
        c_new = ops.add(ops.multiply(fg, c3),
                        ops.multiply(i, self.activation(g[2])))
        o = self.recurrent_activation(g[3])
        h_new = ops.multiply(o, self.activation(c_new))
        shape = (n,) + sp + (f,)
        return ops.reshape(h_new, shape), ops.reshape(c_new, shape)

    def masks(self, training, x_step, h_like):
        """(input masks, recurrent masks): four each, or None."""
        dp = rdp = None
        if training and 0.0 < self.dropout < 1.0:
            dp = _dropout_masks(x_step, self.dropout, _GATES,
                                self.seed_generator)
        if training and 0.0 < self.recurrent_dropout < 1.0:
            rdp = _dropout_masks(h_like, self.recurrent_dropout, _GATES,
                                 self.seed_generator)
        return dp, rdp

    def call(self, inputs, states, training=False):
        """One step, as the Keras cell: (h, [h, c])."""
        states = list(states)
        if len(states) != 2:
            raise ValueError(
                f'Layer "{self.name}" takes two states (h, c), received '
                f"{len(states)}.")
        first = self.data_format == "channels_first"
        x = _last(inputs, self.rank) if first else inputs
        h, c = (_last(s, self.rank) if first else s for s in states)
        dp, rdp = self.masks(training, x, h)
        z = self._gated(self.input_conv, x, ops.convert_to_tensor(
            self.kernel), dp, None if self.bias is None else
            ops.convert_to_tensor(self.bias))
        r = self._gated(self.recurrent_conv, h, ops.convert_to_tensor(
            self.recurrent_kernel), rdp)
        h, c = self.gates(z, r, c)
        if first:
            h, c = _first(h, self.rank), _first(c, self.rank)
        return h, [h, c]

    def get_config(self):
        return {
            **super().get_config(),
            "filters": self.filters,
            "kernel_size": self.kernel_size,
            "strides": self.strides,
            "padding": self.padding,
            "data_format": self.data_format,
            "dilation_rate": self.dilation_rate,
            "activation": activations.serialize(self.activation),
            "recurrent_activation": activations.serialize(
                self.recurrent_activation),
            "use_bias": self.use_bias,
            "kernel_initializer": _ser(self.kernel_initializer, initializers),
            "recurrent_initializer": _ser(self.recurrent_initializer,
                                          initializers),
            "bias_initializer": _ser(self.bias_initializer, initializers),
            "unit_forget_bias": self.unit_forget_bias,
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


_CELL_ARGS = ("filters", "kernel_size", "strides", "padding", "data_format",
              "dilation_rate", "activation", "recurrent_activation",
              "use_bias", "kernel_initializer", "recurrent_initializer",
              "bias_initializer", "unit_forget_bias", "kernel_regularizer",
              "recurrent_regularizer", "bias_regularizer",
              "kernel_constraint", "recurrent_constraint", "bias_constraint",
              "dropout", "recurrent_dropout")


class ConvLSTM(RNN):
    """N-d convolutional LSTM (the base of ConvLSTM1D/2D/3D): an RNN over
    a ConvLSTMCell whose inputs are sequences of images (batch, time,
    *spatial, channels), or (batch, time, channels, *spatial) with
    data_format="channels_first"."""

    def __init__(self, rank, filters, kernel_size, strides=1, padding="valid",
                 data_format=None, dilation_rate=1, activation="tanh",
                 recurrent_activation="sigmoid", use_bias=True,
                 kernel_initializer="glorot_uniform",
                 recurrent_initializer="orthogonal", bias_initializer="zeros",
                 unit_forget_bias=True, kernel_regularizer=None,
                 recurrent_regularizer=None, bias_regularizer=None,
                 activity_regularizer=None, kernel_constraint=None,
                 recurrent_constraint=None, bias_constraint=None, dropout=0.0,
                 recurrent_dropout=0.0, seed=None, return_sequences=False,
                 return_state=False, go_backwards=False, stateful=False,
                 **kwargs):
        cell = ConvLSTMCell(
            rank=rank, filters=filters, kernel_size=kernel_size,
            strides=strides, padding=padding, data_format=data_format,
            dilation_rate=dilation_rate, activation=activation,
            recurrent_activation=recurrent_activation, use_bias=use_bias,
            kernel_initializer=kernel_initializer,
            recurrent_initializer=recurrent_initializer,
            bias_initializer=bias_initializer,
            unit_forget_bias=unit_forget_bias,
            kernel_regularizer=kernel_regularizer,
            recurrent_regularizer=recurrent_regularizer,
            bias_regularizer=bias_regularizer,
            kernel_constraint=kernel_constraint,
            recurrent_constraint=recurrent_constraint,
            bias_constraint=bias_constraint, dropout=dropout,
            recurrent_dropout=recurrent_dropout, seed=seed,
            name="conv_lstm_cell", dtype=kwargs.get("dtype"),
            trainable=kwargs.get("trainable", True))
        super().__init__(cell, return_sequences=return_sequences,
                         return_state=return_state, go_backwards=go_backwards,
                         stateful=stateful,
                         activity_regularizer=activity_regularizer, **kwargs)
        cell._owner = self.name
        self.rank = cell.rank
        self.state_size = [-1, -1]
        self.single_state = False
        self.input_spec = InputSpec(ndim=self.rank + 3)

    def __getattr__(self, name):
        # the cell's arguments read through the layer (layer.filters, ...)
        if name in _CELL_ARGS:
            cell = self.__dict__.get("cell")
            if cell is not None:
                return getattr(cell, name)
        raise AttributeError(
            f"'{type(self).__name__}' object has no attribute '{name}'")

    # --- building -----------------------------------------------------------------

    def _check_shape(self, shape) -> tuple:
        shape = tuple(shape)
        if len(shape) != self.rank + 3:
            raise ValueError(
                f'Input 0 of layer "{self.name}" is incompatible with the '
                f"layer: expected ndim={self.rank + 3}, found "
                f"ndim={len(shape)}. Full shape received: {shape}")
        return shape

    def _state_shape(self, batch) -> tuple:
        return self.cell._state_shape(batch, self.cell.spatial_dims)

    def build(self, sequences_shape, initial_state_shape=None):
        if isinstance(sequences_shape, list) and sequences_shape and \
                isinstance(sequences_shape[0], (list, tuple)):
            sequences_shape = sequences_shape[0]
        shape = self._check_shape(sequences_shape)
        if not self.cell.built:
            self.cell.build((shape[0],) + shape[2:])
            _scope_paths(self.cell.weights, self.name)
        self.input_spec = InputSpec(ndim=self.rank + 3,
                                    shape=(None, None) + shape[2:])
        if self.stateful:
            if shape[0] is None:
                raise ValueError(
                    "When using `stateful=True` in a RNN, the batch size must "
                    "be static. Found dynamic batch size: sequence.shape="
                    f"{shape}. Give Input(batch_size=...) or "
                    "batch_input_shape.")
            self._batch_size = int(shape[0])
            self.states = [
                _StateVariable(np.zeros(self._state_shape(self._batch_size),
                                        "float32"),
                               trainable=False, name="rnn_state",
                               path=f"{self.name}/rnn_state")
                for _ in range(2)]
        self.built = True

    def get_initial_state(self, batch_size):
        return self.cell.get_initial_state(batch_size)

    # --- calling --------------------------------------------------------------------

    def call(self, sequences, initial_state=None, mask=None, training=False):
        cell, rank = self.cell, self.rank
        first = cell.data_format == "channels_first"
        if isinstance(mask, (list, tuple)):
            mask = mask[0] if mask else None
        shape = tuple(ops.shape(sequences))
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
        sequences = ops.cast(sequences, dtype)
        if first:  # (N, T, C, *sp) -> (N, T, *sp, C)
            sequences = ops.transpose(
                sequences, (0, 1) + tuple(range(3, rank + 3)) + (2,))
        trace = tracing.current_trace()
        spec = trace is not None and trace.kind == "spec" and \
            shape[0] is not None
        state_shape = (shape[0],) + cell.output_spatial(cell.spatial_dims) + (
            cell.filters,)
        initial_state = self._initial_states(sequences, initial_state,
                                             state_shape, spec, trace)

        dp, rdp = cell.masks(training, sequences[:, 0], initial_state[0])
        kernel = ops.convert_to_tensor(cell.kernel)
        bias = None if cell.bias is None else ops.convert_to_tensor(cell.bias)
        rec_kernel = ops.convert_to_tensor(cell.recurrent_kernel)
        outer = rank < 3
        if outer:
            # every step's input convolution at once: a convolution of one
            # rank more with a kernel of size 1 along time
            def conv_all(x, k, b=None):
                y = ops.conv(x, ops.expand_dims(k, 0),
                             strides=(1,) + cell.strides, padding=cell.padding,
                             dilation_rate=(1,) + cell.dilation_rate)
                return y if b is None else ops.add(y, b)

            m = None if dp is None else [ops.expand_dims(d, 1) for d in dp]
            z = cell._gated(conv_all, sequences, kernel, m, bias)
            seqs = [ops.transpose(z, (1, 0) + tuple(range(2, rank + 3)))]
            consts = [rec_kernel]
        else:
            seqs = [ops.transpose(sequences,
                                  (1, 0) + tuple(range(2, rank + 3)))]
            consts = [rec_kernel, kernel] + ([] if bias is None else [bias])
        n_fixed = len(consts)
        consts += list(dp or []) if not outer else []
        consts += list(rdp or [])
        if mask is not None:
            keep = ops.transpose(ops.cast(mask, "bool"), (1, 0))
            seqs.append(ops.reshape(keep, (length, -1) + (1,) * (rank + 1)))
        zero_out = self.zero_output_for_mask
        need_ys = self.return_sequences or (mask is not None and zero_out)
        has_bias = bias is not None
        n_dp = len(dp or []) if not outer else 0

        def step(states, xs, ks):
            h, c = states
            extra = list(ks[n_fixed:])
            sdp, srdp = extra[:n_dp] or None, extra[n_dp:] or None
            if outer:
                z = xs[0]
            else:
                z = cell._gated(cell.input_conv, xs[0], ks[1], sdp,
                                ks[2] if has_bias else None)
            r = cell._gated(cell.recurrent_conv, h, ks[0], srdp)
            h_new, c_new = cell.gates(z, r, c)
            out = h_new
            if mask is not None:
                keep = xs[1]
                h_new = ops.where(keep, h_new, h)
                c_new = ops.where(keep, c_new, c)
                out = ops.where(keep, out, ops.zeros_like(out) if zero_out
                                else h)
            return [h_new, c_new], ([out] if need_ys else [])

        final, ys = scan(step, initial_state, seqs, consts, length=length,
                         reverse=self.go_backwards,
                         emit_carries=bool(training))
        if self.stateful and not spec:
            for v, s in zip(self.states, final):
                v.assign(_first(s, rank) if first else s)
        if self.return_sequences:
            out = ys[0]
            if self.go_backwards:  # Keras: outputs in processing order
                out = ops.flip(out, axis=0)
            output = ops.transpose(out, (1, 0) + tuple(range(2, rank + 3)))
            if first:
                output = ops.transpose(
                    output, (0, 1, rank + 2) + tuple(range(2, rank + 2)))
        else:
            output = ys[0][0 if self.go_backwards else length - 1] if \
                need_ys else final[0]
            if first:
                output = _first(output, rank)
        if self.return_state:
            states = [_first(s, rank) if first else s for s in final]
            return [output] + states
        return output

    def _initial_states(self, sequences, initial_state, state_shape, spec,
                        trace):
        """The two initial states (N, *sp', filters), channels last."""
        cell, rank = self.cell, self.rank
        first = cell.data_format == "channels_first"
        dtype = self._tensor_dtype
        batch = state_shape[0]

        def zeros():
            if isinstance(sequences, TracedTensor):
                return ops.zeros((ops.shape(sequences)[0],) + state_shape[1:],
                                 dtype=dtype)
            return np.zeros((np.shape(sequences)[0],) + state_shape[1:], dtype)

        if initial_state is None:
            if self.stateful and not spec:
                if trace is not None and batch is not None:
                    raise ValueError(
                        f'Stateful layer "{self.name}" cannot be traced with '
                        f"a fixed batch size ({batch}); its states are bound "
                        "to the batch of the program's inputs.")
                states = [v.value for v in self.states]
                return [_last(s, rank) if first else s for s in states]
            return [zeros(), zeros()]
        states = list(initial_state) if isinstance(
            initial_state, (list, tuple)) else [initial_state]
        if len(states) != 2:
            raise ValueError(
                f'Layer "{self.name}" has 2 states (h, c) but was passed '
                f"{len(states)} initial state(s).")
        want = state_shape if not first else _first_shape(state_shape)
        out = []
        for k, s in enumerate(states):
            got = tuple(ops.shape(s))
            if len(got) != len(want) or got[1:] != want[1:]:
                raise ValueError(
                    f'Layer "{self.name}": initial state {k} must have shape '
                    f"{(None,) + want[1:]}, received shape {got}.")
            s = ops.cast(s, dtype)
            s = _last(s, rank) if first else s
            if isinstance(sequences, TracedTensor) and not isinstance(
                    s, TracedTensor):
                s = ops.add(zeros(), s)  # constants: to the traced batch
            out.append(s)
        return out

    def compute_output_shape(self, sequences_shape, initial_state_shape=None):
        shape = tuple(sequences_shape)
        step = self.cell.compute_output_shape((shape[0],) + shape[2:])[0]
        out = (shape[0], shape[1]) + step[1:] if self.return_sequences \
            else step
        if self.return_state:
            return [out, step, step]
        return out

    def compute_mask(self, _, mask):
        if isinstance(mask, (list, tuple)):
            mask = mask[0] if mask else None
        out = mask if self.return_sequences else None
        return [out, None, None] if self.return_state else out

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


def _first_shape(shape) -> tuple:
    return (shape[0], shape[-1]) + tuple(shape[1:-1])


def _layer_doc(rank: int) -> str:
    sp = {1: "rows", 2: "rows, cols", 3: "dim1, dim2, dim3"}[rank]
    return f"""{rank}D convolutional LSTM (Keras 3's ConvLSTM{rank}D).

    An LSTM whose input and recurrent transformations are convolutions:
    inputs (samples, time, {sp}, channels) (or (samples, time, channels,
    {sp}) with data_format="channels_first"); states and outputs
    (samples, new_{sp.replace(", ", ", new_")}, filters) per step.

    Args:
        filters: number of output channels.
        kernel_size, strides, padding ("valid" or "same"), data_format,
        dilation_rate: those of the input convolution (the recurrent
            convolution is "same" with stride 1).
        activation ("tanh"), recurrent_activation ("sigmoid"), use_bias,
        kernel_initializer ("glorot_uniform"), recurrent_initializer
        ("orthogonal"), bias_initializer ("zeros"), unit_forget_bias
        (True), the regularizers and constraints, dropout,
        recurrent_dropout, seed, return_sequences, return_state,
        go_backwards, stateful: as LSTM's.

    Weights (Keras's layouts): kernel (*kernel_size, channels, 4 filters),
    recurrent_kernel (*kernel_size, filters, 4 filters), bias (4 filters),
    gates i, f, c, o.
    """


class ConvLSTM1D(ConvLSTM):
    __doc__ = _layer_doc(1) + """
    Example:
        >>> layer = ConvLSTM1D(4, 3, padding="same", return_sequences=True)
        >>> layer(np.ones((2, 5, 7, 3), "float32")).shape
        (2, 5, 7, 4)
    """

    def __init__(self, filters, kernel_size, **kwargs):
        super().__init__(1, filters, kernel_size, **kwargs)


class ConvLSTM2D(ConvLSTM):
    __doc__ = _layer_doc(2) + """
    Example:
        >>> layer = ConvLSTM2D(4, 3, padding="same", return_sequences=True)
        >>> layer(np.ones((2, 5, 6, 6, 3), "float32")).shape
        (2, 5, 6, 6, 4)
    """

    def __init__(self, filters, kernel_size, **kwargs):
        super().__init__(2, filters, kernel_size, **kwargs)


class ConvLSTM3D(ConvLSTM):
    __doc__ = _layer_doc(3) + """
    Example:
        >>> layer = ConvLSTM3D(2, 3, padding="same")
        >>> layer(np.ones((2, 3, 4, 4, 4, 1), "float32")).shape
        (2, 4, 4, 4, 2)
    """

    def __init__(self, filters, kernel_size, **kwargs):
        super().__init__(3, filters, kernel_size, **kwargs)
