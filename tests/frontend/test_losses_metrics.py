"""Losses and metrics against NumPy formulas: every loss with Keras's
reductions, sample weights, from_logits and label smoothing; metric
values (accuracies, top-k, RMSE, precision / recall, AUC), names in the
logs, and custom functions."""

import numpy as np
import pytest

import graphkeras as keras
from graphkeras import losses, metrics

RNG = np.random.default_rng(21)
N, C = 12, 4
Y_REG = RNG.normal(size=(N, C)).astype("float32")
P_REG = RNG.normal(size=(N, C)).astype("float32")
Y_POS = RNG.uniform(0.1, 3, size=(N, C)).astype("float32")
P_POS = RNG.uniform(0.1, 3, size=(N, C)).astype("float32")
LABELS = RNG.integers(0, C, size=N)
Y_HOT = np.eye(C, dtype="float32")[LABELS]
LOGITS = RNG.normal(size=(N, C)).astype("float32")
PROBS = np.exp(LOGITS) / np.exp(LOGITS).sum(1, keepdims=True)
Y_BIN = RNG.integers(0, 2, size=(N, 1)).astype("float32")
P_BIN = RNG.uniform(0.02, 0.98, size=(N, 1)).astype("float32")
SW = RNG.uniform(0.5, 2, size=N).astype("float32")
EPS = 1e-7
f64 = np.float64


def _bce(y, p):
    p = np.clip(p, EPS, 1 - EPS)
    return -(y * np.log(p) + (1 - y) * np.log(1 - p))


def _softplus(x):
    return np.logaddexp(x, 0)


def _l2n(x):
    return x / np.sqrt(np.sum(x * x, -1, keepdims=True))


def _hinge_labels(y):
    return 2 * y - 1 if np.all((y == 0) | (y == 1)) else y


