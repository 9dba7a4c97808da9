"""F-scores, IoU metrics, the "X at Y" confusion metrics and correlation
metrics, with Keras 3's formulas, defaults and configs.

State lives in metric Variables updated with ops inside the step, as in
the other metric files. FBetaScore builds its per-class state on its first
update (the class count is y_pred's last axis). IoU metrics accumulate a
(num_classes, num_classes) confusion matrix as a one-hot product
(true classes^T @ weighted predicted classes). The "X at Y" metrics share
the bucketed threshold counts of AUC (200 evenly spaced thresholds).

NOTE: concordance_correlation reproduces Keras 3's formula, including
its covariance term (y_true - mean(y_pred)) * (y_pred - mean(y_pred)), so
results agree with Keras.
"""

from __future__ import annotations

import numpy as np

from .. import ops, tracing
from ..losses.loss import squeeze_or_expand_to_same_rank
from ..ops_more import diagonal
from ..variables import standardize_dtype
from .confusion_metrics import update_confusion_matrix
from .metric import Metric
from .reduction_metrics import _NamedWrapper

EPSILON = 1e-7

# --- F-beta ------------------------------------------------------------------------


class FBetaScore(Metric):
    """F-beta score per class, or averaged ("micro", "macro", "weighted").

    Args:
        average: None (one score per class), "micro" (from the totals over
            all classes), "macro" (mean of the class scores) or "weighted"
            (class scores weighted by the class supports).
        beta: weight of recall relative to precision (> 0).
        threshold: predictions above it count as positive; None takes the
            largest prediction of each row (when it is nonzero).
        name, dtype: as for every metric.

    Example:
        >>> m = FBetaScore(beta=2.0, threshold=0.5, average="macro")
        >>> m.update_state(y_true, y_pred); m.result()
    """

    def __init__(self, average=None, beta=1.0, threshold=None,
                 name="fbeta_score", dtype=None):
        super().__init__(name=name, dtype=dtype)
        self._direction = "up"
        if average not in (None, "micro", "macro", "weighted"):
            raise ValueError(
                "Invalid `average` argument value. Expected one of: "
                "{None, 'micro', 'macro', 'weighted'}. "
                f"Received: average={average}")
        if not isinstance(beta, (float, int)) or isinstance(beta, bool):
            raise ValueError(  # noqa: TRY004  (Keras raises ValueError)
                "Invalid `beta` argument value. It should be a Python float. "
                f"Received: beta={beta} of type '{type(beta)}'")
        if beta <= 0.0:
            raise ValueError(
                "Invalid `beta` argument value. It should be > 0. "
                f"Received: beta={beta}")
        if threshold is not None:
            if not isinstance(threshold, (int, float)):
                raise ValueError(
                    "Invalid `threshold` argument value. It should be a Python "
                    f"float. Received: threshold={threshold} of type "
                    f"'{type(threshold)}'")
            if threshold > 1.0 or threshold <= 0.0:
                raise ValueError(
                    "Invalid `threshold` argument value. It should verify "
                    f"0 < threshold <= 1. Received: threshold={threshold}")
        self.average = average
        self.beta = float(beta)
        self.threshold = None if threshold is None else float(threshold)
        self.axis = None if average == "micro" else 0
        self._built = False

    def _build(self, shape):
        if len(shape) != 2 or shape[-1] is None:
            raise ValueError(
                f"{type(self).__name__} expects 2D inputs with shape "
                "(batch_size, output_dim), with a static output_dim. "
                f"Received input shape: y_pred.shape={shape}.")
        init = () if self.average == "micro" else (shape[-1],)
        self.true_positives = self.add_variable(init, name="true_positives")
        self.false_positives = self.add_variable(init, name="false_positives")
        self.false_negatives = self.add_variable(init, name="false_negatives")
        self.intermediate_weights = self.add_variable(
            init, name="intermediate_weights")
        self._built = True

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_true = ops.cast(y_true, self.dtype)
        y_pred = ops.cast(y_pred, self.dtype)
        if not self._built:
            t = tracing.current_trace()
            if t is not None:
                with t.suspended():
                    self._build(ops.shape(y_pred))
            else:
                self._build(ops.shape(y_pred))
        if self.threshold is None:
            top = ops.max(y_pred, axis=-1, keepdims=True)
            # a row of zeros stays all negative
            y_pred = ops.logical_and(ops.greater_equal(y_pred, top),
                                     ops.greater(ops.abs(y_pred), 1e-9))
        else:
            y_pred = ops.greater(y_pred, self.threshold)
        y_pred = ops.cast(y_pred, self.dtype)
        w = None if sample_weight is None else ops.expand_dims(
            ops.cast(sample_weight, self.dtype), 1)

        def total(v):
            return ops.sum(v if w is None else ops.multiply(v, w),
                           axis=self.axis)

        neg_pred = ops.subtract(1.0, y_pred)
        self.true_positives.assign(ops.add(
            self.true_positives, total(ops.multiply(y_pred, y_true))))
        self.false_positives.assign(ops.add(self.false_positives, total(
            ops.multiply(y_pred, ops.subtract(1.0, y_true)))))
        self.false_negatives.assign(ops.add(
            self.false_negatives, total(ops.multiply(neg_pred, y_true))))
        self.intermediate_weights.assign(ops.add(
            self.intermediate_weights, total(y_true)))

    def result(self):
        if not self._built:
            return np.asarray(0.0, self.dtype)
        tp, fp, fn = (self.true_positives, self.false_positives,
                      self.false_negatives)
        precision = ops.divide(tp, ops.add(ops.add(tp, fp), EPSILON))
        recall = ops.divide(tp, ops.add(ops.add(tp, fn), EPSILON))
        b2 = self.beta ** 2
        score = ops.multiply(ops.divide(
            ops.multiply(precision, recall),
            ops.add(ops.add(ops.multiply(precision, b2), recall), EPSILON)),
            1.0 + b2)
        if self.average == "weighted":
            iw = ops.convert_to_tensor(self.intermediate_weights)
            weights = ops.divide(iw, ops.add(ops.sum(iw), EPSILON))
            score = ops.sum(ops.multiply(score, weights))
        elif self.average is not None:
            score = ops.mean(score)
        return score

    def reset_state(self):
        for v in self.variables:
            v.assign(np.zeros(v.shape, v.dtype))

    def get_config(self):
        return {"name": self.name, "dtype": self.dtype,
                "average": self.average, "beta": self.beta,
                "threshold": self.threshold}


