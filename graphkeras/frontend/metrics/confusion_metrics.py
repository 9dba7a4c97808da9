"""Confusion-matrix metrics: TruePositives / FalsePositives /
TrueNegatives / FalseNegatives, Precision, Recall and AUC, accumulated over
the epoch inside the step as Keras 3 accumulates them.

A prediction p counts as positive at threshold t when p > t; labels count
as positive when nonzero. AUC's thresholds are evenly spaced, so it uses
Keras's bucket rule instead: p (clipped to [0, 1]) lands in bucket
max(ceil(p (T - 1)) - 1, 0) and counts as positive at every threshold
index up to its bucket. The result interpolates the curve over the
thresholds exactly as Keras does (trapezoids for ROC, Davis & Goadrich
interpolation for PR). The "X at Y" metrics (SensitivityAtSpecificity,
SpecificityAtSensitivity, PrecisionAtRecall, RecallAtPrecision) share
AUC's bucketed threshold counts (200 evenly spaced thresholds).
"""

from __future__ import annotations

import numpy as np

from .. import ops
from ..losses.loss import squeeze_or_expand_to_same_rank
from .metric import Metric

NEG_INF = -1e10
EPSILON = 1e-7


def _parse_thresholds(thresholds, default):
    if thresholds is None:
        return [float(default)]
    values = list(thresholds) if isinstance(thresholds, (list, tuple)) else [
        thresholds]
    bad = [t for t in values if t is None or t < 0 or t > 1]
    if bad:
        raise ValueError(f"Threshold values must be in [0, 1]. Received: {bad}")
    return [float(t) for t in values]


def _filter_top_k(x, k):
    """x where the element is among the k largest of its row (ties to the
    lower index, as top_k), NEG_INF elsewhere."""
    a = ops.expand_dims(x, -1)   # x_j along axis -2
    b = ops.expand_dims(x, -2)   # x_i along axis -1
    n = ops.shape(x)[-1]
    lower = np.tril(np.ones((n, n), bool), -1)  # [j, i]: i < j
    beats = ops.logical_or(ops.greater(b, a),
                           ops.logical_and(ops.equal(b, a), lower))
    rank = ops.sum(ops.cast(beats, "int32"), axis=-1)
    keep = ops.cast(ops.less(rank, int(k)), ops.dtype(x))
    return ops.add(ops.multiply(x, keep),
                   ops.multiply(ops.subtract(1.0, keep), NEG_INF))


def _prepare(y_true, y_pred, sample_weight, dtype, top_k=None, class_id=None):
    y_true = ops.cast(y_true, dtype)
    y_pred = ops.cast(y_pred, dtype)
    y_pred, y_true = squeeze_or_expand_to_same_rank(y_pred, y_true)
    if sample_weight is not None:
        sample_weight = ops.expand_dims(ops.cast(sample_weight, dtype), -1)
        _, sample_weight = squeeze_or_expand_to_same_rank(
            y_true, sample_weight, expand_rank_1=False)
    if top_k is not None:
        y_pred = _filter_top_k(y_pred, top_k)
    if class_id is not None:
        if len(ops.shape(y_pred)) == 1:
            raise ValueError(
                "When class_id is provided, y_pred must be a 2D array with "
                "shape (num_samples, num_classes), found shape: "
                f"{ops.shape(y_pred)}"
            )
        key = (Ellipsis, slice(class_id, class_id + 1))
        y_true = ops.getitem(y_true, key)
        y_pred = ops.getitem(y_pred, key)
    if len(ops.shape(y_pred)) == 1:
        y_true, y_pred = ops.expand_dims(y_true, -1), ops.expand_dims(y_pred, -1)
        if sample_weight is not None and len(ops.shape(sample_weight)) == 1:
            sample_weight = ops.expand_dims(sample_weight, -1)
    if sample_weight is not None:
        while len(ops.shape(sample_weight)) < len(ops.shape(y_pred)):
            sample_weight = ops.expand_dims(sample_weight, -1)
        sample_weight = ops.multiply(sample_weight, ops.ones_like(y_pred))
    return y_true, y_pred, sample_weight


