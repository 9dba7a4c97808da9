"""W2 of shared/WORKLOADS.md (the MNIST convnet, training) and its predict
workload, beside Keras 3 (JAX, TensorFlow, PyTorch backends), PyTorch
eager and ONNX Runtime (predict only, on graphkeras's own ONNX export of
the same model, as bench/run.py does for W4), in one invocation.

    python bench/bench_cnn.py [--rounds 3] [--batches 20] [--threads 0,1]
                              [--workloads w2,predict]
                              [--systems graphkeras,keras-jax,...]
                              [--peers-python /work/venv-peers/bin/python]

Model: Input(28, 28, 1) - Conv2D(32, 3, relu) - MaxPooling2D(2) -
Conv2D(64, 3, relu) - MaxPooling2D(2) - Flatten - Dropout(0.5) -
Dense(10, softmax); Adam(1e-3), categorical crossentropy, accuracy.
Data: uniform images (fixed seed) labelled by a fixed random teacher
(argmax of the flattened image times a random matrix), so the task is
learnable and the gradients stay alive (WORKLOADS.md).

- w2: training at batch 128: one warm-up epoch of `--batches` batches
  (compilation, first-call costs), then a timed epoch; samples/s.
- predict: the trained model's `predict` on 20 batches of 128 (samples/s)
  and `predict_on_batch` on one image (median latency in us).

Each measurement is a fresh process (this script with --worker; the peers
run with the peers' Python, never in the project's interpreter). Rounds
alternate the systems; the table gives the median over rounds, min-max,
and "gk x", how many times better graphkeras is than the system (> 1:
graphkeras wins). PyTorch runs with denormals flushed, as our kernels do.
`--threads 0` is each system's default (all cores), `1` limits every
system to one thread.

`--conv1x1` prints instead the GFLOP/s of 1x1 convolutions run by the
direct conv kernel and by the GEMM, the measurement behind
passes/assign_layouts.py's choice; `--patches` the GFLOP/s of 3x3
convolutions with large filters on small maps, run direct (or Winograd)
and as products of patches, on one thread in CPU time (the measurement
behind the patch products there).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

from common import (add_system_args, busy, busy_note, export_onnx, keras_system,
                    limit_threads, machine, run_worker)

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
SYSTEMS = ("graphkeras", "keras-jax", "keras-tensorflow", "keras-torch",
           "torch", "onnxruntime")
ONLY = {"onnxruntime": {"predict"}}  # the workloads a system runs (default all)
BATCH, CLASSES = 128, 10


def data(n: int, seed: int = 0):
    import numpy as np

    rng = np.random.default_rng(seed)
    x = rng.random((n, 28, 28, 1), dtype=np.float32)
    teacher = np.random.default_rng(1234).normal(size=(784, CLASSES))
    labels = np.argmax(x.reshape(n, -1) @ teacher, axis=1)
    return x, np.eye(CLASSES, dtype=np.float32)[labels]


# --- workers ---------------------------------------------------------------------


def keras_cnn(keras):
    layers = keras.layers
    model = keras.Sequential([
        keras.Input((28, 28, 1)),
        layers.Conv2D(32, 3, activation="relu"),
        layers.MaxPooling2D(2),
        layers.Conv2D(64, 3, activation="relu"),
        layers.MaxPooling2D(2),
        layers.Flatten(),
        layers.Dropout(0.5),
        layers.Dense(CLASSES, activation="softmax"),
    ])
    model.compile(optimizer=keras.optimizers.Adam(1e-3),
                  loss="categorical_crossentropy", metrics=["accuracy"])
    return model


def _median_us(fn, calls: int = 200, budget: float = 3.0) -> float:
    fn()
    ts, t_end = [], time.perf_counter() + budget
    for _ in range(calls):
        t0 = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t0)
        if time.perf_counter() > t_end:
            break
    return statistics.median(ts) * 1e6


def keras_worker(system: str, workload: str, batches: int) -> dict:
    keras, version = keras_system(system)
    x, y = data(BATCH * batches)
    model = keras_cnn(keras)
    t0 = time.perf_counter()
    model.fit(x, y, batch_size=BATCH, epochs=1, verbose=0)
    warm = time.perf_counter() - t0
    res = {"version": version, "warmup_s": warm}
    if workload == "w2":
        t0 = time.perf_counter()
        hist = model.fit(x, y, batch_size=BATCH, epochs=1, verbose=0)
        dt = time.perf_counter() - t0
        res.update(samples_per_s=len(x) / dt, loss=float(hist.history["loss"][-1]))
        return res
    xp = x[:BATCH * 20]
    model.predict(xp, batch_size=BATCH, verbose=0)
    t0 = time.perf_counter()
    model.predict(xp, batch_size=BATCH, verbose=0)
    res["samples_per_s"] = len(xp) / (time.perf_counter() - t0)
    one = x[:1]
    res["batch1_us"] = _median_us(lambda: model.predict_on_batch(one))
    return res


def torch_worker(workload: str, batches: int) -> dict:
    import numpy as np
    import torch

    torch.set_flush_denormal(True)
    torch.manual_seed(0)
    x, y = data(BATCH * batches)
    net = torch.nn.Sequential(
        torch.nn.Conv2d(1, 32, 3), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
        torch.nn.Conv2d(32, 64, 3), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
        torch.nn.Flatten(), torch.nn.Dropout(0.5), torch.nn.Linear(1600, CLASSES))
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    loss_fn = torch.nn.CrossEntropyLoss()
    xt = torch.from_numpy(np.ascontiguousarray(x.transpose(0, 3, 1, 2)))
    yt = torch.from_numpy(np.argmax(y, axis=1))

    def epoch():
        net.train()
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
    res = {"version": torch.__version__, "warmup_s": time.perf_counter() - t0}
    if workload == "w2":
        t0 = time.perf_counter()
        loss = epoch()
        res.update(samples_per_s=len(x) / (time.perf_counter() - t0), loss=loss)
        return res
    net.eval()
    xp = xt[:BATCH * 20]

    def predict():
        with torch.no_grad():
            for i in range(0, len(xp), BATCH):
                torch.softmax(net(xp[i:i + BATCH]), dim=1).numpy()

    predict()
    t0 = time.perf_counter()
    predict()
    res["samples_per_s"] = len(xp) / (time.perf_counter() - t0)
    one = xt[:1]

    def single():
        with torch.no_grad():
            torch.softmax(net(one), dim=1).numpy()

    res["batch1_us"] = _median_us(single)
    return res


def onnxruntime_worker(path: str, threads: int) -> dict:
    """The exported model under ONNX Runtime (CPU provider): batch-128
    throughput and the median latency of one image."""
    import numpy as np
    import onnxruntime as ort

    opts = ort.SessionOptions()
    if threads:
        opts.intra_op_num_threads = threads
        opts.inter_op_num_threads = 1
    t0 = time.perf_counter()
    sess = ort.InferenceSession(path, opts, providers=["CPUExecutionProvider"])
    name = sess.get_inputs()[0].name
    x, _ = data(BATCH * 20)
    for i in range(0, len(x), BATCH):
        sess.run(None, {name: x[i:i + BATCH]})
    res = {"version": ort.__version__, "warmup_s": time.perf_counter() - t0}
    t0 = time.perf_counter()
    for i in range(0, len(x), BATCH):
        sess.run(None, {name: x[i:i + BATCH]})
    res["samples_per_s"] = len(x) / (time.perf_counter() - t0)
    one = np.ascontiguousarray(x[:1])
    res["batch1_us"] = _median_us(lambda: sess.run(None, {name: one}))
    return res


def worker(system: str, workload: str, batches: int, threads: int,
           onnx_path: str = "") -> None:
    limit_threads(system, threads)
    if system == "onnxruntime":
        res = onnxruntime_worker(onnx_path, threads)
    elif system == "torch":
        res = torch_worker(workload, batches)
    else:
        res = keras_worker(system, workload, batches)
    print("RESULT " + json.dumps(res), flush=True)


# --- 1x1 convolutions: direct kernel or GEMM (passes/assign_layouts.py) --------------

CONV1X1 = [(32, 14, 64, 64), (32, 14, 128, 256), (32, 28, 32, 64),
           (8, 56, 64, 128), (128, 5, 64, 10)]


def conv1x1_table(reps: int = 15) -> None:
    """GFLOP/s of a 1x1 convolution run by the direct conv kernel and by
    the GEMM on the (N, H*W, C) view: the measurement behind
    assign_layouts' choice (graphkeras only, compiled IR programs)."""
    sys.path.insert(0, ROOT)
    import numpy as np

    from graphkeras import ir
    from graphkeras.runtime import Program, StateStore
    from graphkeras.runtime.compiled import CompiledExecutable

    def timed(fn, args):
        names = tuple(p.name for p in fn.params)
        exe = CompiledExecutable(Program(fn, (), names, (), (0,)), StateStore())
        exe.run(args)
        ts = []
        for _ in range(reps):
            t0 = time.perf_counter()
            exe.run(args)
            ts.append(time.perf_counter() - t0)
        return statistics.median(ts)

    rng = np.random.default_rng(0)
    print("| N x HxW x Cin -> Cout | direct conv GFLOP/s | GEMM GFLOP/s |")
    print("| --- | --- | --- |")
    for n, hw, cin, cout in CONV1X1:
        b = ir.Builder("direct")
        x, w = b.param("x", ("N", hw, hw, cin)), b.param("w", (1, 1, cin, cout))
        direct = b.build([b.conv(x, w, strides=(1, 1), pads=((0, 0), (0, 0)),
                                 dilation=(1, 1))])
        b = ir.Builder("gemm")
        x, w = b.param("x", ("N", hw, hw, cin)), b.param("w", (1, 1, cin, cout))
        m = b.matmul(b.reshape(x, shape=("N", hw * hw, cin)),
                     b.reshape(w, shape=(cin, cout)))
        gemm = b.build([b.reshape(m, shape=("N", hw, hw, cout))])
        args = [rng.random((n, hw, hw, cin), dtype=np.float32),
                rng.random((1, 1, cin, cout), dtype=np.float32)]
        flops = 2 * n * hw * hw * cin * cout
        print(f"| {n} x {hw}x{hw} x {cin} -> {cout} | "
              f"{flops / timed(direct, args) / 1e9:.0f} | "
              f"{flops / timed(gemm, args) / 1e9:.0f} |", flush=True)


