"""graphkeras.saving: load_model, save_model, register_keras_serializable,
custom objects, (de)serialization of Keras objects (as `keras.saving`)."""

from .frontend.saving import *
from .frontend.saving import __all__  # noqa: F401
