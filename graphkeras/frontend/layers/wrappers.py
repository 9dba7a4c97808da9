"""Wrappers: Bidirectional (an RNN run both ways, merged) and
TimeDistributed (a layer applied to every time step).

TimeDistributed applies a layer that acts on the last axis only (Dense,
activations, Dropout, normalization over the last axis, ...) to the whole
(batch, time, ...) tensor at once: for Dense that is one matmul over every
time step of every sample, not a loop. A layer that needs its input at a
fixed rank (convolutions, pooling, Flatten, a nested model) runs as one
native loop over the time steps (a `scan` without state), since the IR
cannot fold a symbolic batch and a time axis into one dimension.

Bidirectional follows Keras 3: the backward layer is a copy of the layer
with go_backwards flipped, its output sequence is reversed back before
merging, zero_output_for_mask is return_sequences on both, initial states
are split half and half, and the states are returned forward then
backward.
"""

from __future__ import annotations

from .. import ops
from .base_wrapper import Wrapper
from .layer import Layer
from .rnn import scan


def _clone(layer, **changes):
    from ..saving.serialization_lib import (
        deserialize_keras_object,
        serialize_keras_object,
    )

    config = serialize_keras_object(layer)
    config["config"].update(changes)
    return deserialize_keras_object(config)


def _strip(name: str, prefix: str) -> str:
    return name.removeprefix(prefix)


