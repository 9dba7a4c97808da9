"""`keras.layers.serialize` / `keras.layers.deserialize`: a layer to and
from its Keras 3 config dict (module, class_name, config,
registered_name), through the saving library; deserialize refuses a config
that does not describe a layer."""

from __future__ import annotations

from .layer import Layer


def serialize(layer) -> dict:
    """A layer's config in Keras 3's format (`keras.layers.serialize`).

    Example:
        >>> serialize(Dense(2))["class_name"]
        'Dense'
    """
    from ..saving.serialization_lib import serialize_keras_object

    return serialize_keras_object(layer)


def deserialize(config, custom_objects=None):
    """The layer a `serialize` config describes (`keras.layers.deserialize`).

    Example:
        >>> deserialize(serialize(Dense(2))).units
        2
    """
    from ..saving.serialization_lib import deserialize_keras_object

    if not isinstance(config, dict):
        raise TypeError(
            "keras.layers.deserialize expects a dict config as written by "
            f"keras.layers.serialize; received {type(config).__name__}: "
            f"{config!r}")
    obj = deserialize_keras_object(config, custom_objects=custom_objects)
    if not isinstance(obj, Layer):
        raise TypeError(
            "keras.layers.deserialize: the config does not describe a layer "
            f"(it made a {type(obj).__name__}). Received: {config!r}")
    return obj


__all__ = ["deserialize", "serialize"]
