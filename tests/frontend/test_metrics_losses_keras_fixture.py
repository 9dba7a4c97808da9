"""Metrics, losses and optimizers added for Keras parity (F-scores, IoUs,
X-at-Y, correlations; Dice, Tversky, Circle, generalized cross entropy;
Lamb, Adafactor): Keras 3's values from a fixture
(fixtures/make_keras_metrics_more.py), eagerly, compiled and run_eagerly."""

import json
import pathlib

import numpy as np
import pytest

import graphkeras as keras
from graphkeras import ops

FIX = json.loads((pathlib.Path(__file__).parent / "fixtures"
                  / "keras_metrics_more.json").read_text())
IN = {k: np.asarray(v) for k, v in FIX["inputs"].items()}
for _k in list(IN):
    if IN[_k].dtype == np.float64:
        IN[_k] = IN[_k].astype("float32")


def _data(key, i):
    if key == "ml":
        return IN[f"yt_ml_{i}"], IN[f"yp_ml_{i}"], IN[f"sw_{i}"]
    if key == "cls":
        return IN[f"yt_cls_{i}"], IN[f"yp_cls_{i}"], None
    if key == "onehot":
        return (np.eye(3, dtype="float32")[IN[f"yt_cls_{i}"]],
                IN[f"yp_prob_{i}"], None)
    if key == "bin":
        return (IN[f"yt_bin_{i}"], IN[f"yp_bin_{i}"],
                np.linspace(0.5, 1.5, 10).astype("float32"))
    return (IN[f"yt_reg_{i}"], IN[f"yp_reg_{i}"],
            np.linspace(0.2, 1.0, 5).astype("float32"))


METRICS = sorted(FIX["metrics"])


@pytest.mark.parametrize("name", METRICS)
def test_metric_matches_keras_eagerly(name):
    spec = FIX["metrics"][name]
    m = getattr(keras.metrics, spec["class_name"])(**spec["config"])
    for i in range(2):
        yt, yp, w = _data(spec["data"], i)
        m.update_state(yt, yp, sample_weight=w if spec["weighted"] else None)
    np.testing.assert_allclose(np.asarray(m.result()), spec["result"],
                               rtol=1e-5, atol=1e-6)
    again = type(m).from_config(m.get_config())
    assert again.get_config() == m.get_config()
    m.reset_state()
    assert np.all(np.asarray(m.result()) == 0)


# one batch per metric data kind, evaluated through an Identity model
_COMPILED = ["f1_micro_t", "f1_weighted_t", "fbeta2_macro_t", "mean_iou",
             "onehot_mean_iou", "p_at_r", "spec_at_sens", "concordance"]


@pytest.mark.parametrize("run_eagerly", [False, True])
def test_metrics_inside_compiled_and_eager_evaluate(run_eagerly):
    for name in _COMPILED:
        spec = FIX["metrics"][name]
        parts = [_data(spec["data"], i) for i in range(2)]
        yt = np.concatenate([p[0] for p in parts])
        yp = np.concatenate([p[1] for p in parts]).astype("float32")
        w = np.concatenate([p[2] for p in parts]) if spec["weighted"] else None
        if yp.ndim == 1:
            yp = yp[:, None]
            yt = yt[:, None]
        inp = keras.Input(yp.shape[1:])
        model = keras.Model(inp, keras.layers.Identity()(inp))
        metric = getattr(keras.metrics, spec["class_name"])(**spec["config"])
        # Keras 3 passes sample weights to weighted_metrics only
        kind = "weighted_metrics" if spec["weighted"] else "metrics"
        model.compile(loss="mse", run_eagerly=run_eagerly, **{kind: [metric]})
        out = model.evaluate(yp, yt.astype("float32"), sample_weight=w,
                             batch_size=len(yp) // 2, verbose=0,
                             return_dict=True)
        np.testing.assert_allclose(out[metric.name], np.mean(spec["result"])
                                   if np.ndim(spec["result"]) else
                                   spec["result"], rtol=1e-5, atol=1e-6,
                                   err_msg=name)


def _loss_args(key):
    if key == "seg":
        return IN["seg_t"], IN["seg_p"]
    if key == "emb":
        return IN["emb_lab"], IN["emb"]
    logits = IN["yp_prob_0"] * 3
    e = np.exp(logits - logits.max(-1, keepdims=True))
    return IN["yt_cls_0"], (e / e.sum(-1, keepdims=True)).astype("float32")


@pytest.mark.parametrize("name", sorted(FIX["losses"]))
def test_loss_matches_keras(name):
    spec = FIX["losses"][name]
    loss = getattr(keras.losses, spec["class_name"])(**spec["config"])
    yt, yp = _loss_args(spec["data"])
    np.testing.assert_allclose(float(loss(yt, yp)), spec["result"], rtol=2e-5)
    again = type(loss).from_config(loss.get_config())
    np.testing.assert_allclose(float(again(yt, yp)), spec["result"],
                               rtol=2e-5)


