"""split_dataset and the (x, y, sample_weight) packing helpers.

split_dataset follows Keras 3's rules (sizes as fractions or counts, the
left split from the head, the right split from the tail, shuffling with
Python's `random` seeded by `seed`, so the same seed picks the same
samples as Keras), on NumPy data: an array, or a tuple / list / dict of
arrays of one length. The splits keep the input's structure.
"""

from __future__ import annotations

import random

import numpy as np

from ..data import unpack_x_y_sample_weight  # noqa: F401


def pack_x_y_sample_weight(x, y=None, sample_weight=None):
    """Pack data the way `fit` reads it: `x` alone (wrapped in a 1-tuple
    when x is itself a list or tuple), `(x, y)` or `(x, y, sample_weight)`.
    """
    if y is None:
        return (x,) if isinstance(x, (list, tuple)) else x
    if sample_weight is None:
        return (x, y)
    return (x, y, sample_weight)


def _length(dataset) -> int:
    if isinstance(dataset, dict):
        arrays = list(dataset.values())
    elif isinstance(dataset, (list, tuple)):
        arrays = list(dataset)
    else:
        arrays = [dataset]
    if not arrays:
        raise ValueError("split_dataset received an empty structure.")
    lengths = set()
    for a in arrays:
        if not hasattr(a, "__len__"):
            raise TypeError(
                "The `dataset` argument must be a NumPy array or a list / "
                "tuple / dict of arrays of the same length. Received an "
                f"element of type {type(a).__name__}."
            )
        lengths.add(len(a))
    if len(lengths) != 1:
        raise ValueError(
            "The arrays of `dataset` must have the same length. Received "
            f"lengths {sorted(lengths)}."
        )
    return lengths.pop()


def _check_size(value, side: str, total: int):
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(
            f"Invalid `{side}_size` Type. Expected: int or float or None, "
            f"Received: type({side}_size)={type(value)}."
        )
    if isinstance(value, int) and not 0 < value < total or isinstance(
            value, float) and not 0 < value < 1:
        raise ValueError(
            f"`{side}_size` should be either a positive integer smaller than "
            f"{total}, or a float within the range `[0, 1]`. Received: "
            f"{side}_size={value}"
        )
    return round(value * total) if isinstance(value, float) else value


def _take(dataset, idx):
    if isinstance(dataset, dict):
        return {k: np.asarray(v)[idx] for k, v in dataset.items()}
    if isinstance(dataset, (list, tuple)):
        return type(dataset)(np.asarray(v)[idx] for v in dataset)
    return np.asarray(dataset)[idx]


def split_dataset(dataset, left_size=None, right_size=None, shuffle=False,
                  seed=None):
    """Split NumPy data in two (for example train / validation).

    Args:
        dataset: an array, or a tuple / list / dict of arrays of one length.
        left_size: a fraction in (0, 1) or a number of samples for the left
            split; None: what the right split leaves.
        right_size: the same for the right split (taken from the end).
        shuffle: shuffle the samples before splitting.
        seed: the seed of the shuffle (Python's `random`, as Keras).

    Returns:
        `(left, right)`, each in the structure of `dataset`.

    Example:
        >>> x = np.arange(10); y = np.arange(10) * 2
        >>> (xl, yl), (xr, yr) = split_dataset((x, y), left_size=0.8)
        >>> len(xl), len(xr)
        (8, 2)
    """
    if left_size is None and right_size is None:
        raise ValueError(
            "At least one of the `left_size` or `right_size` must be "
            "specified. Received: left_size=None and right_size=None"
        )
    total = _length(dataset)
    if left_size == 0 and right_size == 0:
        raise ValueError(
            "Both `left_size` and `right_size` are zero. At least one of the "
            "split sizes must be non-zero."
        )
    left = _check_size(left_size, "left", total)
    right = _check_size(right_size, "right", total)
    if isinstance(left_size, float) and isinstance(right_size, float) and (
            left_size + right_size > 1):
        raise ValueError(
            "The sum of `left_size` and `right_size` is greater than 1. It "
            "must be less than or equal to 1."
        )
    if left is None:
        left = total - right
    elif right is None:
        right = total - left
    if left + right > total:
        raise ValueError(
            f"The sum of `left_size` and `right_size` should be smaller than "
            f"the {total}. Received: left_size + right_size = {left + right} "
            f"and total_length = {total}"
        )
    for size, side in ((left, "left"), (right, "right")):
        if size == 0:
            raise ValueError(
                f"With `dataset` of length={total}, `left_size`={left_size} "
                f"and `right_size`={right_size}, the {side} split would be "
                "empty. Adjust the sizes."
            )
    order = list(range(total))
    if shuffle:
        if seed is None:
            seed = random.randint(0, int(1e6))
        # NOTE: Random(seed).shuffle permutes a list exactly as Keras's
        # random.seed(seed); random.shuffle(samples) does
        random.Random(seed).shuffle(order)
    order = np.asarray(order, dtype=np.int64)
    return _take(dataset, order[:left]), _take(dataset, order[total - right:])
