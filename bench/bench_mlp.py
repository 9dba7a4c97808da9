"""IR-level MLP benchmark (workloads W1/W4 of shared/WORKLOADS.md, without
the Keras frontend): a 784-512-256-10 MLP, relu, softmax cross-entropy,
Adam(1e-3).

- train step, batch 128: graphkeras compiled vs the reference interpreter
  vs a hand-written NumPy step;
- predict, batch 1 and batch 256: the same three;
- compile time: cold (cache off) and warm (compile-cache hit).

Runs the systems alternately, several rounds, and prints medians, min-max
and how many times faster graphkeras (compiled) is than each system. Usage:

    python bench/bench_mlp.py [--rounds 5] [--seconds 0.5]
"""

from __future__ import annotations

import argparse
import itertools
import os
import platform
import statistics
import sys
import tempfile
import time

import numpy as np

_ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
sys.path.insert(0, _ROOT)
sys.path.insert(0, os.path.join(_ROOT, "tests", "runtime"))

from train_programs import init_store, mlp_train_program

from graphkeras import ir
from graphkeras.runtime import InterpretedExecutable, Program
from graphkeras.runtime.compiled import CompiledExecutable

SIZES = (784, 512, 256, 10)


def predict_program() -> Program:
    b = ir.Builder("predict")
    x = b.param("x", ("N", SIZES[0]))
    h = x
    names = []
    for i, (a, c) in enumerate(itertools.pairwise(SIZES)):
        w = b.param(f"w{i}", (a, c))
        bias = b.param(f"b{i}", (c,))
        names += [w.name, bias.name]
        h = b.add(b.matmul(h, w), bias)
        h = b.relu(h) if i < len(SIZES) - 2 else b.softmax(h, axis=-1)
    return Program(b.build([h]), state=tuple(names), inputs=("x",), updates=(),
                   outputs=(0,))


class NumpyMLP:
    """The same train step and predict in NumPy (float32)."""

    def __init__(self, store):
        self.p = {k: np.array(store[k]) for k in store.names()}
        self.t = 0

    def predict(self, x):
        h = x
        n = len(SIZES) - 1
        for i in range(n):
            h = h @ self.p[f"w{i}"] + self.p[f"b{i}"]
            if i < n - 1:
                np.maximum(h, 0, out=h)
        h = h - h.max(axis=1, keepdims=True)
        e = np.exp(h)
        return e / e.sum(axis=1, keepdims=True)

    def train(self, x, y):
        p = self.p
        n = len(SIZES) - 1
        acts = [x]
        h = x
        for i in range(n):
            h = h @ p[f"w{i}"] + p[f"b{i}"]
            if i < n - 1:
                h = np.maximum(h, 0)
            acts.append(h)
        z = h - h.max(axis=1, keepdims=True)
        lse = np.log(np.exp(z).sum(axis=1, keepdims=True))
        ls = z - lse
        loss = -ls[np.arange(len(y)), y].mean()
        g = np.exp(ls)
        g[np.arange(len(y)), y] -= 1
        g /= len(y)
        grads = {}
        for i in range(n - 1, -1, -1):
            grads[f"w{i}"] = acts[i].T @ g
            grads[f"b{i}"] = g.sum(axis=0)
            if i:
                g = (g @ p[f"w{i}"].T) * (acts[i] > 0)
        self.t += 1
        lr, b1, b2, eps = 1e-3, 0.9, 0.999, 1e-7
        lr_t = lr * np.sqrt(1 - b2 ** self.t) / (1 - b1 ** self.t)
        for k, gk in grads.items():
            m, v = p[f"m_{k}"], p[f"v_{k}"]
            m *= b1
            m += (1 - b1) * gk
            v *= b2
            v += (1 - b2) * gk * gk
            p[k] -= lr_t * m / (np.sqrt(v) + eps)
        return loss


def _time(fn, seconds: float) -> float:
    """Seconds per call, best estimate over ~`seconds` of calls."""
    fn()
    n, t0 = 0, time.perf_counter()
    while True:
        fn()
        n += 1
        t = time.perf_counter() - t0
        if t > seconds:
            return t / n


