"""Preprocessing layers for tabular data, run inside the model: Normalization,
Discretization, CategoryEncoding and IntegerLookup (Keras 3 arguments,
defaults, output shapes and config keys).

Invariants:
- `adapt(data)` is NumPy work done once, outside any trace; what it learns
  lives where Keras 3 keeps it: Normalization's mean / variance / count are
  non-trainable weights (saved in the weights file, in that order);
  Discretization's bin boundaries and IntegerLookup's vocabulary are config
  values (an adapted vocabulary is written to the config too, so a .keras
  file holds it without Keras's asset files).
- In `call` the learned state is a constant or a weight, and every encoding
  is built from compare / cast / sum / max ops, so the layers compile and
  export to ONNX like any other elementwise graph.
- Integer outputs ("int" modes) are int32 tensors (Keras's output dtype for
  Discretization; IntegerLookup's default vocabulary_dtype int64 gives int64).
"""

from __future__ import annotations

import numpy as np

from .. import ops
from ..tensors import KerasTensor, TracedTensor
from .hashes import hash_integers
from .layer import Layer

_EPSILON = 1e-7  # keras.config.epsilon()
_ENCODINGS = ("int", "one_hot", "multi_hot", "count")


def _check_mode(layer: str, value, allowed) -> None:
    if value not in allowed:
        raise ValueError(
            f"Layer {layer}: unknown value for `output_mode`. Expected one of "
            f"{list(allowed)}. Received: output_mode={value!r}")


def _batches(data, layer: str):
    """The batches of `data` (an array, or an iterable of arrays / (x, y)
    tuples) as NumPy arrays."""
    if isinstance(data, (np.ndarray, list, tuple)) and not (
            isinstance(data, (list, tuple)) and data
            and isinstance(data[0], np.ndarray)):
        return [np.asarray(data)]
    if isinstance(data, (TracedTensor, KerasTensor)):
        raise TypeError(
            f"{layer}.adapt() needs concrete data (a NumPy array or an "
            f"iterable of batches), received a symbolic tensor {data!r}.")
    out = []
    for batch in data:
        if isinstance(batch, tuple):
            batch = batch[0]
        out.append(np.asarray(batch))
    if not out:
        raise ValueError(
            f"{layer}.adapt() received an empty iterable (no batches). "
            "Pass a NumPy array or a non-empty list of arrays.")
    return out


def _encode(indices, mode: str, depth: int, dtype: str, count_weights=None):
    """Keras's encode_categorical_inputs: integer indices -> one_hot /
    multi_hot / count vectors of length `depth` (indices outside
    [0, depth) count nowhere); "count" adds up `count_weights` (shaped
    like the indices) instead of ones when given."""
    shape = ops.shape(indices)
    if len(shape) == 0:
        indices = ops.reshape(indices, (1,))
        shape = (1,)
    hot = ops.one_hot(indices, depth, dtype=dtype)  # (..., k, depth)
    if count_weights is not None:
        hot = ops.multiply(hot, ops.expand_dims(count_weights, -1))
    if mode == "one_hot":
        if len(shape) > 1 and shape[-1] == 1:
            hot = ops.squeeze(hot, axis=-2)
        return hot
    if mode == "multi_hot":
        return ops.max(hot, axis=-2)
    return ops.sum(hot, axis=-2)


def _encoded_shape(shape, mode: str, depth: int) -> tuple:
    shape = tuple(shape)
    if mode == "int":
        return shape
    if not shape:
        return (depth,)
    if mode == "one_hot":
        if len(shape) > 1 and shape[-1] == 1:
            return shape[:-1] + (depth,)
        return shape + (depth,)
    return shape[:-1] + (depth,)


# --- Normalization ---------------------------------------------------------------


