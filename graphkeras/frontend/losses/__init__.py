"""Losses (graphkeras.losses). `get(identifier)` resolves names, configs,
classes, instances and functions; unknown names raise a ValueError listing
the valid ones."""

from __future__ import annotations

from .loss import Loss, LossFunctionWrapper, reduce_weighted_values
from .losses import (
    BinaryCrossentropy,
    CategoricalCrossentropy,
    MeanAbsoluteError,
    MeanSquaredError,
    SparseCategoricalCrossentropy,
    binary_crossentropy,
    categorical_crossentropy,
    mean_absolute_error,
    mean_squared_error,
    sparse_categorical_crossentropy,
)

mse = MSE = mean_squared_error
mae = MAE = mean_absolute_error

ALL_OBJECTS = {
    "mean_squared_error": mean_squared_error, "mse": mean_squared_error,
    "MSE": mean_squared_error,
    "mean_absolute_error": mean_absolute_error, "mae": mean_absolute_error,
    "MAE": mean_absolute_error,
    "categorical_crossentropy": categorical_crossentropy,
    "sparse_categorical_crossentropy": sparse_categorical_crossentropy,
    "binary_crossentropy": binary_crossentropy,
    "MeanSquaredError": MeanSquaredError,
    "MeanAbsoluteError": MeanAbsoluteError,
    "CategoricalCrossentropy": CategoricalCrossentropy,
    "SparseCategoricalCrossentropy": SparseCategoricalCrossentropy,
    "BinaryCrossentropy": BinaryCrossentropy,
}


def get(identifier):
    """A loss (instance or function) from a name, config, class or object."""
    from ..serialization import resolve

    return resolve("loss", identifier, ALL_OBJECTS, Loss)


def serialize(loss):
    if isinstance(loss, Loss):
        return {"class_name": type(loss).__name__, "config": loss.get_config()}
    return getattr(loss, "__name__", str(loss))


__all__ = [
    "ALL_OBJECTS", "BinaryCrossentropy", "CategoricalCrossentropy", "Loss",
    "LossFunctionWrapper", "MeanAbsoluteError", "MeanSquaredError",
    "SparseCategoricalCrossentropy", "binary_crossentropy",
    "categorical_crossentropy", "get", "mae", "mean_absolute_error",
    "mean_squared_error", "mse", "reduce_weighted_values", "serialize",
    "sparse_categorical_crossentropy",
]
