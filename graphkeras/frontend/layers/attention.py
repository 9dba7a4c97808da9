"""Attention layers: Attention (dot-product, Luong), AdditiveAttention
(Bahdanau) and MultiHeadAttention, with Keras 3's weights and masking.

All three are compositions of graphkeras ops (matmul, softmax, where, ...)
that fusion compiles; nothing here is a new op. Masking follows Keras 3:
masked value positions get -1e9 added before the softmax (Attention) or
are excluded by `where` (MultiHeadAttention's masked softmax; a query row
whose every key is masked attends uniformly to all keys, as Keras's
dot_product_attention path does, or is zeroed when the layer has dropout
or returns its scores, as Keras's masked-softmax path does), and the
query mask zeroes (Attention) or is attached to (MultiHeadAttention) the
output.

MultiHeadAttention keeps Keras's weight layout: its four projections are
sublayers named query, key, value and attention_output whose kernels are
(dim, heads, key_dim) / (heads, value_dim, output_dim) and whose biases are
(heads, key_dim) / (output_dim,), in that order in `weights`. Inputs of
any rank >= 3 attend over `attention_axes` (default: every axis between
the batch and the features); the other axes act as batch axes. Rank-3
inputs take the path of Keras's dot_product_attention, higher ranks
Keras's masked softmax (its einsum equations, written here as a
transpose to (batch, other axes, heads, attended axes flattened, depth)
and batched matmuls).
"""

from __future__ import annotations

import math

import numpy as np

from .. import constraints, initializers, ops, regularizers
from .. import random as random_module
from .core import _ser
from .layer import Layer
from .masks import get_keras_mask, set_keras_mask
from .rnn import _scope_paths

_NEG = 1.0e9  # Keras: scores of masked positions are lowered by this


def _causal(tq, tv):
    return np.tril(np.ones((1, tq, tv), bool))


def _combined_mask(query, value, query_mask, value_mask, key_mask,
                   attention_mask, use_causal_mask, sliding_window):
    """Keras 3's attention mask (B, T, S) from the query mask (B, T, 1),
    value / key masks (B, 1, S), the causal and sliding-window bands (1, T,
    S) and the given attention_mask, all and-ed; None when there is none."""
    auto = None
    if query_mask is not None:
        auto = ops.expand_dims(ops.cast(query_mask, "bool"), -1)
    for m in (value_mask, key_mask):
        if m is not None:
            m = ops.expand_dims(ops.cast(m, "bool"), -2)
            auto = m if auto is None else ops.logical_and(auto, m)
    tq, tv = ops.shape(query)[1], ops.shape(value)[1]
    if use_causal_mask:
        m = _causal(tq, tv)
        auto = m if auto is None else ops.logical_and(auto, m)
    if sliding_window is not None:
        m = np.abs(np.arange(tq).reshape(1, tq, 1) - np.arange(tv).reshape(
            1, 1, tv)) < sliding_window
        auto = m if auto is None else ops.logical_and(auto, m)
    if attention_mask is not None:
        attention_mask = ops.cast(attention_mask, "bool")
    if auto is not None:
        attention_mask = auto if attention_mask is None else \
            ops.logical_and(attention_mask, auto)
    return attention_mask


def _attend(q, k, v, mask, scale, dropout, seed_generator, training,
            masked_softmax):
    """Dot-product attention of projected heads q (B, T, H, d), k (B, S, H,
    d), v (B, S, H, dv) under a (B, T, S) mask: (context (B, T, H, dv),
    weights (B, H, T, S)).

    NOTE: Keras 3 runs ops.dot_product_attention unless the layer has
    dropout or returns its scores; there a query whose every key is masked
    (a padded query) attends uniformly to all keys. Its masked softmax
    (`masked_softmax`: dropout, scores returned) zeroes such rows."""
    scores = ops.matmul(ops.transpose(ops.multiply(q, scale), (0, 2, 1, 3)),
                        ops.transpose(k, (0, 2, 3, 1)))  # (B, H, T, S)
    m = None
    if mask is not None:
        m = mask
        while len(ops.shape(m)) < 4:
            m = ops.expand_dims(m, -3)  # over the heads
        scores = ops.where(m, scores, -_NEG)
    weights = ops.softmax(scores, axis=-1)
    if m is not None and masked_softmax:
        weights = ops.where(m, weights, ops.zeros_like(weights))
    used = weights
    if training and dropout > 0:
        used = random_module.dropout(weights, dropout, seed=seed_generator)
    ctx = ops.matmul(used, ops.transpose(v, (0, 2, 1, 3)))  # (B, H, T, dv)
    return ops.transpose(ctx, (0, 2, 1, 3)), weights


