"""GRAPHKERAS_ISA: an AVX-512 machine generating the code of a narrower one
(codegen/target.py), so the AVX2 and SSE paths run and are checked here."""

import subprocess
import sys

import pytest

from graphkeras import flags
from graphkeras.codegen.target import _narrowed

HOST = {"sse4.2": True, "avx": True, "avx2": True, "fma": True,
        "f16c": True, "avx512f": True, "avx512bw": True, "avx512bf16": True,
        "amx-tile": False, "evex512": True, "popcnt": True}


def test_avx2_turns_off_only_what_lies_above_it():
    got = _narrowed(dict(HOST), "avx2")
    assert not any(v for k, v in got.items()
                   if k.startswith(("avx512", "evex512", "amx")))
    assert got["avx2"] and got["fma"] and got["popcnt"] and got["sse4.2"]


def test_sse_keeps_sse():
    got = _narrowed(dict(HOST), "sse")
    assert not got["avx"] and not got["avx2"] and not got["fma"]
    assert got["sse4.2"] and got["popcnt"]


def test_asking_for_more_than_the_cpu_has_is_an_error():
    with pytest.raises(ValueError, match="AVX2, which this CPU does not"):
        _narrowed({"sse4.2": True, "avx2": False}, "avx2")
    with pytest.raises(ValueError, match="AVX-512, which this CPU"):
        _narrowed({"avx2": True}, "avx512")


def test_unknown_isa_names_the_choices(monkeypatch):
    monkeypatch.setenv("GRAPHKERAS_ISA", "avx1024")
    with pytest.raises(ValueError, match="avx512, avx2, sse.*'avx1024'"):
        flags.isa()


def test_a_process_with_avx2_generates_256_bit_code():
    import llvmlite.binding as llvm

    from graphkeras.codegen.target import ensure_llvm

    ensure_llvm()
    if not llvm.get_host_cpu_features().get("avx2"):
        pytest.skip("this CPU has no AVX2 to narrow to")
    code = ("from graphkeras.codegen.target import host, has_feature\n"
            "h = host(); print(h.vector_bytes, has_feature('avx512f'))")
    env = {"GRAPHKERAS_ISA": "avx2", "PATH": "/usr/bin:/bin"}
    import os
    env["PYTHONPATH"] = os.pathsep.join(sys.path)
    out = subprocess.run([sys.executable, "-c", code], env=env, check=True,
                         capture_output=True, text=True).stdout.split()
    assert out == ["32", "False"]