# N, H(=W), Cin, Cout of a 3x3 "same" convolution: ResNet50's last stage
# at 96x96, 128x128 and 224x224 inputs, batch 32 and 1; a smaller filter
PATCHES = ((32, 3, 512, 512), (32, 4, 512, 512), (32, 7, 512, 512),
           (1, 7, 512, 512), (32, 8, 256, 256))


def patches_table(seconds: float = 0.6) -> None:
    """GFLOP/s (of the conv's own FLOPs) per CPU-second, one thread, of
    3x3 convolutions compiled as they are and with the patch products of
    passes/assign_layouts.py turned off (graphkeras only)."""
    sys.path.insert(0, ROOT)
    import numpy as np

    from graphkeras import ir
    from graphkeras.passes import assign_layouts
    from graphkeras.runtime import Program, StateStore
    from graphkeras.runtime.compiled import CompiledExecutable

    def rate(fn, args, flops):
        names = tuple(p.name for p in fn.params)
        exe = CompiledExecutable(Program(fn, (), names, (), (0,)), StateStore(),
                                 threads=1)
        exe.run(args)
        best = 0.0
        for _ in range(3):
            n, t0 = 0, time.thread_time()
            while time.thread_time() - t0 < seconds / 3:
                exe.run(args)
                n += 1
            best = max(best, flops * n / (time.thread_time() - t0) / 1e9)
        return best

    rng = np.random.default_rng(0)
    print("| N x HxW x Cin -> Cout, 3x3 | direct/Winograd GFLOP/s | "
          "patches GFLOP/s |")
    print("| --- | --- | --- |")
    keep = (assign_layouts.PATCH_MIN_FILTER_BYTES,
            assign_layouts.PATCH_WIDE_FILTER_BYTES)
    for n, hw, cin, cout in PATCHES:
        b = ir.Builder(f"conv{n}x{hw}x{cin}")
        x, w = b.param("x", ("N", hw, hw, cin)), b.param("w", (3, 3, cin, cout))
        fn = b.build([b.conv(x, w, strides=(1, 1), pads=((1, 1), (1, 1)),
                             dilation=(1, 1))])
        args = [rng.random((n, hw, hw, cin), dtype=np.float32),
                rng.random((3, 3, cin, cout), dtype=np.float32)]
        flops = 2 * n * hw * hw * cin * cout * 9
        try:
            assign_layouts.PATCH_MIN_FILTER_BYTES = 1 << 62
            assign_layouts.PATCH_WIDE_FILTER_BYTES = 1 << 62
            direct = rate(fn, args, flops)
        finally:
            (assign_layouts.PATCH_MIN_FILTER_BYTES,
             assign_layouts.PATCH_WIDE_FILTER_BYTES) = keep
        b = ir.Builder(f"patches{n}x{hw}x{cin}")
        x, w = b.param("x", ("N", hw, hw, cin)), b.param("w", (3, 3, cin, cout))
        fn = b.build([b.conv(x, w, strides=(1, 1), pads=((1, 1), (1, 1)),
                             dilation=(1, 1))])
        print(f"| {n} x {hw}x{hw} x {cin} -> {cout} | {direct:.0f} | "
              f"{rate(fn, args, flops):.0f} |", flush=True)


