"""Nested structures (lists, tuples, dicts of leaves), as Keras's `tree`.

`flatten` orders dict values by key insertion; `pack_like(struct, flat)`
rebuilds `struct`'s shape from a flat list (the inverse of flatten).
"""

from __future__ import annotations


def is_nested(x) -> bool:
    return isinstance(x, (list, tuple, dict))


def flatten(x) -> list:
    if isinstance(x, dict):
        return [leaf for v in x.values() for leaf in flatten(v)]
    if isinstance(x, (list, tuple)):
        return [leaf for v in x for leaf in flatten(v)]
    return [x]


def map_structure(fn, x):
    if isinstance(x, dict):
        return {k: map_structure(fn, v) for k, v in x.items()}
    if isinstance(x, tuple) and hasattr(x, "_fields"):
        return type(x)(*(map_structure(fn, v) for v in x))
    if isinstance(x, (list, tuple)):
        return type(x)(map_structure(fn, v) for v in x)
    return fn(x)


def pack_like(struct, flat):
    it = iter(flat)
    out = map_structure(lambda _: next(it), struct)
    return out
