"""Object code compiled in child processes (codegen/compile_worker.py).

    objs = compile_texts([(name, llvm_ir_text, options), ...])

compiles every module in one of up to `flags.compile_processes()` worker
processes (by default one per core, at most 2), in parallel, and returns
their object code in order. A module that LLVM rejects, or whose worker
dies (an LLVM assertion aborts it), raises CompileFailure naming the
module's index: the caller maps it back to the model's layers. The user's
process survives either way; a dead worker is replaced by a fresh one.

Workers are started on first use and live as long as this process (they
hold no state between requests); they are not inherited across fork (a
child process starts its own). Starting one costs the import of llvmlite
(~0.1-0.3 s, once per process); sending a module's text costs ~1 ms per MB.

Invariant: the options sent are exactly what the in-process path
(jit.compile_object) uses, so object code is the same either way.
"""

from __future__ import annotations

import atexit
import concurrent.futures
import os
import pickle
import queue
import subprocess
import sys
import tempfile
import threading

from .. import flags

_WORKER_SCRIPT = os.path.join(os.path.dirname(__file__), "compile_worker.py")


class CompileFailure(Exception):
    """Compiling module `index` of a batch failed: LLVM rejected it
    (`crashed` False) or the worker process died (`crashed` True)."""

    def __init__(self, index: int, name: str, reason: str, crashed: bool):
        super().__init__(f"{name}: {reason}")
        self.index, self.name = index, name
        self.reason, self.crashed = reason, crashed


# A worker is replaced after this many modules: LLVM's default pipeline as
# llvmlite builds it leaks ~55 KB per compile (measured with llvmlite 0.50,
# docs/security.md), which a long-lived worker would otherwise keep (at
# most ~55 MB; a deep model's step is ~1,000 kernel modules, and a fresh
# worker costs the import of llvmlite).
MAX_COMPILES_PER_WORKER = 1000


class _Worker:
    def __init__(self):
        self.compiles = 0
        self.log = tempfile.TemporaryFile()
        env = dict(os.environ)
        env.pop("PYTHONSTARTUP", None)
        # NOTE: PYTHONPATH is honoured (llvmlite may be found through it);
        # -P keeps this directory, where the script lives, off sys.path
        flags = ["-P"] if sys.version_info >= (3, 11) else []
        self.proc = subprocess.Popen(
            [sys.executable, *flags, _WORKER_SCRIPT], stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, stderr=self.log, env=env)

    def compile(self, request: dict) -> dict:
        data = pickle.dumps(request)
        p = self.proc
        p.stdin.write(len(data).to_bytes(8, "little") + data)
        p.stdin.flush()
        head = p.stdout.read(8)
        if len(head) < 8:
            raise EOFError
        n = int.from_bytes(head, "little")
        body = p.stdout.read(n)
        if len(body) < n:
            raise EOFError
        return pickle.loads(body)

    def death(self) -> str:
        """Why the worker died: its exit status and the end of its stderr."""
        try:
            code = self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            code = self.proc.wait()
        self.log.seek(0)
        tail = self.log.read()[-2000:].decode(errors="replace").strip()
        what = (f"was killed by signal {-code}" if code < 0
                else f"exited with status {code}")
        return f"the LLVM compiler process {what}" + (
            f": {tail}" if tail else "")

    def close(self) -> None:
        try:
            self.proc.stdin.write((0).to_bytes(8, "little"))
            self.proc.stdin.close()
            self.proc.wait(timeout=5)
        except (OSError, ValueError, subprocess.TimeoutExpired):
            self.proc.kill()
        for f in (self.proc.stdin, self.proc.stdout, self.log):
            try:
                f.close()
            except OSError:
                pass


_LOCK = threading.Lock()
_IDLE: queue.SimpleQueue | None = None
_ALL: list = []
_PID = None


def _pool() -> queue.SimpleQueue:
    """The idle workers of this process (a fresh pool after a fork)."""
    global _IDLE, _PID
    with _LOCK:
        if _PID != os.getpid():
            _IDLE, _PID = queue.SimpleQueue(), os.getpid()
            _ALL.clear()
            for _ in range(flags.compile_processes()):
                w = _Worker()
                _ALL.append(w)
                _IDLE.put(w)
        return _IDLE


def _shutdown() -> None:
    if _PID == os.getpid():
        for w in _ALL:
            w.close()


atexit.register(_shutdown)


def _run(index: int, name: str, request: dict) -> bytes:
    idle = _pool()
    w = idle.get()
    try:
        reply = w.compile(request)
    except (EOFError, OSError, pickle.UnpicklingError):
        reason = w.death()
        w.close()
        with _LOCK:  # replace the dead worker
            fresh = _Worker()
            _ALL[_ALL.index(w)] = fresh
        idle.put(fresh)
        raise CompileFailure(index, name, reason, True) from None
    w.compiles += 1
    if w.compiles >= MAX_COMPILES_PER_WORKER:  # give its leak back
        w.close()
        with _LOCK:
            fresh = _Worker()
            _ALL[_ALL.index(w)] = fresh
        w = fresh
    idle.put(w)
    if "error" in reply:
        raise CompileFailure(index, name, reply["error"], False)
    return reply["object"]


def compile_texts(jobs: list) -> list:
    """Object code of every (name, text, request options) in jobs, compiled
    in the worker processes in parallel; CompileFailure for the first job
    (in order) that failed."""
    from .target import host

    h = host()
    fault = flags.inject_compile_fault()
    reqs = [dict(opts, text=text, name=name, triple=h.triple, cpu=h.cpu,
                 features=h.features, inject_fault=fault)
            for name, text, opts in jobs]
    if len(reqs) == 1:
        return [_run(0, jobs[0][0], reqs[0])]
    n = min(len(reqs), flags.compile_processes())
    with concurrent.futures.ThreadPoolExecutor(n) as ex:
        futs = [ex.submit(_run, k, job[0], r)
                for k, (job, r) in enumerate(zip(jobs, reqs))]
        concurrent.futures.wait(futs)
    return [f.result() for f in futs]  # the first failure, in order


class Stream:
    """Jobs compiled while the caller prepares the next ones:
    submit(name, text, options) hands a module to the next idle worker at
    once (the caller's Python goes on: the worker threads here only wait
    on pipes); results() waits for all, in order, CompileFailure for the
    first job that failed."""

    def __init__(self):
        from .target import host

        self._host = host()
        self._fault = flags.inject_compile_fault()
        self._ex = concurrent.futures.ThreadPoolExecutor(
            max(1, flags.compile_processes()))
        self._futs: list = []

    def submit(self, name: str, text: str, opts: dict) -> int:
        h = self._host
        req = dict(opts, text=text, name=name, triple=h.triple, cpu=h.cpu,
                   features=h.features, inject_fault=self._fault)
        k = len(self._futs)
        self._futs.append(self._ex.submit(_run, k, name, req))
        return k

    def results(self) -> list:
        try:
            concurrent.futures.wait(self._futs)
            return [f.result() for f in self._futs]
        finally:
            self.close()

    def close(self) -> None:
        """Drop the jobs not started (after a failure of the caller)."""
        self._ex.shutdown(wait=True, cancel_futures=True)


def enabled() -> bool:
    """Whether object code is compiled in child processes (the default;
    GRAPHKERAS_COMPILE_PROCESSES=0 compiles in this process)."""
    return flags.compile_processes() > 0