def update_confusion_matrix(variables, y_true, y_pred, thresholds,
                            sample_weight=None, top_k=None, class_id=None,
                            multi_label=False, buckets=False):
    """Add this batch's counts to `variables` ({"tp"|"fp"|"tn"|"fn":
    Variable of shape (T,) or (T, labels) for multi_label})."""
    dtype = next(iter(variables.values())).dtype
    y_true, y_pred, w = _prepare(y_true, y_pred, sample_weight, dtype, top_k,
                                 class_id)
    positive = ops.cast(ops.not_equal(y_true, 0.0), dtype)
    t = len(thresholds)
    if buckets:
        # bucket index per prediction, compared with every threshold index
        p = ops.clip(y_pred, 0.0, 1.0)
        bucket = ops.relu(ops.subtract(ops.ceil(ops.multiply(p, float(t - 1))),
                                       1.0))
        above = ops.greater_equal(ops.expand_dims(bucket, -1),
                                  np.arange(t, dtype=dtype))
    else:
        above = ops.greater(ops.expand_dims(y_pred, -1),
                            np.asarray(thresholds, dtype))
    above = ops.cast(above, dtype)                       # (N, ..., T)
    pos = ops.expand_dims(positive, -1)
    neg = ops.subtract(1.0, pos)
    if w is not None:
        wx = ops.expand_dims(w, -1)
        pos, neg = ops.multiply(pos, wx), ops.multiply(neg, wx)
    rank = len(ops.shape(above))
    axes = list(range(rank - 2)) if multi_label else list(range(rank - 1))

    def total(x):
        s = ops.sum(x, axis=axes)
        return ops.transpose(s) if multi_label else s

    need = set(variables)
    tp = total(ops.multiply(pos, above)) if need & {"tp", "fn"} else None
    fp = total(ops.multiply(neg, above)) if need & {"fp", "tn"} else None
    if "tp" in variables:
        variables["tp"].assign(ops.add(variables["tp"], tp))
    if "fp" in variables:
        variables["fp"].assign(ops.add(variables["fp"], fp))
    if "fn" in variables:
        all_pos = total(ops.multiply(pos, ops.ones_like(above)))
        variables["fn"].assign(ops.add(variables["fn"],
                                       ops.subtract(all_pos, tp)))
    if "tn" in variables:
        all_neg = total(ops.multiply(neg, ops.ones_like(above)))
        variables["tn"].assign(ops.add(variables["tn"],
                                       ops.subtract(all_neg, fp)))


class _ConfusionMatrixConditionCount(Metric):
    """The weighted count of one confusion-matrix cell per threshold."""

    _cell = "tp"

    def __init__(self, thresholds=None, name=None, dtype=None):
        super().__init__(name=name, dtype=dtype)
        self.init_thresholds = thresholds
        self.thresholds = _parse_thresholds(thresholds, 0.5)
        self.accumulator = self.add_variable((len(self.thresholds),), "zeros",
                                             name="accumulator")

    def update_state(self, y_true, y_pred, sample_weight=None):
        update_confusion_matrix({self._cell: self.accumulator}, y_true, y_pred,
                                self.thresholds, sample_weight)

    def result(self):
        v = ops.convert_to_tensor(self.accumulator)
        return v[0] if len(self.thresholds) == 1 else v

    def get_config(self):
        return {**super().get_config(), "thresholds": self.init_thresholds}


class TruePositives(_ConfusionMatrixConditionCount):
    """The (weighted) number of true positives."""

    _cell = "tp"


class FalsePositives(_ConfusionMatrixConditionCount):
    """The (weighted) number of false positives."""

    _cell = "fp"


class TrueNegatives(_ConfusionMatrixConditionCount):
    """The (weighted) number of true negatives."""

    _cell = "tn"


class FalseNegatives(_ConfusionMatrixConditionCount):
    """The (weighted) number of false negatives."""

    _cell = "fn"


class _PrecisionRecall(Metric):
    _other = "fp"

    def __init__(self, thresholds=None, top_k=None, class_id=None, name=None,
                 dtype=None):
        super().__init__(name=name, dtype=dtype)
        self._direction = "up"
        self.init_thresholds = thresholds
        self.top_k = top_k
        self.class_id = class_id
        self.thresholds = _parse_thresholds(
            thresholds, 0.5 if top_k is None else NEG_INF)
        t = len(self.thresholds)
        self.true_positives = self.add_variable((t,), "zeros",
                                                name="true_positives")
        other = "false_positives" if self._other == "fp" else "false_negatives"
        setattr(self, other, self.add_variable((t,), "zeros", name=other))
        self._other_var = getattr(self, other)

    def update_state(self, y_true, y_pred, sample_weight=None):
        update_confusion_matrix(
            {"tp": self.true_positives, self._other: self._other_var},
            y_true, y_pred, self.thresholds, sample_weight, top_k=self.top_k,
            class_id=self.class_id)

    def result(self):
        tp = ops.convert_to_tensor(self.true_positives)
        out = ops.divide_no_nan(tp, ops.add(tp, self._other_var))
        return out[0] if len(self.thresholds) == 1 else out

    def get_config(self):
        return {**super().get_config(), "thresholds": self.init_thresholds,
                "top_k": self.top_k, "class_id": self.class_id}


