"""Saving and loading models (graphkeras.saving), interchangeable with
Keras 3.

    keras_format.py       the `.keras` zip (config.json, metadata.json,
                          model.weights.h5)
    weights_store.py      model state <-> Keras 3's h5 group layout
    legacy_h5.py          legacy whole-model and weights-only `.h5`
    serialization_lib.py  objects <-> Keras 3 configs; safe mode
    model_config.py       Functional / Sequential configs
    object_registration.py register_keras_serializable, custom objects
    saving_api.py         save_model / load_model / save_weights /
                          load_weights, by extension
    cloning.py            clone_model
    export.py             the model's programs for ONNX export and the CLI
    file_io.py            atomic writes, clear errors for bad files

Invariants: every write goes to a temporary file renamed over the target;
loading never runs code from a file unless safe_mode=False; a bad file
raises one error naming the file and what is wrong.
"""

from .cloning import clone_model
from .file_io import FileFormatError
from .object_registration import (
    CustomObjectScope,
    custom_object_scope,
    get_custom_objects,
    get_registered_name,
    get_registered_object,
    register_keras_serializable,
)
from .saving_api import load_model, load_weights, save_model, save_weights
from .serialization_lib import (
    SafeModeScope,
    deserialize_keras_object,
    enable_unsafe_deserialization,
    serialize_keras_object,
)

__all__ = [
    "CustomObjectScope", "FileFormatError", "SafeModeScope", "clone_model",
    "custom_object_scope", "deserialize_keras_object",
    "enable_unsafe_deserialization", "get_custom_objects",
    "get_registered_name", "get_registered_object", "load_model",
    "load_weights", "register_keras_serializable", "save_model",
    "save_weights", "serialize_keras_object",
]
