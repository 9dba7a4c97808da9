"""EinsumDense and RMSNormalization (Keras 3 names, arguments, weight
names and config keys).

Invariants:
- EinsumDense's kernel has one dimension per letter of the kernel term:
  a letter shared with the input takes the input's size, any other letter
  the size `output_shape` gives it; the bias covers the output from its
  first bias axis to the end (size 1 on letters not in `bias_axes`), as
  Keras 3 lays them out, so weights load from Keras files.
- The first letter of the input and output terms is the batch; equations
  with "..." are refused with a clear error.
"""

from __future__ import annotations

from .. import activations, constraints, initializers, ops, regularizers
from .core import _ser
from . import lora
from .layer import Layer


def _parse_equation(layer: str, equation: str) -> tuple:
    eq = str(equation).replace(" ", "")
    if "..." in eq:
        raise ValueError(
            f'Layer "{layer}" (EinsumDense): equations with "..." are not '
            f"supported. Received: equation={equation!r}; write every "
            'dimension as a letter, e.g. "abc,cd->abd".')
    try:
        lhs, out = eq.split("->")
        inp, ker = lhs.split(",")
    except ValueError:
        raise ValueError(
            f'Layer "{layer}" (EinsumDense): the equation must have the form '
            f'"<input>,<kernel>-><output>", e.g. "ab,bc->ac". Received: '
            f"equation={equation!r}") from None
    if not (inp.isalpha() and ker.isalpha() and out.isalpha()):
        raise ValueError(
            f'Layer "{layer}" (EinsumDense): the equation\'s terms must be '
            f"letters. Received: equation={equation!r}")
    return inp, ker, out


class EinsumDense(lora.LoraLayer, Layer):
    """A dense layer of any rank, given by an einsum equation:
    `activation(einsum(equation, inputs, kernel) + bias)`.

    Args:
        equation: e.g. "ab,bc->ac" (Dense), "abc,cd->abd" (a Dense over
            the last axis of a sequence), "abc,cde->abde" (per-head
            projections).
        output_shape: the output's shape without the batch dimension (an
            int for rank 2 outputs); None in a position taken from the
            input.
        activation: the activation (default none).
        bias_axes: the output letters that get a bias (default none).
        kernel_initializer, bias_initializer, kernel_regularizer,
        bias_regularizer, kernel_constraint, bias_constraint: as Dense's.

    Example:
        >>> layer = EinsumDense("abc,cde->abde", output_shape=(4, 2, 8),
        ...                     bias_axes="de")
        >>> layer(np.ones((3, 4, 6), "float32")).shape
        (3, 4, 2, 8)
    """

    kernel = lora.lora_weight("kernel")

    def __init__(self, equation, output_shape, activation=None,
                 bias_axes=None, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", kernel_regularizer=None,
                 bias_regularizer=None, kernel_constraint=None,
                 bias_constraint=None, lora_rank=None, lora_alpha=None,
                 quantization_config=None, **kwargs):
        lora.check_quantization_config(type(self).__name__,
                                       quantization_config)
        kwargs.pop("gptq_unpacked_column_size", None)
        super().__init__(**kwargs)
        lora.init_lora(self, lora_rank, lora_alpha)
        self.equation = equation
        self._terms = _parse_equation(self.name, equation)
        if isinstance(output_shape, int):
            output_shape = (output_shape,)
        self.partial_output_shape = tuple(output_shape)
        self.bias_axes = bias_axes
        self.activation = activations.get(activation)
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.kernel_constraint = constraints.get(kernel_constraint)
        self.bias_constraint = constraints.get(bias_constraint)
        out = self._terms[2]
        if len(self.partial_output_shape) != len(out) - 1:
            raise ValueError(
                f'Layer "{self.name}" (EinsumDense): `output_shape` must give '
                f"{len(out) - 1} sizes (the output term {out!r} without its "
                f"batch letter). Received: output_shape={output_shape}")
        for c in bias_axes or "":
            if c not in out:
                raise ValueError(
                    f'Layer "{self.name}" (EinsumDense): bias axis {c!r} is '
                    f"not a letter of the output term {out!r}. Received: "
                    f"bias_axes={bias_axes!r}")

    def build(self, input_shape):
        inp, ker, out = self._terms
        input_shape = tuple(input_shape)
        if len(input_shape) != len(inp):
            raise ValueError(
                f'Layer "{self.name}" (EinsumDense): the input term {inp!r} '
                f"has {len(inp)} letters, but the input has shape "
                f"{input_shape}.")
        sizes = dict(zip(inp, input_shape))
        for c, d in zip(out[1:], self.partial_output_shape):
            if d is None:
                continue
            if c in sizes and sizes[c] is not None and sizes[c] != d:
                raise ValueError(
                    f'Layer "{self.name}" (EinsumDense): output letter {c!r} '
                    f"has size {sizes[c]} in the input but {d} in "
                    f"output_shape={self.partial_output_shape}.")
            sizes.setdefault(c, d)
        missing = [c for c in ker if sizes.get(c) is None]
        if missing:
            raise ValueError(
                f'Layer "{self.name}" (EinsumDense): the size of kernel '
                f"letter(s) {missing} is unknown: each must appear in the "
                f"input (with a known size) or in output_shape. Received "
                f"equation={self.equation!r}, input shape {input_shape}, "
                f"output_shape={self.partial_output_shape}")
        self.full_output_shape = (None,) + tuple(sizes.get(c) for c in out[1:])
        self.kernel = self.add_weight(
            name="kernel", shape=tuple(sizes[c] for c in ker),
            initializer=self.kernel_initializer,
            regularizer=self.kernel_regularizer,
            constraint=self.kernel_constraint)
        self.bias = None
        if self.bias_axes:
            first = min(out.index(c) for c in self.bias_axes)
            shape = tuple(sizes[c] if c in self.bias_axes else 1
                          for c in out[first:])
            self.bias = self.add_weight(
                name="bias", shape=shape, initializer=self.bias_initializer,
                regularizer=self.bias_regularizer,
                constraint=self.bias_constraint)
        self.built = True
        if self.lora_rank:
            self.enable_lora(self.lora_rank, lora_alpha=self.lora_alpha)

    def call(self, inputs):
        x = ops.einsum(self.equation.replace(" ", ""), inputs, self.kernel)
        if self.bias is not None:
            x = ops.add(x, self.bias)
        if self.activation is not None:
            x = self.activation(x)
        return x

    def get_config(self):
        return {
            **super().get_config(), "output_shape": list(
                self.partial_output_shape),
            "equation": self.equation,
            "activation": activations.serialize(self.activation),
            "bias_axes": self.bias_axes,
            "kernel_initializer": _ser(self.kernel_initializer, initializers),
            "bias_initializer": _ser(self.bias_initializer, initializers),
            "kernel_regularizer": _ser(self.kernel_regularizer, regularizers),
            "bias_regularizer": _ser(self.bias_regularizer, regularizers),
            "kernel_constraint": _ser(self.kernel_constraint, constraints),
            "bias_constraint": _ser(self.bias_constraint, constraints),
            **lora.lora_config(self),
        }