class _BuildShapes:
    """Keras 3's build_config of the attention layers: the shapes build()
    took, by name (kept in `_attention_shapes`)."""

    def get_build_config(self):
        shapes = self.__dict__.get("_attention_shapes")
        if shapes is None:
            return None
        return {"shapes_dict": {k: [None if d is None else int(d) for d in v]
                                for k, v in shapes.items()}}

    def build_from_config(self, config):
        shapes = config.get("shapes_dict")
        if shapes:
            self.build(**{k: tuple(v) for k, v in shapes.items()})
        elif config.get("input_shape") is not None:
            shape = config["input_shape"]
            if shape and isinstance(shape[0], (list, tuple)):
                self.build(*[tuple(s) for s in shape])
            else:
                self.build(tuple(shape))
        self.built = True


class Attention(Layer):
    """Dot-product attention layer, a.k.a. Luong-style attention.

    Inputs are a list [query (batch, Tq, dim), value (batch, Tv, dim),
    optional key (batch, Tv, dim)]; scores = query @ key^T (times `scale`
    with use_scale), a softmax over Tv, then the weighted sum of values.

    Args:
        use_scale: learn a scalar scale for the scores.
        score_mode: "dot" or "concat" (scores = concat_score_weight *
            sum(tanh(query + key))).
        dropout: dropout rate on the attention weights.
        seed: seed of that dropout.

    Call arguments: inputs, mask=[query_mask, value_mask],
    return_attention_scores, training, use_causal_mask.
    """

    def __init__(self, use_scale=False, score_mode="dot", dropout=0.0,
                 seed=None, **kwargs):
        super().__init__(**kwargs)
        self.use_scale = use_scale
        self.score_mode = score_mode
        self.dropout = dropout
        self.seed = seed
        if self.dropout > 0:
            self.seed_generator = random_module.SeedGenerator(seed)
        if self.score_mode not in ("dot", "concat"):
            raise ValueError(
                "Invalid value for argument score_mode. Expected one of "
                f"{{'dot', 'concat'}}. Received: score_mode={score_mode}")
        self.supports_masking = True

    def build(self, input_shape):
        self._validate(input_shape)
        self.scale = None
        self.concat_score_weight = None
        if self.use_scale:
            self.scale = self.add_weight(name="scale", shape=(),
                                         initializer="ones")
        if self.score_mode == "concat":
            self.concat_score_weight = self.add_weight(
                name="concat_score_weight", shape=(), initializer="ones")

    def _scores(self, query, key):
        if self.score_mode == "dot":
            s = ops.matmul(query, ops.transpose(key, (0, 2, 1)))
            if self.scale is not None:
                s = ops.multiply(s, self.scale)
            return s
        q = ops.expand_dims(query, -2)
        k = ops.expand_dims(key, -3)
        z = ops.add(q, k)
        if self.scale is not None:
            z = ops.multiply(self.scale, z)
        return ops.multiply(self.concat_score_weight,
                            ops.sum(ops.tanh(z), axis=-1))

    def _apply_scores(self, scores, value, scores_mask, training):
        if scores_mask is not None:
            if len(ops.shape(scores_mask)) == 2:
                scores_mask = ops.expand_dims(scores_mask, -2)
            scores = ops.where(scores_mask, scores,
                               ops.subtract(scores, _NEG))
        weights = ops.softmax(scores, axis=-1)
        if training and self.dropout > 0:
            weights = random_module.dropout(weights, self.dropout,
                                            seed=self.seed_generator)
        return ops.matmul(weights, value), weights

    def call(self, inputs, mask=None, training=False,
             return_attention_scores=False, use_causal_mask=False):
        self._validate(inputs, mask)
        q, v = inputs[0], inputs[1]
        k = inputs[2] if len(inputs) > 2 else v
        q_mask = mask[0] if mask else None
        v_mask = mask[1] if mask else None
        scores = self._scores(q, k)
        scores_mask = v_mask
        if use_causal_mask:
            tq, tv = ops.shape(scores)[-2], ops.shape(scores)[-1]
            causal = _causal(tq, tv)
            scores_mask = causal if v_mask is None else ops.logical_and(
                ops.expand_dims(ops.cast(v_mask, "bool"), -2), causal)
        elif scores_mask is not None:
            scores_mask = ops.cast(scores_mask, "bool")
        out, weights = self._apply_scores(scores, v, scores_mask, training)
        if q_mask is not None:
            keep = ops.expand_dims(ops.cast(q_mask, "bool"), -1)
            out = ops.where(keep, out, ops.zeros_like(out))
        if return_attention_scores:
            return [out, weights]
        return out

    def compute_mask(self, inputs, mask=None):
        if mask is None or mask[0] is None:
            return None
        return mask[0]

    def compute_output_shape(self, input_shape):
        return (*input_shape[0][:-1], input_shape[1][-1])

    def _validate(self, inputs, mask=None):
        name = type(self).__name__
        if not isinstance(inputs, list):
            raise ValueError(  # noqa: TRY004  (Keras raises ValueError)
                f"{name} layer must be called on a list of inputs, namely "
                f"[query, value] or [query, value, key]. Received: "
                f"inputs={inputs}.")
        if not 2 <= len(inputs) <= 3:
            raise ValueError(
                f"{name} layer accepts inputs list of length 2 or 3, namely "
                "[query, value] or [query, value, key]. Received length: "
                f"{len(inputs)}.")
        if mask is not None:
            if not isinstance(mask, list):
                raise ValueError(
                    f"{name} layer mask must be a list, namely [query_mask, "
                    f"value_mask]. Received: mask={mask}.")
            if not 2 <= len(mask) <= 3:
                raise ValueError(
                    f"{name} layer accepts mask list of length 2 or 3. "
                    f"Received: mask={mask}.")

    def get_config(self):
        return {**super().get_config(), "use_scale": self.use_scale,
                "score_mode": self.score_mode, "dropout": self.dropout,
                "seed": self.seed}