@pytest.mark.parametrize("run_eagerly", [False, True])
def test_losses_compiled_and_eager(run_eagerly):
    for name in ("dice_axis", "tversky", "circle", "gce"):
        spec = FIX["losses"][name]
        yt, yp = _loss_args(spec["data"])
        inp = keras.Input(yp.shape[1:])
        model = keras.Model(inp, keras.layers.Identity()(inp))
        loss = getattr(keras.losses, spec["class_name"])(**spec["config"])
        model.compile(loss=loss, run_eagerly=run_eagerly)
        got = model.evaluate(yp, yt, batch_size=len(yp), verbose=0)
        np.testing.assert_allclose(got, spec["result"], rtol=1e-4,
                                   err_msg=name)


def _opt(name):
    spec = FIX["optimizers"][name]
    return spec, getattr(keras.optimizers, spec["class_name"])(
        **spec["config"])


@pytest.mark.parametrize("name", sorted(FIX["optimizers"]))
def test_optimizer_matches_keras_eagerly(name):
    spec, opt = _opt(name)
    w = keras.Variable(IN["opt_w"])
    b = keras.Variable(IN["opt_b"])
    for i in range(3):
        opt.apply_gradients([(IN[f"opt_gw_{i}"], w), (IN[f"opt_gb_{i}"], b)])
    np.testing.assert_allclose(w.numpy(), spec["w"], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(b.numpy(), spec["b"], rtol=1e-5, atol=1e-6)
    assert keras.optimizers.get(keras.optimizers.serialize(opt)).get_config(
    ) == opt.get_config()


@pytest.mark.parametrize("run_eagerly", [False, True])
def test_optimizers_in_compiled_and_eager_fit(run_eagerly):
    """A Dense layer and a loss sum(y_true * y_pred) whose gradients are the
    fixture's: x = (e1, e2, e3, 0) and y_true chosen so that the mean over
    the batch of 4 gives exactly (gw, gb) at each of the 3 steps."""
    x = np.concatenate([np.eye(3), np.zeros((1, 3))]).astype("float32")
    ys = []
    for i in range(3):
        c = 4 * IN[f"opt_gw_{i}"]
        last = 4 * IN[f"opt_gb_{i}"] - c.sum(0)
        ys.append(np.concatenate([c, last[None]]))
    y = np.concatenate(ys).astype("float32")
    for name in sorted(FIX["optimizers"]):
        spec, opt = _opt(name)
        inp = keras.Input((3,))
        dense = keras.layers.Dense(4)
        model = keras.Model(inp, dense(inp))
        dense.set_weights([IN["opt_w"], IN["opt_b"]])
        model.compile(optimizer=opt, run_eagerly=run_eagerly,
                      loss=lambda t, p: ops.sum(ops.multiply(t, p), axis=-1))
        model.fit(np.tile(x, (3, 1)), y, batch_size=4, epochs=1,
                  shuffle=False, verbose=0)
        kw, kb = dense.get_weights()
        np.testing.assert_allclose(kw, spec["w"], rtol=1e-4, atol=1e-5,
                                   err_msg=name)
        np.testing.assert_allclose(kb, spec["b"], rtol=1e-4, atol=1e-5,
                                   err_msg=name)


def test_metric_functions_and_deserialize():
    yt, yp = IN["yt_reg_0"], IN["yp_reg_0"]
    got = keras.metrics.pearson_correlation(yt, yp)
    want = [np.corrcoef(a, b)[0, 1] for a, b in zip(yt, yp)]
    np.testing.assert_allclose(got, want, rtol=1e-5)
    assert keras.metrics.deserialize("huber") is keras.metrics.huber
    m = keras.metrics.deserialize(keras.metrics.serialize(
        keras.metrics.F1Score(average="macro", threshold=0.3)))
    assert isinstance(m, keras.metrics.F1Score) and m.threshold == 0.3
    loss = keras.losses.deserialize(keras.losses.serialize(
        keras.losses.Tversky(alpha=0.2)))
    assert loss.alpha == 0.2
    assert keras.activations.deserialize("sparsemax") is \
        keras.activations.sparsemax
    reg = keras.regularizers.deserialize(keras.regularizers.serialize(
        keras.regularizers.L2(0.3)))
    assert reg.get_config() == keras.regularizers.L2(0.3).get_config()
    con = keras.constraints.deserialize(keras.constraints.serialize(
        keras.constraints.MaxNorm(2.0)))
    assert con.get_config() == keras.constraints.MaxNorm(2.0).get_config()
    assert keras.initializers.OrthogonalInitializer is \
        keras.initializers.Orthogonal
    assert isinstance(keras.regularizers.orthogonal_regularizer(0.1),
                      keras.regularizers.OrthogonalRegularizer)


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match="Invalid `average` argument value"):
        keras.metrics.F1Score(average="mean")
    with pytest.raises(ValueError, match=r"threshold=1.5"):
        keras.metrics.FBetaScore(threshold=1.5)
    with pytest.raises(ValueError, match=r"recall=1.2"):
        keras.metrics.PrecisionAtRecall(1.2)
    with pytest.raises(ValueError, match=r"q=1.5"):
        keras.losses.CategoricalGeneralizedCrossEntropy(q=1.5)
    with pytest.raises(ValueError, match="expects 2D inputs"):
        keras.metrics.F1Score()(np.ones(3), np.ones(3))
