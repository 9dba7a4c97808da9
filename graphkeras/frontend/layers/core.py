"""Core layers: Dense, Activation, Dropout, Flatten, Reshape, Identity, and
OpLayer (the automatic layer made when an op meets a KerasTensor)."""

from __future__ import annotations

import numpy as np

from .. import activations, constraints, initializers, ops, regularizers, tree
from .. import random as random_module
from ..operation import register_op_node
from ..tensors import KerasTensor, TracedTensor
from .input_spec import InputSpec
from .layer import Layer
from . import lora


def _ser(obj, module):
    if obj is None:
        return None
    if hasattr(obj, "get_config"):
        return {"class_name": type(obj).__name__, "config": obj.get_config()}
    return getattr(module, "serialize", lambda o: getattr(o, "__name__", o))(obj)


class Dense(lora.LoraLayer, Layer):
    """Densely connected layer: `activation(inputs @ kernel + bias)`.

    Args:
        units: the output size (positive int).
        activation: an activation name or function (default: linear).
        use_bias: whether to add a bias.
        kernel_initializer / bias_initializer: default "glorot_uniform" /
            "zeros".
        kernel_regularizer / bias_regularizer / activity_regularizer,
        kernel_constraint / bias_constraint: optional.

    Example:
        >>> layer = Dense(3)
        >>> layer(np.ones((2, 4), "float32")).shape
        (2, 3)
    """

    kernel = lora.lora_weight("kernel")

    def __init__(self, units, activation=None, use_bias=True,
                 kernel_initializer="glorot_uniform", bias_initializer="zeros",
                 kernel_regularizer=None, bias_regularizer=None,
                 activity_regularizer=None, kernel_constraint=None,
                 bias_constraint=None, lora_rank=None, lora_alpha=None,
                 quantization_config=None, **kwargs):
        lora.check_quantization_config(type(self).__name__,
                                       quantization_config)
        super().__init__(activity_regularizer=activity_regularizer, **kwargs)
        lora.init_lora(self, lora_rank, lora_alpha)
        if not isinstance(units, (int, np.integer)) or isinstance(units, bool) \
                or units <= 0:
            raise ValueError(
                "Received an invalid value for `units`, expected a positive "
                f"integer. Received: units={units}"
            )
        self.units = int(units)
        self.activation = activations.get(activation)
        self.use_bias = use_bias
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.kernel_constraint = constraints.get(kernel_constraint)
        self.bias_constraint = constraints.get(bias_constraint)
        self.input_spec = InputSpec(min_ndim=2)
        self.supports_masking = True

    def build(self, input_shape):
        input_dim = input_shape[-1]
        if input_dim is None:
            raise ValueError(
                f'Layer "{self.name}": the last dimension of the inputs must '
                f"be known to build Dense, received input_shape={input_shape}."
            )
        self.kernel = self.add_weight(
            name="kernel", shape=(input_dim, self.units),
            initializer=self.kernel_initializer,
            regularizer=self.kernel_regularizer,
            constraint=self.kernel_constraint)
        if self.use_bias:
            self.bias = self.add_weight(
                name="bias", shape=(self.units,),
                initializer=self.bias_initializer,
                regularizer=self.bias_regularizer,
                constraint=self.bias_constraint)
        else:
            self.bias = None
        self.input_spec = InputSpec(min_ndim=2, axes={-1: input_dim})
        self.built = True
        if self.lora_rank:
            self.enable_lora(self.lora_rank)  # (Keras: lora_alpha -> rank)

    def call(self, inputs):
        x = ops.matmul(inputs, self.kernel)
        if self.bias is not None:
            x = ops.add(x, self.bias)
        return self.activation(x)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:-1]) + (self.units,)

    def get_config(self):
        return {
            **super().get_config(),
            "units": self.units,
            "activation": activations.serialize(self.activation),
            "use_bias": self.use_bias,
            "kernel_initializer": _ser(self.kernel_initializer, initializers),
            "bias_initializer": _ser(self.bias_initializer, initializers),
            "kernel_regularizer": _ser(self.kernel_regularizer, regularizers),
            "bias_regularizer": _ser(self.bias_regularizer, regularizers),
            "kernel_constraint": _ser(self.kernel_constraint, constraints),
            "bias_constraint": _ser(self.bias_constraint, constraints),
            **lora.lora_config(self),
        }


class Activation(Layer):
    """Applies an activation function (a name or a callable)."""

    def __init__(self, activation, **kwargs):
        super().__init__(**kwargs)
        self.supports_masking = True
        self.activation = activations.get(activation)

    def call(self, inputs):
        return self.activation(inputs)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self):
        return {**super().get_config(),
                "activation": activations.serialize(self.activation)}


class Dropout(Layer):
    """Sets a fraction `rate` of the inputs to 0 during training, scaling the
    rest by 1 / (1 - rate); the identity at inference.

    The noise is counter-based: it comes from the layer's SeedGenerator,
    whose counter advances inside each traced train step.
    """

    def __init__(self, rate, noise_shape=None, seed=None, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(rate, (int, float)) or not 0 <= rate <= 1:
            raise ValueError(
                "Invalid value received for argument `rate`. Expected a float "
                f"value between 0 and 1. Received: rate={rate}"
            )
        self.rate = float(rate)
        self.noise_shape = noise_shape
        self.seed = seed
        self.seed_generator = (random_module.SeedGenerator(seed) if rate > 0
                               else None)
        self.supports_masking = True
        self.built = True

    def call(self, inputs, training=False):
        if training and self.rate > 0:
            noise_shape = self.noise_shape
            if noise_shape is not None:
                shp = ops.shape(inputs)
                noise_shape = tuple(shp[i] if d is None else d
                                    for i, d in enumerate(noise_shape))
            return random_module.dropout(inputs, self.rate,
                                         noise_shape=noise_shape,
                                         seed=self.seed_generator)
        return inputs

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self):
        return {**super().get_config(), "rate": self.rate,
                "noise_shape": self.noise_shape, "seed": self.seed}


