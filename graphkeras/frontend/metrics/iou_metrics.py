"""IoU metrics (IoU, BinaryIoU, MeanIoU, OneHotIoU, OneHotMeanIoU), with
Keras 3's formulas, defaults and configs.

They accumulate a (num_classes, num_classes) confusion matrix as a one-hot
product (true classes^T @ weighted predicted classes).
"""

from __future__ import annotations

import numpy as np

from .. import ops
from ..ops.numpy import diagonal
from ..variables import standardize_dtype
from .f_score_metrics import EPSILON
from .metric import Metric

class _IoUBase(Metric):
    """The confusion matrix of class ids (rows: true, columns: predicted).

    Keras's default dtype is "int": the predictions and the weights are
    truncated to integers before counting; the matrix is held in float32
    (the counts are exact integers below 2^24).
    """

    def __init__(self, num_classes, name=None, dtype=None, ignore_class=None,
                 sparse_y_true=True, sparse_y_pred=True, axis=-1):
        super().__init__(name=name, dtype="float32")
        self._dtype = standardize_dtype(dtype or "int32")
        self._direction = "up"
        if int(num_classes) < 1:
            raise ValueError(f"{type(self).__name__}: num_classes must be a "
                             f"positive integer, received {num_classes!r}.")
        self.num_classes = int(num_classes)
        self.ignore_class = ignore_class
        self.sparse_y_true = sparse_y_true
        self.sparse_y_pred = sparse_y_pred
        self.axis = axis
        self.total_cm = self.add_variable(
            (self.num_classes, self.num_classes), "zeros", dtype="float32",
            name="total_confusion_matrix")

    def update_state(self, y_true, y_pred, sample_weight=None):
        if not self.sparse_y_true:
            y_true = ops.argmax(y_true, axis=self.axis)
        if not self.sparse_y_pred:
            y_pred = ops.argmax(y_pred, axis=self.axis)
        y_true = ops.reshape(ops.cast(y_true, self._dtype), (-1,))
        y_pred = ops.reshape(ops.cast(y_pred, self._dtype), (-1,))
        if sample_weight is None:
            w = ops.ones_like(ops.cast(y_true, "float32"))
        else:
            w = ops.cast(ops.cast(sample_weight, self._dtype), "float32")
            if len(ops.shape(w)) > 1:
                w = ops.reshape(w, (-1,))
            w = ops.multiply(w, ops.ones_like(ops.cast(y_true, "float32")))
        n = self.num_classes
        ok = ops.logical_and(
            ops.logical_and(ops.greater_equal(y_true, 0),
                            ops.less(y_true, n)),
            ops.logical_and(ops.greater_equal(y_pred, 0),
                            ops.less(y_pred, n)))
        if self.ignore_class is not None:
            ok = ops.logical_and(ok, ops.not_equal(y_true,
                                                   int(self.ignore_class)))
        w = ops.where(ok, w, ops.zeros_like(w))
        t = ops.one_hot(ops.cast(ops.where(ok, y_true, ops.zeros_like(y_true)),
                                 "int32"), n)
        p = ops.one_hot(ops.cast(ops.where(ok, y_pred, ops.zeros_like(y_pred)),
                                 "int32"), n)
        cm = ops.matmul(ops.transpose(t), ops.multiply(p, ops.expand_dims(w,
                                                                          1)))
        self.total_cm.assign(ops.add(self.total_cm, cm))

    def reset_state(self):
        self.total_cm.assign(np.zeros(self.total_cm.shape, "float32"))

    @property
    def dtype(self) -> str:
        return self._dtype


