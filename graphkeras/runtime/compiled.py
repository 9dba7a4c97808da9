"""CompiledExecutable: runs a Program as native code.

    exe = CompiledExecutable(program, store)
    outs = exe.run([x, y])                  # one step
    outs_per_step = exe.run_steps([(x0, y0), (x1, y1), ...])   # K steps,
                                            # one native call (steps_per_execution)

`run` has InterpretedExecutable's interface: it validates the inputs,
runs the step, writes state updates into the StateStore's buffers (whose
addresses stay fixed) and returns the outputs as fresh arrays.
`run_steps` takes a list of K input tuples (the batch size may differ
between them, e.g. a last partial batch), validates all of them first,
runs the K steps in one call of the native `gk_steps` entry, each step
seeing the state the previous one left, and returns a list of K output
lists.

Compilation happens in the constructor: passes.compile_pipeline prepares
the program (simplify, materialize results, fuse elementwise chains and
product epilogues), plan_memory assigns storages, codegen builds one LLVM
module whose `gk_step` runs every kernel; the prepared program and the
object code come from the on-disk cache when sound entries exist. The
batch dimension stays symbolic, so one module serves every batch size; the
arena is planned per batch size (best fit) and grows when a larger batch
arrives.

Threads: a step runs on the process's thread pool (runtime/thread_pool.py,
GRAPHKERAS_NUM_THREADS, all cores by default) when it does at least
MIN_PARALLEL_WORK floating-point operations or its products read at
least MIN_PARALLEL_BYTES of weights, else on the calling thread alone; `threads=` fixes the count. Without it, steps of every batch size
are timed on one thread and on all of them and the faster runs (with
another program busy on a core, two threads can be slower than one:
runtime/adaptive.py); results do not depend on the count. The decision, the GEMM workspace (one
slice per thread) and the arena are made once per batch size; a call with
the last call's input shapes and dtypes skips binding (each array is still
checked: an ndarray of that shape and dtype, C-contiguous; only its
address is written), and small outputs come back as copies of buffers
that stay in the slot table. `run1(x)` is that path for one input
(predict_on_batch, latency-bound serving): one thread runs through
`gk_call()` (no ctypes arguments), two through one native launch
(runtime/thread_pool.py). `profile()` times every kernel (runtime/profile.py).

Calls are serialised (a lock): the slot table, arena and state buffers are
shared by every call of one executable.

Safety: every array handed to native code is checked first (dtype, shape
including the binding of symbols such as N, C-contiguity; state buffers
again whenever the StateStore changes), with a clear ValueError naming the
input. Native code runs with FTZ/DAZ and restores the caller's MXCSR.
"""

from __future__ import annotations

import collections
import ctypes
import json
import os
import threading
import time
import weakref
from collections.abc import Sequence

import numpy as np

from ..codegen import cache
from ..codegen.jit import cache_key, load_or_compile, source_digest
from ..codegen.matmul import WORKSPACE_HEADER
from ..codegen.step_module import (
    KernelNames,
    compile_modules_of,
    held_layout,
    native_layout,
    required_libraries,
)
from ..codegen.work_sharing import CTL_WORDS
from ..ir import (
    Attrs,
    Function,
    IRTypeError,
    Node,
    Value,
    ParseError,
    VerifyError,
    canonical_print,
    canonical_text,
    parse,
    print_function,
    verify,
)
from ..ir.types import is_symbol
from ..passes.compile_pipeline import prepare_for_codegen
from ..passes.plan_memory import plan_offsets
from ..passes.prepare_scan_bodies import plan_storage
from .adaptive import ThreadChooser
from .collection import collection_paused
from .executable import Executable
from .program import Program
from .memory import check_fits
from .state import StateStore, aligned_empty
from . import thread_pool as _thread_pool
from .thread_pool import default_threads, thread_pool

# below this many floating-point operations (estimated) a step runs on one
# thread: waking the others and the barriers would cost more than they save
# (above it, one and two threads are timed: runtime/adaptive.py). W2's CNN
# at batch 1 (~4.7 MFLOP, 35 us of convolution on one thread) is above it:
# its convolutions are cut into row bands (codegen/conv.py)
MIN_PARALLEL_WORK = 2_000_000
# ... unless its products stream at least this many bytes of fixed-size
# operands (weights): batch-1 inference is bound by reading them, and two
# cores can each stream half; whether that pays is timed (runtime/adaptive.py)
MIN_PARALLEL_BYTES = 1 << 20
# the fast path returns copies of outputs it keeps when they total at most this
FAST_OUTPUT_BYTES = 1 << 16