class AdditiveAttention(Attention):
    """Additive attention layer, a.k.a. Bahdanau-style attention: scores
    = sum(scale * tanh(query + key)) with a learned (dim,) scale
    (use_scale=True, glorot_uniform). Inputs and masks as Attention's.
    """

    def __init__(self, use_scale=True, dropout=0.0, **kwargs):
        super().__init__(use_scale=use_scale, dropout=dropout, **kwargs)

    def build(self, input_shape):
        self._validate(input_shape)
        dim = input_shape[0][-1]
        self.scale = None
        self.concat_score_weight = None
        if self.use_scale:
            self.scale = self.add_weight(name="scale", shape=(dim,),
                                         initializer="glorot_uniform")

    def _scores(self, query, key):
        z = ops.tanh(ops.add(ops.expand_dims(query, -2),
                             ops.expand_dims(key, -3)))
        if self.use_scale:
            z = ops.multiply(self.scale, z)
        return ops.sum(z, axis=-1)

    def get_config(self):
        config = super().get_config()
        config.pop("score_mode", None)
        return config


class _Projection(Layer):
    """One of MultiHeadAttention's projections (Keras's EinsumDense with
    its kernel and bias shapes): x (..., a) @ kernel (a, *out) + bias, or
    with `heads_in`, x (..., heads, b) @ kernel (heads, b, out)."""

    def __init__(self, in_dim, out_shape, use_bias, kernel_initializer,
                 bias_initializer, kernel_regularizer=None,
                 bias_regularizer=None, kernel_constraint=None,
                 bias_constraint=None, heads_in=None, **kwargs):
        super().__init__(**kwargs)
        # Keras 3's MultiHeadAttention reads the masks, then takes them off
        # its inputs before projecting: no "destroys the mask" warning
        self.warns_on_mask = False
        self.in_dim = in_dim
        self.out_shape = tuple(out_shape)
        self.heads_in = heads_in
        kshape = ((heads_in, in_dim) if heads_in else (in_dim,)) + self.out_shape
        self.kernel = self.add_weight(
            name="kernel", shape=kshape, initializer=kernel_initializer,
            regularizer=kernel_regularizer, constraint=kernel_constraint)
        self.bias = None
        if use_bias:
            self.bias = self.add_weight(
                name="bias", shape=self.out_shape, initializer=bias_initializer,
                regularizer=bias_regularizer, constraint=bias_constraint)
        self.built = True

    def call(self, x):
        k_in = self.in_dim * (self.heads_in or 1)
        k_out = int(np.prod(self.out_shape))
        shape = ops.shape(x)
        if self.heads_in:
            x = ops.reshape(x, (*shape[:-2], k_in))
        y = ops.matmul(x, ops.reshape(self.kernel, (k_in, k_out)))
        if self.bias is not None:
            y = ops.add(y, ops.reshape(self.bias, (k_out,)))
        lead = shape[:-2] if self.heads_in else shape[:-1]
        if len(self.out_shape) > 1:
            y = ops.reshape(y, (*lead, *self.out_shape))
        return y


