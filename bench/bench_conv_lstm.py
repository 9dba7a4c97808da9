"""keras.io's next-frame video prediction (ConvLSTM2D), scaled down,
training and predicting, beside Keras 3 (JAX, TensorFlow, PyTorch
backends).

    python bench/bench_conv_lstm.py [--rounds 1] [--batches 10]
                                    [--systems graphkeras,keras-jax,...]
                                    [--peers-python /work/venv-peers/bin/python]

Model (keras.io's with fewer filters and smaller frames): Input(10 frames
of 24 x 24 x 1) - ConvLSTM2D(16, 5, same, relu, return_sequences) -
BatchNormalization - ConvLSTM2D(16, 3, same, relu, return_sequences) -
BatchNormalization - ConvLSTM2D(16, 1, same, relu, return_sequences) -
Conv3D(1, 3, same, sigmoid); Adam(1e-3), binary crossentropy, batch 8.
Data: random frames (fixed seed) and binary targets. Each measurement is
a fresh process: one warm-up epoch (compilation), then a timed epoch of
`--batches` batches and a timed predict over the same data; the table
gives medians over rounds and "gk x", how many times faster graphkeras is
(> 1: graphkeras wins). The machine may be shared: read the ratios, and
run more rounds when it is busy.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time

from common import add_system_args, keras_system, machine, run_worker

SYSTEMS = ("graphkeras", "keras-jax", "keras-tensorflow", "keras-torch")
FRAMES, SIZE, FILTERS, BATCH = 10, 24, 16, 8


def build(keras):
    L = keras.layers
    i = keras.Input((FRAMES, SIZE, SIZE, 1))
    x = L.ConvLSTM2D(FILTERS, 5, padding="same", activation="relu",
                     return_sequences=True)(i)
    x = L.BatchNormalization()(x)
    x = L.ConvLSTM2D(FILTERS, 3, padding="same", activation="relu",
                     return_sequences=True)(x)
    x = L.BatchNormalization()(x)
    x = L.ConvLSTM2D(FILTERS, 1, padding="same", activation="relu",
                     return_sequences=True)(x)
    x = L.Conv3D(1, 3, padding="same", activation="sigmoid")(x)
    model = keras.Model(i, x)
    model.compile(keras.optimizers.Adam(1e-3), "binary_crossentropy")
    return model


def worker(system: str, batches: int) -> None:
    import numpy as np

    keras, version = keras_system(system)
    rng = np.random.default_rng(0)
    x = rng.random((BATCH * batches, FRAMES, SIZE, SIZE, 1)).astype("float32")
    y = (rng.random(x.shape) > 0.5).astype("float32")
    model = build(keras)
    t0 = time.perf_counter()
    model.fit(x, y, batch_size=BATCH, epochs=1, verbose=0)
    warm = time.perf_counter() - t0
    t0 = time.perf_counter()
    hist = model.fit(x, y, batch_size=BATCH, epochs=1, verbose=0)
    train = time.perf_counter() - t0
    model.predict(x[:BATCH], batch_size=BATCH, verbose=0)
    t0 = time.perf_counter()
    model.predict(x, batch_size=BATCH, verbose=0)
    pred = time.perf_counter() - t0
    print("RESULT " + json.dumps({
        "train": len(x) / train, "predict": len(x) / pred, "warmup_s": warm,
        "loss": float(hist.history["loss"][-1]), "version": version}),
        flush=True)


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rounds", type=int, default=1)
    ap.add_argument("--batches", type=int, default=10)
    add_system_args(ap, ",".join(SYSTEMS), 1800)
    ap.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.worker:
        worker(args.worker, args.batches)
        return
    systems = [s for s in args.systems.split(",") if s]
    print(f"next-frame ConvLSTM2D model, {FRAMES} frames of {SIZE}x{SIZE}, "
          f"batch {BATCH}, {args.batches} timed batches, {args.rounds} "
          f"round(s)\nmachine: {machine()}", flush=True)
    results: dict = {s: {"train": [], "predict": []} for s in systems}
    info: dict = {}
    for r in range(args.rounds):
        for s in systems[r % len(systems):] + systems[:r % len(systems)]:
            py = sys.executable if s == "graphkeras" else args.peers_python
            if s != "graphkeras" and not os.path.exists(py):
                continue
            res = run_worker(s, [py, os.path.abspath(__file__), "--worker", s,
                                 "--batches", str(args.batches)],
                             args.timeout)
            if res is None:
                continue
            info[s] = res
            for k in ("train", "predict"):
                results[s][k].append(res[k])
            print(f"  round {r + 1} {s}: train {res['train']:.1f} samples/s, "
                  f"predict {res['predict']:.1f} samples/s (warm-up "
                  f"{res['warmup_s']:.1f} s, loss {res['loss']:.3f})",
                  flush=True)
    print("\n| system | version | train samples/s | predict samples/s | "
          "gk x train | gk x predict |")
    print("| --- | --- | --- | --- | --- | --- |")
    gk = results.get("graphkeras", {})
    for s in systems:
        if not results[s]["train"]:
            continue
        tr = statistics.median(results[s]["train"])
        pr = statistics.median(results[s]["predict"])
        rt = f"{statistics.median(gk['train']) / tr:.2f}" if gk.get(
            "train") else "-"
        rp = f"{statistics.median(gk['predict']) / pr:.2f}" if gk.get(
            "predict") else "-"
        print(f"| {s} | {info[s]['version']} | {tr:.1f} | {pr:.1f} | {rt} | "
              f"{rp} |")


if __name__ == "__main__":
    sys.exit(main())
