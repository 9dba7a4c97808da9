"""Sequence utilities: pad_sequences and timeseries_dataset_from_array, with
Keras 3's arguments, defaults, results and error messages.

timeseries_dataset_from_array returns a PyDataset (graphkeras has no
tf.data): indexable batches of windows that `fit`, `evaluate` and
`predict` take directly, in Keras's order. With shuffle=True the window
start positions are shuffled once with `np.random.RandomState(seed)` (as
Keras does); Keras's extra within-buffer reshuffle of tf.data is not
reproduced, so shuffled batches hold the same windows in another order.
"""

from __future__ import annotations

import math

import numpy as np

from .py_dataset import PyDataset


def pad_sequences(sequences, maxlen=None, dtype="int32", padding="pre",
                  truncating="pre", value=0.0):
    """Pads sequences to the same length.

    Args:
        sequences: a list of sequences (each a list or array; items may be
            arrays of a common shape).
        maxlen: the length to pad / truncate to (default: the longest).
        dtype: dtype of the result ("int32").
        padding: "pre" or "post": pad before or after each sequence.
        truncating: "pre" or "post": drop values from the beginning or the
            end of sequences longer than maxlen.
        value: the padding value (0.0).

    Returns:
        A NumPy array of shape (len(sequences), maxlen, ...).

    Example:
        >>> pad_sequences([[1], [2, 3], [4, 5, 6]])
        array([[0, 0, 1],
               [0, 2, 3],
               [4, 5, 6]], dtype=int32)
    """
    if not hasattr(sequences, "__len__"):
        raise ValueError("`sequences` must be iterable.")
    num_samples = len(sequences)
    lengths = []
    sample_shape = ()
    found = False
    for x in sequences:
        try:
            lengths.append(len(x))
        except TypeError:
            raise ValueError(
                "`sequences` must be a list of iterables. Found non-iterable: "
                f"{x!s}") from None
        if not found and len(x):
            sample_shape = np.asarray(x).shape[1:]
            found = True
    if maxlen is None:
        if not lengths:
            raise ValueError(
                "pad_sequences needs `maxlen` when `sequences` is empty.")
        maxlen = int(np.max(lengths))
    is_str = np.issubdtype(dtype, np.str_) or np.issubdtype(dtype, np.bytes_)
    if isinstance(value, str) and dtype is not object and not is_str:
        raise ValueError(
            f"`dtype` {dtype} is not compatible with `value`'s type: "
            f"{type(value)}\nYou should set `dtype=object` for variable length "
            "strings.")
    if truncating not in ("pre", "post"):
        raise ValueError(f'Truncating type "{truncating}" not understood')
    if padding not in ("pre", "post"):
        raise ValueError(f'Padding type "{padding}" not understood')
    out = np.full((num_samples, maxlen) + tuple(sample_shape), value,
                  dtype=dtype)
    for idx, s in enumerate(sequences):
        if not len(s) or maxlen == 0:
            continue
        trunc = s[-maxlen:] if truncating == "pre" else s[:maxlen]
        trunc = np.asarray(trunc, dtype=dtype)
        if trunc.shape[1:] != tuple(sample_shape):
            raise ValueError(
                f"Shape of sample {trunc.shape[1:]} of sequence at position "
                f"{idx} is different from expected shape {sample_shape}")
        if padding == "post":
            out[idx, :len(trunc)] = trunc
        else:
            out[idx, -len(trunc):] = trunc
    return out


class TimeseriesDataset(PyDataset):
    """Batches of sliding windows over an array (what
    timeseries_dataset_from_array returns). `len()` is the number of
    batches; item i is `inputs` or `(inputs, targets)`; `windows` is the
    number of windows.

    It stands for Keras's tf.data dataset, whose batch order `fit` keeps
    (`shuffle` does not apply to datasets): `fit_shuffles` is False.
    """

    fit_shuffles = False

    def __init__(self, data, targets, starts, sequence_length, sampling_rate,
                 batch_size):
        super().__init__()
        self.data = data
        self.targets = targets
        self.starts = starts
        self.offsets = np.arange(sequence_length) * sampling_rate
        self.batch_size = batch_size

    @property
    def windows(self) -> int:
        return len(self.starts)

    def __len__(self):
        if self.batch_size is None:
            return self.windows
        return math.ceil(self.windows / self.batch_size)

    def __getitem__(self, index):
        if not -len(self) <= index < len(self):
            raise IndexError(
                f"batch index {index} is out of range for a dataset of "
                f"{len(self)} batches")
        index %= len(self)
        if self.batch_size is None:
            starts = self.starts[index:index + 1]
        else:
            starts = self.starts[index * self.batch_size:
                                 (index + 1) * self.batch_size]
        x = self.data[starts[:, None] + self.offsets[None, :]]
        if self.batch_size is None:
            x = x[0]
        if self.targets is None:
            return x
        y = self.targets[starts]
        return x, (y[0] if self.batch_size is None else y)

    def __iter__(self):
        for i in range(len(self)):
            yield self[i]

    def take(self, count):
        """The first `count` batches (every batch for a negative count), as
        tf.data's `Dataset.take` (keras-io's `for batch in ds.take(1):`)."""
        n = len(self)
        count = int(count)
        return _Taken(self, n if count < 0 else min(count, n))


