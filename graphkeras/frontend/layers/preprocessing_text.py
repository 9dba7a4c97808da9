"""String preprocessing layers: StringLookup and TextVectorization (Keras 3
arguments, defaults, vocabulary order and index layout).

Compiled graphkeras programs hold no strings, so these layers run in
NumPy on the host (layers/host.py): on data (`ids = vectorizer(texts)`),
or at the front of a functional / Sequential model, applied to a
`keras.Input(dtype="string")`, where the model runs them on each batch
before its compiled part (models/host_stage.py). Inside a traced step or
after a compiled layer they raise an error that says so.

Invariants:
- Index layout as Keras 3's lookup layers: in "int" mode the mask token
  (if any) is index 0; then the OOV index; then the vocabulary, most
  frequent first (ties: the larger token first, comparing UTF-8 bytes).
- "int" results are int64 arrays; the encodings are float32 arrays (the
  dtype a model's Dense layer takes; the values are Keras's).
- With several OOV indices, an unknown string goes to OOV index
  Fingerprint64(s) mod num_oov_indices (SipHash with a `salt`), as Keras
  hashes it (hashes.py).
- "tf_idf" is the "count" encoding times the idf weights (adapted as
  Keras 3 does, see LookupVocabulary).
"""

from __future__ import annotations

import re
from collections import Counter

import numpy as np

from ..tensors import KerasTensor, TracedTensor
from ..variables import Variable
from .hashes import fingerprint64, siphash
from .host import HostLayer, spec
from .layer import Layer
from .preprocessing_tabular import LookupVocabulary

_PUNCTUATION = re.compile(r'[!"#$%&()\*\+,\-\./:;<=>?@\[\\\]^_`{|}~\']')
_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ",
                             "abcdefghijklmnopqrstuvwxyz")
_MODES = ("int", "one_hot", "multi_hot", "count", "tf_idf")


def _as_text(x) -> np.ndarray:
    a = np.asarray(x, dtype=object)
    return np.vectorize(
        lambda v: v.decode("utf-8") if isinstance(v, bytes) else str(v),
        otypes=[object])(a) if a.size else a


def _text_batches(data) -> list:
    """adapt() data as a list of batches: an array or a list of strings is
    one batch; a list of arrays, or any other iterable (a dataset, a
    generator; `(x, y)` items read as x), holds batches."""
    if isinstance(data, (KerasTensor, TracedTensor, Variable)):
        raise TypeError(
            "adapt() needs concrete data (NumPy strings or an iterable of "
            f"batches), received a symbolic tensor {data!r}.")
    if isinstance(data, (list, tuple)) and data and \
            isinstance(data[0], np.ndarray):
        return list(data)
    if isinstance(data, (np.ndarray, list, tuple, str, bytes)) or \
            not hasattr(data, "__iter__"):
        return [data]
    out = []
    for item in data:
        out.append(item[0] if isinstance(item, tuple) else item)
    return out


def _utf8_key(token) -> bytes:
    return str(token).encode("utf-8")


def _rank_tokens(counts: Counter, skip, max_learned) -> list:
    """Tokens by decreasing count, ties by decreasing UTF-8 bytes (Keras
    3's lexsort order)."""
    items = [(t, n) for t, n in counts.items() if t not in skip]
    items.sort(key=lambda tn: (tn[1], _utf8_key(tn[0])), reverse=True)
    tokens = [t for t, _ in items]
    return tokens if max_learned is None else tokens[:max(max_learned, 0)]


def _encode(ids: np.ndarray, mode: str, depth: int) -> np.ndarray:
    """ids (rank 1 or 2, -1 for nothing) -> float32 encodings."""
    if ids.ndim == 0:
        ids = ids.reshape(1)
    hot = (ids[..., None] == np.arange(depth)).astype("float32")
    if mode == "one_hot":
        return hot[..., 0, :] if ids.ndim > 1 and ids.shape[-1] == 1 else hot
    if mode == "multi_hot":
        return hot.max(axis=-2)
    return hot.sum(axis=-2)


