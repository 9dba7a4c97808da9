"""FBetaScore and F1Score, with Keras 3's formulas, defaults and configs.

FBetaScore builds its per-class state on its first update (the class count
is y_pred's last axis); state lives in metric Variables updated with ops
inside the step, as in the other metric files.
"""

from __future__ import annotations

import numpy as np

from .. import ops, tracing
from .metric import Metric

EPSILON = 1e-7

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
