"""keras.tree: utilities for nested structures of lists, tuples, namedtuples
and dicts, with Keras 3's semantics (its optree backend).

A dict's children are ordered by sorted key (an OrderedDict keeps its
insertion order; keys that do not sort keep theirs); rebuilt dicts keep the
original key order. None is a leaf. (graphkeras's own internal walks use
frontend/tree.py, which keeps insertion order; this module is the public
one.)
"""

from __future__ import annotations

import collections

MAP_TO_NONE = object()  # traverse(): a func result that maps a subtree to None


def is_nested(structure) -> bool:
    """Whether `structure` is a list, tuple (or namedtuple) or dict."""
    return isinstance(structure, (list, tuple, dict))


def _keys(d: dict) -> list:
    if isinstance(d, collections.OrderedDict):
        return list(d)
    try:
        return sorted(d)
    except TypeError:
        return list(d)


def _children(x) -> list:
    """(key, child) pairs in flatten order."""
    if isinstance(x, dict):
        return [(k, x[k]) for k in _keys(x)]
    return list(enumerate(x))


def _rebuild(x, values: dict):
    """A node like `x` with children `values` (key -> value)."""
    if isinstance(x, dict):
        out = {k: values[k] for k in x}
        if isinstance(x, collections.defaultdict):
            d = collections.defaultdict(x.default_factory)
            d.update(out)
            return d
        return type(x)(out) if type(x) is not dict else out
    items = [values[i] for i in range(len(x))]
    if isinstance(x, tuple) and hasattr(x, "_fields"):
        return type(x)(*items)
    return type(x)(items)


def flatten(structure) -> list:
    """The leaves of `structure`, in order.

    Example:
        >>> flatten({"b": 1, "a": [2, (3, None)]})
        [2, 3, None, 1]
    """
    if not is_nested(structure):
        return [structure]
    return [leaf for _, c in _children(structure) for leaf in flatten(c)]


def flatten_with_path(structure) -> list:
    """(path, leaf) pairs; a path is the tuple of keys / indices to a leaf.

    Example:
        >>> flatten_with_path({"a": [7]})
        [(('a', 0), 7)]
    """
    if not is_nested(structure):
        return [((), structure)]
    return [((k,) + p, leaf) for k, c in _children(structure)
            for p, leaf in flatten_with_path(c)]


def _kind(x) -> str:
    if isinstance(x, dict):
        return "dict"
    if isinstance(x, tuple) and hasattr(x, "_fields"):
        return type(x).__name__
    return type(x).__name__


def _check_same(a, b, where="") -> None:
    if is_nested(a) != is_nested(b):
        raise ValueError(
            f"one of {a!r} and {b!r} is nested, the other is a leaf{where}.")
    if not is_nested(a):
        return
    if _kind(a) != _kind(b) and not (
            isinstance(a, dict) and isinstance(b, dict)):
        raise ValueError(
            f"{_kind(a)} and {_kind(b)} are not the same type of node: "
            f"{a!r} and {b!r}{where}.")
    ka = [k for k, _ in _children(a)]
    kb = [k for k, _ in _children(b)]
    if isinstance(a, dict):
        if sorted(map(repr, ka)) != sorted(map(repr, kb)):
            raise ValueError(
                f"dict key mismatch; expected keys: {ka}, got keys: {kb}; "
                f"dict: {b!r}.")
    elif len(ka) != len(kb):
        raise ValueError(
            f"{_kind(a)} arity mismatch; expected: {len(ka)}, got: "
            f"{len(kb)}; {_kind(a)}: {b!r}.")
    for k, child in _children(a):
        _check_same(child, b[k], where)


def assert_same_structure(a, b, check_types=None) -> None:
    """Raise ValueError unless `a` and `b` nest alike (same node types,
    lengths and dict keys)."""
    del check_types  # Keras 3 accepts and ignores it
    try:
        _check_same(a, b)
    except ValueError as e:
        raise ValueError(
            f"Structures don't have the same nested structure. {e}") from None


