"""Hashing preprocessing: graphkeras's NumPy FarmHash / SipHash layers
beside Keras 3's (TensorFlow string ops), on the same data, in one
invocation.

    python bench/bench_hashing.py [--rows 200000] [--rounds 5]
                                  [--peers-python /work/venv-peers/bin/python]

Workloads (strings of 3 to 40 characters, half ASCII, half with UTF-8):
Hashing(1000) over `categorical` (1000 distinct strings repeated, the
usual categorical column) and `distinct` (every string different: the
worst case of graphkeras's per-length vector passes), Hashing with a
salt, HashedCrossing of an integer and a string column, and Hashing of
distinct integers (hashed through their decimal text). A worker in
the peers' Python (KERAS_BACKEND=tensorflow) times Keras 3's layers on
the same strings and checks that the bins agree. The table gives the best
ms per call of each and the ratio (> 1: graphkeras is faster). The
machine is shared and noisy: compare the ratios within one run.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import ROOT, machine  # noqa: E402

WORKER = r"""
import json, sys, time
import numpy as np
import keras
data = np.load(sys.argv[1])
rounds = int(sys.argv[2])
out = {}
for name, layer, args in [
        ("categorical", keras.layers.Hashing(1000), (data["categorical"],)),
        ("distinct", keras.layers.Hashing(1000), (data["distinct"],)),
        ("salted", keras.layers.Hashing(1000, salt=[7, 9]),
         (data["categorical"],)),
        ("crossing", keras.layers.HashedCrossing(1000),
         ((data["ints"], data["categorical"]),)),
        ("integers", keras.layers.Hashing(1000), (data["big_ints"],))]:
    best = float("inf")
    for _ in range(rounds):
        t = time.perf_counter()
        y = np.asarray(layer(*args))
        best = min(best, time.perf_counter() - t)
    out[name] = {"ms": best * 1e3, "bins": y.tolist()}
print(json.dumps(out))
"""


def strings(rng, n, distinct):
    alphabet = np.array(list("abcdefghijklmnopqrstuvwxyz0123456789 _-"
                             "éüß日本"))
    pool = ["".join(rng.choice(alphabet, rng.integers(3, 41)))
            for _ in range(n if distinct else 1000)]
    if distinct:
        return np.array([f"{s}{i}" for i, s in enumerate(pool)])
    return np.array(pool)[rng.integers(0, len(pool), n)]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--peers-python",
                        default="/work/venv-peers/bin/python")
    args = parser.parse_args()
    sys.path.insert(0, ROOT)
    import graphkeras as keras

    rng = np.random.default_rng(0)
    data = {"categorical": strings(rng, args.rows, False),
            "distinct": strings(rng, args.rows, True),
            "ints": rng.integers(0, 50, args.rows),
            "big_ints": rng.integers(-10**15, 10**15, args.rows)}
    ours = {}
    for name, layer, call_args in [
            ("categorical", keras.layers.Hashing(1000),
             (data["categorical"],)),
            ("distinct", keras.layers.Hashing(1000), (data["distinct"],)),
            ("salted", keras.layers.Hashing(1000, salt=[7, 9]),
             (data["categorical"],)),
            ("crossing", keras.layers.HashedCrossing(1000),
             ((data["ints"], data["categorical"]),)),
            ("integers", keras.layers.Hashing(1000), (data["big_ints"],))]:
        best = float("inf")
        for _ in range(args.rounds):
            t = time.perf_counter()
            y = layer(*call_args)
            best = min(best, time.perf_counter() - t)
        ours[name] = {"ms": best * 1e3, "bins": y}
    theirs = None
    if os.path.exists(args.peers_python):
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "data.npz")
            np.savez(path, **data)
            env = dict(os.environ, KERAS_BACKEND="tensorflow",
                       TF_CPP_MIN_LOG_LEVEL="3")
            done = subprocess.run(
                [args.peers_python, "-c", WORKER, path, str(args.rounds)],
                capture_output=True, text=True, env=env, timeout=1800)
            if done.returncode == 0:
                theirs = json.loads(done.stdout.strip().splitlines()[-1])
            else:
                print("Keras 3 worker failed:", done.stderr[-2000:])
    print(machine())
    print(f"rows={args.rows} rounds={args.rounds} (best of rounds; the "
          "machine is shared: compare ratios within this run)")
    print(f"{'workload':<12} {'graphkeras ms':>14} {'Keras 3 (TF) ms':>16} "
          f"{'ratio':>7}  bins agree")
    for name, mine in ours.items():
        if theirs is None:
            print(f"{name:<12} {mine['ms']:>14.1f} {'-':>16} {'-':>7}  -")
            continue
        ref = theirs[name]
        agree = np.array_equal(np.asarray(mine["bins"]).ravel(),
                               np.asarray(ref["bins"]).ravel())
        print(f"{name:<12} {mine['ms']:>14.1f} {ref['ms']:>16.1f} "
              f"{ref['ms'] / mine['ms']:>7.2f}  {agree}")


if __name__ == "__main__":
    main()
