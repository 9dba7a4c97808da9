"""The step body as a loop over constant tables: LLVM is handed functions
of bounded size whatever the model.

A step of a 400-layer model has thousands of kernels. Written out as one
call per kernel (twice: the one-thread path and the shared-units path,
each unit with its grab loop) the body was one function of ~17,000 basic
blocks for DenseNet121's train step, and LLVM's SimplifyCFG aborted the
process on it ("Iterative simplification didn't converge!"). Here the body
is a few fixed loops that read these tables:

    gk_kernels  [ptr x K]     the entry of kernel t's function
    gk_kernel_slot_at [i64 x K], gk_kernel_slots [i64 ...]
                              kernel t's storage slots start at
                              gk_kernel_slots[gk_kernel_slot_at[t]],
                              followed by the values of its runtime
                              extents (codegen/extents.py)
    gk_units    [i64 x 3U]    per unit: first kernel, kernel count, flags
                              (SPLIT: cut into chunks; NEED: wait for the
                              units since the last wait before starting;
                              COPIES: the unit runs the end copies)
    gk_copies   [i64 ...]     per end copy: source slot, destination slot,
                              constant byte factor, n, then the slots of
                              the n shape symbols that multiply it

A kernel function's entry `<kernel>_entry(ktid, knth, argblock,
workspace, slots)` is a small function that loads the kernel's storage
addresses from the slots it is given and the shape symbols from theirs,
and calls the kernel itself, whose arguments stay pointers marked
`noalias`. It names no slot of its own, so kernels generated alike in
any program have one entry, compiled with the kernel (and cached with
it). The body's size, and every entry's, is bounded; a kernel's own size
is bounded by its template.

Invariant: the schedule the tables encode is exactly program.schedule and
program.barriers_needed (unit order, chunking, waits), so results are the
same as with a body written out kernel by kernel.
"""

from __future__ import annotations

from llvmlite import ir

from .loops import for_range
from .scalar import I1, I64, PTR, VOID, alloca, intrinsic
from .work_sharing import (
    CHUNKS_WORD,
    FINISH_FN,
    GRAB_FN,
    SPIN_WORD,
    WAIT_FN,
    declare,
)

# chunks of a split unit: threads x this (or x the pool's ctl[CHUNKS_WORD]
# when set: runtime/adaptive.SpinPolicy)
CHUNKS_PER_THREAD = 2

# the entry every kernel is called through: (ktid, knth, argblock, ws,
# the kernel's storage slots)
ENTRY_FN = ir.FunctionType(VOID, [I64, I64, PTR, PTR, PTR])
SPLIT, NEED, COPIES = 1, 2, 4


def _c(v) -> ir.Constant:
    return ir.Constant(I64, int(v))


def _table(module, name: str, ty, values) -> ir.GlobalVariable:
    arr = ir.ArrayType(ty, max(len(values), 1))
    if not values:
        values = [ir.Constant(ty, None)]
    g = ir.GlobalVariable(module, arr, name)
    g.initializer = ir.Constant(arr, list(values))
    g.global_constant = True
    g.linkage = "private"
    return g


def kernel_entry(module, kfn, nptrs: int, nsyms: int,
                 wants_ws: bool, nextents: int = 0) -> ir.Function:
    """`<kfn>_entry(ktid, knth, argblock, ws, slots)`: kfn with the
    addresses of its `nptrs` storages (argblock[slots[k]]), the shape
    symbols (argblock[0 .. nsyms-1]) and its `nextents` runtime extents
    (the values slots[nptrs ..], codegen/extents.py). It names no slot
    or size itself, so it is the same in every program: it lives beside
    the kernel, in the kernel's module (step_module.build_parts)."""
    fn = ir.Function(module, ENTRY_FN, f"{kfn.name}_entry")
    fn.linkage = kfn.linkage
    fn.attributes.add("nounwind")
    ktid, knth, argblock, ws, slots = fn.args
    b = ir.IRBuilder(fn.append_basic_block("entry"))

    def slot(k):
        return b.load(b.gep(argblock, [k], source_etype=I64), typ=I64)

    args = [ktid, knth]
    for k in range(nptrs):
        at = b.load(b.gep(slots, [_c(k)], source_etype=I64), typ=I64)
        args.append(b.inttoptr(slot(at), PTR))
    args += [slot(_c(k)) for k in range(nsyms)]
    args += [b.load(b.gep(slots, [_c(nptrs + k)], source_etype=I64), typ=I64)
             for k in range(nextents)]
    if wants_ws:
        args.append(ws)
    b.call(kfn, args)
    b.ret_void()
    return fn


