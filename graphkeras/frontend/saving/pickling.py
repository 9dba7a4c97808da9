"""Pickling models through the `.keras` format, in memory, as Keras 3 does.

`pickle.dumps(model)` and `copy.deepcopy(model)` reduce a model to the bytes
of its `.keras` archive (config, compile config, weights and optimizer
state); unpickling loads that archive. Nothing compiled travels: the native
programs are rebuilt from the config on the first step after loading, so a
pickle made on one CPU unpickles on another, and a pickled model trains on
from where the original stood.

NOTE: unpickling runs with safe mode off (Lambda layers come back), as in
Keras 3: unpickling is already running whatever the pickle says.
"""

from __future__ import annotations


def _own_classes(model) -> dict:
    """{class name: class} of the model's and its layers' classes that
    graphkeras does not define (subclassed models, custom layers), so a
    pickle of a model of an unregistered but importable class loads, as
    pickled objects do, where Keras 3's pickles need it registered."""
    out, seen, stack = {}, set(), [model]
    while stack:
        obj = stack.pop()
        if id(obj) in seen:
            continue
        seen.add(id(obj))
        cls = type(obj)
        if not cls.__module__.startswith("graphkeras.") and \
                "<locals>" not in cls.__qualname__:
            out[cls.__name__] = cls
        sub = getattr(obj, "_sublayers", None)
        stack.extend(sub() if callable(sub) else [])
    return out


def reduce_model(model):
    """`model.__reduce__()`: (rebuild function, (archive bytes, classes));
    the classes travel by reference (module and name), as pickle does."""
    from .keras_format import archive_bytes

    return (unpickle_model, (archive_bytes(model), _own_classes(model)))


def unpickle_model(data: bytes, classes: dict | None = None):
    """The model in a `.keras` archive's bytes, compiled as it was."""
    from .keras_format import load_model

    return load_model("<pickled model>", custom_objects=classes or None,
                      compile=True, safe_mode=False, data=data)
