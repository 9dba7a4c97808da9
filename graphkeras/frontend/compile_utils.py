"""What `compile(loss=..., metrics=...)` becomes: per-output losses and
metrics, resolved the way Keras 3 resolves them.

- Losses and metrics are given as one object (every output), a list (one
  per output) or a dict (by output name). Strings, classes, instances and
  plain functions are accepted.
- "accuracy" / "acc" (and "crossentropy" / "ce" for losses) resolve from
  the shapes: a last output dimension of 1 gives the binary variant; a
  target of lower rank than the output, or with a last dimension of 1
  while the output's is larger, gives the sparse categorical variant;
  otherwise categorical.
- With several outputs, per-output losses are tracked as
  "<output>_loss" and metrics are named "<output>_<metric>".
- Built-in losses check that the targets fit the outputs (no silent
  broadcasting of a (N, 1) target against a (N, 3) output), and that
  sample weights give one weight per sample (or per timestep).
- Labels of a sparse categorical crossentropy are checked against the
  number of classes before every step (`CompileLoss.check_labels`), as
  TensorFlow does: an out-of-range label is a ValueError, never a silent
  loss of 0 (the one-hot of an out-of-range index is all zeros).
"""

from __future__ import annotations

import contextlib

import numpy as np

from ..ir import IRTypeError
from . import losses as losses_module
from . import metrics as metrics_module
from . import ops, tree
from .losses.loss import Loss, LossFunctionWrapper
from .metrics.metric import Metric
from .metrics.reduction_metrics import Mean, MeanMetricWrapper


def is_binary_or_sparse_categorical(y_true_shape, y_pred_shape):
    rt, rp = len(y_true_shape), len(y_pred_shape)
    t_last = y_true_shape[-1] if rt else None
    p_last = y_pred_shape[-1] if rp else None
    is_binary = p_last == 1
    is_sparse = rt < rp or (t_last == 1 and p_last is not None and p_last > 1)
    return is_binary, is_sparse


def get_loss(identifier, y_true_shape, y_pred_shape):
    if identifier is None:
        return None
    if isinstance(identifier, str) and identifier.lower() in ("crossentropy",
                                                               "ce"):
        binary, sparse = is_binary_or_sparse_categorical(y_true_shape,
                                                         y_pred_shape)
        if binary:
            obj = losses_module.binary_crossentropy
        elif sparse:
            obj = losses_module.sparse_categorical_crossentropy
        else:
            obj = losses_module.categorical_crossentropy
    else:
        obj = losses_module.get(identifier)
    if not isinstance(obj, Loss):
        name = identifier if isinstance(identifier, str) else getattr(
            obj, "__name__", "loss")
        obj = LossFunctionWrapper(obj, name=name)
    return obj


def get_metric(identifier, y_true_shape, y_pred_shape):
    if identifier is None:
        raise ValueError("Expected a metric, received `None`.")
    if isinstance(identifier, str) and identifier.lower() in ("accuracy", "acc"):
        binary, sparse = is_binary_or_sparse_categorical(y_true_shape,
                                                         y_pred_shape)
        if binary:
            obj = metrics_module.BinaryAccuracy(name=identifier)
        elif sparse:
            obj = metrics_module.SparseCategoricalAccuracy(name=identifier)
        else:
            obj = metrics_module.CategoricalAccuracy(name=identifier)
    else:
        obj = metrics_module.get(identifier)
    if isinstance(identifier, str):
        name = identifier
    elif isinstance(obj, Metric):
        name = obj.name
    else:
        name = getattr(obj, "__name__", "metric")
    if not isinstance(obj, Metric):
        obj = MeanMetricWrapper(obj, name=name)
    obj.name = name
    return obj


_KNOWN_LOSS_FNS = None


def _loss_kind(loss: Loss):
    """"sparse", "dense" or None (custom: not checked)."""
    global _KNOWN_LOSS_FNS
    if _KNOWN_LOSS_FNS is None:
        _KNOWN_LOSS_FNS = {
            f for f in losses_module.ALL_OBJECTS.values() if not isinstance(
                f, type)
        }
    fn = getattr(loss, "fn", None)
    if fn in (losses_module.sparse_categorical_crossentropy,
              losses_module.categorical_generalized_cross_entropy):
        return "sparse"
    if fn in (losses_module.circle,  # (N,) labels for (N, D) embeddings
              losses_module.ctc):  # (N, L) labels for (N, T, K) logits
        return None
    if fn in _KNOWN_LOSS_FNS:
        return "dense"
    return None


