"""Hashing and HashedCrossing: Keras 3's hashing preprocessing layers, with
its hashes (FarmHash Fingerprint64, SipHash-2-4 with a `salt`, the
FingerprintCat64 feature cross; see hashes.py), so a value lands in the
bin Keras puts it in.

Like Keras 3 on a backend other than TensorFlow, these layers run on
concrete data (NumPy here, layers/host.py): on data before `fit` /
`predict`, or at the front of a functional / Sequential model, where the
model runs them on each batch before its compiled part
(models/host_stage.py). After a compiled layer or inside a traced step
they raise an error that says so.

Invariants:
- Hashing hashes the string form of its values: integers by their decimal
  text, floats truncated to int64 first, booleans as "true" / "false"
  (TensorFlow's `as_string`); bin = hash mod num_bins as uint64.
- HashedCrossing combines per-feature fingerprints, starting from
  tf.sparse.cross_hashed's default key: a string feature contributes its
  Fingerprint64, an integer feature its own value as uint64.
- "int" results are int64 arrays (Keras's default dtype for the layers);
  the encodings are float32 arrays (floatx).
"""

from __future__ import annotations

import numpy as np

from ...config import floatx
from .hashes import (
    CROSS_HASH_KEY,
    fingerprint64,
    fingerprint_cat64,
    hash_integers,
    siphash,
)
from .host import HostLayer, spec
from .layer import Layer

_MODES = ("int", "one_hot", "multi_hot", "count")


def _as_array(layer, inputs) -> np.ndarray:
    try:
        x = np.asarray(inputs)
    except ValueError as e:
        raise ValueError(
            f'Layer "{layer.name}" ({type(layer).__name__}) expects a '
            "rectangular array of strings or numbers (ragged lists are not "
            f"supported). Received: {inputs!r} ({e})") from None
    if x.dtype.kind not in "USOiubf":
        raise ValueError(
            f'Layer "{layer.name}" ({type(layer).__name__}) expects strings, '
            f"integers or floats. Received: an array of dtype {x.dtype}.")
    return x


def _string_form(x: np.ndarray) -> np.ndarray:
    """The strings TensorFlow's `as_string` makes of `x` (after the cast of
    floats to int64), as an object array of str / bytes."""
    if x.dtype.kind == "f":
        with np.errstate(invalid="ignore"):
            x = x.astype(np.int64)
    if x.dtype.kind == "b":
        return np.where(x, "true", "false").astype(object)
    if x.dtype.kind in "iu":
        uniq, inverse = np.unique(x.reshape(-1), return_inverse=True)
        text = np.array([str(int(v)) for v in uniq], dtype=object)
        return text[inverse].reshape(x.shape)
    return x.astype(object)


def _hash_values(x: np.ndarray, key) -> np.ndarray:
    """Fingerprint64 (SipHash with `key`) of the string form of `x`:
    integers (floats truncated first) through their decimal digits built
    as arrays, the rest through their strings."""
    if x.dtype.kind == "f":
        with np.errstate(invalid="ignore"):
            x = x.astype(np.int64)
    if x.dtype.kind == "i" or (x.dtype.kind == "u" and (
            x.size == 0 or int(x.max()) < 2 ** 63)):
        return hash_integers(x, key)
    text = _string_form(x)
    return siphash(text, key) if key is not None else fingerprint64(text)


def encode_bins(ids: np.ndarray, mode: str, depth: int,
                dtype: str) -> np.ndarray:
    """Keras's encode_categorical_inputs on NumPy ids: "int" casts; a
    scalar counts as one sample; "one_hot" encodes each value (a last axis
    of 1 replaced by the encoding), "multi_hot" / "count" reduce the last
    (sample) axis."""
    ids = np.asarray(ids)
    if mode == "int":
        return ids.astype(dtype)
    if ids.ndim == 0:
        ids = ids.reshape(1)
    if mode == "one_hot" and ids.ndim > 1 and ids.shape[-1] == 1:
        ids = ids[..., 0]
    if mode == "one_hot":
        lead = ids.shape
    else:
        lead = ids.shape[:-1]
    # scatter ones (or add counts) at the ids: no (..., depth) temporary
    # per id; ids outside [0, depth) count nowhere
    out = np.zeros((int(np.prod(lead, dtype=np.int64)), depth), dtype)
    flat = ids.reshape(out.shape[0], -1)
    rows = np.broadcast_to(np.arange(out.shape[0])[:, None], flat.shape)
    ok = (flat >= 0) & (flat < depth)
    if mode == "count":
        np.add.at(out, (rows[ok], flat[ok]), 1)
    else:
        out[rows[ok], flat[ok]] = 1
    return out.reshape(lead + (depth,))


