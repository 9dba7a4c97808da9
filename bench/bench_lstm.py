"""W3 of shared/WORKLOADS.md: the LSTM text classifier, training, beside
Keras 3 (JAX, TensorFlow, PyTorch backends) and PyTorch eager.

    python bench/bench_lstm.py [--rounds 3] [--batches 30] [--threads 0,1]
                               [--systems graphkeras,keras-jax,...]
                               [--peers-python /work/venv-peers/bin/python]

Model: Input(200 int tokens) - Embedding(20000, 128) - LSTM(64) -
Dense(1, sigmoid); Adam(1e-3), binary crossentropy, batch 64. Data: random
tokens (fixed seed) with labels from a fixed random teacher (the sign of
the mean of a random weight per token), so the task is learnable and the
gradients stay alive (WORKLOADS.md). Each measurement is a fresh process
(this script with --worker; the peers run with the peers' Python): one
warm-up epoch (compilation, first-call costs), then a timed epoch of
`--batches` batches; samples/s of the timed epoch. Rounds alternate the
systems, the table gives the median over rounds, min-max, and "gk x", how
many times faster graphkeras is than the system (> 1: graphkeras wins).
PyTorch runs with denormals flushed (set_flush_denormal), as our kernels
do. Threads: `--threads 0` is each system's default (all cores), `1`
limits every system to one thread (OMP/OpenBLAS/MKL variables, torch and
TensorFlow settings, XLA's Eigen pool, GRAPHKERAS_NUM_THREADS).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

from common import (add_system_args, busy, busy_note, keras_system,
                    limit_threads, machine, run_worker)

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
SYSTEMS = ("graphkeras", "keras-jax", "keras-tensorflow", "keras-torch",
           "torch")
VOCAB, LENGTH, EMBED, UNITS, BATCH = 20000, 200, 128, 64, 64


def data(n: int, seed: int = 0):
    import numpy as np

    rng = np.random.default_rng(seed)
    x = rng.integers(1, VOCAB, size=(n, LENGTH)).astype("int32")
    teacher = np.random.default_rng(1234).normal(size=VOCAB)
    y = (teacher[x].mean(axis=1) > 0).astype("float32")[:, None]
    return x, y


# --- workers ---------------------------------------------------------------------


def keras_w3(system: str, batches: int) -> dict:
    keras, version = keras_system(system)
    x, y = data(BATCH * batches)
    model = keras.Sequential([
        keras.Input((LENGTH,), dtype="int32"),
        keras.layers.Embedding(VOCAB, EMBED),
        keras.layers.LSTM(UNITS),
        keras.layers.Dense(1, activation="sigmoid"),
    ])
    model.compile(optimizer=keras.optimizers.Adam(1e-3),
                  loss="binary_crossentropy")
    t0 = time.perf_counter()
    model.fit(x, y, batch_size=BATCH, epochs=1, verbose=0)
    warm = time.perf_counter() - t0
    t0 = time.perf_counter()
    hist = model.fit(x, y, batch_size=BATCH, epochs=1, verbose=0)
    dt = time.perf_counter() - t0
    return {"samples_per_s": len(x) / dt, "warmup_s": warm,
            "loss": float(hist.history["loss"][-1]), "version": version}


def torch_w3(batches: int) -> dict:
    import numpy as np
    import torch

    torch.set_flush_denormal(True)
    torch.manual_seed(0)
    x, y = data(BATCH * batches)

    class Net(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.emb = torch.nn.Embedding(VOCAB, EMBED)
            self.lstm = torch.nn.LSTM(EMBED, UNITS, batch_first=True)
            self.out = torch.nn.Linear(UNITS, 1)

        def forward(self, t):
            _, (h, _) = self.lstm(self.emb(t))
            return self.out(h[-1])

    net = Net()
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    loss_fn = torch.nn.BCEWithLogitsLoss()
    xt, yt = torch.from_numpy(x.astype(np.int64)), torch.from_numpy(y)

    def epoch():
        last = 0.0
        for i in range(0, len(x), BATCH):
            opt.zero_grad()
            loss = loss_fn(net(xt[i:i + BATCH]), yt[i:i + BATCH])
            loss.backward()
            opt.step()
            last = float(loss)
        return last

    t0 = time.perf_counter()
    epoch()
    warm = time.perf_counter() - t0
    t0 = time.perf_counter()
    loss = epoch()
    dt = time.perf_counter() - t0
    return {"samples_per_s": len(x) / dt, "warmup_s": warm, "loss": loss,
            "version": torch.__version__}


def worker(system: str, batches: int, threads: int) -> None:
    limit_threads(system, threads)
    res = torch_w3(batches) if system == "torch" else keras_w3(system, batches)
    print("RESULT " + json.dumps(res), flush=True)


# --- the driver --------------------------------------------------------------------


def run(system: str, args, threads: int) -> dict | None:
    py = sys.executable if system == "graphkeras" else args.peers_python
    cmd = [py, os.path.abspath(__file__), "--worker", system,
           "--batches", str(args.batches), "--threads", str(threads)]
    return run_worker(system, cmd, args.timeout)


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--batches", type=int, default=30)
    add_system_args(ap, ",".join(SYSTEMS), 900)
    ap.add_argument("--threads", default="0",
                    help="comma-separated thread counts (0: default)")
    ap.add_argument("--busy", action="store_true",
                    help="keep one core busy with a competing process "
                         "while measuring")
    ap.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.worker:
        worker(args.worker, args.batches, int(args.threads))
        return
    systems = [s for s in args.systems.split(",") if s]
    skipped = {}
    if any(s != "graphkeras" for s in systems):
        for s in list(systems):
            if s == "graphkeras":
                continue
            probe = "import torch" if s == "torch" else (
                "import keras, " + {"keras-jax": "jax",
                                    "keras-tensorflow": "tensorflow",
                                    "keras-torch": "torch"}[s])
            ok = os.path.exists(args.peers_python) and subprocess.run(
                [args.peers_python, "-c", probe], capture_output=True,
                timeout=300, check=False).returncode == 0
            if not ok:
                skipped[s] = f"not installed in {args.peers_python}"
                systems.remove(s)
    print(f"W3 LSTM text classifier training, batch {BATCH}, {args.batches} "
          f"timed batches, {args.rounds} rounds\nmachine: {machine()}"
          f"{busy_note(args.busy)}",
          flush=True)
    counts = [int(t) for t in args.threads.split(",")]
    results: dict = {(s, t): [] for s in systems for t in counts}
    info: dict = {}
    with busy(args.busy):
        for r in range(args.rounds):
            order = systems[r % len(systems):] + systems[:r % len(systems)]
            for t in counts:
                for s in order:
                    res = run(s, args, t)
                    if res is None:
                        continue
                    results[s, t].append(res["samples_per_s"])
                    info[s] = res
                    print(f"  round {r + 1} {s} threads={t or 'default'}: "
                          f"{res['samples_per_s']:.0f} samples/s (warm-up "
                          f"{res['warmup_s']:.1f} s, loss {res['loss']:.3f})",
                          flush=True)
    print(f"\nhost: {machine()}{busy_note(args.busy)}")
    print("\n| workload | system | version | threads | median samples/s | "
          "min-max | gk x |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for t in counts:
        base = results.get(("graphkeras", t))
        gk = statistics.median(base) if base else None
        for s in systems:
            v = results[s, t]
            if not v:
                continue
            med = statistics.median(v)
            ratio = f"{gk / med:.2f}" if gk else "-"
            print(f"| W3 | {s} | {info[s]['version']} | {t or 'default'} | "
                  f"{med:.0f} | {min(v):.0f}-{max(v):.0f} | {ratio} |")
    for s, why in skipped.items():
        print(f"| W3 | {s} | - | - | skipped: {why} | | |")


if __name__ == "__main__":
    main()
