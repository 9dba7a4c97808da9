"""The families of serializable objects, each filled by its own package.

    register_family("layers", "keras.layers", Layer, namespace)
    family_objects("layers") -> {"Dense": Dense, ...}
    family_of(obj) -> "layers" | "initializers" | ... | None

Saving and loading (frontend/saving/serialization_lib.py) find a class or
function by name through this registry. A family registers itself when its
package is imported (frontend/layers/__init__.py, losses/__init__.py, ...),
so the saving code imports no family: it sits below them on the import
ladder, and a new family needs one `register_family` call.

Invariant: `namespace()` is read live, so objects a package gains after
registering (aliases, late imports) are found; families are searched in
ORDER (the order Keras resolves an ambiguous name in).
"""

from __future__ import annotations

import inspect
import types
from dataclasses import dataclass
from typing import Callable

# the search order of families (Keras's), and the family a module path names
ORDER = ("layers", "models", "initializers", "regularizers", "constraints",
         "schedules", "optimizers", "losses", "metrics", "activations")


@dataclass(frozen=True)
class Family:
    kind: str  # "layers", ...
    keras_module: str  # the module Keras writes for it ("keras.layers")
    base: type | None  # its base class (None: functions only, or models)
    namespace: Callable[[], dict]  # name -> object, read live


FAMILIES: dict[str, Family] = {}

# Keras classes whose Python name differs from the name Keras exports them
# under: Keras's legacy .h5 files name a layer by its class's __name__
# (keras.layers.GroupQueryAttention is class GroupedQueryAttention), so a
# family also answers to those names.
CLASS_NAME_ALIASES = {"layers": {"GroupedQueryAttention": "GroupQueryAttention"}}


def register_family(kind: str, keras_module: str, base, namespace) -> None:
    """Enter a family (called once by the package that defines it).

    `namespace` is a module's globals() (read live), a module, or a
    callable returning a dict of name -> object."""
    if isinstance(namespace, types.ModuleType):
        namespace = vars(namespace)
    if isinstance(namespace, dict):
        names = namespace
        namespace = lambda: names  # noqa: E731
    if kind not in ORDER:
        raise ValueError(f"unknown family {kind!r}; expected one of {ORDER}")
    FAMILIES[kind] = Family(kind, keras_module, base, namespace)


def family_objects(kind: str) -> dict:
    """Every public class and function of one family, by name (its
    ALL_OBJECTS table first), or {} for a family not imported."""
    fam = FAMILIES.get(kind)
    if fam is None:
        return {}
    ns = fam.namespace()
    out: dict = {}
    table = ns.get("ALL_OBJECTS")
    if isinstance(table, dict):
        out.update({k: v for k, v in table.items() if isinstance(k, str)})
    for name, obj in ns.items():
        if name.startswith("_") or isinstance(obj, types.ModuleType):
            continue
        if inspect.isclass(obj) or inspect.isfunction(obj):
            out.setdefault(name, obj)
    for alias, name in CLASS_NAME_ALIASES.get(kind, {}).items():
        if name in out:
            out.setdefault(alias, out[name])
    return out


def family_of(obj) -> str | None:
    """The family of a class or instance, by its base class, or None (a
    Model counts as a layer: "models" only names where Keras keeps them)."""
    cls = obj if inspect.isclass(obj) else type(obj)
    for kind in ORDER:
        if kind == "models":
            continue
        fam = FAMILIES.get(kind)
        if fam is not None and fam.base is not None and issubclass(
                cls, fam.base):
            return kind
    return None


def base_class(kind: str):
    """The base class of a family (Layer for "layers", Model for "models"),
    or None when the family is not imported."""
    fam = FAMILIES.get(kind)
    return None if fam is None else fam.base


def keras_module(kind: str, default: str = "keras") -> str:
    """The module Keras writes for objects of `kind`."""
    fam = FAMILIES.get(kind)
    return fam.keras_module if fam is not None else default
