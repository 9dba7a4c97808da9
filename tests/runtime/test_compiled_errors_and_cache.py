"""CompiledExecutable's input checks (clear errors before any native call)
and the on-disk compile cache (hit, miss, corrupt and stale entries, off)."""

from __future__ import annotations

import os

import numpy as np
import pytest

from graphkeras import ir
from graphkeras.codegen import cache
from graphkeras.runtime import Program, StateStore, make_executable
from graphkeras.runtime.compiled import CompiledExecutable


def _program(scale: float = 2.0):
    b = ir.Builder("affine")
    x = b.param("x", ("N", 3))
    y = b.param("y", ("N",), ir.int32)
    w = b.param("w", (3,))
    out = b.add(b.mul(x, b.mul(w, b.constant(scale))),
                b.reshape(b.cast(y, dtype=ir.float32), shape=("N", 1)))
    fn = b.build([out, b.add(w, b.constant(1.0))])
    return Program(fn, state=("w",), inputs=("x", "y"), updates=(("w", 1),),
                   outputs=(0,))


def _store():
    s = StateStore()
    s.define("w", ir.TensorType((3,)), np.array([1, 2, 3], np.float32))
    return s


@pytest.fixture
def exe():
    return CompiledExecutable(_program(), _store())


def _ok(n=4):
    return np.ones((n, 3), np.float32), np.arange(n, dtype=np.int32)


def test_runs_and_updates_state(exe):
    x, y = _ok()
    (out,) = exe.run([x, y])
    np.testing.assert_allclose(out, 2 * np.array([1, 2, 3]) + y[:, None])
    np.testing.assert_array_equal(exe.store["w"], [2, 3, 4])


def test_wrong_dtype(exe):
    with pytest.raises(ValueError, match=r'Input "x" must have dtype float32, '
                       r"received float64\."):
        exe.run([np.ones((4, 3)), _ok()[1]])


def test_wrong_shape(exe):
    with pytest.raises(ValueError, match=r'Input "x" must have shape f32\[N,3\], '
                       r"received \(4, 2\)\."):
        exe.run([np.ones((4, 2), np.float32), _ok()[1]])
    with pytest.raises(ValueError, match=r'Input "y" has N=5 \(shape \(5,\)\), '
                       r"but another input set N=4\."):
        exe.run([_ok()[0], np.zeros(5, np.int32)])


def test_wrong_count(exe):
    with pytest.raises(ValueError, match=r"Expected 2 input arrays \(x, y\), "
                       r"received 1\."):
        exe.run([_ok()[0]])


def test_non_contiguous(exe):
    x = np.ones((4, 6), np.float32)[:, ::2]
    with pytest.raises(ValueError, match=r'Input "x" must be C-contiguous'):
        exe.run([x, _ok()[1]])
    assert exe.store["w"].tolist() == [1, 2, 3]  # nothing ran


def test_state_changed_in_store_is_checked():
    store = _store()
    exe = CompiledExecutable(_program(), store)
    store.define("w", ir.TensorType((4,)), np.zeros(4, np.float32))
    with pytest.raises(ValueError, match=r'State "w" must have shape f32\[3\], '
                       r"the StateStore holds \(4,\)\."):
        exe.run(list(_ok()))


def test_run_steps_names_the_step(exe):
    with pytest.raises(ValueError, match=r"Step 1 of 2: Input \"x\""):
        exe.run_steps([_ok(), (np.ones((4, 3)), _ok()[1])])


def test_factory_compiles_unless_run_eagerly():
    p, s = _program(), _store()
    assert type(make_executable(p, s)).__name__ == "CompiledExecutable"
    assert type(make_executable(p, s, run_eagerly=True)).__name__ == \
        "InterpretedExecutable"


