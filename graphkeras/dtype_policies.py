"""keras.dtype_policies: DTypePolicy (FloatDTypePolicy, Keras's other
name for it), get, serialize and deserialize (config.py holds the
class; docs/mixed_precision.md)."""

from __future__ import annotations

from .config import DTypePolicy, dtype_policy

FloatDTypePolicy = DTypePolicy

__all__ = ["DTypePolicy", "FloatDTypePolicy", "deserialize", "get",
           "serialize"]

_CLASS_NAMES = ("DTypePolicy", "FloatDTypePolicy", "Policy")


def serialize(policy: DTypePolicy) -> dict:
    """The policy's config as Keras 3 writes it (a layer's "dtype")."""
    return {"module": "keras", "class_name": "DTypePolicy",
            "config": policy.get_config(), "registered_name": None}


def deserialize(config: dict, custom_objects=None) -> DTypePolicy:
    name = config.get("class_name") if isinstance(config, dict) else None
    if name not in _CLASS_NAMES:
        raise ValueError(
            "Could not deserialize a dtype policy: expected a config of "
            f"class_name {' / '.join(_CLASS_NAMES)}. Received: "
            f"config={config!r}")
    return DTypePolicy(**config.get("config", {}))


def get(identifier) -> DTypePolicy:
    """A DTypePolicy from a name, a policy, its config, or None (the
    global policy)."""
    if identifier is None:
        return dtype_policy()
    if isinstance(identifier, DTypePolicy):
        return identifier
    if isinstance(identifier, dict):
        return deserialize(identifier)
    if isinstance(identifier, str):
        return DTypePolicy(identifier)
    raise ValueError(
        "Cannot interpret `dtype` argument. Expected a string or an "
        f"instance of DTypePolicy. Received: dtype={identifier!r}")
