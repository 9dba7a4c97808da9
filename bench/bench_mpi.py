"""Data-parallel scaling of W1 on MPI ranks (shared/WORKLOADS.md, "Scale").

    python bench/bench_mpi.py [--samples 15360] [--repeats 3] [--busy]

W1 (MLP 784-512-256-10, Adam, categorical crossentropy, accuracy, global
batch 128) trained three ways, each in fresh processes, alternating,
`--repeats` times:

    1 process x 1 thread     GRAPHKERAS_NUM_THREADS=1
    1 process x 2 threads    GRAPHKERAS_NUM_THREADS=2
    2 ranks x 1 thread       mpiexec -n 2, DataParallel, 64 samples a rank

and prints samples/s over the second epoch (the first compiles), the
speedup over 1 x 1, the scaling efficiency (speedup / cores used) and,
for the ranks, the allreduce per step: the in-step `all_reduce_sum`
kernel's median time (runtime profile: it includes waiting for the other
rank) and a bare MPI_Allreduce of the same bytes through mpi4py. The
machine line says how busy the machine was; compare within one run only.
Needs the `mpi` extra (mpi4py, an MPI with mpiexec).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402

CONFIGS = (("1 process x 1 thread", 1, 1), ("1 process x 2 threads", 1, 2),
           ("2 ranks x 1 thread", 2, 1))


def worker(samples: int) -> None:
    import numpy as np

    import graphkeras as keras
    from graphkeras import distribution
    from workloads import SIZES, data

    distribution.set_distribution(distribution.DataParallel())
    rank = distribution.process_index()
    x, y, _ = data(samples)
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((SIZES[0],))] + [
        keras.layers.Dense(n, activation="relu") for n in SIZES[1:-1]] + [
        keras.layers.Dense(SIZES[-1], activation="softmax")])
    model.compile(keras.optimizers.Adam(1e-3), "categorical_crossentropy",
                  metrics=["accuracy"])
    model.fit(x, y, batch_size=128, epochs=1, verbose=0)  # compiles
    t0 = time.perf_counter()
    model.fit(x, y, batch_size=128, epochs=1, verbose=0)
    seconds = time.perf_counter() - t0
    out = {"samples_per_s": samples / seconds}
    ranks = distribution.process_count()
    if ranks > 1:
        from graphkeras.runtime.mpi import world

        w = world()
        nparams = sum(int(np.prod(v.shape)) for v in model.trainable_weights)
        buf = np.ones(nparams + 5, np.float32)  # + count and metric totals
        res = np.empty_like(buf)
        times = []
        for _ in range(30):
            w.comm.Barrier()
            t = time.perf_counter()
            w.comm.Allreduce(buf, res)
            times.append(time.perf_counter() - t)
        out["allreduce_bare_ms"] = 1e3 * statistics.median(times)
        out["gradient_bytes"] = int(buf.nbytes)
        exe = next(e for e in model._steps.values()
                   if getattr(e, "_kind", None) == "train")
        local = 128 // ranks
        prof = exe._exe.profile([x[:local], y[:local],
                                 np.array(local, np.float32)], repeats=20)
        ar = [k for k in prof if "all_reduce" in k.label]
        out["allreduce_step_ms"] = 1e3 * sum(k.seconds for k in ar)
    if rank == 0:
        print("RESULT " + json.dumps(out), flush=True)


def _mpiexec() -> str:
    exe = shutil.which("mpiexec", path=os.path.dirname(sys.executable)) or \
        shutil.which("mpiexec")
    if exe is None:
        sys.exit("bench_mpi: no mpiexec (pip install -e '.[mpi]')")
    return exe


def run_one(ranks: int, threads: int, samples: int) -> dict:
    env = dict(os.environ, GRAPHKERAS_NUM_THREADS=str(threads),
               OMP_NUM_THREADS=str(threads),
               PYTHONPATH=os.pathsep.join([common.ROOT,
                                           os.environ.get("PYTHONPATH", "")]))
    cmd = [sys.executable, os.path.abspath(__file__), "--worker",
           "--samples", str(samples)]
    if ranks > 1:
        env.update(OMPI_ALLOW_RUN_AS_ROOT="1",
                   OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1",
                   OMPI_MCA_rmaps_base_oversubscribe="1")
        cmd = [_mpiexec(), "-n", str(ranks), "--bind-to", "none"] + cmd
    p = subprocess.run(cmd, env=env, capture_output=True, text=True,
                       timeout=900)
    for line in p.stdout.splitlines():
        if line.startswith("RESULT "):
            return json.loads(line[7:])
    raise RuntimeError(f"{cmd} failed:\n{p.stdout[-2000:]}\n{p.stderr[-3000:]}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--samples", type=int, default=15360,
                    help="samples an epoch (a multiple of 128)")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--busy", action="store_true",
                    help="a competing process keeps one core busy")
    ap.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        worker(args.samples)
        return
    results: dict = {c[0]: [] for c in CONFIGS}
    with common.busy(args.busy):
        for _ in range(args.repeats):
            for name, ranks, threads in CONFIGS:
                results[name].append(run_one(ranks, threads, args.samples))
    print(common.machine())
    print(f"W1 training, global batch 128, {args.samples} samples an epoch, "
          f"second epoch; {args.repeats} runs each, alternating"
          + ("; one core kept busy by another process" if args.busy else ""))
    base = statistics.median(r["samples_per_s"]
                             for r in results[CONFIGS[0][0]])
    print(f"{'configuration':24s} {'samples/s':>10s} {'min-max':>15s} "
          f"{'speedup':>8s} {'efficiency':>10s} {'allreduce/step':>22s}")
    for name, ranks, threads in CONFIGS:
        rs = results[name]
        v = [r["samples_per_s"] for r in rs]
        med = statistics.median(v)
        cores = ranks * threads
        ar = ""
        if ranks > 1:
            ar = (f"{statistics.median(r['allreduce_step_ms'] for r in rs):.2f}"
                  f" ms (bare "
                  f"{statistics.median(r['allreduce_bare_ms'] for r in rs):.2f})")
        print(f"{name:24s} {med:10.0f} {min(v):7.0f}-{max(v):<7.0f} "
              f"{med / base:8.2f} {med / base / cores:10.2f} {ar:>22s}")
    if "gradient_bytes" in results[CONFIGS[-1][0]][0]:
        print(f"gradient buffer per step: "
              f"{results[CONFIGS[-1][0]][0]['gradient_bytes']} bytes")


if __name__ == "__main__":
    main()