PREPARED = ".gkir"  # cache entries of prepared programs


def _rewritten(fn, names: dict | None = None, locs: dict | None = None):
    """fn (and the functions nested in its attrs) with every value renamed
    by `names` and every node's loc mapped by `locs` (a loc not in `locs`
    stays); structure, types and attrs unchanged."""
    def val(v):
        return v if names is None else Value(names[v.name], v.type)

    def attr(a):
        if isinstance(a, Function):
            return _rewritten(a, names, locs)
        if isinstance(a, tuple):
            return tuple(attr(x) for x in a)
        return a

    nodes = []
    for n in fn.nodes:
        attrs = n.attrs
        if any(isinstance(a, (Function, tuple)) for a in attrs.values()):
            attrs = Attrs({k: attr(a) for k, a in attrs.items()})
        loc = n.loc if locs is None else locs.get(n.loc, n.loc)
        nodes.append(Node(n.op, tuple(val(v) for v in n.inputs), attrs,
                          tuple(val(v) for v in n.outputs), loc))
    return Function(fn.name, tuple(val(p) for p in fn.params), tuple(nodes),
                    tuple(val(r) for r in fn.results))


def canonical_program(program: Program) -> tuple:
    """(program with its values renamed by order of appearance, the
    canonical text without locs that keys the cache; ir.canonical_text): a
    model's `dense_3/kernel` and an identical model's `dense/kernel` become
    the same name, so identical models share cache entries. Compilation
    works on this program; the caller's names map to it by position."""
    names: dict = {}
    text = canonical_print(program.fn, locs=False, names=names)
    fn = _rewritten(program.fn, names=names)
    new = {p.name: c.name for p, c in zip(program.fn.params, fn.params)}
    return Program(fn, tuple(new[n] for n in program.state),
                   tuple(new[n] for n in program.inputs),
                   tuple((new[n], i) for n, i in program.updates),
                   tuple(program.outputs)), text


def _same_signature(prepared, fn) -> bool:
    return (prepared.name == fn.name
            and [(p.name, p.type) for p in prepared.params]
            == [(p.name, p.type) for p in fn.params]
            and prepared.result_types == fn.result_types)


# prepared programs of this process by cache key (Functions are immutable,
# so identical models share one): no parse or verify for them
_MEMO: collections.OrderedDict = collections.OrderedDict()
_MEMO_SIZE = 64
LOCS = ".locs"  # beside a prepared entry: the locs of the program it came from


def _node_locs(fn) -> list:
    """The locs of fn's nodes, nested functions' included, in order."""
    out = []
    for n in fn.nodes:
        out.append(n.loc)
        for a in n.attrs.values():
            for f in (a if isinstance(a, tuple) else (a,)):
                if isinstance(f, Function):
                    out.extend(_node_locs(f))
    return out


def _own_locs(got: tuple, fn):
    """got's prepared program with the locs (layer names) of fn: a program
    shared by identical models was prepared from the first one, whose layers
    may be named `dense_3` where fn's are `dense`; profiles, dumps and
    errors must name the caller's layers. The two programs have the same
    canonical text, so their nodes pair up in order."""
    prepared, text, source = got
    if source is None:
        return prepared, text
    mine = _node_locs(fn)
    if len(mine) != len(source) or mine == source:
        return prepared, text
    locs: dict = {}
    for old, new in zip(source, mine):
        locs.setdefault(old, new)
    return _rewritten(prepared, locs=locs), text


