"""PyDataset: Keras's base class for Python data sources indexed by batch.

Subclass it, implement `__len__` (the number of batches) and
`__getitem__(index)` returning `(x, y)` or `(x, y, sample_weight)`, and
optionally `on_epoch_end()`. graphkeras reads it in the calling thread
(`workers` and `use_multiprocessing` are accepted and ignored).
"""

from __future__ import annotations


class PyDataset:
    def __init__(self, workers=1, use_multiprocessing=False, max_queue_size=10):
        self._workers = workers
        self._use_multiprocessing = use_multiprocessing
        self._max_queue_size = max_queue_size

    @property
    def workers(self):
        return self._workers

    @property
    def use_multiprocessing(self):
        return self._use_multiprocessing

    @property
    def max_queue_size(self):
        return self._max_queue_size

    def __getitem__(self, index):
        raise NotImplementedError

    def __len__(self):
        raise NotImplementedError

    @property
    def num_batches(self):
        return len(self)

    def on_epoch_begin(self):
        pass

    def on_epoch_end(self):
        pass
