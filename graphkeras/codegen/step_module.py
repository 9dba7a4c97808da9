"""Lowering a prepared program (fused Function + storage layout) to LLVM:
one module per distinct kernel (its function and entry, named after the
hash of the module's text, so that the same kernel in any program is the
same module and its object code is cached by content: build_parts), and
the step module (tables, step body, native entry points), the only one
that names the program's slots. `graphkeras dump --stage llvm` prints
these modules as compiling makes them.

Native ABI (all integers are int64, all pointers 64-bit):

    void gk_step(i64 tid, i64 nthreads, i64 *argblock)
    void gk_steps(i64 tid, i64 nthreads, i64 *argblocks, i64 k, i64 stride)

`argblock` is the slot table of `NativeLayout`: first the value of every
shape symbol (sorted by name), then the address of every storage (inputs,
state, outputs, arena storages), then the workspace address (a 64-byte
header holding the size of one thread's slice, then one slice per
thread), the thread pool's control block, the schedule block and the
step's epoch (codegen/work_sharing.py), and the profile buffer's address (0:
not profiling; else the cycles of kernel t are added to profile[t + 1],
the step's to profile[0]). `gk_steps` runs `k` steps whose slot tables lie `stride`
slots apart. Each entry saves MXCSR, sets FTZ|DAZ, runs, and restores the
caller's MXCSR, so denormal flushing never leaks into NumPy on the same
thread.

Threads: all `nthreads` threads run the same entry (runtime/thread_pool.py).
The kernels form units (`schedule`): a threaded kernel (its kind's
`Lowering.threaded`, codegen/lowering.py) alone is
cut into nthreads x CHUNKS_PER_THREAD chunks (or x the pool's ctl word
CHUNKS_WORD: the runtime's choice by load), called as (chunk, chunks)
and splitting its work accordingly (loops by ranges, products by panels);
any other kernel, and each run of small kernels (a model's softmax, loss,
metric and bias-update kernels: few elements per batch row), is one chunk
called with (0, 1). Threads take chunks from the unit's counter as they
come (codegen/work_sharing.py), so a thread kept off its core by another
process holds up at most one chunk; before a unit that reads what earlier
ones write, or writes what they read (`barriers_needed`), they wait
until those are done, and each leaves the step when every unit is. The
units between two such waits (a span) run at once, so the runtime plans
the arena from `held_layout`: a storage that dies inside a span stays
allocated to its end, and the arena's reuse never needs a wait. With
one thread the kernels run in order, whole. Every element is computed within one chunk in an order that
does not depend on which thread runs it, so results are identical run to
run (and between thread counts for the kernels here).

Invariant: every kernel's pointer arguments are distinct storages, which
never overlap (plan_memory), so they are marked `noalias`.
"""

from __future__ import annotations

import dataclasses
import hashlib
import re
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np
from llvmlite import ir

from ..ir import Function
from ..ir.plan import StorageLayout
from ..ir.types import is_symbol
from .dispatch import CHUNKS_PER_THREAD, ENTRY_FN, emit_body, kernel_entry  # noqa: F401
from .jit import CODEGEN_VERSION, threads_library  # noqa: F401
from .extents import runtime_extents
from .kernel_function import emit_kernel, program_symbols
from .lowering import has_lowering, lowering, threaded
from .matmul import library_modules, workspace_bytes
from .scalar import I8, I32, I64, PTR, VOID, alloca, intrinsic, mem_type
from .target import host



