"""graphkeras.models: Model, Sequential (`from graphkeras.models import
Sequential`)."""

from .frontend.models import Functional, Model, Sequential  # noqa: F401