class Bidirectional(Wrapper):
    """Bidirectional wrapper for RNNs.

    Args:
        layer: an RNN layer instance (LSTM, GRU, SimpleRNN, RNN).
        merge_mode: how the forward and backward outputs are combined: one
            of "sum", "mul", "concat" (default), "ave", None (a list).
        weights: optional initial weights (forward's, then backward's).
        backward_layer: an optional RNN to use for the backward direction
            (it must have go_backwards=True).

    Example:
        >>> Bidirectional(LSTM(3))(np.ones((2, 4, 5), "float32")).shape
        (2, 6)
    """

    def __init__(self, layer, merge_mode="concat", weights=None,
                 backward_layer=None, **kwargs):
        if not isinstance(layer, Layer):
            raise ValueError(  # noqa: TRY004  (Keras raises ValueError)
                "Please initialize `Bidirectional` layer with a "
                f"`keras.layers.Layer` instance. Received: {layer}")
        if backward_layer is not None and not isinstance(backward_layer, Layer):
            raise ValueError(
                "`backward_layer` need to be a `keras.layers.Layer` "
                f"instance. Received: {backward_layer}")
        for what, x in (("layer", layer), ("backward_layer", backward_layer)):
            if x is not None and not hasattr(x, "go_backwards"):
                raise ValueError(
                    f"`Bidirectional` wraps a recurrent layer (LSTM, GRU, "
                    f"SimpleRNN or RNN) with `return_sequences` and "
                    f"`go_backwards`; `{what}` is {type(x).__name__} "
                    f'"{x.name}".')
        if merge_mode not in ("sum", "mul", "ave", "concat", None):
            raise ValueError(
                f"Invalid merge mode. Received: {merge_mode}. Merge mode "
                'should be one of {"sum", "mul", "ave", "concat", None}')
        Layer.__init__(self, **kwargs)  # (a Wrapper; its checks are above)
        self.forward_layer = _clone(
            layer, name=f"forward_{_strip(layer.name, 'forward_')}")
        if backward_layer is None:
            self.backward_layer = _clone(
                layer, go_backwards=not layer.go_backwards,
                name=f"backward_{_strip(layer.name, 'backward_')}")
        else:
            self.backward_layer = backward_layer
        f, b = self.forward_layer, self.backward_layer
        if f.go_backwards == b.go_backwards:
            raise ValueError(
                "Forward layer and backward layer should have different "
                "`go_backwards` value. Received: forward_layer.go_backwards "
                f"{f.go_backwards}, backward_layer.go_backwards="
                f"{b.go_backwards}")
        for a in ("stateful", "return_sequences", "return_state"):
            if getattr(f, a) != getattr(b, a):
                raise ValueError(
                    "Forward layer and backward layer are expected to have "
                    f'the same value for attribute "{a}", got '
                    f'"{getattr(f, a)}" for forward layer and '
                    f'"{getattr(b, a)}" for backward layer')
        for sub in (f, b):
            if hasattr(sub, "zero_output_for_mask"):
                sub.zero_output_for_mask = sub.return_sequences
        self.merge_mode = merge_mode
        self._initial = weights
        self.stateful = layer.stateful
        self.return_sequences = layer.return_sequences
        self.return_state = layer.return_state
        self.supports_masking = True
        self.input_spec = layer.input_spec

    def build(self, sequences_shape, initial_state_shape=None):
        if not self.forward_layer.built:
            self.forward_layer.build(sequences_shape)
        if not self.backward_layer.built:
            self.backward_layer.build(sequences_shape)
        if self._initial:
            n = len(self._initial) // 2
            self.forward_layer.set_weights(self._initial[:n])
            self.backward_layer.set_weights(self._initial[n:])
            self._initial = None

    def call(self, sequences, initial_state=None, mask=None, training=None):
        kwargs = {"training": training}
        if mask is not None:
            kwargs["mask"] = mask
        fwd_state = bwd_state = None
        if initial_state is not None:
            initial_state = list(initial_state)
            half = len(initial_state) // 2
            fwd_state, bwd_state = initial_state[:half], initial_state[half:]
        y = self.forward_layer(sequences, initial_state=fwd_state, **kwargs)
        y_rev = self.backward_layer(sequences, initial_state=bwd_state,
                                    **kwargs)
        states = ()
        if self.return_state:
            states = tuple(y[1:]) + tuple(y_rev[1:])
            y, y_rev = y[0], y_rev[0]
        if self.return_sequences:
            y_rev = ops.flip(y_rev, axis=1)
        if self.merge_mode == "concat":
            output = ops.concatenate([y, y_rev], axis=-1)
        elif self.merge_mode == "sum":
            output = ops.add(y, y_rev)
        elif self.merge_mode == "ave":
            output = ops.divide(ops.add(y, y_rev), 2.0)
        elif self.merge_mode == "mul":
            output = ops.multiply(y, y_rev)
        else:
            output = [y, y_rev]
        if self.return_state:
            if self.merge_mode is None:
                return output + list(states)
            return [output, *states]
        return output

    def compute_mask(self, _, mask):
        if isinstance(mask, list):
            mask = mask[0]
        if self.return_sequences:
            out = [mask, mask] if not self.merge_mode else mask
        else:
            out = [None, None] if not self.merge_mode else None
        if self.return_state:
            n = 2 * len(getattr(self.forward_layer, "state_size", [None]))
            head = out if isinstance(out, list) else [out]
            return head + [None] * n
        return out

    def reset_state(self):
        if not self.stateful:
            raise AttributeError("Layer must be stateful.")
        self.forward_layer.reset_state()
        self.backward_layer.reset_state()

    reset_states = reset_state

    def compute_output_shape(self, sequences_shape, initial_state_shape=None):
        shape = self.forward_layer.compute_output_shape(sequences_shape)
        states = []
        if self.return_state:
            shape, states = shape[0], list(shape[1:])
        if self.merge_mode == "concat":
            shape = tuple(shape[:-1]) + (shape[-1] * 2,)
        elif self.merge_mode is None:
            shape = [tuple(shape), tuple(shape)]
        if self.return_state:
            head = shape if isinstance(shape, list) else [tuple(shape)]
            return head + states + states
        return tuple(shape)

    def get_config(self):
        from ..saving.serialization_lib import serialize_keras_object

        return {**super().get_config(), "merge_mode": self.merge_mode,
                "layer": serialize_keras_object(self.forward_layer),
                "backward_layer": serialize_keras_object(self.backward_layer)}

    @classmethod
    def from_config(cls, config, custom_objects=None):
        from ..saving.serialization_lib import deserialize_keras_object

        config = dict(config)
        config["layer"] = deserialize_keras_object(
            config["layer"], custom_objects=custom_objects)
        back = config.pop("backward_layer", None)
        if back is not None:
            config["backward_layer"] = deserialize_keras_object(
                back, custom_objects=custom_objects)
        return cls(**config)


# layers that treat every leading axis as a batch axis: applied to the
# whole (batch, time, ...) tensor at once
_LAST_AXIS_LAYERS = frozenset({
    "Dense", "Activation", "Dropout", "Identity", "ReLU", "LeakyReLU", "ELU",
    "Softmax", "LayerNormalization", "UnitNormalization", "GaussianNoise",
    "GaussianDropout", "Embedding", "Masking", "ActivityRegularization",
})


def _folds_time(layer) -> bool:
    if type(layer).__name__ not in _LAST_AXIS_LAYERS:
        return False
    axis = getattr(layer, "axis", -1)
    axes = axis if isinstance(axis, (list, tuple)) else [axis]
    return all(a is None or a < 0 for a in axes)


