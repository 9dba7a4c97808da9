"""ReversibleEmbedding, Keras 3's: an Embedding that can also be called
"in reverse" (`reverse=True`) to project hidden states of size output_dim
back to input_dim logits, through the transposed embeddings (tied, the
default) or a separate `reverse_embeddings` (output_dim, input_dim)
weight. Language models tie their input and output embeddings this way.
"""

from __future__ import annotations

from .. import ops
from .embedding import Embedding
from .masks import set_keras_mask


class ReversibleEmbedding(Embedding):
    """An Embedding that can project back to the vocabulary.

    Args:
        input_dim: size of the vocabulary (largest index + 1).
        output_dim: size of the embeddings.
        tie_weights: the reverse projection uses the transposed embeddings
            (True, default) or its own trainable weight `reverse_embeddings`
            (output_dim, input_dim) (False).
        embeddings_initializer ("uniform"), embeddings_regularizer,
        embeddings_constraint, mask_zero: as Embedding's.
        reverse_dtype: the dtype of the reverse projection (default the
            layer's compute dtype).
        logit_soft_cap: if set, the reverse call's logits become
            tanh(logits / logit_soft_cap) * logit_soft_cap.

    Call arguments: inputs (indices, or with reverse=True hidden states
    (..., output_dim)), reverse.

    Example:
        >>> emb = ReversibleEmbedding(10, 4)
        >>> h = emb(np.array([[1, 2, 3]]))
        >>> emb(h, reverse=True).shape
        (1, 3, 10)
    """

    def __init__(self, input_dim, output_dim, tie_weights=True,
                 embeddings_initializer="uniform", embeddings_regularizer=None,
                 embeddings_constraint=None, mask_zero=False,
                 reverse_dtype=None, logit_soft_cap=None, **kwargs):
        super().__init__(input_dim, output_dim,
                         embeddings_initializer=embeddings_initializer,
                         embeddings_regularizer=embeddings_regularizer,
                         embeddings_constraint=embeddings_constraint,
                         mask_zero=mask_zero, **kwargs)
        self.tie_weights = bool(tie_weights)
        self.reverse_dtype = reverse_dtype
        if logit_soft_cap is not None and not float(logit_soft_cap) > 0:
            raise ValueError(
                f'Layer "{self.name}": `logit_soft_cap` must be None or a '
                f"positive number. Received: logit_soft_cap={logit_soft_cap}")
        self.logit_soft_cap = logit_soft_cap

    def build(self, input_shape=None):
        if self.built:
            return
        super().build(input_shape)
        if not self.tie_weights:
            self.reverse_embeddings = self.add_weight(
                shape=(self.output_dim, self.input_dim),
                initializer=self.embeddings_initializer,
                name="reverse_embeddings", trainable=True)

    def call(self, inputs, reverse=False):
        if not reverse:
            out = super().call(inputs)
            if self.mask_zero:  # Keras: the mask is attached here
                set_keras_mask(out, super().compute_mask(inputs))
            return out
        size = ops.shape(inputs)[-1] if ops.ndim(inputs) else None
        if size != self.output_dim:
            raise ValueError(
                f'Layer "{self.name}" (ReversibleEmbedding) called with '
                f"reverse=True projects inputs of last dimension "
                f"output_dim={self.output_dim}; received inputs of shape "
                f"{tuple(ops.shape(inputs))}.")
        if self.tie_weights:
            kernel = ops.transpose(ops.convert_to_tensor(self.embeddings))
        else:
            kernel = ops.convert_to_tensor(self.reverse_embeddings)
        dtype = self.reverse_dtype or self._tensor_dtype
        logits = ops.matmul(ops.cast(inputs, dtype), ops.cast(kernel, dtype))
        if self.logit_soft_cap is not None:
            cap = float(self.logit_soft_cap)
            logits = ops.multiply(ops.tanh(ops.divide(logits, cap)), cap)
        return logits

    def compute_mask(self, inputs, mask=None):
        return None

    def compute_output_shape(self, input_shape, reverse=False):
        if reverse:
            return (*tuple(input_shape)[:-1], self.input_dim)
        return (*tuple(input_shape), self.output_dim)

    def get_config(self):
        return {**super().get_config(), "tie_weights": self.tie_weights,
                "reverse_dtype": self.reverse_dtype,
                "logit_soft_cap": self.logit_soft_cap}