def check_target_shape(index, output_name, loss, y_true_shape, y_pred_shape):
    kind = _loss_kind(loss)
    if kind is None:
        return
    t, p = tuple(y_true_shape[1:]), tuple(y_pred_shape[1:])
    if kind == "sparse":
        ok = t == p[:-1] or t == p[:-1] + (1,)
        expected = (None,) + p[:-1]
    else:
        ok = (t == p or (len(t) == len(p) - 1 and p and p[-1] == 1
                         and t == p[:-1])
              or (len(t) == len(p) + 1 and t and t[-1] == 1 and t[:-1] == p))
        expected = (None,) + p
    if ok:
        return
    hint = ""
    if kind == "dense" and len(p) >= 1 and p[-1] > 1 and (
        t == p[:-1] or t == p[:-1] + (1,)
    ):
        hint = (" The targets look like integer class labels: use "
                'loss="sparse_categorical_crossentropy", or one-hot encode '
                "them with keras.utils.to_categorical().")
    raise ValueError(
        f'Target {index} does not fit output "{output_name}" for loss '
        f'"{loss.name}": expected targets of shape {expected}, received '
        f"targets of shape {(None,) + t} for an output of shape "
        f"{(None,) + p}.{hint}"
    )


def check_sample_weight_shape(index, output_name, sw_shape, y_pred_shape):
    """A built-in loss reduces the last axis: its per-sample values have
    shape y_pred.shape[:-1], which the weights must broadcast to."""
    w = list(sw_shape[1:])
    while w and w[-1] == 1:
        w.pop()
    v = list(y_pred_shape[1:-1])
    if len(w) <= len(v) and all(a == b or a == 1 for a, b in zip(w, v)):
        return
    per_step = (f" or one per timestep, {(None,) + tuple(v)}" if v else "")
    raise ValueError(
        f'Sample weights {index} do not fit output "{output_name}": expected '
        f"one weight per sample, shape (None,){per_step}; received "
        f"sample_weight of shape {(None,) + tuple(sw_shape[1:])} for an "
        f"output of shape {(None,) + tuple(y_pred_shape[1:])}."
    )


def check_sparse_labels(output_name, y, n_classes, ignore_class=None):
    """Raise ValueError if integer labels `y` fall outside [0, n_classes)."""
    y = np.asarray(y)
    bad = (y < 0) | (y >= n_classes)
    if y.dtype.kind == "f":
        bad |= ~np.isfinite(y)
    if ignore_class is not None:
        bad &= y != ignore_class
    if not bad.any():
        return
    value = y[bad].flat[0]
    shown = int(value) if np.isfinite(value) else value
    raise ValueError(
        f"Received a label value of {shown} which is outside the valid range "
        f"of [0, {n_classes}) for output \"{output_name}\" "
        f"(sparse_categorical_crossentropy over {n_classes} classes). "
        "Labels must be class indices from 0 to "
        f"{n_classes - 1}; received labels from {y.min()} to {y.max()}."
    )


@contextlib.contextmanager
def _naming_errors(kind, name, output_name, y_true, y_pred):
    """An op's type error inside a loss or metric (a user's function, a
    target that does not fit) names the loss / metric, the output and the
    shapes (the IR error alone names only the op)."""
    try:
        yield
    except IRTypeError as e:
        if not getattr(e, "_loss_named", False):
            e.args = ((f'Exception encountered when computing the {kind} '
                       f'"{name}" for output "{output_name}" (targets of '
                       f"shape {tuple(y_true.shape)}, outputs of shape "
                       f"{tuple(y_pred.shape)}): {e}"),)
            e._loss_named = True
        raise


def _per_output(value, output_names, what):
    """Normalize a per-output argument to a list in output order."""
    n = len(output_names)
    if isinstance(value, dict):
        unknown = [k for k in value if k not in output_names]
        if unknown:
            raise ValueError(
                f"In the dict argument `{what}`, key '{unknown[0]}' does not "
                f"correspond to any model output. Received:\n{what}={value}\n"
                f"The model's outputs are: {output_names}"
            )
        return [value.get(name) for name in output_names]
    if isinstance(value, (list, tuple)):
        if n == 1 and what != "loss":
            return [list(value)]
        if len(value) != n:
            raise ValueError(
                f"For a model with {n} output(s), `{what}` given as a list "
                f"must have {n} entries, one per output "
                f"({output_names}). Received: {what}={value}"
            )
        return list(value)
    return [value] * n


