"""Accuracy metrics and their per-sample functions (Keras 3's)."""

from __future__ import annotations

from .. import ops
from ..losses.loss import squeeze_or_expand_to_same_rank
from .reduction_metrics import _NamedWrapper


def binary_accuracy(y_true, y_pred, threshold=0.5):
    """1.0 where (y_pred > threshold) equals y_true, per element (as Keras
    3's: not averaged over the last axis, so a sample weight of y's shape
    weighs each element; BinaryAccuracy's mean then averages them)."""
    y_pred = ops.convert_to_tensor(y_pred)
    y_true = ops.convert_to_tensor(y_true)
    y_true, y_pred = squeeze_or_expand_to_same_rank(y_true, y_pred)
    pred = ops.cast(ops.greater(y_pred, threshold), ops.dtype(y_true))
    return ops.cast(ops.equal(y_true, pred), "float32")


def categorical_accuracy(y_true, y_pred):
    """1.0 where argmax(y_true) == argmax(y_pred) (one-hot targets)."""
    y_true = ops.convert_to_tensor(y_true)
    y_pred = ops.convert_to_tensor(y_pred)
    return ops.cast(ops.equal(ops.argmax(y_true, axis=-1),
                              ops.argmax(y_pred, axis=-1)), "float32")


def sparse_categorical_accuracy(y_true, y_pred):
    """1.0 where the integer label equals argmax(y_pred)."""
    y_true = ops.convert_to_tensor(y_true)
    y_pred = ops.convert_to_tensor(y_pred)
    if len(ops.shape(y_true)) == len(ops.shape(y_pred)) and \
            ops.shape(y_true)[-1] == 1:
        y_true = ops.squeeze(y_true, -1)
    labels = ops.cast(y_true, ops.dtype(y_pred))
    pred = ops.cast(ops.argmax(y_pred, axis=-1), ops.dtype(y_pred))
    return ops.cast(ops.equal(labels, pred), "float32")


def accuracy(y_true, y_pred):
    """Exact equality of y_true and y_pred (Keras's `Accuracy`)."""
    y_pred = ops.convert_to_tensor(y_pred)
    y_true = ops.cast(y_true, ops.dtype(y_pred))
    y_true, y_pred = squeeze_or_expand_to_same_rank(y_true, y_pred)
    return ops.cast(ops.equal(y_true, y_pred), "float32")


def top_k_categorical_accuracy(y_true, y_pred, k=5):
    """1.0 where the one-hot target class is among the k largest
    predictions."""
    y_pred = ops.convert_to_tensor(y_pred)
    labels = ops.argmax(ops.convert_to_tensor(y_true), axis=-1)
    return ops.cast(ops.in_top_k(labels, y_pred, k), "float32")


def sparse_top_k_categorical_accuracy(y_true, y_pred, k=5,
                                      from_sorted_ids=False):
    """1.0 where the integer label is among the k largest predictions (or,
    with from_sorted_ids, among the first k ids of y_pred)."""
    y_pred = ops.convert_to_tensor(y_pred)
    y_true = ops.convert_to_tensor(y_true)
    if len(ops.shape(y_true)) == len(ops.shape(y_pred)) and \
            ops.shape(y_true)[-1] == 1:
        y_true = ops.squeeze(y_true, -1)
    if from_sorted_ids:
        ids = ops.getitem(y_pred, (Ellipsis, slice(0, k)))
        hit = ops.equal(ops.expand_dims(ops.cast(y_true, ops.dtype(y_pred)),
                                        -1), ids)
        return ops.cast(ops.any_(hit, axis=-1), "float32")
    return ops.cast(ops.in_top_k(ops.cast(y_true, "int32"), y_pred, k),
                    "float32")


class Accuracy(_NamedWrapper):
    """How often predictions equal labels exactly."""

    def __init__(self, name="accuracy", dtype=None):
        super().__init__(accuracy, name=name, dtype=dtype)
        self._direction = "up"


class BinaryAccuracy(_NamedWrapper):
    """How often (y_pred > threshold) matches binary labels."""

    _keys = ("threshold",)

    def __init__(self, name="binary_accuracy", dtype=None, threshold=0.5):
        super().__init__(binary_accuracy, name=name, dtype=dtype,
                         threshold=threshold)
        self.threshold = threshold
        self._direction = "up"


class CategoricalAccuracy(_NamedWrapper):
    """How often argmax(y_pred) matches one-hot labels."""

    def __init__(self, name="categorical_accuracy", dtype=None):
        super().__init__(categorical_accuracy, name=name, dtype=dtype)
        self._direction = "up"


class SparseCategoricalAccuracy(_NamedWrapper):
    """How often argmax(y_pred) matches integer labels."""

    def __init__(self, name="sparse_categorical_accuracy", dtype=None):
        super().__init__(sparse_categorical_accuracy, name=name, dtype=dtype)
        self._direction = "up"


class TopKCategoricalAccuracy(_NamedWrapper):
    """How often the one-hot target is in the top `k` predictions."""

    _keys = ("k",)

    def __init__(self, k=5, name="top_k_categorical_accuracy", dtype=None):
        super().__init__(top_k_categorical_accuracy, name=name, dtype=dtype,
                         k=k)
        self.k = k
        self._direction = "up"


class SparseTopKCategoricalAccuracy(_NamedWrapper):
    """How often the integer target is in the top `k` predictions."""

    _keys = ("k", "from_sorted_ids")

    def __init__(self, k=5, name="sparse_top_k_categorical_accuracy",
                 dtype=None, from_sorted_ids=False):
        super().__init__(sparse_top_k_categorical_accuracy, name=name,
                         dtype=dtype, k=k, from_sorted_ids=from_sorted_ids)
        self.k = k
        self.from_sorted_ids = from_sorted_ids
        self._direction = "up"