# name -> (loss object, y_true, y_pred, per-sample numpy function)
CASES = {
    "mse": (losses.MeanSquaredError(), Y_REG, P_REG,
            lambda y, p: np.mean((y - p) ** 2, -1)),
    "mae": (losses.MeanAbsoluteError(), Y_REG, P_REG,
            lambda y, p: np.mean(np.abs(y - p), -1)),
    "mape": (losses.MeanAbsolutePercentageError(), Y_POS, P_POS,
             lambda y, p: 100 * np.mean(np.abs((y - p) / y), -1)),
    "msle": (losses.MeanSquaredLogarithmicError(), Y_POS, P_POS,
             lambda y, p: np.mean((np.log1p(p) - np.log1p(y)) ** 2, -1)),
    "huber": (losses.Huber(delta=0.7), Y_REG, P_REG, lambda y, p: np.mean(
        np.where(np.abs(p - y) <= 0.7, 0.5 * (p - y) ** 2,
                 0.7 * np.abs(p - y) - 0.5 * 0.49), -1)),
    "log_cosh": (losses.LogCosh(), Y_REG, P_REG,
                 lambda y, p: np.mean(np.log(np.cosh(p - y)), -1)),
    "cosine": (losses.CosineSimilarity(), Y_REG, P_REG,
               lambda y, p: -np.sum(_l2n(y) * _l2n(p), -1)),
    "kld": (losses.KLDivergence(), Y_HOT * 0.7 + 0.075, PROBS,
            lambda y, p: np.sum(y * np.log(y / p), -1)),
    "poisson": (losses.Poisson(), Y_POS, P_POS,
                lambda y, p: np.mean(p - y * np.log(p + EPS), -1)),
    "hinge": (losses.Hinge(), Y_HOT, LOGITS, lambda y, p: np.mean(
        np.maximum(1 - _hinge_labels(y) * p, 0), -1)),
    "squared_hinge": (losses.SquaredHinge(), Y_HOT, LOGITS, lambda y, p: np.mean(
        np.maximum(1 - _hinge_labels(y) * p, 0) ** 2, -1)),
    "categorical_hinge": (losses.CategoricalHinge(), Y_HOT, LOGITS,
                          lambda y, p: np.maximum(
                              np.max((1 - y) * p, -1) - np.sum(y * p, -1) + 1,
                              0)),
    "cce": (losses.CategoricalCrossentropy(), Y_HOT, PROBS,
            lambda y, p: -np.sum(y * np.log(np.clip(p, EPS, 1 - EPS)), -1)),
    "cce_logits_smooth": (
        losses.CategoricalCrossentropy(from_logits=True, label_smoothing=0.2),
        Y_HOT, LOGITS, lambda y, p: -np.sum(
            (y * 0.8 + 0.2 / C) * (p - np.log(np.exp(p).sum(-1, keepdims=True))),
            -1)),
    "sparse_cce": (losses.SparseCategoricalCrossentropy(), LABELS, PROBS,
                   lambda y, p: -np.log(p[np.arange(N), y.astype(int)])),
    "sparse_cce_logits": (
        losses.SparseCategoricalCrossentropy(from_logits=True),
        LABELS[:, None], LOGITS, lambda y, p: -(
            p[np.arange(N), y[:, 0].astype(int)]
            - np.log(np.exp(p).sum(-1)))),
    "bce": (losses.BinaryCrossentropy(), Y_BIN, P_BIN,
            lambda y, p: np.mean(_bce(y, p), -1)),
    "bce_logits_smooth": (
        losses.BinaryCrossentropy(from_logits=True, label_smoothing=0.1),
        Y_BIN, LOGITS[:, :1], lambda y, p: np.mean(
            _softplus(p) - (y * 0.9 + 0.05) * p, -1)),
    "binary_focal": (losses.BinaryFocalCrossentropy(gamma=2.0), Y_BIN, P_BIN,
                     lambda y, p: np.mean((1 - (y * p + (1 - y) * (1 - p))) ** 2
                                          * _bce(y, p), -1)),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_loss_values_and_reductions(name):
    loss, y, p, fn = CASES[name]
    per_sample = fn(y.astype(f64), p.astype(f64))
    np.testing.assert_allclose(loss(y, p), per_sample.mean(), rtol=2e-5)
    np.testing.assert_allclose(loss(y, p, sample_weight=SW),
                               np.sum(per_sample * SW) / N, rtol=2e-5)
    summed = type(loss).from_config({**loss.get_config(), "reduction": "sum"})
    np.testing.assert_allclose(summed(y, p, sample_weight=SW),
                               np.sum(per_sample * SW), rtol=2e-5)
    by_weight = type(loss).from_config({**loss.get_config(),
                                        "reduction": "mean_with_sample_weight"})
    np.testing.assert_allclose(by_weight(y, p, sample_weight=SW),
                               np.sum(per_sample * SW) / SW.sum(), rtol=2e-5)
    none = type(loss).from_config({**loss.get_config(), "reduction": None})
    np.testing.assert_allclose(none(y, p), per_sample, rtol=2e-5, atol=1e-7)


def test_loss_functions_names_and_errors():
    assert losses.get("mse") is losses.mean_squared_error
    assert isinstance(losses.get("Huber"), losses.Huber)
    assert losses.get("kld") is losses.kl_divergence
    assert losses.Huber().name == "huber_loss"
    with pytest.raises(ValueError, match="Unknown loss: 'mean_sqared_error'.*"
                       "'mean_squared_error'"):
        losses.get("mean_sqared_error")
    with pytest.raises(ValueError, match="Invalid value for argument "
                       "`reduction`"):
        losses.MeanSquaredError(reduction="average")
    # hinge keeps labels that are already -1 / 1
    y = np.where(Y_HOT > 0, 1.0, -1.0).astype("float32")
    np.testing.assert_allclose(
        losses.hinge(y, LOGITS), np.mean(np.maximum(1 - y * LOGITS, 0), -1),
        rtol=1e-6)


def test_sparse_crossentropy_ignore_class_excludes_labels():
    y = LABELS.copy()
    y[:4] = -1
    loss = losses.SparseCategoricalCrossentropy(ignore_class=-1)
    keep = y >= 0
    per = -np.log(PROBS[np.arange(N), np.where(keep, y, 0)])
    np.testing.assert_allclose(loss(y, PROBS), per[keep].mean(), rtol=1e-5)


def test_compiled_losses_train_like_numpy_gradients():
    # One SGD step of a linear model with each regression loss: the update
    # is the numerical gradient of the NumPy loss (central differences).
    x = RNG.normal(size=(8, 3)).astype("float32")
    y = RNG.uniform(0.5, 2, size=(8, 2)).astype("float32")
    w0 = RNG.uniform(0.2, 0.6, size=(3, 2)).astype("float32")
    for name in ("huber", "log_cosh", "msle", "poisson"):
        loss, fn = CASES[name][0], CASES[name][3]

        model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(
            2, use_bias=False, activation="softplus")])
        model.set_weights([w0])
        model.compile(keras.optimizers.SGD(0.1), loss)
        model.train_on_batch(x, y)

        def f(w, fn=fn):
            return fn(y.astype(f64), _softplus(x.astype(f64) @ w)).mean()

        g = np.zeros_like(w0, dtype=f64)
        for idx in np.ndindex(w0.shape):
            d = np.zeros_like(g)
            d[idx] = 1e-6
            g[idx] = (f(w0 + d) - f(w0 - d)) / 2e-6
        np.testing.assert_allclose(model.get_weights()[0], w0 - 0.1 * g,
                                   rtol=1e-4, atol=1e-6, err_msg=name)


