"""How long graphkeras takes to refuse each hostile file of issue 15
(docs/security.md): a zip bomb, HDF5 datasets declaring terabytes (plain
and gzip), a FIFO and a /dev/zero symlink in place of a model, configs
and IR nested thousands deep, and forged or odd compile-cache entries.
Not a test: it prints one line per file (the time to the error, and the
error's first words). The machine may be busy; the figures are rough.

    python bench/hostile_files.py
    python bench/hostile_files.py --mutations 2000 [--timeout 20]
        [--keras-files]

With --mutations N it instead runs N random mutations of valid files
(tests/saving/hostile_mutations.py: bytes, zip entries, configs, HDF5
datasets and links) through the crash-proof worker harness, and prints
every file that was not loaded or refused clearly (a crash, a hang, an
error of another type or not naming the file), then counts per kind.
--keras-files mutates the Keras 3 zoo files (tests/fixtures/keras3/zoo)
instead of the harness's own small model.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
import zipfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, ".."))

import h5py  # noqa: E402

import graphkeras as keras  # noqa: E402
from graphkeras import ir  # noqa: E402
from graphkeras.saving import load_model  # noqa: E402


def _model():
    m = keras.Sequential([keras.Input((4,)), keras.layers.Dense(6),
                          keras.layers.Dense(3)])
    m.compile("adam", "mse")
    return m


def _timed(label, fn):
    t = time.perf_counter()
    try:
        fn()
        what = "LOADED (not refused)"
    except Exception as e:  # noqa: BLE001 - the refusal is what we time
        what = f"{type(e).__name__}: {str(e)[:90]}"
    ms = (time.perf_counter() - t) * 1000
    print(f"{label:38} {ms:9.1f} ms  {what}", flush=True)


def _zip(path, entries, big=None):
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for n, d in entries.items():
            z.writestr(n, d)
        if big:
            with z.open(big[0], "w", force_zip64=True) as f:
                chunk = bytes(1 << 24)
                for _ in range(big[1] >> 24):
                    f.write(chunk)


def main() -> int:
    d = tempfile.mkdtemp(prefix="gk-hostile-")
    m = _model()
    good = os.path.join(d, "good.keras")
    m.save(good)
    m.save(os.path.join(d, "good.h5"))
    with zipfile.ZipFile(good) as z:
        entries = {n: z.read(n) for n in z.namelist()}

    bomb = os.path.join(d, "bomb.keras")
    e = dict(entries)
    del e["model.weights.h5"]
    _zip(bomb, e, ("model.weights.h5", 2 << 30))
    print(f"zip bomb: {os.path.getsize(bomb) / 2**20:.1f} MB file, 2 GiB "
          "declared inflated")
    _timed("zip bomb (.keras)", lambda: load_model(bomb))

    for comp in (None, "gzip"):
        p = os.path.join(d, f"huge-{comp}.weights.h5")
        m.save_weights(p)
        with h5py.File(p, "a") as f:
            del f["layers/dense/vars/0"]
            shape = (1 << 20, 1 << 20) if comp is None else (20000, 20000)
            f.create_dataset("layers/dense/vars/0", shape=shape,
                             dtype="float32", chunks=(1024, 1024),
                             compression=comp)
        size = 4 * shape[0] * shape[1]
        _timed(f"h5 dataset {size / 2**30:,.1f} GiB ({comp or 'plain'})",
               lambda p=p: _model().load_weights(p))

    fifo = os.path.join(d, "fifo.keras")
    os.mkfifo(fifo)
    _timed("FIFO as a .keras", lambda: load_model(fifo))
    zero = os.path.join(d, "zero.h5")
    os.symlink("/dev/zero", zero)
    _timed("/dev/zero symlink as a .h5", lambda: load_model(zero))

    deep = os.path.join(d, "deep-json.keras")
    e = dict(entries)
    e["config.json"] = ('{"class_name": "Sequential", "config": '
                        + "[" * 100000 + "]" * 100000 + "}").encode()
    _zip(deep, e)
    _timed("config.json nested 100000 deep", lambda: load_model(deep))
    seq = os.path.join(d, "deep-seq.keras")
    inner = json.dumps({"module": "keras.layers", "class_name": "Dense",
                        "config": {"units": 2}})
    head = ('{"module": "keras", "class_name": "Sequential", '
            '"config": {"layers": [')
    e["config.json"] = (head * 3000 + inner + "]}}" * 3000).encode()
    _zip(seq, e)
    _timed("3000 nested Sequentials", lambda: load_model(seq))
    seq2 = os.path.join(d, "deep-seq-300.keras")
    e["config.json"] = (head * 300 + inner + "]}}" * 300).encode()
    _zip(seq2, e)
    _timed("300 nested Sequentials", lambda: load_model(seq2))
    text = ("func @f(%x: f32[2]) -> (f32[2]) {\n  %0 = relu %x {junk="
            + "(" * 5000 + ")" * 5000 + "} : f32[2]\n  return %0\n}")
    _timed(".gkir nested 5000 deep", lambda: ir.parse(text))

    from graphkeras.codegen import cache

    os.environ["GRAPHKERAS_CACHE_DIR"] = os.path.join(d, "cache")
    key = "ab" * 32
    cache.store(key, b"\x7fELF" + bytes(1000))
    path = cache.entry_path(key)
    with open(path, "r+b") as f:  # forge: change the payload, keep the MAC
        f.seek(-10, 2)
        f.write(b"\x90" * 10)
    def refused():
        if cache.load(key) is None:
            raise LookupError("refused: a cache miss")

    _timed("forged cache entry", refused)
    os.unlink(path)
    os.mkfifo(path)
    _timed("FIFO as a cache entry", refused)
    return 0


def _zoo_seeds() -> dict:
    """The Keras 3 zoo files (tests/fixtures/keras3/zoo) as seeds: richer
    configs than the harness's own model (its load_weights then refuses
    them all: another architecture)."""
    zoo = os.path.join(HERE, "..", "tests", "fixtures", "keras3", "zoo")
    out = {}
    for f in sorted(os.listdir(zoo)):
        if f.endswith((".keras", ".h5")) and "lambda" not in f:
            with open(os.path.join(zoo, f), "rb") as fh:
                out[f] = fh.read()
    return out


def mutations(n: int, timeout: float, keras_files: bool = False) -> int:
    import collections
    import random

    sys.path.insert(0, os.path.join(HERE, "..", "tests", "saving"))
    import hostile_mutations as hm

    d = tempfile.mkdtemp(prefix="gk-mutations-")
    seeds = hm.seed_files(d)
    if keras_files:
        seeds = _zoo_seeds()
    extra = os.path.join(d, "other.h5")
    with h5py.File(extra, "w") as f:
        f["data"] = [[0.0] * 3] * 3
    harness = hm.Harness(d, timeout=timeout)
    counts, bad = collections.Counter(), 0
    t0 = time.perf_counter()
    try:
        for i in range(n):
            rnd = random.Random(i)
            name = rnd.choice(sorted(seeds))
            kind = rnd.choice([k for k in hm.KINDS if hm.applicable(name, k)])
            path = os.path.join(d, f"case{i}-{kind}-{name}")
            with open(path, "wb") as f:
                f.write(hm.mutate(seeds[name], name, kind, rnd, extra))
            for step, r in zip(("load_model", "load_weights"),
                               harness.load(path)):
                if step == "load_model" and name.endswith(".weights.h5"):
                    continue
                if keras_files and step == "load_weights":
                    continue  # another architecture: always refused
                ok = hm.acceptable(r)
                counts[(kind, r["outcome"] if ok or r["outcome"] != "error"
                        else "unclear error")] += 1
                if not ok:
                    bad += 1
                    print(f"case {i} {kind} of {name}, {step}: "
                          f"{r['outcome']} {r['type']}: "
                          f"{r['message'][:200]}", flush=True)
            os.unlink(path)
    finally:
        harness.close()
    secs = time.perf_counter() - t0
    print(f"{n} files, {bad} not loaded or refused clearly, {secs:.0f} s "
          f"({1000 * secs / n:.0f} ms a file, both loaders; busy machine)")
    for (kind, outcome), c in sorted(counts.items()):
        print(f"  {kind:20} {outcome:14} {c}")
    return 1 if bad else 0


if __name__ == "__main__":
    if "--mutations" in sys.argv:
        args = sys.argv[1:]
        n = int(args[args.index("--mutations") + 1])
        t = float(args[args.index("--timeout") + 1]) if "--timeout" in \
            args else 20.0
        sys.exit(mutations(n, t, keras_files="--keras-files" in args))
    sys.exit(main())
