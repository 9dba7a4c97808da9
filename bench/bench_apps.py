"""W7 of shared/WORKLOADS.md (issue 14): Keras applications, predict and
train, beside Keras 3 on JAX, TensorFlow and PyTorch and ONNX Runtime
running graphkeras's export, in one invocation.

    python bench/bench_apps.py [--models resnet50,mobilenetv2,...]
                               [--size 224] [--batch 32] [--steps 5]
                               [--systems graphkeras,keras-jax,...]
                               [--peers-python /work/venv-peers/bin/python]

Models: ResNet50, MobileNetV2, EfficientNetB0, DenseNet121 as
keras.applications builds them (weights=None, classes=10) at
size x size x 3 (224 by default; --size 64 or 96 on a shared machine).
Keras-JAX writes each model once as a .keras file; every system loads
that file, so all run the same weights.

Per model and system, in a fresh process with a cold compile cache:
- first_predict_s / first_train_s: the first predict_on_batch and the
  first train_on_batch (batch --batch), compilation included (graphkeras:
  an empty GRAPHKERAS_CACHE_DIR; the peers: their tracing and jit);
- predict_b1_ms: median latency of predict_on_batch on one image;
- predict_b32: samples/s of predict_on_batch at batch 32;
- train_full: samples/s of train_on_batch (SGD, sparse categorical
  cross-entropy) at batch --batch, every layer trained;
- train_frozen: the same with the base frozen as Keras's transfer-learning
  guide does it (every layer but the classifier `trainable = False`,
  BatchNormalization then in inference mode, recompiled).
ONNX Runtime runs predict on graphkeras's ONNX export of the model
(system "ort-gk-export", measured in the graphkeras process).

The table gives each value and "gk x", how many times better graphkeras is
than the system (> 1: graphkeras wins), from this one run. The machine is
shared and noisy: compare ratios within one run, not across runs.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time

from common import (add_system_args, keras_system, limit_threads, machine,
                    run_worker)

HERE = os.path.dirname(os.path.abspath(__file__))
SYSTEMS = ("graphkeras", "keras-jax", "keras-tensorflow", "keras-torch")
MODELS = {"resnet50": "ResNet50", "mobilenetv2": "MobileNetV2",
          "efficientnetb0": "EfficientNetB0", "densenet121": "DenseNet121"}
CLASSES = 10


def _data(n: int, size: int, seed: int = 0):
    import numpy as np

    rng = np.random.default_rng(seed)
    x = (rng.random((n, size, size, 3)) * 255).astype("float32")  # pixels
    return x, rng.integers(0, CLASSES, n)


def _timed(fn) -> float:
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def _median(fn, reps: int) -> float:
    return statistics.median(_timed(fn) for _ in range(reps))


def make_file(arch: str, size: int, path: str) -> None:
    """Keras-JAX writes the model (run in the peers' Python)."""
    keras, _ = keras_system("keras-jax")
    keras.utils.set_random_seed(0)
    m = getattr(keras.applications, arch)(weights=None, classes=CLASSES,
                                          input_shape=(size, size, 3))
    m.save(path)


def keras_worker(system: str, path: str, size: int, batch: int,
                 steps: int) -> dict:
    keras, version = keras_system(system)
    out = {"version": version}
    model = keras.models.load_model(path)
    x, y = _data(batch, size)
    x1 = x[:1]
    x32, _ = _data(32, size, 1)

    def compile_(m):
        m.compile(optimizer=keras.optimizers.SGD(0.01),
                  loss="sparse_categorical_crossentropy")

    out["first_predict_s"] = _timed(lambda: model.predict_on_batch(x1))
    compile_(model)
    out["first_train_s"] = _timed(lambda: model.train_on_batch(x, y))
    model.predict_on_batch(x32)
    out["predict_b1_ms"] = 1e3 * _median(lambda: model.predict_on_batch(x1),
                                         max(steps, 5))
    out["predict_b32"] = 32 / _median(lambda: model.predict_on_batch(x32),
                                      steps)
    out["train_full"] = batch / _median(lambda: model.train_on_batch(x, y),
                                        steps)
    for layer in model.layers[:-1]:  # the guide's frozen base
        layer.trainable = False
    compile_(model)
    model.train_on_batch(x, y)
    out["train_frozen"] = batch / _median(lambda: model.train_on_batch(x, y),
                                          steps)
    if system == "graphkeras":
        out.update(_onnx_runtime(model, x1, x32, steps))
    return out


def _onnx_runtime(model, x1, x32, steps) -> dict:
    try:
        import onnxruntime as ort
    except ImportError:
        return {}
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "model.onnx")
        model.export(path, format="onnx")
        sess = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    name = sess.get_inputs()[0].name
    sess.run(None, {name: x32})
    return {"ort": {
        "predict_b1_ms": 1e3 * _median(lambda: sess.run(None, {name: x1}),
                                       max(steps, 5)),
        "predict_b32": 32 / _median(lambda: sess.run(None, {name: x32}),
                                    steps)}}


