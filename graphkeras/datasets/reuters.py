"""Reuters newswire topics (keras.datasets.reuters): 46 topics, wires as
lists of word indices; Keras's file ~/.keras/datasets/reuters.npz."""

from __future__ import annotations

import json

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

_HASH = "d6586e694ee56d7a4e65172e12b3e987c03096cb01eab99753921ef915959916"

_LABELS = (
    "cocoa", "grain", "veg-oil", "earn", "acq", "wheat", "copper", "housing",
    "money-supply", "coffee", "sugar", "trade", "reserves", "ship", "cotton",
    "carcass", "crude", "nat-gas", "cpi", "money-fx", "interest", "gnp",
    "meal-feed", "alum", "oilseed", "gold", "tin", "strategic-metal",
    "livestock", "retail", "ipi", "iron-steel", "rubber", "heat", "jobs",
    "lei", "bop", "zinc", "orange", "pet-chem", "dlr", "gas", "silver", "wpi",
    "hog", "lead",
)


def load_data(path="reuters.npz", num_words=None, skip_top=0, maxlen=None,
              test_split=0.2, seed=113, start_char=1, oov_char=2,
              index_from=3):
    """((x_train, y_train), (x_test, y_test)); the arguments are those of
    imdb.load_data, plus `test_split` (the fraction kept for testing)."""
    path = get_file(fname=path, origin=ORIGIN + "reuters.npz",
                    file_hash=_HASH)
    f = load_npz(path)
    xs, labels = f["x"], f["y"]
    order = np.arange(len(xs))
    np.random.RandomState(seed).shuffle(order)
    xs, labels = xs[order], labels[order]
    xs = offset_sequences(xs, start_char, index_from)
    if maxlen:
        xs, labels = remove_long_seq(maxlen, xs, labels)
    xs = encode_sequences(xs, num_words, skip_top, oov_char)
    cut = int(len(xs) * (1 - test_split))
    labels = np.asarray(labels)
    return ((object_array(xs[:cut]), np.array(labels[:cut])),
            (object_array(xs[cut:]), np.array(labels[cut:])))


def get_word_index(path="reuters_word_index.json"):
    """{word: index} of the Reuters vocabulary."""
    path = get_file(path, origin=ORIGIN + "reuters_word_index.json",
                    file_hash="4d44cc38712099c9e383dc6e5f11a921")
    with open(path) as f:
        return json.load(f)


def get_label_names():
    """The 46 topic names, in label order."""
    return _LABELS
