"""The compile cache trusts only what this user made (issue 15).

Planted entries (foreign object code behind a valid header, altered or
reshaped program text, a FIFO) are never run: the risky cases run in a
subprocess, so a crash or a hang fails the test instead of killing it.
Identical models share entries in one process and across processes; the
key covers the whole package's source; the size cap evicts LRU entries.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import stat
import subprocess
import sys
import textwrap
import warnings

import numpy as np
import pytest

from graphkeras import ir
from graphkeras.codegen import cache
from graphkeras.runtime import Program, StateStore
from graphkeras.runtime.compiled import CompiledExecutable

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))


def _program(scale: float = 3.0, n: int = 3):
    b = ir.Builder("affine")
    x = b.param("x", ("N", n))
    w = b.param("w", (n,))
    out = b.mul(x, b.mul(w, b.constant(scale)))
    fn = b.build([out, b.add(w, b.constant(1.0))])
    return Program(fn, state=("w",), inputs=("x",), updates=(("w", 1),),
                   outputs=(0,))


def _store(n: int = 3):
    s = StateStore()
    s.define("w", ir.TensorType((n,)), np.arange(1, n + 1, dtype=np.float32))
    return s


def _entries(root, ext):
    return [os.path.join(d, f) for d, _, fs in os.walk(root) for f in fs
            if f.endswith(ext)]


@pytest.fixture
def cdir(tmp_path, monkeypatch):
    d = tmp_path / "cache"
    monkeypatch.setenv("GRAPHKERAS_CACHE_DIR", str(d))
    monkeypatch.delenv("GRAPHKERAS_CACHE_MAX", raising=False)
    if hasattr(cache, "_reset"):
        cache._reset()
    from graphkeras.runtime import compiled

    if hasattr(compiled, "_MEMO"):  # this process's prepared programs
        monkeypatch.setattr(compiled, "_MEMO", type(compiled._MEMO)())
    yield d
    if hasattr(cache, "_reset"):
        cache._reset()


def _check_affine(exe, scale=3.0):
    x = np.ones((4, 3), np.float32)
    (out,) = exe.run([x])
    np.testing.assert_allclose(out, np.tile(scale * np.arange(1, 4), (4, 1)))


# --- the directory -------------------------------------------------------------


def test_directories_are_created_0700_under_umask_000(cdir):
    old = os.umask(0)
    try:
        CompiledExecutable(_program(), _store())
    finally:
        os.umask(old)
    assert stat.S_IMODE(os.stat(cdir).st_mode) == 0o700
    subs = [os.path.join(cdir, s) for s in os.listdir(cdir)
            if os.path.isdir(os.path.join(cdir, s))]
    assert subs and all(stat.S_IMODE(os.stat(s).st_mode) == 0o700
                        for s in subs)
    secret = os.path.join(cdir, "secret")
    assert stat.S_IMODE(os.stat(secret).st_mode) == 0o600


@pytest.mark.parametrize("how", ["group-writable", "world-writable",
                                 "foreign-owner"])
def test_untrusted_directory_is_bypassed_with_one_warning(cdir, monkeypatch,
                                                          how):
    os.makedirs(cdir)
    if how == "group-writable":
        os.chmod(cdir, 0o770)
    elif how == "world-writable":
        os.chmod(cdir, 0o1777)
    else:  # this process looks like another user to the cache
        real = os.getuid()
        monkeypatch.setattr(os, "getuid", lambda: real + 1)
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        a = CompiledExecutable(_program(), _store())
        b = CompiledExecutable(_program(), _store())
    msgs = [str(w.message) for w in seen
            if "compile cache" in str(w.message)]
    assert len(msgs) == 1, msgs
    assert str(cdir) in msgs[0]
    assert not a.cache_hit and not b.cache_hit
    assert _entries(cdir, ".gko") == [] and _entries(cdir, ".gkir") == []
    _check_affine(b)


# --- planted entries -------------------------------------------------------------

_CHILD = textwrap.dedent("""
    import json, sys
    import numpy as np
    sys.path.insert(0, {tests!r})
    from test_cache_trust import _program, _store
    from graphkeras.codegen import cache
    from graphkeras.runtime.compiled import CompiledExecutable
    exe = CompiledExecutable(_program({scale}, {n}), _store({n}))
    (out,) = exe.run([np.ones((4, {n}), np.float32)])
    print(json.dumps({{"hit": exe.cache_hit, "out": out.tolist()}}))
