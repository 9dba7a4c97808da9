"""Callbacks (graphkeras.callbacks)."""

from .callback import Callback
from .callback_list import CallbackList
from .early_stopping import EarlyStopping
from .history import History
from .progbar_logger import ProgbarLogger

__all__ = ["Callback", "CallbackList", "EarlyStopping", "History",
           "ProgbarLogger"]