def emit_body(module, nl, entries: list, units: list, needs: list,
              splits: list, copies: list, slots: list) -> ir.Function:
    """The internal `gk_body(tid, nthreads, argblock)`.

    entries: kernel entry functions in order, slots[t]: the argblock
    slots of kernel t's storages (its entry's `slots`); units: [(kernel indices,
    sequential)] with an empty list for the end-copies unit; needs[u] and
    splits[u]: whether threads meet before unit u, and whether it is cut
    into chunks; copies: [(src slot, dst slot, bytes, symbol slots)]."""
    kernels = _table(module, "gk_kernels", PTR, entries)
    offsets, flat = [], []
    for ss in slots:
        offsets.append(_c(len(flat)))
        flat += [_c(x) for x in ss]
    kslots = (_table(module, "gk_kernel_slot_at", I64, offsets),
              _table(module, "gk_kernel_slots", I64, flat))
    words = []
    for (ks, _), need, split in zip(units, needs, splits):
        if ks and ks != list(range(ks[0], ks[0] + len(ks))):
            from ..ir import InternalCompilerError

            raise InternalCompilerError(f"unit of kernels {ks} is not a run")
        words += [_c(ks[0] if ks else 0), _c(len(ks)),
                  _c((SPLIT if split else 0) | (NEED if need else 0)
                     | (0 if ks else COPIES))]
    unit_tab = _table(module, "gk_units", I64, words)
    cwords = []
    for src, dst, nbytes, sym_slots in copies:
        cwords += [_c(src), _c(dst), _c(nbytes), _c(len(sym_slots))]
        cwords += [_c(s) for s in sym_slots]
    copy_tab = _table(module, "gk_copies", I64, cwords)
    run_kernel = _run_kernel_fn(module, kernels, kslots)
    copy_fn = _end_copies_fn(module, copy_tab, len(cwords))

    body = ir.Function(module, ir.FunctionType(VOID, [I64, I64, PTR]),
                       "gk_body")
    body.linkage = "internal"
    tid, nth, argblock = body.args
    b = ir.IRBuilder(body.append_basic_block("entry"))

    def slot(k):
        return b.load(b.gep(argblock, [k if isinstance(k, ir.Value) else
                                       _c(k)], source_etype=I64), typ=I64)

    # this thread's workspace slice: after the header, `per` bytes each
    from .matmul import WORKSPACE_HEADER

    ws_base = b.inttoptr(slot(nl.workspace_slot), PTR)
    per = b.load(ws_base, typ=I64)
    ws = b.gep(ws_base, [b.add(_c(WORKSPACE_HEADER), b.mul(tid, per))],
               source_etype=ir.IntType(8))
    prof = slot(nl.profile_slot)
    rdtsc = intrinsic(module, "llvm.readcyclecounter", I64, [])
    t_start = b.call(rdtsc, [])
    zero, one = _c(0), _c(1)
    nunits = len(units)

    def unit_word(u, k):
        return b.load(b.gep(unit_tab, [zero, b.add(b.mul(u, _c(3)), _c(k))],
                            source_etype=unit_tab.value_type), typ=I64)

    def has(flags, bit):
        return b.icmp_unsigned("!=", b.and_(flags, _c(bit)), zero)

    with b.if_else(b.icmp_signed("==", nth, one)) as (alone, shared):
        with alone:  # one thread: every kernel whole, in order
            with for_range(b, len(entries), name="t") as t:
                b.call(run_kernel, [t, zero, one, argblock, ws, prof])
            b.call(copy_fn, [argblock])
        with shared:
            _shared(b, module, nl, argblock, nunits, unit_word, has,
                    run_kernel, copy_fn, ws, prof, tid, nth, len(entries))
    with b.if_then(b.icmp_signed("==", tid, zero)):
        _add_cycles(b, rdtsc, prof, 0, t_start)
    b.ret_void()
    return body


