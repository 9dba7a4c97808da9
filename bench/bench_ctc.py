"""CTC sequence recognition, training, beside Keras 3 (JAX, TensorFlow,
PyTorch backends): the shape of keras.io's OCR and speech examples.

    python bench/bench_ctc.py [--rounds 3] [--batches 20] [--threads 0,1]
                              [--systems graphkeras,keras-jax,...]

Model: Input(T=50 steps, 32 features) - Bidirectional(LSTM(64,
return_sequences)) - Dense(21 classes, logits); keras.losses.CTC (class
0 is the blank and the label padding), Adam(1e-3), batch 32, labels of 3
to 5 classes padded to 5. Data: random features (fixed seed) where each
label shows as a bump in its feature, so the loss falls. Each measurement
is a fresh process: one warm-up epoch (compilation), then a timed epoch
of `--batches` batches; samples/s of the timed epoch; rounds alternate
the systems; "gk x" is how many times faster graphkeras is (> 1: it
wins). The machine is shared: read the ratios, not the absolute rates.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time

from common import (add_system_args, keras_system, limit_threads, machine,
                    run_worker)

SYSTEMS = ("graphkeras", "keras-jax", "keras-tensorflow", "keras-torch")
STEPS, FEATS, CLASSES, LABELS, UNITS, BATCH = 50, 32, 21, 5, 64, 32


def data(n: int, seed: int = 0):
    import numpy as np

    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, STEPS, FEATS)).astype("float32") * 0.3
    y = np.zeros((n, LABELS), "int32")
    for i in range(n):
        k = rng.integers(3, LABELS + 1)
        y[i, :k] = rng.integers(1, CLASSES, size=k)
        for j in range(k):
            x[i, 4 + 9 * j:8 + 9 * j, y[i, j] % FEATS] += 2.0
    return x, y


def worker(system: str, batches: int, threads: int) -> None:
    limit_threads(system, threads)
    keras, version = keras_system(system)
    x, y = data(BATCH * batches)
    inp = keras.Input((STEPS, FEATS))
    h = keras.layers.Bidirectional(keras.layers.LSTM(
        UNITS, return_sequences=True))(inp)
    model = keras.Model(inp, keras.layers.Dense(CLASSES)(h))
    model.compile(optimizer=keras.optimizers.Adam(1e-3),
                  loss=keras.losses.CTC())
    t0 = time.perf_counter()
    model.fit(x, y, batch_size=BATCH, epochs=1, verbose=0)
    warm = time.perf_counter() - t0
    t0 = time.perf_counter()
    hist = model.fit(x, y, batch_size=BATCH, epochs=1, verbose=0)
    dt = time.perf_counter() - t0
    print("RESULT " + json.dumps({
        "samples_per_s": len(x) / dt, "warmup_s": warm,
        "loss": float(hist.history["loss"][-1]), "version": version}),
        flush=True)


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--batches", type=int, default=20)
    ap.add_argument("--threads", default="0")
    add_system_args(ap, ",".join(SYSTEMS), 900)
    ap.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.worker:
        worker(args.worker, args.batches, int(args.threads))
        return
    systems = [s for s in args.systems.split(",") if s]
    counts = [int(t) for t in args.threads.split(",")]
    print(f"CTC BiLSTM reader training, batch {BATCH}, {args.batches} timed "
          f"batches, {args.rounds} rounds\nmachine: {machine()}", flush=True)
    results = {(s, t): [] for s in systems for t in counts}
    info = {}
    for r in range(args.rounds):
        order = systems[r % len(systems):] + systems[:r % len(systems)]
        for t in counts:
            for s in order:
                py = sys.executable if s == "graphkeras" else \
                    args.peers_python
                res = run_worker(s, [py, os.path.abspath(__file__),
                                     "--worker", s, "--batches",
                                     str(args.batches), "--threads", str(t)],
                                 args.timeout)
                if res is None:
                    continue
                results[s, t].append(res["samples_per_s"])
                info[s] = res
                print(f"  round {r + 1} {s} threads={t or 'default'}: "
                      f"{res['samples_per_s']:.0f} samples/s (warm-up "
                      f"{res['warmup_s']:.1f} s, loss {res['loss']:.3f})",
                      flush=True)
    print("\n| workload | system | version | threads | median samples/s | "
          "min-max | gk x |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for t in counts:
        base = results.get(("graphkeras", t))
        gk = statistics.median(base) if base else None
        for s in systems:
            v = results[s, t]
            if v:
                med = statistics.median(v)
                ratio = f"{gk / med:.2f}" if gk else "-"
                print(f"| CTC | {s} | {info[s]['version']} | {t or 'default'}"
                      f" | {med:.0f} | {min(v):.0f}-{max(v):.0f} | {ratio} |")


if __name__ == "__main__":
    main()
