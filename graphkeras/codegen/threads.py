"""Native thread coordination: a barrier between kernels, a worker loop
and job posting, compiled once per machine as a library object.

A control block `ctl` (int64 words, one shared by every program run by
one runtime pool; fields on separate cache lines):

    ctl[0]  barrier arrivals           ctl[8]  barrier generation
    ctl[16] job generation             ctl[17] entry point of the job
    ctl[18] kind (0 step, 1 steps, 2 exit)
    ctl[19] argblock(s)  ctl[20] k  ctl[21] stride  ctl[22] threads of the job
    ctl[32 + 8*t] worker t parked (1) or awake (0)
    ctl[33 + 8*t] the last job generation worker t saw

    void gk_barrier(ctl, nthreads)
        every thread of the job waits until all have arrived (a central
        counter with a generation); waiting spins briefly with `pause`,
        then calls sched_yield, so a core taken by another process costs
        little (a pure spin barrier cost 1-4 ms per barrier there).
    i64 gk_worker(tid, nthreads, ctl)
        runs jobs as thread `tid` until an exit job (returns 0) or until
        it has waited ~IDLE_CYCLES without a job: it then parks (returns
        1); the Python thread sleeps on an Event until gk_post reports it.
    i64 gk_post(ctl, nthreads, entry, kind, blocks, k, stride)
        publishes a job for threads 1..nthreads-1 and returns the mask of
        workers that were parked: the caller must wake those.
    void gk_run(ctl, nthreads, entry, kind, blocks, k, stride)
        the caller's part (thread 0), then a closing barrier.
    i64 gk_clock()
        the cycle counter (what profiles of steps count in).

Invariants: after a job's entry every thread meets at a barrier in this
library's code, so when gk_run returns every worker has left the
program's code (which its owner may then free) and is back waiting; the
parking handshake (store parked=1, re-read the generation,
un-park by compare-and-swap) never loses a wake-up: either the worker sees
the job, or gk_post sees it parked.
"""

from __future__ import annotations

from llvmlite import ir

from .scalar import I32, I64, PTR, VOID, intrinsic

SPIN_CYCLES = 40_000  # ~15 us of `pause` before yielding
IDLE_CYCLES = 10_000_000  # ~4 ms without a job: park the worker
CTL_WORDS = 32 + 8 * 64  # room for 64 threads
MAX_THREADS = 64

STEP_FN = ir.FunctionType(VOID, [I64, I64, PTR])
STEPS_FN = ir.FunctionType(VOID, [I64, I64, PTR, I64, I64])


def _c(v) -> ir.Constant:
    return ir.Constant(I64, int(v))


def _word(b, ctl, k):
    """A typed i64* to ctl[k] (llvmlite's atomic instructions check the
    pointee type; LLVM reads it as an opaque ptr)."""
    p = b.gep(ctl, [k if isinstance(k, ir.Value) else _c(k)], source_etype=I64)
    return b.inttoptr(b.ptrtoint(p, I64), I64.as_pointer())


def _load(b, p):
    return b.load_atomic(p, "acquire", 8, typ=I64)


def _store(b, v, p, order="release"):
    b.store_atomic(v, p, order, 8)


def _pause(b, is_x86: bool):
    if is_x86:
        b.call(intrinsic(b.module, "llvm.x86.sse2.pause", VOID, []), [])


def _wait_while_equal(b, fn, word, value, is_x86, idle=None):
    """Spin, then yield, while *word == value. With `idle` (a callable
    emitting the give-up path), give up after IDLE_CYCLES: control goes
    to the block idle() builds (it must terminate its block)."""
    clock = intrinsic(b.module, "llvm.readcyclecounter", I64, [])
    yld = b.module.globals.get("sched_yield") or ir.Function(
        b.module, ir.FunctionType(I32, []), "sched_yield")
    t0 = b.call(clock, [])
    head = fn.append_basic_block("wait.head")
    body = fn.append_basic_block("wait.body")
    end = fn.append_basic_block("wait.end")
    b.branch(head)
    b.position_at_end(head)
    b.cbranch(b.icmp_signed("==", _load(b, word), value), body, end)
    b.position_at_end(body)
    waited = b.sub(b.call(clock, []), t0)
    with b.if_else(b.icmp_unsigned("<", waited, _c(SPIN_CYCLES))) as (spin, yd):
        with spin:
            _pause(b, is_x86)
        with yd:
            b.call(yld, [])
    if idle is not None:
        give_up = fn.append_basic_block("wait.idle")
        b.cbranch(b.icmp_unsigned(">", waited, _c(IDLE_CYCLES)), give_up, head)
        with b.goto_block(give_up):
            idle(head)
    else:
        b.branch(head)
    b.position_at_end(end)


def declare_barrier(module: ir.Module) -> ir.Function:
    fn = module.globals.get("gk_barrier")
    if fn is None:
        fn = ir.Function(module, ir.FunctionType(VOID, [PTR, I64]), "gk_barrier")
    return fn


def threads_library(is_x86: bool) -> ir.Module:
    module = ir.Module(name="gk_threads")
    _barrier(module, is_x86)
    _worker(module, is_x86)
    _post(module)
    _run(module)
    clock = ir.Function(module, ir.FunctionType(I64, []), "gk_clock")
    b = ir.IRBuilder(clock.append_basic_block("entry"))
    b.ret(b.call(intrinsic(module, "llvm.readcyclecounter", I64, []), []))
    return module


