"""Resolving Keras identifiers: strings, config dicts, classes, instances.

`resolve(kind, identifier, table, base)` is how every `get()` (losses,
metrics, optimizers, activations, initializers, regularizers, constraints)
turns what a user wrote into an object, and the one place that words the
"unknown identifier" error, listing the valid names. `serialize_object` /
`deserialize_object` are the shared bodies of those modules' Keras 3
`serialize` / `deserialize` functions.
"""

from __future__ import annotations


def registered(name: str):
    """The object a custom name stands for (the active custom_object_scope,
    then register_keras_serializable's registry; "package>name" also by
    its short name), or None."""
    from .saving.object_registration import get_registered_object

    found = get_registered_object(name)
    if found is None and ">" in name:
        found = get_registered_object(name.split(">", 1)[1])
    return found


def serialize_function(fn) -> dict:
    """A plain function as Keras 3 writes it: its registered name
    ("package>name") or its __name__, under class_name "function"."""
    from .saving.object_registration import get_registered_name

    return {"module": "builtins", "class_name": "function",
            "config": get_registered_name(fn), "registered_name": "function"}


def resolve(kind: str, identifier, table: dict, base=None, instantiate=True):
    if identifier is None:
        return None
    if isinstance(identifier, dict) and identifier.get(
            "class_name") == "function":
        identifier = identifier.get("config")  # a function, by name
    if isinstance(identifier, dict) and "class_name" in identifier:
        name = identifier["class_name"]
        cls = table.get(name)
        if cls is None:
            cls = registered(identifier.get("registered_name") or name) \
                or registered(name)
        if cls is None:
            raise unknown(kind, name, table)
        config = identifier.get("config", {})
        if hasattr(cls, "from_config"):
            return cls.from_config(config)
        return cls(**config)
    if isinstance(identifier, str):
        obj = table.get(identifier)
        if obj is None:
            obj = table.get(identifier.lower())
        if obj is None:
            obj = registered(identifier)
        if obj is None:
            raise unknown(kind, identifier, table)
        if isinstance(obj, type) and instantiate:
            return obj()
        return obj
    if isinstance(identifier, type) and base is not None and issubclass(
        identifier, base
    ):
        return identifier() if instantiate else identifier
    if callable(identifier) or (base is not None and isinstance(identifier, base)):
        return identifier
    raise ValueError(
        f"Could not interpret {kind} identifier: {identifier!r}. Expected a "
        f"string, a {kind} instance, a config dict or a callable."
    )


def unknown(kind: str, name, table: dict) -> ValueError:
    valid = sorted(k for k in table if k == k.lower())
    return ValueError(
        f"Could not interpret {kind} identifier: '{name}'. Unknown {kind}: "
        f"'{name}'. Valid {kind} identifiers are: "
        f"{', '.join(repr(v) for v in valid)}."
    )



def serialize_object(obj, module: str, base=None):
    """Keras 3's config dict of obj ({"module", "class_name", "config",
    "registered_name"}); with `base`, a plain function (not a `base`
    instance) serializes as its name."""
    if base is not None and not isinstance(obj, base):
        return serialize_function(obj) if callable(obj) else obj
    return {"module": module, "class_name": type(obj).__name__,
            "config": obj.get_config(), "registered_name": None}


def deserialize_object(config, custom_objects, get, table=None):
    """The object a `serialize_object` dict (or a name) describes: a class
    of custom_objects first, then `table` by class name, else `get`."""
    if isinstance(config, dict):
        name = config.get("class_name")
        cls = (custom_objects or {}).get(name)
        if cls is None and table is not None:
            cls = table.get(name)
        if cls is not None:
            return cls.from_config(config.get("config", {}))
    return get(config)
