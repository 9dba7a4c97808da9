"""Creating, fitting and deleting models frees what they compiled, and
the compiler's worker processes give llvmlite's per-compile leak back
(issue 15). The RSS figure over 1,000 models is bench/leak_check.py's
--models run; these tests check the mechanisms, not a timing or an RSS."""

from __future__ import annotations

import gc

import numpy as np
from llvmlite import ir as llir

from graphkeras.codegen import isolated, jit
from graphkeras.runtime import compiled


def _model_cycle(n: int) -> None:
    import graphkeras as keras

    x = np.ones((16, 4), np.float32)
    y = np.ones((16, 1), np.float32)
    for _ in range(n):
        m = keras.Sequential([keras.Input((4,)),
                              keras.layers.Dense(5, activation="relu"),
                              keras.layers.Dense(1)])
        m.compile("adam", "mse")
        m.fit(x, y, epochs=1, verbose=0)
        m.predict(x, verbose=0)
        del m


def test_deleted_models_free_their_executables():
    _model_cycle(1)
    gc.collect()
    base = len(compiled._LIVE)
    _model_cycle(5)
    gc.collect()
    assert len(compiled._LIVE) == base


def _tiny_module(k: int):
    m = llir.Module(name=f"tiny{k}")
    f = llir.Function(m, llir.FunctionType(llir.FloatType(), [llir.FloatType()]),
                      f"f{k}")
    b = llir.IRBuilder(f.append_basic_block())
    b.ret(b.fadd(f.args[0], llir.Constant(llir.FloatType(), float(k))))
    return m


def test_compile_workers_are_replaced_after_max_compiles(monkeypatch):
    monkeypatch.setenv("GRAPHKERAS_COMPILE_PROCESSES", "2")
    assert isolated.enabled()
    monkeypatch.setattr(isolated, "MAX_COMPILES_PER_WORKER", 2)
    jit.compile_modules([("t0", _tiny_module(0))])
    before = {w.proc.pid for w in isolated._ALL}
    for k in range(1, 2 * len(before) + 2):
        obj, = jit.compile_modules([(f"t{k}", _tiny_module(k))])
        assert obj  # still compiles
    after = {w.proc.pid for w in isolated._ALL}
    assert before - after, (before, after)  # some workers were replaced
    assert len(after) == len(before)