def _add_cycles(b, rdtsc, prof, slot, since):
    """profile[slot] += cycles since `since`, when profiling (prof != 0)."""
    with b.if_then(b.icmp_unsigned("!=", prof, _c(0)), likely=False):
        p = b.gep(b.inttoptr(prof, PTR), [slot if isinstance(slot, ir.Value)
                                          else _c(slot)], source_etype=I64)
        p = b.inttoptr(b.ptrtoint(p, I64), I64.as_pointer())
        b.atomic_rmw("add", p, b.sub(b.call(rdtsc, []), since), "monotonic")


def _run_kernel_fn(module, kernels, kslots) -> ir.Function:
    """gk_run_kernel(t, ktid, knth, argblock, ws, prof): kernel t through
    its entry (with its slots: kslots = (offset of kernel t's slots, the
    slots)), its cycles added to profile[t + 1] when profiling."""
    fn = ir.Function(module, ir.FunctionType(VOID, [I64, I64, I64, PTR, PTR,
                                                    I64]), "gk_run_kernel")
    fn.linkage = "internal"
    t, ktid, knth, argblock, ws, prof = fn.args
    b = ir.IRBuilder(fn.append_basic_block("entry"))
    rdtsc = intrinsic(module, "llvm.readcyclecounter", I64, [])
    # a typed pointer so that llvmlite knows the callee's type; LLVM reads
    # `void (...)*` as an opaque ptr
    entry = b.load(b.gep(kernels, [_c(0), t],
                         source_etype=kernels.value_type),
                   typ=ENTRY_FN.as_pointer())
    at, flat = kslots
    off = b.load(b.gep(at, [_c(0), t], source_etype=at.value_type), typ=I64)
    mine = b.gep(flat, [_c(0), off], source_etype=flat.value_type)
    # the clock is read only when profiling (a read is ~20-40 cycles, two
    # per kernel: ~0.1 us a step of a small model's four kernels)
    with b.if_else(b.icmp_unsigned("==", prof, _c(0)), likely=True) as (
            plain, timed):
        with plain:
            b.call(entry, [ktid, knth, argblock, ws, mine])
        with timed:
            t0 = b.call(rdtsc, [])
            b.call(entry, [ktid, knth, argblock, ws, mine])
            _add_cycles(b, rdtsc, prof, b.add(t, _c(1)), t0)
    b.ret_void()
    return fn


def _end_copies_fn(module, copy_tab, nwords: int) -> ir.Function:
    """gk_end_copies(argblock): every end copy of the table, in order."""
    fn = ir.Function(module, ir.FunctionType(VOID, [PTR]), "gk_end_copies")
    fn.linkage = "internal"
    (argblock,) = fn.args
    entry = fn.append_basic_block("entry")
    head = fn.append_basic_block("copy.head")
    body = fn.append_basic_block("copy.body")
    end = fn.append_basic_block("copy.end")
    b = ir.IRBuilder(entry)

    def word(k):
        return b.load(b.gep(copy_tab, [_c(0), k],
                            source_etype=copy_tab.value_type), typ=I64)

    def slot(k):
        return b.load(b.gep(argblock, [k], source_etype=I64), typ=I64)

    b.branch(head)
    b.position_at_end(head)
    i = b.phi(I64)
    i.add_incoming(_c(0), entry)
    b.cbranch(b.icmp_signed("<", i, _c(nwords if nwords > 1 else 0)), body,
              end)
    b.position_at_end(body)
    src, dst = slot(word(i)), slot(word(b.add(i, _c(1))))
    nbytes = word(b.add(i, _c(2)))
    nsym = word(b.add(i, _c(3)))
    acc = alloca(b, I64)
    b.store(nbytes, acc)
    first = b.add(i, _c(4))
    with for_range(b, nsym, name="s") as k:
        d = slot(word(b.add(first, k)))
        b.store(b.mul(b.load(acc, typ=I64), d), acc)
    memcpy = intrinsic(module, "llvm.memcpy.p0.p0.i64", VOID,
                       [PTR, PTR, I64, I1])
    b.call(memcpy, [b.inttoptr(dst, PTR), b.inttoptr(src, PTR),
                    b.load(acc, typ=I64), ir.Constant(I1, 0)])
    i.add_incoming(b.add(first, nsym), b.block)
    b.branch(head)
    b.position_at_end(end)
    b.ret_void()
    return fn