# --- the driver --------------------------------------------------------------------


def run(system: str, workload: str, args, threads: int) -> dict | None:
    py = sys.executable if system == "graphkeras" else args.peers_python
    cmd = [py, os.path.abspath(__file__), "--worker", system, "--workloads",
           workload, "--batches", str(args.batches), "--threads", str(threads),
           "--onnx", args.onnx or ""]
    return run_worker(f"{system} {workload}", cmd, args.timeout)


def _export_onnx() -> str | None:
    """The W2 model exported to ONNX by graphkeras (common.export_onnx)."""
    return export_onnx("bench_cnn", "keras_cnn", "cnn.onnx")


def _probe(systems, peers_python) -> dict:
    skipped = {}
    for s in list(systems):
        if s == "graphkeras":
            continue
        probe = "import torch" if s == "torch" else \
            "import onnxruntime" if s == "onnxruntime" else (
            "import keras, " + {"keras-jax": "jax",
                                "keras-tensorflow": "tensorflow",
                                "keras-torch": "torch"}[s])
        ok = os.path.exists(peers_python) and subprocess.run(
            [peers_python, "-c", probe], capture_output=True, timeout=300,
            check=False).returncode == 0
        if not ok:
            skipped[s] = f"not installed in {peers_python}"
            systems.remove(s)
    return skipped


