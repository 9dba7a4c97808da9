"""Resolving Keras identifiers: strings, config dicts, classes, instances.

`resolve(kind, identifier, table, base)` is how every `get()` (losses,
metrics, optimizers, activations, initializers, regularizers, constraints)
turns what a user wrote into an object, and the one place that words the
"unknown identifier" error, listing the valid names.
"""

from __future__ import annotations


def resolve(kind: str, identifier, table: dict, base=None, instantiate=True):
    if identifier is None:
        return None
    if isinstance(identifier, dict) and "class_name" in identifier:
        name = identifier["class_name"]
        cls = table.get(name)
        if cls is None:
            raise unknown(kind, name, table)
        return cls(**identifier.get("config", {}))
    if isinstance(identifier, str):
        obj = table.get(identifier)
        if obj is None:
            obj = table.get(identifier.lower())
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

