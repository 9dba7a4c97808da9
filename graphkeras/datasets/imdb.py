"""IMDB movie review sentiment (keras.datasets.imdb): reviews as lists of
word indices (by frequency rank), labels 0 / 1; Keras's file
~/.keras/datasets/imdb.npz (ragged arrays, read without running pickle
code) and imdb_word_index.json.
"""

from __future__ import annotations

import json
import warnings

import numpy as np

from ._files import (
    ORIGIN,
    encode_sequences,
    get_file,
    load_npz,
    object_array,
    offset_sequences,
    remove_long_seq,
)

_HASH = "69664113be75683a8fe16e3ed0ab59fda8886cb3cd7ada244f7d9544e4676b9f"


def load_data(path="imdb.npz", num_words=None, skip_top=0, maxlen=None,
              seed=113, start_char=1, oov_char=2, index_from=3, **kwargs):
    """((x_train, y_train), (x_test, y_test)) with Keras's arguments.

    Args:
        num_words: keep the `num_words - 1` most frequent words; the others
            become `oov_char`.
        skip_top: also map the `skip_top` most frequent words to oov_char.
        maxlen: drop sequences of `maxlen` words or more.
        seed: the shuffle's seed (RandomState, as Keras).
        start_char: prepended to every sequence (None: nothing).
        oov_char: the index of dropped words (None: remove them).
        index_from: added to every word index.
    """
    if kwargs:  # Keras accepts and ignores them (old names such as nb_words)
        warnings.warn(
            f"imdb.load_data ignores the keyword arguments {sorted(kwargs)}, "
            "as Keras 3 does.", stacklevel=2)
    path = get_file(fname=path, origin=ORIGIN + "imdb.npz", file_hash=_HASH)
    f = load_npz(path)
    x_train, y_train = f["x_train"], f["y_train"]
    x_test, y_test = f["x_test"], f["y_test"]
    rng = np.random.RandomState(seed)
    order = np.arange(len(x_train))
    rng.shuffle(order)
    x_train, y_train = x_train[order], y_train[order]
    order = np.arange(len(x_test))
    rng.shuffle(order)
    x_test, y_test = x_test[order], y_test[order]
    x_train = offset_sequences(x_train, start_char, index_from)
    x_test = offset_sequences(x_test, start_char, index_from)
    if maxlen:
        x_train, y_train = remove_long_seq(maxlen, x_train, y_train)
        x_test, y_test = remove_long_seq(maxlen, x_test, y_test)
        if not x_train or not x_test:
            raise ValueError(
                f"After filtering for sequences shorter than maxlen={maxlen}, "
                "no sequence was kept. Increase maxlen."
            )
    xs = encode_sequences(x_train + x_test, num_words, skip_top, oov_char)
    labels = np.concatenate([y_train, y_test])
    cut = len(x_train)
    return ((object_array(xs[:cut]), labels[:cut]),
            (object_array(xs[cut:]), labels[cut:]))


def get_word_index(path="imdb_word_index.json"):
    """{word: index} of the IMDB vocabulary."""
    path = get_file(fname=path, origin=ORIGIN + "imdb_word_index.json",
                    file_hash="bfafd718b763782e994055a2d397834f")
    with open(path) as f:
        return json.load(f)
