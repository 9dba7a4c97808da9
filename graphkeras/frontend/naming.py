"""Unique object names, as Keras makes them: `dense`, `dense_1`, ...

Invariant: `uniquify(base)` never returns the same name twice within a
process (until `reset_names()`), so automatic layer names are unique across
models, as in Keras.
"""

from __future__ import annotations

import re
from collections import defaultdict

_COUNTS: dict = defaultdict(int)


# Keras classes exported under another name: their default names and the
# groups of their weights in a .weights.h5 come from the class's own name
_KERAS_CLASS_OF = {"GroupQueryAttention": "GroupedQueryAttention"}


def to_snake_case(name: str) -> str:
    """`Dense` -> `dense`, `BatchNormalization` -> `batch_normalization`."""
    name = _KERAS_CLASS_OF.get(name, name)
    s = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", name)
    # NOTE: as Keras, no break after a digit: Conv2D -> conv2d (not conv2_d),
    # which is also the weights' path in Keras's .keras files
    s = re.sub(r"([a-z])([A-Z])", r"\1_\2", s).lower()
    return s.lstrip("_") or "object"


def uniquify(base: str) -> str:
    """`base` the first time, then `base_1`, `base_2`, ..."""
    n = _COUNTS[base]
    _COUNTS[base] = n + 1
    return base if n == 0 else f"{base}_{n}"


def auto_name(obj_or_cls) -> str:
    cls = obj_or_cls if isinstance(obj_or_cls, type) else type(obj_or_cls)
    return uniquify(to_snake_case(cls.__name__))


def reset_names() -> None:
    """Forget every name given so far (`keras.backend.clear_session`)."""
    _COUNTS.clear()