# --- metrics -----------------------------------------------------------------------


def _update(metric, y, p, sw=None):
    metric.reset_state()
    metric.update_state(y, p, sample_weight=sw)
    return float(np.asarray(metric.result()))


def test_accuracy_and_top_k_metrics():
    top2 = np.argsort(-PROBS, 1)[:, :2]
    hit2 = np.array([LABELS[i] in top2[i] for i in range(N)], f64)
    assert _update(metrics.TopKCategoricalAccuracy(k=2), Y_HOT, PROBS) == \
        pytest.approx(hit2.mean())
    assert _update(metrics.SparseTopKCategoricalAccuracy(k=2), LABELS,
                   PROBS) == pytest.approx(hit2.mean())
    hit1 = (PROBS.argmax(1) == LABELS).astype(f64)
    assert _update(metrics.CategoricalAccuracy(), Y_HOT, PROBS, SW) == \
        pytest.approx(np.sum(hit1 * SW) / SW.sum(), rel=1e-6)
    assert _update(metrics.SparseCategoricalAccuracy(), LABELS[:, None],
                   PROBS) == pytest.approx(hit1.mean())
    b = ((P_BIN > 0.5) == Y_BIN).astype(f64)
    assert _update(metrics.BinaryAccuracy(), Y_BIN, P_BIN) == \
        pytest.approx(b.mean())
    assert _update(metrics.BinaryAccuracy(threshold=0.9), Y_BIN, P_BIN) == \
        pytest.approx(((P_BIN > 0.9) == Y_BIN).mean())


def test_regression_metrics():
    err = (Y_REG - P_REG).astype(f64)
    assert _update(metrics.RootMeanSquaredError(), Y_REG, P_REG) == \
        pytest.approx(np.sqrt(np.mean(err ** 2)), rel=1e-5)
    per = np.mean(err ** 2, 1)
    assert _update(metrics.MeanSquaredError(), Y_REG, P_REG, SW) == \
        pytest.approx(np.sum(per * SW) / SW.sum(), rel=1e-5)
    assert _update(metrics.CosineSimilarity(), Y_REG, P_REG) == pytest.approx(
        np.mean(np.sum(_l2n(Y_REG) * _l2n(P_REG), -1)), rel=1e-5)
    r2 = 1 - np.sum(err ** 2, 0) / np.sum((Y_REG - Y_REG.mean(0)) ** 2, 0)
    assert _update(metrics.R2Score(), Y_REG, P_REG) == pytest.approx(
        r2.mean(), rel=1e-4)


def _confusion(y, p, t, w=None):
    w = np.ones_like(p, dtype=f64) if w is None else np.broadcast_to(
        w.reshape(-1, 1), p.shape)
    pos, pred = y != 0, p > t
    return (np.sum(w * (pos & pred)), np.sum(w * (~pos & pred)),
            np.sum(w * (~pos & ~pred)), np.sum(w * (pos & ~pred)))


def test_precision_recall_and_counts():
    tp, fp, tn, fn = _confusion(Y_BIN, P_BIN, 0.5, SW)
    assert _update(metrics.Precision(), Y_BIN, P_BIN, SW) == pytest.approx(
        tp / (tp + fp), rel=1e-6)
    assert _update(metrics.Recall(), Y_BIN, P_BIN, SW) == pytest.approx(
        tp / (tp + fn), rel=1e-6)
    for cls, v in ((metrics.TruePositives, tp), (metrics.FalsePositives, fp),
                   (metrics.TrueNegatives, tn), (metrics.FalseNegatives, fn)):
        assert _update(cls(), Y_BIN, P_BIN, SW) == pytest.approx(v, rel=1e-6)
    multi = metrics.Precision(thresholds=[0.3, 0.7])
    multi.update_state(Y_BIN, P_BIN)
    counts = [_confusion(Y_BIN, P_BIN, t) for t in (0.3, 0.7)]
    expect = [c[0] / (c[0] + c[1]) for c in counts]
    np.testing.assert_allclose(multi.result(), expect, rtol=1e-6)
    # top_k: only each row's largest prediction counts as positive
    top1 = np.zeros_like(PROBS)
    top1[np.arange(N), PROBS.argmax(1)] = 1
    prec = np.sum(top1 * Y_HOT) / N
    assert _update(metrics.Precision(top_k=1), Y_HOT, PROBS) == \
        pytest.approx(prec, rel=1e-6)
    # class_id: one column only
    c = _confusion(Y_HOT[:, 2:3], PROBS[:, 2:3], 0.2)
    assert _update(metrics.Recall(class_id=2, thresholds=0.2), Y_HOT,
                   PROBS) == pytest.approx(c[0] / (c[0] + c[3]), rel=1e-6)


