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

from .. import flags
from ..ir.errors import InternalCompilerError
from . import cache, mathlib
from .linkcheck import check_links
from .target import OPT_LEVEL, dump, ensure_llvm, host, new_target_machine, optimize

# part of every compiled object's cache key: raise it when the code
# generated for the same program changes meaning
CODEGEN_VERSION = 1

STEP_TYPE = ctypes.CFUNCTYPE(None, ctypes.c_int64, ctypes.c_int64, ctypes.c_void_p)
STEPS_TYPE = ctypes.CFUNCTYPE(None, ctypes.c_int64, ctypes.c_int64,
                              ctypes.c_void_p, ctypes.c_int64, ctypes.c_int64)


def _optimized(module, name: str, level: int, *, ir_passes: bool = True,
               **options):
    """(parsed, verified and optimised llvmlite module, its target
    machine); `ir_passes=False` leaves LLVM's IR pipeline out (the target
    machine still compiles at `level`)."""
    ensure_llvm()
    text = module if isinstance(module, str) else str(module)
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
    """Object code of one llvmlite module: in a child process
    (codegen/isolated.py) unless GRAPHKERAS_COMPILE_PROCESSES=0 or the
    optimised IR / assembly is to be dumped."""
    return compile_modules([(name, module)], unroll=unroll,
                           vectorize=vectorize, level=level,
                           ir_passes=ir_passes)[0]


def _compile_here(module, name, **options) -> bytes:
    mod, tm = _optimized(module, name, options.pop("level"),
                         ir_passes=options.pop("ir_passes"), **options)
    dump("asm", name, lambda: tm.emit_assembly(mod))
    return bytes(tm.emit_object(mod))


# set in a forked library child (prefetch_libraries): it compiles in its
# own process, which is isolation already (an LLVM abort ends the child,
# and the parent compiles the library itself), rather than starting
# compile processes of its own (each an import of llvmlite, and the
# library's text piped to it)
_IN_CHILD = False


def _isolated() -> bool:
    from . import isolated

    return not _IN_CHILD and isolated.enabled() and not (
        {"llvm-opt", "asm"} & flags.dump_kinds())


def compile_modules(named: list, *, unroll: bool = True,
                    vectorize: bool = True, level: int = OPT_LEVEL,
                    ir_passes: bool = True) -> list:
    """Object code of every (name, llvmlite module or its text[, options
    of its own]), compiled in parallel in child processes (or here, in
    order, when isolation is off). A failure raises
    isolated.CompileFailure with the module's index."""
    from . import isolated

    opts = {"unroll": unroll, "vectorize": vectorize, "level": level,
            "ir_passes": ir_passes}
    jobs = [(item[0], item[1], {**opts, **(item[2] if len(item) > 2 else {})})
            for item in named]
    if not _isolated():
        out = []
        for k, (name, module, o) in enumerate(jobs):
            try:
                out.append(_compile_here(module, name, **o))
            except InternalCompilerError as e:
                raise isolated.CompileFailure(k, name, str(e), False) from e
        return out
    texts = []
    for name, module, o in jobs:
        text = module if isinstance(module, str) else str(module)
        dump("llvm", name, lambda text=text: text)
        texts.append((name, text, o))
    return isolated.compile_texts(texts)


def module_text(module, name: str, *, asm: bool = False,
                **options) -> str:
    """The module's LLVM IR as generated, or (asm) the host assembly after
    the optimisation compiling runs with `options` (compile_object's:
    level, ir_passes, unroll, vectorize)."""
    if not asm:
        return str(module)
    options = {"level": OPT_LEVEL, "ir_passes": True, **options}
    mod, tm = _optimized(module, name, options.pop("level"),
                         ir_passes=options.pop("ir_passes"), **options)
    return tm.emit_assembly(mod)


try:  # dlsym over the process's loaded libraries (POSIX)
    _PROCESS = ctypes.CDLL(None)
except (OSError, TypeError):  # Windows: no handle for the whole process
    _PROCESS = None