class CompileLoss:
    """The total loss of compile(): weighted sum of per-output losses."""

    def __init__(self, loss, loss_weights=None):
        if loss_weights is not None and not isinstance(
            loss_weights, (list, tuple, dict, float, int)
        ):
            raise ValueError(
                "Expected `loss_weights` argument to be a float (single output "
                "case) or a list, tuple, or dict (multiple output case). "
                f"Received instead: loss_weights={loss_weights} of type "
                f"{type(loss_weights)}"
            )
        self._user_loss = loss
        self._user_weights = loss_weights
        self.built = False
        self.trackers: list = []
        # output index -> (classes, ignore_class) of sparse crossentropies
        self.sparse_outputs: dict = {}

    def build(self, y_true, y_pred, output_names, dict_outputs=False):
        """dict_outputs: the model returns a dict; a dict `loss` is then
        applied (and its per-output losses tracked and summed) in the
        loss dict's key order, as Keras 3 walks it."""
        loss = self._user_loss
        if isinstance(loss, (list, tuple)) and len(output_names) == 1 and len(
            loss
        ) == 1:
            loss = loss[0]
        flat = _per_output(loss, output_names, "loss")
        self.losses = [get_loss(ident, t.shape, p.shape)
                       for ident, t, p in zip(flat, y_true, y_pred)]
        w = self._user_weights
        if w is None:
            self.weights = [1.0] * len(output_names)
        else:
            if isinstance(w, (list, tuple)) and len(w) != len(output_names):
                raise ValueError(
                    f"`loss_weights` must match the number of losses, got "
                    f"{len(output_names)} losses and {len(w)} weights."
                )
            # a list is one weight per output, a single output's too
            # ([0.5]), which _per_output would read as a list of metrics
            per = list(w) if isinstance(w, (list, tuple)) else _per_output(
                w, output_names, "loss_weights")
            self.weights = [1.0 if x is None else float(x) for x in per]
        self.output_names = list(output_names)
        self.order = list(range(len(output_names)))
        if dict_outputs and isinstance(loss, dict):
            self.order = [output_names.index(k) for k in loss
                          if k in output_names]
            self.order += [i for i in range(len(output_names))
                           if i not in self.order]
        active = [i for i, l in enumerate(self.losses) if l is not None]
        self.trackers = []
        if len(active) > 1:
            self.trackers = [Mean(name=f"{output_names[i]}_loss")
                             if self.losses[i] is not None else None
                             for i in range(len(output_names))]
        self.built = True

    def __call__(self, y_true, y_pred, sample_weights, batch_size):
        total = None
        for i in self.order:
            loss, w = self.losses[i], self.weights[i]
            if loss is None:
                continue
            yt, yp = y_true[i], y_pred[i]
            check_target_shape(i, self.output_names[i], loss, yt.shape, yp.shape)
            sw = sample_weights[i] if sample_weights else None
            kind = _loss_kind(loss)
            if sw is not None and kind is not None:
                check_sample_weight_shape(i, self.output_names[i], sw.shape,
                                          yp.shape)
            if kind == "sparse":
                kwargs = getattr(loss, "_fn_kwargs", {})
                n = yp.shape[kwargs.get("axis", -1)]
                if isinstance(n, int):
                    self.sparse_outputs[i] = (n, kwargs.get("ignore_class"))
            with _naming_errors("loss", loss.name, self.output_names[i], yt,
                                yp):
                value = ops.cast(loss(yt, yp, sample_weight=sw), "float32")
            if self.trackers and self.trackers[i] is not None:
                # Keras tracks each output's loss before its loss weight.
                self.trackers[i].update_state(value, sample_weight=batch_size)
            if w != 1.0:
                value = ops.multiply(value, w)
            total = value if total is None else ops.add(total, value)
        return total

    def check_labels(self, ys) -> None:
        """Sparse labels out of range raise (see the module docstring)."""
        for i, (n, ignore) in self.sparse_outputs.items():
            if ys is not None and i < len(ys):
                check_sparse_labels(self.output_names[i], ys[i], n, ignore)

    @property
    def metrics(self) -> list:
        return [self.trackers[i] for i in self.order
                if self.trackers and self.trackers[i] is not None]