def worker(args) -> None:
    limit_threads(args.worker, args.threads)
    if args.worker == "make":
        make_file(args.arch, args.size, args.path)
        print("RESULT {}")
        return
    if args.worker == "graphkeras":  # a cold compile cache
        os.environ["GRAPHKERAS_CACHE_DIR"] = tempfile.mkdtemp(prefix="gk-w7-")
    res = keras_worker(args.worker, args.path, args.size, args.batch,
                       args.steps)
    print("RESULT " + json.dumps(res), flush=True)


def _run(system: str, args, extra: list) -> dict | None:
    py = sys.executable if system == "graphkeras" else args.peers_python
    cmd = [py, os.path.abspath(__file__), "--worker", system,
           "--size", str(args.size), "--batch", str(args.batch),
           "--steps", str(args.steps), "--threads", str(args.threads),
           *extra]
    return run_worker(system, cmd, args.timeout)


METRICS = (("first_predict_s", "first predict (s, cold)", False),
           ("first_train_s", "first train step (s, cold)", False),
           ("predict_b1_ms", "predict batch 1 (ms)", False),
           ("predict_b32", "predict batch 32 (samples/s)", True),
           ("train_full", "train, all layers (samples/s)", True),
           ("train_frozen", "train, frozen base (samples/s)", True))


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--models", default=",".join(MODELS))
    ap.add_argument("--size", type=int, default=224)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--steps", type=int, default=5)
    ap.add_argument("--threads", type=int, default=0)
    add_system_args(ap, ",".join(SYSTEMS), 3600)
    ap.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    ap.add_argument("--arch", default=None, help=argparse.SUPPRESS)
    ap.add_argument("--path", default=None, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.worker:
        worker(args)
        return
    systems = [s for s in args.systems.split(",") if s]
    print(f"W7 applications at {args.size}x{args.size}x3, train batch "
          f"{args.batch}, {args.steps} timed steps\nmachine: {machine()}",
          flush=True)
    results: dict = {}
    info: dict = {}
    with tempfile.TemporaryDirectory() as d:
        for key in [m for m in args.models.split(",") if m]:
            arch = MODELS[key]
            path = os.path.join(d, f"{arch}.keras")
            if _run("make", argparse.Namespace(**{**vars(args),
                                                  "peers_python":
                                                  args.peers_python}),
                    ["--arch", arch, "--path", path]) is None:
                print(f"  {arch}: the peers could not write the model")
                continue
            for s in systems:
                res = _run(s, args, ["--path", path])
                if res is None:
                    continue
                info[s] = res.pop("version")
                ort = res.pop("ort", None)
                results[(arch, s)] = res
                if ort:
                    results[(arch, "ort-gk-export")] = ort
                    info["ort-gk-export"] = "onnxruntime"
                print(f"  {arch} {s}: " + ", ".join(
                    f"{k} {v:.3g}" for k, v in res.items()), flush=True)
    print(f"\nhost: {machine()}")
    print("\n| model | metric | system | version | value | gk x |")
    print("| --- | --- | --- | --- | --- | --- |")
    shown = [*systems, "ort-gk-export"]
    for key in [m for m in args.models.split(",") if m]:
        arch = MODELS[key]
        gk = results.get((arch, "graphkeras"), {})
        for metric, label, higher in METRICS:
            for s in shown:
                v = results.get((arch, s), {}).get(metric)
                if v is None:
                    continue
                g = gk.get(metric)
                ratio = "-" if not g else (
                    f"{g / v:.2f}" if higher else f"{v / g:.2f}")
                print(f"| {arch} | {label} | {s} | {info.get(s, '?')} | "
                      f"{v:.3g} | {ratio} |")


if __name__ == "__main__":
    main()