def _exported(name: str) -> bool:
    """Whether MCJIT resolves `name` outside the objects: in the libraries
    the process has loaded (libc, libm), as its memory manager looks them
    up, or added to LLVM's symbol table."""
    if llvm.address_of_symbol(name):
        return True
    if _PROCESS is None:
        return True  # not known here: left to MCJIT, as before the check
    try:
        getattr(_PROCESS, name)
    except AttributeError:
        return False
    return True


class NativeModule:
    """Object code (the program's objects, after the library objects they
    call) loaded into one fresh engine."""

    def __init__(self, objs, libraries=()):
        ensure_llvm()
        if isinstance(objs, (bytes, bytearray)):
            objs = [objs]
        tm = new_target_machine()
        empty = llvm.parse_assembly("")
        empty.triple = host().triple
        check_links((*libraries, *objs), _exported)
        self._engine = llvm.create_mcjit_compiler(empty, tm)
        for obj in (*libraries, *objs):
            self._engine.add_object_file(llvm.ObjectFileRef.from_data(obj))
        self._engine.finalize_object()
        step = self._engine.get_function_address("gk_step")
        steps = self._engine.get_function_address("gk_steps")
        if not step or not steps:
            raise InternalCompilerError("the native module has no gk_step entry")
        self.step_address, self.steps_address = step, steps
        self.step = STEP_TYPE(step)
        self.steps = STEPS_TYPE(steps)
        call = self._engine.get_function_address("gk_call")
        bound = self._engine.get_global_value_address("gk_bound_block")
        if not call or not bound:
            raise InternalCompilerError("the native module has no gk_call entry")
        self.call = ctypes.CFUNCTYPE(None)(call)
        threads = self._engine.get_function_address("gk_call_threads")
        if not threads:
            raise InternalCompilerError(
                "the native module has no gk_call_threads entry")
        # (nthreads) -> gk_launch's answer: the bound step on the pool
        self.call_threads = ctypes.CFUNCTYPE(ctypes.c_int64,
                                             ctypes.c_int64)(threads)
        self._bound = ctypes.c_int64.from_address(bound)

    def bind(self, block_address: int) -> None:
        """The slot table `call()` runs (gk_call: thread 0 of 1)."""
        self._bound.value = block_address


_MULTI = b"GKMULTI1"


def pack_objects(objs: list) -> bytes:
    """Several objects as one cache payload."""
    out = [_MULTI, len(objs).to_bytes(8, "little")]
    for o in objs:
        out += [len(o).to_bytes(8, "little"), bytes(o)]
    return b"".join(out)


def unpack_objects(data: bytes) -> list:
    """pack_objects' list; ValueError for a payload that is not one."""
    if not data.startswith(_MULTI):
        raise ValueError("not a packed object list")
    n = int.from_bytes(data[8:16], "little")
    pos, out = 16, []
    for _ in range(n):
        k = int.from_bytes(data[pos:pos + 8], "little")
        out.append(data[pos + 8:pos + 8 + k])
        if len(out[-1]) != k:
            raise ValueError("truncated object list")
        pos += 8 + k
    return out


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


def _library_key(name: str) -> str:
    return cache_key(f"library {name}", "")


def _cached_library(name: str):
    key = _library_key(name)
    obj = _LIBRARIES.get(key)
    if obj is None:
        obj = cache.load(key)
        if obj is not None:
            _LIBRARIES[key] = obj
    return key, obj


def library_object(name: str, build) -> bytes:
    """A library object (e.g. the GEMM for f32), from memory, the disk
    cache, or compiled now with build(vector_bytes)."""
    return library_objects([(name, build)])[0]


