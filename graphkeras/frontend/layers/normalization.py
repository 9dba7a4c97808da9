"""Normalization layers: BatchNormalization, LayerNormalization,
UnitNormalization (Keras 3 defaults and formulas).

BatchNormalization keeps `moving_mean` / `moving_variance` as
non-trainable weights. In a training call of a trainable layer it
normalizes with the batch statistics (biased variance) and assigns

    moving = moving * momentum + batch_statistic * (1 - momentum)

which, inside a traced train step, becomes a state update of the step
program (no Python per batch). Otherwise (inference, or a frozen layer) it
normalizes with the moving statistics. Both layers compute

    inv = rsqrt(variance + epsilon) * gamma
    out = x * inv + (beta - mean * inv)

as Keras's backends do.
"""

from __future__ import annotations

from .. import constraints, initializers, ops, regularizers
from .core import _ser
from .input_spec import InputSpec
from .layer import Layer
from ..tensors import TracedTensor


def _normalize(x, mean, variance, gamma, beta, epsilon):
    # NOTE: (x - mean) * inv, not Keras' x * inv + (-mean * inv): compiled
    # code contracts that into an FMA, which keeps the rounding error of
    # mean * inv where x == mean (a feature axis of one element, a batch of
    # one): 1 / sqrt(epsilon) times an ulp of x instead of 0 (so Adam moved
    # gamma by a full step on rounding noise); and with |mean| >> std the
    # two products cancel. x - mean is exact near the mean.
    inv = ops.rsqrt(ops.add(variance, epsilon))
    if gamma is not None:
        inv = ops.multiply(inv, gamma)
    out = ops.multiply(ops.subtract(x, mean), inv)
    return out if beta is None else ops.add(out, beta)


