"""Lambda: a layer made from a Python function of its inputs.

`get_config` keeps the function the way Keras 3 does (through the saving
library's `serialize_function`): a named function as a `function` record,
a Python lambda as its marshalled bytecode (`{"class_name": "__lambda__",
...}`). `from_config` refuses to rebuild a lambda in safe mode (the
default; see `saving.serialization_lib.SafeModeScope`): that would run
code read from a file. Named functions are resolved by name, never by
importing a module the config names.
"""

from __future__ import annotations

import inspect

from .. import tree
from .layer import Layer


class Lambda(Layer):
    """Wraps `function(inputs, **arguments)` as a layer.

    Args:
        function: the function; it may accept `mask` and `training`.
        output_shape: the output shape without the batch (or a function of
            the input shape); inferred by tracing when omitted.
        mask: a mask, or a function computing it.
        arguments: extra keyword arguments for `function`.

    Example:
        >>> Lambda(lambda x: x ** 2)(np.array([[2.0]]))
        array([[4.]])
    """

    def __init__(self, function, output_shape=None, mask=None, arguments=None,
                 **kwargs):
        super().__init__(**kwargs)
        if not callable(function):
            raise TypeError(
                "Lambda expects a callable `function`, received "
                f"{function!r} (of type {type(function).__name__})."
            )
        self.arguments = dict(arguments or {})
        self.function = function
        self.supports_masking = mask is not None
        self.mask = mask
        self._output_shape = output_shape
        try:
            names = set(inspect.signature(function).parameters)
        except (TypeError, ValueError):
            names = set()
        self._fn_expects_training_arg = "training" in names
        self._fn_expects_mask_arg = "mask" in names
        self.built = True

    def call(self, inputs, mask=None, training=None):
        kwargs = dict(self.arguments)
        if self._fn_expects_mask_arg:
            kwargs["mask"] = mask
        if self._fn_expects_training_arg:
            kwargs["training"] = training
        return self.function(inputs, **kwargs)

    def compute_output_shape(self, input_shape):
        if self._output_shape is None:
            return super().compute_output_shape(input_shape)
        if callable(self._output_shape):
            return self._output_shape(input_shape)
        batch = tree.flatten(input_shape)[0] if input_shape else None
        return (batch,) + tuple(self._output_shape)

    def compute_mask(self, inputs, mask=None):
        if callable(self.mask):
            return self.mask(inputs, mask)
        return self.mask

    # --- config ----------------------------------------------------------------

    def get_config(self):
        from ..saving.serialization_lib import serialize_function

        config = {"function": serialize_function(self.function)}
        if self._output_shape is not None:
            config["output_shape"] = (
                serialize_function(self._output_shape)
                if callable(self._output_shape) else self._output_shape)
        if self.mask is not None:
            config["mask"] = (serialize_function(self.mask)
                              if callable(self.mask) else self.mask)
        config["arguments"] = dict(self.arguments)
        return {**super().get_config(), **config}

    @classmethod
    def from_config(cls, config, custom_objects=None, safe_mode=None):
        from ..saving import serialization_lib as sl

        config = dict(config)
        safe = sl._effective_safe_mode(safe_mode)
        for key in ("function", "output_shape", "mask"):
            value = config.get(key)
            if isinstance(value, str) and key == "function":
                value = {"class_name": "function", "config": value}
            if isinstance(value, dict):
                config[key] = sl.deserialize_keras_object(
                    value, custom_objects, safe_mode=safe)
        if isinstance(config.get("output_shape"), list):
            config["output_shape"] = tuple(config["output_shape"])
        if isinstance(config.get("arguments"), dict):
            config["arguments"] = sl.deserialize_keras_object(
                config["arguments"], custom_objects, safe_mode=safe)
        return cls(**config)


__all__ = ["Lambda"]