def _prepared(fn, used: tuple, text: str):
    """(prepared Function, its text without locs): passes.compile_pipeline's
    result for fn (whose canonical text is `text`), from this process's
    memo or the compile cache when this program was prepared before (keyed
    by that text, the results written and the package's source), so a warm
    start parses one text instead of running the passes. A cached program
    is used only if it parses, verifies and has fn's signature; anything
    else is rebuilt (and overwritten). Either way its locs are fn's."""
    key = cache.make_key("prepared", source_digest(), text, repr(tuple(used)))
    got = _MEMO.get(key)
    if got is not None and _same_signature(got[0], fn):
        _MEMO.move_to_end(key)
        return _own_locs(got, fn)
    got = None
    hit = cache.load(key, PREPARED)
    if hit is not None:
        try:
            prepared = parse(hit.decode())
            verify(prepared)
            if _same_signature(prepared, fn):
                source = cache.load(key, LOCS)
                source = (json.loads(source.decode()) if source is not None
                          else None)
                if not isinstance(source, list):
                    source = None
                got = (prepared, canonical_text(hit.decode(), locs=False),
                       source)
        except (ValueError, ParseError, VerifyError, IRTypeError,
                UnicodeDecodeError, RecursionError, KeyError, TypeError):
            pass  # a bad entry is rebuilt, never trusted
    if got is None:
        prepared = prepare_for_codegen(fn, used)
        out = print_function(prepared)
        source = _node_locs(fn)
        cache.store(key, out.encode(), PREPARED)
        cache.store(key, json.dumps(source).encode(), LOCS)
        got = prepared, canonical_print(prepared, locs=False), source
    _MEMO[key] = got
    while len(_MEMO) > _MEMO_SIZE:
        _MEMO.popitem(last=False)
    return _own_locs(got, fn)


_LIVE: weakref.WeakSet = weakref.WeakSet()  # every CompiledExecutable


def _reset_locks_after_fork() -> None:
    """A child forked while another thread of the parent was inside a step
    would inherit that step's lock held, by a thread it does not have, and
    hang on its first call: give every executable a fresh lock."""
    for exe in list(_LIVE):
        exe._lock = threading.RLock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_reset_locks_after_fork)


def work_model(layout):
    """env -> estimated floating-point operations of one step
    (profile.kernel_flops of every kernel)."""
    from .profile import kernel_flops

    kernels = list(layout.kernels)
    return lambda env: sum(kernel_flops(n, env) for n in kernels)


def weight_bytes(layout) -> int:
    """Bytes of the fixed-size operands (no batch symbol: weights) of the
    step's products, each counted once."""
    seen, total = set(), 0
    for k in layout.kernels:
        if k.op != "matmul" and not (k.op == "fused" and any(
                n.op == "matmul" for n in k.attrs["body"].nodes)):
            continue
        for v in k.inputs:
            if v.name in seen or any(is_symbol(d) for d in v.shape):
                continue
            seen.add(v.name)
            total += v.type.num_elements({}) * v.dtype.itemsize
    return total


def _data_offset():
    """The offset of the data pointer in an ndarray object (NumPy's C
    struct, PyArrayObject_fields: the object header, then `char *data`;
    what PyArray_DATA reads, fixed by NumPy's ABI), found and checked on
    arrays here; None if no offset checks out (another layout)."""
    probes = [np.arange(n, dtype=np.float32)[1:] for n in (3, 17, 4096)]
    probes.append(np.zeros((2, 3), np.int64).T)
    for off in range(8, 129, 8):
        if all(ctypes.c_void_p.from_address(id(p) + off).value
               == p.__array_interface__["data"][0] for p in probes):
            return off
    return None


_DATA_OFFSET = _data_offset()
_copy = np.ndarray.copy
_from_address = ctypes.c_void_p.from_address


def _addr(a: np.ndarray) -> int:
    """The address of an ndarray's first element (any ndarray: a subclass's
    object starts with the same struct). ~0.15 us through the object's
    data pointer, against ~0.35 (from_buffer) or ~1 us (.ctypes.data)."""
    if _DATA_OFFSET is not None:
        return _from_address(id(a) + _DATA_OFFSET).value or 0
    try:
        return ctypes.addressof(ctypes.c_char.from_buffer(a))
    except (TypeError, ValueError):  # read-only or empty
        return a.ctypes.data