def _auc_numpy(y, p, n=200, curve="ROC"):
    """Keras's AUC from its definition: T thresholds in [0, 1] widened by
    epsilon, positives counted by p > threshold, trapezoids (ROC) or the
    interpolated precision-recall curve (PR)."""
    th = np.array([-EPS] + [(i + 1) / (n - 1) for i in range(n - 2)]
                  + [1 + EPS])
    pos = (y != 0).ravel()
    p = p.ravel().astype(f64)
    tp = np.array([np.sum(pos & (p > t)) for t in th], f64)
    fp = np.array([np.sum(~pos & (p > t)) for t in th], f64)
    fn = pos.sum() - tp
    tn = (~pos).sum() - fp
    if curve == "ROC":
        x, h = fp / (fp + tn), tp / (tp + fn)
        return np.sum((x[:-1] - x[1:]) * (h[:-1] + h[1:]) / 2)
    dtp, pp = tp[:-1] - tp[1:], tp + fp
    dp = pp[:-1] - pp[1:]
    with np.errstate(all="ignore"):
        slope = np.where(dp > 0, dtp / np.where(dp > 0, dp, 1), 0)
        icpt = tp[1:] - slope * pp[1:]
        ratio = np.where((pp[:-1] > 0) & (pp[1:] > 0),
                         pp[:-1] / np.where(pp[1:] > 0, pp[1:], 1), 1)
        den = tp[1:] + fn[1:]
        inc = np.where(den > 0, slope * (dtp + icpt * np.log(ratio))
                       / np.where(den > 0, den, 1), 0)
    return inc.sum()


def test_auc_roc_and_pr():
    y = RNG.integers(0, 2, size=(60, 1)).astype("float32")
    p = np.clip(0.35 * y + 0.65 * RNG.random((60, 1)), 0, 1).astype("float32")
    assert _update(metrics.AUC(), y, p) == pytest.approx(_auc_numpy(y, p),
                                                         rel=1e-5)
    assert _update(metrics.AUC(curve="PR"), y, p) == pytest.approx(
        _auc_numpy(y, p, curve="PR"), rel=1e-5)
    # 200 thresholds approximate the exact rank statistic closely
    pos, neg = p[y == 1], p[y == 0]
    exact = np.mean(pos[:, None] > neg[None, :])
    assert _update(metrics.AUC(), y, p) == pytest.approx(exact, abs=0.01)
    logits = np.log(p / (1 - p + 1e-7) + 1e-7)
    assert _update(metrics.AUC(from_logits=True), y, logits) == pytest.approx(
        _auc_numpy(y, p), rel=1e-3)
    multi = metrics.AUC(multi_label=True)
    y2 = np.concatenate([y, 1 - y], 1)
    p2 = np.concatenate([p, 1 - p], 1)
    assert _update(multi, y2, p2) == pytest.approx(
        (_auc_numpy(y, p) + _auc_numpy(1 - y, 1 - p)) / 2, rel=1e-5)


def test_metrics_in_fit_names_and_values_like_keras():
    keras.utils.set_random_seed(1)
    model = keras.Sequential([keras.Input((C,)),
                              keras.layers.Dense(C, activation="softmax")])

    def my_metric(y_true, y_pred):
        return keras.ops.max(y_pred, axis=-1)

    model.compile("sgd", "categorical_crossentropy",
                  metrics=["accuracy", "AUC", metrics.AUC(), my_metric, "mae",
                           keras.metrics.TopKCategoricalAccuracy(k=2)],
                  weighted_metrics=["accuracy", "mae"], run_eagerly=True)
    logs = model.evaluate(LOGITS, Y_HOT, sample_weight=SW, verbose=0,
                          return_dict=True)
    auc_name = next(k for k in logs if k.startswith("auc"))
    assert sorted(logs) == sorted(["loss", "accuracy", "AUC", auc_name,
                                   "my_metric", "mae",
                                   "top_k_categorical_accuracy",
                                   "weighted_accuracy", "weighted_mae"])
    pred = model.predict(LOGITS, verbose=0)
    hit = (pred.argmax(1) == LABELS).astype(f64)
    assert logs["accuracy"] == pytest.approx(hit.mean(), rel=1e-6)
    assert logs["weighted_accuracy"] == pytest.approx(
        np.sum(hit * SW) / SW.sum(), rel=1e-6)
    assert logs["my_metric"] == pytest.approx(pred.max(1).mean(), rel=1e-5)
    assert logs["AUC"] == pytest.approx(_auc_numpy(Y_HOT, pred), rel=1e-4)
    assert metrics.get("mse").name == "mean_squared_error"
    with pytest.raises(ValueError, match="Unknown metric: 'acuracy'"):
        metrics.get("acuracy")