class StringLookup(HostLayer, LookupVocabulary, Layer):
    """Maps strings to integer indices in a vocabulary (learned by `adapt`
    or given), or to one_hot / multi_hot / count encodings. It runs in
    NumPy: on data, or at the front of a model (a host layer).

    Args:
        max_tokens: the largest vocabulary size (special indices included).
        num_oov_indices: the number of OOV indices (default 1); unknown
            strings spread over several by FarmHash (SipHash with `salt`),
            as in Keras.
        mask_token: a string treated as padding (None: no mask token).
        oov_token: the token `invert=True` returns for unknown indices
            ("[UNK]").
        vocabulary: a list of strings, instead of adapting.
        invert: map indices back to strings.
        output_mode: "int" (default), "one_hot", "multi_hot", "count" or
            "tf_idf" (counts times idf weights, learned by `adapt` or
            given as `idf_weights` with a `vocabulary`).
        pad_to_max_tokens: make encodings `max_tokens` wide.
        salt: with several OOV indices, hash unknown strings with SipHash
            keyed by it (an integer k means (k, k)).

    Example:
        >>> lookup = StringLookup(vocabulary=["a", "b", "c"])
        >>> lookup(np.array([["a", "c", "z"]]))
        array([[1, 3, 0]])
    """

    def __init__(self, max_tokens=None, num_oov_indices=1, mask_token=None,
                 oov_token="[UNK]", vocabulary=None, idf_weights=None,
                 invert=False, output_mode="int", pad_to_max_tokens=False,
                 sparse=False, encoding="utf-8", name=None, salt=None,
                 vocabulary_size=None, vocabulary_dtype="string",
                 oov_method=None, idf_pending=False, **kwargs):
        # vocabulary_size / vocabulary_dtype / oov_method: Keras 3 config
        # entries with nothing to choose here
        kwargs.pop("has_input_vocabulary", None)
        super().__init__(name=name, **kwargs)
        if salt is not None:
            if isinstance(salt, (tuple, list)) and len(salt) == 2:
                salt = [int(v) for v in salt]
            elif isinstance(salt, int) and not isinstance(salt, bool):
                salt = [salt, salt]
            else:
                raise ValueError(
                    "The `salt` argument for `IndexLookup` can only be a "
                    "tuple of 2 integers, or a single integer. Received: "
                    f"salt={salt}.")
        self.salt = salt
        if output_mode == "binary":
            output_mode = "multi_hot"
        if output_mode == "tf-idf":
            output_mode = "tf_idf"
        if output_mode not in _MODES:
            raise ValueError(
                f'Layer "{self.name}" (StringLookup): unknown value for '
                f"`output_mode`. Expected one of {list(_MODES)}. Received: "
                f"output_mode={output_mode!r}")
        if not isinstance(num_oov_indices, int) or num_oov_indices < 0:
            raise ValueError(
                "`num_oov_indices` must be greater than or equal to 0. "
                f"Received: num_oov_indices={num_oov_indices}")
        if sparse:
            raise ValueError(
                f'Layer "{self.name}" (StringLookup): graphkeras has no '
                "sparse tensors. Received: sparse=True; use sparse=False.")
        if invert and output_mode != "int":
            raise ValueError(
                "`output_mode` must be `'int'` when `invert` is true. "
                f"Received: output_mode={output_mode}")
        self.max_tokens = max_tokens
        self.num_oov_indices = num_oov_indices
        self.mask_token = mask_token
        self.oov_token = oov_token
        self.invert = bool(invert)
        self.output_mode = output_mode
        self.pad_to_max_tokens = bool(pad_to_max_tokens)
        self.sparse = False
        self.encoding = encoding
        self._vocabulary = None
        self._idf_pending = bool(idf_pending)
        self._check_idf_args(idf_weights, vocabulary, idf_pending)
        if vocabulary is not None:
            self.set_vocabulary(vocabulary, idf_weights)
        self.built = True

    def set_vocabulary(self, vocabulary, idf_weights=None):
        """Set the vocabulary (a list of strings, special tokens left out)
        and, in "tf_idf" mode, its idf weights (one per token)."""
        self._vocabulary = self._checked_vocabulary(
            [str(v) for v in _as_text(vocabulary).reshape(-1)])
        self._set_idf(idf_weights)

    def adapt(self, data, steps=None):
        """Learn the vocabulary: the strings of `data` by frequency (and,
        in "tf_idf" mode, the documents each occurs in: the rows of a
        batch of rank 2, or a whole batch of rank 1)."""
        counts = Counter()
        docs = Counter()
        n_docs = 0
        batches = _text_batches(data)
        for i, batch in enumerate(batches):
            if steps is not None and i >= steps:
                break
            text = _as_text(batch)
            if len(batches) == 1 and text.ndim == 1 and (
                    batches[0] is data):
                # Keras: one array of rank 1 is a column (a document a row)
                text = text.reshape(-1, 1)
            counts.update(str(t) for t in text.reshape(-1))
            if self.output_mode == "tf_idf":
                rows = text.reshape(1, -1) if text.ndim <= 1 else \
                    text.reshape(-1, text.shape[-1])
                n_docs += rows.shape[0]
                for row in rows:
                    docs.update({str(t) for t in row})
        self._adapt_counts(counts, docs, n_docs)

    def _adapt_counts(self, counts: Counter, docs=None, n_docs=0) -> None:
        max_learned = (None if self.max_tokens is None
                       else self.max_tokens - self._start())
        self._vocabulary = _rank_tokens(
            counts, {self.mask_token, self.oov_token}, max_learned)
        if self.output_mode == "tf_idf":
            self._adapt_idf(docs or {}, n_docs)

    host_work = "looks strings up in its vocabulary"

    def host_call(self, inputs):
        if self._vocabulary is None:
            raise ValueError(
                f'Layer "{self.name}" ({type(self).__name__}) has no '
                "vocabulary: pass `vocabulary` or call `adapt(data)` first.")
        return self._lookup(inputs)

    def _spec_depth(self):
        """The encodings' width, or None before a vocabulary is known."""
        if self._vocabulary is None:
            return self.max_tokens if self.pad_to_max_tokens else None
        return self._depth()

    def host_output_spec(self, inputs):
        """int64 ids of the input's shape ("int"), strings (`invert`), or
        float32 encodings: one_hot appends the depth (replacing a last
        axis of 1), the others replace the last (sample) axis with it."""
        shape = tuple(inputs.shape)
        if self.invert:
            return spec(shape, "string")
        if self.output_mode == "int":
            return spec(shape, "int64")
        depth = self._spec_depth()
        if self.output_mode == "one_hot":
            lead = shape[:-1] if len(shape) > 1 and shape[-1] == 1 else shape
            return spec(lead + (depth,), "float32")
        return spec(shape[:-1] + (depth,), "float32")

    def _lookup(self, inputs) -> np.ndarray:
        if self.invert:
            table = self.get_vocabulary()
            ids = np.asarray(inputs).astype(np.int64)
            out = np.vectorize(
                lambda i: table[i] if 0 <= i < len(table) else self.oov_token,
                otypes=[object])(ids) if ids.size else ids.astype(object)
            if self.mask_token is not None:
                out = np.where(ids == 0, self.mask_token, out)
            return out.astype(str)
        ids = self._ids(inputs)
        if self.output_mode == "int":
            return ids
        if self.output_mode == "tf_idf":
            return _encode(ids, "count", self._depth()) * self._idf_table()
        return _encode(ids, self.output_mode, self._depth())

    def _ids(self, inputs) -> np.ndarray:
        """Indices (int64), -1 for a masked value outside "int" mode."""
        text = _as_text(inputs)
        index = {t: i + self._start() for i, t in enumerate(self._vocabulary)}
        oov = -1 if self.num_oov_indices == 0 else self._oov_start()
        masked = 0 if self.output_mode == "int" else -1
        if not text.size:
            return np.zeros(text.shape, np.int64)
        ids = np.vectorize(
            lambda t: masked if t == self.mask_token else index.get(t, -2),
            otypes=[np.int64])(text)
        unknown = ids == -2
        if self.num_oov_indices > 1 and unknown.any():
            # Keras spreads unknown strings over the OOV indices by hash
            words = text[unknown]
            h = (siphash(words, self.salt) if self.salt is not None
                 else fingerprint64(words))
            ids[unknown] = (h % np.uint64(self.num_oov_indices)).astype(
                np.int64) + self._oov_start()
        else:
            ids[unknown] = oov
        return ids

    def call(self, inputs):
        return self._lookup(inputs)

    def get_config(self):
        return {**super().get_config(), **self._lookup_config(),
                "encoding": self.encoding, "salt": self.salt}