class Normalization(Layer):
    """Shifts and scales inputs to mean 0 and variance 1 per feature:
    `(x - mean) / max(sqrt(var), epsilon)` (or the inverse, `invert=True`).

    The mean and variance come from the `mean` / `variance` arguments, or
    from `adapt(data)`, which computes them over every axis but `axis`.

    Args:
        axis: the axis (or axes) that keep separate statistics (default -1,
            the features); None for one mean and variance over everything.
        mean: the mean to use instead of adapting (a float or an array that
            broadcasts over the kept axes).
        variance: likewise.
        invert: apply the inverse map, `mean + x * sqrt(var)`.

    Example:
        >>> layer = Normalization()
        >>> layer.adapt(np.array([[0.0, 10.0], [2.0, 30.0]], "float32"))
        >>> layer(np.array([[1.0, 20.0]], "float32"))
        array([[0., 0.]], dtype=float32)
    """

    def __init__(self, axis=-1, mean=None, variance=None, invert=False,
                 **kwargs):
        super().__init__(**kwargs)
        if axis is None:
            axis = ()
        elif isinstance(axis, int):
            axis = (axis,)
        else:
            axis = tuple(int(a) for a in axis)
        self.axis = axis
        self.input_mean = mean
        self.input_variance = variance
        self.invert = bool(invert)
        self.supports_masking = True
        if (mean is None) != (variance is None):
            raise ValueError(
                f'Layer "{self.name}" (Normalization): when setting values '
                "directly, both `mean` and `variance` must be set. Received: "
                f"mean={mean} and variance={variance}")
        if mean is not None:
            if np.shape(mean) != np.shape(variance):
                raise ValueError(
                    f'Layer "{self.name}" (Normalization): `mean` and '
                    "`variance` must have the same shape. Received: mean "
                    f"shape {np.shape(mean)} and variance shape "
                    f"{np.shape(variance)}")
            if np.ndim(mean) > len(self.axis):
                raise ValueError(
                    f'Layer "{self.name}" (Normalization): the rank of `mean` '
                    f"must be at most the number of axes ({len(self.axis)}). "
                    f"Received: mean shape {np.shape(mean)} for axis "
                    f"{self.axis}")

    def build(self, input_shape):
        input_shape = tuple(input_shape)
        ndim = len(input_shape)
        bad = [a for a in self.axis if not -ndim <= a < ndim]
        if bad:
            raise ValueError(
                f'Layer "{self.name}" (Normalization): every `axis` value '
                f"must be in [-{ndim}, {ndim}) for inputs of shape "
                f"{input_shape}. Received: axis={self.axis}")
        self._keep_axis = tuple(sorted(a % ndim for a in self.axis))
        for d in self._keep_axis:
            if input_shape[d] is None:
                raise ValueError(
                    f'Layer "{self.name}" (Normalization): the kept axes '
                    f"must have a known size. Received axis={self.axis} and "
                    f"inputs of shape {input_shape} (axis {d} is None).")
        self._reduce_axis = tuple(d for d in range(ndim)
                                  if d not in self._keep_axis)
        self._broadcast_shape = tuple(
            input_shape[d] if d in self._keep_axis else 1 for d in range(ndim))
        self._build_input_shape = input_shape
        stat_shape = tuple(input_shape[d] for d in self._keep_axis)
        self._stat_shape = stat_shape
        if self.input_mean is None:
            self.adapt_mean = self.add_weight(
                name="mean", shape=stat_shape, initializer="zeros",
                trainable=False)
            self.adapt_variance = self.add_weight(
                name="variance", shape=stat_shape, initializer="ones",
                trainable=False)
            self.count = self.add_weight(
                name="count", shape=(), dtype="int64", initializer="zeros",
                trainable=False)
        else:
            self._const_mean = self._expand(self.input_mean, ndim)
            self._const_variance = self._expand(self.input_variance, ndim)

    def _expand(self, value, ndim):
        v = np.asarray(value, self._tensor_dtype)
        if v.ndim:
            shape = [1] * ndim
            for i in range(1, v.ndim + 1):
                shape[self._keep_axis[-i]] = v.shape[-i]
            v = v.reshape(shape)
        return np.broadcast_to(v, self._broadcast_shape).copy()

    def adapt(self, data):
        """Compute the mean and variance of `data` (an array, or an iterable
        of batches) over every axis but `axis`."""
        batches = [b.astype("float64") for b in _batches(data, "Normalization")]
        if not self.built:
            self.build((None,) + tuple(batches[0].shape[1:]))
            self.built = True
        if self.input_mean is not None:
            raise ValueError(
                f'Layer "{self.name}" (Normalization) was given `mean` and '
                "`variance`; adapt() would ignore the data. Create the layer "
                "without them to adapt it.")
        for b in batches:
            for d in self._keep_axis:
                if b.ndim != len(self._build_input_shape) or (
                        b.shape[d] != self._build_input_shape[d]):
                    raise ValueError(
                        f'Layer "{self.name}" (Normalization) was built with '
                        f"input_shape={self._build_input_shape}, but adapt() "
                        f"received data of incompatible shape {b.shape}.")
        # batch-wise merge of means and variances, as Keras 3 does for
        # iterables (exact for a single array)
        mean = np.zeros(self._stat_shape)
        var = np.zeros(self._stat_shape)
        total = 0
        for b in batches:
            n = int(np.prod([b.shape[d] for d in self._reduce_axis]))
            bm = b.mean(axis=self._reduce_axis)
            bv = b.var(axis=self._reduce_axis)
            total += n
            w = n / total
            new = mean * (1 - w) + bm * w
            var = (var + (mean - new) ** 2) * (1 - w) + (
                bv + (bm - new) ** 2) * w
            mean = new
        self.adapt_mean.assign(mean.astype(self.adapt_mean.dtype))
        self.adapt_variance.assign(var.astype(self.adapt_variance.dtype))

    def call(self, inputs):
        x = inputs
        if ops.dtype(x) != self._tensor_dtype:
            x = ops.cast(x, self._tensor_dtype)
        if self.input_mean is not None:
            mean, variance = self._const_mean, self._const_variance
            std = np.maximum(np.sqrt(variance), _EPSILON).astype(
                self._tensor_dtype)
        else:
            mean = ops.reshape(self.adapt_mean, self._broadcast_shape)
            variance = ops.reshape(self.adapt_variance, self._broadcast_shape)
            std = ops.maximum(ops.sqrt(variance), _EPSILON)
        if self.invert:
            return ops.add(mean, ops.multiply(x, std))
        return ops.divide(ops.subtract(x, mean), std)

    @property
    def mean(self):
        """The mean in the inputs' broadcast shape (Keras 3's `mean`,
        current after `adapt()`); built layers only."""
        return self._stat("mean")

    @property
    def variance(self):
        """The variance in the inputs' broadcast shape (Keras 3's
        `variance`); built layers only."""
        return self._stat("variance")

    def _stat(self, which):
        if not self.built:
            raise AttributeError(
                f"'Normalization' object has no attribute '{which}' before it "
                "is built: call adapt() or the layer on data first.")
        if self.input_mean is not None:
            return getattr(self, f"_const_{which}")
        value = np.asarray(getattr(self, f"adapt_{which}"))
        return value.reshape(self._broadcast_shape).astype(self._tensor_dtype)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self):
        return {
            **super().get_config(), "axis": list(self.axis),
            "invert": self.invert,
            "mean": np.array(self.input_mean).tolist(),
            "variance": np.array(self.input_variance).tolist(),
        }


