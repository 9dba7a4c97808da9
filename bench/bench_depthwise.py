"""Depthwise convolutions at MobileNetV2's shapes (issue 14: "depthwise
convolutions at GEMM speed"), graphkeras beside Keras 3 on TensorFlow and
JAX, in one invocation.

    python bench/bench_depthwise.py [--batch 32] [--steps 5]
                                    [--systems graphkeras,keras-tensorflow,...]
                                    [--peers-python /work/venv-peers/bin/python]

Per shape (H x W x C, stride, 3x3 kernel, padding "same", no bias), one
model Input -> DepthwiseConv2D(1x1) -> DepthwiseConv2D(3x3), so that
training runs the 3x3 layer's forward, input gradient and filter gradient
(the 1x1 layer in front is there to need the input gradient):
- fwd: samples/s of predict_on_batch at --batch;
- train: samples/s of train_on_batch (SGD, mean squared error to zeros).
Each system runs in its own process (the peers with --peers-python). The
table gives each value and "gk x", how many times faster graphkeras is
(> 1: graphkeras wins), from this one run; the machine is shared and
noisy: compare ratios within one run, not across runs.
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

# MobileNetV2's depthwise layers: (H, W, C, stride)
SHAPES = ((112, 112, 96, 2), (56, 56, 144, 1), (28, 28, 192, 1),
          (14, 14, 384, 1), (7, 7, 960, 1))
SYSTEMS = ("graphkeras", "keras-tensorflow", "keras-jax")


def _median(fn, reps: int) -> float:
    ts = []
    for _ in range(reps):
        t = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t)
    return statistics.median(ts)


def worker(system: str, batch: int, steps: int, threads: int) -> dict:
    limit_threads(system, threads)
    if system == "graphkeras":
        import tempfile

        os.environ.setdefault("GRAPHKERAS_CACHE_DIR",
                              tempfile.mkdtemp(prefix="gk-dw-"))
    keras, version = keras_system(system)
    import numpy as np

    rng = np.random.default_rng(0)
    out = {"version": version}
    for h, w, c, s in SHAPES:
        keras.utils.set_random_seed(0)
        inp = keras.Input((h, w, c))
        y = keras.layers.DepthwiseConv2D(1, use_bias=False)(inp)
        y = keras.layers.DepthwiseConv2D(3, strides=s, padding="same",
                                         use_bias=False)(y)
        model = keras.Model(inp, y)
        model.compile(optimizer=keras.optimizers.SGD(1e-3), loss="mse")
        x = rng.standard_normal((batch, h, w, c)).astype("float32")
        t = np.zeros((batch,) + tuple(model.output.shape[1:]), "float32")
        model.predict_on_batch(x)
        model.train_on_batch(x, t)
        key = f"{h}x{w}x{c} s{s}"
        out[key] = {
            "fwd": batch / _median(lambda: model.predict_on_batch(x), steps),
            "train": batch / _median(lambda: model.train_on_batch(x, t), steps)}
    return out


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--steps", type=int, default=5)
    ap.add_argument("--threads", type=int, default=0)
    add_system_args(ap, ",".join(SYSTEMS), 1800)
    ap.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.worker:
        res = worker(args.worker, args.batch, args.steps, args.threads)
        print("RESULT " + json.dumps(res), flush=True)
        return
    systems = [s for s in args.systems.split(",") if s]
    print(f"depthwise 3x3 'same' at MobileNetV2's shapes, batch {args.batch}, "
          f"median of {args.steps} steps\nmachine: {machine()}", flush=True)
    results = {}
    for s in systems:
        py = sys.executable if s == "graphkeras" else args.peers_python
        cmd = [py, os.path.abspath(__file__), "--worker", s, "--batch",
               str(args.batch), "--steps", str(args.steps), "--threads",
               str(args.threads)]
        res = run_worker(s, cmd, args.timeout)
        if res is not None:
            results[s] = res
    gk = results.get("graphkeras", {})
    peers = [s for s in systems if s != "graphkeras" and s in results]
    head = f"{'shape':<18}{'what':<7}{'graphkeras':>11}" + "".join(
        f"{p:>18}{'gk x':>7}" for p in peers)
    print(head + "\n" + "-" * len(head))
    for h, w, c, st in SHAPES:
        key = f"{h}x{w}x{c} s{st}"
        for what in ("fwd", "train"):
            mine = gk.get(key, {}).get(what)
            line = f"{key:<18}{what:<7}" + (f"{mine:>11.1f}" if mine else
                                            f"{'-':>11}")
            for p in peers:
                v = results[p].get(key, {}).get(what)
                ratio = f"{mine / v:.2f}" if mine and v else "-"
                line += f"{v:>18.1f}{ratio:>7}" if v else f"{'-':>18}{ratio:>7}"
            print(line)
    print("(samples/s; gk x > 1: graphkeras faster; one run on a shared, "
          "noisy machine)")


if __name__ == "__main__":
    main()
