"""Regularization layers beyond core's Dropout: GaussianNoise,
GaussianDropout, AlphaDropout and ActivityRegularization.

Noise is counter-based (`random.normal` with the layer's SeedGenerator,
whose counter advances inside each traced train step), so every step draws
fresh noise and a replay from the same state repeats it. At inference the
noise layers are the identity.
"""

from __future__ import annotations

import math

from .. import ops, regularizers
from .. import random as random_module
from .layer import Layer


def _check_rate(arg, value):
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not (
        0 <= value <= 1
    ):
        raise ValueError(
            f"Invalid value received for argument `{arg}`. Expected a float "
            f"value between 0 and 1. Received: {arg}={value}"
        )


class GaussianNoise(Layer):
    """Adds zero-centered Gaussian noise of standard deviation `stddev`
    during training (a regularizer against overfitting).

    Args:
        stddev: the noise's standard deviation, in [0, 1].
        seed: an int for reproducible noise.
    """

    def __init__(self, stddev, seed=None, **kwargs):
        super().__init__(**kwargs)
        _check_rate("stddev", stddev)
        self.stddev = stddev
        self.seed = seed
        self.seed_generator = (random_module.SeedGenerator(seed)
                               if stddev > 0 else None)
        self.supports_masking = True
        self.built = True

    def call(self, inputs, training=False):
        if training and self.stddev > 0:
            noise = random_module.normal(ops.shape(inputs), mean=0.0,
                                         stddev=self.stddev,
                                         dtype=self._tensor_dtype,
                                         seed=self.seed_generator)
            return ops.add(inputs, noise)
        return inputs

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self):
        return {**super().get_config(), "stddev": self.stddev,
                "seed": self.seed}


class GaussianDropout(Layer):
    """Multiplies the inputs by Gaussian noise of mean 1 and variance
    rate / (1 - rate) during training."""

    def __init__(self, rate, seed=None, **kwargs):
        super().__init__(**kwargs)
        _check_rate("rate", rate)
        self.rate = rate
        self.seed = seed
        self.seed_generator = (random_module.SeedGenerator(seed)
                               if rate > 0 else None)
        self.supports_masking = True
        self.built = True

    def call(self, inputs, training=False):
        if training and self.rate > 0:
            stddev = math.sqrt(self.rate / (1.0 - self.rate))
            noise = random_module.normal(ops.shape(inputs), mean=1.0,
                                         stddev=stddev,
                                         dtype=self._tensor_dtype,
                                         seed=self.seed_generator)
            return ops.multiply(inputs, noise)
        return inputs

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self):
        return {**super().get_config(), "rate": self.rate, "seed": self.seed}


class AlphaDropout(Layer):
    """Dropout for SELU networks: during training a dropped unit takes the
    SELU's negative saturation value, then an affine map restores the
    inputs' mean and variance (Klambauer et al., 2017; Keras 3's formula).

    Args:
        rate: the fraction dropped, in [0, 1].
        noise_shape: the shape of the keep mask (None entries take the
            input's size), broadcast over the inputs.
        seed: an int for reproducible masks.
    """

    _ALPHA = 1.6732632423543772848170429916717
    _SCALE = 1.0507009873554804934193349852946

    def __init__(self, rate, noise_shape=None, seed=None, **kwargs):
        super().__init__(**kwargs)
        _check_rate("rate", rate)
        self.rate = rate
        self.noise_shape = noise_shape
        self.seed = seed
        self.seed_generator = (random_module.SeedGenerator(seed)
                               if rate > 0 else None)
        self.supports_masking = True
        self.built = True

    def call(self, inputs, training=False):
        if not (training and self.rate > 0):
            return inputs
        shape = ops.shape(inputs)
        if self.noise_shape is not None:
            shape = tuple(shape[i] if d is None else d
                          for i, d in enumerate(self.noise_shape))
        alpha_p = -self._ALPHA * self._SCALE
        keep = ops.cast(ops.greater_equal(
            random_module.uniform(shape, dtype=self._tensor_dtype,
                                  seed=self.seed_generator), self.rate),
            self._tensor_dtype)
        a = ((1 - self.rate) * (1 + self.rate * alpha_p ** 2)) ** -0.5
        b = -a * alpha_p * self.rate
        dropped = ops.add(ops.multiply(inputs, keep),
                          ops.multiply(ops.subtract(1.0, keep), alpha_p))
        return ops.add(ops.multiply(dropped, a), b)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self):
        return {**super().get_config(), "rate": self.rate,
                "noise_shape": self.noise_shape, "seed": self.seed}


class ActivityRegularization(Layer):
    """The identity, adding `l1 * sum(|x|) + l2 * sum(x^2)` of its output
    (divided by the batch size, as Keras 3 does) to the training loss."""

    def __init__(self, l1=0.0, l2=0.0, **kwargs):
        super().__init__(activity_regularizer=regularizers.L1L2(l1=l1, l2=l2),
                         **kwargs)
        self.supports_masking = True
        self.l1 = l1
        self.l2 = l2
        self.built = True

    def call(self, inputs):
        return inputs

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self):
        config = {**super().get_config(), "l1": self.l1, "l2": self.l2}
        config.pop("activity_regularizer", None)
        return config


__all__ = ["ActivityRegularization", "GaussianDropout", "GaussianNoise"]
