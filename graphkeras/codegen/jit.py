"""From an llvmlite module to callable native code, through the cache.

`compile_object(module, name)` parses, verifies and optimises the module
with a fresh target machine and returns the object code (writing the
GRAPHKERAS_DUMP files on the way). `NativeModule(obj)` loads object code
into a fresh MCJIT engine (with its own fresh target machine, which the
engine owns) and exposes the entry points as ctypes functions; it keeps the
engine alive as long as it lives.
"""

from __future__ import annotations

import ctypes
import functools
import threading

import llvmlite
import llvmlite.binding as llvm

from ..ir.errors import InternalCompilerError
from . import cache, mathlib
from .step_module import CODEGEN_VERSION
from .target import OPT_LEVEL, dump, ensure_llvm, host, new_target_machine, optimize

STEP_TYPE = ctypes.CFUNCTYPE(None, ctypes.c_int64, ctypes.c_int64, ctypes.c_void_p)
STEPS_TYPE = ctypes.CFUNCTYPE(None, ctypes.c_int64, ctypes.c_int64,
                              ctypes.c_void_p, ctypes.c_int64, ctypes.c_int64)


def _optimized(module, name: str, level: int, *, ir_passes: bool = True,
               **options):
    """(parsed, verified and optimised llvmlite module, its target
    machine); `ir_passes=False` leaves LLVM's IR pipeline out (the target
    machine still compiles at `level`)."""
    ensure_llvm()
    text = str(module)
    dump("llvm", name, lambda: text)
    try:
        mod = llvm.parse_assembly(text)
        mod.verify()
    except RuntimeError as e:
        raise InternalCompilerError(
            f"LLVM rejected the generated module {name}: {e}",
            dump_path=dump("llvm", name, lambda: text)) from e
    tm = new_target_machine(level)
    if ir_passes:
        optimize(mod, tm, level, **options)
    dump("llvm-opt", name, lambda: str(mod))
    return mod, tm


def compile_object(module, name: str, *, unroll: bool = True,
                   vectorize: bool = True, level: int = OPT_LEVEL,
                   ir_passes: bool = True) -> bytes:
    mod, tm = _optimized(module, name, level, ir_passes=ir_passes,
                         unroll=unroll, vectorize=vectorize)
    dump("asm", name, lambda: tm.emit_assembly(mod))
    return bytes(tm.emit_object(mod))


def module_text(module, name: str, *, asm: bool = False,
                level: int = OPT_LEVEL) -> str:
    """The module's LLVM IR as generated, or (asm) the host assembly after
    the optimisation compile_object runs."""
    if not asm:
        return str(module)
    mod, tm = _optimized(module, name, level)
    return tm.emit_assembly(mod)


class NativeModule:
    """Object code (the program's, after the library objects it calls)
    loaded into one fresh engine."""

    def __init__(self, obj: bytes, libraries=()):
        ensure_llvm()
        tm = new_target_machine()
        empty = llvm.parse_assembly("")
        empty.triple = host().triple
        self._engine = llvm.create_mcjit_compiler(empty, tm)
        for lib in libraries:
            self._engine.add_object_file(llvm.ObjectFileRef.from_data(lib))
        self._engine.add_object_file(llvm.ObjectFileRef.from_data(obj))
        self._engine.finalize_object()
        step = self._engine.get_function_address("gk_step")
        steps = self._engine.get_function_address("gk_steps")
        if not step or not steps:
            raise InternalCompilerError("the native module has no gk_step entry")
        self.step_address, self.steps_address = step, steps
        self.step = STEP_TYPE(step)
        self.steps = STEPS_TYPE(steps)


@functools.cache
def source_digest() -> str:
    """A hash of every source file of the installed graphkeras package
    (computed once per process): whatever module decides the generated
    code (codegen, the op definitions and scalar bodies, dtypes, types,
    passes, ...), an edited graphkeras never loads a program or object
    code made by another version."""
    import hashlib
    import pathlib

    root = pathlib.Path(__file__).resolve().parent.parent
    h = hashlib.sha256()
    for f in sorted(root.rglob("*.py")):
        rel = f.relative_to(root).as_posix().encode()
        data = f.read_bytes()
        h.update(len(rel).to_bytes(8, "little") + rel)
        h.update(len(data).to_bytes(8, "little") + data)
    return h.hexdigest()


