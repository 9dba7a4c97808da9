"""The deployment path: ONNX Runtime running graphkeras's ONNX export of a
Keras 3 model beside ONNX Runtime running Keras 3's own export of it
(torch backend, keras/src/export/onnx.py), in one invocation.

    python bench/bench_onnx.py [--models mobilenetv2,mobilenetv3small,...]
                               [--size 96] [--batch 8] [--rounds 5]
                               [--threads 1]
                               [--peers-python /work/venv-peers/bin/python]

Per model: a worker in the peers' Python (KERAS_BACKEND=torch) builds the
keras.applications model (weights=None, classes=5) at size x size x 3,
saves it as a .keras file, exports it with `model.export(format="onnx")`
and writes Keras's predictions on a fixed batch. graphkeras exports the
same .keras file (`graphkeras export`). Both files then run in this
process under onnxruntime with --threads intra-op threads, alternating
round by round; the table gives the best and median ms per batch, the
ratio (> 1: graphkeras's file is faster) and each file's max |difference|
to Keras's predictions. The machine is shared and noisy: compare the
ratios within one run, not across runs.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import ROOT, add_system_args, machine  # noqa: E402

MODELS = {  # name: (keras.applications builder, extra keyword arguments)
    "mobilenetv2": ("MobileNetV2", {"alpha": 0.35}),
    "mobilenetv3small": ("MobileNetV3Small", {}),
    "efficientnetb0": ("EfficientNetB0", {}),
    "resnet50": ("ResNet50", {}),
    "densenet121": ("DenseNet121", {}),
}

WORKER = """
import os, sys, numpy as np, keras
name, kw, size, batch, out = sys.argv[1], eval(sys.argv[2]), int(sys.argv[3]), \\
    int(sys.argv[4]), sys.argv[5]
keras.utils.set_random_seed(0)
model = getattr(keras.applications, name)(
    input_shape=(size, size, 3), weights=None, classes=5, **kw)
x = np.random.default_rng(0).uniform(0, 255, (batch, size, size, 3))
x = x.astype("float32")
model(x[:1])  # Keras exports only a model that has been called
model.save(os.path.join(out, "model.keras"))
model.export(os.path.join(out, "keras.onnx"), format="onnx", verbose=False)
np.save(os.path.join(out, "x.npy"), x)
np.save(os.path.join(out, "y.npy"), model.predict(x, verbose=0))
print("RESULT ok")
"""


def _prepare(args, key: str) -> str | None:
    """A directory holding model.keras, keras.onnx, gk.onnx, x.npy, y.npy;
    None (and why) when a step fails."""
    name, kw = MODELS[key]
    out = tempfile.mkdtemp(prefix=f"gk-bench-onnx-{key}-")
    env = {**os.environ, "KERAS_BACKEND": "torch"}
    r = subprocess.run(
        [args.peers_python, "-c", WORKER, name, repr(kw), str(args.size),
         str(args.batch), out], capture_output=True, text=True, env=env,
        timeout=args.timeout, check=False)
    if "RESULT ok" not in r.stdout:
        print(f"  {key}: Keras 3 failed\n{r.stderr[-800:]}", flush=True)
        return None
    r = subprocess.run(
        [sys.executable, "-m", "graphkeras", "export",
         os.path.join(out, "model.keras"), os.path.join(out, "gk.onnx")],
        capture_output=True, text=True, timeout=args.timeout, check=False,
        env={**os.environ, "PYTHONPATH": ROOT})
    if r.returncode:
        print(f"  {key}: graphkeras export failed\n{r.stderr[-800:]}")
        return None
    return out


def _session(path: str, threads: int):
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    opts.log_severity_level = 3
    return ort.InferenceSession(path, opts,
                                providers=["CPUExecutionProvider"])


def _time(sess, x, reps: int) -> float:
    feed = {sess.get_inputs()[0].name: x}
    sess.run(None, feed)
    t = time.perf_counter()
    for _ in range(reps):
        sess.run(None, feed)
    return (time.perf_counter() - t) / reps * 1e3


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", default="mobilenetv2,mobilenetv3small,"
                    "efficientnetb0,resnet50")
    ap.add_argument("--size", type=int, default=96)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--threads", type=int, default=1)
    add_system_args(ap, "keras-torch", 900.0)
    args = ap.parse_args()
    import onnxruntime as ort

    print(machine())
    print(f"onnxruntime {ort.__version__}, {args.threads} intra-op "
          f"thread(s), batch {args.batch}, {args.size}x{args.size}x3")
    print(f"{'model':<18}{'gk file ms':>12}{'keras file ms':>15}"
          f"{'gk x':>7}{'gk |diff|':>11}{'keras |diff|':>14}")
    for key in args.models.split(","):
        out = _prepare(args, key)
        if out is None:
            continue
        x, y = np.load(os.path.join(out, "x.npy")), np.load(
            os.path.join(out, "y.npy"))
        sessions = {s: _session(os.path.join(out, f"{s}.onnx"), args.threads)
                    for s in ("gk", "keras")}
        diff = {s: float(np.abs(sess.run(
            None, {sess.get_inputs()[0].name: x})[0] - y).max())
            for s, sess in sessions.items()}
        ms = {s: [] for s in sessions}
        for _ in range(args.rounds):  # alternate, so load hits both alike
            for s, sess in sessions.items():
                ms[s].append(_time(sess, x, args.reps))
        gk, ke = min(ms["gk"]), min(ms["keras"])
        med = {s: f"({statistics.median(v):.0f})" for s, v in ms.items()}
        print(f"{key:<18}{gk:>7.1f} {med['gk']:<5}{ke:>9.1f} "
              f"{med['keras']:<5}{ke / gk:>7.2f}{diff['gk']:>11.1e}"
              f"{diff['keras']:>14.1e}", flush=True)
    print("ms: best of the rounds (median in brackets). gk x > 1: "
          "graphkeras's file runs faster.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
