"""Resident memory stays flat: across the epochs of a long fit, and across
thousands of predict / predict_on_batch / train_on_batch calls (not a
timing test, and not part of the test suite: it runs for a minute).

    python bench/leak_check.py [--epochs 30] [--calls 6000]
    python bench/leak_check.py --models 1000     # only the model cycle

`--models N` creates, compiles, fits (one epoch), predicts with and
deletes N models of one architecture, as a hyperparameter search does:
identical models share compile-cache entries (no LLVM run after the
first), and what each compiled must be freed with it. It prints the RSS
every N/10 models and the cache's hit counts.

Prints the resident set size (VmRSS) after the warm-up and then at
intervals, and exits with status 1 when it grew by more than --tolerance
MiB after the warm-up (a leak of even 1 KiB per call shows as ~6 MiB over
the default 6000 calls).
"""

from __future__ import annotations

import argparse
import gc
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, ".."))
sys.path.insert(0, HERE)

import numpy as np
from workloads import data, keras_mlp

import graphkeras as keras


def rss_mib() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def watch(label: str, fn, rounds: int, per_round: int, tol: float) -> bool:
    fn()  # warm-up: compile, plan arenas, allocate the pool's workers
    gc.collect()
    start = rss_mib()
    samples = [start]
    for _ in range(rounds):
        for _ in range(per_round):
            fn()
        gc.collect()
        samples.append(rss_mib())
    growth = samples[-1] - start
    ok = growth <= tol
    print(f"{label:34} RSS {start:7.1f} -> {samples[-1]:7.1f} MiB "
          f"(max {max(samples):7.1f}, growth {growth:+.2f}) "
          f"{'ok' if ok else 'GROWS'}", flush=True)
    return ok


def model_cycle(n: int, tol: float) -> bool:
    from graphkeras.codegen import cache

    rng = np.random.default_rng(0)
    x = rng.normal(size=(256, 32)).astype("float32")
    y = np.eye(10, dtype="float32")[rng.integers(0, 10, 256)]

    def one():
        m = keras.Sequential([keras.Input((32,)),
                              keras.layers.Dense(64, activation="relu"),
                              keras.layers.Dense(10, activation="softmax")])
        m.compile("adam", "categorical_crossentropy", metrics=["accuracy"])
        m.fit(x, y, batch_size=64, epochs=1, verbose=0)
        m.predict(x[:8], verbose=0)
        del m

    import time

    t0 = time.perf_counter()
    for _ in range(max(1, n // 20)):  # warm-up: compile, caches, workers
        one()
    gc.collect()
    start = rss_mib()
    hits0 = dict(cache.STATS)
    samples = [start]
    every = max(1, n // 10)
    t1 = time.perf_counter()
    for i in range(1, n + 1):
        one()
        if i % every == 0:
            gc.collect()
            samples.append(rss_mib())
            print(f"  {i:5} models  RSS {samples[-1]:7.1f} MiB", flush=True)
    secs = time.perf_counter() - t1
    stats = {k: cache.STATS[k] - hits0[k] for k in hits0}
    growth = samples[-1] - start
    ok = growth <= tol
    print(f"{n} models (create, fit, predict, delete): RSS {start:.1f} -> "
          f"{samples[-1]:.1f} MiB (max {max(samples):.1f}, growth "
          f"{growth:+.2f}, {1024 * growth / n:+.2f} KiB/model) "
          f"{'ok' if ok else 'GROWS'}; {secs / n * 1000:.0f} ms/model; "
          f"cache hits {stats['hits']}, misses {stats['misses']}, stores "
          f"{stats['stores']} (warm-up {t1 - t0:.1f} s)", flush=True)
    return ok


def main(argv=None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--models", type=int, default=0,
                    help="run only the create/fit/delete cycle of N models")
    ap.add_argument("--epochs", type=int, default=30)
    ap.add_argument("--samples", type=int, default=6400)
    ap.add_argument("--calls", type=int, default=6000)
    ap.add_argument("--tolerance", type=float, default=2.0, help="MiB")
    args = ap.parse_args(argv)
    if args.models:
        ok = model_cycle(args.models, args.tolerance)
        return 0 if ok else 1
    x, y, _ = data(args.samples)
    model = keras_mlp(keras)
    x1 = x[:1].copy()
    x7 = x[:7].copy()
    ok = True
    ok &= watch(f"fit, {args.epochs} epochs", lambda: model.fit(
        x, y, batch_size=128, epochs=1, verbose=0), args.epochs, 1,
        args.tolerance)
    per = max(1, args.calls // 10)
    ok &= watch(f"predict_on_batch x {args.calls}",
                lambda: model.predict_on_batch(x1), 10, per, args.tolerance)
    ok &= watch(f"predict x {args.calls}",
                lambda: model.predict(x7, verbose=0), 10, per, args.tolerance)
    ok &= watch(f"train_on_batch x {args.calls // 4}",
                lambda: model.train_on_batch(x[:32], y[:32]), 10,
                max(1, per // 4), args.tolerance)
    # batch sizes that change every call (the arena is planned for the
    # largest seen: the warm-up call takes the largest)
    sizes = iter([300, *np.random.default_rng(0).integers(1, 300, size=10**6)])
    ok &= watch(f"predict, changing batch x {args.calls // 4}",
                lambda: model.predict_on_batch(x[:next(sizes)]), 10,
                max(1, per // 4), args.tolerance)
    print("no growth" if ok else "resident memory grew")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
