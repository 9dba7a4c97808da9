"""codegen/linkcheck: a native module whose objects call a function that
nothing defines is refused with a Python error before MCJIT links it (MCJIT
would resolve the call to address 0, and running it would kill the
process)."""

from __future__ import annotations

import llvmlite.binding as llvm
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from graphkeras.codegen import jit, linkcheck
from graphkeras.codegen.target import ensure_llvm, host, new_target_machine
from graphkeras.ir.errors import InternalCompilerError


def _object(text: str) -> bytes:
    ensure_llvm()
    m = llvm.parse_assembly(text)
    m.triple = host().triple
    return bytes(new_target_machine().emit_object(m))


CALLER = """
declare void @gk_test_callee(i64)
declare i8* @memset(i8*, i32, i64)
define void @gk_test_caller(i64 %x, i8* %p) {
  call void @gk_test_callee(i64 %x)
  call i8* @memset(i8* %p, i32 0, i64 %x)
  ret void
}
"""
CALLEE = """
define void @gk_test_callee(i64 %x) {
  ret void
}
"""

pytestmark = pytest.mark.skipif(
    not _object(CALLEE).startswith(b"\x7fELF"),
    reason="the link check reads ELF objects; this host emits another format")


def test_symbols_of_an_object():
    defined, needed = linkcheck.symbols(_object(CALLER))
    assert "gk_test_caller" in defined
    assert {"gk_test_callee", "memset"} <= needed


def test_a_call_nothing_defines_is_an_error_not_a_null_jump():
    caller = _object(CALLER)
    with pytest.raises(InternalCompilerError, match="'gk_test_callee'"):
        jit.NativeModule([caller])
    # defined by another object of the module, memset by libc: linked
    linkcheck.check_links([caller, _object(CALLEE)], jit._exported)


def test_a_function_of_the_process_is_found():
    assert jit._exported("memset") and jit._exported("sched_getaffinity")
    assert not jit._exported("gk_no_such_function")


@settings(max_examples=40, deadline=None)
@given(cut=st.integers(0, 4000), flip=st.integers(0, 4000))
def test_a_damaged_object_is_refused_or_read_never_crashes(cut, flip):
    obj = bytearray(_object(CALLER))
    obj[flip % len(obj)] ^= 0xFF
    obj = bytes(obj[:max(6, cut % (len(obj) + 1))])
    try:
        got = linkcheck.symbols(obj)
    except InternalCompilerError as e:
        assert "malformed" in str(e)
    else:
        assert got is None or all(isinstance(s, frozenset) for s in got)