def _shared(b, module, nl, argblock, nunits, unit_word, has, run_kernel,
            copy_fn, ws, prof, tid, nth, nk):
    """Several threads: each unit's chunks are taken from its counter in
    the schedule block (codegen/work_sharing.py: even threads from the
    front, odd ones from the back, so that each of two threads keeps
    its half of the weights in its cache); before a unit that needs the
    results of earlier ones, wait until those are done; at the end, until
    every unit is. When profiling, the cycles thread tid spends waiting
    are added to profile[1 + nk + tid]."""
    grab = declare(module, "gk_grab", GRAB_FN)
    finish = declare(module, "gk_finish", FINISH_FN)
    wait = declare(module, "gk_wait_done", WAIT_FN)
    sched = b.inttoptr(b.load(b.gep(argblock, [_c(nl.sched_slot)],
                                    source_etype=I64), typ=I64), PTR)
    epoch = b.load(b.gep(argblock, [_c(nl.epoch_slot)], source_etype=I64),
                   typ=I64)
    # the pool's spin budget for waits (0: the library's default)
    ctl = b.inttoptr(b.load(b.gep(argblock, [_c(nl.threads_slot)],
                                  source_etype=I64), typ=I64), PTR)
    def ctl_word(k):
        return b.load_atomic(b.inttoptr(b.ptrtoint(b.gep(
            ctl, [_c(k)], source_etype=I64), I64), I64.as_pointer()),
            "monotonic", 8, typ=I64)

    spin = ctl_word(SPIN_WORD)
    # NOTE: read once per step: every thread of a job reads the same value
    # (the runtime writes these words only between jobs)
    per = ctl_word(CHUNKS_WORD)
    per = b.select(b.icmp_signed(">", per, _c(0)), per, _c(CHUNKS_PER_THREAD))
    nch = b.mul(nth, per)
    zero, one = _c(0), _c(1)
    since = alloca(b, I64)
    b.store(zero, since)

    def word(u, k):  # next (k=0) and done (k=8) of unit u, own cache lines
        return b.gep(sched, [b.add(b.mul(u, _c(16)), _c(k))], source_etype=I64)

    def total(u):
        return b.select(has(unit_word(u, 2), SPLIT), nch, one)

    rdtsc = intrinsic(module, "llvm.readcyclecounter", I64, [])

    def wait_for(hi):
        t0 = b.call(rdtsc, [])
        with for_range(b, hi, start=b.load(since, typ=I64), name="w") as v:
            b.call(wait, [word(v, 8), epoch, total(v), spin])
        _add_cycles(b, rdtsc, prof, b.add(tid, _c(1 + nk)), t0)

    fn = b.function
    with for_range(b, nunits, name="u") as u:
        first, count = unit_word(u, 0), unit_word(u, 1)
        flags = unit_word(u, 2)
        split = has(flags, SPLIT)
        tot = total(u)
        with b.if_then(has(flags, NEED)):
            wait_for(u)
            b.store(u, since)
        head = fn.append_basic_block("unit.grab")
        run = fn.append_basic_block("unit.run")
        done = fn.append_basic_block("unit.done")
        b.branch(head)
        b.position_at_end(head)
        c = b.call(grab, [word(u, 0), epoch, tot, b.and_(tid, one)])
        b.cbranch(b.icmp_signed("<", c, zero), done, run)
        b.position_at_end(run)
        with b.if_then(has(flags, COPIES)):
            b.call(copy_fn, [argblock])
        ktid = b.select(split, c, zero)
        knth = b.select(split, tot, one)
        with for_range(b, b.add(first, count), start=first, name="k") as t:
            b.call(run_kernel, [t, ktid, knth, argblock, ws, prof])
        b.call(finish, [word(u, 8), epoch])
        b.branch(head)
        b.position_at_end(done)
    wait_for(_c(nunits))