@dataclass(frozen=True)
class NativeLayout:
    symbols: tuple  # symbol names, slot k holds the value of symbols[k]
    storage_slots: dict  # storage id -> slot
    workspace_slot: int
    workspace_bytes: int  # GEMM workspace of one thread
    nslots: int
    # TILE-mode products (one K block): (dtype, K as an int or a symbol);
    # their workspace grows with K (matmul.workspace_bytes)
    tile_products: tuple = ()
    nunits: int = 0  # units of the schedule (the schedule block's size)

    def workspace_per_thread(self, env: dict) -> int:
        """Bytes of one thread's workspace slice at symbol sizes env."""
        vb = host().vector_bytes
        n = self.workspace_bytes
        for dt, k in self.tile_products:
            kk = env.get(k, 0) if is_symbol(k) else k
            n = max(n, workspace_bytes(dt, vb, kk))
        return (n + 63) // 64 * 64

    @property
    def threads_slot(self) -> int:
        """The slot of the thread pool's control block."""
        return self.workspace_slot + 1

    @property
    def sched_slot(self) -> int:
        """The slot of the schedule block: 16 words per unit (its next and
        done counters on their own cache lines; codegen/work_sharing.py)."""
        return self.workspace_slot + 2

    @property
    def epoch_slot(self) -> int:
        """The slot of the step's epoch (raised by the runtime each step)."""
        return self.workspace_slot + 3

    @property
    def profile_slot(self) -> int:
        return self.nslots - 1


def required_libraries(layout: StorageLayout) -> list:
    """(name, builder) of the library objects the program's kernels call
    (GEMM drivers and micro-kernels), in a stable order."""
    from .jit import threads_library
    from .matmul import library_modules

    name, build = threads_library()
    out: dict = {name: build}
    for n, _ in _matmuls(layout):
        for name, build in library_modules(n.outputs[0].dtype,
                                           n.attrs["transpose_a"],
                                           n.attrs["transpose_b"],
                                           host().vector_bytes):
            out.setdefault(name, build)
    for n in _kernels_and_bodies(layout):  # each kind's own (conv.py)
        for name, build in lowering(n).libraries(n):
            out.setdefault(name, build)
    return sorted(out.items())


def _kernels_and_bodies(layout: StorageLayout):
    """The program's kernel nodes and, recursively, the kernels of their
    scan bodies (a TimeDistributed convolution runs inside a scan): what
    calls libraries and takes workspace."""
    def walk(n):
        yield n
        if n.op == "scan":
            for m in n.attrs["body"].nodes:
                if has_lowering(m.op):
                    yield from walk(m)

    for n in layout.kernels:
        yield from walk(n)


def native_layout(fn: Function, layout: StorageLayout) -> NativeLayout:
    syms = program_symbols(fn)
    slots = {}
    k = len(syms)
    for s in layout.storages:
        if s.kind in ("input", "state", "output", "arena"):
            slots[s.id] = k
            k += 1
    ws = 0
    vb = host().vector_bytes
    tiles = []
    for n, tile in _matmuls(layout):
        dt = n.outputs[0].dtype
        ws = max(ws, workspace_bytes(dt, vb))
        if tile:
            a = n.inputs[0]
            tiles.append((dt, a.shape[-2] if n.attrs["transpose_a"]
                          else a.shape[-1]))
    nunits = len(schedule(layout)) + (1 if layout.end_copies else 0)
    for n in _kernels_and_bodies(layout):  # each kind's own per thread
        ws = max(ws, lowering(n).workspace_bytes(n, vb))
    return NativeLayout(syms, slots, k, ws, k + 5, tuple(tiles), nunits)


def _matmuls(layout: StorageLayout) -> list:
    """(matmul node, runs in TILE mode) of every product the program's
    kernels compute: kernels of their own, the products of fused epilogue
    kernels (TILE mode), and those inside scan bodies."""
    from .scan import nested_matmuls

    out = []
    for k in layout.kernels:
        if k.op == "matmul":
            out.append((k, False))
        elif k.op == "fused":
            out.extend((m, True) for m in k.attrs["body"].nodes
                       if m.op == "matmul")
        out.extend((m, False) for m in nested_matmuls(k))
    return out


class _Consts:
    """Module globals for constant arrays, one per distinct value."""

    def __init__(self, module: ir.Module):
        self.module = module
        self.map: dict = {}

    def __call__(self, c):
        g = self.map.get(c)
        if g is None:
            raw = bytearray(np.ascontiguousarray(c.array).tobytes()) or bytearray(1)
            # NOTE: named by content, so that a kernel's text says what it
            # reads in every module (identical kernels are found by text)
            name = "gk_const_" + hashlib.sha1(raw).hexdigest()[:20]
            g = self.module.globals.get(name)
            if g is not None:
                self.map[c] = g
                return g
            g = ir.GlobalVariable(self.module, ir.ArrayType(I8, len(raw)),
                                  name)
            g.initializer = ir.Constant(ir.ArrayType(I8, len(raw)), raw)
            g.global_constant = True
            g.linkage = "private"
            g.align = 64
            self.map[c] = g
        return g


