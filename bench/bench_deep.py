"""Compile at depth: the first fit of ever deeper models, cold.

    python bench/bench_deep.py [--depths 25,100,400] [--kinds residual,plain]
                               [--systems graphkeras,keras-jax]
    python bench/bench_deep.py --kinds dense,dense_res --depths 100,300,1000 \
                               --systems graphkeras
    python bench/bench_deep.py --kinds apps --depths 0 --systems graphkeras

Per model, in a fresh process (graphkeras with an empty compile cache, so
its libraries compile too, as on a new machine):
- residual: Input(32) - Dense(64) - depth x [Dense(64) - BatchNormalization
  - gelu - Dropout(0.1), added to the block's input] - Dense(3, softmax);
  Adam, sparse categorical cross-entropy, accuracy (5 layers a block);
- plain: a Sequential of `depth` x Dense(8, tanh) - Dense(1); SGD, MSE;
- dense: a Sequential of `depth` x Dense(32, relu) - Dense(1); Adam, MSE
  (2 variables a layer, each with Adam's two slots);
- dense_res: Input(32) - depth x [Dense(32), added to the block's input,
  LayerNormalization] - Dense(1); Adam, MSE (3 layers a block);
- apps: ResNet152 and DenseNet201 (weights=None, 64x64x3, 10 classes),
  Adam, batch 4 (`depth` is ignored).

It reports the seconds of the first epoch (256 samples, batch 64: the
trace and compilation of the train step, then 4 steps; apps: 8 images),
of the first predict and evaluate, the CPU seconds of the first epoch in
this process (tracing, passes, code generation) and in its compile
processes (LLVM), and the peak resident memory. A model ten times
deeper than the tests should still compile in seconds, and never take
the process down. The machine is shared: CPU seconds vary less than wall
seconds; compare the systems of one run.
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


APPS = ("ResNet152", "DenseNet201")


def build(keras, kind: str, depth: int):
    layers = keras.layers
    if kind in APPS:
        model = getattr(keras.applications, kind)(
            weights=None, input_shape=(64, 64, 3), classes=10)
        model.compile("adam", "sparse_categorical_crossentropy")
        return model
    if kind == "dense":
        model = keras.Sequential(
            [keras.Input((32,))]
            + [layers.Dense(32, activation="relu") for _ in range(depth)]
            + [layers.Dense(1)])
        model.compile("adam", "mse")
        return model
    if kind == "dense_res":
        inp = x = keras.Input((32,))
        for _ in range(depth):
            x = layers.Add()([x, layers.Dense(32)(x)])
            x = layers.LayerNormalization()(x)
        model = keras.Model(inp, layers.Dense(1)(x))
        model.compile("adam", "mse")
        return model
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


def children_cpu() -> float:
    """CPU seconds of this process's descendants (the compile processes),
    live ones read from /proc, plus those already waited for."""
    tick = os.sysconf("SC_CLK_TCK")
    kids: dict = {}
    for d in os.listdir("/proc") if os.path.isdir("/proc") else ():
        if d.isdigit():
            try:
                with open(f"/proc/{d}/stat") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            kids.setdefault(int(fields[1]), []).append((int(d), fields))
    total, todo = 0.0, [os.getpid()]
    while todo:
        for pid, fields in kids.get(todo.pop(), ()):
            # utime, stime, cutime, cstime
            total += sum(int(v) for v in fields[11:15]) / tick
            todo.append(pid)
    done = resource.getrusage(resource.RUSAGE_CHILDREN)
    return total + done.ru_utime + done.ru_stime


def worker(system: str, kind: str, depth: int) -> dict:
    import numpy as np

    keras, version = keras_system(system)
    rng = np.random.default_rng(0)
    if kind in APPS:
        x = (rng.random((8, 64, 64, 3)) * 255).astype(np.float32)
        y, batch = rng.integers(0, 10, 8), 4
    else:
        width = 8 if kind == "plain" else 32
        x = rng.random((256, width), dtype=np.float32)
        y = (rng.integers(0, 3, 256) if kind == "residual"
             else rng.random((256, 1), dtype=np.float32))
        batch = 64
    t0 = time.perf_counter()
    model = build(keras, kind, depth)
    t1 = time.perf_counter()
    c1, k1 = time.process_time(), children_cpu()
    model.fit(x, y, batch_size=batch, epochs=1, verbose=0)
    t2 = time.perf_counter()
    c2, k2 = time.process_time(), children_cpu()
    model.predict(x, batch_size=batch, verbose=0)
    t3 = time.perf_counter()
    model.evaluate(x, y, batch_size=batch, verbose=0)
    t4 = time.perf_counter()
    return {"system": system, "version": version, "kind": kind,
            "depth": depth, "layers": len(model.layers),
            "build_s": t1 - t0, "fit_s": t2 - t1, "predict_s": t3 - t2,
            "evaluate_s": t4 - t3, "fit_cpu_s": c2 - c1,
            "fit_children_cpu_s": k2 - k1,
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
    print(f"{'kind':11s} {'depth':>5s} {'layers':>6s} {'system':16s} "
          f"{'first fit s':>11s} {'cpu s':>6s} {'llvm s':>6s} "
          f"{'predict s':>9s} {'evaluate s':>10s} {'peak MB':>8s}")
    kinds = []
    for kind in args.kinds.split(","):
        kinds += list(APPS) if kind == "apps" else [kind]
    for kind in kinds:
        depths = [0] if kind in APPS else [
            int(d) for d in args.depths.split(",")]
        for depth in depths:
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
                print(f"{kind:11s} {depth:5d} {r['layers']:6d} {system:16s} "
                      f"{r['fit_s']:11.2f} {r['fit_cpu_s']:6.2f} "
                      f"{r['fit_children_cpu_s']:6.2f} {r['predict_s']:9.2f} "
                      f"{r['evaluate_s']:10.2f} {r['peak_mb']:8.0f}",
                      flush=True)
            if "graphkeras" in fits and len(fits) > 1:
                best = min(v for s, v in fits.items() if s != "graphkeras")
                print(f"{'':24s} first fit: graphkeras "
                      f"{best / fits['graphkeras']:.2f}x the fastest peer "
                      "(> 1: faster)")


if __name__ == "__main__":
    main()