def _row(name, system, times, unit, ref):
    med = statistics.median(times)
    lo, hi = min(times), max(times)
    if unit == "us":
        fmt = lambda s: f"{s * 1e6:9.1f}"
    else:
        fmt = lambda s: f"{unit(s):9.0f}"
    ratio = med / ref  # how many times faster graphkeras is
    return f"| {name:22} | {system:20} | {fmt(med)} | {fmt(lo)}-{fmt(hi).strip():>9} | {ratio:6.2f}x |"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--seconds", type=float, default=0.5)
    args = ap.parse_args()
    rng = np.random.default_rng(0)

    # compile times: cold (cache off) and warm (cache hit)
    cache_dir = tempfile.mkdtemp(prefix="gk-bench-cache-")
    os.environ["GRAPHKERAS_CACHE_DIR"] = cache_dir
    tprog = mlp_train_program(sizes=SIZES, optimizer="adam", lr=1e-3)
    os.environ["GRAPHKERAS_CACHE"] = "0"
    t0 = time.perf_counter()
    CompiledExecutable(tprog, init_store(tprog))
    cold = time.perf_counter() - t0
    os.environ["GRAPHKERAS_CACHE"] = "1"
    CompiledExecutable(tprog, init_store(tprog))  # fills the cache
    t0 = time.perf_counter()
    warm_exe = CompiledExecutable(tprog, init_store(tprog))
    warm = time.perf_counter() - t0
    assert warm_exe.cache_hit

    # train step, batch 128
    batch = 128
    teacher = rng.normal(size=(784, 10))
    xs = rng.normal(size=(batch, 784)).astype(np.float32)
    ys = np.argmax(xs @ teacher, axis=1).astype(np.int32)
    compiled = CompiledExecutable(tprog, init_store(tprog))
    interp = InterpretedExecutable(tprog, init_store(tprog))
    npm = NumpyMLP(init_store(tprog))
    train = {
        "graphkeras compiled": lambda: compiled.run([xs, ys]),
        "interpreter": lambda: interp.run([xs, ys]),
        "numpy": lambda: npm.train(xs, ys),
    }
    # predict
    pprog = predict_program()
    pstore = init_store(tprog)
    pc = CompiledExecutable(pprog, pstore)
    pi = InterpretedExecutable(pprog, pstore)
    pn = NumpyMLP(pstore)
    x1 = xs[:1].copy()
    x256 = rng.normal(size=(256, 784)).astype(np.float32)
    pred1 = {"graphkeras compiled": lambda: pc.run([x1]),
             "interpreter": lambda: pi.run([x1]),
             "numpy": lambda: pn.predict(x1)}
    pred256 = {"graphkeras compiled": lambda: pc.run([x256]),
               "interpreter": lambda: pi.run([x256]),
               "numpy": lambda: pn.predict(x256)}
    results = {k: {s: [] for s in d} for k, d in
               (("train", train), ("p1", pred1), ("p256", pred256))}
    for _ in range(args.rounds):
        for key, d in (("train", train), ("p1", pred1), ("p256", pred256)):
            for system, fn in d.items():
                results[key][system].append(_time(fn, args.seconds))

    print(f"machine: {platform.processor() or platform.machine()}, "
          f"{os.cpu_count()} cpus; threads: 1 (graphkeras), numpy default")
    print(f"compile W1 train step: cold {cold:.2f} s, warm (cache hit) "
          f"{warm * 1e3:.1f} ms; kernels: {len(compiled.layout.kernels)}; "
          f"{compiled.memory_plan.report() if compiled.memory_plan else ''}")
    print("| workload               | system               |    median |       min-max | gk is   |")
    print("| --- | --- | ---: | ---: | ---: |")
    for key, label, unit in (
            ("train", "W1 train b128 (smp/s)", lambda s: batch / s),
            ("p1", "W4 predict b1 (us)", "us"),
            ("p256", "W4 predict b256 (smp/s)", lambda s: 256 / s)):
        ref = statistics.median(results[key]["graphkeras compiled"])
        for system, times in results[key].items():
            if unit == "us":
                print(_row(label, system, times, unit, ref))
            else:
                thr = [unit(t) for t in times]
                med = statistics.median(thr)
                refthr = unit(ref)
                print(f"| {label:22} | {system:20} | {med:9.0f} | "
                      f"{min(thr):9.0f}-{max(thr):<9.0f} | {refthr / med:6.2f}x |")


if __name__ == "__main__":
    main()