class CompiledExecutable(Executable):
    def __init__(self, program: Program, store: StateStore, *,
                 threads: int | None = None):
        self.program = program
        self.store = store
        t0 = time.perf_counter()
        used = tuple(program.outputs) + tuple(i for _, i in program.updates)
        canon, canon_text = canonical_program(program)
        self.fn, text = _prepared(canon.fn, used, canon_text)
        self.layout = plan_storage(self.fn, canon.state, canon.inputs,
                                   canon.updates, canon.outputs)
        self.native_layout = nl = native_layout(self.fn, self.layout)
        key = cache_key(text, self.layout.describe())
        name = f"{program.fn.name}-{key[:12]}"
        self.native, self.cache_hit = load_or_compile(
            key, lambda: compile_modules_of(self.fn, self.layout, name), name,
            required_libraries(self.layout),
            describe=KernelNames(self.fn, self.layout))
        self.compile_seconds = time.perf_counter() - t0
        self._check_symbols()
        st = self.layout.storages
        self._input_slots = [nl.storage_slots[st[self.layout.value_storage[n]].id]
                             for n in canon.inputs]
        # (the StateStore's name, the slot of its canonical name)
        self._state_slots = [(n, nl.storage_slots[self.layout.value_storage[c]])
                             for n, c in zip(program.state, canon.state)]
        self._outputs = []  # (slot, result Value) per returned output
        for j, i in enumerate(program.outputs):
            v = self.fn.results[i]
            self._outputs.append((nl.storage_slots[self.layout.value_storage[v.name]],
                                  v))
        self._arena_ids = [s.id for s in st if s.kind == "arena"]
        self._in_specs = [(p.name, p.type.dtype.np, tuple(p.type.shape), str(p.type))
                          for p in program.input_params]
        self._out_specs = [(slot, tuple(v.type.shape), v.type.dtype.np)
                           for slot, v in self._outputs]
        self._sym_index = {s: k for k, s in enumerate(nl.symbols)}
        self._block = (ctypes.c_int64 * nl.nslots)()
        # one step at a time: the slot table, arena and state are shared
        # (a forked child gets a fresh lock: _reset_locks_after_fork)
        self._lock = threading.RLock()
        _LIVE.add(self)
        self._block_addr = ctypes.addressof(self._block)
        self.native.bind(self._block_addr)
        self._call1 = self.native.call  # the step on this thread alone
        self._store_version = None
        self._state_env: dict = {}
        self._planned_env: dict | None = None
        self._arena = None
        self.max_threads = threads or default_threads()
        self._fixed_threads = threads  # None: decide per batch size
        self._env = None  # the sizes the thread count and workspace are for
        self._nthreads = 1
        # the fast path of calls like the last one, when every input was an
        # ndarray (_prepare_fast): the next call with the same shapes and
        # dtypes skips binding
        self._fast = None
        # run1's view of _fast for one input whose outputs are kept:
        # (shape, dtype, slot, the kept buffers); None with _fast or else
        self._fast1 = None
        self._workspace = None
        self._workspace_threads = 0
        self._workspace_per = 0
        self._ensure_workspace(1, {})
        self._pool = None  # the thread pool this executable's slots name
        # untimed steps the chooser granted at the count _lease_n
        # (ThreadChooser.lease): no pick() per step in the steady state
        self._lease = 0
        self._lease_n = 1
        self._ctl = np.zeros(CTL_WORDS, np.int64)  # until the pool exists
        self._block[nl.threads_slot] = _addr(self._ctl)
        # the schedule block: two counters per unit, each on its own line
        self._sched = aligned_empty((16 * (nl.nunits + 1),), np.int64)
        self._sched[:] = 0
        self._block[nl.sched_slot] = _addr(self._sched)
        self._epoch = 0  # raised every step (codegen/work_sharing.py)
        self._work = work_model(self.layout)
        self._weight_bytes = weight_bytes(self.layout)
        self._threads_cache: dict = {}
        self._choosers: dict = {}  # sizes -> ThreadChooser (runtime/adaptive.py)
        self._chooser = None  # the current sizes' chooser, None: fixed count
        self.adaptive = True  # False: no timing, always the decided count
        self.memory_plan = None
        self._held = None  # the layout the arena is planned from

    # --- checks ----------------------------------------------------------------

    def _check_symbols(self) -> None:
        bound = set()
        for p in self.program.fn.params:
            bound.update(d for d in p.type.shape if is_symbol(d))
        missing = [s for s in self.native_layout.symbols if s not in bound]
        if missing:
            raise ValueError(
                f"Cannot compile @{self.program.fn.name}: the dimension(s) "
                f"{', '.join(missing)} appear in the program but in no "
                "parameter's shape, so no input can give their size.")

    def _refresh_state(self) -> None:
        """Validate the state buffers and take their addresses (again after
        the StateStore changed)."""
        self._fast = self._fast1 = None
        env: dict = {}
        for name, slot in self._state_slots:
            if name not in self.store:
                raise ValueError(
                    f'State "{name}" of program @{self.program.fn.name} is not '
                    "defined in the StateStore.")
            a = self.store[name]
            t = self.program.param(name).type
            if a.dtype != t.dtype.np:
                raise ValueError(
                    f'State "{name}" must have dtype {t.dtype.long_name}, '
                    f"the StateStore holds {a.dtype}.")
            if a.ndim != t.rank or any(
                    (d != n) if not is_symbol(d) else (env.setdefault(d, n) != n)
                    for d, n in zip(t.shape, a.shape)):
                raise ValueError(
                    f'State "{name}" must have shape {t}, the StateStore holds '
                    f"{a.shape}.")
            if not a.flags.c_contiguous or not a.flags.writeable:
                raise ValueError(
                    f'State "{name}" must be a writable C-contiguous array.')
            self._block[slot] = _addr(a)
        self._state_env = env
        self._store_version = self.store.version

    def _bind(self, inputs: Sequence, env: dict) -> list:
        specs = self._in_specs
        if len(inputs) != len(specs):
            raise ValueError(
                f"Expected {len(specs)} input arrays "
                f"({', '.join(sp[0] for sp in specs)}), received {len(inputs)}.")
        out = []
        for (name, dt, shape, shown), a in zip(specs, inputs):
            if type(a) is not np.ndarray:
                a = np.asarray(a)
            if a.dtype != dt:
                raise ValueError(
                    f'Input "{name}" must have dtype {dt.name}, '
                    f"received {a.dtype}.")
            ashape = a.shape
            if len(ashape) != len(shape):
                raise ValueError(
                    f'Input "{name}" must have shape {shown}, received {ashape}.')
            for d, n in zip(shape, ashape):
                if d.__class__ is str:
                    if env.setdefault(d, n) != n:
                        raise ValueError(
                            f'Input "{name}" has {d}={n} (shape {ashape}), but '
                            f"another input set {d}={env[d]}.")
                elif d != n:
                    raise ValueError(
                        f'Input "{name}" must have shape {shown}, received {ashape}.')
            if not a.flags.c_contiguous:
                raise ValueError(
                    f'Input "{name}" must be C-contiguous (row-major, no gaps); '
                    f"received an array with strides {a.strides}. Pass "
                    "np.ascontiguousarray(...) instead.")
            out.append(a)
        return out

    # --- memory ------------------------------------------------------------------

    def _ensure_arena(self, env: dict) -> None:
        if self._planned_env is not None and all(
                env.get(s, 0) <= self._planned_env.get(s, 0) for s in env):
            return
        big = dict(env)
        if self._planned_env:
            for s, n in self._planned_env.items():
                big[s] = max(n, big.get(s, 0))
        # storages live to the end of their span: threads run a span's
        # units at once (codegen/step_module.held_layout)
        if self._held is None:
            self._held = held_layout(self.layout)
        plan = plan_offsets(self._held, big)
        sizes = ", ".join(f"batch size {n}" if s == "N" else f"{s}={n}"
                          for s, n in sorted(big.items()))
        check_fits(plan.arena_bytes, f"The compiled "
                   f"{self.program.fn.name.replace('_', ' ')} at {sizes}",
                   "Use a smaller batch_size (or fewer samples per call).")
        arena = aligned_empty((max(plan.arena_bytes, 64),), np.uint8)
        base = _addr(arena)
        slots = self.native_layout.storage_slots
        for sid in self._arena_ids:
            self._block[slots[sid]] = base + plan.offsets.get(sid, 0)
        self._arena = arena
        self._planned_env = big
        self.memory_plan = plan

    # --- running -----------------------------------------------------------------

    def _prepare(self, inputs, block, base: int):
        env = dict(self._state_env)
        arrays = self._bind(inputs, env)
        for s, k in self._sym_index.items():
            block[base + k] = env[s]
        for slot, a in zip(self._input_slots, arrays):
            block[base + slot] = _addr(a)
        outs = []
        for slot, shape, dt in self._out_specs:
            o = np.empty(tuple(env[d] if d.__class__ is str else d for d in shape),
                         dt)
            block[base + slot] = _addr(o)
            outs.append(o)
        # NOTE: the caller keeps `arrays` alive until the native call is over
        # (np.asarray may have made temporaries whose addresses are in block)
        return env, outs, arrays

    def run(self, inputs: Sequence[np.ndarray]) -> list:
        lock = self._lock
        lock.acquire()
        try:
            f = self._fast
            if (f is not None and f[1] is not None
                    and self._store_version == self.store.version
                    and len(inputs) == len(f[0])):
                # the shapes and dtypes of the last call again, outputs
                # kept: only addresses to write (each array still checked:
                # an ndarray of the same shape and dtype, C-contiguous)
                block = self._block
                for a, (shape, dt, slot) in zip(inputs, f[0]):
                    if (a.__class__ is not np.ndarray or a.shape != shape
                            or a.dtype is not dt
                            or not a.flags.c_contiguous):
                        break
                    block[slot] = (
                        _from_address(id(a) + _DATA_OFFSET).value or 0
                        if _DATA_OFFSET is not None else _addr(a))
                else:
                    if self._nthreads == 1:
                        self._call1()
                    else:
                        self._step()
                    bufs = f[2]
                    if len(bufs) == 1:
                        return [bufs[0].copy()]
                    return list(map(_copy, bufs))
            return self._run(inputs)
        finally:
            lock.release()

    def run1(self, x) -> list:
        """`run([x])`, cheaper: the latency path of predict_on_batch (W4
        at batch 1): `run1_fast`, else `run`'s checks and binding."""
        out = self.run1_fast(x)
        if out is None:
            with self._lock:
                return self._run((x,))
        return out

    def run1_fast(self, x) -> list | None:
        """The step on x when x is like the last call's single input (an
        ndarray of its shape and dtype, C-contiguous, with the same state
        buffers): x's address is written, the step runs and the kept
        outputs come back as copies; None (nothing run) for anything
        else, which the caller hands to `run`."""
        # (spelled out for speed: ~1.2 us of Python around the native call)
        lock = self._lock
        lock.acquire()
        try:
            f = self._fast1
            if (f is not None and x.__class__ is np.ndarray
                    and x.shape == f[0] and x.dtype is f[1]
                    and x.flags.c_contiguous
                    and self._store_version == self.store.version):
                self._block[f[2]] = (
                    _from_address(id(x) + _DATA_OFFSET).value or 0
                    if _DATA_OFFSET is not None else _addr(x))
                if self._nthreads == 1:
                    self._call1()
                else:
                    self._step()
                bufs = f[3]
                if len(bufs) == 1:
                    return [bufs[0].copy()]
                return list(map(_copy, bufs))
            return None
        finally:
            lock.release()

    def _run(self, inputs: Sequence[np.ndarray]) -> list:
        if self._store_version != self.store.version:
            self._refresh_state()
        f = self._fast
        if f is not None and len(inputs) == len(f[0]):
            # the shapes and dtypes of the last call again: nothing to bind
            # but addresses (each array is still checked: an ndarray of the
            # same shape and dtype, C-contiguous; the addresses of those
            # before a refused one are rewritten by the binding below)
            block = self._block
            for a, (shape, dt, slot) in zip(inputs, f[0]):
                if (a.__class__ is not np.ndarray or a.shape != shape
                        or a.dtype is not dt or not a.flags.c_contiguous):
                    break
                block[slot] = _addr(a)
            else:
                return self._run_fast(f)
        # NOTE: the slot table gets this call's sizes: the last call's
        # fast path is void until this one sets it again (a call with
        # other sizes that is not all ndarrays sets none)
        self._fast = self._fast1 = None
        env, outs, arrays = self._prepare(inputs, self._block, 0)
        if env != self._env:
            self._setup(env)
        self._step()
        if all(a.__class__ is np.ndarray for a in inputs):
            self._prepare_fast(arrays, outs)
        del arrays
        return outs

    def _prepare_fast(self, arrays, outs) -> None:
        """The fast path for calls like this one (after a checked call with
        `arrays`, which gave `outs`): per input its shape, dtype and slot;
        the outputs either kept (small ones: buffers that stay in the slot
        table, returned as copies; a copy costs less than allocating and
        addressing a new array) or allocated per call.

        NOTE: while a fast path with kept outputs is set, the output slots
        hold the kept buffers' addresses (written here, once): whatever
        writes other addresses there voids the fast path first."""
        ins = tuple((a.shape, a.dtype, slot)
                    for a, slot in zip(arrays, self._input_slots))
        slots = tuple(slot for slot, _, _ in self._out_specs)
        if sum(o.nbytes for o in outs) <= FAST_OUTPUT_BYTES:
            bufs = tuple(aligned_empty(o.shape, o.dtype) for o in outs)
            kept = tuple((slot, _addr(o)) for slot, o in zip(slots, bufs))
            for slot, addr in kept:
                self._block[slot] = addr
            self._fast = (ins, kept, bufs)
            if len(ins) == 1:
                self._fast1 = (*ins[0], bufs)
        else:
            self._fast = (ins, None, tuple((slot, o.shape, o.dtype)
                                           for slot, o in zip(slots, outs)))

    def _run_fast(self, f) -> list:
        """The step on the fast path `f` (inputs' addresses written)."""
        block = self._block
        if f[1] is not None:  # kept outputs (in the slot table): copies
            self._step()
            return list(map(_copy, f[2]))
        outs = []
        for slot, shape, dt in f[2]:
            o = np.empty(shape, dt)
            block[slot] = _addr(o)
            outs.append(o)
        self._step()
        return outs

    def _step(self) -> None:
        if self._nthreads == 1:
            self._call1()
            return
        if self._lease:  # the chooser's steady state: no pick per step
            self._lease -= 1
            self._step_on(self._lease_n)
            return
        chooser = self._chooser
        if chooser is None:
            self._step_on(self._nthreads)
            return
        n = chooser.pick()
        if not chooser.timed:
            self._step_on(n)
            self._lease_n, self._lease = chooser.lease()
            return
        t0 = time.perf_counter()
        self._step_on(n)
        chooser.report(n, time.perf_counter() - t0)

    def _step_on(self, n: int) -> None:
        """One step (gk_step) on n threads: one thread through gk_call(),
        several through gk_call_threads(n) (one ctypes argument) when the
        pool the slot table names is the current one, else through _call
        (which sets the pool up, wakes parked workers, or runs the step
        alone when the pool is busy or closed)."""
        if n == 1:
            self._call1()
            return
        self._epoch += 1
        self._block[self.native_layout.epoch_slot] = self._epoch
        pool = self._pool
        if (pool is not None and pool is _thread_pool._POOL
                and n <= pool.size and not pool._closed):
            # the pool is set up: one native call launches the step on
            # the bound slot table (0), or finds the pool busy (-1: this
            # step runs alone) or a worker parked (-2: _call wakes it)
            got = self.native.call_threads(n)
            if got == 0:
                pool.count_job()
                return
            if got == -1:
                self._call1()
                return
        self._call(0, self._block_addr, 1, 0, n)

    @property
    def fixed_threads(self) -> int | None:
        """Threads every step uses (None: all cores, or one for steps of
        less than MIN_PARALLEL_WORK operations)."""
        return self._fixed_threads

    @fixed_threads.setter
    def fixed_threads(self, n: int | None) -> None:
        self._fixed_threads = n
        self._env = None
        self._fast = self._fast1 = None
        self._lease = 0

    def _setup(self, env: dict) -> None:
        """Per batch size: the arena, the thread count, the workspace."""
        if env != self._planned_env:
            with collection_paused():  # a deep model's plan: many objects
                self._ensure_arena(env)
        self._nthreads = self._threads_for(env)
        self._chooser = None
        self._lease = 0
        if self._nthreads > 1 and not self.fixed_threads and self.adaptive:
            key = tuple(sorted(env.items()))
            self._chooser = self._choosers.get(key)
            if self._chooser is None:
                self._chooser = self._choosers[key] = ThreadChooser(
                    self._nthreads)
        self._ensure_workspace(self._nthreads, env)
        self._env = env

    def _ensure_workspace(self, nthreads: int, env: dict) -> None:
        """One GEMM workspace slice per thread (pages are touched only when
        used), after a header holding the slice size (codegen reads it);
        grown when more threads or larger slices are needed."""
        nl = self.native_layout
        per = max(nl.workspace_per_thread(env), self._workspace_per)
        if nthreads <= self._workspace_threads and per <= self._workspace_per:
            return
        nthreads = max(nthreads, self._workspace_threads)
        ws = aligned_empty((WORKSPACE_HEADER + per * nthreads,), np.uint8)
        ws[:8].view(np.int64)[0] = per
        self._workspace = ws
        self._workspace_threads = nthreads
        self._workspace_per = per
        self._block[nl.workspace_slot] = _addr(ws)

    @staticmethod
    def _set_every_step(blocks, k, stride, slot, value) -> None:
        for i in range(k):
            ctypes.c_int64.from_address(blocks + 8 * (i * stride + slot)).value = \
                value

    def _threads_for(self, env: dict) -> int:
        key = tuple(sorted(env.items()))
        if self.fixed_threads:
            return self.fixed_threads
        n = self._threads_cache.get(key)
        if n is None:
            n = self.max_threads
            if n > 1 and self._work(env) < MIN_PARALLEL_WORK and \
                    self._weight_bytes < MIN_PARALLEL_BYTES:
                n = 1
            self._threads_cache[key] = n
        return n

    def _call(self, kind: int, blocks: int, k: int, stride: int,
              nthreads: int) -> None:
        """Run the native entry (kind 0: gk_step, 1: gk_steps) on up to
        nthreads threads (the calling thread is thread 0); the workspace
        is sized for nthreads (_setup)."""
        if nthreads > 1:
            pool = thread_pool(nthreads)
            if pool is not self._pool:  # (a new pool: the first call, or
                self._pool = pool       # one recreated larger)
                pool.keep(self, self.native)
                self._block[self.native_layout.threads_slot] = pool.ctl_addr
            if kind == 1:  # every step's slot table names the pool
                self._set_every_step(blocks, k, stride,
                                     self.native_layout.threads_slot,
                                     pool.ctl_addr)
            entry = (self.native.step_address if kind == 0
                     else self.native.steps_address)
            # (a job is over when launch returns: no worker is inside its
            # entry; the pool keeps the module while workers may still
            # read the job's fields, `keep` above)
            if pool.launch(entry, kind, blocks, k, stride, nthreads):
                return
        if kind == 0:
            self.native.step(0, 1, blocks)
        else:
            self.native.steps(0, 1, blocks, k, stride)

    def profile(self, inputs: Sequence[np.ndarray], repeats: int = 20):
        """Run the step `repeats` times and time every kernel with the CPU
        cycle counter (thread 0's view: with several threads a kernel's
        time includes waiting at the barrier after it). Returns a
        runtime.profile.Profile: per kernel the median and the fastest
        time, its floating-point operations, GFLOP/s and % of the
        machine's peak (`.table()` prints it). State updates of the runs
        are undone, so profiling changes nothing."""
        from .profile import profile_executable

        with self._lock:
            saved = {n: np.array(self.store[n]) for n in self.program.state}
            adaptive, self.adaptive = self.adaptive, False
            self._env = self._fast = self._fast1 = self._chooser = None
            self._lease = 0
            try:
                return profile_executable(self, inputs, repeats)
            finally:
                for n, a in saved.items():
                    self.store[n][...] = a
                self.adaptive = adaptive
                self._env = self._fast = self._fast1 = self._chooser = None
                self._lease = 0

    def run_steps(self, batches: Sequence[Sequence[np.ndarray]]) -> list:
        with self._lock:
            return self._run_steps(batches)

    def _run_steps(self, batches: Sequence[Sequence[np.ndarray]]) -> list:
        if self._store_version != self.store.version:
            self._refresh_state()
        # the slot table will hold another step's sizes
        self._fast = self._fast1 = None
        k = len(batches)
        if k == 0:
            return []
        n = self.native_layout.nslots
        blocks = (ctypes.c_int64 * (n * k))()
        envs, all_outs, keep = [], [], []
        for i, inputs in enumerate(batches):
            try:
                env, outs, arrays = self._prepare(inputs, self._block, 0)
            except ValueError as e:
                raise ValueError(f"Step {i} of {k}: {e}") from None
            envs.append(env)
            all_outs.append(outs)
            keep.append(arrays)
            ctypes.memmove(ctypes.addressof(blocks) + 8 * n * i, self._block_addr,
                           8 * n)
        big: dict = {}
        for env in envs:
            for s, v in env.items():
                big[s] = max(v, big.get(s, 0))
        self._setup(big)
        slots = self.native_layout.storage_slots
        ws_slot = self.native_layout.workspace_slot
        ep_slot = self.native_layout.epoch_slot
        for i in range(k):
            for sid in self._arena_ids:
                blocks[n * i + slots[sid]] = self._block[slots[sid]]
            blocks[n * i + ws_slot] = self._block[ws_slot]
            blocks[n * i + ep_slot] = self._epoch + 1 + i
        self._epoch += k
        chooser = self._chooser
        nth = chooser.pick() if chooser is not None else self._nthreads
        t0 = time.perf_counter()
        self._call(1, ctypes.addressof(blocks), k, n, nth)
        if chooser is not None and chooser.timed:
            chooser.report(nth, (time.perf_counter() - t0) / k)
        del keep
        return all_outs
