from .functional import Functional
from .model import Model
from .sequential import Sequential

__all__ = ["Functional", "Model", "Sequential"]


# the family serialization finds its objects in (frontend/families.py)
from ..families import register_family as _register_family  # noqa: E402

_register_family("models", "keras.models", Model, globals())
