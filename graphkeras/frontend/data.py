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
- Data that a model cannot take is refused here, naming the argument
  (`x`, `y[1]`, `sample_weight`...): strings, objects, complex numbers,
  scalars, 0 samples (except for predict_on_batch), arguments of the
  wrong kind (batch_size 0, epochs -1, validation_split 1.5, a class_weight
  that is not {class index: weight}). Native code gets only the arrays
  that pass, converted and C-contiguous.
- `StandardizedAdapter` matches the data to a built model: dict inputs by
  the model's input names (a missing key is an error, extra keys are
  dropped with a warning), dict targets and sample weights by its output
  names (an unknown or missing key is an error).
- With `steps_per_epoch`, fit goes through the arrays as Keras 3 does: an
  epoch continues the pass where the previous one stopped and ends early
  at the end of the pass (with a warning), the next epoch starting a new
  pass; evaluate and predict stop at the end of the data, as Keras does.
"""

from __future__ import annotations

import itertools
import math
import numbers
import types
import warnings

import numpy as np

from . import tree
from .random import global_rng
from .utils.py_dataset import PyDataset

_KIND_NAMES = {"U": "strings", "S": "bytes", "c": "complex numbers",
               "M": "datetimes", "m": "timedeltas", "V": "raw records"}


def _to_array(x, what, strings=False):
    """x as a contiguous array a model takes; with `strings` (the inputs
    of a model with host layers, models/host_stage.py) strings pass as
    they are (the host stage checks what reaches compiled code)."""
    if x is None:
        return None
    if hasattr(x, "numpy") and not isinstance(x, np.ndarray):
        x = x.numpy()
    try:
        a = np.asarray(x)
    except (TypeError, ValueError):
        raise ValueError(f"Could not convert {what} to a NumPy array: "
                         f"{type(x).__name__}.") from None
    if strings and a.dtype.kind in "USO":
        if a.ndim == 0:
            raise ValueError(f"{what} must have a batch dimension, received "
                             f"a scalar: {what}={a!r} of shape ().")
        return np.ascontiguousarray(a)
    if a.dtype == object:
        raise ValueError(
            f"Failed to convert {what} to a NumPy array: it has dtype object "
            f"(ragged or mixed data). Received {what} of type "
            f"{type(x).__name__}."
        )
    if a.dtype.kind in _KIND_NAMES:
        raise ValueError(
            f"Failed to convert {what} to a tensor: it holds "
            f"{_KIND_NAMES[a.dtype.kind]} (dtype {a.dtype}); a model takes "
            "numbers (floats, integers or booleans). Received "
            f"{what} of shape {a.shape} and dtype {a.dtype}."
        )
    if not a.dtype.isnative:  # big-endian data (files, network): native
        a = a.astype(a.dtype.newbyteorder("="))
    if a.dtype == np.float64 or a.dtype == np.float16:
        a = a.astype(np.float32)
    elif a.dtype == np.uint8 or a.dtype == np.int8 or a.dtype == np.int16:
        a = a.astype(np.int32)
    elif a.dtype == np.uint16 or a.dtype == np.uint32:
        a = a.astype(np.int64)
    elif a.dtype == np.uint64:
        if a.size and a.max() > np.iinfo(np.int64).max:
            raise ValueError(
                f"{what} holds unsigned integers larger than int64 can hold "
                f"(max {a.max()}); received dtype uint64.")
        a = a.astype(np.int64)
    if a.ndim == 0:
        raise ValueError(f"{what} must have a batch dimension, received a "
                         f"scalar: {what}={a!r} of shape ().")
    return np.ascontiguousarray(a)


def flatten_data(x, what, strings=False):
    """(template, flat list of arrays) for x (array, list, tuple or dict);
    `strings`: string arrays pass (see _to_array)."""
    if x is None:
        return None, None
    if isinstance(x, dict):
        return ({k: None for k in x}, [_to_array(v, f"{what}[{k!r}]",
                                                 strings)
                                       for k, v in x.items()])
    if isinstance(x, (list, tuple)) and x and not all(
        isinstance(v, (int, float, bool, np.number, str, bytes)) for v in x
    ):
        return [None] * len(x), [_to_array(v, f"{what}[{i}]", strings)
                                 for i, v in enumerate(x)]
    return None, [_to_array(x, what, strings)]


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


def _is_int(v) -> bool:
    return isinstance(v, (int, np.integer)) and not isinstance(v, bool)


def check_count(name: str, value, minimum: int = 1, allow_none=True):
    """`value` as an int >= minimum (or None); a ValueError naming the
    argument otherwise (Keras's wording: "Received: name=value")."""
    if value is None and allow_none:
        return None
    if not _is_int(value) or value < minimum:
        kind = "a positive integer" if minimum == 1 else (
            f"an integer >= {minimum}")
        shown = (f"an array of shape {value.shape}" if isinstance(
            value, np.ndarray) else repr(value))
        raise ValueError(
            f"Expected `{name}` to be {kind}"
            f"{' or None' if allow_none else ''}. Received: {name}={shown}"
            f"{'' if _is_int(value) else f' (of type {type(value).__name__})'}"
        )
    return int(value)


def check_validation_split(value) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or \
            not 0.0 <= float(value) < 1.0:
        raise ValueError(
            "`validation_split` must be a float in [0, 1): the fraction of "
            "the data held out for validation. Received: "
            f"validation_split={value!r}"
        )
    return float(value)


def check_validation_freq(value):
    if _is_int(value):
        return check_count("validation_freq", value, allow_none=False)
    if isinstance(value, (list, tuple, set, range)) and all(
            _is_int(v) and v >= 1 for v in value):
        return value
    raise ValueError(
        "`validation_freq` must be a positive integer (validate every n "
        "epochs) or a collection of epoch numbers (1-based). Received: "
        f"validation_freq={value!r}"
    )


def check_validation_data(data, needs_targets: bool):
    """(x, y, sample_weight) of fit's `validation_data`."""
    if isinstance(data, PyDataset) or _is_iterator(data):
        return data, None, None
    if not isinstance(data, (tuple, list)) or (
            needs_targets and len(data) < 2):
        got = (f"an array of shape {np.shape(data)}" if isinstance(
            data, np.ndarray) else f"{type(data).__name__}" + (
            f" of length {len(data)}" if isinstance(data, (list, tuple))
            else ""))
        raise ValueError(
            "`validation_data` should be a tuple `(x_val, y_val)` or "
            "`(x_val, y_val, val_sample_weights)`, or a generator / "
            f"PyDataset yielding such tuples. Received: {got}."
        )
    return unpack_x_y_sample_weight(tuple(data))


_CLASS_WEIGHT_HELP = ("Expected `class_weight` to be a dict with keys from 0 "
                      "to one less than the number of classes (each class "
                      "index mapped to its weight)")


def check_class_weight(class_weight, n_classes=None):
    """{int class: float weight}; unknown classes (when n_classes is known)
    and keys or weights of the wrong kind raise ValueError."""
    if class_weight is None:
        return None
    if not isinstance(class_weight, dict):
        raise ValueError(  # noqa: TRY004  (Keras raises ValueError)
            f"{_CLASS_WEIGHT_HELP}, found {class_weight!r} (of type "
            f"{type(class_weight).__name__})."
        )
    out = {}
    for k, v in class_weight.items():
        if not isinstance(k, numbers.Real) or isinstance(k, bool) or \
                float(k) != int(k) or int(k) < 0:
            raise ValueError(
                f"{_CLASS_WEIGHT_HELP}, found the key {k!r} in "
                f"class_weight={class_weight!r}."
            )
        if isinstance(v, bool) or not isinstance(v, numbers.Real) or \
                not math.isfinite(v):
            raise ValueError(
                f"{_CLASS_WEIGHT_HELP}; the weight of class {k!r} must be a "
                f"finite number, found {v!r}."
            )
        out[int(k)] = float(v)
    if n_classes is not None and out and max(out) >= n_classes:
        raise ValueError(
            f"{_CLASS_WEIGHT_HELP}: the model's output has {n_classes} "
            f"classes (0 to {n_classes - 1}), found the key {max(out)} in "
            f"class_weight={class_weight!r}."
        )
    return out


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
        labels = np.argmax(y, axis=-1).reshape(len(y), -1)[:, 0]
    else:
        labels = np.rint(y.reshape(len(y), -1)[:, 0]).astype(np.int64)
    # a label no key names (or a negative one) weighs 1, as in Keras
    table = np.ones(max(class_weight, default=0) + 1, np.float32)
    for k, v in class_weight.items():
        table[k] = v
    known = (labels >= 0) & (labels < len(table))
    w = np.where(known, table[np.where(known, labels, 0)],
                 np.float32(1)).astype(np.float32)
    if sws is None:
        return [w]
    return [np.asarray(s, np.float32) * w.reshape((-1,) + (1,) * (
        np.ndim(s) - 1)) for s in sws]


def _check_one_hot_class_weight(ys, class_weight):
    """A one-hot target tells the number of classes: keys beyond it are
    mistakes."""
    if class_weight and ys is not None and len(ys) == 1 and \
            ys[0].ndim >= 2 and ys[0].shape[-1] > 1:
        check_class_weight(class_weight, ys[0].shape[-1])


class DataAdapter:
    """Yields batches (xs, ys, sws) epoch after epoch."""

    num_batches: int | None = None
    x_template = None
    y_template = None
    sw_template = None

    def epoch(self):
        raise NotImplementedError

    def on_epoch_end(self):
        pass


class ArrayAdapter(DataAdapter):
    """Arrays (or lists / dicts of arrays) cut into batches.

    `repeat`: with `steps`, epochs go on through the data across calls of
    epoch() (fit's steps_per_epoch, see the module docstring) instead of
    each taking the first `steps` batches of a fresh pass (evaluate,
    predict). `allow_empty`: 0 samples give one empty batch instead of an
    error (predict_on_batch)."""

    def __init__(self, x, y=None, sample_weight=None, batch_size=None,
                 shuffle=False, class_weight=None, steps=None, repeat=True,
                 allow_empty=False, strings=False):
        self.x_template, self.xs = flatten_data(x, "x", strings)
        self.y_template, self.ys = flatten_data(y, "y")
        self.sw_template, self.sws = flatten_data(sample_weight,
                                                  "sample_weight")
        if self.sws is not None:
            self.sws = [s.astype(np.float32) for s in self.sws]
        self.class_weight = check_class_weight(class_weight)
        _check_one_hot_class_weight(self.ys, self.class_weight)
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
        if self.n == 0 and not allow_empty:
            shapes = ", ".join(str(a.shape) for a in self.xs)
            raise ValueError(
                "The data has 0 samples (x of shape "
                f"{shapes}): there is nothing to train on, evaluate or "
                "predict. Pass at least one sample."
            )
        self.batch_size = check_count("batch_size", batch_size) or 32
        self.shuffle = bool(shuffle)
        self._per_epoch = max(1, math.ceil(self.n / self.batch_size))
        steps = check_count("steps", steps)
        if steps is not None and not repeat:
            steps = min(steps, self._per_epoch)
        self.num_batches = steps if steps is not None else self._per_epoch
        self._steps = steps
        self._repeat = repeat
        self._stream = None

    def _indices(self):
        if self.shuffle:
            return global_rng().permutation(self.n)
        return None

    # (rank, ranks): yield only this rank's rows of every batch
    # (frontend/distributed_trainer.py)
    shard = None

    def _batches_one_pass(self):
        idx = self._indices()
        for b in range(self._per_epoch):
            lo, hi = b * self.batch_size, min((b + 1) * self.batch_size, self.n)
            if self.shard is not None:
                r, size = self.shard
                lo, hi = lo + (hi - lo) * r // size, lo + (hi - lo) * (r + 1) // size
            if idx is None:
                take = (lambda a, lo=lo, hi=hi: a[lo:hi])
            else:
                sel = idx[lo:hi]
                take = (lambda a, sel=sel: a[sel])
            xs = [take(a) for a in self.xs]
            ys = None if self.ys is None else [take(a) for a in self.ys]
            sws = None if self.sws is None else [take(a) for a in self.sws]
            yield xs, ys, _class_weights(ys, sws, self.class_weight)

    def epoch(self):
        if self._steps is None:
            yield from self._batches_one_pass()
            return
        if not self._repeat:
            yield from itertools.islice(self._batches_one_pass(), self._steps)
            return
        # fit's steps_per_epoch, as Keras 3's epoch iterator: an epoch goes
        # on from where the last one stopped in the pass through the data,
        # and ends early (with Keras's warning) where the pass ends; the
        # next epoch starts a new pass
        if self._stream is None:
            self._stream, self._seen = self._batches_one_pass(), 0
        for _ in range(self._steps):
            if self._seen >= self._per_epoch:
                warnings.warn(
                    "Your input ran out of data; interrupting training. Make "
                    "sure that your dataset or generator can generate at "
                    "least `steps_per_epoch * epochs` batches.", stacklevel=3)
                break
            self._seen += 1
            yield next(self._stream)
        if self._seen >= self._per_epoch:
            self._stream = None


def _is_iterator(x) -> bool:
    return isinstance(x, types.GeneratorType) or (
        hasattr(x, "__next__") and not isinstance(x, np.ndarray))


def _flat_batch(item, class_weight, strings=False):
    x, y, sw = unpack_x_y_sample_weight(item)
    if x is None:
        raise ValueError(
            "A batch of the data yielded no `x` (None). A generator or "
            "PyDataset must yield `x`, `(x, y)` or `(x, y, sample_weight)`.")
    xt, xs = flatten_data(x, "x", strings)
    yt, ys = flatten_data(y, "y")
    swt, sws = flatten_data(sw, "sample_weight")
    if sws is not None:
        sws = [s.astype(np.float32) for s in sws]
    sizes = {len(a) for a in xs + (ys or []) + (sws or [])}
    if len(sizes) > 1:
        raise ValueError(
            "Data cardinality is ambiguous: a batch of the data holds arrays "
            f"of different lengths: x {[len(a) for a in xs]}, y "
            f"{[len(a) for a in ys or []]}, sample_weight "
            f"{[len(a) for a in sws or []]}.")
    _check_one_hot_class_weight(ys, class_weight)
    return (xt, yt, swt), (xs, ys, _class_weights(ys, sws, class_weight))


def _align(templates, batch, first):
    """A later batch of a generator in the order of the first batch's dict
    keys (flattening follows each dict's own order); other key sets are an
    error, not a silent swap of arrays."""
    out = list(batch)
    for i, (what, t, ref) in enumerate(zip(("x", "y", "sample_weight"),
                                           templates, first)):
        if not isinstance(t, dict) or not isinstance(ref, dict) or \
                list(t) == list(ref):
            continue
        if set(t) != set(ref):
            raise ValueError(
                f"A batch of the data has {what} keys {sorted(t)}, but the "
                f"first batch had {sorted(ref)}: every batch must hold the "
                "same keys.")
        keys = list(t)
        out[i] = [batch[i][keys.index(k)] for k in ref]
    return tuple(out)


class GeneratorAdapter(DataAdapter):
    """A Python generator / iterator yielding x, (x, y) or (x, y, sw)."""

    def __init__(self, gen, steps=None, class_weight=None, strings=False):
        self._it = iter(gen)
        self.strings = strings
        self.num_batches = steps = check_count("steps", steps)
        self._steps = steps
        self.class_weight = class_weight = check_class_weight(class_weight)
        self._peeked = None
        self._exhausted = False
        try:
            first = next(self._it)
        except StopIteration:
            raise ValueError("The generator yielded no data.") from None
        self._templates, batch = _flat_batch(first, class_weight, strings)
        self.x_template, self.y_template, self.sw_template = self._templates
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
                templates, batch = _flat_batch(item, self.class_weight,
                                               self.strings)
                batch = _align(templates, batch, self._templates)
            count += 1
            yield batch


class PyDatasetAdapter(DataAdapter):
    def __init__(self, ds, steps=None, shuffle=False, class_weight=None,
                 strings=False):
        self.ds = ds
        self.strings = strings
        # `fit_shuffles = False`: a stand-in for a tf.data dataset
        # (timeseries_dataset_from_array), whose order Keras's fit keeps
        self.shuffle = shuffle and getattr(ds, "fit_shuffles", True)
        self.class_weight = class_weight = check_class_weight(class_weight)
        n = len(ds)
        steps = check_count("steps", steps)
        self.num_batches = n if steps is None else min(steps, n)
        if n == 0:
            raise ValueError(
                f"The PyDataset {type(ds).__name__} is empty (len 0): there "
                "is nothing to train on, evaluate or predict.")
        self._templates, self._first = _flat_batch(ds[0], class_weight,
                                                   strings)
        self.x_template, self.y_template, self.sw_template = self._templates

    def peek(self):
        return self._first

    def epoch(self):
        order = np.arange(len(self.ds))
        if self.shuffle:
            order = global_rng().permutation(order)
        self.ds.on_epoch_begin()
        for i in order[: self.num_batches]:
            templates, batch = _flat_batch(self.ds[int(i)], self.class_weight,
                                           self.strings)
            yield _align(templates, batch, self._templates)

    def on_epoch_end(self):
        self.ds.on_epoch_end()


def check_indices(x: np.ndarray, size: int, layer: str) -> None:
    """Indices into a table of `size` rows must lie in [0, size)."""
    if x.dtype.kind == "f":  # the layer casts to int32 (toward zero)
        with np.errstate(invalid="ignore"):
            t = np.trunc(x)
            bad = ~np.isfinite(x) | (t < 0) | (t >= size)
    else:
        bad = (x < 0) | (x >= size)
    if bad.any():
        pos = tuple(int(i) for i in np.argwhere(bad)[0])
        raise ValueError(
            f'Layer "{layer}" (Embedding) received the index {x[pos]} at '
            f"position {list(pos)} of its input, which is not in [0, {size}) "
            f"(input_dim={size}, the vocabulary size). Received indices "
            f"from {x.min()} to {x.max()}."
        )


def make_adapter(x, y=None, sample_weight=None, batch_size=None, shuffle=False,
                 class_weight=None, steps=None, repeat=True, allow_empty=False,
                 strings=False):
    """The adapter for fit / evaluate / predict data; `strings`: x may hold
    strings (a model with host layers, models/host_stage.py)."""
    if isinstance(x, PyDataset):
        _no_extra(y, sample_weight, batch_size, "a PyDataset")
        return PyDatasetAdapter(x, steps=steps, shuffle=shuffle,
                                class_weight=class_weight, strings=strings)
    if _is_iterator(x):
        _no_extra(y, sample_weight, batch_size, "a generator")
        return GeneratorAdapter(x, steps=steps, class_weight=class_weight,
                                strings=strings)
    if x is None:
        raise ValueError("Unexpected value for `x`: None. Pass input data.")
    return ArrayAdapter(x, y, sample_weight, batch_size=batch_size,
                        shuffle=shuffle, class_weight=class_weight, steps=steps,
                        repeat=repeat, allow_empty=allow_empty,
                        strings=strings)


def adjust_input_rank(x, ref_shape):
    """x with its rank fitted to an input of shape `ref_shape`, as Keras 3's
    functional models do: one axis short and the input's last dimension is
    1 -> a trailing axis of 1 is added (1-D data for an Input((1,))); one
    axis over and x's last dimension is 1 -> it is squeezed. Anything else
    is returned unchanged (the input spec check names the mismatch)."""
    if ref_shape is None or not hasattr(x, "ndim"):
        return x
    rank = len(ref_shape)
    if x.ndim == rank - 1 and rank >= 2 and ref_shape[-1] == 1:
        return x[..., None]
    if x.ndim == rank + 1 and x.ndim >= 2 and x.shape[-1] == 1:
        return x[..., 0]
    return x


class StandardizedAdapter(DataAdapter):
    """`adapter`'s batches matched to a built model.

    input_keys: the names a dict `x` must have (in the model's order);
    input_shapes: the model's input shapes (batches' ranks are fitted to
    them: adjust_input_rank);
    output_names: the keys of dict targets / sample weights (in the model's
    order); n_classes: the classes of a single output (class_weight keys
    beyond it are an error); index_limits: (input index, size, layer name)
    of inputs that index an Embedding directly: every batch's values must
    lie in [0, size) (TensorFlow and PyTorch raise; the gather op would
    clamp). None skips a check (a subclassed model before its first
    call)."""

    def __init__(self, adapter, input_keys=None, output_names=None,
                 n_classes=None, index_limits=(), input_shapes=None):
        self.adapter = adapter
        self._limits = list(index_limits)
        self._input_shapes = input_shapes
        self.num_batches = adapter.num_batches
        self.x_template = adapter.x_template
        self.y_template = adapter.y_template
        self.sw_template = adapter.sw_template
        if n_classes is not None and getattr(adapter, "class_weight", None):
            check_class_weight(adapter.class_weight, n_classes)
        self._x_take = self._y_take = self._sw_take = None
        xt = adapter.x_template
        if isinstance(xt, dict) and input_keys is not None:
            keys = list(xt)
            missing = [k for k in input_keys if k not in xt]
            if missing:
                raise ValueError(
                    f'Missing data for input "{missing[0]}". You passed a data '
                    f"dictionary with keys {keys}. Expected the following "
                    f"keys: {list(input_keys)}"
                )
            extra = [k for k in keys if k not in input_keys]
            if extra:
                warnings.warn(
                    f"Input dict contained keys {extra} which did not match "
                    f"any model input ({list(input_keys)}). They will be "
                    "ignored by the model.", stacklevel=3)
            self._x_take = [keys.index(k) for k in input_keys]
            self.x_template = {k: None for k in input_keys}
        if output_names is not None:
            self._y_take = self._dict_take(adapter.y_template, output_names,
                                           "y", required=True)
            if self._y_take is not None:
                self.y_template = {k: None for k in output_names}
            self._sw_take = self._dict_take(adapter.sw_template, output_names,
                                            "sample_weight", required=False)
            swt, n = adapter.sw_template, len(output_names)
            if isinstance(swt, list) and len(swt) not in (1, n):
                raise ValueError(
                    f"The model has {n} output(s) ({list(output_names)}), but "
                    f"`sample_weight` is a list of {len(swt)} arrays: pass one "
                    "array (used for every output) or one per output."
                )

    @staticmethod
    def _dict_take(template, output_names, what, required):
        if not isinstance(template, dict):
            return None
        keys = list(template)
        unknown = [k for k in keys if k not in output_names]
        if unknown:
            raise ValueError(
                f"In the dict argument `{what}`, key '{unknown[0]}' does not "
                "correspond to any model output. Received "
                f"{what} keys: {keys}. The model's outputs are: "
                f"{list(output_names)}"
            )
        missing = [k for k in output_names if k not in template]
        if missing and required:
            raise ValueError(
                f"Missing targets for output \"{missing[0]}\": `{what}` is a "
                f"dict with keys {keys}, the model's outputs are "
                f"{list(output_names)}. Pass one target per output."
            )
        return [keys.index(k) if k in template else None
                for k in output_names]

    def _standardize(self, batch):
        xs, ys, sws = batch
        if self._x_take is not None:
            xs = [xs[i] for i in self._x_take]
        if self._input_shapes is not None and len(xs) == len(
                self._input_shapes):
            xs = [adjust_input_rank(x, shape)
                  for x, shape in zip(xs, self._input_shapes)]
        for i, size, layer in self._limits:
            if i < len(xs):
                check_indices(xs[i], size, layer)
        if self._y_take is not None and ys is not None:
            ys = [ys[i] for i in self._y_take]
        if self._sw_take is not None and sws is not None:
            n = len(xs[0])
            sws = [sws[i] if i is not None else np.ones(n, np.float32)
                   for i in self._sw_take]
        return xs, ys, sws

    def epoch(self):
        for batch in self.adapter.epoch():
            yield self._standardize(batch)

    def on_epoch_end(self):
        self.adapter.on_epoch_end()


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