class RMSNormalization(Layer):
    """Root-mean-square normalization (Zhang & Sennrich, 2019):
    `x * rsqrt(mean(x**2, axis) + epsilon) * scale`, with a learned
    `scale` over `axis`.

    Args:
        axis: the axis or axes normalized over (default -1).
        epsilon: added to the mean square (default 1e-6).

    Example:
        >>> RMSNormalization()(np.array([[3.0, 4.0]], "float32"))
        array([[0.8485281, 1.1313708]], dtype=float32)
    """

    def __init__(self, axis=-1, epsilon=1e-6, **kwargs):
        super().__init__(**kwargs)
        self.axis = list(axis) if isinstance(axis, (list, tuple)) else axis
        self.epsilon = epsilon
        self.supports_masking = True

    def _axes(self, rank: int) -> list:
        axes = self.axis if isinstance(self.axis, list) else [self.axis]
        bad = [a for a in axes if not -rank <= a < rank]
        if bad:
            raise ValueError(
                f'Layer "{self.name}" (RMSNormalization): axis {bad[0]} is out '
                f"of bounds for inputs of rank {rank}. Received: "
                f"axis={self.axis}")
        return sorted(a % rank for a in axes)

    def build(self, input_shape):
        axes = self._axes(len(input_shape))
        self.scale = self.add_weight(
            name="scale", shape=tuple(input_shape[a] for a in axes),
            initializer="ones")

    def call(self, inputs):
        rank = len(ops.shape(inputs))
        axes = self._axes(rank)
        x = inputs
        ms = ops.mean(ops.square(x), axis=tuple(axes), keepdims=True)
        y = ops.multiply(x, ops.rsqrt(ops.add(ms, float(self.epsilon))))
        shape = [ops.shape(inputs)[a] if a in axes else 1
                 for a in range(rank)]
        scale = self.scale
        if axes != [rank - 1]:
            scale = ops.reshape(scale, shape)
        return ops.multiply(y, scale)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self):
        return {**super().get_config(), "axis": self.axis,
                "epsilon": self.epsilon}


__all__ = ["EinsumDense", "RMSNormalization"]