# --- Discretization --------------------------------------------------------------


def _summarize(values: np.ndarray, epsilon: float) -> np.ndarray:
    """A (2, k) quantile summary (values, weights) of a 1-D sample: every
    step-th sorted value, weighted by step (the approximate quantile sketch
    Keras 3's Discretization uses, so adapted boundaries agree)."""
    values = np.sort(values.reshape(-1))
    step = max(values.size * epsilon, 1)
    picked = values[int(step - 1)::int(step)]
    return np.stack([picked, np.full_like(picked, step)])


def _compress(summary: np.ndarray, epsilon: float) -> np.ndarray:
    """A summary re-sampled at cumulative-weight fractions epsilon, 2eps,
    ...: the boundaries at those quantiles and the weight between them."""
    if summary.shape[1] * epsilon < 1:
        return summary
    fractions = epsilon + np.arange(0.0, 1.0, epsilon)
    cum = summary[1].cumsum()
    at = np.interp(fractions, cum / cum[-1], summary[0])
    cum_at = np.interp(fractions, cum / cum[-1], cum)
    weights = np.diff(cum_at, prepend=0.0)
    return np.stack([at, weights]).astype("float32")


class Discretization(Layer):
    """Buckets continuous features by ranges: the output is the index of the
    bin each value falls in (`bins[i-1] <= x < bins[i]`), or its one_hot /
    multi_hot / count encoding.

    Args:
        bin_boundaries: the sorted boundaries (n boundaries make n + 1 bins).
        num_bins: instead, the number of bins whose boundaries `adapt()`
            estimates from quantiles of the data.
        epsilon: the relative error of those quantiles (default 0.01).
        output_mode: "int" (default), "one_hot", "multi_hot" or "count".
        sparse: must be False (graphkeras has no sparse tensors).

    Example:
        >>> Discretization(bin_boundaries=[0.0, 1.0, 2.0])(
        ...     np.array([[-1.5, 1.0, 3.4, 0.5]], "float32"))
        array([[0, 2, 3, 1]], dtype=int32)
    """

    def __init__(self, bin_boundaries=None, num_bins=None, epsilon=0.01,
                 output_mode="int", sparse=False, dtype=None, name=None,
                 **kwargs):
        super().__init__(dtype=dtype, name=name, **kwargs)
        _check_mode("Discretization", output_mode, _ENCODINGS)
        if sparse:
            raise ValueError(
                f'Layer "{self.name}" (Discretization): graphkeras has no '
                "sparse tensors. Received: sparse=True; use sparse=False.")
        if num_bins is not None and num_bins < 0:
            raise ValueError(
                "`num_bins` must be greater than or equal to 0. Received: "
                f"`num_bins={num_bins}`")
        if num_bins is not None and bin_boundaries is not None:
            raise ValueError(
                "Both `num_bins` and `bin_boundaries` should not be set. "
                f"Received: `num_bins={num_bins}` and "
                f"`bin_boundaries={bin_boundaries}`")
        if num_bins is None and bin_boundaries is None:
            raise ValueError(
                "You need to set either `num_bins` or `bin_boundaries`.")
        self.bin_boundaries = (None if bin_boundaries is None
                               else [float(b) for b in bin_boundaries])
        self.num_bins = num_bins
        self.epsilon = epsilon
        self.output_mode = output_mode
        self.sparse = False
        self.built = True

    def adapt(self, data, steps=None):
        """Estimate `num_bins` quantile boundaries from `data`."""
        if self.num_bins is None:
            raise ValueError(
                "Cannot adapt a Discretization layer that has been "
                "initialized with `bin_boundaries`, use `num_bins` instead.")
        summary = np.zeros((2, 0), "float32")
        for i, batch in enumerate(_batches(data, "Discretization")):
            if steps is not None and i >= steps:
                break
            part = _summarize(batch.astype("float32"), self.epsilon)
            merged = np.concatenate([part, summary], axis=1)
            # NOTE: NumPy's default (unstable) sort, as Keras: equal values
            # of different weights must come in Keras's order
            merged = merged[:, np.argsort(merged[0])]
            summary = _compress(merged, self.epsilon)
        bounds = _compress(summary, 1.0 / self.num_bins)[0, :-1]
        self.bin_boundaries = [float(b) for b in bounds]

    def call(self, inputs):
        if self.bin_boundaries is None:
            raise ValueError(
                f'Layer "{self.name}" (Discretization) has no bin boundaries: '
                "pass `bin_boundaries` at construction or call "
                "`adapt(data)` before using it.")
        x = inputs
        if ops.dtype(x) != "float32":
            x = ops.cast(x, "float32")
        bounds = np.asarray(self.bin_boundaries, "float32")
        if bounds.size == 0:
            idx = ops.cast(ops.multiply(x, 0.0), "int32")
        else:
            above = ops.greater_equal(ops.expand_dims(x, -1), bounds)
            idx = ops.sum(ops.cast(above, "int32"), axis=-1)
        if self.output_mode == "int":
            return idx
        return _encode(idx, self.output_mode, bounds.size + 1,
                       self._tensor_dtype)

    def compute_output_shape(self, input_shape):
        depth = (len(self.bin_boundaries) + 1 if self.bin_boundaries is not None
                 else self.num_bins)
        return _encoded_shape(input_shape, self.output_mode, depth)

    def get_config(self):
        return {"bin_boundaries": self.bin_boundaries,
                "num_bins": self.num_bins, "epsilon": self.epsilon,
                "output_mode": self.output_mode, "sparse": self.sparse,
                "name": self.name, "dtype": self.dtype}

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config.pop("trainable", None)
        if config.get("bin_boundaries") is not None and \
                config.get("num_bins") is not None:
            bounds = config.pop("bin_boundaries")
            layer = cls(**config)
            layer.bin_boundaries = bounds
            return layer
        return cls(**config)


