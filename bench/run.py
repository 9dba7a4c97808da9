"""graphkeras beside every installed peer, W1 W4 W5 W6 in one invocation.

    python bench/run.py [--rounds 3] [--workloads w1,w4,w5,w6]
                        [--systems graphkeras,torch,...] [--samples 60000]
                        [--busy] [--shapes 128:256:10:0:0,...]
                        [--peers-python /work/venv-peers/bin/python]

Every measurement is a fresh process running bench/workloads.py: graphkeras
with this interpreter, the peers with the peers' virtual environment's
(bench/setup_peers.sh makes one; a peer that does not import there is
skipped, and the table says so). Rounds alternate the systems (the order
rotates each round), so a noisy neighbour on this shared machine hits every
system alike; the table gives the median over the rounds, the min-max and
the ratio to graphkeras measured in the same run ("gk x": how many times
better graphkeras is, > 1 when graphkeras wins). W1 and W5 run with 1 thread
and with the default (all cores); W4 with the default; W6 in fresh
processes, graphkeras cold (empty compile cache) and warm.

ONNX Runtime runs the MLP exported by graphkeras (model.export).
`--busy` keeps one core busy with a competing `python -c "while True:
pass"` for the whole run (stopped after it); the table's host line says so.
`--shapes` picks W5's shapes (m:k:n:transpose_a:transpose_b, comma
separated; default: the square and W1 shapes).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

from common import add_system_args, busy, busy_note, export_onnx, machine

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
WORKLOADS = os.path.join(HERE, "workloads.py")
PEERS = ("keras-jax", "keras-tensorflow", "keras-torch", "torch",
         "torch-compile", "onnxruntime", "numpy")
WHO = {  # which workloads each system runs
    "graphkeras": {"w1", "w4", "w5", "w6"},
    "keras-jax": {"w1", "w4", "w6"},
    "keras-tensorflow": {"w1", "w4", "w6"},
    "keras-torch": {"w1", "w4", "w6"},
    "torch": {"w1", "w4", "w5", "w6"},
    "torch-compile": {"w1", "w4", "w6"},
    "onnxruntime": {"w4"},
    "numpy": {"w5"},
}
PROBE = {  # what must import for a peer to run
    "keras-jax": "import keras, jax", "keras-tensorflow": "import keras, tensorflow",
    "keras-torch": "import keras, torch", "torch": "import torch",
    "torch-compile": "import torch", "onnxruntime": "import onnxruntime",
    "numpy": "import numpy",
}
W5_SHAPES = [(n, n, n, 0, 0) for n in (128, 256, 512, 1024, 2048)] + [
    # the W1 training products at batch 128: forward, input gradients
    # (B transposed), weight gradients (A transposed)
    (128, 784, 512, 0, 0), (128, 512, 256, 0, 0), (128, 256, 10, 0, 0),
    (128, 10, 256, 0, 1), (128, 256, 512, 0, 1),
    (784, 128, 512, 1, 0), (512, 128, 256, 1, 0), (256, 128, 10, 1, 0)]


class Runner:
    def __init__(self, args):
        self.args = args
        self.python = {"graphkeras": sys.executable}
        self.skipped: dict = {}
        self.results: dict = {}  # (workload, metric, threads, system) -> [v]
        self.versions: dict = {}
        self.extra: dict = {}
        self.pycache = tempfile.mkdtemp(prefix="gk-bench-pycache-")

    def probe(self, systems) -> list:
        ok = ["graphkeras"]
        py = self.args.peers_python
        for s in systems:
            if s == "graphkeras":
                continue
            if not py or not os.path.exists(py):
                self.skipped[s] = f"no peers python ({py or 'not given'})"
                continue
            r = subprocess.run([py, "-c", PROBE[s]], capture_output=True,
                               text=True, timeout=300, check=False)
            if r.returncode:
                self.skipped[s] = "not installed: " + (
                    r.stderr.strip().splitlines() or ["?"])[-1][:80]
                continue
            self.python[s] = py
            ok.append(s)
        return ok

    def measure(self, system, workload, threads=0, env=None, **kw) -> dict | None:
        cmd = [self.python[system], WORKLOADS, "--system", system,
               "--workload", workload, "--threads", str(threads)]
        for k, v in kw.items():
            cmd += [f"--{k}", str(v)]
        e = dict(os.environ)
        e.update(env or {})
        if system == "graphkeras":
            e["PYTHONPATH"] = ROOT + os.pathsep + e.get("PYTHONPATH", "")
            # graphkeras runs from its source tree: give it the compiled
            # bytecode an installed package has (as the peers' packages
            # do), in a directory of its own outside the tree
            e.pop("PYTHONDONTWRITEBYTECODE", None)
            e["PYTHONPYCACHEPREFIX"] = self.pycache
        try:
            r = subprocess.run(cmd, capture_output=True, text=True, env=e,
                               timeout=self.args.timeout, check=False)
        except subprocess.TimeoutExpired:
            print(f"  {system} {workload}: timed out", flush=True)
            return None
        for line in r.stdout.splitlines():
            if line.startswith("RESULT "):
                res = json.loads(line[7:])
                self.versions[system] = res.pop("version", "?")
                return res
        print(f"  {system} {workload}: failed\n{r.stderr[-1500:]}", flush=True)
        return None

    def record(self, workload, metric, threads, system, value) -> None:
        self.results.setdefault((workload, metric, threads, system), []).append(
            value)


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--workloads", default="w1,w4,w5,w6")
    add_system_args(ap, "graphkeras," + ",".join(PEERS), 900)
    ap.add_argument("--samples", type=int, default=60000)
    ap.add_argument("--gemm-seconds", type=float, default=0.6)
    ap.add_argument("--shapes", default="",
                    help="W5 shapes m:k:n:ta:tb,... (default: W5_SHAPES)")
    ap.add_argument("--busy", action="store_true",
                    help="keep one core busy with a competing process "
                         "while measuring")
    args = ap.parse_args(argv)
    workloads = [w for w in args.workloads.split(",") if w]
    run = Runner(args)
    systems = run.probe([s for s in args.systems.split(",") if s])
    cores = os.cpu_count() or 1
    print(f"machine: {machine()}{busy_note(args.busy)}", flush=True)
    onnx_path = None
    if "w4" in workloads and "onnxruntime" in systems:
        onnx_path = _export_onnx()
    gk_cache = tempfile.mkdtemp(prefix="gk-bench-cache-")
    shapes = args.shapes or ",".join(":".join(map(str, s)) for s in W5_SHAPES)
    numpy_env_unset = None
    blas_vars = {k: os.environ[k] for k in ("OPENBLAS_CORETYPE",
                                             "OPENBLAS_L2_SIZE")
                 if os.environ.get(k)}
    t_start = time.perf_counter()
    with busy(args.busy):
        for rnd in range(args.rounds):
            order = systems[rnd % len(systems):] + systems[:rnd % len(systems)]
            print(f"round {rnd + 1}/{args.rounds}: {' '.join(order)}", flush=True)
            for w in workloads:
                for s in order:
                    if w not in WHO[s]:
                        continue
                    gk_env = {"GRAPHKERAS_CACHE_DIR": gk_cache}
                    if w in ("w1", "w5"):
                        for th in (1, 0):
                            kw = ({"samples": args.samples} if w == "w1" else
                                  {"shapes": shapes, "seconds": args.gemm_seconds})
                            res = run.measure(s, w, th, gk_env, **kw)
                            if res is None:
                                continue
                            if w == "w1":
                                run.record(w, "samples/s", th or cores, s,
                                           res["samples_per_s"])
                            else:
                                for shape, v in res["gflops"].items():
                                    run.record(w, f"GFLOP/s {shape}", th or cores, s,
                                               v)
                                for shape, v in res.get("native_gflops",
                                                        {}).items():
                                    run.record(w, f"GFLOP/s {shape}", th or cores,
                                               f"{s} (native step)", v)
                                if s == "numpy":
                                    run.extra["blas"] = res.get("blas")
                                    if blas_vars:
                                        unset = {k: "" for k in blas_vars}
                                        r2 = run.measure(s, w, th, unset, **kw)
                                        numpy_env_unset = True
                                        if r2:
                                            for shape, v in r2["gflops"].items():
                                                run.record(w, f"GFLOP/s {shape}",
                                                           th or cores,
                                                           "numpy (OPENBLAS_* unset)",
                                                           v)
                    elif w == "w4":
                        res = run.measure(s, w, 0, gk_env, calls=200,
                                          onnx=onnx_path or "")
                        if res is None:
                            continue
                        run.record(w, "predict b1 us", cores, s, res["predict_us"])
                        run.record(w, "predict_on_batch b1 us", cores, s,
                                   res["predict_on_batch_us"])
                        if "model_call_us" in res:  # the Keras systems
                            run.record(w, "model(x) b1 us", cores, s,
                                       res["model_call_us"])
                        if "native_step_us" in res:  # graphkeras: no Python
                            run.record(w, "native step b1 us", cores, s,
                                       res["native_step_us"])
                        run.record(w, "batch 256 samples/s", cores, s,
                                   res["batch256_samples_per_s"])
                    elif w == "w6":
                        if s == "graphkeras":
                            cold = tempfile.mkdtemp(prefix="gk-bench-cold-")
                            res = run.measure(s, w, 0, {"GRAPHKERAS_CACHE_DIR": cold})
                            if res:
                                run.record(w, "first step s (cold cache)", cores, s,
                                           res["first_step_s"])
                            res = run.measure(s, w, 0, {"GRAPHKERAS_CACHE_DIR": cold})
                            if res:
                                run.record(w, "first step s (warm cache)", cores, s,
                                           res["first_step_s"])
                        else:
                            res = run.measure(s, w, 0)
                            if res:
                                run.record(w, "first step s (cold cache)", cores, s,
                                           res["first_step_s"])
    print(f"\n{args.rounds} rounds in {time.perf_counter() - t_start:.0f} s; "
          f"machine now: {machine()}")
    print(f"host: {machine()}{busy_note(args.busy)}")
    print(table(run, cores))
    if run.skipped:
        print("skipped: " + "; ".join(f"{k} ({v})" for k, v in run.skipped.items()))
    if "blas" in run.extra:
        print(f"numpy BLAS: {run.extra['blas']}"
              + ("" if numpy_env_unset else "; OPENBLAS_CORETYPE / "
                 "OPENBLAS_L2_SIZE are not set in this environment"))


LOWER_IS_BETTER = ("us", " s ", "s (")

# float32 operations of the products per sample (2 x multiply-adds): the
# W1 training step (forward, every weight gradient, the input gradients
# of the second and third layers) and the W4 forward pass
_MACS = 784 * 512 + 512 * 256 + 256 * 10
FLOP_PER_SAMPLE = {("w1", "samples/s"): 2 * (2 * _MACS + 512 * 256 + 256 * 10),
                   ("w4", "batch 256 samples/s"): 2 * _MACS}


def fma_peak() -> float | None:
    """One core's measured float32 peak (codegen/peak.py), GFLOP/s."""
    try:
        sys.path.insert(0, ROOT)
        from graphkeras.codegen.peak import fma_gflops
        return fma_gflops()
    except Exception:  # (no llvmlite here: the column is left out)
        return None