""")


def _child(cdir, scale=3.0, n=3):
    code = _CHILD.format(tests=os.path.dirname(os.path.abspath(__file__)),
                         scale=scale, n=n)
    env = dict(os.environ, GRAPHKERAS_CACHE_DIR=str(cdir),
               PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    r = subprocess.run([sys.executable, "-c", code], env=env, timeout=120,
                       capture_output=True, text=True)
    assert r.returncode == 0, (r.returncode, r.stderr[-2000:])
    return json.loads(r.stdout.strip().splitlines()[-1])


def _plant(path, payload: bytes, header: str = "sha") -> None:
    """Replace the entry at path with payload behind a header of the old
    kind (a plain sha256 anybody can compute) or of the new kind with an
    HMAC made with another secret."""
    key = os.path.basename(path).rsplit(".", 1)[0].encode()
    if header == "sha":
        mac = hashlib.sha256(payload).hexdigest().encode()
        magic = b"GKOBJ1"
    else:
        ext = "." + path.rsplit(".", 1)[1]
        mac = __import__("hmac").new(
            b"x" * 32, f"{ext} {key.decode()} {len(payload)}\n".encode()
            + payload, hashlib.sha256).hexdigest().encode()
        magic = b"GKOBJ2"
    with open(path, "wb") as f:
        f.write(b" ".join([magic, key, mac, str(len(payload)).encode()])
                + b"\n" + payload)


def _payload(path) -> bytes:
    with open(path, "rb") as f:
        return f.read().partition(b"\n")[2]


@pytest.fixture(scope="module")
def populated(tmp_path_factory):
    """A cache dir holding the 3x program's entries (tests plant in a copy)."""
    a = tmp_path_factory.mktemp("a")
    _child(a, scale=3.0)
    return a


def _copy(populated, tmp_path):
    d = tmp_path / "cache"
    shutil.copytree(populated, d)
    return d


@pytest.fixture(scope="module")
def foreign_object(tmp_path_factory, populated):
    """The object code of another program (5x instead of 3x)."""
    a = populated
    b = tmp_path_factory.mktemp("b")
    _child(b, scale=5.0)
    mine = {os.path.basename(p) for p in _entries(a, ".gko")}
    # the other program's own object (libraries have the same keys in
    # both; its kernel's object is an entry of its own beside it)
    (other,) = [p for p in _entries(b, ".gko")
                if os.path.basename(p) not in mine
                and _payload(p).startswith(b"GKMULTI1")]
    return _payload(other)


@pytest.mark.parametrize("header", ["sha", "hmac-other-secret"])
def test_planted_object_code_is_never_run(tmp_path, header, foreign_object,
                                          populated):
    """Object code of another program (5x instead of 3x) behind a header
    that checks out is planted in place of this program's entry."""
    a = _copy(populated, tmp_path)
    foreign = foreign_object
    for p in _entries(a, ".gko"):
        _plant(p, foreign, header)
    got = _child(a, scale=3.0)
    assert got["hit"] is False
    np.testing.assert_allclose(got["out"],
                               np.tile(3.0 * np.arange(1, 4), (4, 1)))


