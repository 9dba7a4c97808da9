"""Kernels are compiled once and reused across models: every distinct
kernel is an LLVM module of its own, named and cached by the hash of its
text (codegen/step_module.build_parts, codegen/jit.load_or_compile), so a
model sharing blocks with one compiled before compiles only its new
kernels, in this process or another, and computes what the reference
interpreter computes."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from graphkeras.codegen import cache, jit
from test_deep_models import _data, _pair, densenet_like


@pytest.fixture
def fresh_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("GRAPHKERAS_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("GRAPHKERAS_CACHE", raising=False)
    cache._reset()
    yield tmp_path / "cache"
    cache._reset()


def _recording(monkeypatch):
    """(built, compiled): the Parts of every program built, and of the
    modules compiled for it, as the test runs."""
    import graphkeras.runtime.compiled as compiled

    built, made = [], []
    build, submit = compiled.compile_modules_of, jit.CompileStream.submit

    def record_build(*a):
        built.append(list(build(*a)))
        made.append([])
        return iter(built[-1])

    def record_submit(self, part):
        made[-1].append(part)
        return submit(self, part)

    monkeypatch.setattr(compiled, "compile_modules_of", record_build)
    monkeypatch.setattr(jit.CompileStream, "submit", record_submit)
    return built, made


def _program_kernels(parts) -> list:
    """The kernel indices the program's step module calls."""
    step = next(p for p in parts if not p.content)
    m = re.search(r'@"?gk_kernels"? = private constant \[(\d+) x ptr\]',
                  step.text)
    return list(range(int(m.group(1))))


def _contents(parts) -> set:
    return {p.content for p in parts if p.content}


def _train_matches_interpreter(compiled, eager):
    x, y = _data(compiled)
    np.testing.assert_allclose(compiled.train_on_batch(x, y),
                               eager.train_on_batch(x, y), rtol=1e-3)
    for w1, w2 in zip(compiled.weights, eager.weights):
        a, b = np.asarray(w1), np.asarray(w2)
        scale = max(float(np.abs(b).max()), 1.0)
        np.testing.assert_allclose(a, b, rtol=2e-3, atol=2e-4 * scale,
                                   err_msg=w1.path)


def _predict_matches_interpreter(compiled, eager):
    x, _ = _data(compiled)
    np.testing.assert_allclose(compiled.predict(x, verbose=0),
                               eager.predict(x, verbose=0), rtol=1e-4,
                               atol=1e-6)


def test_second_model_compiles_only_its_new_kernels(fresh_cache,
                                                    monkeypatch):
    built, made = _recording(monkeypatch)
    small, small_eager = _pair(densenet_like, blocks=1, per_block=1)
    _train_matches_interpreter(small, small_eager)
    (first,), (compiled_first,) = built, made
    assert _contents(compiled_first) == _contents(first)  # cold: all of them
    # each distinct kernel once, however many kernels compute it
    assert len(_contents(first)) == len([p for p in first if p.content])
    assert len(_contents(first)) < len(_program_kernels(first))

    before = dict(jit.STATS)
    deep, deep_eager = _pair(densenet_like, blocks=1, per_block=2)
    _train_matches_interpreter(deep, deep_eager)
    second, compiled_second = built[1], made[1]
    shared = _contents(second) & _contents(first)
    new = _contents(second) - _contents(first)
    assert shared and new  # the deeper model shares blocks, and adds some
    assert _contents(compiled_second) == new
    # ... plus its own step module, the only part naming its slots
    assert [p.content for p in compiled_second if not p.content] == [None]
    assert jit.STATS["kernel_objects_reused"] - \
        before["kernel_objects_reused"] == len(shared)
    assert jit.STATS["modules_compiled"] - before["modules_compiled"] == \
        len(new) + 1


def test_another_process_reuses_the_kernels(fresh_cache, monkeypatch):
    """A model compiled in another process leaves its kernels in the
    cache: a different model of the same blocks here compiles only what
    is new, and its step."""
    script = textwrap.dedent("""
        import sys
        sys.path.insert(0, sys.argv[1])
        from test_deep_models import _data, _pair, densenet_like
        m, _ = _pair(densenet_like, blocks=1, per_block=1)
        m.predict(_data(m)[0], verbose=0)
    """)
    env = dict(os.environ, GRAPHKERAS_CACHE_DIR=str(fresh_cache))
    subprocess.run([sys.executable, "-c", script,
                    os.path.dirname(__file__)], check=True, env=env,
                   timeout=300)
    built, made = _recording(monkeypatch)
    m, eager = _pair(densenet_like, blocks=1, per_block=2)
    _predict_matches_interpreter(m, eager)
    (parts,), (compiled,) = built, made
    kernel_parts = [p for p in parts if p.content]
    assert 0 < len([p for p in compiled if p.content]) < len(kernel_parts)


def test_a_corrupt_kernel_entry_is_recompiled(fresh_cache, monkeypatch):
    """A kernel object that fails the cache's checks is a miss: compiled
    again, never loaded."""
    built, made = _recording(monkeypatch)
    m, eager = _pair(densenet_like, blocks=1, per_block=1)
    _predict_matches_interpreter(m, eager)
    victim = next(p for p in built[0] if p.content)
    path = cache.entry_path(jit.kernel_object_key(victim.content))
    with open(path, "r+b") as f:
        f.seek(-8, os.SEEK_END)
        f.write(b"\xcc" * 8)  # int3s where code was
    kernel_keys = {jit.kernel_object_key(p.content) for p in built[0]
                   if p.content}
    for entry, _, _ in cache.entries():  # the programs' own entries go
        name = os.path.basename(entry)
        if name.endswith(".gko") and name[:-4] not in kernel_keys:
            os.unlink(entry)
    m2, eager2 = _pair(densenet_like, blocks=1, per_block=1)
    _predict_matches_interpreter(m2, eager2)
    assert _contents(made[1]) == {victim.content}


class _Built(Exception):
    pass


def _parts_of(model, monkeypatch) -> list:
    """The Parts of the model's train step (built, not compiled)."""
    import graphkeras.runtime.compiled as compiled

    got = []

    def build_only(key, build, name, libraries=(), describe=None):
        got.extend(build())
        raise _Built

    monkeypatch.setattr(compiled, "load_or_compile", build_only)
    with pytest.raises(_Built):
        model.train_on_batch(*_data(model, 2))
    return got


def test_repeated_kernels_are_generated_once_and_alike(monkeypatch):
    """A kernel whose node reads as one generated before takes its text
    (step_module.kernel_memo_key): the same texts as generating each, with
    fewer generations."""
    from graphkeras.codegen import step_module

    emitted = []
    emit = step_module.emit_kernel

    def counting(*a, **k):
        emitted.append(a[1])
        return emit(*a, **k)

    monkeypatch.setattr(step_module, "emit_kernel", counting)
    key = step_module.kernel_memo_key
    step_module._TEXTS.clear()
    monkeypatch.setattr(step_module, "kernel_memo_key", lambda *a: None)
    fresh = _parts_of(_pair(densenet_like, blocks=1, per_block=2)[0],
                      monkeypatch)
    kernels = len(emitted)
    monkeypatch.setattr(step_module, "kernel_memo_key", key)
    del emitted[:]
    memo = _parts_of(_pair(densenet_like, blocks=1, per_block=2)[0],
                     monkeypatch)
    assert [p.text for p in memo] == [p.text for p in fresh]
    assert len(emitted) < kernels
    step_module._TEXTS.clear()