def small_kernels(layout: StorageLayout) -> list:
    """small[t]: kernel t touches few elements per batch row (at most
    SMALL_ROW, and SMALL_FIXED besides): the softmax / loss / metric /
    bias-update kernels of a model's head, scalar bookkeeping. A run of
    them is one unit that one thread executes whole, with no wait between
    (waiting costs more than such a kernel)."""
    def elements(node, env):
        read = () if node.op == "dim_size" else node.inputs  # a shape only
        return sum(v.type.num_elements(env) for v in (*read, *node.outputs))

    out = []
    for node in layout.kernels:
        if not lowering(node).threaded:
            out.append(False)  # thread 0 alone anyway
            continue
        syms = {d for v in (*node.inputs, *node.outputs) for d in v.shape
                if is_symbol(d)}
        one = elements(node, dict.fromkeys(syms, 1))
        two = elements(node, dict.fromkeys(syms, 2))
        out.append(two - one <= SMALL_ROW and 2 * one - two <= SMALL_FIXED)
    return out


SMALL_ROW, SMALL_FIXED = 1024, 65536


def schedule(layout: StorageLayout) -> list:
    """The kernels in units: [(kernel indices, sequential)], a unit of
    several small kernels running on one thread (small_kernels)."""
    small = small_kernels(layout)
    units: list = []
    for t, sm in enumerate(small):
        if sm and units and units[-1][1] and small[units[-1][0][-1]]:
            units[-1][0].append(t)
        else:
            units.append(([t], sm))
    return [(ks, seq and len(ks) > 1) for ks, seq in units]


def barriers_needed(layout: StorageLayout, units=None) -> list:
    """needs[u]: whether threads must meet before unit u (schedule()). A
    unit may start while others still run the units since the last barrier
    (its span) when it reads nothing they write and writes nothing they
    read or write. Storages that die inside a span stay allocated to its
    end (held_layout), so no unit of the span writes where another still
    reads: the arena's reuse makes no barrier."""
    vs, st = layout.value_storage, layout.storages
    if units is None:
        units = [([t], False) for t in range(len(layout.kernels))]
    needs = []
    written: set = set()
    read: set = set()
    for ks, _ in units:
        nodes = [layout.kernels[t] for t in ks]
        ins = {vs[v.name] for n in nodes for v in n.inputs
               if st[vs[v.name]].kind != "const"}
        outs = {vs[v.name] for n in nodes for v in n.outputs}
        # collectives run in program order on every rank (codegen/collective)
        ordered = any(lowering(n).ordered for n in nodes)
        need = bool(ins & written or outs & (read | written) or ordered)
        if need:
            written, read = set(), set()
        needs.append(need)
        written |= outs
        read |= ins
    return needs


def span_ends(layout: StorageLayout) -> list:
    """end[t]: the last kernel of kernel t's span, the units that may run
    at the same time (from a unit threads meet before to the next such;
    the end copies meet before they run)."""
    units = schedule(layout)
    needs = barriers_needed(layout, units)
    end = [0] * len(layout.kernels)
    group: list = []
    for (ks, _), need in [*zip(units, needs), (([], False), True)]:
        if need and group:
            for t in group:
                end[t] = group[-1]
            group = []
        group += ks
    return end


def held_layout(layout: StorageLayout) -> StorageLayout:
    """layout with each arena storage live until the end of the span it
    dies in (span_ends): what the arena must be planned from (runtime,
    plan_offsets), as threads run a span's units in any order.

    NOTE: without it a unit could write a storage placed where one that an
    earlier unit of its span reads used to be, while that unit still runs."""
    end = span_ends(layout)
    storages = []
    for s in layout.storages:
        if s.kind == "arena" and 0 <= s.last < len(end):
            last = end[max(s.last, s.first)]
            if last != s.last:
                s = dataclasses.replace(s, last=last)
        storages.append(s)
    return dataclasses.replace(layout, storages=storages)




