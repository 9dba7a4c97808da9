"""Data adapters: NumPy arrays, lists / dicts of arrays, Python generators
and PyDataset, turned into batches of flat lists of arrays.

Invariants:
- A batch is (xs, ys, sws): lists of C-contiguous NumPy arrays, ys and sws
  None when absent. float64 data becomes float32 once, up front (as Keras
  converts to floatx); integer data keeps its dtype.
- `validation_split` takes the *last* fraction of the arrays, before any
  shuffling (Keras's rule).
- Shuffling draws from `random.global_rng()`, so `set_random_seed` fixes
  the batch order.
"""

from __future__ import annotations

import math
import types

import numpy as np

from . import tree
from .random import global_rng
from .utils.py_dataset import PyDataset


def _to_array(x, what):
    if x is None:
        return None
    if hasattr(x, "numpy") and not isinstance(x, np.ndarray):
        x = x.numpy()
    try:
        a = np.asarray(x)
    except (TypeError, ValueError):
        raise ValueError(f"Could not convert {what} to a NumPy array: "
                         f"{type(x).__name__}.") from None
    if a.dtype == object:
        raise ValueError(
            f"Failed to convert {what} to a NumPy array: it has dtype object "
            f"(ragged or mixed data). Received {what} of type "
            f"{type(x).__name__}."
        )
    if a.dtype == np.float64 or a.dtype == np.float16:
        a = a.astype(np.float32)
    elif a.dtype == np.uint8 or a.dtype == np.int8 or a.dtype == np.int16:
        a = a.astype(np.int32)
    elif a.dtype == np.uint16 or a.dtype == np.uint32:
        a = a.astype(np.int64)
    if a.ndim == 0:
        raise ValueError(f"{what} must have a batch dimension, received a "
                         "scalar.")
    return np.ascontiguousarray(a)


def flatten_data(x, what):
    """(template, flat list of arrays) for x (array, list, tuple or dict)."""
    if x is None:
        return None, None
    if isinstance(x, dict):
        return ({k: None for k in x}, [_to_array(v, f"{what}[{k!r}]")
                                       for k, v in x.items()])
    if isinstance(x, (list, tuple)) and x and not all(
        isinstance(v, (int, float, bool, np.number)) for v in x
    ):
        return [None] * len(x), [_to_array(v, f"{what}[{i}]")
                                 for i, v in enumerate(x)]
    return None, [_to_array(x, what)]


def unpack_x_y_sample_weight(data):
    if isinstance(data, list):
        data = tuple(data)
    if not isinstance(data, tuple):
        return data, None, None
    if len(data) == 1:
        return data[0], None, None
    if len(data) == 2:
        return data[0], data[1], None
    if len(data) == 3:
        return data
    raise ValueError(
        "Data is expected to be in format `x`, `(x,)`, `(x, y)`, or "
        f"`(x, y, sample_weight)`, found a tuple of length {len(data)}."
    )


def train_validation_split(arrays, validation_split):
    """Split arrays (nested) at floor(n * (1 - validation_split))."""
    flat = [a for a in tree.flatten(arrays) if a is not None]
    if not all(isinstance(a, np.ndarray) or hasattr(a, "__len__")
               for a in flat):
        raise ValueError(
            "`validation_split` is only supported for NumPy arrays and lists "
            "of arrays, not for generators or datasets. Pass "
            "validation_data instead."
        )
    n = len(flat[0])
    split = math.floor(n * (1.0 - validation_split))
    if split == 0 or split == n:
        raise ValueError(
            f"Training data contains {n} samples, which is not sufficient to "
            f"split it into a validation and training set as specified by "
            f"`validation_split={validation_split}`. Either provide more data, "
            "or a different value for the `validation_split` argument."
        )

    def cut(a, part):
        if a is None:
            return None
        a = np.asarray(a)
        return a[:split] if part == 0 else a[split:]

    train = tree.map_structure(lambda a: cut(a, 0), arrays)
    val = tree.map_structure(lambda a: cut(a, 1), arrays)
    return train, val


def _class_weights(ys, sws, class_weight):
    if class_weight is None or ys is None:
        return sws
    if len(ys) != 1:
        raise ValueError(
            "`class_weight` is only supported for Models with a single output."
        )
    y = ys[0]
    if y.ndim >= 2 and y.shape[-1] > 1:
        labels = np.argmax(y, axis=-1)
    else:
        labels = np.rint(y.reshape(len(y), -1)[:, 0]).astype(np.int64)
    table = np.ones(int(max(max(class_weight), labels.max(initial=0))) + 1,
                    np.float32)
    for k, v in class_weight.items():
        table[int(k)] = v
    w = table[labels].astype(np.float32)
    if sws is None:
        return [w]
    return [np.asarray(s, np.float32) * w for s in sws]


class DataAdapter:
    """Yields batches (xs, ys, sws) epoch after epoch."""

    num_batches: int | None = None
    x_template = None
    y_template = None

    def epoch(self):
        raise NotImplementedError

    def on_epoch_end(self):
        pass


