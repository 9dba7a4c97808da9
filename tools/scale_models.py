"""Models much deeper or wider than the tests': cold compile time, peak
memory, and one train step against the reference interpreter.

    python tools/scale_models.py                    # every model
    python tools/scale_models.py --models resnet200,lstm30 --no-check

Each model runs in a fresh process with an empty compile cache: the time
from the model's definition to the end of its first `train_on_batch`
(tracing, passes, LLVM), its second step, its first `predict`, and the
peak resident memory of that process and of its compile processes. With
the check on, a twin run by the interpreter (`run_eagerly=True`) takes the
same step and the weights after it must agree. The machine is shared:
times are what one run saw, not a benchmark.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time

import numpy as np


def _resnet(blocks: int, size: int = 16, channels: int = 8):
    import graphkeras as keras
    from graphkeras import layers as L

    inp = keras.Input((size, size, 3))
    x = L.Conv2D(channels, 3, padding="same")(inp)
    for _ in range(blocks):
        h = L.Conv2D(channels, 3, padding="same")(x)
        h = L.BatchNormalization()(h)
        h = L.Activation("relu")(h)
        h = L.Conv2D(channels, 3, padding="same")(h)
        h = L.BatchNormalization()(h)
        x = L.Activation("relu")(L.Add()([x, h]))
    x = L.GlobalAveragePooling2D()(x)
    return keras.Model(inp, L.Dense(10)(x)), (size, size, 3), (10,)


def _rnn_stack(n: int, steps: int = 7, units: int = 17):
    import graphkeras as keras
    from graphkeras import layers as L

    kinds = [L.LSTM, L.GRU, L.SimpleRNN]
    layers = [keras.Input((steps, 5))]
    for k in range(n):
        layers.append(kinds[k % 3](units, return_sequences=k < n - 1))
    layers.append(L.Dense(3))
    return keras.Sequential(layers), (steps, 5), (3,)


def _wide(units: int = 4096):
    import graphkeras as keras
    from graphkeras import layers as L

    model = keras.Sequential([keras.Input((129,)), L.Dense(units, "relu"),
                              L.Dense(units, "relu"), L.Dense(10)])
    return model, (129,), (10,)


def _transformer(blocks: int, steps: int = 9, width: int = 16):
    import graphkeras as keras
    from graphkeras import layers as L

    inp = keras.Input((steps,), dtype="int32")
    x = L.Embedding(50, width)(inp)
    for _ in range(blocks):
        a = L.MultiHeadAttention(2, width // 2)(x, x)
        x = L.LayerNormalization()(L.Add()([x, a]))
        f = L.Dense(2 * width, activation="gelu")(x)
        f = L.Dense(width)(f)
        x = L.LayerNormalization()(L.Add()([x, f]))
    x = L.GlobalAveragePooling1D()(x)
    return keras.Model(inp, L.Dense(3)(x)), (steps,), (3,)


MODELS = {
    "resnet200": lambda: _resnet(29),  # 1 + 29 * 7 + 2 = 206 layers
    "lstm30": lambda: _rnn_stack(30),
    "wide4096": lambda: _wide(4096),
    "transformer24": lambda: _transformer(24),  # 24 * 7 + 4 = 172 layers
    "lstm_2000_steps": lambda: _rnn_stack(2, steps=2000),
}


def _child(name: str, batch: int, check: bool) -> dict:
    import graphkeras as keras

    keras.utils.set_random_seed(0)
    t0 = time.perf_counter()
    model, xshape, yshape = MODELS[name]()
    n_layers = len(model.layers)
    rng = np.random.default_rng(0)
    if name.startswith("transformer"):
        x = rng.integers(0, 50, (batch,) + xshape).astype("int32")
    else:
        x = rng.uniform(-1, 1, (batch,) + xshape).astype("float32")
    y = rng.uniform(-1, 1, (batch,) + yshape).astype("float32")
    model.compile(keras.optimizers.SGD(0.01), "mse")
    before = model.get_weights()
    model.train_on_batch(x, y)
    first = time.perf_counter() - t0
    after = model.get_weights()
    t1 = time.perf_counter()
    model.train_on_batch(x, y)
    second = time.perf_counter() - t1
    t2 = time.perf_counter()
    model.predict(x, verbose=0)
    predict = time.perf_counter() - t2
    out = {"model": name, "layers": n_layers,
           "params": int(model.count_params()), "batch": batch,
           "first_step_s": round(first, 2), "second_step_s": round(second, 4),
           "first_predict_s": round(predict, 2)}
    if check:
        keras.utils.set_random_seed(0)
        twin = MODELS[name]()[0]
        twin.set_weights(before)
        twin.compile(keras.optimizers.SGD(0.01), "mse", run_eagerly=True)
        t3 = time.perf_counter()
        twin.train_on_batch(x, y)
        out["interpreter_step_s"] = round(time.perf_counter() - t3, 2)
        worst = 0.0
        for a, b in zip(after, twin.get_weights()):
            scale = max(float(np.max(np.abs(b))), 1e-3)
            worst = max(worst, float(np.max(np.abs(a - b))) / scale)
        out["max_rel_weight_diff"] = float(f"{worst:.2e}")
        out["ok"] = worst < 1e-3
    out["peak_rss_mb"] = resource.getrusage(
        resource.RUSAGE_SELF).ru_maxrss // 1024
    out["compile_processes_peak_rss_mb"] = resource.getrusage(
        resource.RUSAGE_CHILDREN).ru_maxrss // 1024
    return out


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--models", default=",".join(MODELS))
    p.add_argument("--batch", type=int, default=3)
    p.add_argument("--no-check", action="store_true")
    p.add_argument("--timeout", type=float, default=900)
    p.add_argument("--child", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.child:
        print(json.dumps(_child(args.child, args.batch, not args.no_check)))
        return 0
    failed = False
    for name in args.models.split(","):
        with tempfile.TemporaryDirectory() as cache:
            env = dict(os.environ, GRAPHKERAS_CACHE_DIR=cache)
            cmd = [sys.executable, os.path.abspath(__file__), "--child", name,
                   "--batch", str(args.batch)] + (
                       ["--no-check"] if args.no_check else [])
            try:
                r = subprocess.run(cmd, env=env, capture_output=True,
                                   text=True, timeout=args.timeout)
            except subprocess.TimeoutExpired:
                print(f"{name}: HANG (> {args.timeout} s)", flush=True)
                failed = True
                continue
            if r.returncode != 0:
                print(f"{name}: exit {r.returncode}\n{r.stderr[-2000:]}",
                      flush=True)
                failed = True
                continue
            print(r.stdout.strip().splitlines()[-1], flush=True)
            failed |= not json.loads(r.stdout.strip().splitlines()[-1]).get(
                "ok", True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