# --- CategoryEncoding ------------------------------------------------------------


class CategoryEncoding(Layer):
    """Encodes integer features as one_hot, multi_hot or count vectors of
    length `num_tokens` (values must lie in [0, num_tokens)).

    Args:
        num_tokens: the number of categories.
        output_mode: "multi_hot" (default; "binary" is its old name),
            "one_hot" or "count".
        sparse: must be False.

    Example:
        >>> CategoryEncoding(4, output_mode="count")(np.array([[0, 1, 1]]))
        array([[1., 2., 0., 0.]], dtype=float32)
    """

    def __init__(self, num_tokens=None, output_mode="multi_hot", sparse=False,
                 **kwargs):
        super().__init__(**kwargs)
        if output_mode == "binary":
            output_mode = "multi_hot"
        _check_mode("CategoryEncoding", output_mode,
                    ("count", "one_hot", "multi_hot"))
        if num_tokens is None:
            raise ValueError(
                "num_tokens must be set to use this layer. If the number of "
                "tokens is not known beforehand, use the IntegerLookup layer "
                "instead.")
        if num_tokens < 1:
            raise ValueError(
                f"`num_tokens` must be >= 1. Received: num_tokens={num_tokens}.")
        if sparse:
            raise ValueError(
                f'Layer "{self.name}" (CategoryEncoding): graphkeras has no '
                "sparse tensors. Received: sparse=True; use sparse=False.")
        self.num_tokens = int(num_tokens)
        self.output_mode = output_mode
        self.sparse = False
        self.built = True

    def call(self, inputs, count_weights=None):
        if count_weights is not None:
            if self.output_mode != "count":
                raise ValueError(
                    "`count_weights` is not used when `output_mode` is not "
                    f"`'count'`. Received `count_weights={count_weights}`.")
            count_weights = ops.cast(count_weights, self._tensor_dtype)
        x = inputs
        if isinstance(x, np.ndarray) and x.size and (
                x.min() < 0 or x.max() >= self.num_tokens):
            # NOTE: checked on concrete data only; inside a compiled model a
            # value out of range encodes to nothing (an all-zero row)
            raise ValueError(
                f'Layer "{self.name}" (CategoryEncoding): input values must '
                f"be in the range 0 <= values < num_tokens with num_tokens="
                f"{self.num_tokens}. Received values from {x.min()} to "
                f"{x.max()}.")
        if not ops.dtype(x).startswith("int"):
            x = ops.cast(x, "int32")
        return _encode(x, self.output_mode, self.num_tokens,
                       self._tensor_dtype, count_weights)

    def compute_output_shape(self, input_shape):
        return _encoded_shape(input_shape, self.output_mode, self.num_tokens)

    def get_config(self):
        return {**super().get_config(), "num_tokens": self.num_tokens,
                "output_mode": self.output_mode, "sparse": self.sparse}