@dataclass(frozen=True)
class Part:
    """One LLVM module of a program, as compiled on its own.

    text     the module's LLVM IR
    kernels  (t,) for a kernel module: the first kernel of the program
             computing its function (compile errors name its layer);
             () for the step module
    content  for a kernel module, the hash of its text: its function is
             named after it (`gk<content[:24]>_<label>`), so the same
             kernel in any program is the same module, whose object code
             the compile cache keeps by this hash (jit.load_or_compile);
             None for the program's own modules (entries, step)
    """

    name: str
    text: str
    kernels: tuple
    content: str | None = None


_PLACEHOLDER = "gk_this_kernel_"


def kernel_module_text(t: int, node, layout: StorageLayout, nl: NativeLayout):
    """(module text, content hash, entry name, storage ids, extent values)
    of kernel t alone in a module with its entry (dispatch.kernel_entry),
    the functions named after the hash of that text: kernels generated
    alike (same op, fusion, constants, storage pattern, shapes up to the
    sizes taken at run time: codegen/extents.py) in any program get one
    text and one name; the step's table passes each its sizes.

    A kernel whose node reads as one generated before (kernel_memo_key)
    takes that one's text without generating it again: a deep model's
    repeated blocks cost their generation once."""
    sids = kernel_storages(node, layout)
    ext = runtime_extents(node)
    # the slots of the step's table: the storages', then the extents'
    # values (dispatch.kernel_entry)
    memo = kernel_memo_key(ext.node, layout, nl, sids)
    if memo is not None and ext.note:
        memo += "\n" + ext.note
    got = _TEXTS.get(memo) if memo is not None else None
    if got is not None:
        _TEXTS.move_to_end(memo)
        return (*got, sids, ext.values)
    m = ir.Module(name="gk_kernel")
    m.triple = host().triple
    kfn, sids_, wants_ws = emit_kernel(m, t, node, layout, nl.symbols,
                                       _Consts(m), extents=ext)
    assert sids_ == sids  # noqa: S101 - kernel_storages is emit_kernel's rule
    entry = kernel_entry(m, kfn, len(sids), len(nl.symbols), wants_ws,
                         len(ext.symbols))
    entry.linkage = ""  # called from the program's step module
    # every function the kernel made is named k<t>_...: the text names
    # none of them after t
    text = str(m).replace(f'@"k{t}_', f'@"{_PLACEHOLDER}')
    content = hashlib.sha256(text.encode()).hexdigest()
    prefix = f"gk{content[:24]}_"
    text = text.replace(f'@"{_PLACEHOLDER}', f'@"{prefix}')
    got = (text, content, prefix + entry.name[len(f"k{t}_"):])
    if memo is not None:
        _TEXTS[memo] = got
        while len(_TEXTS) > _TEXTS_SIZE:
            _TEXTS.popitem(last=False)
    return (*got, sids, ext.values)


# kernel_memo_key -> (module text, content, entry name), in this process
_TEXTS: OrderedDict = OrderedDict()
_TEXTS_SIZE = 8192
_FUNC_NAME = re.compile(r"\bfunc @[\w.]+")


def kernel_storages(node, layout: StorageLayout) -> list:
    """The storage ids of the kernel's pointer arguments: the distinct
    non-constant storages it reads or writes, in first-use order (the rule
    of kernel_function.emit_kernel)."""
    vs, st = layout.value_storage, layout.storages
    sids = []
    for v in (*node.inputs, *node.outputs):
        s = st[vs[v.name]]
        if s.kind != "const" and s.id not in sids:
            sids.append(s.id)
    return sids


