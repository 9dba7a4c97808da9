"""Issue 14: every constructor of graphkeras.applications builds and takes
one training step without a crash. Per architecture, in a fresh process
with a cold compile cache:

    python bench/bench_apps_compile.py [--models ResNet50,VGG16,...]
                                       [--timeout 900] [--out FILE.jsonl]

builds the model (weights=None, classes=10) at a small input size it
allows (32x32; 71x71 for Xception, 75x75 for the Inception nets), compiles
it (SGD 0.01, sparse categorical cross-entropy) and runs one
train_on_batch on a batch of 2 images of 0-255 pixels.

It reports per model: layers, weights, kernels of the compiled train step,
build seconds, first train step seconds (tracing and compilation
included, cold cache), the loss, and the outcome: OK, a non-finite loss,
a Python error (its last line), a crash (the signal that ended the
process) or a timeout. The
models run smallest first. With --out, each result is appended to a JSON
lines file as it comes (a long run keeps what it measured; --resume skips
the models already there). Speed is not the point here; the machine is
shared and noisy.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

from common import machine

# smallest first (roughly by parameters and depth): a long run reaches the
# big ones last
MODELS = (
    "MobileNetV3Small", "MobileNetV3Large", "MobileNet", "MobileNetV2",
    "NASNetMobile", "EfficientNetB0", "EfficientNetV2B0", "VGG16", "VGG19",
    "ResNet50", "ResNet50V2", "DenseNet121", "EfficientNetB1",
    "EfficientNetV2B1", "EfficientNetB2", "EfficientNetV2B2", "ConvNeXtTiny",
    "Xception", "InceptionV3", "EfficientNetB3", "EfficientNetV2B3",
    "DenseNet169", "DenseNet201", "ResNet101", "ResNet101V2",
    "ConvNeXtSmall", "EfficientNetB4", "EfficientNetV2S", "ResNet152",
    "ResNet152V2", "InceptionResNetV2", "EfficientNetB5", "ConvNeXtBase",
    "NASNetLarge", "EfficientNetB6", "EfficientNetV2M", "ConvNeXtLarge",
    "EfficientNetB7", "EfficientNetV2L", "ConvNeXtXLarge",
)
MIN_SIZE = {"Xception": 71, "InceptionV3": 75, "InceptionResNetV2": 75}
CLASSES = 10
BATCH = 2


def size_of(arch: str) -> int:
    return MIN_SIZE.get(arch, 32)


def worker(arch: str) -> dict:
    """Build, compile and train one step (in the child process)."""
    import numpy as np

    t0 = time.perf_counter()
    import graphkeras as keras

    size = size_of(arch)
    keras.utils.set_random_seed(0)  # the same initial weights run to run
    model = getattr(keras.applications, arch)(
        weights=None, classes=CLASSES, input_shape=(size, size, 3))
    out = {"layers": len(model.layers), "weights": len(model.weights),
           "params": int(model.count_params()),
           "build_s": time.perf_counter() - t0}
    model.compile(optimizer=keras.optimizers.SGD(0.01),
                  loss="sparse_categorical_crossentropy")
    rng = np.random.default_rng(0)
    x = (rng.random((BATCH, size, size, 3)) * 255).astype("float32")
    y = rng.integers(0, CLASSES, BATCH)
    t = time.perf_counter()
    loss = model.train_on_batch(x, y)
    out["first_train_s"] = time.perf_counter() - t
    out["loss"] = float(np.asarray(loss).reshape(-1)[0])
    kernels = [len(e.layout.kernels) for e in model._steps.values()
               if hasattr(e, "layout")]
    out["kernels"] = kernels[0] if kernels else None
    return out


def run_one(arch: str, timeout: float) -> dict:
    """The child process's result, or how it ended."""
    cache = tempfile.mkdtemp(prefix="gk-apps-compile-")
    env = dict(os.environ, GRAPHKERAS_CACHE_DIR=cache)
    cmd = [sys.executable, os.path.abspath(__file__), "--worker", arch]
    t = time.perf_counter()
    # its own session: a timeout ends the child and its compile workers
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env,
                            start_new_session=True)
    try:
        stdout, stderr = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        res = {"outcome": "timeout", "detail": f"> {timeout:.0f} s"}
    else:
        res = None
        for line in stdout.splitlines():
            if line.startswith("RESULT "):
                res = json.loads(line[7:])
                finite = res["loss"] == res["loss"] and abs(
                    res["loss"]) != float("inf")
                res["outcome"] = "OK" if finite else "non-finite loss"
        if res is None:
            tail = [s for s in stderr.strip().splitlines() if s.strip()]
            if proc.returncode < 0:
                sig = signal.Signals(-proc.returncode).name
                last = tail[-1] if tail else ""
                res = {"outcome": f"crash ({sig})", "detail": last[-300:]}
            else:
                res = {"outcome": "Python error",
                       "detail": (tail[-1] if tail else "")[-300:]}
    shutil.rmtree(cache, ignore_errors=True)
    res.update(model=arch, size=size_of(arch),
               wall_s=time.perf_counter() - t)
    return res


def _fmt(v, spec=""):
    return "-" if v is None else format(v, spec)


def table(results: list) -> str:
    lines = ["| model | input | layers | parameters | kernels | "
             "first train step (s) | loss | outcome |",
             "| --- | --- | --- | --- | --- | --- | --- | --- |"]
    for r in results:
        outcome = r["outcome"]
        if r.get("detail"):
            outcome += f": {r['detail']}"
        lines.append(
            f"| {r['model']} | {r['size']}x{r['size']} | "
            f"{_fmt(r.get('layers'))} | {_fmt(r.get('params'), ',')} | "
            f"{_fmt(r.get('kernels'))} | "
            f"{_fmt(r.get('first_train_s'), '.1f')} | "
            f"{_fmt(r.get('loss'), '.3g')} | {outcome} |")
    return "\n".join(lines)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--models", default=",".join(MODELS))
    ap.add_argument("--timeout", type=float, default=900)
    ap.add_argument("--out", default=None, help="append results (JSON lines)")
    ap.add_argument("--resume", action="store_true",
                    help="skip the models already in --out")
    ap.add_argument("--table", action="store_true",
                    help="only print the table of --out")
    ap.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.worker:
        print("RESULT " + json.dumps(worker(args.worker)), flush=True)
        return 0
    done = []
    if args.out and os.path.exists(args.out) and (args.resume or args.table):
        with open(args.out) as f:
            done = [json.loads(line) for line in f if line.strip()]
    if not args.table:
        print(f"machine: {machine()}", flush=True)
        seen = {r["model"] for r in done}
        for arch in [m for m in args.models.split(",") if m]:
            if arch in seen:
                continue
            res = run_one(arch, args.timeout)
            done.append(res)
            print(f"{arch}: {res['outcome']} {res.get('detail', '')} "
                  f"first train step {_fmt(res.get('first_train_s'), '.1f')}"
                  f" s, wall {res['wall_s']:.0f} s", flush=True)
            if args.out:
                with open(args.out, "a") as f:
                    f.write(json.dumps(res) + "\n")
        print(f"\nhost: {machine()}")
    order = {m: i for i, m in enumerate(MODELS)}
    print(table(sorted(done, key=lambda r: order.get(r["model"], 99))))
    return 0 if all(r["outcome"] == "OK" for r in done) else 1


if __name__ == "__main__":
    sys.exit(main())
