"""graphkeras.models: Model, Sequential (`from graphkeras.models import
Sequential`)."""

from .frontend.models import Functional, Model, Sequential  # noqa: F401
from .frontend.saving import clone_model, load_model, save_model  # noqa: F401