class Hashing(HostLayer, Layer):
    """Hashes categorical features (strings or integers) into `num_bins`
    bins, with Keras 3's hash functions, so values land in Keras's bins.

    FarmHash's Fingerprint64 by default; with a `salt`, SipHash-2-4 keyed
    by it. Integers are hashed by their decimal text, floats are truncated
    to integers first. It runs in NumPy: on data, or at the front of a
    model (a host layer).

    Args:
        num_bins: the number of bins (including the `mask_value` bin).
        mask_value: a value that maps to bin 0 (the others then hash into
            bins 1 .. num_bins - 1); None for no mask.
        salt: None (FarmHash), an integer k (SipHash with the key (k, k))
            or a pair of integers (the SipHash key).
        output_mode: "int" (default), "one_hot", "multi_hot" or "count".
        sparse: must be False (graphkeras has no sparse tensors).

    Example:
        >>> layer = Hashing(num_bins=3)
        >>> layer([["A"], ["B"], ["C"], ["D"], ["E"]])
        array([[1],
               [0],
               [1],
               [1],
               [2]])
    """

    def __init__(self, num_bins, mask_value=None, salt=None,
                 output_mode="int", sparse=False, **kwargs):
        if kwargs.get("dtype") is None:
            kwargs["dtype"] = "int64" if output_mode == "int" else floatx()
        super().__init__(**kwargs)
        if num_bins is None or isinstance(num_bins, bool) or not isinstance(
                num_bins, (int, np.integer)) or num_bins <= 0:
            raise ValueError(
                "The `num_bins` for `Hashing` cannot be `None` or "
                f"non-positive values. Received: num_bins={num_bins}.")
        if output_mode not in _MODES:
            raise ValueError(
                "Invalid value for argument `output_mode`. Expected one of "
                f"{_MODES}. Received: output_mode={output_mode}")
        if output_mode == "int" and self.dtype not in ("int32", "int64"):
            raise ValueError(
                'When `output_mode="int"`, `dtype` should be an integer '
                f"type, 'int32' or 'in64'. Received: dtype={self.dtype}")
        if sparse:
            raise ValueError(
                f'Layer "{self.name}" (Hashing): graphkeras has no sparse '
                "tensors. Received: sparse=True; use sparse=False.")
        self.num_bins = int(num_bins)
        self.mask_value = mask_value
        self.output_mode = output_mode
        self.sparse = False
        self.strong_hash = salt is not None
        self.salt = None
        if salt is not None:
            if isinstance(salt, (tuple, list)) and len(salt) == 2 and all(
                    isinstance(s, (int, np.integer)) for s in salt):
                self.salt = [int(s) for s in salt]
            elif isinstance(salt, (int, np.integer)) and not isinstance(
                    salt, bool):
                self.salt = [int(salt), int(salt)]
            else:
                raise ValueError(
                    "The `salt` argument for `Hashing` can only be a tuple "
                    "of size 2 integers, or a single integer. Received: "
                    f"salt={salt}.")
        self.built = True

    host_work = ("hashes values (FarmHash / SipHash of their string "
                 "form)")

    def host_call(self, inputs):
        return self.call(inputs)

    def host_output_spec(self, inputs):
        return spec(self.compute_output_shape(tuple(inputs.shape)),
                    self.dtype)

    def call(self, inputs):
        x = _as_array(self, inputs)
        if self.output_mode == "one_hot" and x.ndim and x.shape[-1] == 1:
            x = x[..., 0]
        ids = self._bins(x)
        return encode_bins(ids, self.output_mode, self.num_bins, self.dtype)

    def _bins(self, x: np.ndarray) -> np.ndarray:
        bins = self.num_bins
        mask = None
        if self.mask_value is not None and bins > 1:
            bins -= 1
            mask = self._is_mask(x)
        h = _hash_values(x, self.salt if self.strong_hash else None)
        ids = (h % np.uint64(bins)).astype(np.int64)
        if mask is not None:
            ids = np.where(mask, 0, ids + 1)
        return ids

    def _is_mask(self, x: np.ndarray) -> np.ndarray:
        m = self.mask_value
        if x.dtype.kind in "USO":
            if isinstance(m, bytes):
                m = m.decode("utf-8")
            flat = [v.decode("utf-8") if isinstance(v, bytes) else v
                    for v in x.reshape(-1)]
            return np.array([v == m for v in flat],
                            dtype=bool).reshape(x.shape)
        if isinstance(m, (str, bytes)):
            raise ValueError(
                f'Layer "{self.name}" (Hashing): mask_value={m!r} is a '
                f"string, but the inputs are numbers (dtype {x.dtype}).")
        return x == m

    def compute_output_shape(self, input_shape):
        if self.output_mode == "int":
            return tuple(input_shape)
        if len(input_shape) == 0:
            return (self.num_bins,)
        return tuple(input_shape[:-1]) + (self.num_bins,)

    def get_config(self):
        return {**super().get_config(), "num_bins": self.num_bins,
                "salt": self.salt, "mask_value": self.mask_value,
                "output_mode": self.output_mode, "sparse": self.sparse}


