"""One measurement of one workload on one system, printed as a JSON line.

    python bench/workloads.py --system S --workload W [--threads T] ...

Systems: graphkeras, keras-jax, keras-tensorflow, keras-torch, torch,
torch-compile, onnxruntime, numpy. The Keras systems and graphkeras run
the same Keras code (`import graphkeras as keras` for graphkeras). bench/run.py
starts this script once per measurement, as a fresh process (with the
peers' virtual environment's Python for every system but graphkeras), so
no framework is ever imported into the project's own interpreter.

Workloads (shared/WORKLOADS.md):
  w1    MLP 784-512-256-10 training, batch 128, Adam(1e-3), categorical
        crossentropy, accuracy: samples/s over the second epoch
  w4    predict of the same MLP: median us of single calls at batch 1
        (predict, predict_on_batch and model(x)), samples/s at batch 256
  w5    float32 GEMM: GFLOP/s for each shape in --shapes
  w6    seconds from model definition to the end of the first training
        step in this (fresh) process

Data: fixed seeds; labels from a random teacher (argmax of x times a
fixed matrix), never independent random labels (WORKLOADS.md).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time

SIZES = (784, 512, 256, 10)


def _threads_env(system: str, threads: int | None) -> None:
    """Thread limits that must be set before the framework is imported."""
    if not threads:
        return
    t = str(threads)
    for k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[k] = t
    os.environ["GRAPHKERAS_NUM_THREADS"] = t
    if system == "keras-jax":
        os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "")
                                   + " --xla_cpu_multi_thread_eigen=false"
                                   f" intra_op_parallelism_threads={t}")


def data(n: int, seed: int = 0):
    import numpy as np

    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, SIZES[0])).astype(np.float32)
    teacher = np.random.default_rng(1234).normal(size=(SIZES[0], SIZES[-1]))
    labels = np.argmax(x @ teacher, axis=1)
    y = np.eye(SIZES[-1], dtype=np.float32)[labels]
    return x, y, labels


# --- Keras API systems (graphkeras and Keras 3) -------------------------------------


def _keras(system: str, threads: int | None):
    if system == "graphkeras":
        import graphkeras as keras

        return keras
    backend = system.split("-", 1)[1]
    os.environ["KERAS_BACKEND"] = backend
    if backend == "tensorflow":
        import tensorflow as tf

        if threads:
            tf.config.threading.set_intra_op_parallelism_threads(threads)
            tf.config.threading.set_inter_op_parallelism_threads(threads)
    elif backend == "torch":
        import torch

        if threads:
            torch.set_num_threads(threads)
        torch.set_flush_denormal(True)
    import keras

    return keras


def keras_mlp(keras):
    layers = keras.layers
    model = keras.Sequential([
        keras.Input((SIZES[0],)),
        layers.Dense(SIZES[1], activation="relu"),
        layers.Dense(SIZES[2], activation="relu"),
        layers.Dense(SIZES[3], activation="softmax"),
    ])
    model.compile(optimizer=keras.optimizers.Adam(1e-3),
                  loss="categorical_crossentropy", metrics=["accuracy"])
    return model


def keras_w1(system, threads, samples):
    keras = _keras(system, threads)
    x, y, _ = data(samples)
    model = keras_mlp(keras)
    model.fit(x, y, batch_size=128, epochs=1, verbose=0)  # warm-up epoch
    t0 = time.perf_counter()
    model.fit(x, y, batch_size=128, epochs=1, verbose=0)
    return {"samples_per_s": samples / (time.perf_counter() - t0)}


def _median_us(fn, calls: int, budget: float = 3.0) -> float:
    times = []
    end = time.perf_counter() + budget
    for _ in range(calls):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
        if time.perf_counter() > end and len(times) >= 5:
            break
    return statistics.median(times) * 1e6


def _throughput(fn, n: int, seconds: float = 1.0) -> float:
    fn()
    k, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        fn()
        k += 1
    return n * k / (time.perf_counter() - t0)


def keras_w4(system, threads, calls):
    keras = _keras(system, threads)
    x, _, _ = data(256, seed=5)
    x1 = x[:1].copy()
    model = keras_mlp(keras)
    for _ in range(5):
        model.predict(x1, verbose=0)
        model.predict_on_batch(x1)
        model(x1)
    if system == "graphkeras":
        # the libraries compile once per machine in children forked at
        # compile() (docs/compiling.md); with a fresh cache they can still
        # be running here, sharing the cores with the timed calls: time
        # the steady state, as for the peers (ORT's session is made first)
        from graphkeras.codegen.jit import wait_children

        wait_children()
    out = {
        "predict_us": _median_us(lambda: model.predict(x1, verbose=0), calls),
        "predict_on_batch_us": _median_us(lambda: model.predict_on_batch(x1),
                                          calls * 5),
        # the call Keras users write for one sample (a backend tensor for
        # Keras 3, a NumPy array for graphkeras)
        "model_call_us": _median_us(lambda: model(x1), calls * 5),
    }
    if system == "graphkeras":
        # the native step alone (the thread count the executable chose,
        # through its own call: what predict_on_batch adds is Python)
        exe = model._steps.fast[3].__self__
        keep = model.predict_on_batch(x1)  # (the slot table's arrays)
        out["native_step_us"] = _median_us(exe._step, calls * 5)
        del keep
    out["batch256_samples_per_s"] = _throughput(
        lambda: model.predict_on_batch(x), 256)
    return out


def keras_w6(system, threads):
    t0 = time.perf_counter()
    keras = _keras(system, threads)
    t_import = time.perf_counter() - t0
    x, y, _ = data(128)
    t0 = time.perf_counter()
    model = keras_mlp(keras)
    model.train_on_batch(x, y)
    return {"first_step_s": time.perf_counter() - t0, "import_s": t_import}


# --- PyTorch ---------------------------------------------------------------------------


def _torch(threads):
    import torch

    if threads:
        torch.set_num_threads(threads)
    # WORKLOADS.md: flushing denormals is what our kernels do too
    torch.set_flush_denormal(True)
    return torch


def torch_mlp(torch):
    nn = torch.nn
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(SIZES[0], SIZES[1]), nn.ReLU(),
                         nn.Linear(SIZES[1], SIZES[2]), nn.ReLU(),
                         nn.Linear(SIZES[2], SIZES[3]))


def torch_w1(compiled, threads, samples):
    torch = _torch(threads)
    x, _, labels = data(samples)
    xs, ys = torch.from_numpy(x), torch.from_numpy(labels)
    model = torch_mlp(torch)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3, eps=1e-7)
    lossf = torch.nn.CrossEntropyLoss()  # softmax + cross-entropy, fused
    fwd = torch.compile(model) if compiled else model

    def epoch():
        perm = torch.randperm(samples)
        correct = 0
        for i in range(0, samples, 128):
            idx = perm[i:i + 128]
            xb, yb = xs[idx], ys[idx]
            opt.zero_grad(set_to_none=True)
            out = fwd(xb)
            loss = lossf(out, yb)
            loss.backward()
            opt.step()
            correct += int((out.argmax(1) == yb).sum())  # the accuracy metric
        return correct

    epoch()
    t0 = time.perf_counter()
    epoch()
    return {"samples_per_s": samples / (time.perf_counter() - t0)}


def torch_w4(compiled, threads, calls):
    torch = _torch(threads)
    x, _, _ = data(256, seed=5)
    x256, x1 = torch.from_numpy(x), torch.from_numpy(x[:1].copy())
    model = torch_mlp(torch).eval()
    fwd = torch.compile(model) if compiled else model

    def predict(a):
        with torch.no_grad():
            return torch.softmax(fwd(a), dim=1).numpy()

    for _ in range(5):
        predict(x1)
        predict(x256)
    us = _median_us(lambda: predict(x1), calls * 5)
    # (one call of the model: the same figure for all three rows)
    return {"predict_us": us, "predict_on_batch_us": us,
            "model_call_us": us,
            "batch256_samples_per_s": _throughput(lambda: predict(x256), 256)}


def torch_w6(compiled, threads):
    t0 = time.perf_counter()
    torch = _torch(threads)
    t_import = time.perf_counter() - t0
    x, _, labels = data(128)
    t0 = time.perf_counter()
    model = torch_mlp(torch)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3, eps=1e-7)
    fwd = torch.compile(model) if compiled else model
    out = fwd(torch.from_numpy(x))
    loss = torch.nn.functional.cross_entropy(out, torch.from_numpy(labels))
    loss.backward()
    opt.step()
    return {"first_step_s": time.perf_counter() - t0, "import_s": t_import}


# --- ONNX Runtime --------------------------------------------------------------------


def onnxruntime_w4(threads, calls, model_path):
    import numpy as np
    import onnxruntime as ort

    opts = ort.SessionOptions()
    if threads:
        opts.intra_op_num_threads = threads
        opts.inter_op_num_threads = 1
    sess = ort.InferenceSession(model_path, opts,
                                providers=["CPUExecutionProvider"])
    name = sess.get_inputs()[0].name
    x, _, _ = data(256, seed=5)
    x1 = np.ascontiguousarray(x[:1])
    for _ in range(5):
        sess.run(None, {name: x1})
    us = _median_us(lambda: sess.run(None, {name: x1}), calls * 5)
    # (one call of the model: the same figure for all three rows)
    return {"predict_us": us, "predict_on_batch_us": us,
            "model_call_us": us,
            "batch256_samples_per_s": _throughput(
                lambda: sess.run(None, {name: x}), 256)}


# --- GEMM --------------------------------------------------------------------------------


def _gemm_operands(shape, np):
    m, k, n, ta, tb = shape
    rng = np.random.default_rng(0)
    a = rng.normal(size=(k, m) if ta else (m, k)).astype(np.float32)
    b = rng.normal(size=(n, k) if tb else (k, n)).astype(np.float32)
    return a, b


def _gflops(fn, shape, seconds: float) -> float:
    m, k, n = shape[:3]
    fn()
    best = 0.0
    for _ in range(3):  # the best of three slices of the time budget
        reps, t0 = 0, time.perf_counter()
        while time.perf_counter() - t0 < seconds / 3:
            fn()
            reps += 1
        best = max(best, 2 * m * n * k * reps / (time.perf_counter() - t0) / 1e9)
    return best


def w5(system, threads, shapes, seconds):
    import numpy as np

    out, native = {}, {}
    if system == "torch":
        torch = _torch(threads)
    elif system == "graphkeras":
        from graphkeras import ir
        from graphkeras.runtime import Program, StateStore
        from graphkeras.runtime.compiled import CompiledExecutable
    for shape in shapes:
        a, b = _gemm_operands(shape, np)
        ta, tb = shape[3], shape[4]
        key = "x".join(map(str, shape[:3])) + ("" if not (ta or tb) else
                                               f" {'T' if ta else 'N'}"
                                               f"{'T' if tb else 'N'}")
        if system == "numpy":
            aa, bb = (a.T if ta else a), (b.T if tb else b)
            fn = lambda aa=aa, bb=bb: aa @ bb
        elif system == "torch":
            ta_, tb_ = torch.from_numpy(a), torch.from_numpy(b)
            aa, bb = (ta_.t() if ta else ta_), (tb_.t() if tb else tb_)
            fn = lambda aa=aa, bb=bb: torch.mm(aa, bb)
        else:
            bld = ir.Builder("gemm")
            xa = bld.param("a", a.shape)
            xb = bld.param("b", b.shape)
            f = bld.build([bld.matmul(xa, xb, transpose_a=bool(ta),
                                      transpose_b=bool(tb))])
            prog = Program(f, state=(), inputs=("a", "b"), updates=(),
                           outputs=(0,))
            exe = CompiledExecutable(prog, StateStore(), threads=threads)
            fn = lambda exe=exe, a=a, b=b: exe.run([a, b])
            # the native step alone (its slot table holds the last call's
            # arrays, kept alive here): what exe.run adds is Python
            keep = exe.run([a, b])
            native[key] = _gflops(exe._step, shape, seconds)
            del keep
        out[key] = _gflops(fn, shape, seconds)
    res = {"gflops": out}
    if native:
        res["native_gflops"] = native
    return res


def blas_info() -> dict:
    """numpy's BLAS: OpenBLAS's core name and its thread/L2 settings (what
    threadpoolctl would report)."""
    import ctypes
    import glob

    import numpy as np

    info = {"numpy": np.__version__}
    for k in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE", "OPENBLAS_NUM_THREADS"):
        if os.environ.get(k):
            info[k] = os.environ[k]
    libs = glob.glob(os.path.join(os.path.dirname(np.__file__), "..",
                                  "numpy.libs", "*openblas*"))
    libs += glob.glob(os.path.join(os.path.dirname(np.__file__), "..",
                                   "scipy_openblas*", "lib", "*.so*"))
    for path in libs:
        try:
            lib = ctypes.CDLL(path)
        except OSError:
            continue
        for prefix in ("scipy_", ""):
            for suffix in ("64_", ""):
                fn = getattr(lib, f"{prefix}openblas_get_corename{suffix}", None)
                if fn is not None:
                    fn.restype = ctypes.c_char_p
                    info["openblas_core"] = fn().decode()
                    return info
    return info


# --- main --------------------------------------------------------------------------------


def versions(system: str) -> str:
    try:
        if system == "graphkeras":
            import llvmlite

            return f"graphkeras (llvmlite {llvmlite.__version__})"
        if system.startswith("keras-"):
            import keras

            backend = system.split("-", 1)[1]
            mod = {"jax": "jax", "tensorflow": "tensorflow", "torch": "torch"}[
                backend]
            return f"keras {keras.__version__} / {mod} " \
                   f"{__import__(mod).__version__}"
        if system.startswith("torch"):
            import torch

            return f"torch {torch.__version__}"
        if system == "onnxruntime":
            import onnxruntime

            return f"onnxruntime {onnxruntime.__version__}"
        if system == "numpy":
            import numpy

            return f"numpy {numpy.__version__}"
    except Exception as e:  # noqa: BLE001 - a version string is best effort
        return f"? ({e})"
    return "?"


def main(argv=None) -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--system", required=True)
    ap.add_argument("--workload", required=True, choices=["w1", "w4", "w5", "w6"])
    ap.add_argument("--threads", type=int, default=0, help="0: default")
    ap.add_argument("--samples", type=int, default=60000)
    ap.add_argument("--calls", type=int, default=200)
    ap.add_argument("--seconds", type=float, default=1.0)
    ap.add_argument("--shapes", default="")
    ap.add_argument("--onnx", default="")
    args = ap.parse_args(argv)
    system, threads = args.system, args.threads or None
    _threads_env(system, threads)
    if system == "graphkeras":
        sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
    res: dict = {}
    w = args.workload
    if w == "w1":
        if system.startswith(("keras", "graphkeras")):
            res = keras_w1(system, threads, args.samples)
        else:
            res = torch_w1(system == "torch-compile", threads, args.samples)
    elif w == "w4":
        if system.startswith(("keras", "graphkeras")):
            res = keras_w4(system, threads, args.calls)
        elif system == "onnxruntime":
            res = onnxruntime_w4(threads, args.calls, args.onnx)
        else:
            res = torch_w4(system == "torch-compile", threads, args.calls)
    elif w == "w5":
        shapes = [tuple(int(v) for v in s.split(":")) for s in
                  args.shapes.split(",") if s]
        res = w5(system, threads, shapes, args.seconds)
        if system == "numpy":
            res["blas"] = blas_info()
    elif w == "w6":
        if system.startswith(("keras", "graphkeras")):
            res = keras_w6(system, threads)
        else:
            res = torch_w6(system == "torch-compile", threads)
    res["version"] = versions(system)
    print("RESULT " + json.dumps(res), flush=True)


if __name__ == "__main__":
    main()