def percent_of_peak(w: str, metric: str, threads: int, value: float,
                    peak: float | None) -> str:
    """The row's product FLOP rate as a share of `threads` cores' peak."""
    if not peak:
        return "-"
    if metric.startswith("GFLOP/s"):
        rate = value
    elif (w, metric) in FLOP_PER_SAMPLE:
        rate = value * FLOP_PER_SAMPLE[w, metric] / 1e9
    else:
        return "-"
    return f"{100 * rate / (threads * peak):.0f}%"


def table(run: Runner, cores: int) -> str:
    peak = fma_peak()
    lines = ["" if peak is None else
             (f"(% peak: the products' FLOP rate over the threads' float32 "
              f"peak, {peak:.1f} GFLOP/s a core, measured by "
              f"graphkeras/codegen/peak.py)\n"),
             ("| workload | metric | threads | system | version | median | "
              "min-max | gk x | % peak |"),
             "| --- | --- | ---: | --- | --- | ---: | ---: | ---: | ---: |"]
    keys = sorted({k[:3] for k in run.results},
                  key=lambda k: (k[0], _metric_order(k[1]), -k[2]))
    for w, metric, th in keys:
        rows = {s: v for (w2, m2, t2, s), v in run.results.items()
                if (w2, m2, t2) == (w, metric, th)}
        gk = rows.get("graphkeras")
        gk_med = statistics.median(gk) if gk else None
        lower = any(t in metric + " " for t in LOWER_IS_BETTER)
        for s in sorted(rows, key=lambda s: (s != "graphkeras", s)):
            vals = rows[s]
            med = statistics.median(vals)
            if gk_med and med:
                ratio = (med / gk_med) if lower else (gk_med / med)
                rs = f"{ratio:.2f}"
            else:
                rs = "-"
            ver = run.versions.get(s.split(" ")[0], "?")
            lines.append(f"| {w.upper()} | {metric} | {th} | {s} | {ver} | "
                         f"{_fmt(med)} | {_fmt(min(vals))}-{_fmt(max(vals))} | "
                         f"{rs} | {percent_of_peak(w, metric, th, med, peak)} |")
    return "\n".join(lines)


def _metric_order(metric: str):
    return (metric.split(" ")[0], metric)


def _fmt(v: float) -> str:
    if v >= 1000:
        return f"{v:,.0f}"
    if v >= 10:
        return f"{v:.1f}"
    return f"{v:.3f}"


def _export_onnx() -> str | None:
    """The W1 MLP exported to ONNX by graphkeras (common.export_onnx)."""
    return export_onnx("workloads", "keras_mlp", "mlp.onnx")


if __name__ == "__main__":
    main()