class TimeDistributed(Wrapper):
    """Applies a layer to every temporal slice of an input.

    The input has shape (batch, time, ...); the wrapped layer sees (batch,
    ...) slices and the outputs are stacked along axis 1. Layers that act
    on the last axis (Dense, activations, Dropout, ...) run on all time
    steps at once; others run in one native loop over the steps.

    Args:
        layer: a Layer instance.

    Example:
        >>> TimeDistributed(Dense(3))(np.ones((2, 4, 5), "float32")).shape
        (2, 4, 3)
    """

    def __init__(self, layer, **kwargs):
        if not isinstance(layer, Layer):
            raise ValueError(  # noqa: TRY004  (Keras raises ValueError)
                "Please initialize `TimeDistributed` layer with a "
                f"`keras.layers.Layer` instance. Received: {layer}")
        Layer.__init__(self, **kwargs)  # (a Wrapper; its checks are above)
        self.layer = layer
        self.supports_masking = True

    def _child_shape(self, input_shape):
        if not isinstance(input_shape, (tuple, list)) or len(input_shape) < 3:
            raise ValueError(
                "`TimeDistributed` Layer should be passed an `input_shape` "
                f"with at least 3 dimensions, received: {input_shape}")
        return (input_shape[0], *input_shape[2:])

    def build(self, input_shape):
        child = self._child_shape(tuple(input_shape))
        if not self.layer.built:
            self.layer.build(child)
            self.layer.built = True

    def compute_output_shape(self, input_shape):
        child = self.layer.compute_output_shape(self._child_shape(input_shape))
        return (child[0], input_shape[1], *child[1:])

    def call(self, inputs, training=None, mask=None):
        shape = ops.shape(inputs)
        if len(shape) < 3:
            raise ValueError(
                "`TimeDistributed` Layer should be passed an input with at "
                f"least 3 dimensions, received shape {shape}")
        if mask is not None:
            mshape = ops.shape(mask)
            if len(mshape) < 2:
                raise ValueError(
                    "The `mask` passed to the `TimeDistributed` layer must be "
                    "at least 2D (e.g., `(batch_size, timesteps)`), but it has "
                    f"{len(mshape)} dimension(s) with shape {mshape}.")
            if mshape[1] is not None and mshape[1] != shape[1]:
                raise ValueError(
                    "The `mask` passed to the `TimeDistributed` layer has a "
                    f"shape {mshape} that is incompatible with the input shape "
                    f"{shape}.")
        inner = self.layer
        kwargs = {}
        if inner._accepts("training"):
            kwargs["training"] = training
        if _folds_time(inner):
            if mask is not None and inner._accepts("mask"):
                kwargs["mask"] = mask
            return inner.call(inputs, **kwargs)
        if shape[1] is None:
            raise ValueError(
                f'Layer "{self.name}" needs a fixed number of timesteps to '
                f"apply {type(inner).__name__} at each step, received shape "
                f"{shape}.")
        xs = [ops.transpose(inputs, (1, 0, *range(2, len(shape))))]
        with_mask = mask is not None and inner._accepts("mask")
        if with_mask:
            xs.append(ops.transpose(ops.cast(mask, "bool"), (1, 0)))

        def step(_, x, consts):
            kw = dict(kwargs)
            if with_mask:
                kw["mask"] = x[1]
            out = inner.call(x[0], **kw)
            if isinstance(out, (list, tuple)):
                raise ValueError(  # noqa: TRY004  (Keras raises ValueError)
                    f'TimeDistributed("{inner.name}"): the wrapped layer must '
                    "return one tensor per step.")
            return [], [out]

        _, ys = scan(step, [], xs, list(inner.weights), length=shape[1])
        y = ys[0]
        return ops.transpose(y, (1, 0, *range(2, len(ops.shape(y)))))

    def compute_mask(self, inputs, mask=None):
        return mask

    def get_config(self):
        from ..saving.serialization_lib import serialize_keras_object

        return {**super().get_config(),
                "layer": serialize_keras_object(self.layer)}

    @classmethod
    def from_config(cls, config, custom_objects=None):
        from ..saving.serialization_lib import deserialize_keras_object

        config = dict(config)
        config["layer"] = deserialize_keras_object(
            config["layer"], custom_objects=custom_objects)
        return cls(**config)


__all__ = ["Bidirectional", "TimeDistributed"]