class Precision(_PrecisionRecall):
    """TP / (TP + FP) at each threshold (0.5 by default), optionally over
    the top_k predictions or one class_id."""

    _other = "fp"


class Recall(_PrecisionRecall):
    """TP / (TP + FN) at each threshold (0.5 by default), optionally over
    the top_k predictions or one class_id."""

    _other = "fn"


class AUC(Metric):
    """Area under the ROC (default) or PR curve, from confusion counts at
    `num_thresholds` (200) evenly spaced thresholds.

    Args:
        num_thresholds: > 1 (default 200).
        curve: "ROC" or "PR" (or "PRGAIN").
        summation_method: "interpolation" (default), "minoring" or
            "majoring".
        thresholds: explicit thresholds in [0, 1] instead.
        multi_label: one curve per label column, averaged (weighted by
            `label_weights` if given).
        from_logits: apply a sigmoid to the predictions first.
    """

    def __init__(self, num_thresholds=200, curve="ROC",
                 summation_method="interpolation", name=None, dtype=None,
                 thresholds=None, multi_label=False, num_labels=None,
                 label_weights=None, from_logits=False):
        self._direction = "up"
        curves = {"roc": "ROC", "pr": "PR", "prgain": "PRGAIN"}
        if str(curve).lower() not in curves:
            raise ValueError(
                f'Invalid AUC curve value: "{curve}". Expected values are '
                '["PR", "ROC", "PRGAIN"]'
            )
        methods = ("interpolation", "majoring", "minoring")
        if str(summation_method).lower() not in methods:
            raise ValueError(
                f'Invalid AUC summation method value: "{summation_method}". '
                'Expected values are ["interpolation", "majoring", "minoring"]'
            )
        self._init_from_thresholds = thresholds is not None
        if thresholds is not None:
            thresholds = sorted(_parse_thresholds(thresholds, 0.5))
            self.num_thresholds = len(thresholds) + 2
            full = np.array([0.0] + thresholds + [1.0])
            even = np.arange(len(full), dtype=np.float32) / (len(full) - 1)
            self._evenly = len(full) >= 3 and bool(
                np.allclose(full, even, atol=EPSILON))
        else:
            if num_thresholds <= 1:
                raise ValueError(
                    "Argument `num_thresholds` must be an integer > 1. "
                    f"Received: num_thresholds={num_thresholds}"
                )
            self.num_thresholds = int(num_thresholds)
            thresholds = [(i + 1) * 1.0 / (num_thresholds - 1)
                          for i in range(num_thresholds - 2)]
            self._evenly = True
        self._thresholds = [0.0 - EPSILON] + list(thresholds) + [1.0 + EPSILON]
        self.curve = curves[str(curve).lower()]
        self.summation_method = str(summation_method).lower()
        super().__init__(name=name, dtype=dtype)
        self.multi_label = multi_label
        self.num_labels = num_labels
        self.label_weights = (None if label_weights is None
                              else np.asarray(label_weights, self.dtype))
        self._from_logits = from_logits
        self._built = False
        if multi_label:
            if num_labels:
                self._build([None, num_labels])
        else:
            if num_labels:
                raise ValueError(
                    "`num_labels` is needed only when `multi_label` is True."
                )
            self._build(None)

    @property
    def thresholds(self):
        return list(self._thresholds)

    def _build(self, shape):
        if self.multi_label:
            if len(shape) != 2:
                raise ValueError(
                    "`y_pred` must have rank 2 when `multi_label=True`. Found "
                    f"rank {len(shape)}. Full shape received for `y_pred`: "
                    f"{shape}"
                )
            self._num_labels = shape[1]
            vshape = (self.num_thresholds, self._num_labels)
        else:
            vshape = (self.num_thresholds,)
        for n in ("true_positives", "false_positives", "true_negatives",
                  "false_negatives"):
            setattr(self, n, self.add_variable(vshape, "zeros", name=n))
        self._built = True

    def update_state(self, y_true, y_pred, sample_weight=None):
        if not self._built:
            from .. import tracing

            t = tracing.current_trace()
            if t is not None:
                with t.suspended():
                    self._build(ops.shape(y_pred))
            else:
                self._build(ops.shape(y_pred))
        if self._from_logits:
            y_pred = ops.sigmoid(y_pred)
        if self.label_weights is not None and not self.multi_label:
            lw = ops.multiply(ops.ones_like(ops.cast(y_pred, self.dtype)),
                              self.label_weights)
            sample_weight = lw if sample_weight is None else ops.multiply(
                lw, ops.expand_dims(ops.cast(sample_weight, self.dtype), -1))
        update_confusion_matrix(
            {"tp": self.true_positives, "tn": self.true_negatives,
             "fp": self.false_positives, "fn": self.false_negatives},
            y_true, y_pred, self._thresholds, sample_weight,
            multi_label=self.multi_label, buckets=self._evenly)

    def _average(self, per_label):
        if not self.multi_label:
            return ops.sum(per_label)
        by_label = ops.sum(per_label, axis=0)
        if self.label_weights is None:
            return ops.mean(by_label)
        return ops.divide_no_nan(ops.sum(ops.multiply(by_label,
                                                      self.label_weights)),
                                 float(np.sum(self.label_weights)))

    def _interpolate_pr_auc(self):
        n = self.num_thresholds
        tp = ops.convert_to_tensor(self.true_positives)
        fp = ops.convert_to_tensor(self.false_positives)
        fn = ops.convert_to_tensor(self.false_negatives)
        dtp = ops.subtract(tp[: n - 1], tp[1:])
        p = ops.add(tp, fp)
        dp = ops.subtract(p[: n - 1], p[1:])
        slope = ops.divide_no_nan(dtp, ops.maximum(dp, 0.0))
        intercept = ops.subtract(tp[1:], ops.multiply(slope, p[1:]))
        both = ops.logical_and(ops.greater(p[: n - 1], 0.0),
                               ops.greater(p[1:], 0.0))
        ratio = ops.where(both, ops.divide_no_nan(p[: n - 1],
                                                  ops.maximum(p[1:], 0.0)),
                          ops.ones_like(p[1:]))
        increment = ops.divide_no_nan(
            ops.multiply(slope, ops.add(dtp, ops.multiply(intercept,
                                                          ops.log(ratio)))),
            ops.maximum(ops.add(tp[1:], fn[1:]), 0.0))
        return self._average(increment)

    def result(self):
        if self.curve == "PR" and self.summation_method == "interpolation":
            return self._interpolate_pr_auc()
        n = self.num_thresholds
        tp = ops.convert_to_tensor(self.true_positives)
        fp = ops.convert_to_tensor(self.false_positives)
        tn = ops.convert_to_tensor(self.true_negatives)
        fn = ops.convert_to_tensor(self.false_negatives)
        recall = ops.divide_no_nan(tp, ops.add(tp, fn))
        if self.curve == "ROC":
            x = ops.divide_no_nan(fp, ops.add(fp, tn))
            y = recall
        elif self.curve == "PR":
            x, y = recall, ops.divide_no_nan(tp, ops.add(tp, fp))
        else:  # PRGAIN
            scale = ops.divide_no_nan(ops.add(tp, fn), ops.add(tn, fp))
            rg = ops.subtract(1.0, ops.multiply(scale, ops.divide_no_nan(fn, tp)))
            pg = ops.subtract(1.0, ops.multiply(scale, ops.divide_no_nan(fp, tp)))
            no_tp = ops.equal(tp, 0.0)
            rg = ops.maximum(ops.where(no_tp, ops.zeros_like(rg), rg), 0.0)
            pg = ops.where(no_tp, ops.ones_like(pg), pg)
            x, y = rg, pg
        if self.summation_method == "interpolation":
            heights = ops.divide(ops.add(y[: n - 1], y[1:]), 2.0)
        elif self.summation_method == "minoring":
            heights = ops.minimum(y[: n - 1], y[1:])
        else:
            heights = ops.maximum(y[: n - 1], y[1:])
        return self._average(ops.multiply(ops.subtract(x[: n - 1], x[1:]),
                                          heights))

    def reset_state(self):
        if self._built:
            super().reset_state()

    def get_config(self):
        config = {**super().get_config(), "num_thresholds": self.num_thresholds,
                  "curve": self.curve, "summation_method": self.summation_method,
                  "multi_label": self.multi_label, "num_labels": self.num_labels,
                  "label_weights": None if self.label_weights is None
                  else self.label_weights.tolist(),
                  "from_logits": self._from_logits}
        if self._init_from_thresholds:
            config["thresholds"] = self.thresholds[1:-1]
        return config


# --- X at Y: the bucketed threshold counts of AUC (200 thresholds) -------------


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
