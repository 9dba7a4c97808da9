"""Reading Keras's dataset files safely.

Keras's npz files with ragged sequences (imdb, reuters) and the CIFAR
batches are pickles. They are read with an unpickler that only builds NumPy
arrays (and Python's plain containers, which pickle makes without looking
up any class), so a tampered file cannot run code; numeric arrays are read
with pickling switched off.
"""

from __future__ import annotations

import io
import pickle
import zipfile

import numpy as np

from ..frontend.utils.file_utils import get_file  # noqa: F401

ORIGIN = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/"

_ALLOWED = {
    ("numpy", "ndarray"),
    ("numpy", "dtype"),
    ("numpy.core.multiarray", "_reconstruct"),
    ("numpy._core.multiarray", "_reconstruct"),
    ("numpy.core.multiarray", "scalar"),
    ("numpy._core.multiarray", "scalar"),
    # bytes pickled by Python 3 at protocol 2 (str -> bytes, runs nothing)
    ("_codecs", "encode"),
}


class SafeUnpickler(pickle.Unpickler):
    """Unpickles NumPy arrays and plain containers, refuses anything else."""

    def find_class(self, module, name):
        if (module, name) in _ALLOWED:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(
            f"Refusing to load {module}.{name} from a dataset file: only "
            "NumPy arrays are expected. The file may be corrupted or "
            "malicious; delete it to download it again."
        )


def _read_npy(buffer: io.BytesIO):
    try:
        return np.lib.format.read_array(buffer, allow_pickle=False)
    except ValueError:
        buffer.seek(0)
        major, _ = np.lib.format.read_magic(buffer)
        if major == 1:
            np.lib.format.read_array_header_1_0(buffer)
        elif major in (2, 3):
            np.lib.format.read_array_header_2_0(buffer)
        else:
            raise ValueError(
                f"Unsupported .npy format version {major} in a dataset file."
            ) from None
        return SafeUnpickler(buffer).load()


def load_npz(path) -> dict:
    """The arrays of an .npz file (object arrays through SafeUnpickler)."""
    out = {}
    with zipfile.ZipFile(path) as archive:
        for member in archive.namelist():
            if member.endswith(".npy"):
                with archive.open(member) as raw:
                    out[member[:-4]] = _read_npy(io.BytesIO(raw.read()))
    return out


def load_pickle(path, encoding="bytes"):
    with open(path, "rb") as f:
        return SafeUnpickler(f, encoding=encoding).load()


def check_test_split(test_split) -> None:
    if not 0 <= test_split < 1:
        raise ValueError(
            f"Invalid `test_split` argument: {test_split}. It must be between "
            "0 and 1 (exclusive of 1)."
        )


def shuffled_split(x, y, test_split, seed):
    """Keras's split: RandomState(seed) shuffles, the head trains."""
    order = np.arange(len(x))
    np.random.RandomState(seed).shuffle(order)
    x, y = x[order], y[order]
    cut = int(len(x) * (1 - test_split))
    return (np.array(x[:cut]), np.array(y[:cut])), (np.array(x[cut:]),
                                                     np.array(y[cut:]))


def remove_long_seq(maxlen, seq, label):
    keep = [(x, y) for x, y in zip(seq, label) if len(x) < maxlen]
    return [x for x, _ in keep], [y for _, y in keep]


def encode_sequences(xs, num_words, skip_top, oov_char):
    """Keep word indices in [skip_top, num_words); others become oov_char
    (or are dropped when oov_char is None)."""
    if not num_words:
        num_words = max(max(x) for x in xs if len(x)) if xs else 0
    if oov_char is not None:
        return [[w if skip_top <= w < num_words else oov_char for w in x]
                for x in xs]
    return [[w for w in x if skip_top <= w < num_words] for x in xs]


def offset_sequences(xs, start_char, index_from):
    if start_char is not None:
        return [[start_char] + [int(w) + index_from for w in x] for x in xs]
    if index_from:
        return [[int(w) + index_from for w in x] for x in xs]
    return [[int(w) for w in x] for x in xs]


def object_array(seqs) -> np.ndarray:
    out = np.empty(len(seqs), dtype=object)
    for i, s in enumerate(seqs):
        out[i] = s
    return out