class HashedCrossing(HostLayer, Layer):
    """Crosses features by hashing their combination into `num_bins` bins,
    as Keras 3 does (tf.sparse.cross_hashed's FingerprintCat64 of the
    features' fingerprints), so a pair lands in Keras's bin.

    The inputs are two or more arrays of one shape, `()`, `(batch,)` or
    `(batch, 1)`, of integers or strings. It runs in NumPy: on data, or
    at the front of a model (a host layer).

    Args:
        num_bins: the number of bins.
        output_mode: "int" (default) or "one_hot".
        sparse: must be False.

    Example:
        >>> layer = HashedCrossing(num_bins=5)
        >>> layer((np.array([1, 2, 3]), np.array(["A", "B", "C"])))
        array([2, 3, 3])
    """

    def __init__(self, num_bins, output_mode="int", sparse=False, name=None,
                 dtype=None, **kwargs):
        if output_mode == "int" and dtype is None:
            dtype = "int64"
        kwargs.pop("trainable", None)
        super().__init__(name=name, dtype=dtype, **kwargs)
        if output_mode not in ("int", "one_hot"):
            raise ValueError(
                f"Unknown value for `output_mode`. Allowed values are "
                f"('int', 'one_hot'). Received: output_mode={output_mode!r}")
        if sparse:
            raise ValueError(
                "`sparse=True` can only be used with the TensorFlow backend.")
        if num_bins is None or isinstance(num_bins, bool) or not isinstance(
                num_bins, (int, np.integer)) or num_bins <= 0:
            raise ValueError(
                f'Layer "{self.name}" (HashedCrossing): `num_bins` must be a '
                f"positive integer. Received: num_bins={num_bins}")
        self.num_bins = int(num_bins)
        self.output_mode = output_mode
        self.sparse = False
        self.built = True

    host_work = ("hashes feature crosses (FarmHash fingerprints of the "
                 "values)")

    def host_call(self, inputs):
        return self.call(inputs)

    def host_output_spec(self, inputs):
        if not isinstance(inputs, (list, tuple)) or len(inputs) < 2:
            raise ValueError(
                "`HashedCrossing` should be called on a list or tuple of at "
                f"least two inputs. Received: inputs={inputs}")
        shape = self.compute_output_shape([tuple(x.shape) for x in inputs])
        dtype = self.dtype if self.output_mode == "int" else floatx()
        return spec(shape, dtype)

    def call(self, inputs):
        if not isinstance(inputs, (list, tuple)):
            raise ValueError(
                "`HashedCrossing` should be called on a list or tuple of "
                f"inputs. Received: inputs={inputs}")
        if len(inputs) < 2:
            raise ValueError(
                "`HashedCrossing` should be called on at least two inputs. "
                f"Received: inputs={inputs}")
        xs = [_as_array(self, x) for x in inputs]
        shape = xs[0].shape
        if len(shape) > 2 or (len(shape) == 2 and shape[-1] != 1):
            raise ValueError(
                "All `HashedCrossing` inputs should have shape `()`, "
                "`(batch_size)` or `(batch_size, 1)`. Received: input "
                f"shapes {[x.shape for x in xs]}")
        if any(x.shape != shape for x in xs[1:]):
            raise ValueError(
                "All `HashedCrossing` inputs should have equal shape. "
                f"Received: input shapes {[x.shape for x in xs]}")
        if any(x.dtype.kind not in "iuUSO" for x in xs):
            raise ValueError(
                "All `HashedCrossing` inputs should have an integer or "
                f"string dtype. Received: dtypes {[str(x.dtype) for x in xs]}")
        h = np.full(shape, CROSS_HASH_KEY, np.uint64)
        for x in xs:
            if x.dtype.kind in "iu":
                feature = x.astype(np.int64).view(np.uint64)
            else:
                feature = fingerprint64(x)
            h = fingerprint_cat64(h, feature)
        ids = (h % np.uint64(self.num_bins)).astype(np.int64)
        dtype = self.dtype if self.output_mode == "int" else floatx()
        return encode_bins(ids, self.output_mode, self.num_bins, dtype)

    def compute_output_shape(self, input_shape):
        first = tuple(input_shape[0])
        if self.output_mode == "int":
            return first
        if self.output_mode == "one_hot" and first and first[-1] != 1:
            return first + (self.num_bins,)
        return first[:-1] + (self.num_bins,)

    def get_config(self):
        return {"num_bins": self.num_bins, "output_mode": self.output_mode,
                "sparse": self.sparse, "name": self.name,
                "dtype": self.dtype}


__all__ = ["HashedCrossing", "Hashing"]