def _entries():
    """The programs' entries (each kernel's object code is an entry of its
    own beside them, codegen/jit.load_or_compile)."""
    root = os.environ["GRAPHKERAS_CACHE_DIR"]
    out = []
    for d, _, fs in os.walk(root):
        for f in fs:
            if f.endswith(".gko"):
                with open(os.path.join(d, f), "rb") as fh:
                    if fh.read().partition(b"\n")[2].startswith(b"GKMULTI1"):
                        out.append(os.path.join(d, f))
    return out


def test_cache_miss_then_hit(tmp_path, monkeypatch):
    monkeypatch.setenv("GRAPHKERAS_CACHE_DIR", str(tmp_path))
    first = CompiledExecutable(_program(3.0), _store())
    assert not first.cache_hit and len(_entries()) == 1
    second = CompiledExecutable(_program(3.0), _store())
    assert second.cache_hit
    x, y = _ok()
    np.testing.assert_array_equal(first.run([x, y])[0], second.run([x, y])[0])


@pytest.mark.parametrize("damage", ["flip", "truncate", "header", "stale"])
def test_corrupt_or_stale_entry_is_rebuilt(tmp_path, monkeypatch, damage):
    monkeypatch.setenv("GRAPHKERAS_CACHE_DIR", str(tmp_path))
    CompiledExecutable(_program(5.0), _store())
    (path,) = _entries()
    with open(path, "rb") as f:
        data = bytearray(f.read())
    if damage == "flip":
        data[-100] ^= 0xFF
    elif damage == "truncate":
        data = data[: len(data) // 2]
    elif damage == "header":
        data[:6] = b"XXXXXX"
    else:  # an entry written for another key under this name
        head, _, payload = bytes(data).partition(b"\n")
        parts = head.split(b" ")
        parts[1] = b"0" * 64
        data = b" ".join(parts) + b"\n" + payload
    with open(path, "wb") as f:
        f.write(bytes(data))
    assert cache.load(os.path.basename(path)[:-4]) is None
    exe = CompiledExecutable(_program(5.0), _store())
    assert not exe.cache_hit  # rebuilt, not trusted
    x, y = _ok()
    np.testing.assert_allclose(exe.run([x, y])[0], 5 * np.array([1, 2, 3]) + y[:, None])
    assert CompiledExecutable(_program(5.0), _store()).cache_hit  # rewritten


def test_cache_off(tmp_path, monkeypatch):
    monkeypatch.setenv("GRAPHKERAS_CACHE_DIR", str(tmp_path))
    monkeypatch.setenv("GRAPHKERAS_CACHE", "0")
    CompiledExecutable(_program(7.0), _store())
    assert not CompiledExecutable(_program(7.0), _store()).cache_hit
    assert _entries() == []


def test_mxcsr_is_restored_after_native_calls(exe):
    """Native steps run with FTZ/DAZ but give the caller's MXCSR back, so
    NumPy on the same thread still computes with denormals."""
    tiny = np.float32(1e-39)  # a float32 denormal
    assert tiny * np.float32(2) > 0
    exe.run(list(_ok()))
    exe.run_steps([_ok(), _ok()])
    assert np.float32(1e-39) * np.float32(2) == np.float32(2e-39)
    assert np.nextafter(np.float32(0), np.float32(1)) > 0


def test_prepared_program_comes_from_the_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("GRAPHKERAS_CACHE_DIR", str(tmp_path))
    first = CompiledExecutable(_program(4.0), _store())
    (path,) = [os.path.join(d, f) for d, _, fs in os.walk(str(tmp_path))
               for f in fs if f.endswith(".gkir")]
    second = CompiledExecutable(_program(4.0), _store())
    assert second.fn == first.fn and second.cache_hit
    with open(path, "r+b") as f:  # a damaged entry is rebuilt, not trusted
        f.seek(-5, os.SEEK_END)
        f.write(b"XXXXX")
    third = CompiledExecutable(_program(4.0), _store())
    assert third.fn == first.fn
    x, y = _ok()
    np.testing.assert_array_equal(third.run([x, y])[0], first.run([x, y])[0])
