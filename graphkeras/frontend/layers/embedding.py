"""Embedding: integer tokens -> rows of a trainable (input_dim, output_dim)
matrix.

The lookup is one `gather` along axis 0; its gradient is a `scatter_add`
of the output's cotangent into zeros, whose cost is the number of looked-up
rows (tokens x output_dim), not the vocabulary. With `mask_zero=True` token
0 is padding: the layer attaches the mask `inputs != 0` to its output
(layers/masks.py), which recurrent and attention layers downstream read.
"""

from __future__ import annotations

import numpy as np

from .. import constraints, initializers, ops, regularizers, tracing
from ..data import check_indices
from ..tensors import _TensorBase
from .core import _ser
from . import lora
from .layer import Layer


def _positive_int(value, name):
    if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
        raise ValueError(
            f"`{name}` must be a positive integer. Received: {name}={value!r} "
            f"(of type {type(value).__name__}).")
    return value


class Embedding(lora.LoraLayer, Layer):
    """Turns non-negative integers (indices) into dense vectors of fixed
    size.

    Args:
        input_dim: size of the vocabulary (largest index + 1).
        output_dim: size of each embedding vector.
        embeddings_initializer: default "uniform" (uniform in [-0.05, 0.05]).
        embeddings_regularizer / embeddings_constraint: optional.
        mask_zero: whether index 0 is padding to be masked out downstream
            (then index 0 cannot be used in the vocabulary).
        weights: an optional initial (input_dim, output_dim) matrix.

    Input shape: (batch, length) integers. Output: (batch, length,
    output_dim). Out-of-range indices are clamped into [0, input_dim)
    inside the compiled step (memory-safe); fit / evaluate / predict refuse
    them with a ValueError in data that feeds the layer straight from an
    Input, as TensorFlow and PyTorch do.

    Example:
        >>> layer = Embedding(10, 3)
        >>> layer(np.array([[1, 2, 0]])).shape
        (1, 3, 3)
    """

    embeddings = lora.lora_weight("embeddings")
    _lora_weight = "embeddings"

    def __init__(self, input_dim, output_dim, embeddings_initializer="uniform",
                 embeddings_regularizer=None, embeddings_constraint=None,
                 mask_zero=False, weights=None, lora_rank=None, lora_alpha=None,
                 quantization_config=None, **kwargs):
        lora.check_quantization_config(type(self).__name__,
                                       quantization_config)
        kwargs.pop("input_length", None)  # deprecated in Keras 3 (ignored)
        super().__init__(**kwargs)
        lora.init_lora(self, lora_rank, lora_alpha)
        self.input_dim = _positive_int(input_dim, "input_dim")
        self.output_dim = _positive_int(output_dim, "output_dim")
        self.embeddings_initializer = initializers.get(embeddings_initializer)
        self.embeddings_regularizer = regularizers.get(embeddings_regularizer)
        self.embeddings_constraint = constraints.get(embeddings_constraint)
        self.mask_zero = bool(mask_zero)
        self.supports_masking = self.mask_zero
        self.autocast = False
        if weights is not None:
            self.build()
            if not (isinstance(weights, list) and len(weights) == 1):
                weights = [weights]
            self.set_weights(weights)

    def build(self, input_shape=None):
        if self.built:
            return
        self.embeddings = self.add_weight(
            shape=(self.input_dim, self.output_dim), name="embeddings",
            initializer=self.embeddings_initializer,
            regularizer=self.embeddings_regularizer,
            constraint=self.embeddings_constraint)
        self.built = True
        if self.lora_rank:
            self.enable_lora(self.lora_rank)  # (Keras: lora_alpha -> rank)

    def call(self, inputs):
        t = tracing.current_trace()
        if not isinstance(inputs, _TensorBase) and (
                t is None or t.kind != "spec"):
            # eager, on data: out-of-range indices are an error here as in
            # fit and predict (the gather would clamp them to the table).
            # Not in a spec trace: there a sequence of unknown length has a
            # made-up one, and ops.arange over it (positions) may pass the
            # table's size
            check_indices(np.asarray(inputs), self.input_dim, self.name)
        if ops.dtype(inputs) not in ("int32", "int64"):
            inputs = ops.cast(inputs, "int32")
        out = ops.take(self.embeddings, inputs, axis=0)
        return ops.cast(out, self._tensor_dtype)

    def compute_mask(self, inputs, mask=None):
        if not self.mask_zero:
            return None
        return ops.not_equal(inputs, 0)

    def compute_output_shape(self, input_shape):
        return (*input_shape, self.output_dim)

    def get_config(self):
        return {
            **super().get_config(),
            "input_dim": self.input_dim,
            "output_dim": self.output_dim,
            "embeddings_initializer": _ser(self.embeddings_initializer,
                                           initializers),
            "embeddings_regularizer": _ser(self.embeddings_regularizer,
                                           regularizers),
            "activity_regularizer": _ser(self.activity_regularizer,
                                         regularizers),
            "embeddings_constraint": _ser(self.embeddings_constraint,
                                          constraints),
            "mask_zero": self.mask_zero,
            # (Keras 3.15 writes the pair only when set; older files
            # write lora_rank None)
            **(lora.lora_config(self) or {"lora_rank": None}),
        }