def _barrier(module, is_x86):
    fn = declare_barrier(module)
    ctl, nth = fn.args
    b = ir.IRBuilder(fn.append_basic_block("entry"))
    count, gen = _word(b, ctl, 0), _word(b, ctl, 8)
    g = _load(b, gen)
    c = b.atomic_rmw("add", count, _c(1), "acq_rel")
    last = b.icmp_signed("==", c, b.sub(nth, _c(1)))
    with b.if_else(last) as (release, wait):
        with release:
            _store(b, _c(0), count, "monotonic")
            _store(b, b.add(g, _c(1)), gen)
        with wait:
            _wait_while_equal(b, fn, gen, g, is_x86)
    b.ret_void()


def _worker(module, is_x86):
    fn = ir.Function(module, ir.FunctionType(I64, [I64, I64, PTR]), "gk_worker")
    tid, _, ctl = fn.args
    b = ir.IRBuilder(fn.append_basic_block("entry"))
    base = b.add(_c(32), b.mul(tid, _c(8)))
    parked = _word(b, ctl, base)
    seen_p = _word(b, ctl, b.add(base, _c(1)))
    jobgen = _word(b, ctl, 16)
    loop = fn.append_basic_block("loop")
    b.branch(loop)
    b.position_at_end(loop)
    seen = b.load(seen_p, typ=I64)

    def idle(retry_block):
        # park: announce it, then look once more for a job that raced in
        _store(b, _c(1), parked, "seq_cst")
        raced = b.icmp_signed("!=", b.load_atomic(jobgen, "seq_cst", 8, typ=I64),
                              seen)
        with b.if_then(raced):
            pair = b.cmpxchg(parked, _c(1), _c(0), "seq_cst", "seq_cst")
            with b.if_then(b.extract_value(pair, 1)):
                b.branch(retry_block)  # un-parked ourselves: take the job
        b.ret(_c(1))

    _wait_while_equal(b, fn, jobgen, seen, is_x86, idle)
    g = _load(b, jobgen)

    def field(k):
        return b.load_atomic(_word(b, ctl, k), "monotonic", 8, typ=I64)

    kind, job_nth, entry_i, blocks_i, k, stride = (field(i) for i in (
        18, 22, 17, 19, 20, 21))
    # NOTE: a worker outside job g's threads may read its fields while the
    # next job is posted: read them again if the generation moved on
    moved = b.icmp_signed("!=", _load(b, jobgen), g)
    go = fn.append_basic_block("go")
    b.cbranch(moved, loop, go)
    b.position_at_end(go)
    b.store(g, seen_p)
    with b.if_then(b.icmp_signed("==", kind, _c(2))):
        b.ret(_c(0))
    with b.if_then(b.icmp_signed("<", tid, job_nth)):
        blocks = b.inttoptr(blocks_i, PTR)
        _call_entry(b, entry_i, kind, tid, job_nth, blocks, k, stride)
        # NOTE: meet once more outside the program's code, so that no
        # thread still runs code of a module the caller may free next
        b.call(declare_barrier(module), [ctl, job_nth])
    b.branch(loop)


def _call_entry(b, entry_i, kind, tid, nth, blocks, k, stride):
    with b.if_else(b.icmp_signed("==", kind, _c(0))) as (one, many):
        with one:
            b.call(b.inttoptr(entry_i, STEP_FN.as_pointer()), [tid, nth, blocks])
        with many:
            b.call(b.inttoptr(entry_i, STEPS_FN.as_pointer()),
                   [tid, nth, blocks, k, stride])


def _run(module):
    """void gk_run(ctl, nthreads, entry, kind, blocks, k, stride): thread
    0's part of a posted job, then the closing barrier (see _worker)."""
    fn = ir.Function(module, ir.FunctionType(
        VOID, [PTR, I64, I64, I64, PTR, I64, I64]), "gk_run")
    ctl, nth, entry, kind, blocks, k, stride = fn.args
    b = ir.IRBuilder(fn.append_basic_block("entry"))
    _call_entry(b, entry, kind, _c(0), nth, blocks, k, stride)
    with b.if_then(b.icmp_signed(">", nth, _c(1))):
        b.call(declare_barrier(module), [ctl, nth])
    b.ret_void()


def _post(module):
    fn = ir.Function(module, ir.FunctionType(
        I64, [PTR, I64, I64, I64, I64, I64, I64]), "gk_post")
    ctl, nth, entry, kind, blocks, k, stride = fn.args
    b = ir.IRBuilder(fn.append_basic_block("entry"))
    for i, v in ((17, entry), (18, kind), (19, blocks), (20, k), (21, stride),
                 (22, nth)):
        _store(b, v, _word(b, ctl, i), "monotonic")
    gen = _word(b, ctl, 16)
    b.atomic_rmw("add", gen, _c(1), "seq_cst")
    mask = b.alloca(I64)
    b.store(_c(0), mask)
    from .loops import for_range

    with for_range(b, b.sub(nth, _c(1)), name="w") as w:
        t = b.add(w, _c(1))
        old = b.atomic_rmw("xchg", _word(b, ctl, b.add(_c(32), b.mul(t, _c(8)))),
                           _c(0), "seq_cst")
        bit = b.shl(b.and_(old, _c(1)), t)
        b.store(b.or_(b.load(mask, typ=I64), bit), mask)
    b.ret(b.load(mask, typ=I64))
