"""Merge layers: Add, Subtract, Multiply, Average, Maximum, Minimum,
Concatenate, Dot, and their functional forms (`layers.add([a, b])`, ...).

A merge layer is called on a list of tensors. Elementwise merges follow
Keras 3: shapes broadcast (a size of 1 meets any size), and an input of
lower rank gets size-1 axes inserted after the batch axis. Build-time
checks raise ValueErrors naming the layer and the shapes received.
"""

from __future__ import annotations

import numpy as np

from .. import ops
from .layer import Layer


def _not_a_list(layer, what, value):
    return ValueError(
        f'A merge layer ("{layer.name}", {type(layer).__name__}) should be '
        f"called on a list of inputs. Received: {what}={value} (not a list "
        f"of {'shapes' if what == 'input_shape' else 'tensors'})"
    )


class Merge(Layer):
    """Base class of the elementwise merges: subclasses define
    `_merge_function(inputs)` over a list of equal-rank tensors."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.supports_masking = True

    def _elementwise_shape(self, shape1, shape2):
        if len(shape1) < len(shape2):
            return self._elementwise_shape(shape2, shape1)
        if not shape2:
            return tuple(shape1)
        out = list(shape1[: len(shape1) - len(shape2)])
        for i, j in zip(shape1[len(shape1) - len(shape2):], shape2):
            if i is None or j is None:
                out.append(None)
            elif i == 1:
                out.append(j)
            elif j == 1 or i == j:
                out.append(i)
            else:
                raise ValueError(
                    f'Layer "{self.name}": inputs have incompatible shapes. '
                    f"Received shapes {tuple(shape1)} and {tuple(shape2)}"
                )
        return tuple(out)

    def build(self, input_shape):
        if not isinstance(input_shape, (list, tuple)) or not input_shape or (
            not isinstance(input_shape[0], (list, tuple))
        ):
            raise _not_a_list(self, "input_shape", input_shape)
        batch_sizes = {s[0] for s in input_shape if s} - {None}
        if len(batch_sizes) > 1:
            raise ValueError(
                f'Layer "{self.name}": cannot merge tensors with different '
                f"batch sizes. Received tensors with shapes {list(input_shape)}"
            )
        out = tuple(input_shape[0][1:])
        for s in input_shape[1:]:
            out = self._elementwise_shape(out, tuple(s[1:]))
        self._reshape_required = len({len(s) for s in input_shape}) != 1

    def _check_list(self, inputs):
        if not isinstance(inputs, (list, tuple)):
            raise _not_a_list(self, "inputs", inputs)

    def call(self, inputs):
        self._check_list(inputs)
        inputs = list(inputs)
        ranks = [ops.ndim(x) for x in inputs]
        if len(set(ranks)) > 1:
            top = max(ranks)
            inputs = [ops.expand_dims(x, tuple(range(1, 1 + top - r)))
                      if r < top else x for x, r in zip(inputs, ranks)]
        return self._merge_function(inputs)

    def _merge_function(self, inputs):
        raise NotImplementedError

    def compute_output_shape(self, input_shape):
        out = tuple(input_shape[0][1:])
        for s in input_shape[1:]:
            out = self._elementwise_shape(out, tuple(s[1:]))
        batch = {s[0] for s in input_shape} - {None}
        return (batch.pop() if len(batch) == 1 else None,) + out

    def compute_mask(self, inputs, mask=None):
        if mask is None:
            return None
        masks = [ops.expand_dims(m, 0) for m in mask if m is not None]
        if not masks:
            return None
        return ops.all_(ops.concatenate(masks, axis=0), axis=0)


def _fold(fn, inputs):
    out = inputs[0]
    for x in inputs[1:]:
        out = fn(out, x)
    return out


class Add(Merge):
    """The elementwise sum of a list of inputs.

    Example:
        >>> Add()([np.ones((2, 3)), np.ones((2, 3))]).sum()
        12.0
    """

    def _merge_function(self, inputs):
        return _fold(ops.add, inputs)


class Subtract(Merge):
    """inputs[0] - inputs[1] (exactly two inputs)."""

    def build(self, input_shape):
        super().build(input_shape)
        if len(input_shape) != 2:
            raise ValueError(
                f'A `Subtract` layer ("{self.name}") should be called on '
                f"exactly 2 inputs. Received: input_shape={list(input_shape)}"
            )

    def _merge_function(self, inputs):
        if len(inputs) != 2:
            raise ValueError(
                f'A `Subtract` layer ("{self.name}") should be called on '
                f"exactly 2 inputs. Received {len(inputs)} inputs."
            )
        return ops.subtract(inputs[0], inputs[1])


class Multiply(Merge):
    """The elementwise product of a list of inputs."""

    def _merge_function(self, inputs):
        return _fold(ops.multiply, inputs)


class Average(Merge):
    """The elementwise mean of a list of inputs."""

    def _merge_function(self, inputs):
        return ops.divide(_fold(ops.add, inputs), float(len(inputs)))


class Maximum(Merge):
    """The elementwise maximum of a list of inputs."""

    def _merge_function(self, inputs):
        return _fold(ops.maximum, inputs)


class Minimum(Merge):
    """The elementwise minimum of a list of inputs."""

    def _merge_function(self, inputs):
        return _fold(ops.minimum, inputs)


class Concatenate(Merge):
    """Concatenates a list of inputs along `axis` (default -1); every other
    axis must match.

    Example:
        >>> Concatenate()([np.ones((2, 3)), np.zeros((2, 1))]).shape
        (2, 4)
    """

    def __init__(self, axis=-1, **kwargs):
        super().__init__(**kwargs)
        self.axis = axis
        self.supports_masking = True

    def _mismatch(self, input_shape):
        return ValueError(
            f'A `Concatenate` layer ("{self.name}") requires inputs with '
            "matching shapes except for the concatenation axis. Received: "
            f"input_shape={list(input_shape)}"
        )

    def build(self, input_shape):
        if not isinstance(input_shape, (list, tuple)) or not input_shape or (
            not isinstance(input_shape[0], (list, tuple))
        ):
            raise _not_a_list(self, "input_shape", input_shape)
        if len(input_shape) < 1:
            raise self._mismatch(input_shape)
        ranks = {len(s) for s in input_shape}
        if len(ranks) != 1:
            raise self._mismatch(input_shape)
        rank = ranks.pop()
        if not -rank <= self.axis < rank:
            raise ValueError(
                f'Layer "{self.name}": axis {self.axis} is out of bounds for '
                f"inputs of rank {rank}. Received: input_shape="
                f"{list(input_shape)}"
            )
        axis = self.axis % rank
        for i in range(rank):
            if i == axis:
                continue
            sizes = {s[i] for s in input_shape} - {None}
            if len(sizes) > 1:
                raise self._mismatch(input_shape)

    def call(self, inputs):
        self._check_list(inputs)
        return ops.concatenate(list(inputs), axis=self.axis)

    def compute_output_shape(self, input_shape):
        out = list(input_shape[0])
        axis = self.axis % len(out)
        sizes = [s[axis] for s in input_shape]
        out[axis] = None if any(d is None for d in sizes) else int(sum(sizes))
        return tuple(out)

    def get_config(self):
        return {**super().get_config(), "axis": self.axis}


class Dot(Merge):
    """Dot product of two samples along `axes`: for inputs of shapes
    (N, d) and (N, d) with axes=1 the output is (N, 1); for (N, a, d) and
    (N, b, d) with axes=2 it is (N, a, b).

    Args:
        axes: an int, or a pair of ints (one axis per input).
        normalize: L2-normalize both inputs along the axes first (the
            output is then the cosine proximity).
    """

    def __init__(self, axes, normalize=False, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(axes, int):
            if not isinstance(axes, (list, tuple)):
                raise TypeError(
                    "Invalid type for argument `axes`: it should be a list "
                    f"or an int. Received: axes={axes}"
                )
            if len(axes) != 2:
                raise ValueError(
                    "Invalid format for argument `axes`: it should contain "
                    f"two elements. Received: axes={axes}"
                )
            if not all(isinstance(a, int) for a in axes):
                raise ValueError(
                    "Invalid format for argument `axes`: list elements "
                    f"should be integers. Received: axes={axes}"
                )
        self.axes = axes
        self.normalize = normalize
        self.supports_masking = True

    def _resolved_axes(self, shape1, shape2):
        if isinstance(self.axes, int):
            if self.axes < 0:
                return [self.axes % len(shape1), self.axes % len(shape2)]
            return [self.axes] * 2
        return [a % len(s) if a < 0 else a
                for a, s in zip(self.axes, (shape1, shape2))]

    def build(self, input_shape):
        if not isinstance(input_shape, (list, tuple)) or len(input_shape) != 2 \
                or not isinstance(input_shape[0], (list, tuple)):
            raise ValueError(
                f'A `Dot` layer ("{self.name}") should be called on a list of '
                f"2 inputs. Received: input_shape={input_shape}"
            )
        s1, s2 = input_shape
        a1, a2 = self._resolved_axes(s1, s2)
        if a1 == 0 or a2 == 0:
            raise ValueError(
                f'Layer "{self.name}": Dot cannot contract the batch axis. '
                f"Received: axes={self.axes}"
            )
        if s1[a1] != s2[a2]:
            raise ValueError(
                f'Layer "{self.name}": incompatible input shapes: axis values '
                f"{s1[a1]} (at axis {a1}) != {s2[a2]} (at axis {a2}). Full "
                f"input shapes: {tuple(s1)}, {tuple(s2)}"
            )

    def call(self, inputs):
        self._check_list(inputs)
        if len(inputs) != 2:
            raise ValueError(
                f'A `Dot` layer ("{self.name}") should be called on exactly 2 '
                f"inputs. Received {len(inputs)} inputs."
            )
        x1, x2 = inputs
        s1, s2 = ops.shape(x1), ops.shape(x2)
        a1, a2 = self._resolved_axes(s1, s2)
        if self.normalize:
            x1 = ops.normalize(x1, axis=a1)
            x2 = ops.normalize(x2, axis=a2)
        # (N, A..., k) @ (N, k, B...) as one batched matmul
        x1 = ops.moveaxis(x1, a1, -1)
        x2 = ops.moveaxis(x2, a2, 1)
        rest1 = tuple(ops.shape(x1)[1:-1])
        rest2 = tuple(ops.shape(x2)[2:])
        k = ops.shape(x1)[-1]
        m = ops.reshape(x1, (s1[0], int(np.prod(rest1)), k))
        n = ops.reshape(x2, (s2[0], k, int(np.prod(rest2))))
        out = ops.matmul(m, n)
        final = rest1 + rest2
        if not final:
            final = (1,)
        return ops.reshape(out, (s1[0],) + final)

    def compute_output_shape(self, input_shape):
        s1, s2 = list(input_shape[0]), list(input_shape[1])
        a1, a2 = self._resolved_axes(s1, s2)
        s1.pop(a1)
        s2.pop(a2)
        s2.pop(0)
        out = s1 + s2
        if len(out) == 1:
            out += [1]
        return tuple(out)

    def compute_mask(self, inputs, mask=None):
        return None

    def get_config(self):
        return {**super().get_config(), "axes": self.axes,
                "normalize": self.normalize}


def add(inputs, **kwargs):
    """Functional form of `Add`."""
    return Add(**kwargs)(inputs)


def subtract(inputs, **kwargs):
    """Functional form of `Subtract`."""
    return Subtract(**kwargs)(inputs)


def multiply(inputs, **kwargs):
    """Functional form of `Multiply`."""
    return Multiply(**kwargs)(inputs)


def average(inputs, **kwargs):
    """Functional form of `Average`."""
    return Average(**kwargs)(inputs)


def maximum(inputs, **kwargs):
    """Functional form of `Maximum`."""
    return Maximum(**kwargs)(inputs)


def minimum(inputs, **kwargs):
    """Functional form of `Minimum`."""
    return Minimum(**kwargs)(inputs)


def concatenate(inputs, axis=-1, **kwargs):
    """Functional form of `Concatenate`."""
    return Concatenate(axis=axis, **kwargs)(inputs)


def dot(inputs, axes=-1, **kwargs):
    """Functional form of `Dot`."""
    return Dot(axes=axes, **kwargs)(inputs)


__all__ = ["Add", "Average", "Concatenate", "Dot", "Maximum", "Merge",
           "Minimum", "Multiply", "Subtract", "add", "average", "concatenate",
           "dot", "maximum", "minimum", "multiply", "subtract"]