class _Taken(PyDataset):
    """The first `count` batches of a dataset."""

    fit_shuffles = False

    def __init__(self, dataset, count):
        super().__init__()
        self.dataset = dataset
        self.count = count

    def __len__(self):
        return self.count

    def __getitem__(self, index):
        if not -self.count <= index < self.count:
            raise IndexError(
                f"batch index {index} is out of range for a dataset of "
                f"{self.count} batches")
        return self.dataset[index % self.count]

    def __iter__(self):
        for i in range(self.count):
            yield self[i]

    def take(self, count):
        count = int(count)
        return _Taken(self, self.count if count < 0 else min(count,
                                                              self.count))


def timeseries_dataset_from_array(data, targets, sequence_length,
                                  sequence_stride=1, sampling_rate=1,
                                  batch_size=128, shuffle=False, seed=None,
                                  start_index=None, end_index=None,
                                  format="tf"):
    """Creates a dataset of sliding windows over a timeseries.

    Window i starts at data[start_index + i * sequence_stride] and takes
    `sequence_length` steps `sampling_rate` apart; its target (if targets
    are given) is targets[i * sequence_stride] (relative to start_index).

    Args:
        data: array of shape (timesteps, ...).
        targets: array aligned with `data` (or None).
        sequence_length: the number of steps in a window.
        sequence_stride: the distance between the starts of windows (1).
        sampling_rate: the distance between the steps of a window (1).
        batch_size: windows per batch (128; None for unbatched windows).
        shuffle: shuffle the windows (once, with `seed`).
        seed: the shuffling seed.
        start_index / end_index: the part of `data` to draw windows from
            (end excluded).

    Returns:
        A `TimeseriesDataset` (a PyDataset of (inputs, targets) batches).

    Example:
        >>> ds = timeseries_dataset_from_array(np.arange(10), None, 3,
        ...                                    batch_size=2)
        >>> ds[0].tolist()
        [[0, 1, 2], [1, 2, 3]]
    """
    data = np.asarray(data)
    n = len(data)
    if start_index:
        if start_index < 0:
            raise ValueError(
                "`start_index` must be 0 or greater. Received: "
                f"start_index={start_index}")
        if start_index >= n:
            raise ValueError(
                "`start_index` must be lower than the length of the data. "
                f"Received: start_index={start_index}, for data of length {n}")
    if end_index:
        if start_index and end_index <= start_index:
            raise ValueError(
                "`end_index` must be higher than `start_index`. Received: "
                f"start_index={start_index}, and end_index={end_index} ")
        if end_index >= n:
            raise ValueError(
                "`end_index` must be lower than the length of the data. "
                f"Received: end_index={end_index}, for data of length {n}")
        if end_index <= 0:
            raise ValueError(
                f"`end_index` must be higher than 0. Received: end_index="
                f"{end_index}")
    if sampling_rate <= 0:
        raise ValueError(
            "`sampling_rate` must be higher than 0. Received: sampling_rate="
            f"{sampling_rate}")
    if sampling_rate >= n:
        raise ValueError(
            "`sampling_rate` must be lower than the length of the data. "
            f"Received: sampling_rate={sampling_rate}, for data of length {n}")
    if sequence_stride <= 0:
        raise ValueError(
            "`sequence_stride` must be higher than 0. Received: "
            f"sequence_stride={sequence_stride}")
    if sequence_stride >= n:
        raise ValueError(
            "`sequence_stride` must be lower than the length of the data. "
            f"Received: sequence_stride={sequence_stride}, for data of length "
            f"{n}")
    if format not in ("tf", "grain"):
        raise ValueError(
            f'`format` should be either "tf" or "grain". Received: format='
            f"{format}")
    start = start_index or 0
    end = n if end_index is None else end_index
    num = end - start - (sequence_length - 1) * sampling_rate
    if targets is not None:
        targets = np.asarray(targets)
        num = min(num, len(targets))
    starts = np.arange(0, max(num, 0), sequence_stride, dtype=np.int64)
    if shuffle:
        if seed is None:
            seed = np.random.randint(1e6)
        np.random.RandomState(seed).shuffle(starts)
    window = data[start:end]
    tgt = None if targets is None else targets[start:end]
    return TimeseriesDataset(window, tgt, starts, sequence_length,
                             sampling_rate, batch_size)
