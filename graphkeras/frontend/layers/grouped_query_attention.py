"""GroupQueryAttention (Ainslie et al., 2023), Keras 3's: multi-head
attention whose keys and values have fewer heads than its queries, each
key/value head shared by num_query_heads // num_key_value_heads query
heads.

A composition of graphkeras ops as MultiHeadAttention is (attention.py),
with Keras's weights: the projections query (dim, query heads, head_dim),
key and value (dim, key/value heads, head_dim), the optional sigmoid gate
(as query), attention_output (query heads, head_dim, dim), biases of their
output shapes, in Keras's order (query, key, gate, value, output) and
under Keras's attribute names (`_query_dense`, ...: a .weights.h5 names
its groups after them). As Keras 3 on JAX: without dropout and returned
scores the attention is its dot_product_attention (a query whose every key
is masked attends uniformly); otherwise the masked softmax (such a row is
zero).
"""

from __future__ import annotations

import math

import numpy as np

from .. import activations, constraints, initializers, ops, regularizers
from .. import random as random_module
from .attention import _attend, _BuildShapes, _combined_mask, _Projection
from .core import _ser
from .layer import Layer
from .masks import get_keras_mask, set_keras_mask
from .rnn import _scope_paths


def _positive_int(name, v):
    if not isinstance(v, (int, np.integer)) or isinstance(v, bool) or v <= 0:
        raise ValueError(
            f"Received an invalid value for argument `{name}`, expected a "
            f"positive integer. Received: {name}={v!r}")
    return int(v)


