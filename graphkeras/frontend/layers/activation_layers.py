"""Activation layers with parameters: ReLU, LeakyReLU, PReLU, ELU, Softmax.

Each computes the same function as its `activations` twin with Keras 3's
layer defaults (LeakyReLU's negative_slope is 0.3 here, 0.2 in the
function; PReLU's alpha starts at zeros and is a trainable weight).
"""

from __future__ import annotations

from .. import activations, constraints, initializers, ops, regularizers
from .core import _ser
from .layer import Layer


def _check_number(layer, arg, value, minimum=None):
    if value is None or isinstance(value, bool) or not isinstance(
        value, (int, float)
    ):
        raise ValueError(
            f"{layer} expects a number for `{arg}`, received "
            f"{arg}={value!r}."
        )
    if minimum is not None and value < minimum:
        raise ValueError(
            f"{arg} of a {layer} layer cannot be a negative value. "
            f"Received: {arg}={value}"
        )


class ReLU(Layer):
    """Rectified linear unit with options:
    `max_value` (saturation), `negative_slope` (below the threshold) and
    `threshold`.

    Example:
        >>> ReLU(max_value=6.0)(np.array([-1.0, 3.0, 9.0]))
        array([0., 3., 6.])
    """

    def __init__(self, max_value=None, negative_slope=0.0, threshold=0.0,
                 **kwargs):
        super().__init__(**kwargs)
        if max_value is not None:
            _check_number("ReLU", "max_value", max_value, 0)
        _check_number("ReLU", "negative_slope", negative_slope, 0)
        _check_number("ReLU", "threshold", threshold, 0)
        self.max_value = max_value
        self.negative_slope = negative_slope
        self.threshold = threshold
        self.supports_masking = True
        self.built = True

    def call(self, inputs):
        return activations.relu(inputs, negative_slope=self.negative_slope,
                                max_value=self.max_value,
                                threshold=self.threshold)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self):
        return {**super().get_config(), "max_value": self.max_value,
                "negative_slope": self.negative_slope,
                "threshold": self.threshold}


class LeakyReLU(Layer):
    """`x` for x >= 0, `negative_slope * x` otherwise (default 0.3)."""

    def __init__(self, negative_slope=0.3, **kwargs):
        if "alpha" in kwargs:
            negative_slope = kwargs.pop("alpha")
        super().__init__(**kwargs)
        _check_number("LeakyReLU", "negative_slope", negative_slope, 0)
        self.negative_slope = negative_slope
        self.supports_masking = True
        self.built = True

    def call(self, inputs):
        return activations.leaky_relu(inputs,
                                      negative_slope=self.negative_slope)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self):
        return {**super().get_config(), "negative_slope": self.negative_slope}


class ELU(Layer):
    """`x` for x > 0, `alpha * (exp(x) - 1)` otherwise."""

    def __init__(self, alpha=1.0, **kwargs):
        super().__init__(**kwargs)
        self.alpha = alpha
        self.supports_masking = True
        self.built = True

    def call(self, inputs):
        return activations.elu(inputs, alpha=self.alpha)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self):
        return {**super().get_config(), "alpha": self.alpha}


class PReLU(Layer):
    """Parametric ReLU: `x` for x >= 0, `alpha * x` otherwise, with a
    learned `alpha` per input element (shared along `shared_axes`).

    Args:
        alpha_initializer: default "zeros".
        alpha_regularizer, alpha_constraint: optional.
        shared_axes: axes (1-based, the batch excluded) along which alpha
            is shared, e.g. [1, 2] for a feature map.
    """

    def __init__(self, alpha_initializer="Zeros", alpha_regularizer=None,
                 alpha_constraint=None, shared_axes=None, **kwargs):
        super().__init__(**kwargs)
        self.supports_masking = True
        self.alpha_initializer = initializers.get(alpha_initializer)
        self.alpha_regularizer = regularizers.get(alpha_regularizer)
        self.alpha_constraint = constraints.get(alpha_constraint)
        if shared_axes is None:
            self.shared_axes = None
        elif isinstance(shared_axes, (list, tuple)):
            self.shared_axes = list(shared_axes)
        else:
            self.shared_axes = [shared_axes]

    def build(self, input_shape):
        param_shape = list(input_shape[1:])
        if self.shared_axes is not None:
            for i in self.shared_axes:
                if not 1 <= i < len(input_shape):
                    raise ValueError(
                        f'Layer "{self.name}": shared_axes entries must name '
                        f"axes 1..{len(input_shape) - 1} of input shape "
                        f"{tuple(input_shape)}, received shared_axes="
                        f"{self.shared_axes}."
                    )
                param_shape[i - 1] = 1
        if any(d is None for d in param_shape):
            raise ValueError(
                f'Layer "{self.name}" needs static non-batch dimensions (or '
                f"shared_axes over the unknown ones), received input shape "
                f"{tuple(input_shape)}."
            )
        self.alpha = self.add_weight(
            shape=tuple(param_shape), name="alpha",
            initializer=self.alpha_initializer,
            regularizer=self.alpha_regularizer,
            constraint=self.alpha_constraint)

    def call(self, inputs):
        pos = ops.relu(inputs)
        neg = ops.multiply(ops.negative(self.alpha),
                           ops.relu(ops.negative(inputs)))
        return ops.add(pos, neg)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self):
        return {
            **super().get_config(),
            "alpha_initializer": _ser(self.alpha_initializer, initializers),
            "alpha_regularizer": _ser(self.alpha_regularizer, regularizers),
            "alpha_constraint": _ser(self.alpha_constraint, constraints),
            "shared_axes": self.shared_axes,
        }


class Softmax(Layer):
    """Softmax over `axis` (an int or a list of ints). With a `mask`
    (True or > 0.5 = keep), masked positions get probability 0."""

    def __init__(self, axis=-1, **kwargs):
        super().__init__(**kwargs)
        self.axis = axis
        self.supports_masking = True
        self.built = True

    def call(self, inputs, mask=None):
        x = inputs
        keep = None
        if mask is not None:
            keep = (mask if ops.dtype(mask) == "bool"
                    else ops.greater(mask, 0.5))
            x = ops.where(keep, x, ops.full_like(x, -1e9))
        if isinstance(self.axis, (list, tuple)) and len(self.axis) > 1:
            out = ops.exp(ops.subtract(
                x, ops.logsumexp(x, axis=self.axis, keepdims=True)))
        else:
            axis = self.axis[0] if isinstance(self.axis, (list, tuple)) \
                else self.axis
            out = activations.softmax(x, axis=axis)
        if keep is not None:
            # an entirely masked row gives zeros, not a uniform row
            out = ops.where(keep, out, ops.zeros_like(out))
        return out

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self):
        return {**super().get_config(), "axis": self.axis}


__all__ = ["ELU", "LeakyReLU", "PReLU", "ReLU", "Softmax"]
