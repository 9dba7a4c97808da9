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
    return np.concatenate([np.ravel(w) for w in model.get_weights()])


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


def run_cases(keras, eager=False):
    out = {}
    # optimizers: 3 epochs of 3 batches on an MSE regression
    for name, make in optimizer_cases(keras).items():
        model = _mlp(keras)
        model.compile(make(), "mse", run_eagerly=eager)
        h = model.fit(X, Y_REG, batch_size=16, epochs=3, shuffle=False,
                      verbose=0)
        out[f"opt/{name}/weights"] = _flat(model)
        out[f"opt/{name}/loss"] = np.array(h.history["loss"])
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


def _keras_side(backend: str, path: str) -> None:
    os.environ["KERAS_BACKEND"] = backend
    import keras

    results = run_cases(keras)
    np.savez(path, **{k: np.asarray(v) for k, v in results.items()})


def _compare(ours: dict, theirs: dict) -> list:
    rows = []
    for key in sorted(set(ours) | set(theirs)):
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
    args = ap.parse_args(argv)
    if args.keras_side:
        _keras_side(args.keras_side, args.out)
        return 0
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(
        __file__))))
    import graphkeras

    ours = run_cases(graphkeras, eager=args.eager)
    report = {}
    worst_all = 0.0
    for backend in args.backends.split(","):
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "keras.npz")
            env = dict(os.environ, KERAS_BACKEND=backend,
                       TF_CPP_MIN_LOG_LEVEL="3", CUDA_VISIBLE_DEVICES="")
            subprocess.run([PEERS_PYTHON, os.path.abspath(__file__),
                            "--keras-side", backend, "--out", path],
                           check=True, env=env)
            theirs = dict(np.load(path))
        rows = _compare(ours, theirs)
        print(f"\n== graphkeras ({'interpreter' if args.eager else 'compiled'})"
              f" vs Keras {backend} ==")
        groups: dict = {}
        for key, text, err in rows:
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
