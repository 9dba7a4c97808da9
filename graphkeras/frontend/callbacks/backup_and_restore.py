"""BackupAndRestore: resume a `fit` that was interrupted.

At the end of every epoch (or every `save_freq` batches) the model's
weights and optimizer state go to `backup_dir/latest.weights.h5` and the
progress to `backup_dir/training_metadata.json`, each written atomically.
When `fit` starts and a backup exists, the state is restored and training
continues with the first epoch the backup had not finished, so the rest of
the run is the one an uninterrupted run would have made (given the same
data order: pass shuffle=False or reseed). A successful `fit` deletes the
backup (unless delete_checkpoint=False).
"""

from __future__ import annotations

import json
import os

from .callback import Callback

_WEIGHTS = "latest.weights.h5"
_PREVIOUS = "previous.weights.h5"
_METADATA = "training_metadata.json"


class BackupAndRestore(Callback):
    """Back up the training state so an interrupted `fit` can resume.

    Args:
        backup_dir: the directory of the backup (created if needed); use
            one directory per training job.
        save_freq: "epoch", or an integer: back up every that many batches
            (a resumed run restarts the interrupted epoch from the state
            of that backup).
        double_checkpoint: also keep the previous backup and fall back to
            it if the latest cannot be read.
        delete_checkpoint: delete the backup when `fit` ends normally.

    Example:
        >>> cb = BackupAndRestore("/tmp/backup")
        >>> model.fit(x, y, epochs=10, callbacks=[cb])  # interrupted...
        >>> model.fit(x, y, epochs=10, callbacks=[cb])  # ...resumes
    """

    def __init__(self, backup_dir, save_freq="epoch", double_checkpoint=False,
                 delete_checkpoint=True):
        super().__init__()
        if not backup_dir:
            raise ValueError("Empty `backup_dir` argument passed")
        if save_freq != "epoch" and not (
            isinstance(save_freq, int) and not isinstance(save_freq, bool)
            and save_freq > 0
        ):
            raise ValueError(
                f"Invalid value for argument `save_freq`. Received: "
                f"save_freq={save_freq}. Expected either 'epoch' or a "
                "positive integer."
            )
        self.backup_dir = os.fspath(backup_dir)
        self.save_freq = save_freq
        self.double_checkpoint = double_checkpoint
        self.delete_checkpoint = delete_checkpoint
        self._weights_path = os.path.join(self.backup_dir, _WEIGHTS)
        self._previous_path = os.path.join(self.backup_dir, _PREVIOUS)
        self._metadata_path = os.path.join(self.backup_dir, _METADATA)
        self._batches_seen = 0
        self._current_epoch = 0

    def on_train_begin(self, logs=None):
        if not os.path.exists(self._metadata_path):
            return
        with open(self._metadata_path, encoding="utf-8") as f:
            try:
                metadata = json.load(f)
            except json.JSONDecodeError as e:
                raise ValueError(
                    f"Cannot resume from {self._metadata_path}: it is not "
                    f"valid JSON ({e}). Delete {self.backup_dir} to start "
                    "over."
                ) from None
        try:
            self.model.load_weights(self._weights_path)
        except (OSError, ValueError):
            if not (self.double_checkpoint
                    and os.path.exists(self._previous_path)):
                raise
            self.model.load_weights(self._previous_path)
            metadata = metadata.get("previous", metadata)
        # fit() starts from this epoch (read once, after on_train_begin)
        self.model._initial_epoch = int(metadata.get("epoch", 0))

    def on_epoch_begin(self, epoch, logs=None):
        self._current_epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        if self.save_freq == "epoch":
            return
        self._batches_seen += 1
        if self._batches_seen >= self.save_freq:
            self._batches_seen = 0
            # the epoch is not finished: a resumed run redoes it
            self._backup({"epoch": self._current_epoch, "batch": batch})

    def on_epoch_end(self, epoch, logs=None):
        if self.save_freq == "epoch":
            self._backup({"epoch": epoch + 1, "batch": -1})

    def _backup(self, metadata: dict) -> None:
        from ..saving.file_io import atomic_write_bytes

        os.makedirs(self.backup_dir, exist_ok=True)
        if self.double_checkpoint and os.path.exists(self._weights_path):
            os.replace(self._weights_path, self._previous_path)
            if os.path.exists(self._metadata_path):
                with open(self._metadata_path, encoding="utf-8") as f:
                    try:
                        metadata["previous"] = {
                            k: v for k, v in json.load(f).items()
                            if k != "previous"}
                    except json.JSONDecodeError:
                        pass
        self.model.save_weights(self._weights_path, overwrite=True)
        atomic_write_bytes(self._metadata_path,
                           json.dumps(metadata).encode("utf-8"))

    def on_train_end(self, logs=None):
        if not self.delete_checkpoint:
            return
        for path in (self._weights_path, self._previous_path,
                     self._metadata_path):
            if os.path.exists(path):
                os.remove(path)
        try:
            os.rmdir(self.backup_dir)
        except OSError:
            pass
