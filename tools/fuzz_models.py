"""The long run of the random-model checks, each example's process watched.

    python tools/fuzz_models.py --count 500                 # host's ISA
    GRAPHKERAS_ISA=avx2 python tools/fuzz_models.py --count 500 --start 500
    python tools/fuzz_models.py --seed 1234                 # one example

Seed k draws the model `model_specs(SeedDraws(k))` of
tests/model_strategies.py, so any seed reproduces its model anywhere. The
examples run in a child process that announces each seed and its spec
before running it; when the child dies (a segfault, an abort in native
code) or an example runs past `--timeout` seconds, this process reports
that seed's spec as a CRASH or HANG and starts a new child at the next
seed. Wrong numbers and Python errors are FAILs with their message. Every
`--grad-every`-th example also checks the float64 gradient against finite
differences. The summary (and `--log FILE`) lists every failing spec as a
Python literal: `check_model(spec)` reproduces it.
"""

from __future__ import annotations

import argparse
import json
import os
import select
import subprocess
import sys
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
TESTS = os.path.join(os.path.dirname(HERE), "tests")


def _child(args) -> None:
    sys.path.insert(0, TESTS)
    os.environ.setdefault("GRAPHKERAS_VERIFY", "1")
    from model_strategies import (SeedDraws, check_gradients, check_model,
                                  model_specs)

    for seed in range(args.start, args.start + args.count):
        t0 = time.time()
        failed = None
        try:
            spec = model_specs(SeedDraws(seed), max_layers=args.max_layers,
                               dtypes=tuple(args.dtypes.split(",")))
        except Exception:  # the generator's own failure: report it too
            spec, failed = None, traceback.format_exc()
        print("BEGIN", json.dumps({"seed": seed, "spec": repr(spec)}),
              flush=True)
        try:
            if spec is None:
                raise RuntimeError("model_specs failed:\n" + failed)
            check_model(spec)
            if args.grad_every and seed % args.grad_every == 0:
                check_gradients(spec)
            print("OK", json.dumps({"seed": seed,
                                    "s": round(time.time() - t0, 2)}),
                  flush=True)
        except Exception as e:  # noqa: BLE001 - every failure is reported
            tb = traceback.format_exc(limit=-4)
            print("FAIL", json.dumps({"seed": seed, "error": type(e).__name__,
                                      "message": str(e)[:3000],
                                      "tb": tb[-3000:]}), flush=True)


def _run(args) -> int:
    env = dict(os.environ)
    seed, end = args.start, args.start + args.count
    results = {"OK": 0, "FAIL": [], "CRASH": [], "HANG": []}
    t_start = time.time()
    while seed < end:
        cmd = [sys.executable, os.path.abspath(__file__), "--child",
               "--start", str(seed), "--count", str(end - seed),
               "--max-layers", str(args.max_layers), "--dtypes", args.dtypes,
               "--grad-every", str(args.grad_every)]
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, env=env, text=True,
                                bufsize=1)
        current, spec, buf = None, None, ""
        last = time.time()
        while True:
            ready, _, _ = select.select([proc.stdout], [], [], 1.0)
            if ready:
                line = proc.stdout.readline()
                if not line:
                    break
                kind, _, rest = line.partition(" ")
                if kind == "BEGIN":
                    info = json.loads(rest)
                    current, spec = info["seed"], info["spec"]
                    last = time.time()
                elif kind == "OK":
                    results["OK"] += 1
                    current = None
                    if args.verbose:
                        print(line.strip(), flush=True)
                    elif results["OK"] % 50 == 0:
                        print(f"... {results['OK']} ok (seed "
                              f"{json.loads(rest)['seed']}, "
                              f"{time.time() - t_start:.0f} s)", flush=True)
                elif kind == "FAIL":
                    info = json.loads(rest)
                    info["spec"] = spec
                    results["FAIL"].append(info)
                    print(f"FAIL seed {info['seed']}: {info['error']}: "
                          f"{info['message'][:300]}\n  spec={spec}",
                          flush=True)
                    current = None
            elif current is not None and time.time() - last > args.timeout:
                proc.kill()
                proc.wait()
                results["HANG"].append({"seed": current, "spec": spec})
                print(f"HANG seed {current} (> {args.timeout} s)\n  "
                      f"spec={spec}", flush=True)
                break
            if proc.poll() is not None and not ready:
                break
        proc.wait()
        stderr = proc.stderr.read()
        if current is not None and (not results["HANG"]
                                    or results["HANG"][-1]["seed"] != current):
            results["CRASH"].append({"seed": current, "spec": spec,
                                     "returncode": proc.returncode,
                                     "stderr": stderr[-2000:]})
            print(f"CRASH seed {current} (exit {proc.returncode})\n  "
                  f"spec={spec}\n  {stderr[-600:]}", flush=True)
        if current is None:
            if proc.returncode != 0:
                print(f"child exited {proc.returncode} between examples:\n"
                      f"{stderr[-1000:]}", flush=True)
            break
        seed = current + 1
    took = time.time() - t_start
    isa = os.environ.get("GRAPHKERAS_ISA") or "native"
    print(f"\n{args.count} examples from seed {args.start} (ISA {isa}) in "
          f"{took:.0f} s: {results['OK']} ok, {len(results['FAIL'])} failed, "
          f"{len(results['CRASH'])} crashed, {len(results['HANG'])} hung")
    if args.log:
        with open(args.log, "w") as f:
            json.dump(results, f, indent=1)
    return 0 if results["OK"] == args.count else 1


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--start", type=int, default=0)
    p.add_argument("--count", type=int, default=100)
    p.add_argument("--seed", type=int, help="run this one seed")
    p.add_argument("--max-layers", type=int, default=8)
    p.add_argument("--dtypes",
                   default="float32,float32,float64,mixed_bfloat16")
    p.add_argument("--grad-every", type=int, default=5,
                   help="check gradients on every k-th seed (0: never)")
    p.add_argument("--timeout", type=float, default=300.0,
                   help="seconds one example may take")
    p.add_argument("--log", help="write the results as JSON")
    p.add_argument("--verbose", action="store_true")
    p.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.seed is not None:
        args.start, args.count = args.seed, 1
    if args.child:
        _child(args)
        return 0
    return _run(args)


if __name__ == "__main__":
    sys.exit(main())