def library_objects(libraries) -> list:
    """The objects of (name, build) `libraries`: from memory or the disk
    cache, awaited from the child compiling them (prefetch_libraries), or
    compiled now, all of them in parallel (in the compile processes),
    each stored. A library LLVM fails on raises InternalCompilerError."""
    out, missing = [], []
    for name, build in libraries:
        obj = _cached_library(name)[1]
        if obj is None and name in _PENDING:  # a child is compiling it
            _wait_child(_PENDING.pop(name))
            obj = _cached_library(name)[1]
        out.append(obj)
        if obj is None:
            missing.append((len(out) - 1, name, build))
    if missing:
        with _LIBRARY_LOCK:  # one thread compiles them, the others wait
            todo = []
            for i, name, build in missing:
                out[i] = _cached_library(name)[1]
                if out[i] is None:
                    todo.append((i, name, build))
            for (i, name, _), obj in zip(todo, _compile_libraries(
                    [(name, build) for _, name, build in todo])):
                key = _library_key(name)
                cache.store(key, obj)
                _LIBRARIES[key] = obj
                out[i] = obj
    return out


def _compile_libraries(libraries: list) -> list:
    """Object code of (name, build) libraries, in parallel in the compile
    processes (or here, in order). Explicit vector code: O1 runs as fast
    as O2 and compiles ~20% faster (a cold first step waits for it)."""
    from .isolated import CompileFailure

    named = [(f"lib-{name}", build(host().vector_bytes),
              {"ir_passes": not name.startswith(_SSA_READY)})
             for name, build in libraries]
    try:
        return compile_modules(named, unroll=False, vectorize=False, level=1)
    except CompileFailure as e:
        what = "crashed" if e.crashed else "failed"
        raise InternalCompilerError(
            f"While compiling the library {e.name}: LLVM {what} "
            f"({e.reason}). Your Python process is unharmed; "
            "GRAPHKERAS_DUMP=llvm writes the generated code.") from None


# modules compiled and kernel objects reused since the process started
# (tests count them: a model sharing kernels with an earlier one compiles
# only its new ones)
STATS = {"modules_compiled": 0, "kernel_objects_reused": 0}


@functools.cache
def _compiler_digest() -> str:
    """A hash of the files that decide how LLVM IR text becomes object
    code (the options and the pass pipeline): part of a kernel object's
    cache key beside its text, LLVM's version and the host."""
    import hashlib
    import pathlib

    here = pathlib.Path(__file__).resolve().parent
    h = hashlib.sha256()
    for f in ("compile_worker.py", "jit.py", "target.py"):
        h.update((here / f).read_bytes())
    return h.hexdigest()


KERNEL_OPTIONS = {"unroll": False, "vectorize": True, "level": OPT_LEVEL,
                  "ir_passes": True}


def kernel_object_key(content: str) -> str:
    """The cache key of a kernel module's object code: its text's hash
    (step_module.Part.content), how it is compiled, by which LLVM, for
    which host."""
    return cache.make_key(
        "kernel object", content, repr(sorted(KERNEL_OPTIONS.items())),
        _compiler_digest(),
        f"llvmlite {llvmlite.__version__} llvm {llvm.llvm_version_info}",
        host().key())


