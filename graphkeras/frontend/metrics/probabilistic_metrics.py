"""Probabilistic and hinge metrics: the epoch mean of the matching loss
function (crossentropies with from_logits / label_smoothing, KL
divergence, Poisson, hinge, squared hinge, categorical hinge)."""

from __future__ import annotations

from ..losses.losses import (
    binary_crossentropy,
    categorical_crossentropy,
    categorical_hinge,
    hinge,
    kl_divergence,
    poisson,
    sparse_categorical_crossentropy,
    squared_hinge,
)
from .reduction_metrics import _NamedWrapper


class KLDivergence(_NamedWrapper):
    """Mean Kullback-Leibler divergence over the epoch."""

    def __init__(self, name="kl_divergence", dtype=None):
        super().__init__(kl_divergence, name=name, dtype=dtype)
        self._direction = "down"


class Poisson(_NamedWrapper):
    """Mean Poisson loss over the epoch."""

    def __init__(self, name="poisson", dtype=None):
        super().__init__(poisson, name=name, dtype=dtype)
        self._direction = "down"


class BinaryCrossentropy(_NamedWrapper):
    """Mean binary crossentropy over the epoch."""

    _keys = ("from_logits", "label_smoothing")

    def __init__(self, name="binary_crossentropy", dtype=None,
                 from_logits=False, label_smoothing=0):
        super().__init__(binary_crossentropy, name=name, dtype=dtype,
                         from_logits=from_logits,
                         label_smoothing=label_smoothing)
        self.from_logits = from_logits
        self.label_smoothing = label_smoothing
        self._direction = "down"


class CategoricalCrossentropy(_NamedWrapper):
    """Mean categorical crossentropy over the epoch."""

    _keys = ("from_logits", "label_smoothing", "axis")

    def __init__(self, name="categorical_crossentropy", dtype=None,
                 from_logits=False, label_smoothing=0, axis=-1):
        super().__init__(categorical_crossentropy, name=name, dtype=dtype,
                         from_logits=from_logits,
                         label_smoothing=label_smoothing, axis=axis)
        self.from_logits = from_logits
        self.label_smoothing = label_smoothing
        self.axis = axis
        self._direction = "down"


class SparseCategoricalCrossentropy(_NamedWrapper):
    """Mean sparse categorical crossentropy over the epoch."""

    _keys = ("from_logits", "axis")

    def __init__(self, name="sparse_categorical_crossentropy", dtype=None,
                 from_logits=False, axis=-1):
        super().__init__(sparse_categorical_crossentropy, name=name,
                         dtype=dtype, from_logits=from_logits, axis=axis)
        self.from_logits = from_logits
        self.axis = axis
        self._direction = "down"


class Hinge(_NamedWrapper):
    """Mean hinge loss over the epoch."""

    def __init__(self, name="hinge", dtype=None):
        super().__init__(hinge, name=name, dtype=dtype)
        self._direction = "down"


class SquaredHinge(_NamedWrapper):
    """Mean squared hinge loss over the epoch."""

    def __init__(self, name="squared_hinge", dtype=None):
        super().__init__(squared_hinge, name=name, dtype=dtype)
        self._direction = "down"


class CategoricalHinge(_NamedWrapper):
    """Mean categorical hinge loss over the epoch."""

    def __init__(self, name="categorical_hinge", dtype=None):
        super().__init__(categorical_hinge, name=name, dtype=dtype)
        self._direction = "down"