METRICS = {"w2": [("samples_per_s", "samples/s", True)],
           "predict": [("samples_per_s", "samples/s, batch 128", True),
                       ("batch1_us", "us, predict_on_batch(1 image)", False)]}


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--batches", type=int, default=20)
    ap.add_argument("--workloads", default="w2,predict")
    add_system_args(ap, ",".join(SYSTEMS), 900)
    ap.add_argument("--threads", default="0",
                    help="comma-separated thread counts (0: default)")
    ap.add_argument("--conv1x1", action="store_true",
                    help="only the 1x1-convolution table (direct vs GEMM)")
    ap.add_argument("--patches", action="store_true",
                    help="only the patch-products table (3x3 convolutions "
                         "with large filters on small maps)")
    ap.add_argument("--busy", action="store_true",
                    help="keep one core busy with a competing process "
                         "while measuring")
    ap.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    ap.add_argument("--onnx", default="", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.conv1x1:
        conv1x1_table()
        return
    if args.patches:
        patches_table()
        return
    if args.worker:
        worker(args.worker, args.workloads, args.batches, int(args.threads),
               args.onnx)
        return
    systems = [s for s in args.systems.split(",") if s]
    skipped = _probe(systems, args.peers_python)
    workloads = [w for w in args.workloads.split(",") if w]
    args.onnx = None
    if "onnxruntime" in systems and "predict" in workloads:
        args.onnx = _export_onnx()
        if args.onnx is None:
            systems.remove("onnxruntime")
    print(f"W2 CNN, batch {BATCH}, {args.batches} batches an epoch, "
          f"{args.rounds} rounds\nmachine: {machine()}"
          f"{busy_note(args.busy)}", flush=True)
    counts = [int(t) for t in args.threads.split(",")]
    results: dict = {}
    info: dict = {}
    with busy(args.busy):
        for r in range(args.rounds):
            order = systems[r % len(systems):] + systems[:r % len(systems)]
            for w in workloads:
                for t in counts:
                    for s in order:
                        if w not in ONLY.get(s, (w,)):
                            continue
                        res = run(s, w, args, t)
                        if res is None:
                            continue
                        info[s] = res["version"]
                        for key, _, _ in METRICS[w]:
                            results.setdefault((w, key, s, t), []).append(res[key])
                        shown = ", ".join(f"{res[k]:.0f} {unit}" for k, unit, _
                                          in METRICS[w])
                        print(f"  round {r + 1} {w} {s} threads={t or 'default'}: "
                              f"{shown} (warm-up {res['warmup_s']:.1f} s)",
                              flush=True)
    print(f"\nhost: {machine()}{busy_note(args.busy)}")
    print("\n| workload | metric | system | version | threads | median | "
          "min-max | gk x |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    for w in workloads:
        for key, unit, higher in METRICS[w]:
            for t in counts:
                base = results.get((w, key, "graphkeras", t))
                gk = statistics.median(base) if base else None
                for s in systems:
                    v = results.get((w, key, s, t))
                    if not v:
                        continue
                    med = statistics.median(v)
                    ratio = "-" if not gk else (
                        f"{gk / med:.2f}" if higher else f"{med / gk:.2f}")
                    print(f"| {w} | {unit} | {s} | {info.get(s, '?')} | "
                          f"{t or 'default'} | {med:.0f} | {min(v):.0f}-"
                          f"{max(v):.0f} | {ratio} |")
    for s, why in skipped.items():
        print(f"| - | - | {s} | - | - | skipped: {why} | | |")


if __name__ == "__main__":
    main()
