"""A layer's own variables as Keras 3 saves them, and their loading.

Layer.save_own_variables / load_own_variables (layers/layer.py), the
LoRA layers' overrides (layers/lora.py) and the weights store
(saving/weights_store.py) all read a layer's state through these two
functions; this module imports nothing of the layers, so none of them
has to import another to reach it.
"""

from __future__ import annotations

import numpy as np


def own_variables(layer) -> list:
    """A layer's own variables as Keras 3 stores them: trainable first.
    A layer with LoRA enabled saves its merged weight in its weight's
    place and no LoRA factors (its `_lora_saved_form`, layers/lora.py)."""
    seen, out = set(), []
    for v in (list(layer._trainable_variables)
              + list(layer._non_trainable_variables)
              + list(layer._all_own_variables())):
        if id(v) not in seen:
            seen.add(id(v))
            out.append(v)
    if getattr(layer, "lora_enabled", False):
        out = layer._lora_saved_form(out)
    return out


def assign_own_variables(layer, expected, targets, store) -> None:
    """Keras 3's load_own_variables: `store` holds one entry per variable
    in `expected` (the layer's own); `targets[i]` gets `store[str(i)]`."""
    keys = list(store.keys())
    if len(keys) != len(expected):
        raise ValueError(
            f"Layer '{layer.name}' expected {len(expected)} variables, but "
            f"received {len(keys)} variables during loading. Expected: "
            f"{[v.name if hasattr(v, 'name') else v.path for v in expected]}")
    for i, v in enumerate(targets):
        value = np.asarray(store[str(i)])
        if value.shape != tuple(v.shape):
            raise ValueError(
                f"Layer '{layer.name}': variable {v.path} has shape "
                f"{tuple(v.shape)}, the file holds shape {value.shape}.")
        v.assign(value.astype(v.dtype))
