"""Registering user classes and functions so saved models can name them.

`@register_keras_serializable(package="my_pkg")` files a class or function
under "my_pkg>ClassName" in a process-wide table; serialization writes that
name as the object's `registered_name`, and loading looks it up there (then
in `custom_objects`, then in the active `custom_object_scope`s) before it
looks at graphkeras's own classes. This is how a model with a custom layer
round-trips without ever importing code named by the file.

Invariants: a registered name maps to exactly one object; registering an
object records its name on the object (`_registered_name`) so serializing
it does not need a table search.
"""

from __future__ import annotations

import inspect
import threading

GLOBAL_CUSTOM_OBJECTS: dict = {}
GLOBAL_CUSTOM_NAMES: dict = {}

_SCOPES = threading.local()


def _scope_stack() -> list:
    stack = getattr(_SCOPES, "stack", None)
    if stack is None:
        stack = _SCOPES.stack = []
    return stack


class CustomObjectScope:
    """Within `with CustomObjectScope({"MyLayer": MyLayer}):`, loading
    resolves those names as if they were passed as `custom_objects`.

    Example:
        >>> with custom_object_scope({"MyLayer": MyLayer}):
        ...     model = load_model("m.keras")
    """

    def __init__(self, custom_objects=None):
        self.custom_objects = dict(custom_objects or {})

    def __enter__(self):
        _scope_stack().append(self.custom_objects)
        return self

    def __exit__(self, *exc):
        _scope_stack().pop()
        return False


custom_object_scope = CustomObjectScope


def get_custom_objects() -> dict:
    """The live global table of registered objects (name -> object)."""
    return GLOBAL_CUSTOM_OBJECTS


def register_keras_serializable(package: str = "Custom", name=None):
    """Decorator registering a class or function for saving and loading.

    Args:
        package: the prefix of the registered name (default "Custom").
        name: the short name (default the object's `__name__`).

    Returns:
        The decorator; the object is registered as "package>name".

    Example:
        >>> @register_keras_serializable(package="demo")
        ... class Scale(keras.Layer):
        ...     ...
    """
    if not isinstance(package, str) or ">" in package:
        raise ValueError(
            "register_keras_serializable(package=...) must be a string "
            f"without '>'. Received: package={package!r}"
        )

    def decorator(obj):
        short = name if name is not None else getattr(obj, "__name__", None)
        if not short:
            raise ValueError(
                "Cannot register an object without a __name__; pass name=... "
                f"to register_keras_serializable. Received: {obj!r}"
            )
        full = f"{package}>{short}"
        if inspect.isclass(obj) and not hasattr(obj, "get_config"):
            raise ValueError(
                f"Cannot register {obj.__name__} as {full!r}: a registered "
                "class must implement get_config()."
            )
        old = GLOBAL_CUSTOM_OBJECTS.get(full)
        if old is not None and old is not obj and getattr(
            old, "__qualname__", None
        ) != getattr(obj, "__qualname__", None):
            raise ValueError(
                f"{full!r} has already been registered to {old!r}; pick "
                "another package or name."
            )
        GLOBAL_CUSTOM_OBJECTS[full] = obj
        GLOBAL_CUSTOM_NAMES[obj] = full
        return obj

    return decorator


def get_registered_name(obj) -> str:
    """The name `obj` is registered under, else its `__name__`."""
    full = GLOBAL_CUSTOM_NAMES.get(obj)
    if full is not None:
        return full
    return getattr(obj, "__name__", type(obj).__name__)


def get_registered_object(name, custom_objects=None, module_objects=None):
    """The object registered (or passed) under `name`, or None.

    Lookup order: `custom_objects`, the innermost custom_object_scope
    outward, the global registry, then `module_objects`.
    """
    if name is None:
        return None
    if custom_objects and name in custom_objects:
        return custom_objects[name]
    for scope in reversed(_scope_stack()):
        if name in scope:
            return scope[name]
    if name in GLOBAL_CUSTOM_OBJECTS:
        return GLOBAL_CUSTOM_OBJECTS[name]
    if module_objects and name in module_objects:
        return module_objects[name]
    return None


def scoped_custom_objects() -> dict:
    """Every name visible through the active custom_object_scopes."""
    out: dict = {}
    for scope in _scope_stack():
        out.update(scope)
    return out
