"""Identical models share one prepared program (in this process's memo and
through the compile cache), but each executable names its own model's
layers: profiles, dumps and TensorBoard's graph read the locs."""

from __future__ import annotations

import gc
import os
import subprocess
import sys
import textwrap

import numpy as np

import graphkeras as keras
from graphkeras.runtime import compiled

_X = np.ones((8, 4), np.float32)


def _locs(fn) -> set:
    """Every node's loc in fn and the functions in its attrs."""
    out = set()
    for n in fn.nodes:
        out.add(n.loc)
        for a in n.attrs.values():
            for f in (a if isinstance(a, tuple) else (a,)):
                if hasattr(f, "nodes"):
                    out |= _locs(f)
    return out - {None}


def _model(first: str, second: str):
    m = keras.Sequential([keras.Input((4,)),
                          keras.layers.Dense(5, activation="relu", name=first),
                          keras.layers.Dense(2, name=second)])
    m.predict(_X, verbose=0)
    return m


def _layer_locs(model) -> set:
    gc.collect()
    names = {layer.name for layer in model.layers}
    found = set()
    for exe in list(compiled._LIVE):
        found |= _locs(exe.fn)
    return found & names, found


def test_memo_hit_takes_the_callers_layer_names():
    a = _model("first_a", "first_b")
    mine, _ = _layer_locs(a)
    assert mine == {"first_a", "first_b"}
    del a
    gc.collect()
    b = _model("second_a", "second_b")
    mine, found = _layer_locs(b)
    assert mine == {"second_a", "second_b"}
    assert not {"first_a", "first_b"} & found


_CHILD = textwrap.dedent("""
    import gc, numpy as np, graphkeras as keras
    from graphkeras.codegen import cache
    from graphkeras.runtime import compiled
    import sys
    names = sys.argv[1:3]
    m = keras.Sequential([keras.Input((4,)),
                          keras.layers.Dense(5, activation="relu",
                                             name=names[0]),
                          keras.layers.Dense(2, name=names[1])])
    m.predict(np.ones((8, 4), np.float32), verbose=0)
    gc.collect()
    locs = set()
    for exe in list(compiled._LIVE):
        locs |= {n.loc for n in exe.fn.nodes if n.loc}
    print(sorted(locs), cache.STATS["hits"])
""")


def _child(names, env):
    out = subprocess.run([sys.executable, "-c", _CHILD, *names],
                         env=env, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    return out.stdout.strip().splitlines()[-1]


def test_cache_hit_in_another_process_takes_the_callers_layer_names(tmp_path):
    env = dict(os.environ, GRAPHKERAS_CACHE_DIR=str(tmp_path / "cache"))
    first = _child(("p_one", "p_two"), env)
    assert "'p_one'" in first and "'p_two'" in first
    second = _child(("q_one", "q_two"), env)
    locs, hits = second.rsplit(" ", 1)
    assert int(hits) > 0  # the prepared program came from the cache
    assert "'q_one'" in locs and "'q_two'" in locs
    assert "p_one" not in locs and "p_two" not in locs