class Flatten(Layer):
    """Flattens every axis but the batch: (N, a, b) -> (N, a*b)."""

    def __init__(self, data_format=None, **kwargs):
        from ..ops.nn import standardize_data_format

        super().__init__(**kwargs)
        # as Keras: the config holds the resolved format
        self.data_format = standardize_data_format(data_format)
        self.input_spec = InputSpec(min_ndim=1)
        self.built = True

    def call(self, inputs):
        shape = ops.shape(inputs)
        rest = shape[1:]
        if any(d is None for d in rest):
            raise ValueError(
                f'Layer "{self.name}" needs static non-batch dimensions to '
                f"flatten, received input shape {shape}."
            )
        return ops.reshape(inputs, (shape[0] if shape[0] is not None else -1,
                                    int(np.prod(rest)) if rest else 1))

    def compute_output_shape(self, input_shape):
        rest = input_shape[1:]
        return (input_shape[0], int(np.prod(rest)) if rest else 1)

    def get_config(self):
        return {**super().get_config(), "data_format": self.data_format}


class Reshape(Layer):
    """Reshapes every sample to `target_shape` (one entry may be -1)."""

    def __init__(self, target_shape, **kwargs):
        super().__init__(**kwargs)
        self.target_shape = tuple(target_shape)
        self.built = True

    def _resolved(self, input_shape):
        rest = input_shape[1:]
        total = int(np.prod(rest))
        target = list(self.target_shape)
        if target.count(-1) > 1:
            raise ValueError(
                f'Layer "{self.name}": there can be at most one unknown (-1) '
                f"dimension in target_shape, received {self.target_shape}."
            )
        known = int(np.prod([d for d in target if d != -1]))
        if -1 in target:
            if known == 0 or total % known:
                raise ValueError(self._size_error(input_shape))
            target[target.index(-1)] = total // known
        elif known != total:
            raise ValueError(self._size_error(input_shape))
        return tuple(target)

    def _size_error(self, input_shape):
        return (
            f'Layer "{self.name}": the total size of the new array must be '
            f"unchanged, input_shape = {tuple(input_shape[1:])}, "
            f"output_shape = {self.target_shape}"
        )

    def call(self, inputs):
        shape = ops.shape(inputs)
        target = self._resolved(shape)
        return ops.reshape(inputs, (shape[0] if shape[0] is not None else -1,)
                           + target)

    def compute_output_shape(self, input_shape):
        return (input_shape[0],) + self._resolved(input_shape)

    def get_config(self):
        return {**super().get_config(), "target_shape": self.target_shape}


class Identity(Layer):
    """Returns its inputs unchanged."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.supports_masking = True
        self.built = True

    def call(self, inputs):
        return inputs


@register_op_node
class OpLayer(Layer):
    """Made automatically when a `graphkeras.ops` function is applied to
    KerasTensors outside a layer (`x = ops.add(a, b)` in a functional
    model): one node in the graph that applies the op (the op node class
    of frontend/operation.py)."""

    # a Keras 3 Operation neither carries a mask nor warns about one
    warns_on_mask = False
    # nor follows a dtype policy: under mixed_float16 its result is
    # float16 when its operands are (ops.core._follow_half), not rounded
    _rounds_outputs = False

    def __init__(self, fn, template=((), {}), **kwargs):
        super().__init__(name=kwargs.pop("name", None) or _op_name(fn), **kwargs)
        self.fn = fn
        self._template = template
        self.built = True

    def _convert_and_run(self, args, kwargs):
        floats = [t for t in tree.flatten(args[0])
                  if isinstance(t, np.ndarray) and t.dtype.kind == "f"]
        out = super()._convert_and_run(args, kwargs)
        if floats and all(t.dtype == np.float16 for t in floats) and \
                getattr(self.fn, "__name__", None) != "cast":
            # eager, on a mixed_float16 layer's float16 arrays: float16
            # results, as Keras's (computed as float32 here)
            out = tree.map_structure(
                lambda o: o.astype(np.float16) if isinstance(o, np.ndarray)
                and o.dtype == np.float32 else o, out)
        return out

    def call(self, tensors):
        it = iter(tensors)
        args, kwargs = tree.map_structure(
            lambda x: next(it) if isinstance(x, KerasTensor) else x,
            self._template)
        out = getattr(self.fn, "raw", self.fn)(*args, **kwargs)
        if getattr(self.fn, "__name__", None) == "cast" and isinstance(
                out, TracedTensor) and out.dtype == "float32" and \
                out.trace.half_values.get(out.value.name):
            # ops.cast(float16 tensor, "float32"): a float32 tensor in
            # Keras, so a value of its own, not marked float16
            out = out.trace.wrap(out.trace.builder.op(
                "cast", out.value, dtype="float32"))
        return out


def _op_name(fn):
    from ..naming import uniquify
    from ..saving.keras_ops import node_name

    return uniquify(node_name(fn))  # Keras's name: ops.abs -> "absolute"