class CompileMetrics:
    """compile()'s metrics and weighted_metrics, per output."""

    def __init__(self, metrics, weighted_metrics):
        for what, value in (("metrics", metrics),
                            ("weighted_metrics", weighted_metrics)):
            if value is not None and not isinstance(value, (list, tuple,
                                                            dict)):
                raise ValueError(
                    f"Expected `{what}` argument to be a list, tuple, or "
                    f"dict. Received instead: {what}={value!r} of type "
                    f"{type(value)}"
                )
        self._user_metrics = metrics
        self._user_weighted = weighted_metrics
        self.built = False
        self.per_output: list = []  # [(metrics, weighted_metrics)] per output

    def build(self, y_true, y_pred, output_names):
        n = len(output_names)
        self.per_output = []
        unweighted = self._expand(self._user_metrics, output_names, "metrics")
        weighted = self._expand(self._user_weighted, output_names,
                                "weighted_metrics")
        for i in range(n):
            ts, ps = y_true[i].shape, y_pred[i].shape
            self.per_output.append(([get_metric(m, ts, ps) for m in unweighted[i]],
                                    [get_metric(m, ts, ps) for m in weighted[i]]))
        self._assign_names(output_names if n > 1 else None)
        # Keras 3 keeps the metrics' own names and logs them prefixed:
        # several outputs' metrics are then listed by log name, sorted
        # (evaluate()'s list; Trainer._ordered_results)
        self.prefixed = n > 1
        self.built = True

    def _assign_names(self, output_names):
        """Keras 3's log names: "<output>_<metric>" with several outputs, a
        repeated name gets "_1", "_2", ...; a weighted metric named like an
        unweighted one becomes "weighted_<metric>"."""
        seen: dict = {}

        def prefixed(i, name):
            return f"{output_names[i]}_{name}" if output_names else name

        for i, (ms, _) in enumerate(self.per_output):
            for m in ms:
                name = prefixed(i, m.name)
                if name in seen:
                    seen[name] += 1
                    name = f"{name}_{seen[name] - 1}"
                else:
                    seen[name] = 1
                m.name = name
        for i, (_, ws) in enumerate(self.per_output):
            for m in ws:
                name = prefixed(i, m.name)
                if name in seen:
                    name = prefixed(i, f"weighted_{m.name}")
                    if name in seen:
                        seen[name] += 1
                        name = f"{name}_{seen[name] - 1}"
                    else:
                        seen[name] = 1
                else:
                    seen[name] = 1
                m.name = name

    @staticmethod
    def _expand(value, output_names, what):
        if value is None:
            return [[] for _ in output_names]
        if not isinstance(value, (list, tuple, dict)):
            raise ValueError(  # noqa: TRY004  (Keras raises ValueError)
                f"Expected `{what}` argument to be a list, tuple, or dict. "
                f"Received instead: {what}={value} of type {type(value)}"
            )
        per = _per_output(value, output_names, what)
        out = []
        for x in per:
            if x is None:
                out.append([])
            elif isinstance(x, (list, tuple)):
                out.append(list(x))
            else:
                out.append([x])
        return out

    def update_state(self, y_true, y_pred, sample_weights, output_names=None):
        names = output_names or [f"output {i}" for i in range(len(y_pred))]
        for i, (ms, ws) in enumerate(self.per_output):
            for m in ms:
                with _naming_errors("metric", m.name, names[i], y_true[i],
                                    y_pred[i]):
                    m.update_state(y_true[i], y_pred[i])
            sw = sample_weights[i] if sample_weights else None
            for m in ws:
                with _naming_errors("metric", m.name, names[i], y_true[i],
                                    y_pred[i]):
                    m.update_state(y_true[i], y_pred[i], sample_weight=sw)

    @property
    def metrics(self) -> list:
        return [m for ms, ws in self.per_output for m in ms + ws]


__all__ = ["CompileLoss", "CompileMetrics", "check_target_shape", "get_loss",
           "get_metric", "tree"]
