"""model.compile() starts compiling the host's GEMM and threads libraries
in a forked child (codegen/jit.py prefetch_libraries); the first step
then loads them from the cache. In a subprocess with a fresh cache: the
child is started once, fills the cache, and training gives the numbers
of a run without it."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))

CODE = textwrap.dedent("""
    import numpy as np, sys
    import graphkeras as keras
    from graphkeras.codegen import jit
    prefetch = sys.argv[1] == "1"
    if not prefetch:
        import graphkeras.runtime as R
        R.prefetch_libraries = lambda: False
    keras.utils.set_random_seed(0)
    m = keras.Sequential([keras.Input((9,)), keras.layers.Dense(7, activation="relu"),
                          keras.layers.Dense(3, activation="softmax")])
    m.compile("adam", "sparse_categorical_crossentropy")
    started = sorted(jit._PENDING)
    x = np.random.default_rng(0).normal(size=(40, 9)).astype("float32")
    y = np.arange(40) % 3
    h = m.fit(x, y, batch_size=8, epochs=2, verbose=0)
    jit.wait_children()  # (one child per core: some libraries unneeded)
    names = [n for n, _ in jit.host_libraries()]
    cached = all(jit._cached_library(n)[1] is not None for n in names)
    print("RESULT", bool(started) == prefetch, cached, all(
        s == 0 for s in jit._CHILDREN.values()), repr(h.history["loss"]))
""")


def _run(tmp_path, prefetch):
    env = dict(os.environ, GRAPHKERAS_CACHE_DIR=str(tmp_path / f"c{prefetch}"),
               PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    r = subprocess.run([sys.executable, "-c", CODE, str(prefetch)], env=env,
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    line = next(x for x in r.stdout.splitlines() if x.startswith("RESULT"))
    return line.split(" ", 4)[1:]


def test_compile_prefetches_libraries_in_a_child(tmp_path):
    started, cached, ok, losses = _run(tmp_path, 1)
    assert (started, cached, ok) == ("True", "True", "True")
    assert _run(tmp_path, 0)[3] == losses