def test_altered_program_text_is_never_used(tmp_path, populated):
    """The prepared program's text is edited (3 -> 5) behind a header whose
    checksum matches: the compiled step must still compute 3x."""
    tmp_path = _copy(populated, tmp_path)
    (path,) = _entries(tmp_path, ".gkir")
    text = _payload(path).decode()
    assert "3.0" in text
    _plant(path, text.replace("3.0", "5.0").encode(), "sha")
    got = _child(tmp_path, scale=3.0)
    np.testing.assert_allclose(got["out"],
                               np.tile(3.0 * np.arange(1, 4), (4, 1)))


@pytest.mark.parametrize("change", ["shape", "unverifiable", "other-program"])
def test_authenticated_but_wrong_program_is_rebuilt(tmp_path, monkeypatch,
                                                    change, populated):
    """Even an entry this user wrote (right HMAC) is verified and checked
    against the requested program's signature before use: a prepared
    program with another parameter shape must not reach native code."""
    import re

    tmp_path = _copy(populated, tmp_path)
    (path,) = _entries(tmp_path, ".gkir")
    key = os.path.basename(path)[:-5]
    monkeypatch.setenv("GRAPHKERAS_CACHE_DIR", str(tmp_path))
    cache._reset()
    text = cache.load(key, ".gkir").decode()
    if change == "shape":  # x: f32[N,3] -> f32[N,300], w: 3 -> 300
        text = re.sub(r"\[N,3\]", "[N,300]", text)
        text = re.sub(r"f32\[3\]", "f32[300]", text)
    elif change == "unverifiable":  # mul of [N,3] and [3] said [N,9]
        text = text.replace("-> (f32[N,3], f32[3])", "-> (f32[N,9], f32[3])",
                            1)
        text = re.sub(r"(= mul [^\n]*: )f32\[N,3\]", r"\1f32[N,9]", text,
                      count=1)
    else:
        text = text.replace("@affine", "@other")
    assert cache.store(key, text.encode(), ".gkir")  # with this user's MAC
    cache._reset()
    got = _child(tmp_path, scale=3.0)
    np.testing.assert_allclose(got["out"],
                               np.tile(3.0 * np.arange(1, 4), (4, 1)))


@pytest.mark.parametrize("kind", ["fifo", "symlink-dev-zero", "big",
                                  "foreign-owner"])
def test_odd_entries_are_refused_at_once(cdir, monkeypatch, kind):
    CompiledExecutable(_program(), _store())
    (path,) = _entries(cdir, ".gkir")
    key = os.path.basename(path)[:-5]
    os.unlink(path)
    if kind == "fifo":
        os.mkfifo(path)
    elif kind == "symlink-dev-zero":
        os.symlink("/dev/zero", path)
    elif kind == "big":
        with open(path, "wb") as f:
            f.truncate(cache.MAX_ENTRY_BYTES + 1)
    else:
        with open(path, "wb") as f:
            f.write(b"x")
        real = os.getuid()
        cache._secret()  # the secret is read as ourselves
        monkeypatch.setattr(os, "getuid", lambda: real + 1)
    # a hang here would be the bug: run the load in a thread with a timeout
    import threading

    out = {}
    t = threading.Thread(target=lambda: out.setdefault(
        "v", cache.load(key, ".gkir")), daemon=True)
    t.start()
    t.join(10)
    assert not t.is_alive(), f"cache.load hung on a {kind}"
    assert out["v"] is None


# --- the key ---------------------------------------------------------------------


def _model_fit_predict():
    import graphkeras as keras

    m = keras.Sequential([keras.Input((4,)),
                          keras.layers.Dense(3, activation="relu"),
                          keras.layers.Dense(1)])
    m.compile("sgd", "mse")
    x = np.ones((8, 4), np.float32)
    m.fit(x, np.ones((8, 1), np.float32), verbose=0, epochs=1)
    m.predict(x, verbose=0)


_HITS_CHILD = textwrap.dedent("""
    import json, sys
    sys.path.insert(0, {tests!r})
    from test_cache_trust import _model_fit_predict
    from graphkeras.codegen import cache
    _model_fit_predict()
    print(json.dumps(cache.STATS))
""")