def load_or_compile(key: str, build, name: str, libraries=(),
                    describe=None) -> tuple[NativeModule, bool]:
    """The native module for key: from the cache when a sound entry exists
    (returns hit=True), else built with `build() -> [step_module.Part]`
    (step_module.build_parts), compiled and stored. A kernel module whose
    object code the cache holds (the same kernel in another program, by
    its content hash) is not compiled again; the others are compiled in
    parallel, in child processes, and their objects stored by content too.
    `libraries` are (name, builder) pairs of the library objects the
    program calls.

    A failure while compiling becomes an InternalCompilerError naming what
    failed: `describe(t) -> str` says which layer kernel t computes and
    `describe.module(t)` builds a module of kernel t alone; the kernels of
    an entry module that crashed LLVM are compiled one by one to find the
    one at fault."""
    from .isolated import CompileFailure

    hit = cache.load(key)
    if hit is not None:
        try:
            return NativeModule(unpack_objects(hit),
                                library_objects(libraries)), True
        except Exception:  # noqa: BLE001, S110 - a bad entry is rebuilt, never trusted
            pass
    stream = CompileStream()
    parts, keys, objs = [], [], []
    try:
        for part in build():  # kernels compile while the next are built
            key_ = kernel_object_key(part.content) if part.content else None
            obj = cache.load(key_) if key_ is not None else None
            if obj is None:
                stream.submit(part)
            else:
                STATS["kernel_objects_reused"] += 1
            parts.append(part)
            keys.append(key_)
            objs.append(obj)
        # the libraries once every kernel is on its way: a cold start's
        # library children (prefetch_libraries), or the compile processes,
        # compile them beside the kernels
        libs = library_objects(libraries)
        made = stream.results()
    except CompileFailure as e:
        failed = stream.parts[e.index]
        raise _compile_error(e, list(failed.kernels), describe) from None
    finally:
        stream.close()
    STATS["modules_compiled"] += len(made)
    todo = [i for i, o in enumerate(objs) if o is None]
    for i, o in zip(todo, made):
        objs[i] = o
    cache.store_many([(keys[i], objs[i]) for i in todo
                      if keys[i] is not None])
    cache.store(key, pack_objects(objs))
    return NativeModule(objs, libs), False


class CompileStream:
    """step_module.Parts compiled as they are submitted: in the child
    processes while the caller builds the next (isolated.Stream), or here
    at results() when compiling in process. Every part is compiled with
    KERNEL_OPTIONS."""

    def __init__(self):
        from . import isolated

        self.parts: list = []
        self._stream = isolated.Stream() if _isolated() else None

    def submit(self, part) -> None:
        self.parts.append(part)
        if self._stream is not None:
            dump("llvm", part.name, lambda: part.text)
            self._stream.submit(part.name, part.text, KERNEL_OPTIONS)

    def results(self) -> list:
        if self._stream is None:
            return compile_parts(self.parts)
        return self._stream.results()

    def close(self) -> None:
        if self._stream is not None:
            self._stream.close()


def compile_parts(parts: list) -> list:
    """Object code of every step_module.Part, in parallel in child
    processes (or here, in order): kernel modules with KERNEL_OPTIONS,
    the program's own (entries, step) likewise. A failure raises
    isolated.CompileFailure with the part's index."""
    return compile_modules([(p.name, p.text) for p in parts],
                           **KERNEL_OPTIONS)


def _compile_error(failure, kernels: list, describe) -> InternalCompilerError:
    """The error for a module that failed to compile: the first of its
    kernels that fails alone names the layer."""
    from .isolated import CompileFailure

    culprit = None
    if describe is not None and len(kernels) == 1:
        culprit = kernels[0]
    elif describe is not None and kernels:
        for t in kernels:
            try:
                compile_modules([(f"{failure.name}.k{t}",
                                  describe.module(t))], unroll=False)
            except CompileFailure:
                culprit = t
                break
    if culprit is not None:
        where = describe(culprit)
    elif kernels and describe is not None:
        where = (f"kernels {kernels[0]}-{kernels[-1]} "
                 f"({describe(kernels[0])} ... {describe(kernels[-1])})")
    else:
        where = "the step function (kernel table and entry points)"
    what = "crashed" if failure.crashed else "failed"
    return InternalCompilerError(
        f"While compiling {where}: LLVM {what} ({failure.reason}). Your "
        "Python process is unharmed; GRAPHKERAS_DUMP=llvm writes the "
        "generated code.")


# --- library objects compiled in the background -------------------------------

_PENDING: dict = {}  # library name -> pid of the child compiling it
_CHILDREN: dict = {}  # pid -> exit status (None while running)
CHILD_TIMEOUT = 60.0  # seconds a parent waits for a child, then kills it


def host_libraries() -> list:
    """(name, builder) of the libraries almost every program calls: the
    float32 GEMM's objects for this host and the threads library, roughly
    the largest first (prefetch_libraries deals them out in that order)."""
    from ..ir import float32
    from .matmul import library_modules

    return [*library_modules(float32), threads_library()]


