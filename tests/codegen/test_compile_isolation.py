"""Object code is compiled in child processes: an LLVM abort there becomes
a Python error naming the layer, and the user's process carries on."""

from __future__ import annotations

import numpy as np
import pytest

import graphkeras as keras
from graphkeras import layers
from graphkeras.codegen import isolated
from graphkeras.ir import InternalCompilerError


def _model():
    inp = keras.Input((8, 8, 2))
    x = layers.Conv2D(3, 3, padding="same", name="conv_a")(inp)
    x = layers.MaxPooling2D(2, name="pool_here")(x)
    x = layers.Flatten()(x)
    out = layers.Dense(4, name="head")(x)
    m = keras.Model(inp, out)
    m.compile(optimizer="sgd", loss="mse")
    return m


def _data():
    rng = np.random.default_rng(1)
    return (rng.normal(size=(3, 8, 8, 2)).astype("float32"),
            rng.normal(size=(3, 4)).astype("float32"))


def test_llvm_abort_is_a_python_error_naming_the_layer(monkeypatch):
    monkeypatch.setenv("GRAPHKERAS_CACHE", "0")
    monkeypatch.delenv("GRAPHKERAS_COMPILE_PROCESSES", raising=False)
    m = _model()
    x, y = _data()
    monkeypatch.setenv("GRAPHKERAS_INJECT_COMPILE_FAULT", "max_pool_grad")
    with pytest.raises(InternalCompilerError) as err:
        m.train_on_batch(x, y)
    msg = str(err.value)
    assert 'While compiling layer "pool_here" (kernel' in msg, msg
    assert "LLVM crashed" in msg and "signal 6" in msg, msg
    # the process and the compile processes carry on
    monkeypatch.delenv("GRAPHKERAS_INJECT_COMPILE_FAULT")
    loss = m.train_on_batch(x, y)
    assert np.isfinite(loss)


def test_llvm_abort_in_a_library_is_a_python_error_naming_it(monkeypatch):
    from graphkeras.codegen import jit

    monkeypatch.setenv("GRAPHKERAS_CACHE", "0")  # (and no library child)
    monkeypatch.delenv("GRAPHKERAS_COMPILE_PROCESSES", raising=False)
    monkeypatch.setattr(jit, "_LIBRARIES", {})  # none compiled yet
    m = keras.Sequential([keras.Input((6,)), layers.Dense(3)])
    m.compile(optimizer="sgd", loss="mse")
    x = np.ones((4, 6), "float32")
    y = np.ones((4, 3), "float32")
    # a function of the narrow kernels' library object, in no kernel
    monkeypatch.setenv("GRAPHKERAS_INJECT_COMPILE_FAULT", "narrow_t_")
    with pytest.raises(InternalCompilerError) as err:
        m.train_on_batch(x, y)
    msg = str(err.value)
    assert "While compiling the library lib-gemm_" in msg, msg
    assert "_narrow" in msg and "LLVM crashed" in msg, msg
    monkeypatch.delenv("GRAPHKERAS_INJECT_COMPILE_FAULT")
    assert np.isfinite(m.train_on_batch(x, y))


def test_same_object_code_in_a_child_as_here(monkeypatch):
    from llvmlite import ir

    from graphkeras.codegen.jit import compile_object
    from graphkeras.codegen.target import host

    def module():
        m = ir.Module("same")
        m.triple = host().triple
        f32 = ir.FloatType()
        fn = ir.Function(m, ir.FunctionType(f32, [f32, f32]), "axpy")
        b = ir.IRBuilder(fn.append_basic_block())
        b.ret(b.fadd(b.fmul(fn.args[0], fn.args[1]), fn.args[1]))
        return m

    monkeypatch.setenv("GRAPHKERAS_COMPILE_PROCESSES", "0")
    assert not isolated.enabled()
    here = compile_object(module(), "same")
    monkeypatch.setenv("GRAPHKERAS_COMPILE_PROCESSES", "2")
    child = compile_object(module(), "same")
    assert here == child


def test_rejected_module_is_a_python_error(monkeypatch):
    from graphkeras.codegen.isolated import CompileFailure, compile_texts

    monkeypatch.delenv("GRAPHKERAS_COMPILE_PROCESSES", raising=False)
    good = "define i64 @f(i64 %x) {\n  ret i64 %x\n}\n"
    bad = "define i64 @g(i64 %x) {\n  ret i32 %x\n}\n"
    opts = {"unroll": False, "vectorize": False, "level": 1,
            "ir_passes": True}
    with pytest.raises(CompileFailure) as err:
        compile_texts([("good", good, opts), ("bad", bad, opts)])
    assert err.value.index == 1 and not err.value.crashed
    assert "LLVM rejected" in err.value.reason
