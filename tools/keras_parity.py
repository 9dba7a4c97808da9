"""Numbers of graphkeras against Keras 3, case by case (not run in CI).

The same code runs on both: `run_cases(keras)` builds small models from
identical initial weights and data (NumPy, fixed seeds), trains them a few
steps with shuffle=False, and returns named arrays (final weights, History
values, loss / metric / activation values). Keras 3 runs in the peers'
virtualenv, in a subprocess, for each backend asked; graphkeras runs here;
the script prints the worst relative difference per case.

    python tools/keras_parity.py                       # Keras on JAX
    python tools/keras_parity.py --backends jax,tensorflow,torch
    python tools/keras_parity.py --eager               # graphkeras interpreter

Invariant: nothing here is imported by graphkeras or its tests.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile

import numpy as np

PEERS_PYTHON = "/work/venv-peers/bin/python"
RNG = np.random.default_rng(1234)
X = RNG.normal(size=(48, 6)).astype("float32")
Y_REG = RNG.normal(size=(48, 3)).astype("float32")
Y_POS = np.abs(RNG.normal(size=(48, 3))).astype("float32") + 0.1
LABELS = RNG.integers(0, 3, size=48)
Y_HOT = np.eye(3, dtype="float32")[LABELS]
Y_BIN = RNG.integers(0, 2, size=(48, 1)).astype("float32")
SW = RNG.uniform(0.2, 2.0, size=48).astype("float32")
W0 = [RNG.normal(scale=0.4, size=(6, 8)).astype("float32"),
      RNG.normal(scale=0.1, size=(8,)).astype("float32"),
      RNG.normal(scale=0.4, size=(8, 3)).astype("float32"),
      RNG.normal(scale=0.1, size=(3,)).astype("float32")]


def _mlp(keras, out_activation=None, units=3, hidden="relu"):
    model = keras.Sequential([
        keras.Input((6,)),
        keras.layers.Dense(8, activation=hidden),
        keras.layers.Dense(units, activation=out_activation),
    ])
    w = list(W0)
    if units != 3:
        w[2], w[3] = w[2][:, :units], w[3][:units]
    model.set_weights(w)
    return model


def _flat(model):
    return np.concatenate([np.zeros(0, "float32")] + [
        np.ravel(w) for w in model.get_weights()])


def optimizer_cases(keras):
    opt, sch = keras.optimizers, keras.optimizers.schedules
    return {
        "sgd": lambda: opt.SGD(0.1),
        "sgd_momentum": lambda: opt.SGD(0.05, momentum=0.9),
        "sgd_nesterov": lambda: opt.SGD(0.05, momentum=0.9, nesterov=True),
        "adam": lambda: opt.Adam(0.01),
        "adam_amsgrad": lambda: opt.Adam(0.01, amsgrad=True),
        "adamw": lambda: opt.AdamW(0.01),
        "rmsprop": lambda: opt.RMSprop(0.01),
        "rmsprop_centered_momentum": lambda: opt.RMSprop(
            0.01, momentum=0.5, centered=True),
        "adagrad": lambda: opt.Adagrad(0.1),
        "adamax": lambda: opt.Adamax(0.01),
        "nadam": lambda: opt.Nadam(0.01),
        "sgd_clipnorm": lambda: opt.SGD(0.1, clipnorm=0.1),
        "sgd_clipvalue": lambda: opt.SGD(0.1, clipvalue=0.01),
        "sgd_global_clipnorm": lambda: opt.SGD(0.1, global_clipnorm=0.1),
        "adam_weight_decay": lambda: opt.Adam(0.01, weight_decay=0.1),
        "sgd_exponential": lambda: opt.SGD(sch.ExponentialDecay(
            0.1, decay_steps=2, decay_rate=0.5, staircase=True)),
        "sgd_piecewise": lambda: opt.SGD(sch.PiecewiseConstantDecay(
            [2, 4], [0.1, 0.05, 0.01])),
        "sgd_cosine": lambda: opt.SGD(sch.CosineDecay(0.1, decay_steps=5,
                                                      alpha=0.1)),
        "sgd_cosine_warmup": lambda: opt.SGD(sch.CosineDecay(
            0.0, decay_steps=4, warmup_target=0.1, warmup_steps=2)),
        "sgd_polynomial": lambda: opt.SGD(sch.PolynomialDecay(
            0.1, decay_steps=4, end_learning_rate=0.01, power=2.0)),
        "sgd_inverse_time": lambda: opt.SGD(sch.InverseTimeDecay(
            0.1, decay_steps=1, decay_rate=0.5)),
        "lion": lambda: opt.Lion(0.003),
        "lion_betas": lambda: opt.Lion(0.003, beta_1=0.5, beta_2=0.9),
        "adadelta": lambda: opt.Adadelta(1.0),
        "adadelta_rho": lambda: opt.Adadelta(0.5, rho=0.5, epsilon=1e-4),
        "ftrl": lambda: opt.Ftrl(0.1),
        "ftrl_l1_l2_shrinkage": lambda: opt.Ftrl(
            0.1, learning_rate_power=-0.3, initial_accumulator_value=0.2,
            l1_regularization_strength=0.01, l2_regularization_strength=0.02,
            l2_shrinkage_regularization_strength=0.03, beta=0.1),
        "adamw_amsgrad": lambda: opt.AdamW(0.01, weight_decay=0.05,
                                           amsgrad=True),
        "sgd_weight_decay": lambda: opt.SGD(0.1, weight_decay=0.05),
        "sgd_momentum_weight_decay": lambda: opt.SGD(
            0.05, momentum=0.9, weight_decay=0.05),
        "rmsprop_weight_decay_clipnorm": lambda: opt.RMSprop(
            0.01, weight_decay=0.02, clipnorm=0.5),
        "sgd_loss_scale_factor": lambda: opt.SGD(0.1, loss_scale_factor=64.0),
        "loss_scale_sgd": lambda: opt.LossScaleOptimizer(opt.SGD(0.1)),
        "loss_scale_adam": lambda: opt.LossScaleOptimizer(
            opt.Adam(0.01), initial_scale=64.0, dynamic_growth_steps=2),
        "adam_ema": lambda: opt.Adam(0.01, use_ema=True, ema_momentum=0.9),
        "sgd_ema_overwrite": lambda: opt.SGD(
            0.1, use_ema=True, ema_momentum=0.5, ema_overwrite_frequency=2),
    }


def loss_cases(keras):
    L = keras.losses
    reg = (Y_REG, "linear")
    pos = (Y_POS, "softplus")
    hot = (Y_HOT, "softmax")
    return {
        "mse": (L.MeanSquaredError(), reg),
        "mae": (L.MeanAbsoluteError(), reg),
        "mape": (L.MeanAbsolutePercentageError(), pos),
        "msle": (L.MeanSquaredLogarithmicError(), pos),
        "huber": (L.Huber(delta=0.5), reg),
        "log_cosh": (L.LogCosh(), reg),
        "cosine_similarity": (L.CosineSimilarity(), reg),
        "kl_divergence": (L.KLDivergence(), hot),
        "poisson": (L.Poisson(), pos),
        "hinge": (L.Hinge(), (Y_HOT, "tanh")),
        "squared_hinge": (L.SquaredHinge(), (Y_HOT, "tanh")),
        "categorical_hinge": (L.CategoricalHinge(), (Y_HOT, "linear")),
        "categorical_crossentropy": (L.CategoricalCrossentropy(), hot),
        "cce_logits_smoothing": (L.CategoricalCrossentropy(
            from_logits=True, label_smoothing=0.1), (Y_HOT, "linear")),
        "sparse_cce": (L.SparseCategoricalCrossentropy(), (LABELS, "softmax")),
        "sparse_cce_logits": (L.SparseCategoricalCrossentropy(
            from_logits=True), (LABELS, "linear")),
        "binary_crossentropy": (L.BinaryCrossentropy(), (Y_BIN, "sigmoid", 1)),
        "bce_logits_smoothing": (L.BinaryCrossentropy(
            from_logits=True, label_smoothing=0.2), (Y_BIN, "linear", 1)),
        "mse_sum": (L.MeanSquaredError(reduction="sum"), reg),
        "mse_mean_with_sample_weight": (L.MeanSquaredError(
            reduction="mean_with_sample_weight"), reg),
    }


METRICS = ["accuracy", "categorical_accuracy", "mae", "mse", "RootMeanSquaredError", "Precision", "Recall",
           "AUC", "kl_divergence", "categorical_crossentropy",
           "categorical_hinge", "cosine_similarity", "log_cosh_error"]
ACTIVATIONS = ["relu", "sigmoid", "tanh", "softmax", "log_softmax", "elu",
               "selu", "gelu", "silu", "swish", "softplus", "softsign",
               "leaky_relu", "hard_sigmoid", "exponential", "linear", "relu6",
               "mish", "hard_silu", "celu", "log_sigmoid"]


def base_cases(keras, eager=False):
    out = {}
    # optimizers: 3 epochs of 3 batches on an MSE regression
    for name, make in optimizer_cases(keras).items():
        def opt_case(make=make):
            model = _mlp(keras)
            model.compile(make(), "mse", run_eagerly=eager)
            h = model.fit(X, Y_REG, batch_size=16, epochs=3, shuffle=False,
                          verbose=0)
            return {"weights": _flat(model),
                    "loss": np.array(h.history["loss"])}
        _case(out, f"opt/{name}", opt_case)
    # losses: values (with sample weights) and one epoch of SGD
    for name, (loss, (y, act, *units)) in loss_cases(keras).items():
        model = _mlp(keras, act, units=units[0] if units else 3)
        pred = model.predict(X, verbose=0)
        out[f"loss/{name}/value"] = np.array(float(loss(y, pred)))
        out[f"loss/{name}/weighted"] = np.array(float(loss(
            y, pred, sample_weight=SW)))
        model.compile(keras.optimizers.SGD(0.05), loss, run_eagerly=eager)
        h = model.fit(X, y, batch_size=16, epochs=1, shuffle=False, verbose=0)
        out[f"loss/{name}/weights"] = _flat(model)
        out[f"loss/{name}/history"] = np.array(h.history["loss"])
    # metrics: one epoch of training, then evaluate with sample weights
    model = _mlp(keras, "softmax")
    model.compile(keras.optimizers.SGD(0.1), "categorical_crossentropy",
                  metrics=METRICS + [keras.metrics.TopKCategoricalAccuracy(
                      k=2, name="top2")],
                  weighted_metrics=["accuracy", "AUC"],
                  run_eagerly=eager)
    h = model.fit(X, Y_HOT, batch_size=16, epochs=2, shuffle=False, verbose=0)
    for k, v in h.history.items():
        out[f"metric/fit/{k}"] = np.array(v)
    res = model.evaluate(X, Y_HOT, sample_weight=SW, batch_size=20,
                         verbose=0, return_dict=True)
    for k, v in res.items():
        out[f"metric/evaluate/{k}"] = np.array(v)
    out["metric/keys"] = np.array(sorted(h.history))
    # binary metrics on a sigmoid output
    model = _mlp(keras, "sigmoid", units=1)
    model.compile("sgd", "binary_crossentropy",
                  metrics=["accuracy", "AUC", keras.metrics.AUC(curve="PR"),
                           "Precision", "Recall"], run_eagerly=eager)
    res = model.evaluate(X, Y_BIN, batch_size=16, verbose=0, return_dict=True)
    for k, v in res.items():
        out[f"metric/binary/{k}"] = np.array(v)
    # activations: values on a grid
    grid = np.linspace(-5, 5, 41, dtype="float32").reshape(1, -1)
    for name in ACTIVATIONS:
        out[f"activation/{name}"] = np.asarray(keras.ops.convert_to_numpy(
            keras.activations.get(name)(grid)))
    # layers: BatchNormalization / LayerNormalization / PReLU / merges
    inp = keras.Input((6,))
    # no bias before BatchNormalization: its gradient is rounding noise
    # (the normalization removes it), which Adam would amplify
    a = keras.layers.Dense(8, use_bias=False)(inp)
    b = keras.layers.BatchNormalization()(a)
    c = keras.layers.LayerNormalization()(keras.layers.PReLU()(b))
    d = keras.layers.Concatenate()([keras.layers.Add()([b, c]),
                                    keras.layers.Dot(axes=1)([b, c])])
    e = keras.layers.Dense(3)(keras.layers.LeakyReLU()(d))
    model = keras.Model(inp, e)
    rng = np.random.default_rng(7)
    model.set_weights([rng.normal(scale=0.3, size=w.shape).astype("float32")
                       if len(w.shape) > 1 else w
                       for w in model.get_weights()])
    model.compile(keras.optimizers.Adam(0.01), "mse", run_eagerly=eager)
    h = model.fit(X, Y_REG, batch_size=16, epochs=3, shuffle=False, verbose=0)
    out["layers/weights"] = _flat(model)
    out["layers/loss"] = np.array(h.history["loss"])
    out["layers/predict"] = model.predict(X, verbose=0)
    # multi-output: History keys and values with loss weights
    inp = keras.Input((6,), name="x")
    hdn = keras.layers.Dense(8, activation="relu", name="hidden")(inp)
    o1 = keras.layers.Dense(3, activation="softmax", name="cls")(hdn)
    o2 = keras.layers.Dense(1, name="reg")(hdn)
    model = keras.Model(inp, [o1, o2])
    model.set_weights([W0[0], W0[1], W0[2], W0[3], W0[2][:, :1], W0[3][:1]])
    model.compile(keras.optimizers.SGD(0.05),
                  ["categorical_crossentropy", "mse"], loss_weights=[1.0, 0.5],
                  metrics=[["accuracy"], ["mae"]], run_eagerly=eager)
    h = model.fit(X, [Y_HOT, Y_REG[:, :1]], batch_size=16, epochs=2,
                  shuffle=False, verbose=0, validation_split=0.25)
    for k, v in h.history.items():
        out[f"multi/{k}"] = np.array(v)
    return out


# --- the wider sweep: models our users train, fit features, layers ----------

def _case(out: dict, prefix: str, fn) -> None:
    """Run one case; its arrays go under `prefix/`, a failure is recorded as
    `prefix/ERROR` (a string) instead of stopping the sweep."""
    try:
        for k, v in fn().items():
            out[f"{prefix}/{k}"] = np.asarray(v)
    except Exception as e:  # noqa: BLE001  (a report, not a program)
        out[f"{prefix}/ERROR"] = np.array([f"{type(e).__name__}: {e}"[:300]])


def _seeded(model, seed):
    """Identical initial weights in both frameworks: kernels N(0, 0.5 /
    sqrt(fan_in)), vectors (biases, gammas, moving statistics) their
    default plus N(0, 0.05), in get_weights() order."""
    rng = np.random.default_rng(seed)
    new = []
    for w in model.get_weights():
        w = np.asarray(w)
        if w.ndim >= 2:
            fan_in = int(np.prod(w.shape[:-1]))
            new.append(rng.normal(scale=0.5 / np.sqrt(fan_in),
                                  size=w.shape).astype(w.dtype))
        elif w.dtype.kind == "f":
            new.append((w + rng.normal(scale=0.05, size=w.shape)).astype(
                w.dtype))
        else:
            new.append(w)
    model.set_weights(new)
    return model


def _fit_record(model, x, y, eager, epochs=2, batch_size=8, opt=None,
                loss="mse", metrics=None, **fit_kw):
    model.compile(opt, loss, metrics=metrics, run_eagerly=eager)
    h = model.fit(x, y, batch_size=batch_size, epochs=epochs, shuffle=False,
                  verbose=0, **fit_kw)
    res = {"weights": _flat(model), "predict": model.predict(x, verbose=0)}
    for k, v in h.history.items():
        res[f"history_{k}"] = np.array(v)
    return res


def _forward_and_step(keras, model, x, seed, eager):
    """Predict from seeded weights, then one epoch of SGD on an MSE to a
    fixed target (checks the gradients of every weight)."""
    _seeded(model, seed)
    pred = model.predict(x, verbose=0)
    target = np.random.default_rng(seed + 1).normal(
        size=pred.shape).astype("float32")
    model.compile(keras.optimizers.SGD(0.05), "mse", run_eagerly=eager)
    h = model.fit(x, target, batch_size=4, epochs=1, shuffle=False,
                  verbose=0)
    return {"predict": pred, "weights": _flat(model),
            "loss": np.array(h.history["loss"])}


def cnn_cases(keras, eager):
    L = keras.layers
    out = {}
    rng = np.random.default_rng(11)
    x = rng.normal(size=(20, 10, 10, 3)).astype("float32")
    y = np.eye(4, dtype="float32")[rng.integers(0, 4, 20)]

    def small_cnn():
        inp = keras.Input((10, 10, 3))
        h = L.Conv2D(6, 3, padding="same", use_bias=False)(inp)
        h = L.BatchNormalization()(h)
        h = L.Activation("relu")(h)
        h = L.MaxPooling2D(2)(h)
        h = L.Conv2D(8, 3, strides=2, padding="valid", use_bias=False)(h)
        h = L.BatchNormalization(momentum=0.9)(h)
        h = L.Activation("relu")(h)
        h = L.AveragePooling2D(2, strides=1, padding="same")(h)
        g = L.GlobalAveragePooling2D()(h)
        f = L.Flatten()(h)
        o = L.Dense(4, activation="softmax")(L.Concatenate()([g, f]))
        model = _seeded(keras.Model(inp, o), 3)
        res = _fit_record(model, x, y, eager, opt=keras.optimizers.Adam(0.01),
                          loss="categorical_crossentropy",
                          metrics=["accuracy"])
        res["evaluate"] = np.array(model.evaluate(x, y, verbose=0))
        return res
    _case(out, "cnn/small_cnn_adam", small_cnn)

    x1 = rng.normal(size=(8, 12, 3)).astype("float32")
    x2 = rng.normal(size=(8, 7, 7, 4)).astype("float32")
    layers_1d = {
        "conv1d_same_strided": lambda: L.Conv1D(5, 3, strides=2,
                                                padding="same"),
        "conv1d_causal_dilated": lambda: L.Conv1D(4, 3, padding="causal",
                                                  dilation_rate=2),
        "conv1d_valid_relu": lambda: L.Conv1D(4, 5, activation="relu"),
        "conv1d_transpose": lambda: L.Conv1DTranspose(3, 3, strides=2),
        "max_pool1d_same": lambda: L.MaxPooling1D(3, strides=2,
                                                  padding="same"),
        "avg_pool1d_same": lambda: L.AveragePooling1D(3, strides=2,
                                                      padding="same"),
        "global_max_pool1d": lambda: L.GlobalMaxPooling1D(),
        "upsampling1d": lambda: L.UpSampling1D(2),
    }
    layers_2d = {
        "conv2d_same_strided": lambda: L.Conv2D(5, 3, strides=2,
                                                padding="same"),
        "conv2d_valid_rect": lambda: L.Conv2D(4, (3, 2), strides=(1, 2)),
        "conv2d_dilated": lambda: L.Conv2D(3, 3, dilation_rate=2,
                                           padding="same"),
        "conv2d_groups": lambda: L.Conv2D(4, 3, groups=2),
        "separable_conv2d": lambda: L.SeparableConv2D(5, 3, padding="same",
                                                      depth_multiplier=2),
        "separable_conv2d_strided": lambda: L.SeparableConv2D(
            3, 3, strides=2),
        "depthwise_conv2d": lambda: L.DepthwiseConv2D(3, depth_multiplier=2),
        "depthwise_conv2d_same_strided": lambda: L.DepthwiseConv2D(
            3, strides=2, padding="same"),
        "conv2d_transpose_same": lambda: L.Conv2DTranspose(3, 3, strides=2,
                                                           padding="same"),
        "conv2d_transpose_valid": lambda: L.Conv2DTranspose(3, 3, strides=2),
        "conv2d_transpose_k4s2": lambda: L.Conv2DTranspose(2, 4, strides=2,
                                                           padding="same"),
        "upsampling2d_nearest": lambda: L.UpSampling2D(2),
        "upsampling2d_bilinear": lambda: L.UpSampling2D(
            (2, 3), interpolation="bilinear"),
        "max_pool2d_same": lambda: L.MaxPooling2D(3, strides=2,
                                                  padding="same"),
        "avg_pool2d_same": lambda: L.AveragePooling2D(3, strides=2,
                                                      padding="same"),
        "avg_pool2d_valid": lambda: L.AveragePooling2D(2),
        "global_max_pool2d": lambda: L.GlobalMaxPooling2D(),
        "zero_padding_cropping": lambda: keras.Sequential([
            L.ZeroPadding2D(((1, 2), (0, 1))), L.Cropping2D((1, 2))]),
        "group_normalization": lambda: L.GroupNormalization(groups=2),
        "batch_norm_inference": lambda: L.BatchNormalization(),
    }
    for name, make in layers_1d.items():
        _case(out, f"cnn/{name}", lambda make=make: _forward_and_step(
            keras, keras.Sequential([keras.Input(x1.shape[1:]), make()]),
            x1, 21, eager))
    for name, make in layers_2d.items():
        _case(out, f"cnn/{name}", lambda make=make: _forward_and_step(
            keras, keras.Sequential([keras.Input(x2.shape[1:]), make()]),
            x2, 22, eager))
    return out


def _tokens(rng, n=24, t=7, vocab=20):
    x = rng.integers(1, vocab, size=(n, t))
    lengths = rng.integers(2, t + 1, size=n)
    for i, ln in enumerate(lengths):
        if i % 3 == 2:   # some rows padded in front
            x[i, :t - ln] = 0
        else:
            x[i, ln:] = 0
    return x.astype("int32")


def text_cases(keras, eager):
    L = keras.layers
    out = {}
    rng = np.random.default_rng(5)
    x = _tokens(rng)
    y = rng.integers(0, 3, size=len(x))
    body = {
        "lstm_seq_gap": lambda: [L.LSTM(6, return_sequences=True),
                                 L.GlobalAveragePooling1D()],
        "lstm_last": lambda: [L.LSTM(6)],
        "gru_reset_after": lambda: [L.GRU(6)],
        "gru_reset_before_seq_gap": lambda: [
            L.GRU(6, reset_after=False, return_sequences=True),
            L.GlobalAveragePooling1D()],
        "bidirectional_lstm_seq_gap": lambda: [
            L.Bidirectional(L.LSTM(5, return_sequences=True)),
            L.GlobalAveragePooling1D()],
        "bidirectional_gru_sum": lambda: [
            L.Bidirectional(L.GRU(4), merge_mode="sum")],
        "simple_rnn": lambda: [L.SimpleRNN(6)],
        "simple_rnn_seq_gmp": lambda: [L.SimpleRNN(6, return_sequences=True),
                                       L.GlobalMaxPooling1D()],
        "stacked_lstm_gru": lambda: [L.LSTM(5, return_sequences=True),
                                     L.GRU(4)],
        "embedding_gap_only": lambda: [L.GlobalAveragePooling1D()],
    }
    for name, make in body.items():
        def text_case(make=make):
            model = keras.Sequential(
                [keras.Input((x.shape[1],), dtype="int32"),
                 L.Embedding(20, 8, mask_zero=True), *make(),
                 L.Dense(3, activation="softmax")])
            _seeded(model, 9)
            pred0 = model.predict(x, verbose=0)
            res = _fit_record(model, x, y, eager,
                              opt=keras.optimizers.Adam(0.01),
                              loss="sparse_categorical_crossentropy",
                              metrics=["accuracy"])
            res["predict0"] = pred0
            return res
        _case(out, f"text/{name}", text_case)
    return out


def timeseries_cases(keras, eager):
    L = keras.layers
    out = {}
    rng = np.random.default_rng(17)
    t = np.arange(40 * 12).reshape(40, 12, 1) * 0.1
    x = np.concatenate([np.sin(t), np.cos(0.7 * t)], axis=-1)
    x = (x + 0.1 * rng.normal(size=x.shape)).astype("float32")
    y = x[:, -1, :1] * 0.5 + 0.1
    xv, yv = x[:10] * 0.9, y[:10] * 0.9

    def forecaster():
        model = keras.Sequential([
            keras.Input((12, 2)),
            L.Conv1D(8, 3, padding="causal", activation="relu"),
            L.LSTM(6), L.Dense(1)])
        _seeded(model, 4)
        return _fit_record(model, x, y, eager, opt=keras.optimizers.Adam(0.01),
                           loss="mse", metrics=["mae"], epochs=2,
                           validation_data=(xv, yv))
    _case(out, "ts/conv1d_lstm_forecaster", forecaster)

    def gru_seq2seq():
        model = keras.Sequential([
            keras.Input((12, 2)), L.GRU(5, return_sequences=True),
            L.TimeDistributed(L.Dense(1)), L.Flatten(), L.Dense(1)])
        _seeded(model, 5)
        return _fit_record(model, x, y, eager,
                           opt=keras.optimizers.RMSprop(0.005), loss="huber",
                           epochs=2, validation_split=0.2)
    _case(out, "ts/gru_timedistributed_split", gru_seq2seq)
    return out


def fit_cases(keras, eager):
    out = {}
    opt = keras.optimizers
    cb = keras.callbacks

    def run(fit_kw, loss="mse", y=Y_REG, act=None, metrics=("mae",),
            optimizer=None, evaluate=True):
        model = _mlp(keras, act)
        model.compile(optimizer or opt.SGD(0.05), loss,
                      metrics=list(metrics), run_eagerly=eager)
        kw = {"batch_size": 16, "epochs": 2, "shuffle": False, "verbose": 0}
        kw.update(fit_kw)
        h = model.fit(X, y, **kw)
        res = {"weights": _flat(model), "epochs": np.array(h.epoch)}
        for k, v in h.history.items():
            res[f"history_{k}"] = np.array(v, dtype=np.float64)
        if evaluate:
            res["evaluate"] = np.array(model.evaluate(X, y, verbose=0))
        return res

    _case(out, "fit/class_weight", lambda: run(
        {"class_weight": {0: 1.0, 1: 2.0, 2: 0.5}}, "categorical_crossentropy",
        Y_HOT, "softmax", ("accuracy",)))
    _case(out, "fit/class_weight_sparse", lambda: run(
        {"class_weight": {0: 0.3, 1: 1.0, 2: 3.0}},
        "sparse_categorical_crossentropy", LABELS, "softmax",
        ("accuracy",)))
    _case(out, "fit/sample_weight", lambda: run({"sample_weight": SW}))
    def _weighted():
        model = _mlp(keras)
        model.compile(opt.SGD(0.05), "mse", metrics=["mae"],
                      weighted_metrics=["mse"], run_eagerly=eager)
        h = model.fit(X, Y_REG, sample_weight=SW, batch_size=10, epochs=2,
                      shuffle=False, verbose=0)
        return {**{f"history_{k}": np.array(v) for k, v in h.history.items()},
                "evaluate": np.array(model.evaluate(
                    X, Y_REG, sample_weight=SW, verbose=0, batch_size=7))}
    _case(out, "fit/sample_weight_weighted_metrics", _weighted)
    _case(out, "fit/validation_split_partial", lambda: run(
        {"validation_split": 0.3, "batch_size": 10}))
    _case(out, "fit/partial_last_batch", lambda: run({"batch_size": 20}))
    _case(out, "fit/steps_per_epoch", lambda: run(
        {"batch_size": 8, "steps_per_epoch": 4, "epochs": 3}))
    _case(out, "fit/initial_epoch", lambda: run(
        {"initial_epoch": 1, "epochs": 3}))
    _case(out, "fit/validation_freq", lambda: run(
        {"validation_split": 0.25, "epochs": 4, "validation_freq": 2}))
    _case(out, "fit/reduce_lr_on_plateau", lambda: run(
        {"epochs": 4, "callbacks": [cb.ReduceLROnPlateau(
            monitor="loss", factor=0.5, patience=0, min_delta=10.0)]}))
    _case(out, "fit/reduce_lr_on_plateau_val", lambda: run(
        {"epochs": 5, "validation_split": 0.25, "callbacks": [
            cb.ReduceLROnPlateau(monitor="val_loss", factor=0.2, patience=1,
                                 min_delta=0.05, cooldown=1,
                                 min_lr=0.004)]}))
    _case(out, "fit/early_stopping_restore", lambda: run(
        {"epochs": 8, "validation_split": 0.25, "callbacks": [
            cb.EarlyStopping(monitor="val_loss", patience=2, min_delta=1.0,
                             restore_best_weights=True)]}))
    _case(out, "fit/early_stopping_baseline", lambda: run(
        {"epochs": 6, "callbacks": [
            cb.EarlyStopping(monitor="loss", patience=1, baseline=0.01,
                             restore_best_weights=True)]}))
    _case(out, "fit/early_stopping_max_mode", lambda: run(
        {"epochs": 6, "callbacks": [
            cb.EarlyStopping(monitor="accuracy", patience=1, mode="max",
                             min_delta=0.5, start_from_epoch=1)]},
        "categorical_crossentropy", Y_HOT, "softmax", ("accuracy",)))
    _case(out, "fit/lr_scheduler", lambda: run(
        {"epochs": 3, "callbacks": [cb.LearningRateScheduler(
            lambda epoch, lr: lr * 0.5 if epoch > 0 else lr)]},
        optimizer=opt.Adam(0.01)))
    _case(out, "fit/lr_scheduler_epoch_only", lambda: run(
        {"epochs": 3, "callbacks": [cb.LearningRateScheduler(
            lambda epoch: 0.1 / (1 + epoch))]}))

    def _nometric():
        model = _mlp(keras)
        model.compile(opt.SGD(0.05), "mse", run_eagerly=eager)
        return model

    def eval_orders():
        inp = keras.Input((6,), name="x")
        hdn = keras.layers.Dense(8, activation="relu", name="hidden")(inp)
        o1 = keras.layers.Dense(3, activation="softmax", name="cls")(hdn)
        o2 = keras.layers.Dense(1, name="reg")(hdn)
        model = keras.Model(inp, [o1, o2])
        model.set_weights([W0[0], W0[1], W0[2], W0[3], W0[2][:, :1],
                           W0[3][:1]])
        model.compile(opt.SGD(0.05), ["categorical_crossentropy", "mse"],
                      loss_weights=[1.0, 0.5],
                      metrics=[["accuracy"], ["mae", "mse"]],
                      run_eagerly=eager)
        ys = [Y_HOT, Y_REG[:, :1]]
        lst = model.evaluate(X, ys, verbose=0, batch_size=7)
        dct = model.evaluate(X, ys, verbose=0, batch_size=7, return_dict=True)
        single = _mlp(keras)
        single.compile(opt.SGD(0.05), "mse", metrics=["mae", "mse"],
                       run_eagerly=eager)
        return {"list": np.array(lst), "dict_keys": np.array(list(dct)),
                "dict_values": np.array(list(dct.values())),
                "single_list": np.array(single.evaluate(X, Y_REG, verbose=0)),
                "single_nometric": np.array(_nometric().evaluate(
                    X, Y_REG, verbose=0)),
                "predict_b1": single.predict(X[:5], batch_size=1, verbose=0),
                "predict_b7": single.predict(X, batch_size=7, verbose=0),
                "predict_on_batch": np.asarray(single.predict_on_batch(X[:3])),
                "train_on_batch": np.array(single.train_on_batch(
                    X[:8], Y_REG[:8])),
                "test_on_batch": np.array(single.test_on_batch(
                    X[:8], Y_REG[:8])),
                "weights_after": _flat(single)}
    _case(out, "fit/evaluate_orders_predict", eval_orders)
    return out


def regularizer_cases(keras, eager):
    L, R = keras.layers, keras.regularizers
    out = {}

    def model_with(kw1):
        def make():
            kw = kw1()
            model = keras.Sequential([
                keras.Input((6,)), L.Dense(8, activation="relu", **kw),
                L.Dense(3, kernel_regularizer=R.L1L2(0.01, 0.02))])
            model.set_weights(W0)
            model.compile(keras.optimizers.SGD(0.05), "mse", metrics=["mse"],
                          run_eagerly=eager)
            h = model.fit(X, Y_REG, batch_size=16, epochs=2, shuffle=False,
                          verbose=0, validation_split=0.25)
            res = {f"history_{k}": np.array(v) for k, v in h.history.items()}
            res["weights"] = _flat(model)
            res["evaluate"] = np.array(model.evaluate(X, Y_REG, verbose=0))
            if "activity_regularizer" not in kw:
                # (activity losses of the last call linger on torch / TF)
                res["losses"] = np.array([float(
                    keras.ops.convert_to_numpy(v)) for v in model.losses])
            return res
        return make
    _case(out, "reg/l1_kernel", model_with(lambda: {
        "kernel_regularizer": R.L1(0.01)}))
    _case(out, "reg/l2_kernel_bias", model_with(lambda: {
        "kernel_regularizer": R.L2(0.02), "bias_regularizer": "l2"}))
    _case(out, "reg/activity_l2", model_with(lambda: {
        "activity_regularizer": R.L2(0.001)}))
    _case(out, "reg/activity_l1_kernel_l1l2", model_with(lambda: {
        "activity_regularizer": R.L1(0.001),
        "kernel_regularizer": R.L1L2(0.01, 0.01)}))
    _case(out, "reg/orthogonal", model_with(lambda: {
        "kernel_regularizer": R.OrthogonalRegularizer(0.01)}))
    return out


def misc_layer_cases(keras, eager):
    L = keras.layers
    out = {}
    rng = np.random.default_rng(23)
    x3 = rng.normal(size=(8, 5, 6)).astype("float32")
    x4 = rng.normal(size=(8, 4, 4, 6)).astype("float32")
    cases = {
        "layer_norm_3d": (lambda: L.LayerNormalization(), x3),
        "layer_norm_axes": (lambda: L.LayerNormalization(
            axis=[1, 2], epsilon=1e-3), x3),
        "layer_norm_no_center": (lambda: L.LayerNormalization(
            center=False, rms_scaling=True), x3),
        "group_norm_3d": (lambda: L.GroupNormalization(groups=3), x3),
        "group_norm_4d_no_scale": (lambda: L.GroupNormalization(
            groups=2, scale=False, epsilon=1e-2), x4),
        "batch_norm_3d": (lambda: L.BatchNormalization(), x3),
        "unit_normalization": (lambda: L.UnitNormalization(), x3),
        "dropout_inference": (lambda: keras.Sequential([
            L.Dense(6), L.Dropout(0.5), L.SpatialDropout1D(0.3),
            L.GaussianNoise(0.3), L.GaussianDropout(0.2)]), x3),
        "alpha_dropout_inference": (lambda: keras.Sequential([
            L.Dense(6), L.AlphaDropout(0.2)]), x3),
        "dense_3d": (lambda: L.Dense(4, activation="gelu"), x3),
        "einsum_dense": (lambda: L.EinsumDense(
            "abc,cd->abd", output_shape=(None, 4), bias_axes="d"), x3),
    }
    random_in_training = {"dropout_inference", "alpha_dropout_inference"}
    for name, (make, x) in cases.items():
        if name in random_in_training:   # compare inference only
            _case(out, f"layer/{name}", lambda make=make, x=x: {
                "predict": _seeded(keras.Sequential(
                    [keras.Input(x.shape[1:]), make()]), 31).predict(
                        x, verbose=0)})
            continue
        _case(out, f"layer/{name}", lambda make=make, x=x: _forward_and_step(
            keras, keras.Sequential([keras.Input(x.shape[1:]), make()]),
            x, 31, eager))

    q = rng.normal(size=(6, 5, 6)).astype("float32")
    v = rng.normal(size=(6, 7, 6)).astype("float32")
    amask = rng.integers(0, 2, size=(6, 5, 7)).astype(bool)
    amask[:, :, 0] = True

    def mha(self_attn=False, causal=False, mask=False, **kw):
        def make():
            qi = keras.Input((5, 6))
            vi = keras.Input((7, 6))
            mi = keras.Input((5, 7), dtype="bool")
            layer = L.MultiHeadAttention(**kw)
            if self_attn:
                o = layer(qi, qi, use_causal_mask=causal)
                inputs, data = [qi], [q]
            elif mask:
                o = layer(qi, vi, attention_mask=mi)
                inputs, data = [qi, vi, mi], [q, v, amask]
            else:
                o = layer(qi, vi)
                inputs, data = [qi, vi], [q, v]
            model = _seeded(keras.Model(inputs, o), 41)
            pred = model.predict(data, verbose=0)
            target = np.random.default_rng(3).normal(
                size=pred.shape).astype("float32")
            model.compile(keras.optimizers.SGD(0.05), "mse",
                          run_eagerly=eager)
            h = model.fit(data, target, batch_size=4, epochs=1,
                          shuffle=False, verbose=0)
            return {"predict": pred, "weights": _flat(model),
                    "loss": np.array(h.history["loss"])}
        return make
    _case(out, "layer/mha_cross", mha(num_heads=2, key_dim=4))
    _case(out, "layer/mha_self_causal", mha(True, True, num_heads=3,
                                            key_dim=2))
    # (Keras 3.15 on JAX fails on value_dim != key_dim: compare on torch)
    _case(out, "layer/mha_value_dim", mha(num_heads=3, key_dim=2,
                                          value_dim=3))
    _case(out, "layer/mha_attention_mask", mha(mask=True, num_heads=2,
                                               key_dim=3, output_shape=4))
    return out


def extra_cases(keras, eager):
    """Common pieces beyond the groups above: more losses and metrics,
    channels_first convolutions, unmasked text, TimeDistributed."""
    L = keras.layers
    out = {}
    losses = keras.losses
    more_losses = {
        "binary_focal": (lambda: losses.BinaryFocalCrossentropy(gamma=2.0),
                         (Y_BIN, "sigmoid", 1)),
        "binary_focal_balanced": (lambda: losses.BinaryFocalCrossentropy(
            apply_class_balancing=True, alpha=0.3, from_logits=True),
            (Y_BIN, "linear", 1)),
        "categorical_focal": (lambda: losses.CategoricalFocalCrossentropy(),
                              (Y_HOT, "softmax")),
        "sparse_cce_ignore_class": (lambda: losses.SparseCategoricalCrossentropy(
            ignore_class=1), (LABELS, "softmax")),
        "dice": (lambda: losses.Dice(), (Y_BIN, "sigmoid", 1)),
        "tversky": (lambda: losses.Tversky(alpha=0.3, beta=0.7),
                    (Y_BIN, "sigmoid", 1)),
        "binary_crossentropy_axis": (lambda: losses.BinaryCrossentropy(
            label_smoothing=0.1), (Y_HOT, "sigmoid")),
    }
    for name, (make, (y, act, *units)) in more_losses.items():
        def loss_case(make=make, y=y, act=act, units=units):
            loss = make()
            model = _mlp(keras, act, units=units[0] if units else 3)
            pred = model.predict(X, verbose=0)
            res = {"value": np.array(float(loss(y, pred))),
                   "weighted": np.array(float(loss(y, pred,
                                                   sample_weight=SW)))}
            model.compile(keras.optimizers.SGD(0.05), loss, run_eagerly=eager)
            h = model.fit(X, y, batch_size=16, epochs=1, shuffle=False,
                          verbose=0)
            res["weights"] = _flat(model)
            res["history"] = np.array(h.history["loss"])
            return res
        _case(out, f"extra/loss_{name}", loss_case)

    M = keras.metrics
    more_metrics = {
        "regression": (lambda: [M.R2Score(), M.MeanSquaredLogarithmicError(),
                                M.MeanAbsolutePercentageError(),
                                M.LogCoshError(), M.CosineSimilarity()],
                       Y_POS, "softplus", 3),
        "classification": (lambda: [
            M.SparseCategoricalAccuracy(), M.SparseTopKCategoricalAccuracy(k=2),
            M.SparseCategoricalCrossentropy()], LABELS, "softmax", 3),
        "f1_iou": (lambda: [M.F1Score(average="macro", threshold=0.4),
                            M.FBetaScore(beta=2.0, average="weighted"),
                            M.OneHotIoU(num_classes=3, target_class_ids=[0, 2]),
                            M.OneHotMeanIoU(num_classes=3)],
                   Y_HOT, "softmax", 3),
        "binary_thresholds": (lambda: [
            M.BinaryAccuracy(threshold=0.4), M.Precision(thresholds=[0.3, 0.6]),
            M.Recall(top_k=None, thresholds=0.7), M.TruePositives(),
            M.FalseNegatives(), M.AUC(num_thresholds=50, summation_method="minoring"),
            M.PrecisionAtRecall(0.5), M.SensitivityAtSpecificity(0.5),
            M.BinaryCrossentropy(label_smoothing=0.1), M.Hinge()],
            Y_BIN, "sigmoid", 1),
    }
    for name, (make, y, act, units) in more_metrics.items():
        def metric_case(make=make, y=y, act=act, units=units):
            model = _mlp(keras, act, units=units)
            loss = ("sparse_categorical_crossentropy" if y is LABELS else
                    "binary_crossentropy" if units == 1 else "mse")
            model.compile(keras.optimizers.SGD(0.05), loss, metrics=make(),
                          run_eagerly=eager)
            h = model.fit(X, y, batch_size=16, epochs=2, shuffle=False,
                          verbose=0)
            res = {f"fit_{k}": np.array(v) for k, v in h.history.items()}
            ev = model.evaluate(X, y, sample_weight=SW, batch_size=10,
                                verbose=0, return_dict=True)
            res.update({f"eval_{k}": np.array(v) for k, v in ev.items()})
            return res
        _case(out, f"extra/metrics_{name}", metric_case)

    rng = np.random.default_rng(29)
    x_cf = rng.normal(size=(8, 3, 7, 7)).astype("float32")
    x4 = rng.normal(size=(8, 7, 7, 3)).astype("float32")
    cf = {
        "conv2d_channels_first": lambda: L.Conv2D(4, 3, padding="same",
                                                  data_format="channels_first"),
        "maxpool_channels_first": lambda: L.MaxPooling2D(
            2, data_format="channels_first"),
        "gap_channels_first": lambda: L.GlobalAveragePooling2D(
            data_format="channels_first"),
        "bn_axis1": lambda: L.BatchNormalization(axis=1),
    }
    for name, make in cf.items():
        _case(out, f"extra/{name}", lambda make=make: _forward_and_step(
            keras, keras.Sequential([keras.Input(x_cf.shape[1:]), make()]),
            x_cf, 24, eager))
    nhwc = {
        "conv2d_bias_relu_l2": lambda: L.Conv2D(
            4, 2, activation="relu", kernel_regularizer="l2"),
        "global_avg_keepdims": lambda: L.GlobalAveragePooling2D(
            keepdims=True),
        "spatial_dropout_flatten_dense": lambda: keras.Sequential([
            L.SpatialDropout2D(0.0), L.Flatten(), L.Dense(3, "tanh")]),
        "resizing_bilinear": lambda: L.Resizing(5, 9),
        "rescaling": lambda: L.Rescaling(1 / 127.5, offset=-1),
    }
    for name, make in nhwc.items():
        _case(out, f"extra/{name}", lambda make=make: _forward_and_step(
            keras, keras.Sequential([keras.Input(x4.shape[1:]), make()]),
            x4, 25, eager))

    tokens = _tokens(np.random.default_rng(6))
    y = np.random.default_rng(7).integers(0, 2, size=(len(tokens), 1))

    def text_unmasked():
        model = keras.Sequential([
            keras.Input((tokens.shape[1],), dtype="int32"),
            L.Embedding(20, 6), L.Conv1D(5, 3, activation="relu"),
            L.GlobalMaxPooling1D(), L.Dropout(0.0),
            L.Dense(1, activation="sigmoid")])
        _seeded(model, 12)
        return _fit_record(model, tokens, y.astype("float32"), eager,
                           opt=keras.optimizers.RMSprop(0.01),
                           loss="binary_crossentropy",
                           metrics=["accuracy", "AUC"])
    _case(out, "extra/text_conv1d_unmasked", text_unmasked)

    def text_time_distributed():
        inp = keras.Input((tokens.shape[1],), dtype="int32")
        e = L.Embedding(20, 6, mask_zero=True)(inp)
        h = L.LSTM(5, return_sequences=True)(e)
        t = L.TimeDistributed(L.Dense(3, activation="softmax"))(h)
        model = _seeded(keras.Model(inp, t), 13)
        yt = np.random.default_rng(8).integers(0, 3, size=tokens.shape)
        return _fit_record(model, tokens, yt, eager,
                           opt=keras.optimizers.Adam(0.01),
                           loss="sparse_categorical_crossentropy",
                           metrics=["accuracy"])
    _case(out, "extra/text_lstm_time_distributed_masked", text_time_distributed)

    def tabular_functional():
        a = keras.Input((4,), name="num")
        b = keras.Input((1,), dtype="int32", name="cat")
        e = L.Flatten()(L.Embedding(5, 3)(b))
        h = L.Concatenate()([L.BatchNormalization()(a), e])
        h = L.Dense(8, activation="relu")(h)
        h = L.Dropout(0.0)(h)
        o = L.Dense(1, activation="sigmoid")(h)
        model = _seeded(keras.Model([a, b], o), 14)
        xa = X[:, :4]
        xb = (np.abs(X[:, 4:5] * 3).astype("int32") % 5)
        model.compile(keras.optimizers.Adam(0.01), "binary_crossentropy",
                      metrics=["accuracy", keras.metrics.AUC(name="auc")],
                      run_eagerly=eager)
        h = model.fit({"num": xa, "cat": xb}, Y_BIN, batch_size=12, epochs=3,
                      shuffle=False, verbose=0, validation_split=0.25,
                      class_weight={0: 1.0, 1: 2.0})
        res = {f"history_{k}": np.array(v) for k, v in h.history.items()}
        res["weights"] = _flat(model)
        res["predict"] = model.predict({"num": xa, "cat": xb}, verbose=0)
        return res
    _case(out, "extra/tabular_two_inputs_class_weight", tabular_functional)
    return out


GROUPS = {"base": base_cases, "cnn": cnn_cases, "text": text_cases,
          "ts": timeseries_cases, "fit": fit_cases, "reg": regularizer_cases,
          "layer": misc_layer_cases, "extra": extra_cases}


def run_cases(keras, eager=False, only=None):
    out = {}
    for name, fn in GROUPS.items():
        if only and name not in only:
            continue
        out.update(fn(keras, eager))
    return out


def _keras_side(backend: str, path: str, only=None) -> None:
    os.environ["KERAS_BACKEND"] = backend
    import keras

    results = run_cases(keras, only=only)
    np.savez(path, **{k: np.asarray(v) for k, v in results.items()})


def _compare(ours: dict, theirs: dict) -> list:
    rows = []
    for key in sorted(set(ours) | set(theirs)):
        if key.endswith("/ERROR"):
            for side, res in (("graphkeras", ours), ("keras", theirs)):
                if key in res:
                    msg = np.asarray(res[key]).ravel()[0]
                    rows.append((key, f"{side} raised {msg}", None))
            continue
        if key not in ours or key not in theirs:
            rows.append((key, "missing in " + ("graphkeras" if key not in ours
                                               else "keras"), None))
            continue
        a, b = np.asarray(ours[key]), np.asarray(theirs[key])
        if a.dtype.kind in "US" or b.dtype.kind in "US":
            rows.append((key, "equal" if list(a) == list(b) else
                         f"differ: {list(a)} vs {list(b)}", None))
            continue
        if a.shape != b.shape:
            rows.append((key, f"shape {a.shape} vs {b.shape}", None))
            continue
        a64, b64 = a.astype(np.float64), b.astype(np.float64)
        # the worst difference relative to the array's scale (elementwise
        # relative errors blow up on entries that are nearly zero)
        err = (float(np.max(np.abs(a64 - b64)) / (np.max(np.abs(b64)) + 1e-12))
               if a.size else 0.0)
        rows.append((key, f"max diff / max |keras| {err:.2e}", err))
    return rows


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--backends", default="jax")
    ap.add_argument("--eager", action="store_true",
                    help="graphkeras on the reference interpreter")
    ap.add_argument("--keras-side", help=argparse.SUPPRESS)
    ap.add_argument("--out", help=argparse.SUPPRESS)
    ap.add_argument("--json", help="write the table as JSON to this file")
    ap.add_argument("--only", help="comma-separated groups: "
                    + ",".join(GROUPS))
    ap.add_argument("--quiet", action="store_true",
                    help="print only the rows over 1e-5 (and errors)")
    args = ap.parse_args(argv)
    only = set(args.only.split(",")) if args.only else None
    if args.keras_side:
        _keras_side(args.keras_side, args.out, only)
        return 0
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(
        __file__))))
    import graphkeras

    ours = run_cases(graphkeras, eager=args.eager, only=only)
    report = {}
    worst_all = 0.0
    for backend in args.backends.split(","):
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "keras.npz")
            env = dict(os.environ, KERAS_BACKEND=backend,
                       TF_CPP_MIN_LOG_LEVEL="3", CUDA_VISIBLE_DEVICES="")
            cmd = [PEERS_PYTHON, os.path.abspath(__file__),
                   "--keras-side", backend, "--out", path]
            if args.only:
                cmd += ["--only", args.only]
            subprocess.run(cmd, check=True, env=env)
            theirs = dict(np.load(path))
        rows = _compare(ours, theirs)
        print(f"\n== graphkeras ({'interpreter' if args.eager else 'compiled'})"
              f" vs Keras {backend} ==")
        groups: dict = {}
        for key, text, err in rows:
            if not args.quiet or (err is None and text != "equal") or (
                    err is not None and err > 1e-5):
                print(f"  {key:55s} {text}")
            g = key.split("/")[0]
            if err is not None:
                groups[g] = max(groups.get(g, 0.0), err)
                worst_all = max(worst_all, err)
        print("  worst per group: " + ", ".join(
            f"{g} {e:.1e}" for g, e in sorted(groups.items())))
        report[backend] = {k: t for k, t, _ in rows}
    if args.json:
        with open(args.json, "w") as f:
            json.dump(report, f, indent=1)
    print(f"\nworst relative difference overall: {worst_all:.2e}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
