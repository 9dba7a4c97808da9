"""Callbacks (graphkeras.callbacks)."""

from .backup_and_restore import BackupAndRestore
from .callback import Callback
from .callback_list import CallbackList
from .early_stopping import EarlyStopping
from .history import History
from .model_checkpoint import ModelCheckpoint
from .progbar_logger import ProgbarLogger

__all__ = ["Callback", "CallbackList", "EarlyStopping", "History",
           "ProgbarLogger"]
__all__ += ["BackupAndRestore", "ModelCheckpoint"]
