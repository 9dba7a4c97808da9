"""Lambda: a layer made from a Python function of its inputs.

`get_config` keeps the function the way Keras 3 does: a named function as
`{"class_name": "function", "module": ..., "config": name}`, a Python lambda
as its marshalled bytecode (`{"class_name": "__lambda__", ...}`).
`from_config` refuses to rebuild a lambda unless safe mode is off (see
`serialization.SafeModeScope`): that would run code read from a file. A
named function is looked up in `custom_objects`, graphkeras's own ops and
activations, or a module that is already imported, never by importing.
"""

from __future__ import annotations

import codecs
import inspect
import marshal
import sys
import types

from .. import activations, ops, tree
from ..serialization import in_safe_mode
from .layer import Layer

_LAMBDA_REFUSED = (
    "Requested the deserialization of a `Lambda` layer whose `function` is a "
    "Python lambda. This carries a potential risk of arbitrary code "
    "execution and thus it is disallowed by default. If you trust the source "
    "of the artifact, you can override this error by passing "
    "`safe_mode=False` to the loading function, or calling "
    "`graphkeras.config.enable_unsafe_deserialization()`."
)


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
        config = {"function": _serialize_function(self.function)}
        if self._output_shape is not None:
            config["output_shape"] = (
                _serialize_function(self._output_shape)
                if callable(self._output_shape) else self._output_shape)
        if self.mask is not None:
            config["mask"] = (_serialize_function(self.mask)
                              if callable(self.mask) else self.mask)
        config["arguments"] = dict(self.arguments)
        return {**super().get_config(), **config}

    @classmethod
    def from_config(cls, config, custom_objects=None, safe_mode=None):
        config = dict(config)
        setting = safe_mode if safe_mode is not None else in_safe_mode()
        safe = setting is not False
        config["function"] = _deserialize_function(
            config["function"], custom_objects, safe)
        if "output_shape" in config:
            shape = config["output_shape"]
            if isinstance(shape, dict):
                config["output_shape"] = _deserialize_function(
                    shape, custom_objects, safe)
            elif isinstance(shape, list):
                config["output_shape"] = tuple(shape)
        if isinstance(config.get("mask"), dict):
            config["mask"] = _deserialize_function(config["mask"],
                                                   custom_objects, safe)
        return cls(**config)


def _serialize_function(fn):
    if isinstance(fn, types.LambdaType) and fn.__name__ == "<lambda>":
        code = codecs.encode(marshal.dumps(fn.__code__), "base64").decode(
            "ascii")
        closure = (tuple(c.cell_contents for c in fn.__closure__)
                   if fn.__closure__ else None)
        return {"class_name": "__lambda__",
                "config": {"code": code, "defaults": fn.__defaults__,
                           "closure": closure}}
    name = getattr(fn, "__name__", None)
    if name is None:
        raise ValueError(
            "Invalid input type for serialization. Received: "
            f"{fn} of type {type(fn)}."
        )
    return {"module": getattr(fn, "__module__", None), "class_name": "function",
            "config": name, "registered_name": name}


def _deserialize_function(cfg, custom_objects, safe):
    if callable(cfg):
        return cfg
    if not isinstance(cfg, dict):
        raise TypeError(
            f"Lambda: could not deserialize the function config {cfg!r}."
        )
    if cfg.get("class_name") == "__lambda__":
        if safe:
            raise ValueError(_LAMBDA_REFUSED)
        inner = cfg["config"]
        raw = codecs.decode(inner["code"].encode("ascii"), "base64")
        code = marshal.loads(raw)  # explicitly unsafe mode only
        closure = inner.get("closure")
        if closure is not None:
            closure = tuple(types.CellType(c) for c in closure)
        defaults = inner.get("defaults")
        return types.FunctionType(code, dict(vars(ops)), code.co_name,
                                  tuple(defaults) if defaults else None,
                                  closure)
    name = cfg.get("registered_name") or cfg.get("config")
    for table in (custom_objects or {}, ):
        if name in table:
            return table[name]
    module = sys.modules.get(cfg.get("module") or "")
    if module is not None and callable(getattr(module, str(name), None)):
        return getattr(module, name)
    for source in (ops, activations):
        fn = getattr(source, str(name), None)
        if callable(fn):
            return fn
    raise ValueError(
        f"Lambda: could not find the function '{name}' (module "
        f"{cfg.get('module')!r}). Pass it in `custom_objects`."
    )


__all__ = ["Lambda"]
