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


def reduce_model(model):
    """`model.__reduce__()`: (rebuild function, (archive bytes,))."""
    from .keras_format import archive_bytes

    return (unpickle_model, (archive_bytes(model),))


def unpickle_model(data: bytes):
    """The model in a `.keras` archive's bytes, compiled as it was."""
    from .keras_format import load_model

    return load_model("<pickled model>", compile=True, safe_mode=False,
                      data=data)