def kernel_memo_key(node, layout: StorageLayout, nl: NativeLayout,
                    sids: list) -> str | None:
    """A text that determines what emit_kernel generates for `node`: the
    node as IR text with its values renamed by appearance and no locs
    (op, attributes, fused body, every type), where each input and output
    lives (which pointer argument, or which constant by content), the
    program's shape symbols and the host. None for a kernel whose code
    reads more of the program (a scan reads its prepared bodies)."""
    from ..ir import canonical_print

    vs, st = layout.value_storage, layout.storages
    where = []
    for v in (*node.inputs, *node.outputs):
        s = st[vs[v.name]]
        if s.kind == "const":
            raw = np.ascontiguousarray(layout.const_values[v.name].array)
            where.append("c" + hashlib.sha1(raw.tobytes()).hexdigest()
                         + raw.dtype.str + repr(raw.shape))
        else:
            where.append(f"p{sids.index(s.id)}")
    wrapped = Function("k", tuple(dict.fromkeys(node.inputs)), (node,),
                       tuple(node.outputs))
    # (fused bodies are named after their program's values)
    text = _FUNC_NAME.sub("func @f", canonical_print(wrapped, locs=False))
    if "scan" in text:
        return None
    return "\n".join([text, " ".join(where), repr(nl.symbols),
                      host().key()])


def build_parts(fn: Function, layout: StorageLayout, name: str = "gk"):
    """The program as Parts, yielded as they are made (the caller compiles
    each while the next is built): one module per distinct kernel with its
    entry (kernels generated alike are one module, compiled once per
    program and cached across programs by content; its `kernels` name the
    first kernel computing it), then the step module (body, tables, entry
    points), which alone names the program's slots. Every module is of
    bounded size."""
    nl = native_layout(fn, layout)
    seen: set = set()
    step = ir.Module(name=name)
    step.triple = host().triple
    entries, slots = [], []
    for t, node in enumerate(layout.kernels):
        text, content, entry, sids, sizes = kernel_module_text(
            t, node, layout, nl)
        if content not in seen:
            seen.add(content)
            yield Part(f"{name}.k{t}", text, (t,), content)
        e = step.globals.get(entry)
        if e is None:
            e = ir.Function(step, ENTRY_FN, entry)
        entries.append(e)
        # the kernel's row: its storages' slots, its extents' values
        slots.append([nl.storage_slots[s] for s in sids] + list(sizes))
    _step_parts(step, nl, layout, entries, slots)
    yield Part(name, str(step), ())


def _step_parts(module, nl: NativeLayout, layout: StorageLayout,
                entries: list, slots: list) -> None:
    """The step body (loops over tables of kernel entries and units,
    codegen/dispatch.py: its size does not grow with the model) and the
    entry points, in module."""
    st = layout.storages
    units = schedule(layout)
    needs = barriers_needed(layout, units)
    splits = [len(ks) == 1 and threaded(layout.kernels[ks[0]]) and not seq
              for ks, seq in units]
    if layout.end_copies:  # the copies: one more unit, after everything
        units = [*units, ([], False)]
        needs = [*needs, True]
        splits = [*splits, False]
    copies = []
    for src, dst in layout.end_copies:
        t = st[src].type
        nbytes = t.dtype.itemsize
        sym_slots = []
        for d in t.shape:
            if is_symbol(d):
                sym_slots.append(nl.symbols.index(d))
            else:
                nbytes *= d
        copies.append((nl.storage_slots[src], nl.storage_slots[dst], nbytes,
                       sym_slots))
    body_fn = emit_body(module, nl, entries, units, needs, splits, copies,
                        slots)
    _entry_points(module, body_fn, host().is_x86, nl.threads_slot)


def compile_modules_of(fn: Function, layout: StorageLayout, name: str):
    """build_parts: the Parts jit.load_or_compile compiles."""
    return build_parts(fn, layout, name)


class KernelNames:
    """describe(t): which layer kernel t computes, for compile errors
    (jit.load_or_compile); describe.module(t): a module of kernel t alone."""

    def __init__(self, fn: Function, layout: StorageLayout):
        self.fn, self.layout = fn, layout

    def __call__(self, t: int) -> str:
        node = self.layout.kernels[t]
        nodes = [node] + (list(node.attrs["body"].nodes)
                          if node.op == "fused" else [])
        locs = list(dict.fromkeys(n.loc for n in nodes if n.loc))
        ops = ", ".join(dict.fromkeys(n.op for n in nodes[1:] or nodes))
        where = (f'layer "{locs[0]}"' if len(locs) == 1 else
                 "layers " + ", ".join(f'"{x}"' for x in locs) if locs
                 else "a kernel of no layer")
        return f"{where} (kernel {t}: {ops})"

    def module(self, t: int) -> ir.Module:
        h = host()
        nl = native_layout(self.fn, self.layout)
        m = ir.Module(name=f"kernel{t}")
        m.triple = h.triple
        kfn, sids, wants_ws = emit_kernel(m, t, self.layout.kernels[t],
                                          self.layout, nl.symbols, _Consts(m))
        e = kernel_entry(m, kfn, len(sids), len(nl.symbols), wants_ws)
        e.linkage = ""  # kept: what the step would call
        return m