class BatchNormalization(Layer):
    """Normalizes each feature with batch statistics while training and
    moving statistics at inference.

    Args:
        axis: the feature axis (default -1).
        momentum: of the moving statistics (default 0.99).
        epsilon: added to the variance (default 1e-3).
        center / scale: learn `beta` / `gamma` (default True).
        beta_initializer, gamma_initializer, moving_mean_initializer,
        moving_variance_initializer: "zeros", "ones", "zeros", "ones".
        beta_regularizer, gamma_regularizer, beta_constraint,
        gamma_constraint: optional.
        synchronized: under a DataParallel distribution on several MPI
            ranks, compute the batch moments over every rank's slice of
            the global batch (default False: each rank's own moments, as
            Keras). Alone, it changes nothing.

    Example:
        >>> bn = BatchNormalization()
        >>> y = bn(np.random.rand(8, 3).astype("float32"), training=True)
    """

    def __init__(self, axis=-1, momentum=0.99, epsilon=1e-3, center=True,
                 scale=True, beta_initializer="zeros", gamma_initializer="ones",
                 moving_mean_initializer="zeros",
                 moving_variance_initializer="ones", beta_regularizer=None,
                 gamma_regularizer=None, beta_constraint=None,
                 gamma_constraint=None, synchronized=False, **kwargs):
        renorm = kwargs.pop("renorm", False)
        kwargs.pop("renorm_clipping", None)
        kwargs.pop("renorm_momentum", None)
        super().__init__(**kwargs)
        if renorm:
            raise ValueError(
                f'Layer "{self.name}": renorm=True is not supported by '
                "graphkeras's BatchNormalization."
            )
        self.axis = int(axis)
        self.synchronized = synchronized
        self.momentum = float(momentum)
        self.epsilon = float(epsilon)
        self.center = center
        self.scale = scale
        self.beta_initializer = initializers.get(beta_initializer)
        self.gamma_initializer = initializers.get(gamma_initializer)
        self.moving_mean_initializer = initializers.get(moving_mean_initializer)
        self.moving_variance_initializer = initializers.get(
            moving_variance_initializer)
        self.beta_regularizer = regularizers.get(beta_regularizer)
        self.gamma_regularizer = regularizers.get(gamma_regularizer)
        self.beta_constraint = constraints.get(beta_constraint)
        self.gamma_constraint = constraints.get(gamma_constraint)
        self.supports_masking = True
        self.gamma = None
        self.beta = None
        self.moving_mean = None
        self.moving_variance = None

    def build(self, input_shape):
        rank = len(input_shape)
        if not -rank <= self.axis < rank:
            raise ValueError(
                f'Layer "{self.name}": axis {self.axis} is out of bounds for '
                f"input shape {tuple(input_shape)}."
            )
        dim = input_shape[self.axis]
        if dim is None:
            raise ValueError(
                f'Layer "{self.name}": the feature axis {self.axis} of the '
                f"input must have a known size, received input shape "
                f"{tuple(input_shape)}."
            )
        shape = (dim,)
        if self.scale:
            self.gamma = self.add_weight(
                shape=shape, name="gamma", initializer=self.gamma_initializer,
                regularizer=self.gamma_regularizer,
                constraint=self.gamma_constraint, autocast=False)
        if self.center:
            self.beta = self.add_weight(
                shape=shape, name="beta", initializer=self.beta_initializer,
                regularizer=self.beta_regularizer,
                constraint=self.beta_constraint, autocast=False)
        # (as Keras: a mixed_float16 BatchNormalization reads float32 ones)
        self.moving_mean = self.add_weight(
            shape=shape, name="moving_mean",
            initializer=self.moving_mean_initializer, trainable=False,
            autocast=False)
        self.moving_variance = self.add_weight(
            shape=shape, name="moving_variance",
            initializer=self.moving_variance_initializer, trainable=False,
            autocast=False)
        self.input_spec = InputSpec(ndim=rank, axes={self.axis: dim})
        axis = self.axis % rank
        self._reduction_axes = [i for i in range(rank) if i != axis]
        self._broadcast = None if axis == rank - 1 else tuple(
            dim if i == axis else 1 for i in range(rank))

    def _shaped(self, v):
        if v is None or self._broadcast is None:
            return v
        return ops.reshape(v, self._broadcast)

    def call(self, inputs, training=None, mask=None):
        x = inputs
        if ops.dtype(x) not in ("float32", "float64"):
            x = ops.cast(x, "float32")
        dt = ops.dtype(x)
        moving_mean = ops.cast(self.moving_mean, dt)
        moving_variance = ops.cast(self.moving_variance, dt)
        gamma = ops.cast(self.gamma, dt) if self.scale else None
        beta = ops.cast(self.beta, dt) if self.center else None
        if training and self.trainable:
            sync = None
            if self.synchronized and mask is None:
                from ..distributed_trainer import active

                sync = active()  # DataParallel ranks: moments of all
            if sync is not None and isinstance(x, TracedTensor):
                mean, variance = sync.sync_moments(x, self._reduction_axes)
            elif mask is not None:
                mean, variance = self._masked_moments(x, mask)
            else:
                mean, variance = ops.moments(x, axes=self._reduction_axes)
            self.moving_mean.assign(ops.add(
                ops.multiply(moving_mean, self.momentum),
                ops.multiply(mean, 1.0 - self.momentum)))
            self.moving_variance.assign(ops.add(
                ops.multiply(moving_variance, self.momentum),
                ops.multiply(variance, 1.0 - self.momentum)))
        else:
            mean, variance = moving_mean, moving_variance
        out = _normalize(x, self._shaped(mean), self._shaped(variance),
                         self._shaped(gamma), self._shaped(beta), self.epsilon)
        return ops.cast(out, self._tensor_dtype)

    def _masked_moments(self, x, mask):
        axes = self._reduction_axes
        keep = ops.broadcast_to(ops.expand_dims(ops.cast(mask, "bool"), -1),
                                ops.shape(x))
        w = ops.cast(keep, ops.dtype(x))
        total = ops.sum(ops.where(keep, x, ops.zeros_like(x)), axis=axes,
                        keepdims=True)
        count = ops.add(ops.sum(w, axis=axes, keepdims=True), 1e-7)
        mean = ops.divide(total, count)
        diff = ops.where(keep, ops.subtract(x, mean), ops.zeros_like(x))
        var = ops.divide(ops.sum(ops.square(diff), axis=axes, keepdims=True),
                         count)
        return ops.squeeze(mean, axes), ops.squeeze(var, axes)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self):
        return {
            **super().get_config(),
            "axis": self.axis, "momentum": self.momentum,
            "epsilon": self.epsilon, "center": self.center,
            "scale": self.scale,
            "beta_initializer": _ser(self.beta_initializer, initializers),
            "gamma_initializer": _ser(self.gamma_initializer, initializers),
            "moving_mean_initializer": _ser(self.moving_mean_initializer,
                                            initializers),
            "moving_variance_initializer": _ser(
                self.moving_variance_initializer, initializers),
            "beta_regularizer": _ser(self.beta_regularizer, regularizers),
            "gamma_regularizer": _ser(self.gamma_regularizer, regularizers),
            "beta_constraint": _ser(self.beta_constraint, constraints),
            "gamma_constraint": _ser(self.gamma_constraint, constraints),
            "synchronized": self.synchronized,
        }


