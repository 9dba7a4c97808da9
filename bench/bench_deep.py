"""Compile at depth: the first fit of ever deeper models, cold.

    python bench/bench_deep.py [--depths 25,100,400] [--kinds residual,plain]
                               [--systems graphkeras,keras-jax]

Per model, in a fresh process (graphkeras with an empty compile cache, so
its libraries compile too, as on a new machine):
- residual: Input(32) - Dense(64) - depth x [Dense(64) - BatchNormalization
  - gelu - Dropout(0.1), added to the block's input] - Dense(3, softmax);
  Adam, sparse categorical cross-entropy, accuracy (5 layers a block);
- plain: a Sequential of `depth` x Dense(8, tanh) - Dense(1); SGD, MSE.

It reports the seconds of the first epoch (256 samples, batch 64: the
trace and compilation of the train step, then 4 steps), of the first
predict and evaluate, and the peak resident memory. A model ten times
deeper than the tests should still compile in seconds, and never take the
process down. The machine is shared: compare the systems of one run.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import sys
import tempfile
import time

from common import add_system_args, keras_system, machine, run_worker


def build(keras, kind: str, depth: int):
    layers = keras.layers
    if kind == "plain":
        model = keras.Sequential(
            [keras.Input((8,))]
            + [layers.Dense(8, activation="tanh") for _ in range(depth)]
            + [layers.Dense(1)])
        model.compile("sgd", "mse")
        return model
    inp = keras.Input((32,))
    x = layers.Dense(64, activation="relu")(inp)
    for _ in range(depth):
        y = layers.Dense(64)(x)
        y = layers.BatchNormalization()(y)
        y = layers.Activation("gelu")(y)
        y = layers.Dropout(0.1)(y)
        x = layers.Add()([x, y])
    model = keras.Model(inp, layers.Dense(3, activation="softmax")(x))
    model.compile("adam", "sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    return model


def worker(system: str, kind: str, depth: int) -> dict:
    import numpy as np

    keras, version = keras_system(system)
    rng = np.random.default_rng(0)
    width = 8 if kind == "plain" else 32
    x = rng.random((256, width), dtype=np.float32)
    y = (rng.random((256, 1), dtype=np.float32) if kind == "plain"
         else rng.integers(0, 3, 256))
    t0 = time.perf_counter()
    model = build(keras, kind, depth)
    t1 = time.perf_counter()
    model.fit(x, y, batch_size=64, epochs=1, verbose=0)
    t2 = time.perf_counter()
    model.predict(x, batch_size=64, verbose=0)
    t3 = time.perf_counter()
    model.evaluate(x, y, batch_size=64, verbose=0)
    t4 = time.perf_counter()
    return {"system": system, "version": version, "kind": kind,
            "depth": depth, "layers": len(model.layers),
            "build_s": t1 - t0, "fit_s": t2 - t1, "predict_s": t3 - t2,
            "evaluate_s": t4 - t3,
            "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--depths", default="25,100,400")
    ap.add_argument("--kinds", default="residual,plain")
    ap.add_argument("--worker", nargs=3, metavar=("SYSTEM", "KIND", "DEPTH"))
    add_system_args(ap, "graphkeras,keras-jax", timeout=1800)
    args = ap.parse_args(argv)
    if args.worker:
        system, kind, depth = args.worker
        print("RESULT " + json.dumps(worker(system, kind, int(depth))),
              flush=True)
        return
    print(machine())
    here = os.path.abspath(__file__)
    print(f"{'kind':9s} {'depth':>5s} {'layers':>6s} {'system':16s} "
          f"{'first fit s':>11s} {'predict s':>9s} {'evaluate s':>10s} "
          f"{'peak MB':>8s}")
    for kind in args.kinds.split(","):
        for depth in (int(d) for d in args.depths.split(",")):
            fits = {}
            for system in args.systems.split(","):
                python = (sys.executable if system == "graphkeras"
                          else args.peers_python)
                cache = tempfile.mkdtemp(prefix="gk-bench-deep-")
                os.environ["GRAPHKERAS_CACHE_DIR"] = cache
                try:
                    r = run_worker(system, [python, here, "--worker", system,
                                            kind, str(depth)], args.timeout)
                finally:
                    shutil.rmtree(cache, ignore_errors=True)
                if r is None:
                    continue
                fits[system] = r["fit_s"]
                print(f"{kind:9s} {depth:5d} {r['layers']:6d} {system:16s} "
                      f"{r['fit_s']:11.2f} {r['predict_s']:9.2f} "
                      f"{r['evaluate_s']:10.2f} {r['peak_mb']:8.0f}",
                      flush=True)
            if "graphkeras" in fits and len(fits) > 1:
                best = min(v for s, v in fits.items() if s != "graphkeras")
                print(f"{'':22s} first fit: graphkeras "
                      f"{best / fits['graphkeras']:.2f}x the fastest peer "
                      "(> 1: faster)")


if __name__ == "__main__":
    main()
