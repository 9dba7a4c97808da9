"""Metrics (graphkeras.metrics)."""

from __future__ import annotations

from ..losses.losses import mean_absolute_error, mean_squared_error
from .accuracy_metrics import (
    Accuracy,
    BinaryAccuracy,
    CategoricalAccuracy,
    SparseCategoricalAccuracy,
    accuracy,
    binary_accuracy,
    categorical_accuracy,
    sparse_categorical_accuracy,
)
from .metric import Metric
from .reduction_metrics import Mean, MeanMetricWrapper, Sum


class MeanSquaredError(MeanMetricWrapper):
    def __init__(self, name="mean_squared_error", dtype=None):
        super().__init__(mean_squared_error, name=name, dtype=dtype)


class MeanAbsoluteError(MeanMetricWrapper):
    def __init__(self, name="mean_absolute_error", dtype=None):
        super().__init__(mean_absolute_error, name=name, dtype=dtype)


mse = mean_squared_error
mae = mean_absolute_error

ALL_OBJECTS = {
    "accuracy": Accuracy, "binary_accuracy": BinaryAccuracy,
    "categorical_accuracy": CategoricalAccuracy,
    "sparse_categorical_accuracy": SparseCategoricalAccuracy,
    "mean_squared_error": MeanSquaredError, "mse": MeanSquaredError,
    "mean_absolute_error": MeanAbsoluteError, "mae": MeanAbsoluteError,
    "mean": Mean, "sum": Sum,
    "Accuracy": Accuracy, "BinaryAccuracy": BinaryAccuracy,
    "CategoricalAccuracy": CategoricalAccuracy,
    "SparseCategoricalAccuracy": SparseCategoricalAccuracy,
    "MeanSquaredError": MeanSquaredError,
    "MeanAbsoluteError": MeanAbsoluteError, "Mean": Mean, "Sum": Sum,
}


def get(identifier):
    """A metric (instance or function) from a name, config, class or
    object. Strings name classes and are instantiated."""
    from ..serialization import resolve

    return resolve("metric", identifier, ALL_OBJECTS, Metric)


__all__ = [
    "ALL_OBJECTS", "Accuracy", "BinaryAccuracy", "CategoricalAccuracy", "Mean",
    "MeanAbsoluteError", "MeanMetricWrapper", "MeanSquaredError", "Metric",
    "SparseCategoricalAccuracy", "Sum", "accuracy", "binary_accuracy",
    "categorical_accuracy", "get", "mae", "mean_absolute_error",
    "mean_squared_error", "mse", "sparse_categorical_accuracy",
]