def test_identical_models_reuse_entries_in_and_across_processes(
        cdir, monkeypatch):
    from graphkeras.codegen import jit

    monkeypatch.setattr(jit, "_LIBRARIES", {})  # libraries go to cdir too
    _model_fit_predict()
    first = dict(cache.STATS)
    assert first["stores"] > 0
    _model_fit_predict()  # names differ: dense_2/kernel ...
    second = {k: cache.STATS[k] - first[k] for k in first}
    assert second["stores"] == 0 and second["hits"] > 0, (first, second)
    n = len(_entries(cdir, ".gko")) + len(_entries(cdir, ".gkir"))
    env = dict(os.environ, GRAPHKERAS_CACHE_DIR=str(cdir),
               PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    r = subprocess.run([sys.executable, "-c", _HITS_CHILD.format(
        tests=os.path.dirname(os.path.abspath(__file__)))], env=env,
        timeout=120, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr[-2000:]
    other = json.loads(r.stdout.strip().splitlines()[-1])
    assert other["stores"] == 0 and other["hits"] > 0, other
    assert len(_entries(cdir, ".gko")) + len(_entries(cdir, ".gkir")) == n


def test_key_covers_every_source_file(tmp_path):
    """An edit to ir/scalar.py (relu's scalar body lives there and in
    ir/ops) changes the digest the keys are made with."""
    import graphkeras

    pkg = os.path.dirname(graphkeras.__file__)
    copy = tmp_path / "src"
    shutil.copytree(pkg, copy / "graphkeras",
                    ignore=shutil.ignore_patterns("__pycache__"))
    code = ("from graphkeras.codegen import jit; "
            "print(getattr(jit, 'source_digest', None) and "
            "jit.source_digest() or jit._source_digest())")

    def digest():
        env = dict(os.environ, PYTHONPATH=str(copy))
        return subprocess.run([sys.executable, "-c", code], env=env,
                              cwd=str(tmp_path), timeout=120,
                              capture_output=True, text=True,
                              check=True).stdout.strip()

    before = digest()
    for rel in ("ir/scalar.py", "ir/types.py", "ir/dtypes.py"):
        with open(copy / "graphkeras" / rel, "a") as f:
            f.write("\n# edited\n")
        after = digest()
        assert after != before, rel
        before = after


def test_size_cap_evicts_least_recently_used(cdir, monkeypatch):
    monkeypatch.setenv("GRAPHKERAS_CACHE_MAX", "3K")
    keys = [hashlib.sha256(bytes([i])).hexdigest() for i in range(6)]
    for k in keys[:2]:
        assert cache.store(k, b"x" * 1000)
    os.utime(cache.entry_path(keys[0]), (1, 1))  # made long ago ...
    os.utime(cache.entry_path(keys[1]), (2, 2))
    assert cache.load(keys[0]) == b"x" * 1000  # ... but used just now
    for k in keys[2:]:
        assert cache.store(k, b"x" * 1000)
    total = sum(os.path.getsize(p) for p in _entries(cdir, ".gko"))
    assert total <= 3 << 10
    assert cache.load(keys[1]) is None  # the least recently used went
    assert cache.load(keys[-1]) == b"x" * 1000


def test_cli_cache_info_and_clear(cdir, capsys):
    from graphkeras.cli import main

    CompiledExecutable(_program(), _store())
    assert main(["cache", "info"]) == 0
    out = capsys.readouterr().out
    assert str(cdir) in out and "entries" in out
    assert main(["cache", "clear"]) == 0
    assert _entries(cdir, ".gko") == []
    assert main(["cache", "info"]) == 0
    assert "0 entries" in capsys.readouterr().out


def test_cli_cache_bad_size_is_one_line_exit_2(cdir, monkeypatch, capsys):
    from graphkeras.cli import main

    monkeypatch.setenv("GRAPHKERAS_CACHE_MAX", "lots")
    assert main(["cache", "info"]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "GRAPHKERAS_CACHE_MAX" in err