class F1Score(FBetaScore):
    """F1 score (FBetaScore with beta=1).

    Example:
        >>> F1Score(average="micro", threshold=0.5)
    """

    def __init__(self, average=None, threshold=None, name="f1_score",
                 dtype=None):
        super().__init__(average=average, beta=1.0, threshold=threshold,
                         name=name, dtype=dtype)

    def get_config(self):
        config = super().get_config()
        del config["beta"]
        return config


# --- IoU ---------------------------------------------------------------------------------


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


# --- X at Y -------------------------------------------------------------------------------


class _AtBase(Metric):
    """TP / FP / TN / FN at `num_thresholds` evenly spaced thresholds."""

    _arg = ""

    def __init__(self, value, num_thresholds=200, class_id=None, name=None,
                 dtype=None):
        super().__init__(name=name, dtype=dtype)
        self._direction = "up"
        if value < 0 or value > 1:
            raise ValueError(
                f"Argument `{self._arg}` must be in the range [0, 1]. "
                f"Received: {self._arg}={value}")
        if num_thresholds <= 0:
            raise ValueError(
                "Argument `num_thresholds` must be an integer > 0. "
                f"Received: num_thresholds={num_thresholds}")
        self.value = float(value)
        self.num_thresholds = int(num_thresholds)
        self.class_id = class_id
        if num_thresholds == 1:
            self.thresholds = [0.5]
            self._buckets = False
        else:
            inner = [(i + 1) / (num_thresholds - 1)
                     for i in range(num_thresholds - 2)]
            self.thresholds = [0.0, *inner, 1.0]
            self._buckets = True
        t = len(self.thresholds)
        self.true_positives = self.add_variable((t,), name="true_positives")
        self.false_positives = self.add_variable((t,), name="false_positives")
        self.true_negatives = self.add_variable((t,), name="true_negatives")
        self.false_negatives = self.add_variable((t,), name="false_negatives")

    def update_state(self, y_true, y_pred, sample_weight=None):
        update_confusion_matrix(
            {"tp": self.true_positives, "fp": self.false_positives,
             "tn": self.true_negatives, "fn": self.false_negatives},
            y_true, y_pred, self.thresholds, sample_weight=sample_weight,
            class_id=self.class_id, buckets=self._buckets)

    def _rates(self):
        tp, fp, tn, fn = (ops.convert_to_tensor(v) for v in (
            self.true_positives, self.false_positives, self.true_negatives,
            self.false_negatives))
        return {"sensitivity": ops.divide_no_nan(tp, ops.add(tp, fn)),
                "specificity": ops.divide_no_nan(tn, ops.add(tn, fp)),
                "precision": ops.divide_no_nan(tp, ops.add(tp, fp))}

    def _best(self, constrained, dependent):
        """max of `dependent` where constrained >= value (0 if none)."""
        ok = ops.greater_equal(constrained, self.value)
        return ops.maximum(ops.max(ops.where(ok, dependent,
                                             ops.zeros_like(dependent))), 0.0)

    def reset_state(self):
        for v in self.variables:
            v.assign(np.zeros(v.shape, v.dtype))

    def get_config(self):
        return {"name": self.name, "dtype": self.dtype,
                "class_id": self.class_id,
                "num_thresholds": self.num_thresholds, self._arg: self.value}