def prefetch_libraries() -> bool:
    """Start compiling the host's common libraries (host_libraries) that
    the disk cache lacks, in forked children (one per core at most, the
    libraries dealt out among them) that store them in the cache and
    exit, while this process goes on tracing and compiling its program
    (llvmlite serialises LLVM calls in one process, so a thread would not
    run beside it). library_objects() waits for the child when
    it needs one of them, and has it compiled if the child failed.
    Returns whether a child was started. Only from a process with one
    thread (forking with other threads running is not safe), not under
    MPI, with the cache on, where fork exists."""
    global _IN_CHILD
    import os
    import sys

    if not hasattr(os, "fork") or not flags.cache_enabled() or \
            threading.active_count() > 1 or "mpi4py.MPI" in sys.modules:
        return False  # (an MPI process must not fork)
    todo = [(n, b) for n, b in host_libraries()
            if n not in _PENDING and _cached_library(n)[1] is None]
    if not todo:
        return False
    from . import isolated  # noqa: F401 - imported once here, not in each child
    children = max(1, min(len(todo), os.cpu_count() or 1))
    # dealt back and forth (0, 1, 1, 0, 0, ...), the largest first: with
    # two children, the 12-row driver's object and the threads library to
    # one, the narrow kernels' and the 8-row driver's to the other
    shares = [[] for _ in range(children)]
    for k, lib in enumerate(todo):
        c = k % children
        shares[c if k // children % 2 == 0 else children - 1 - c].append(lib)
    started = False
    for share in shares:
        try:
            pid = os.fork()
        except OSError:
            break
        if pid == 0:  # the child: compile, store, leave without cleanups
            _IN_CHILD = True
            code = 1
            try:
                library_objects(share)
                code = 0
            finally:
                os._exit(code)
        _CHILDREN[pid] = None
        for n, _ in share:
            _PENDING[n] = pid
        started = True
    return started


def wait_children() -> None:
    """Until every library child has exited (a child compiling libraries
    no program of this process needed yet is otherwise left running)."""
    for pid in list(_CHILDREN):
        _wait_child(pid)
    for name, pid in list(_PENDING.items()):
        if _CHILDREN.get(pid) is not None:
            del _PENDING[name]


def _wait_child(pid: int) -> None:
    """Until the child `pid` exits (killed after CHILD_TIMEOUT)."""
    import os
    import signal
    import time

    if _CHILDREN.get(pid, 0) is not None:
        return  # reaped already
    deadline = time.monotonic() + CHILD_TIMEOUT
    while True:
        try:
            done, status = os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            done, status = pid, -1
        if done == pid:
            _CHILDREN[pid] = status
            return
        if time.monotonic() > deadline:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            _CHILDREN[pid] = -1
            return
        time.sleep(0.002)


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
        check_links((obj,), _exported)
        self._engine = llvm.create_mcjit_compiler(empty, tm)
        self._engine.add_object_file(llvm.ObjectFileRef.from_data(obj))
        self._engine.finalize_object()
        self.worker = WORKER_TYPE(self._engine.get_function_address("gk_worker"))
        self.post = POST_TYPE(self._engine.get_function_address("gk_post"))
        self.run = RUN_TYPE(self._engine.get_function_address("gk_run"))
        self.launch = POST_TYPE(self._engine.get_function_address("gk_launch"))
        self.try_acquire = ctypes.CFUNCTYPE(ctypes.c_int64, ctypes.c_void_p)(
            self._engine.get_function_address("gk_try_acquire"))
        self.release = ctypes.CFUNCTYPE(None, ctypes.c_void_p)(
            self._engine.get_function_address("gk_release"))
        self.clock = ctypes.CFUNCTYPE(ctypes.c_int64)(
            self._engine.get_function_address("gk_clock"))


@functools.cache
def threads_native() -> ThreadsNative:
    return ThreadsNative()