class MultiHeadAttention(_BuildShapes, Layer):
    """Multi-head attention (Vaswani et al., 2017), as Keras 3's.

    Args:
        num_heads: number of attention heads.
        key_dim: size of each head for query and key.
        value_dim: size of each head for value (default key_dim).
        dropout: dropout rate on the attention weights.
        use_bias: whether the projections have biases.
        output_shape: size of the output's last axis (default: the
            query's), or a tuple: the output's trailing axes.
        attention_axes: the axes attention runs over, between the batch
            and the last axis (default all of them: axis 1 of rank-3
            inputs, axes 1 and 2 of (batch, H, W, features) inputs). The
            other axes are batch axes.
        kernel_initializer / bias_initializer / regularizers / constraints:
            of the projections.
        seed: seed of the dropout.
        use_gate: multiply the attention output by sigmoid(a projection of
            the query, named gate) before the output projection.
        sliding_window: None, or attend only to keys less than this many
            positions away along axis 1 (|i - j| < sliding_window).

    Call arguments: query (batch, T, dim), value (batch, S, dim) (or of
    higher rank, all of one rank), key (optional, default value),
    query_mask / value_mask / key_mask (read from the tensors' Keras masks
    when not given), attention_mask (batch, T, S; for higher ranks
    broadcastable to the scores (batch, other axes, heads, query's
    attended axes, key's attended axes)), return_attention_scores,
    training, use_causal_mask.

    Example:
        >>> mha = MultiHeadAttention(num_heads=2, key_dim=4)
        >>> mha(np.ones((1, 3, 8), "float32"), np.ones((1, 5, 8), "float32")).shape
        (1, 3, 8)
    """

    def __init__(self, num_heads, key_dim, value_dim=None, dropout=0.0,
                 use_bias=True, output_shape=None, attention_axes=None,
                 kernel_initializer="glorot_uniform", bias_initializer="zeros",
                 kernel_regularizer=None, bias_regularizer=None,
                 activity_regularizer=None, kernel_constraint=None,
                 bias_constraint=None, seed=None, flash_attention=None,
                 use_gate=False, sliding_window=None, **kwargs):
        for name, v in (("num_heads", num_heads), ("key_dim", key_dim)):
            if not isinstance(v, int) or isinstance(v, bool) or v <= 0:
                raise ValueError(
                    f"Received an invalid value for argument `{name}`, "
                    f"expected a positive integer. Received: {name}={v}")
        if value_dim is not None and (not isinstance(value_dim, int)
                                      or value_dim <= 0):
            raise ValueError(
                "Received an invalid value for argument `value_dim`, expected "
                f"a positive integer or `None`. Received: value_dim={value_dim}")
        if isinstance(attention_axes, (int, np.integer)) and not \
                isinstance(attention_axes, bool):
            attention_axes = (int(attention_axes),)
        elif attention_axes is not None:
            if not isinstance(attention_axes, (list, tuple)):
                raise ValueError(
                    "`attention_axes` must be an int, list, or tuple. "
                    f"Received: attention_axes={attention_axes!r}")
            if not attention_axes or not all(
                    isinstance(a, (int, np.integer)) and not isinstance(
                        a, bool) for a in attention_axes):
                raise ValueError(
                    "`attention_axes` must hold one or more integer axes. "
                    f"Received: attention_axes={attention_axes!r}")
            attention_axes = tuple(int(a) for a in attention_axes)
        if sliding_window is not None and (
                not isinstance(sliding_window, (int, np.integer))
                or isinstance(sliding_window, bool) or sliding_window <= 0):
            raise ValueError(
                "`sliding_window` must be `None` or a positive integer. "
                f"Received: sliding_window={sliding_window}")
        super().__init__(activity_regularizer=activity_regularizer, **kwargs)
        self.supports_masking = True
        self._num_heads = num_heads
        self._key_dim = key_dim
        self._value_dim = value_dim if value_dim else key_dim
        self._dropout = dropout
        self._use_bias = use_bias
        self._use_gate = bool(use_gate)
        self._sliding_window = None if sliding_window is None else \
            int(sliding_window)
        if output_shape:
            output_shape = (output_shape,) if isinstance(output_shape, int) \
                else tuple(output_shape)
            if not all(isinstance(d, (int, np.integer)) and d > 0
                       for d in output_shape):
                raise ValueError(
                    "Received an invalid value for argument `output_shape`, "
                    "expected a positive integer or a tuple of them. "
                    f"Received: output_shape={output_shape!r}")
            output_shape = tuple(int(d) for d in output_shape)
        self._output_shape = output_shape
        self._attention_axes = attention_axes
        self._kernel_initializer = initializers.get(kernel_initializer)
        self._bias_initializer = initializers.get(bias_initializer)
        self._kernel_regularizer = regularizers.get(kernel_regularizer)
        self._bias_regularizer = regularizers.get(bias_regularizer)
        self._kernel_constraint = constraints.get(kernel_constraint)
        self._bias_constraint = constraints.get(bias_constraint)
        self.seed = seed
        self._seed_generator = random_module.SeedGenerator(seed) if \
            dropout > 0 else None
        self._inverse_sqrt_key_dim = 1.0 / math.sqrt(float(self._key_dim))
        self._projections_built = False

    num_heads = property(lambda self: self._num_heads)
    key_dim = property(lambda self: self._key_dim)
    value_dim = property(lambda self: self._value_dim)
    dropout = property(lambda self: self._dropout)
    use_bias = property(lambda self: self._use_bias)
    attention_axes = property(lambda self: self._attention_axes)

    def build(self, query_shape, value_shape=None, key_shape=None):
        if value_shape is None and isinstance(query_shape, list) and \
                query_shape and isinstance(query_shape[0], (list, tuple)):
            query_shape, value_shape, key_shape = (*query_shape, None)[:3]
        if value_shape is None:
            return  # built at the first call, which knows the value's shape
        given_key = key_shape
        key_shape = value_shape if key_shape is None else key_shape
        rank = len(query_shape)
        for what, s in (("query", query_shape), ("value", value_shape),
                        ("key", key_shape)):
            if len(s) != rank or rank < 3:
                raise ValueError(
                    f'Layer "{self.name}" (MultiHeadAttention) takes a query, '
                    "value and key of one rank, at least 3 (batch, ..., "
                    f"features); received query shape {tuple(query_shape)} "
                    f"and {what} shape {tuple(s)}.")
        if tuple(value_shape[1:-1]) != tuple(key_shape[1:-1]):
            raise ValueError(
                "All dimensions of `value` and `key`, except the last one, "
                f"must be equal. Received: value_shape={value_shape} and "
                f"key_shape={key_shape}")
        axes = self._normalized_axes(rank)
        for a in range(1, rank - 1):
            if a not in axes and query_shape[a] != value_shape[a] and None \
                    not in (query_shape[a], value_shape[a]):
                raise ValueError(
                    f'Layer "{self.name}" (MultiHeadAttention): axis {a} is '
                    f"not an attention axis (attention_axes={axes}), so the "
                    "query and the value must have the same size there; "
                    f"received query shape {tuple(query_shape)} and value "
                    f"shape {tuple(value_shape)}.")
        self._attention_axes = axes  # Keras keeps them normalized
        common = {
            "use_bias": self._use_bias,
            "kernel_initializer": self._kernel_initializer,
            "bias_initializer": self._bias_initializer,
            "kernel_regularizer": self._kernel_regularizer,
            "bias_regularizer": self._bias_regularizer,
            "kernel_constraint": self._kernel_constraint,
            "bias_constraint": self._bias_constraint, "dtype": self.dtype}
        h = self._num_heads
        self.query_dense = _Projection(query_shape[-1], (h, self._key_dim),
                                        name="query", **common)
        self.key_dense = _Projection(key_shape[-1], (h, self._key_dim),
                                      name="key", **common)
        # Keras creates the gate after the key (the order of `weights`);
        # its .weights.h5 group is "_gate_dense" (no public property)
        self._gate_dense = _Projection(
            query_shape[-1], (h, self._value_dim), name="gate",
            **common) if self._use_gate else None
        self.value_dense = _Projection(value_shape[-1], (h, self._value_dim),
                                        name="value", **common)
        out = self._output_shape or (query_shape[-1],)
        self.output_dense = _Projection(self._value_dim, out, heads_in=h,
                                         name="attention_output", **common)
        for sub in (self.query_dense, self.key_dense, self._gate_dense,
                    self.value_dense, self.output_dense):
            if sub is not None:
                _scope_paths(sub.weights, self.name)
        self._attention_shapes = {"query_shape": tuple(query_shape),
                              "value_shape": tuple(value_shape)}
        if given_key is not None:
            self._attention_shapes["key_shape"] = tuple(key_shape)
        self._projections_built = True

    # NOTE: the projections are public attributes, as Keras 3 saves them
    # (".../multi_head_attention/key_dense/vars" in a .weights.h5)
    _query_dense = property(lambda self: self.query_dense)
    _key_dense = property(lambda self: self.key_dense)
    _value_dense = property(lambda self: self.value_dense)
    _output_dense = property(lambda self: self.output_dense)

    def _normalized_axes(self, rank: int) -> tuple:
        """The attention axes for inputs of this rank, as Keras 3 reads
        them (a negative axis counts from the last axis of the inputs)."""
        if self._attention_axes is None:
            return tuple(range(1, rank - 1))
        axes = tuple(a + rank if a < 0 else a for a in self._attention_axes)
        if any(not 1 <= a <= rank - 2 for a in axes) or \
                len(set(axes)) != len(axes):
            raise ValueError(
                f'Layer "{self.name}" (MultiHeadAttention): attention_axes '
                "must be distinct axes between the batch axis and the "
                f"features axis of rank-{rank} inputs (1 to {rank - 2}, or "
                f"{1 - rank} to -2); received "
                f"attention_axes={self._attention_axes}.")
        return axes

    def call(self, query, value=None, key=None, query_mask=None,
             value_mask=None, key_mask=None, attention_mask=None,
             return_attention_scores=False, training=None,
             use_causal_mask=False):
        if value is None and isinstance(query, (list, tuple)) and \
                2 <= len(query) <= 3:  # also as [query, value(, key)]
            query, value, key = (*query, None)[:3]
        if value is None:
            raise ValueError(
                f'Layer "{self.name}" (MultiHeadAttention) needs a `value` '
                "tensor: call it as layer(query, value).")
        given_key = key
        if key is None:
            key = value
        if not self._projections_built:
            self.build(ops.shape(query), ops.shape(value),
                       None if given_key is None else ops.shape(key))
        # Keras 3 reads the query's mask from the tensor; value and key masks
        # from the tensors when not passed
        query_mask = get_keras_mask(query)
        if value_mask is None:
            value_mask = get_keras_mask(value)
        if key_mask is None and key is not value:
            key_mask = get_keras_mask(key)
        mask = _combined_mask(query, value, query_mask, value_mask, key_mask,
                              attention_mask, use_causal_mask,
                              self._sliding_window)
        if len(ops.shape(query)) > 3:
            return self._call_axes(query, key, value, mask, query_mask,
                                   return_attention_scores, training)
        ctx, weights = _attend(
            self._query_dense(query), self._key_dense(key),
            self._value_dense(value), mask, self._inverse_sqrt_key_dim,
            self._dropout, self._seed_generator, training,
            masked_softmax=return_attention_scores or self._dropout > 0)
        out = self._output_dense(self._gated(query, ctx))
        if query_mask is not None:
            set_keras_mask(out, query_mask)
        if return_attention_scores:
            return [out, weights]
        return out

    def _gated(self, query, ctx):
        """ctx * sigmoid(gate(query)) with use_gate (Keras 3), else ctx."""
        gate = self.__dict__.get("_gate_dense")
        if gate is None:
            return ctx
        return ops.multiply(ctx, ops.sigmoid(gate(query)))

    def _call_axes(self, query, key, value, mask, query_mask,
                   return_attention_scores, training):
        """Attention over `attention_axes` of inputs of rank > 3, with
        Keras's masked softmax: Keras's scores layout (batch, other axes,
        heads, query's attended axes, key's attended axes)."""
        rank = len(ops.shape(query)) + 1  # of the projections
        axes = self._normalized_axes(rank - 1)
        others = tuple(a for a in range(1, rank - 2) if a not in axes)
        # (B, others, H, attended..., depth)
        perm = (0, *others, rank - 2, *axes, rank - 1)
        q = ops.transpose(ops.multiply(self._query_dense(query),
                                       self._inverse_sqrt_key_dim), perm)
        k = ops.transpose(self._key_dense(key), perm)
        v = ops.transpose(self._value_dense(value), perm)
        lead = tuple(ops.shape(q)[:-1 - len(axes)])  # (B, others, H)
        q_att = tuple(ops.shape(q)[len(lead):-1])
        k_att = tuple(ops.shape(k)[len(lead):-1])
        tq, tk = int(np.prod(q_att)), int(np.prod(k_att))

        def flat(t, n):
            return ops.reshape(t, (*lead, n, ops.shape(t)[-1]))

        scores = ops.matmul(flat(q, tq), ops.swapaxes(flat(k, tk), -1, -2))
        scores = ops.reshape(scores, (*lead, *q_att, *k_att))
        m = None
        if mask is not None:
            # Keras: expanded at the heads' place until the scores' rank
            m = mask
            while len(ops.shape(m)) < len(ops.shape(scores)):
                m = ops.expand_dims(m, -2 * len(axes) - 1)
            scores = ops.where(m, scores, -_NEG)
        # the softmax over the key's attended axes, flattened into one
        weights = ops.softmax(ops.reshape(scores, (*lead, *q_att, tk)),
                              axis=-1)
        weights = ops.reshape(weights, (*lead, *q_att, *k_att))
        if m is not None:  # Keras's masked softmax: fully masked rows 0
            weights = ops.where(m, weights, ops.zeros_like(weights))
        used = weights
        if training and self._dropout > 0:
            used = random_module.dropout(weights, self._dropout,
                                         seed=self._seed_generator)
        ctx = ops.matmul(ops.reshape(used, (*lead, tq, tk)), flat(v, tk))
        ctx = ops.reshape(ctx, (*lead, *q_att, self._value_dim))
        # back to (B, axes of the query in order, H, dv)
        ctx = ops.transpose(ctx, tuple(int(i) for i in np.argsort(perm)))
        out = self._output_dense(self._gated(query, ctx))
        if query_mask is not None:
            set_keras_mask(out, query_mask)
        if return_attention_scores:
            return [out, weights]
        return out

    def compute_output_shape(self, query_shape, value_shape=None,
                             key_shape=None):
        out = self._output_shape or (query_shape[-1],)
        return (*query_shape[:-1], *out)

    def get_config(self):
        return {
            **super().get_config(),
            "num_heads": self._num_heads,
            "key_dim": self._key_dim,
            "value_dim": self._value_dim,
            "dropout": self._dropout,
            "use_bias": self._use_bias,
            "use_gate": self._use_gate,
            "output_shape": self._output_shape,
            "attention_axes": self._attention_axes,
            "sliding_window": self._sliding_window,
            "kernel_initializer": _ser(self._kernel_initializer, initializers),
            "bias_initializer": _ser(self._bias_initializer, initializers),
            "kernel_regularizer": _ser(self._kernel_regularizer, regularizers),
            "bias_regularizer": _ser(self._bias_regularizer, regularizers),
            "activity_regularizer": _ser(self.activity_regularizer,
                                         regularizers),
            "kernel_constraint": _ser(self._kernel_constraint, constraints),
            "bias_constraint": _ser(self._bias_constraint, constraints),
            "seed": self.seed,
        }