class SensitivityAtSpecificity(_AtBase):
    """Best sensitivity among thresholds with specificity >= `specificity`."""

    _arg = "specificity"

    def __init__(self, specificity, num_thresholds=200, class_id=None,
                 name=None, dtype=None):
        super().__init__(specificity, num_thresholds, class_id, name, dtype)
        self.specificity = self.value

    def result(self):
        r = self._rates()
        return self._best(r["specificity"], r["sensitivity"])


class SpecificityAtSensitivity(_AtBase):
    """Best specificity among thresholds with sensitivity >= `sensitivity`."""

    _arg = "sensitivity"

    def __init__(self, sensitivity, num_thresholds=200, class_id=None,
                 name=None, dtype=None):
        super().__init__(sensitivity, num_thresholds, class_id, name, dtype)
        self.sensitivity = self.value

    def result(self):
        r = self._rates()
        return self._best(r["sensitivity"], r["specificity"])


class PrecisionAtRecall(_AtBase):
    """Best precision among thresholds with recall >= `recall`."""

    _arg = "recall"

    def __init__(self, recall, num_thresholds=200, class_id=None, name=None,
                 dtype=None):
        super().__init__(recall, num_thresholds, class_id, name, dtype)
        self.recall = self.value

    def result(self):
        r = self._rates()
        return self._best(r["sensitivity"], r["precision"])


class RecallAtPrecision(_AtBase):
    """Best recall among thresholds with precision >= `precision`."""

    _arg = "precision"

    def __init__(self, precision, num_thresholds=200, class_id=None,
                 name=None, dtype=None):
        super().__init__(precision, num_thresholds, class_id, name, dtype)
        self.precision = self.value

    def result(self):
        r = self._rates()
        return self._best(r["precision"], r["sensitivity"])


# --- correlation ---------------------------------------------------------------------


def _pair(y_true, y_pred):
    y_pred = ops.convert_to_tensor(y_pred)
    if not ops.dtype(y_pred).startswith("float"):
        y_pred = ops.cast(y_pred, "float32")
    y_true = ops.cast(y_true, ops.dtype(y_pred))
    return squeeze_or_expand_to_same_rank(y_true, y_pred)


def pearson_correlation(y_true, y_pred, axis=-1):
    """Pearson correlation of y_true and y_pred along `axis`."""
    y_true, y_pred = _pair(y_true, y_pred)
    t = ops.subtract(y_true, ops.mean(y_true, axis=axis, keepdims=True))
    p = ops.subtract(y_pred, ops.mean(y_pred, axis=axis, keepdims=True))
    t = ops.divide(t, ops.std(t, axis=axis, keepdims=True))
    p = ops.divide(p, ops.std(p, axis=axis, keepdims=True))
    return ops.mean(ops.multiply(t, p), axis=axis)


def concordance_correlation(y_true, y_pred, axis=-1):
    """Lin's concordance correlation along `axis` (Keras 3's formula)."""
    y_true, y_pred = _pair(y_true, y_pred)
    mt = ops.mean(y_true, axis=axis, keepdims=True)
    mp = ops.mean(y_pred, axis=axis, keepdims=True)
    vt = ops.var(ops.subtract(y_true, mt), axis=axis, keepdims=True)
    vp = ops.var(ops.subtract(y_pred, mp), axis=axis, keepdims=True)
    covar = ops.multiply(ops.subtract(y_true, mp), ops.subtract(y_pred, mp))
    norm = ops.add(ops.add(vt, vp), ops.square(ops.subtract(mt, mp)))
    return ops.mean(ops.divide(ops.multiply(covar, 2.0),
                               ops.add(norm, EPSILON)), axis=axis)


class PearsonCorrelation(_NamedWrapper):
    """Mean Pearson correlation (per sample, along `axis`) over the epoch."""

    _keys = ("axis",)

    def __init__(self, name="pearson_correlation", dtype=None, axis=-1):
        super().__init__(pearson_correlation, name=name, dtype=dtype,
                         axis=axis)
        self.axis = axis
        self._direction = "up"


class ConcordanceCorrelation(_NamedWrapper):
    """Mean concordance correlation (along `axis`) over the epoch."""

    _keys = ("axis",)

    def __init__(self, name="concordance_correlation", dtype=None, axis=-1):
        super().__init__(concordance_correlation, name=name, dtype=dtype,
                         axis=axis)
        self.axis = axis
        self._direction = "up"