class LayerNormalization(Layer):
    """Normalizes each sample over `axis` (default the last), then scales
    by `gamma` and shifts by `beta` (learned per normalized element).

    Args:
        axis: an int or a list of ints (default -1).
        epsilon: added to the variance (default 1e-3).
        center / scale: learn `beta` / `gamma` (default True).
        beta_initializer / gamma_initializer: "zeros" / "ones".
        *_regularizer, *_constraint: optional.
    """

    def __init__(self, axis=-1, epsilon=1e-3, center=True, scale=True,
                 beta_initializer="zeros", gamma_initializer="ones",
                 beta_regularizer=None, gamma_regularizer=None,
                 beta_constraint=None, gamma_constraint=None, **kwargs):
        rms_scaling = kwargs.pop("rms_scaling", False)
        super().__init__(**kwargs)
        if isinstance(axis, (list, tuple)):
            self.axis = list(axis)
        elif isinstance(axis, int):
            self.axis = axis
        else:
            raise TypeError(
                "Expected an int or a list/tuple of ints for the argument "
                f"'axis', but received: {axis!r}"
            )
        self.epsilon = epsilon
        self.center = center
        self.scale = scale
        self.rms_scaling = rms_scaling
        self.beta_initializer = initializers.get(beta_initializer)
        self.gamma_initializer = initializers.get(gamma_initializer)
        self.beta_regularizer = regularizers.get(beta_regularizer)
        self.gamma_regularizer = regularizers.get(gamma_regularizer)
        self.beta_constraint = constraints.get(beta_constraint)
        self.gamma_constraint = constraints.get(gamma_constraint)
        self.supports_masking = True
        self.autocast = False

    def build(self, input_shape):
        rank = len(input_shape)
        axes = self.axis if isinstance(self.axis, list) else [self.axis]
        # as Keras: once built, the axis is a sorted list (so the config
        # reads "axis": [-1])
        self.axis = sorted(axes) if isinstance(self.axis, list) else axes
        for a in axes:
            if not -rank <= a < rank:
                raise ValueError(
                    f"Axis {a} is out of bounds for input shape "
                    f"{tuple(input_shape)}. Received: axis={self.axis}"
                )
        axes = sorted(a % rank for a in axes)
        shape = tuple(input_shape[a] for a in axes)
        if any(d is None for d in shape) or 0 in axes:
            raise ValueError(
                f'Layer "{self.name}" normalizes over axes {axes}, which must '
                f"have known sizes and exclude the batch axis; received input "
                f"shape {tuple(input_shape)}."
            )
        self._axes = axes
        self._broadcast = None if axes == [rank - 1] else tuple(
            input_shape[i] if i in axes else 1 for i in range(rank))
        if self.scale or self.rms_scaling:
            self.gamma = self.add_weight(
                name="gamma", shape=shape, initializer=self.gamma_initializer,
                regularizer=self.gamma_regularizer,
                constraint=self.gamma_constraint)
        else:
            self.gamma = None
        if self.center and not self.rms_scaling:
            self.beta = self.add_weight(
                name="beta", shape=shape, initializer=self.beta_initializer,
                regularizer=self.beta_regularizer,
                constraint=self.beta_constraint)
        else:
            self.beta = None

    def _shaped(self, v):
        if v is None or self._broadcast is None:
            return v
        return ops.reshape(v, self._broadcast)

    def call(self, inputs):
        x = inputs
        dt = ops.dtype(x)
        if dt not in ("float32", "float64"):
            x = ops.cast(x, "float32")
        gamma, beta = self._shaped(self.gamma), self._shaped(self.beta)
        if self.rms_scaling:
            variance = ops.var(x, axis=self._axes, keepdims=True)
            out = ops.multiply(x, ops.rsqrt(ops.add(variance, self.epsilon)))
            if gamma is not None:
                out = ops.multiply(out, gamma)
        else:
            mean, variance = ops.moments(x, axes=self._axes, keepdims=True)
            out = _normalize(x, mean, variance, gamma, beta, self.epsilon)
        return ops.cast(out, self._tensor_dtype)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self):
        return {
            **super().get_config(),
            "axis": self.axis, "epsilon": self.epsilon, "center": self.center,
            "scale": self.scale, "rms_scaling": self.rms_scaling,
            "beta_initializer": _ser(self.beta_initializer, initializers),
            "gamma_initializer": _ser(self.gamma_initializer, initializers),
            "beta_regularizer": _ser(self.beta_regularizer, regularizers),
            "gamma_regularizer": _ser(self.gamma_regularizer, regularizers),
            "beta_constraint": _ser(self.beta_constraint, constraints),
            "gamma_constraint": _ser(self.gamma_constraint, constraints),
        }


class UnitNormalization(Layer):
    """Scales each sample to unit L2 norm over `axis` (default -1)."""

    def __init__(self, axis=-1, **kwargs):
        super().__init__(**kwargs)
        self.axis = list(axis) if isinstance(axis, (list, tuple)) else axis
        self.supports_masking = True
        self.built = True

    def call(self, inputs):
        return ops.normalize(inputs, axis=self.axis, epsilon=1e-12)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self):
        return {**super().get_config(), "axis": self.axis}


__all__ = ["BatchNormalization", "LayerNormalization", "UnitNormalization"]