# --- IntegerLookup ---------------------------------------------------------------


def _found(hits):
    """Whether any of the last axis is True (at most one is)."""
    return ops.greater(ops.sum(ops.cast(hits, "int32"), axis=-1), 0)


def _learn_vocabulary(batches, skip, max_learned) -> list:
    """Tokens by decreasing frequency (ties: larger token first, as Keras
    3's lexsort), without the special tokens in `skip`."""
    values, counts = np.unique(np.concatenate([b.reshape(-1) for b in batches]),
                               return_counts=True)
    keep = ~np.isin(values, [s for s in skip if s is not None])
    values, counts = values[keep], counts[keep]
    order = np.lexsort((values, counts))[::-1]
    if max_learned is not None:
        order = order[:max_learned]
    return [int(v) for v in values[order]]


class LookupVocabulary:
    """The vocabulary bookkeeping IntegerLookup and StringLookup share:
    Keras 3's index layout (the mask index first in "int" mode, then
    `num_oov_indices` OOV indices, then the vocabulary), checks of a given
    vocabulary, get_vocabulary / vocabulary_size and the one-hot depth."""

    def _oov_start(self) -> int:
        return int(self.mask_token is not None and self.output_mode == "int")

    def _start(self) -> int:
        return self._oov_start() + self.num_oov_indices

    def _checked_vocabulary(self, vocab: list, shown=repr) -> list:
        kind = type(self).__name__
        if len(set(vocab)) != len(vocab):
            raise ValueError(
                f'Layer "{self.name}" ({kind}): the vocabulary holds '
                f"repeated tokens. Received: {vocab}")
        if self.mask_token is not None and self.mask_token in vocab:
            raise ValueError(
                f'Layer "{self.name}" ({kind}): the vocabulary holds the '
                f"mask token {shown(self.mask_token)}; leave it out.")
        if self.max_tokens is not None and \
                len(vocab) + self._start() > self.max_tokens:
            raise ValueError(
                f'Layer "{self.name}" ({kind}): a vocabulary of '
                f"{len(vocab)} tokens plus {self._start()} special indices "
                f"exceeds max_tokens={self.max_tokens}.")
        return vocab

    def get_vocabulary(self, include_special_tokens=True) -> list:
        vocab = list(self._vocabulary or [])
        if not include_special_tokens:
            return vocab
        head = [self.oov_token] * self._start()
        if self._oov_start():
            head[0] = self.mask_token
        return head + vocab

    def vocabulary_size(self) -> int:
        return len(self.get_vocabulary())

    def _depth(self) -> int:
        if self.pad_to_max_tokens and self.max_tokens is not None:
            return self.max_tokens
        return self.vocabulary_size()

    def _lookup_config(self) -> dict:
        """The config entries IntegerLookup and StringLookup share (an
        adapted vocabulary and its idf weights included, so the config
        alone rebuilds the layer, here and in Keras 3)."""
        return {
            "invert": self.invert, "max_tokens": self.max_tokens,
            "num_oov_indices": self.num_oov_indices,
            "oov_token": self.oov_token, "mask_token": self.mask_token,
            "output_mode": self.output_mode, "sparse": self.sparse,
            "pad_to_max_tokens": self.pad_to_max_tokens,
            "vocabulary": self._vocabulary,
            "idf_weights": None if self._idf is None else [
                float(w) for w in self._idf],
        }

    # --- tf_idf ------------------------------------------------------------------
    #
    # Keras 3's index_lookup: adapt() counts, for each token, the documents
    # (rows; a rank-1 batch is one document) it occurs in; the idf weight
    # of a vocabulary token is log(1 + documents / (1 + its documents)).
    # The weights of the special indices (OOV) are the mean idf weight;
    # with pad_to_max_tokens the unused tail weighs 0. "tf_idf" outputs are
    # the "count" encoding times those weights.

    def _check_idf_args(self, idf_weights, vocabulary, idf_pending) -> None:
        kind = type(self).__name__
        self._idf = None
        self._idf_front = None
        if idf_weights is not None and self.output_mode != "tf_idf":
            raise ValueError(
                f'Layer "{self.name}" ({kind}): `idf_weights` should only be '
                "set if `output_mode` is `'tf_idf'`. Received: idf_weights="
                f"{idf_weights} and output_mode={self.output_mode}")
        if self.output_mode == "tf_idf" and vocabulary is not None and \
                idf_weights is None and not idf_pending:
            raise ValueError(
                f'Layer "{self.name}" ({kind}): when specifying the '
                "`vocabulary` argument, in TF-IDF output mode, the "
                "`idf_weights` argument must also be provided.")

    def _set_idf(self, idf_weights) -> None:
        """The idf weights of a given vocabulary (one per token)."""
        kind = type(self).__name__
        if self.output_mode != "tf_idf":
            if idf_weights is not None:
                raise ValueError(
                    f'Layer "{self.name}" ({kind}): `idf_weights` should '
                    "only be set if output_mode is `'tf_idf'`. Received: "
                    f"output_mode={self.output_mode} and idf_weights="
                    f"{idf_weights}")
            return
        if idf_weights is None:
            if getattr(self, "_idf_pending", False):
                return  # read from the weights file next (load_model)
            raise ValueError(
                f'Layer "{self.name}" ({kind}): `idf_weights` must be set if '
                "output_mode is 'tf_idf'.")
        w = np.asarray(idf_weights, dtype="float64")
        if w.ndim != 1:
            raise ValueError(
                f'Layer "{self.name}" ({kind}): TF-IDF data must be a '
                f"1-index array. Received: idf_weights of shape {w.shape}")
        if len(w) != len(self._vocabulary):
            raise ValueError(
                "`idf_weights` must be the same length as vocabulary. "
                f"len(idf_weights) is {len(w)}; len(vocabulary) is "
                f"{len(self._vocabulary)}")
        self._idf = w.astype("float32")
        # Keras pads a given vocabulary's weights with np.average
        self._idf_front = np.float32(np.average(w)) if w.size else \
            np.float32(0)

    def _adapt_idf(self, doc_counts: dict, num_documents: int) -> None:
        """The learned vocabulary's idf weights from document counts."""
        df = np.array([doc_counts.get(t, 0) for t in self._vocabulary],
                      dtype="float64")
        self._idf = np.log(1.0 + num_documents / (1.0 + df)).astype(
            "float32")
        # Keras pads learned weights with their float32 mean
        self._idf_front = self._idf.mean(dtype="float32") if \
            self._idf.size else np.float32(0)

    def _idf_table(self) -> np.ndarray:
        """The weights of every output index (OOV first, the tail 0)."""
        if self._idf is None and getattr(self, "_idf_pending", False):
            # NOTE: only while load_model rebuilds the model, before the
            # weights file hands the weights over (load_h5_extras); a file
            # without them fails to load (weights_store.read_h5)
            return np.zeros(self._depth(), "float32")
        if self._idf is None:
            raise ValueError(
                f'Layer "{self.name}" ({type(self).__name__}): output_mode='
                "'tf_idf' needs idf weights: call `adapt(data)` or pass "
                "`vocabulary` with `idf_weights`.")
        head = np.full(self._start(), self._idf_front, "float32")
        table = np.concatenate([head, self._idf]).astype("float32")
        depth = self._depth()
        if depth > table.size:
            table = np.concatenate([table, np.zeros(depth - table.size,
                                                    "float32")])
        return table[:depth]

    def h5_extras(self) -> dict:
        """Entries Keras 3 keeps beside a layer's variables in
        model.weights.h5 (a tf_idf layer's padded `idf_weights`)."""
        if self.output_mode == "tf_idf" and self._idf is not None:
            return {"idf_weights": self._idf_table()}
        return {}

    def load_h5_extras(self, entries: dict) -> None:
        """Take the idf weights Keras 3 saved (padded; the vocabulary's
        part is used) when the config gave none."""
        w = entries.get("idf_weights")
        if self.output_mode != "tf_idf" or w is None or self._idf is not None:
            return
        w = np.asarray(w, "float32").reshape(-1)
        start, n = self._start(), len(self._vocabulary or [])
        if w.size < start + n:
            raise ValueError(
                f'Layer "{self.name}" ({type(self).__name__}): the weights '
                f"file's idf_weights has {w.size} entries, expected at least "
                f"{start + n} (special indices plus the vocabulary).")
        self._idf = w[start:start + n].copy()
        self._idf_pending = False
        self._idf_front = w[0] if start else (
            self._idf.mean(dtype="float32") if n else np.float32(0))