class IoU(_IoUBase):
    """Intersection over union, averaged over `target_class_ids` (classes
    absent from both targets and predictions are left out).

    Example:
        >>> m = IoU(num_classes=2, target_class_ids=[0])
        >>> m.update_state([0, 0, 1, 1], [0, 1, 0, 1]); m.result()
    """

    def __init__(self, num_classes, target_class_ids, name=None, dtype=None,
                 ignore_class=None, sparse_y_true=True, sparse_y_pred=True,
                 axis=-1):
        super().__init__(num_classes=num_classes, name=name, dtype=dtype,
                         ignore_class=ignore_class,
                         sparse_y_true=sparse_y_true,
                         sparse_y_pred=sparse_y_pred, axis=axis)
        ids = list(target_class_ids)
        if max(ids, default=0) >= self.num_classes:
            raise ValueError(
                f"Target class id {max(ids)} is out of range, which is "
                f"[0, {self.num_classes}).")
        self.target_class_ids = ids

    def result(self):
        cm = ops.convert_to_tensor(self.total_cm)
        rows = ops.sum(cm, axis=0)
        cols = ops.sum(cm, axis=1)
        tp = diagonal(cm)
        den = ops.subtract(ops.add(rows, cols), tp)
        ids = np.asarray(self.target_class_ids, np.int32)
        tp = ops.take(tp, ids)
        den = ops.take(den, ids)
        valid = ops.greater(den, 1e-9)
        n_valid = ops.sum(ops.cast(valid, "float32"))
        iou = ops.divide(tp, ops.add(den, EPSILON))
        iou = ops.where(valid, iou, ops.zeros_like(iou))
        return ops.divide(ops.sum(iou, axis=self.axis),
                          ops.add(n_valid, EPSILON))

    def get_config(self):
        return {"num_classes": self.num_classes,
                "target_class_ids": self.target_class_ids, "name": self.name,
                "dtype": self._dtype, "ignore_class": self.ignore_class,
                "sparse_y_true": self.sparse_y_true,
                "sparse_y_pred": self.sparse_y_pred, "axis": self.axis}


class BinaryIoU(IoU):
    """IoU of binary predictions: y_pred >= threshold is class 1."""

    def __init__(self, target_class_ids=(0, 1), threshold=0.5, name=None,
                 dtype=None):
        super().__init__(num_classes=2, target_class_ids=target_class_ids,
                         name=name, dtype=dtype)
        self.threshold = float(threshold)

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_pred = ops.cast(ops.greater_equal(ops.cast(y_pred, "float32"),
                                            self.threshold), self._dtype)
        super().update_state(y_true, y_pred, sample_weight)

    def get_config(self):
        return {"target_class_ids": self.target_class_ids,
                "threshold": self.threshold, "name": self.name,
                "dtype": self._dtype}


class MeanIoU(IoU):
    """IoU averaged over all classes."""

    def __init__(self, num_classes, name=None, dtype=None, ignore_class=None,
                 sparse_y_true=True, sparse_y_pred=True, axis=-1):
        super().__init__(num_classes=num_classes,
                         target_class_ids=list(range(int(num_classes))),
                         name=name, dtype=dtype, ignore_class=ignore_class,
                         sparse_y_true=sparse_y_true,
                         sparse_y_pred=sparse_y_pred, axis=axis)

    def get_config(self):
        return {"num_classes": self.num_classes, "name": self.name,
                "dtype": self._dtype, "ignore_class": self.ignore_class,
                "sparse_y_true": self.sparse_y_true,
                "sparse_y_pred": self.sparse_y_pred, "axis": self.axis}


class OneHotIoU(IoU):
    """IoU with one-hot targets (and predictions scored per class)."""

    def __init__(self, num_classes, target_class_ids, name=None, dtype=None,
                 ignore_class=None, sparse_y_pred=False, axis=-1):
        super().__init__(num_classes=num_classes,
                         target_class_ids=target_class_ids, name=name,
                         dtype=dtype, ignore_class=ignore_class,
                         sparse_y_true=False, sparse_y_pred=sparse_y_pred,
                         axis=axis)

    def get_config(self):
        return {"num_classes": self.num_classes,
                "target_class_ids": self.target_class_ids, "name": self.name,
                "dtype": self._dtype, "ignore_class": self.ignore_class,
                "sparse_y_pred": self.sparse_y_pred, "axis": self.axis}


class OneHotMeanIoU(MeanIoU):
    """MeanIoU with one-hot targets."""

    def __init__(self, num_classes, name=None, dtype=None, ignore_class=None,
                 sparse_y_pred=False, axis=-1):
        super().__init__(num_classes=num_classes, name=name, dtype=dtype,
                         ignore_class=ignore_class, sparse_y_true=False,
                         sparse_y_pred=sparse_y_pred, axis=axis)

    def get_config(self):
        return {"num_classes": self.num_classes, "name": self.name,
                "dtype": self._dtype, "ignore_class": self.ignore_class,
                "sparse_y_pred": self.sparse_y_pred, "axis": self.axis}
