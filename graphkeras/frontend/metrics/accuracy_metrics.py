"""Accuracy metrics and their per-sample functions."""

from __future__ import annotations

from .. import ops
from ..losses.loss import squeeze_or_expand_to_same_rank
from .reduction_metrics import MeanMetricWrapper


def binary_accuracy(y_true, y_pred, threshold=0.5):
    y_pred = ops.convert_to_tensor(y_pred)
    y_true = ops.convert_to_tensor(y_true)
    y_true, y_pred = squeeze_or_expand_to_same_rank(y_true, y_pred)
    pred = ops.cast(ops.greater(y_pred, threshold), ops.dtype(y_true))
    return ops.mean(ops.cast(ops.equal(y_true, pred), "float32"), axis=-1)


def categorical_accuracy(y_true, y_pred):
    y_true = ops.convert_to_tensor(y_true)
    y_pred = ops.convert_to_tensor(y_pred)
    return ops.cast(ops.equal(ops.argmax(y_true, axis=-1),
                              ops.argmax(y_pred, axis=-1)), "float32")


def sparse_categorical_accuracy(y_true, y_pred):
    y_true = ops.convert_to_tensor(y_true)
    y_pred = ops.convert_to_tensor(y_pred)
    if len(ops.shape(y_true)) == len(ops.shape(y_pred)) and \
            ops.shape(y_true)[-1] == 1:
        y_true = ops.squeeze(y_true, -1)
    labels = ops.cast(y_true, "int32")
    return ops.cast(ops.equal(labels, ops.argmax(y_pred, axis=-1)), "float32")


def accuracy(y_true, y_pred):
    """Exact equality of y_true and y_pred (Keras's `Accuracy`)."""
    y_true = ops.convert_to_tensor(y_true)
    y_pred = ops.convert_to_tensor(y_pred)
    y_true, y_pred = squeeze_or_expand_to_same_rank(y_true, y_pred)
    y_pred = ops.cast(y_pred, ops.dtype(y_true))
    return ops.cast(ops.equal(y_true, y_pred), "float32")


class Accuracy(MeanMetricWrapper):
    def __init__(self, name="accuracy", dtype=None):
        super().__init__(accuracy, name=name, dtype=dtype)


class BinaryAccuracy(MeanMetricWrapper):
    def __init__(self, name="binary_accuracy", dtype=None, threshold=0.5):
        super().__init__(binary_accuracy, name=name, dtype=dtype,
                         threshold=threshold)


class CategoricalAccuracy(MeanMetricWrapper):
    def __init__(self, name="categorical_accuracy", dtype=None):
        super().__init__(categorical_accuracy, name=name, dtype=dtype)


class SparseCategoricalAccuracy(MeanMetricWrapper):
    def __init__(self, name="sparse_categorical_accuracy", dtype=None):
        super().__init__(sparse_categorical_accuracy, name=name, dtype=dtype)
