"""Wrapper: Keras 3's base class of layers that wrap another layer
(Bidirectional, TimeDistributed, user wrappers).

Invariants:
- `self.layer` is the wrapped Layer; `build` builds it when it is not
  built; the config holds it serialized under "layer" and `from_config`
  deserializes it (custom objects passed through).
- Subclasses define `call`; subclasses whose constructor does its own
  checks may call `Layer.__init__` directly and set `self.layer`
  themselves.
"""

from __future__ import annotations

from .layer import Layer


class Wrapper(Layer):
    """Base class of layers that wrap another layer (Keras's
    `keras.layers.Wrapper`): holds `layer`, builds it, and saves it in its
    config. Subclasses define `call`.

    Args:
        layer: the wrapped layer.

    Example:
        >>> class Twice(Wrapper):
        ...     def call(self, x):
        ...         return self.layer(self.layer(x))
        >>> Twice(Dense(4)).layer.name.startswith("dense")
        True
    """

    def __init__(self, layer, **kwargs):
        if not isinstance(layer, Layer):
            raise ValueError(  # noqa: TRY004 (Keras 3 raises ValueError)
                "Layer passed to a Wrapper must be a keras Layer instance. "
                f"Received: layer={layer} (of type {type(layer).__name__})")
        super().__init__(**kwargs)
        self.layer = layer

    def build(self, input_shape=None):
        if not self.layer.built:
            self.layer.build(input_shape)
            self.layer.built = True

    def get_config(self):
        from ..saving.serialization_lib import serialize_keras_object

        config = super().get_config()
        layer = self.__dict__.get("layer")  # (Bidirectional keeps its own)
        if layer is not None:
            config["layer"] = serialize_keras_object(layer)
        return config

    @classmethod
    def from_config(cls, config, custom_objects=None):
        from ..saving.serialization_lib import deserialize_keras_object

        config = dict(config)
        config["layer"] = deserialize_keras_object(
            config["layer"], custom_objects=custom_objects)
        return cls(**config)


__all__ = ["Wrapper"]