class TextVectorization(HostLayer, Layer):
    """Turns strings into sequences of token ids (or multi_hot / count
    vectors): standardize, split, optional n-grams, then a vocabulary
    lookup (learned by `adapt` or given). It runs in NumPy: on texts, or
    at the front of a model (a host layer).

    Args:
        max_tokens: the largest vocabulary size (the "" mask and "[UNK]"
            included in "int" mode).
        standardize: "lower_and_strip_punctuation" (default), "lower",
            "strip_punctuation", None, or a callable on a NumPy array of
            str.
        split: "whitespace" (default), "character", None, or a callable
            from one str to a list of str.
        ngrams: None, an int n (1- to n-grams) or a tuple of widths.
        output_mode: "int" (default), "multi_hot", "count" or "tf_idf".
        output_sequence_length: in "int" mode, pad with 0 / truncate to
            this length (None: the longest text of the call).
        pad_to_max_tokens: make encodings `max_tokens` wide.
        vocabulary: a list of tokens, instead of adapting.

    Example:
        >>> tv = TextVectorization(output_sequence_length=4)
        >>> tv.adapt(np.array(["the cat", "the dog"]))
        >>> tv(np.array(["The cat!"]))
        array([[2, 4, 0, 0]])
    """

    def __init__(self, max_tokens=None,
                 standardize="lower_and_strip_punctuation",
                 split="whitespace", ngrams=None, output_mode="int",
                 output_sequence_length=None, pad_to_max_tokens=False,
                 vocabulary=None, idf_weights=None, sparse=False,
                 ragged=False, encoding="utf-8", name=None,
                 vocabulary_size=None, idf_pending=False, **kwargs):
        super().__init__(name=name, **kwargs)
        if output_mode == "tf-idf":
            output_mode = "tf_idf"
        if output_mode not in ("int", "multi_hot", "count", "tf_idf"):
            raise ValueError(
                f'Layer "{self.name}" (TextVectorization): unknown value for '
                "`output_mode`. Expected one of ['int', 'multi_hot', "
                f"'count', 'tf_idf']. Received: output_mode={output_mode!r}")
        if standardize not in (None, "lower", "strip_punctuation",
                               "lower_and_strip_punctuation") and \
                not callable(standardize):
            raise ValueError(
                f'Layer "{self.name}" (TextVectorization): unknown value for '
                "`standardize`. Expected None, 'lower', 'strip_punctuation', "
                "'lower_and_strip_punctuation' or a callable. Received: "
                f"standardize={standardize!r}")
        if split not in (None, "whitespace", "character") and \
                not callable(split):
            raise ValueError(
                f'Layer "{self.name}" (TextVectorization): unknown value for '
                "`split`. Expected None, 'whitespace', 'character' or a "
                f"callable. Received: split={split!r}")
        if sparse or ragged:
            raise ValueError(
                f'Layer "{self.name}" (TextVectorization): sparse / ragged '
                "outputs are not supported. Received: "
                f"sparse={sparse}, ragged={ragged}")
        if output_sequence_length is not None and output_mode != "int":
            raise ValueError(
                "`output_sequence_length` must not be set if `output_mode` "
                f"is not 'int'. Received output_sequence_length="
                f"{output_sequence_length}.")
        self.max_tokens = max_tokens
        self.standardize = standardize
        self.split = split
        self.ngrams = ngrams
        self._widths = (tuple(range(1, ngrams + 1)) if isinstance(ngrams, int)
                        else tuple(ngrams) if ngrams is not None else None)
        self.output_mode = output_mode
        self.output_sequence_length = output_sequence_length
        self.pad_to_max_tokens = bool(pad_to_max_tokens)
        self.encoding = encoding
        self._lookup = StringLookup(
            max_tokens=max_tokens, mask_token="", oov_token="[UNK]",
            vocabulary=vocabulary, idf_weights=idf_weights,
            output_mode=output_mode, pad_to_max_tokens=pad_to_max_tokens,
            name=f"{self.name}_lookup", idf_pending=idf_pending)
        self.built = True

    def _tokens(self, inputs) -> list:
        """Each text's list of tokens."""
        text = _as_text(inputs)
        if self.split is not None and text.ndim > 1:
            if text.shape[-1] != 1:
                raise ValueError(
                    "When using `TextVectorization` to tokenize strings, the "
                    "input rank must be 1 or the last shape dimension must "
                    f"be 1. Received: inputs.shape={text.shape}")
            text = text[..., 0]
        std = self.standardize
        if callable(std):
            text = np.asarray(std(text.astype(str)), dtype=object)
        else:
            if std in ("lower", "lower_and_strip_punctuation"):
                text = np.vectorize(lambda t: t.translate(_ASCII_LOWER),
                                    otypes=[object])(text)
            if std in ("strip_punctuation", "lower_and_strip_punctuation"):
                text = np.vectorize(lambda t: _PUNCTUATION.sub("", t),
                                    otypes=[object])(text)
        out = []
        for t in text.reshape(-1):
            if self.split == "whitespace":
                toks = t.split()
            elif self.split == "character":
                toks = list(t)
            elif callable(self.split):
                toks = [str(v) for v in self.split(t)]
            else:
                toks = [t]
            if self._widths is not None:
                toks = [" ".join(toks[i:i + n]) for n in self._widths
                        for i in range(len(toks) - n + 1)]
            out.append(toks)
        return out

    def adapt(self, data, batch_size=None, steps=None):
        """Learn the vocabulary from texts (an array, or a list of
        arrays)."""
        batches = _text_batches(data)
        counts = Counter()
        docs = Counter()
        n_docs = 0
        for i, batch in enumerate(batches):
            if steps is not None and i >= steps:
                break
            for toks in self._tokens(batch):
                counts.update(toks)
                # each text is a document (tf_idf)
                docs.update(set(toks))
                n_docs += 1
        self._lookup._adapt_counts(counts, docs, n_docs)

    def set_vocabulary(self, vocabulary, idf_weights=None):
        """Set the vocabulary (special tokens left out) and, in "tf_idf"
        mode, its idf weights."""
        self._lookup.set_vocabulary(vocabulary, idf_weights)

    def get_vocabulary(self, include_special_tokens=True) -> list:
        return self._lookup.get_vocabulary(include_special_tokens)

    def vocabulary_size(self) -> int:
        return self._lookup.vocabulary_size()

    host_work = "splits strings into tokens and looks them up"

    def host_call(self, inputs):
        if self._lookup._vocabulary is None:
            raise ValueError(
                f'Layer "{self.name}" (TextVectorization) has no vocabulary: '
                "pass `vocabulary` or call `adapt(texts)` first.")
        return self.call(inputs)

    def host_output_spec(self, inputs):
        """(batch, output_sequence_length) int64 ids in "int" mode (None:
        the longest text of each batch), else (batch, depth) float32."""
        shape = tuple(inputs.shape)
        batch = shape[0] if shape else None
        if self.output_mode == "int":
            return spec((batch, self.output_sequence_length), "int64")
        return spec((batch, self._lookup._spec_depth()), "float32")

    def call(self, inputs):
        # every token of the batch looked up at once (the lookup builds
        # its vocabulary index per call), then cut back into texts
        tokens = self._tokens(inputs)
        flat = np.empty(sum(len(t) for t in tokens), dtype=object)
        flat[:] = [tok for toks in tokens for tok in toks]
        ids = self._lookup._ids(flat)
        cuts = np.cumsum([len(t) for t in tokens])[:-1]
        rows = np.split(ids, cuts) if tokens else []
        if self.output_mode == "int":
            length = self.output_sequence_length
            if length is None:
                length = max([len(r) for r in rows] + [0])
            out = np.zeros((len(rows), length), np.int64)
            for i, r in enumerate(rows):
                r = r[:length]
                out[i, :len(r)] = r
            return out
        depth = self._lookup._depth()
        mode = "count" if self.output_mode == "tf_idf" else self.output_mode
        out = np.zeros((len(rows), depth), "float32")
        for i, r in enumerate(rows):
            if r.size:
                out[i] = _encode(r.reshape(1, -1), mode, depth)[0]
        if self.output_mode == "tf_idf":
            out *= self._lookup._idf_table()
        return out

    def h5_extras(self) -> dict:
        return self._lookup.h5_extras()

    def load_h5_extras(self, entries: dict) -> None:
        self._lookup.load_h5_extras(entries)

    def get_config(self):
        if callable(self.standardize) or callable(self.split):
            raise TypeError(
                f'Layer "{self.name}" (TextVectorization) has a callable '
                "`standardize` or `split`, which a config cannot hold.")
        return {
            **super().get_config(), "max_tokens": self.max_tokens,
            "standardize": self.standardize, "split": self.split,
            "ngrams": self.ngrams, "output_mode": self.output_mode,
            "output_sequence_length": self.output_sequence_length,
            "pad_to_max_tokens": self.pad_to_max_tokens,
            "sparse": False, "ragged": False,
            "idf_weights": self._lookup._lookup_config()["idf_weights"],
            "vocabulary": self._lookup._vocabulary,
            "encoding": self.encoding,
        }


__all__ = ["StringLookup", "TextVectorization"]