def assert_same_paths(a, b) -> None:
    """Raise ValueError unless `a` and `b` have the same leaf paths."""
    pa = {p for p, _ in flatten_with_path(a)}
    pb = {p for p, _ in flatten_with_path(b)}
    if pa != pb:
        raise ValueError(
            "`a` and `b` don't have the same paths. Paths only in a: "
            f"{sorted(pa - pb, key=repr)}; only in b: "
            f"{sorted(pb - pa, key=repr)}.")


def map_structure(func, *structures, none_is_leaf=True):
    """`func` applied leaf by leaf across structures of the same shape.

    Example:
        >>> map_structure(lambda a, b: a + b, [1, (2,)], [10, (20,)])
        [11, (22,)]
    """
    if not structures:
        raise ValueError("Must provide at least one structure")
    first = structures[0]
    for other in structures[1:]:
        _check_same(first, other)
    return _map(func, structures, none_is_leaf)


def _map(func, structures, none_is_leaf=True):
    first = structures[0]
    if not is_nested(first):
        if first is None and not none_is_leaf:
            return None  # func is not called on None (Keras 3)
        return func(*structures)
    values = {k: _map(func, [s[k] for s in structures], none_is_leaf)
              for k, _ in _children(first)}
    return _rebuild(first, values)


def map_structure_up_to(shallow_structure, func, *structures):
    """Like map_structure, but only down to the leaves of
    `shallow_structure`: what lies below them goes to `func` whole."""
    def walk(shallow, subs):
        if not is_nested(shallow):
            return func(*subs)
        for s in subs:
            if not is_nested(s) or len(_children(s)) < len(
                    _children(shallow)):
                raise ValueError(
                    "The shallow structure is not a prefix of the structure "
                    f"(received {shallow!r} and {s!r}).")
        values = {k: walk(c, [s[k] for s in subs])
                  for k, c in _children(shallow)}
        return _rebuild(shallow, values)

    return walk(shallow_structure, list(structures))


def pack_sequence_as(structure, flat_sequence, sequence_fn=None):
    """`structure` rebuilt with the leaves of `flat_sequence`, in flatten
    order.

    Example:
        >>> pack_sequence_as({"b": 0, "a": [0]}, [1, 2])
        {'b': 2, 'a': [1]}
    """
    del sequence_fn
    flat = list(flat_sequence)
    n = len(flatten(structure))
    if len(flat) != n:
        few = "few" if len(flat) < n else "many"
        raise ValueError(
            f"Too {few} leaves for the structure; expected: {n}, got: "
            f"{len(flat)}. Received: structure={structure!r}, "
            f"flat_sequence={flat!r}")
    it = iter(flat)
    return _map(lambda _: next(it), [structure])


def lists_to_tuples(structure):
    """`structure` with every list turned into a tuple."""
    if not is_nested(structure):
        return structure
    values = {k: lists_to_tuples(c) for k, c in _children(structure)}
    if isinstance(structure, list):
        return tuple(values[i] for i in range(len(structure)))
    return _rebuild(structure, values)


def traverse(func, structure, top_down=True):
    """Apply `func` to every subtree. Top down: a result of None walks on
    into the children, MAP_TO_NONE puts None there, anything else replaces
    the subtree. Bottom up: children first; None keeps the rebuilt node."""
    def down(x):
        r = func(x)
        if r is MAP_TO_NONE:
            return None
        if r is not None:
            return r
        if not is_nested(x):
            return x
        return _rebuild(x, {k: down(c) for k, c in _children(x)})

    def up(x):
        if is_nested(x):
            x = _rebuild(x, {k: up(c) for k, c in _children(x)})
        r = func(x)
        if r is MAP_TO_NONE:
            return None
        return x if r is None else r

    return down(structure) if top_down else up(structure)


def _is_shape(x) -> bool:
    return isinstance(x, (list, tuple)) and not (
        isinstance(x, tuple) and hasattr(x, "_fields")) and all(
        d is None or isinstance(d, int) for d in x)


def map_shape_structure(func, structure):
    """map_structure where shapes (tuples / lists of ints and None) are
    leaves."""
    if _is_shape(structure) or not is_nested(structure):
        return func(structure)
    values = {k: map_shape_structure(func, c)
              for k, c in _children(structure)}
    return _rebuild(structure, values)