class ArrayAdapter(DataAdapter):
    def __init__(self, x, y=None, sample_weight=None, batch_size=None,
                 shuffle=False, class_weight=None, steps=None):
        self.x_template, self.xs = flatten_data(x, "x")
        self.y_template, self.ys = flatten_data(y, "y")
        if isinstance(sample_weight, dict):
            sample_weight = list(sample_weight.values())
        _, self.sws = flatten_data(sample_weight, "sample_weight")
        if self.sws is not None:
            self.sws = [s.astype(np.float32) for s in self.sws]
        self.class_weight = class_weight
        sizes = {"x": [len(a) for a in self.xs]}
        if self.ys is not None:
            sizes["y"] = [len(a) for a in self.ys]
        if self.sws is not None:
            sizes["sample_weight"] = [len(a) for a in self.sws]
        all_sizes = {n for v in sizes.values() for n in v}
        if len(all_sizes) > 1:
            msg = "Data cardinality is ambiguous. Make sure all arrays " \
                  "contain the same number of samples."
            for k, v in sizes.items():
                msg += f"\n'{k}' sizes: {', '.join(str(n) for n in v)}"
            raise ValueError(msg)
        self.n = all_sizes.pop()
        self.batch_size = int(batch_size or 32)
        self.shuffle = bool(shuffle)
        self._per_epoch = max(1, math.ceil(self.n / self.batch_size))
        self.num_batches = steps if steps is not None else self._per_epoch
        self._steps = steps
        self._stream = None

    def _indices(self):
        if self.shuffle:
            return global_rng().permutation(self.n)
        return None

    def _batches_one_pass(self):
        idx = self._indices()
        for b in range(self._per_epoch):
            lo, hi = b * self.batch_size, min((b + 1) * self.batch_size, self.n)
            if idx is None:
                take = (lambda a, lo=lo, hi=hi: a[lo:hi])
            else:
                sel = idx[lo:hi]
                take = (lambda a, sel=sel: a[sel])
            xs = [take(a) for a in self.xs]
            ys = None if self.ys is None else [take(a) for a in self.ys]
            sws = None if self.sws is None else [take(a) for a in self.sws]
            yield xs, ys, _class_weights(ys, sws, self.class_weight)

    def _forever(self):
        while True:
            yield from self._batches_one_pass()

    def epoch(self):
        if self._steps is None:
            yield from self._batches_one_pass()
            return
        if self._stream is None:
            self._stream = self._forever()
        for _ in range(self._steps):
            yield next(self._stream)


def _flat_batch(item, class_weight):
    x, y, sw = unpack_x_y_sample_weight(item)
    xt, xs = flatten_data(x, "x")
    yt, ys = flatten_data(y, "y")
    if isinstance(sw, dict):
        sw = list(sw.values())
    _, sws = flatten_data(sw, "sample_weight")
    if sws is not None:
        sws = [s.astype(np.float32) for s in sws]
    return (xt, yt), (xs, ys, _class_weights(ys, sws, class_weight))


class GeneratorAdapter(DataAdapter):
    """A Python generator / iterator yielding x, (x, y) or (x, y, sw)."""

    def __init__(self, gen, steps=None, class_weight=None):
        self._it = iter(gen)
        self.num_batches = steps
        self._steps = steps
        self.class_weight = class_weight
        self._peeked = None
        self._exhausted = False
        try:
            first = next(self._it)
        except StopIteration:
            raise ValueError("The generator yielded no data.") from None
        (self.x_template, self.y_template), batch = _flat_batch(
            first, class_weight)
        self._peeked = batch

    def peek(self):
        return self._peeked

    def epoch(self):
        count = 0
        while self._steps is None or count < self._steps:
            if self._peeked is not None:
                batch, self._peeked = self._peeked, None
            else:
                if self._exhausted:
                    return
                try:
                    item = next(self._it)
                except StopIteration:
                    self._exhausted = True
                    return
                _, batch = _flat_batch(item, self.class_weight)
            count += 1
            yield batch


class PyDatasetAdapter(DataAdapter):
    def __init__(self, ds, steps=None, shuffle=False, class_weight=None):
        self.ds = ds
        self.shuffle = shuffle
        self.class_weight = class_weight
        n = len(ds)
        self.num_batches = n if steps is None else min(steps, n)
        (self.x_template, self.y_template), self._first = _flat_batch(
            ds[0], class_weight)

    def peek(self):
        return self._first

    def epoch(self):
        order = np.arange(len(self.ds))
        if self.shuffle:
            order = global_rng().permutation(order)
        self.ds.on_epoch_begin()
        for i in order[: self.num_batches]:
            _, batch = _flat_batch(self.ds[int(i)], self.class_weight)
            yield batch

    def on_epoch_end(self):
        self.ds.on_epoch_end()


def make_adapter(x, y=None, sample_weight=None, batch_size=None, shuffle=False,
                 class_weight=None, steps=None):
    if isinstance(x, PyDataset):
        _no_extra(y, sample_weight, batch_size, "a PyDataset")
        return PyDatasetAdapter(x, steps=steps, shuffle=shuffle,
                                class_weight=class_weight)
    if isinstance(x, (types.GeneratorType,)) or (
        hasattr(x, "__next__") and not isinstance(x, np.ndarray)
    ):
        _no_extra(y, sample_weight, batch_size, "a generator")
        return GeneratorAdapter(x, steps=steps, class_weight=class_weight)
    if x is None:
        raise ValueError("Unexpected value for `x`: None. Pass input data.")
    return ArrayAdapter(x, y, sample_weight, batch_size=batch_size,
                        shuffle=shuffle, class_weight=class_weight, steps=steps)


def _no_extra(y, sample_weight, batch_size, what):
    if y is not None:
        raise ValueError(
            f"When providing `x` as {what}, `y` should not be passed: the "
            "targets come from the data itself."
        )
    if sample_weight is not None:
        raise ValueError(
            f"When providing `x` as {what}, `sample_weight` should not be "
            "passed: include it in the data as (x, y, sample_weight)."
        )