class GroupQueryAttention(_BuildShapes, Layer):
    """Grouped-query attention, as Keras 3's GroupQueryAttention.

    Args:
        head_dim: size of each attention head.
        num_query_heads: number of query heads.
        num_key_value_heads: number of key and value heads; divides
            num_query_heads.
        dropout: dropout rate on the attention weights.
        use_bias: whether the projections have biases.
        sliding_window: None, or attend only to keys less than this many
            positions away (|i - j| < sliding_window).
        use_gate: multiply the attention output by sigmoid(a projection of
            the query) before the output projection.
        kernel_initializer / bias_initializer / regularizers / constraints:
            of the projections.
        seed: seed of the dropout.

    Call arguments: query (batch, T, dim), value (batch, S, dim), key
    (optional, default value), query_mask / value_mask / key_mask (read
    from the tensors' Keras masks when not given), attention_mask (batch,
    T, S), return_attention_scores (scores (batch, query heads, T, S)),
    training, use_causal_mask.

    Example:
        >>> gqa = GroupQueryAttention(head_dim=4, num_query_heads=4,
        ...                           num_key_value_heads=2)
        >>> gqa(np.ones((1, 3, 8), "float32"), np.ones((1, 5, 8), "float32")).shape
        (1, 3, 8)
    """

    def __init__(self, head_dim, num_query_heads, num_key_value_heads,
                 dropout=0.0, use_bias=True, sliding_window=None,
                 flash_attention=None, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", kernel_regularizer=None,
                 bias_regularizer=None, activity_regularizer=None,
                 kernel_constraint=None, bias_constraint=None,
                 use_gate=False, seed=None, **kwargs):
        super().__init__(activity_regularizer=activity_regularizer, **kwargs)
        self.supports_masking = True
        self.head_dim = _positive_int("head_dim", head_dim)
        self.num_query_heads = _positive_int("num_query_heads",
                                             num_query_heads)
        self.num_key_value_heads = _positive_int("num_key_value_heads",
                                                 num_key_value_heads)
        if self.num_query_heads % self.num_key_value_heads:
            raise ValueError(
                "`num_query_heads` must be divisible by "
                f"`num_key_value_heads`. Received: num_query_heads="
                f"{num_query_heads}, num_key_value_heads="
                f"{num_key_value_heads}")
        self.num_repeats = self.num_query_heads // self.num_key_value_heads
        self.dropout = float(dropout)
        if not 0.0 <= self.dropout <= 1.0:
            raise ValueError(
                "Invalid value received for argument `dropout`. Expected a "
                f"float value between 0 and 1. Received: dropout={dropout}")
        self.use_bias = bool(use_bias)
        self.use_gate = bool(use_gate)
        if sliding_window is not None and (
                not isinstance(sliding_window, (int, np.integer))
                or isinstance(sliding_window, bool) or sliding_window <= 0):
            raise ValueError(
                "`sliding_window` must be `None` or a positive integer. "
                f"Received: sliding_window={sliding_window}")
        self.sliding_window = None if sliding_window is None else \
            int(sliding_window)
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.kernel_constraint = constraints.get(kernel_constraint)
        self.bias_constraint = constraints.get(bias_constraint)
        self.seed = seed
        self._seed_generator = random_module.SeedGenerator(seed) if \
            self.dropout > 0 else None
        self._inverse_sqrt_head_dim = 1.0 / math.sqrt(float(self.head_dim))
        self._projections_built = False

    def build(self, query_shape, value_shape=None, key_shape=None):
        if value_shape is None and isinstance(query_shape, list) and \
                query_shape and isinstance(query_shape[0], (list, tuple)):
            query_shape, value_shape, key_shape = (*query_shape, None)[:3]
        if value_shape is None:
            return  # built at the first call, which knows the value's shape
        given_key = key_shape
        key_shape = value_shape if key_shape is None else key_shape
        for what, s in (("query", query_shape), ("value", value_shape),
                        ("key", key_shape)):
            if len(s) != 3:
                raise ValueError(
                    f'Layer "{self.name}" (GroupQueryAttention) takes rank-3 '
                    f"(batch, sequence, features) inputs; the {what} has "
                    f"shape {tuple(s)}.")
        if query_shape[-1] != value_shape[-1]:
            raise ValueError(
                "The last dimension of `query_shape` and `value_shape` must "
                f"be equal, but are {query_shape[-1]}, {value_shape[-1]}. "
                f"Received: query_shape={tuple(query_shape)}, "
                f"value_shape={tuple(value_shape)}")
        if tuple(value_shape[1:-1]) != tuple(key_shape[1:-1]):
            raise ValueError(
                "All dimensions of `value` and `key`, except the last one, "
                f"must be equal. Received: value_shape={tuple(value_shape)} "
                f"and key_shape={tuple(key_shape)}")
        common = {
            "use_bias": self.use_bias,
            "kernel_initializer": self.kernel_initializer,
            "bias_initializer": self.bias_initializer,
            "kernel_regularizer": self.kernel_regularizer,
            "bias_regularizer": self.bias_regularizer,
            "kernel_constraint": self.kernel_constraint,
            "bias_constraint": self.bias_constraint, "dtype": self.dtype}
        hq, hkv, d = self.num_query_heads, self.num_key_value_heads, \
            self.head_dim
        dim = query_shape[-1]
        self.feature_dim = dim
        # NOTE: Keras's order of creation (the order of `weights`)
        self._query_dense = _Projection(dim, (hq, d), name="query", **common)
        self._key_dense = _Projection(key_shape[-1], (hkv, d), name="key",
                                      **common)
        self._gate_dense = _Projection(dim, (hq, d), name="gate", **common) \
            if self.use_gate else None
        self._value_dense = _Projection(value_shape[-1], (hkv, d),
                                        name="value", **common)
        self._output_dense = _Projection(d, (dim,), heads_in=hq,
                                         name="attention_output", **common)
        for sub in (self._query_dense, self._key_dense, self._gate_dense,
                    self._value_dense, self._output_dense):
            if sub is not None:
                _scope_paths(sub.weights, self.name)
        self._attention_shapes = {"query_shape": tuple(query_shape),
                              "value_shape": tuple(value_shape)}
        if given_key is not None:
            self._attention_shapes["key_shape"] = tuple(key_shape)
        self._projections_built = True

    def call(self, query, value=None, key=None, query_mask=None,
             value_mask=None, key_mask=None, attention_mask=None,
             return_attention_scores=False, training=None,
             use_causal_mask=False):
        if value is None and isinstance(query, (list, tuple)) and \
                2 <= len(query) <= 3:  # also as [query, value(, key)]
            query, value, key = (*query, None)[:3]
        if value is None:
            raise ValueError(
                f'Layer "{self.name}" (GroupQueryAttention) needs a `value` '
                "tensor: call it as layer(query, value).")
        given_key = key
        if key is None:
            key = value
        if not self._projections_built:
            self.build(ops.shape(query), ops.shape(value),
                       None if given_key is None else ops.shape(key))
        # Keras 3 hands a layer the masks of its tensor arguments as
        # <name>_mask when they are not given
        if query_mask is None:
            query_mask = get_keras_mask(query)
        if value_mask is None:
            value_mask = get_keras_mask(value)
        if key_mask is None and given_key is not None:
            key_mask = get_keras_mask(key)
        mask = _combined_mask(query, value, query_mask, value_mask, key_mask,
                              attention_mask, use_causal_mask,
                              self.sliding_window)
        gate = None
        if self._gate_dense is not None:
            gate = activations.get("sigmoid")(self._gate_dense(query))
        q = self._query_dense(query)  # (B, T, Hq, d)
        k = self._key_dense(key)  # (B, S, Hkv, d)
        v = self._value_dense(value)
        if self.num_repeats > 1:  # each key/value head serves a group
            k = ops.repeat(k, self.num_repeats, axis=2)
            v = ops.repeat(v, self.num_repeats, axis=2)
        ctx, weights = _attend(
            q, k, v, mask, self._inverse_sqrt_head_dim, self.dropout,
            self._seed_generator, training,
            masked_softmax=return_attention_scores or self.dropout > 0)
        if gate is not None:
            ctx = ops.multiply(ctx, gate)
        out = self._output_dense(ctx)
        if query_mask is not None:
            set_keras_mask(out, query_mask)
        if return_attention_scores:
            return [out, weights]
        return out

    def compute_output_shape(self, query_shape, value_shape=None,
                             key_shape=None):
        return tuple(query_shape)

    def get_config(self):
        return {
            **super().get_config(),
            "head_dim": self.head_dim,
            "num_query_heads": self.num_query_heads,
            "num_key_value_heads": self.num_key_value_heads,
            "use_bias": self.use_bias,
            "use_gate": self.use_gate,
            "sliding_window": self.sliding_window,
            "dropout": self.dropout,
            "kernel_initializer": _ser(self.kernel_initializer, initializers),
            "bias_initializer": _ser(self.bias_initializer, initializers),
            "kernel_regularizer": _ser(self.kernel_regularizer, regularizers),
            "bias_regularizer": _ser(self.bias_regularizer, regularizers),
            "activity_regularizer": _ser(self.activity_regularizer,
                                         regularizers),
            "kernel_constraint": _ser(self.kernel_constraint, constraints),
            "bias_constraint": _ser(self.bias_constraint, constraints),
            "seed": self.seed,
        }