def _mxcsr(module, b, is_x86):
    """Save MXCSR and set FTZ|DAZ; returns a restore callback."""
    if not is_x86:
        return lambda: None
    st = intrinsic(module, "llvm.x86.sse.stmxcsr", VOID, [PTR])
    ld = intrinsic(module, "llvm.x86.sse.ldmxcsr", VOID, [PTR])
    old = alloca(b, I32)
    new = alloca(b, I32)
    b.call(st, [old])
    b.store(b.or_(b.load(old, typ=I32), ir.Constant(I32, 0x8040)), new)
    b.call(ld, [new])
    return lambda: b.call(ld, [old])


def _entry_points(module, body_fn, is_x86, threads_slot: int):
    step = ir.Function(module, ir.FunctionType(VOID, [I64, I64, PTR]), "gk_step")
    b = ir.IRBuilder(step.append_basic_block("entry"))
    restore = _mxcsr(module, b, is_x86)
    b.call(body_fn, list(step.args))
    restore()
    b.ret_void()

    # gk_call(): gk_step(0, 1, gk_bound_block): one thread, the slot table
    # whose address the runtime stored once in the global (a ctypes call
    # without arguments costs ~0.3 us less than one with three)
    bound = ir.GlobalVariable(module, I64, "gk_bound_block")
    bound.initializer = ir.Constant(I64, 0)
    call = ir.Function(module, ir.FunctionType(VOID, []), "gk_call")
    b = ir.IRBuilder(call.append_basic_block("entry"))
    blk = b.inttoptr(b.load(bound, typ=I64), PTR)
    b.call(step, [ir.Constant(I64, 0), ir.Constant(I64, 1), blk])
    b.ret_void()

    # i64 gk_call_threads(nthreads): gk_step on the bound slot table as one
    # job of the thread pool its threads slot names (gk_launch: 0 run,
    # -1 the pool is busy, -2 a worker is parked: nothing run), the
    # calling thread as thread 0: the two-thread latency path in a ctypes
    # call of one argument, not seven
    from .work_sharing import LAUNCH_FN, declare

    launch = declare(module, "gk_launch", LAUNCH_FN)
    threads = ir.Function(module, ir.FunctionType(I64, [I64]),
                          "gk_call_threads")
    b = ir.IRBuilder(threads.append_basic_block("entry"))
    blk_i = b.load(bound, typ=I64)
    blk = b.inttoptr(blk_i, PTR)
    ctl = b.load(b.gep(blk, [ir.Constant(I64, threads_slot)],
                       source_etype=I64), typ=I64)
    b.ret(b.call(launch, [b.inttoptr(ctl, PTR), threads.args[0],
                          b.ptrtoint(step, I64), ir.Constant(I64, 0), blk_i,
                          ir.Constant(I64, 1), ir.Constant(I64, 0)]))

    steps = ir.Function(module, ir.FunctionType(VOID, [I64, I64, PTR, I64, I64]),
                        "gk_steps")
    tid, nth, blocks, k, stride = steps.args
    b = ir.IRBuilder(steps.append_basic_block("entry"))
    restore = _mxcsr(module, b, is_x86)
    from .loops import for_range

    with for_range(b, k, name="s") as i:
        blk = b.gep(blocks, [b.mul(i, stride)], source_etype=I64)
        b.call(body_fn, [tid, nth, blk])
    restore()
    b.ret_void()


__all__ = [
    "CODEGEN_VERSION",
    "NativeLayout",
    "build_parts",
    "mem_type",
    "native_layout",
]
