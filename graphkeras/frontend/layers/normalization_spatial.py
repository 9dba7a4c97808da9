"""GroupNormalization (Keras 3 arguments, defaults, weights and formula).

The channels of the feature axis are split into `groups` groups; each
sample is normalized with the mean and (biased) variance of each group
over the group's channels and every other non-batch axis, then scaled by
`gamma` and shifted by `beta` per channel:

    inv = rsqrt(var + epsilon) * gamma;  out = x * inv + (beta - mean * inv)

groups=1 is close to LayerNormalization over all axes, groups=channels
(or -1) is instance normalization.
"""

from __future__ import annotations

from .. import constraints, initializers, ops, regularizers
from .core import _ser
from .input_spec import InputSpec
from .layer import Layer


class GroupNormalization(Layer):
    """Normalizes groups of channels per sample.

    Args:
        groups: the number of groups (it divides the channels), or -1 for
            one group per channel. Default 32.
        axis: the channel axis (default -1).
        epsilon: added to the variance (default 1e-3).
        center / scale: learn `beta` / `gamma` (default True).
        beta_initializer / gamma_initializer: "zeros" / "ones".
        *_regularizer, *_constraint: optional.

    Example:
        >>> GroupNormalization(2)(np.random.rand(2, 4, 4, 6).astype("float32")).shape
        (2, 4, 4, 6)
    """

    def __init__(self, groups=32, axis=-1, epsilon=1e-3, center=True,
                 scale=True, beta_initializer="zeros", gamma_initializer="ones",
                 beta_regularizer=None, gamma_regularizer=None,
                 beta_constraint=None, gamma_constraint=None, **kwargs):
        if isinstance(groups, bool) or not isinstance(groups, int) or (
                groups <= 0 and groups != -1):
            raise ValueError(
                "Received an invalid value for argument `groups`, expected a "
                "positive integer (or `-1` for instance normalization). "
                f"Received: groups={groups}")
        super().__init__(**kwargs)
        self.supports_masking = True
        self.autocast = False
        self.groups = groups
        self.axis = int(axis)
        self.epsilon = float(epsilon)
        self.center = center
        self.scale = scale
        self.beta_initializer = initializers.get(beta_initializer)
        self.gamma_initializer = initializers.get(gamma_initializer)
        self.beta_regularizer = regularizers.get(beta_regularizer)
        self.gamma_regularizer = regularizers.get(gamma_regularizer)
        self.beta_constraint = constraints.get(beta_constraint)
        self.gamma_constraint = constraints.get(gamma_constraint)
        self.gamma = None
        self.beta = None

    def build(self, input_shape):
        rank = len(input_shape)
        if not -rank <= self.axis < rank or self.axis % rank == 0:
            raise ValueError(
                f'Layer "{self.name}": axis {self.axis} is out of bounds (or the '
                f"batch axis) for input shape {tuple(input_shape)}.")
        dim = input_shape[self.axis]
        if dim is None:
            raise ValueError(
                f"Axis {self.axis} of input tensor should have a defined "
                "dimension but the layer received an input with shape "
                f"{tuple(input_shape)}.")
        if self.groups == -1:
            self.groups = dim
        if dim < self.groups:
            raise ValueError(
                f"Number of groups ({self.groups}) cannot be more than the "
                f"number of channels ({dim}).")
        if dim % self.groups:
            raise ValueError(
                f"Number of groups ({self.groups}) must be a multiple of the "
                f"number of channels ({dim}).")
        self.input_spec = InputSpec(ndim=rank, axes={self.axis: dim})
        if self.scale:
            self.gamma = self.add_weight(
                shape=(dim,), name="gamma", initializer=self.gamma_initializer,
                regularizer=self.gamma_regularizer,
                constraint=self.gamma_constraint)
        if self.center:
            self.beta = self.add_weight(
                shape=(dim,), name="beta", initializer=self.beta_initializer,
                regularizer=self.beta_regularizer,
                constraint=self.beta_constraint)

    def call(self, inputs):
        x = inputs
        if ops.dtype(x) not in ("float32", "float64"):
            x = ops.cast(x, "float32")
        shape = ops.shape(x)
        rank = len(shape)
        axis = self.axis % rank
        dim = shape[axis]
        grouped = list(shape)
        grouped[0] = -1
        grouped[axis:axis + 1] = [self.groups, dim // self.groups]
        xg = ops.reshape(x, tuple(grouped))
        # every axis but the batch and the group axis
        axes = [i for i in range(1, rank + 1) if i != axis]
        mean, var = ops.moments(xg, axes=axes, keepdims=True)
        bshape = [1] * (rank + 1)
        bshape[axis:axis + 2] = [self.groups, dim // self.groups]
        inv = ops.rsqrt(ops.add(var, self.epsilon))
        if self.gamma is not None:
            inv = ops.multiply(inv, ops.cast(ops.reshape(self.gamma, bshape),
                                             ops.dtype(x)))
        # (x - mean) * inv + beta: exact where x == mean (normalization.py)
        out = ops.multiply(ops.subtract(xg, mean), inv)
        if self.beta is not None:
            out = ops.add(out, ops.cast(ops.reshape(self.beta, bshape),
                                        ops.dtype(x)))
        out = ops.reshape(out, tuple(-1 if i == 0 else d
                                     for i, d in enumerate(shape)))
        return ops.cast(out, self._tensor_dtype)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self):
        return {
            **super().get_config(),
            "groups": self.groups, "axis": self.axis, "epsilon": self.epsilon,
            "center": self.center, "scale": self.scale,
            "beta_initializer": _ser(self.beta_initializer, initializers),
            "gamma_initializer": _ser(self.gamma_initializer, initializers),
            "beta_regularizer": _ser(self.beta_regularizer, regularizers),
            "gamma_regularizer": _ser(self.gamma_regularizer, regularizers),
            "beta_constraint": _ser(self.beta_constraint, constraints),
            "gamma_constraint": _ser(self.gamma_constraint, constraints),
        }


__all__ = ["GroupNormalization"]