def _one_array(data) -> bool:
    """Whether adapt() data is one array (not an iterable of batches)."""
    return isinstance(data, np.ndarray) or (
        isinstance(data, (list, tuple)) and not (
            data and isinstance(data[0], np.ndarray)))


def _doc_counts(batches, skip) -> tuple:
    """({token: number of documents holding it}, number of documents) of
    integer batches: the rows of a batch of rank 2 or more are documents
    (over their last axis), a batch of rank 0 or 1 is one document."""
    counts: dict = {}
    docs = 0
    for b in batches:
        b = np.asarray(b)
        rows = b.reshape(1, -1) if b.ndim <= 1 else b.reshape(-1, b.shape[-1])
        docs += rows.shape[0]
        if not rows.size:
            continue
        srt = np.sort(rows, axis=1)
        first = np.ones(srt.shape, bool)
        first[:, 1:] = srt[:, 1:] != srt[:, :-1]
        values, n = np.unique(srt[first], return_counts=True)
        for v, c in zip(values.tolist(), n.tolist()):
            if v not in skip:
                counts[v] = counts.get(v, 0) + c
    return counts, docs


class IntegerLookup(LookupVocabulary, Layer):
    """Maps integer features to contiguous indices in a vocabulary (learned
    by `adapt` or given), or to one_hot / multi_hot / count encodings.

    Index layout (Keras 3's): in "int" mode a `mask_token` takes index 0;
    then come `num_oov_indices` OOV indices (an unknown value v goes to OOV
    index v mod num_oov_indices), then the vocabulary. In the encoding
    modes the mask token has no index and masked values encode to nothing.

    Args:
        max_tokens: the largest vocabulary size (special indices included);
            None for no limit.
        num_oov_indices: the number of OOV indices (default 1); with 0, an
            unknown value maps to -1 (Keras raises; compiled code cannot).
        mask_token: a value treated as padding (None: no mask token).
        oov_token: the value `invert=True` returns for OOV indices (-1).
        vocabulary: a list of integers, instead of adapting.
        vocabulary_dtype: "int64" (default) or "int32".
        invert: map indices back to values.
        output_mode: "int" (default), "one_hot", "multi_hot", "count" or
            "tf_idf" (counts times idf weights: learned by `adapt`, or
            `idf_weights` given with `vocabulary`).
        idf_weights: the idf weight of each vocabulary token (tf_idf).
        pad_to_max_tokens: in the encoding modes, make the output
            `max_tokens` wide whatever the vocabulary size.

    Example:
        >>> IntegerLookup(vocabulary=[12, 36, 1138, 42])(np.array([[12, 1138,
        ...     42], [42, 1000, 36]]))
        array([[1, 3, 4],
               [4, 0, 2]])
    """

    def __init__(self, max_tokens=None, num_oov_indices=1, mask_token=None,
                 oov_token=-1, vocabulary=None, vocabulary_dtype="int64",
                 idf_weights=None, invert=False, output_mode="int",
                 sparse=False, pad_to_max_tokens=False, name=None,
                 vocabulary_size=None, oov_method="floormod", salt=None,
                 idf_pending=False, **kwargs):
        # vocabulary_size: a Keras 3 config entry, implied by the vocabulary
        kwargs.pop("has_input_vocabulary", None)
        super().__init__(name=name, **kwargs)
        if oov_method not in ("floormod", "farmhash"):
            raise ValueError(
                f'Layer "{self.name}" (IntegerLookup): `oov_method` must be '
                "one of ('floormod', 'farmhash'). Received: "
                f"oov_method={oov_method!r}")
        if salt is not None:
            if oov_method != "farmhash":
                raise ValueError(
                    "`salt` can only be used when `oov_method='farmhash'`. "
                    f"Received: oov_method={oov_method}")
            if isinstance(salt, (tuple, list)) and len(salt) == 2:
                salt = [int(v) for v in salt]
            elif isinstance(salt, int) and not isinstance(salt, bool):
                salt = [salt, salt]
            else:
                raise ValueError(
                    "The `salt` argument for `IndexLookup` can only be a "
                    "tuple of 2 integers, or a single integer. Received: "
                    f"salt={salt}.")
        self.oov_method = oov_method
        self.salt = salt
        if output_mode == "tf-idf":
            output_mode = "tf_idf"
        _check_mode("IntegerLookup", output_mode, _ENCODINGS + ("tf_idf",))
        if not isinstance(num_oov_indices, int) or num_oov_indices < 0:
            raise ValueError(
                "`num_oov_indices` must be greater than or equal to 0. "
                f"Received: num_oov_indices={num_oov_indices}")
        if sparse:
            raise ValueError(
                f'Layer "{self.name}" (IntegerLookup): graphkeras has no '
                "sparse tensors. Received: sparse=True; use sparse=False.")
        if vocabulary_dtype not in ("int32", "int64"):
            raise ValueError(
                f'Layer "{self.name}" (IntegerLookup): vocabulary_dtype must '
                f'be "int32" or "int64". Received: {vocabulary_dtype!r}')
        if invert and output_mode != "int":
            raise ValueError(
                "`output_mode` must be `'int'` when `invert` is true. "
                f"Received: output_mode={output_mode}")
        if max_tokens is not None and max_tokens <= 1:
            raise ValueError(
                "If set, `max_tokens` must be greater than 1. Received: "
                f"max_tokens={max_tokens}")
        self.max_tokens = max_tokens
        self.num_oov_indices = num_oov_indices
        self.mask_token = mask_token
        self.oov_token = oov_token
        self.vocabulary_dtype = vocabulary_dtype
        self.invert = bool(invert)
        self.output_mode = output_mode
        self.sparse = False
        self.pad_to_max_tokens = bool(pad_to_max_tokens)
        self._vocabulary = None
        self._idf_pending = bool(idf_pending)
        self._check_idf_args(idf_weights, vocabulary, idf_pending)
        if vocabulary is not None:
            self.set_vocabulary(vocabulary, idf_weights)
        self.built = True

    def set_vocabulary(self, vocabulary, idf_weights=None):
        """Set the vocabulary (a list of integers, special tokens left
        out) and, in "tf_idf" mode, its idf weights (one per token)."""
        self._vocabulary = self._checked_vocabulary(
            [int(v) for v in np.asarray(vocabulary).reshape(-1)], shown=str)
        self._set_idf(idf_weights)

    def adapt(self, data, steps=None):
        """Learn the vocabulary: the values of `data` by decreasing
        frequency (the mask and OOV tokens left out)."""
        batches = _batches(data, "IntegerLookup")
        if steps is not None:
            batches = batches[:steps]
        if _one_array(data) and batches[0].ndim == 1:
            # Keras: one array of rank 1 is a column (one document a row)
            batches = [batches[0].reshape(-1, 1)]
        max_learned = (None if self.max_tokens is None
                       else self.max_tokens - self._start())
        self._vocabulary = _learn_vocabulary(
            batches, (self.mask_token, self.oov_token), max_learned)
        if self.output_mode == "tf_idf":
            self._adapt_idf(*_doc_counts(batches, {self.mask_token,
                                                   self.oov_token}))

    def call(self, inputs):
        if self._vocabulary is None:
            raise ValueError(
                f'Layer "{self.name}" (IntegerLookup) has no vocabulary: pass '
                "`vocabulary` or call `adapt(data)` before using it.")
        dt = self.vocabulary_dtype
        x = inputs
        if ops.dtype(x) != dt:
            x = ops.cast(x, dt)
        if self.invert:
            return self._invert(x, dt)
        vocab = np.asarray(self._vocabulary, dt)
        start = self._start()
        # where x is unknown: one OOV index, v mod num_oov_indices among
        # several, or -1 with none
        if self.num_oov_indices == 0:
            oov = np.asarray(-1, dt)
        elif self.num_oov_indices == 1:
            oov = np.asarray(self._oov_start(), dt)
        elif self.oov_method == "farmhash":
            oov = self._hashed_oov(x, dt)
        else:
            oov = ops.add(ops.mod(x, np.asarray(self.num_oov_indices, dt)),
                          np.asarray(self._oov_start(), dt))
        if vocab.size and isinstance(x, np.ndarray):
            # concrete data: a sorted search instead of the (..., vocab)
            # comparison the compiled graph makes (the same indices)
            order = np.argsort(vocab, kind="stable")
            ranked = vocab[order]
            at = np.minimum(np.searchsorted(ranked, x), ranked.size - 1)
            idx = np.where(ranked[at] == x, order[at] + start,
                           oov).astype(dt)
        elif vocab.size:
            # index = start + position where x == vocab[position]
            hits = ops.equal(ops.expand_dims(x, -1), vocab)
            pos = np.arange(start, start + vocab.size, dtype=dt)
            idx = ops.sum(ops.where(hits, pos, np.zeros_like(pos)), axis=-1)
            idx = ops.where(_found(hits), idx, oov)
        else:
            idx = ops.add(ops.multiply(x, np.asarray(0, dt)), oov)
        if self.mask_token is not None:
            # the mask is index 0 in "int" mode and encodes to nothing else
            masked = np.asarray(0 if self.output_mode == "int" else -1, dt)
            idx = ops.where(ops.equal(x, np.asarray(self.mask_token, dt)),
                            masked, idx)
        if self.output_mode == "int":
            return idx
        if self.output_mode == "tf_idf":
            counts = _encode(idx, "count", self._depth(), "float32")
            return ops.multiply(counts, self._idf_table())
        return _encode(idx, self.output_mode, self._depth(), "float32")

    def _hashed_oov(self, x, dt):
        """Keras's "farmhash" OOV indices: the hash of each value's decimal
        text (SipHash with `salt`) mod num_oov_indices. Host work: only on
        concrete arrays."""
        if not isinstance(x, np.ndarray):
            raise ValueError(
                f'Layer "{self.name}" (IntegerLookup): oov_method="farmhash" '
                "hashes values on the host, which a compiled graphkeras model "
                "cannot do. Apply the layer to your NumPy data before fit / "
                'predict, or use oov_method="floormod" inside the model.')
        h = hash_integers(x, self.salt)
        return ((h % np.uint64(self.num_oov_indices)).astype(np.int64)
                + self._oov_start()).astype(dt)

    def _invert(self, x, dt):
        table = np.asarray(self.get_vocabulary(), dt)
        hits = ops.equal(ops.expand_dims(x, -1),
                         np.arange(table.size, dtype=dt))
        value = ops.sum(ops.where(hits, table, np.zeros_like(table)), axis=-1)
        out = ops.where(_found(hits), value, np.asarray(self.oov_token, dt))
        if self.mask_token is not None:
            out = ops.where(ops.equal(x, np.asarray(0, dt)),
                            np.asarray(self.mask_token, dt), out)
        return out

    def compute_output_shape(self, input_shape):
        mode = "count" if self.output_mode == "tf_idf" else self.output_mode
        return _encoded_shape(input_shape, mode, self._depth())

    def get_config(self):
        return {**super().get_config(), **self._lookup_config(),
                "vocabulary_dtype": self.vocabulary_dtype,
                "oov_method": self.oov_method, "salt": self.salt}


__all__ = ["CategoryEncoding", "Discretization", "IntegerLookup",
           "Normalization"]