def cache_key(program_text: str, layout_text: str) -> str:
    h = host()
    return cache.make_key(
        f"codegen {CODEGEN_VERSION} math {mathlib.MATH_VERSION} opt {OPT_LEVEL} "
        "programs without unrolling",
        source_digest(),
        f"llvmlite {llvmlite.__version__} llvm {llvm.llvm_version_info}",
        h.key(), program_text, layout_text)


_LIBRARIES: dict = {}  # cache key -> object code, for this process

# Library objects whose generated IR is already what the IR pipeline would
# make of it (SSA loops with explicit vector code, no allocas): the GEMM.
# Leaving LLVM's IR passes out of them measured no change in GFLOP/s (W1
# shapes, plain and transposed, M = 1 and 7, 1 and 2 threads, 512^3 and
# 1024^3) and cuts their compile from ~0.6 to ~0.3 s of a cold first step.
_SSA_READY = ("gemm_",)
_LIBRARY_LOCK = threading.Lock()


def _cached_library(name: str):
    key = cache_key(f"library {name}", "")
    obj = _LIBRARIES.get(key)
    if obj is None:
        obj = cache.load(key)
        if obj is not None:
            _LIBRARIES[key] = obj
    return key, obj


def library_object(name: str, build) -> bytes:
    """A library object (e.g. the GEMM for f32), from memory, the disk
    cache, or compiled now with build(vector_bytes)."""
    key, obj = _cached_library(name)
    if obj is None:
        with _LIBRARY_LOCK:  # one thread compiles it, the others wait
            key, obj = _cached_library(name)
            if obj is None:
                # explicit vector code: O1 runs as fast and compiles ~20%
                # faster (the cold first step of a program waits for it)
                obj = compile_object(build(host().vector_bytes), f"lib-{name}",
                                     unroll=False, vectorize=False, level=1,
                                     ir_passes=not name.startswith(_SSA_READY))
                cache.store(key, obj)
                _LIBRARIES[key] = obj
    return obj


def load_or_compile(key: str, build, name: str, libraries=()) \
        -> tuple[NativeModule, bool]:
    """The native module for key: from the cache when a sound entry exists
    (returns hit=True), else built with `build() -> llvmlite module`,
    compiled and stored. `libraries` are (name, builder) pairs of the
    library objects the program calls.

    NOTE: llvmlite serialises every LLVM call behind one lock, so library
    and program cannot compile in parallel threads of one process."""
    libs = [library_object(n, b) for n, b in libraries]
    obj = cache.load(key)
    if obj is not None:
        try:
            return NativeModule(obj, libs), True
        except Exception:  # noqa: BLE001, S110 - a bad entry is rebuilt, never trusted
            pass
    obj = compile_object(build(), name, unroll=False)
    cache.store(key, obj)
    return NativeModule(obj, libs), False


def threads_library() -> tuple:
    """(name, builder) of the barrier / worker library object."""
    from .work_sharing import threads_library as build

    return ("threads", lambda vb: build(host().is_x86, host().triple))


WORKER_TYPE = ctypes.CFUNCTYPE(ctypes.c_int64, ctypes.c_int64, ctypes.c_int64,
                               ctypes.c_void_p)
POST_TYPE = ctypes.CFUNCTYPE(ctypes.c_int64, ctypes.c_void_p, ctypes.c_int64,
                             ctypes.c_int64, ctypes.c_int64, ctypes.c_int64,
                             ctypes.c_int64, ctypes.c_int64)
RUN_TYPE = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_int64, ctypes.c_int64,
                            ctypes.c_int64, ctypes.c_int64, ctypes.c_int64,
                            ctypes.c_int64)


class ThreadsNative:
    """The worker loop and job posting (codegen/work_sharing.py), loaded once
    per process for the runtime's thread pool."""

    def __init__(self):
        ensure_llvm()
        obj = library_object(*threads_library())
        tm = new_target_machine()
        empty = llvm.parse_assembly("")
        empty.triple = host().triple
        self._engine = llvm.create_mcjit_compiler(empty, tm)
        self._engine.add_object_file(llvm.ObjectFileRef.from_data(obj))
        self._engine.finalize_object()
        self.worker = WORKER_TYPE(self._engine.get_function_address("gk_worker"))
        self.post = POST_TYPE(self._engine.get_function_address("gk_post"))
        self.run = RUN_TYPE(self._engine.get_function_address("gk_run"))
        self.clock = ctypes.CFUNCTYPE(ctypes.c_int64)(
            self._engine.get_function_address("gk_clock"))


@functools.cache
def threads_native() -> ThreadsNative:
    return ThreadsNative()
