"""Native thread coordination: dynamic work sharing inside a step, the
worker loop and job posting, compiled once per machine as a library
object.

A step (codegen/step_module.py) is a list of units, each cut into chunks; the
threads of a job take chunks one at a time from a shared counter, and a
unit that needs the results of earlier ones waits until their chunks are
done. A thread that another process keeps off its core holds up at most
the chunk it has taken: the others take the rest (a barrier would wait for
it, 1-4 ms per barrier when a core is busy elsewhere).

Counters are words of the executable's schedule block, tagged with the
step's epoch (a number the runtime raises every step): high 32 bits the
epoch, low 32 bits the count (a next-chunk word: chunks taken from the
front in bits 0-15, from the back in bits 16-31). The first thread to
touch a counter in a new epoch restarts it, so nothing needs resetting
between steps, and a thread that lags a whole step behind sees a newer
epoch and stops.

Even threads take chunks from the front of a unit, odd ones from the
back: with two threads each takes the same half of every unit step after
step when both run at the same pace (the half of a weight matrix it
streamed last time, still in its core's L2 cache: batch-1 inference is
bound by reading the weights), and takes chunks of the other's half only
when the other falls behind.

    i64 gk_grab(word, epoch, total, back)  the next chunk index, or -1
        when all are taken (or the epoch moved on): from the front
        (0, 1, ...) or, with back != 0, from the back (total-1, ...)
    void gk_finish(word, epoch)         one more chunk done
    void gk_wait_done(word, epoch, total, spin)  until `total` chunks are
        done (spinning with `pause` for `spin` cycles, then sleeping on a
        futex; spin <= 0: SPIN_CYCLES)

How long a waiting thread spins is the runtime's choice (ctl[27] for waits
inside a step, ctl[28] for workers between jobs; 0: SPIN_CYCLES and
JOB_SPIN_CYCLES), made from the machine's load (runtime/thread_pool.py).
On a machine with a core for each thread a wait is best spun out: a
thread woken from a futex sleep starts again tens of microseconds later (a
halted virtual CPU is woken by an interrupt), and W1's step waits a few
times for a unit shorter than that. When other processes want the cores
waiting never spins long: after SPIN_CYCLES a waiting thread sleeps in the
kernel (Linux futex; sched_yield elsewhere), so its core goes idle and the
scheduler moves a thread that another process kept off its core onto it
(a yielding spinner keeps its core busy, and the thread holding the
work waits for its own core: 1-4 ms per wait when a core is busy
elsewhere). A done counter's next two words are its sleepers' flag and a
wake sequence: a waiter reads the sequence, raises the flag, checks the
counter once more and sleeps while the sequence is unchanged; gk_finish,
after counting, clears a raised flag, bumps the sequence and wakes the
sleepers (a wake-up cannot be lost: either the waiter's re-check sees the
count or gk_finish sees the flag). Sleeps are cut short after
SLEEP_NS, so even a missed wake-up costs a millisecond, not a hang.
Idle workers (no job) sleep the same way on the job generation, which
gk_post bumps and wakes.

The pool's control block `ctl` (int64 words; fields on separate lines):

    ctl[16] job generation             ctl[17] entry point of the job
    ctl[18] kind (0 step, 1 steps, 2 exit)
    ctl[19] argblock(s)  ctl[20] k  ctl[21] stride  ctl[22] threads of the job
    ctl[24] workers reading a job or inside its entry
    ctl[26] workers sleeping on the job generation (futex)
    ctl[27] cycles to spin in a wait inside a step (0: SPIN_CYCLES)
    ctl[28] cycles a worker spins for the next job (0: JOB_SPIN_CYCLES)
    ctl[29] chunks per thread of a split unit (0: dispatch.CHUNKS_PER_THREAD)
    ctl[30] admission to the current job: high 32 bits its generation,
            bits 0-15 workers inside its entry, bit 16 closed (thread 0
            is done), bit 17 thread 0 asleep waiting for them to leave
    ctl[31] the CPU thread 0 ran on when it posted the job (Linux)
    ctl[8] the pool is running a job (1) or free (0)
    ctl[32 + 8*t] worker t parked (1) or awake (0)
    ctl[33 + 8*t] the last job generation worker t saw
    ctl[34 + 8*t] the CPU worker t last picked up a job on (-1: none yet)

    i64 gk_worker(tid, nthreads, ctl)
        runs jobs as thread `tid` until an exit job (returns 0) or until
        it has waited ~IDLE_CYCLES without a job: it then parks (returns
        1); the Python thread sleeps on an Event until gk_post reports it.
    i64 gk_post(ctl, nthreads, entry, kind, blocks, k, stride)
        publishes a job for threads 1..nthreads-1 and returns the mask of
        workers that were parked: the caller must wake those.
    void gk_run(ctl, nthreads, entry, kind, blocks, k, stride)
        the caller's part (thread 0; its entry returns when every unit is
        done), then closes the job's admission and waits for the workers
        inside its entry to leave (ctl[30]).
    i64 gk_launch(ctl, nthreads, entry, kind, blocks, k, stride)
        the whole job in one call (the latency path: one ctypes call, no
        Python between taking the pool and giving it back): takes the pool
        (ctl[8]; -1 if it is busy), returns -2 without posting if a
        worker it needs is parked (the caller wakes it: gk_post and Events),
        else posts the job, runs thread 0's part, frees the pool, returns 0.
        Parked flags are only read, never cleared: a worker that parks in
        the window after the check still sees the job (its parking
        handshake), or stays flagged and the next launch returns -2.
    i64 gk_try_acquire(ctl), void gk_release(ctl)
        take the pool (1: taken, 0: busy) and give it back, around a job
        posted with gk_post / gk_run.
    i64 gk_clock()
        the cycle counter (what profiles of steps count in).

Invariants: a job is over when gk_run returns: no worker is inside its
entry then, nor will enter it. A worker enters a job's entry only after
it is admitted (ctl[30]: a compare-and-swap that counts it in, against
the job's generation, while admission is open); gk_run closes admission
when thread 0's part is done and waits (spinning, then on a futex) until
the admitted workers have left. So a worker that a busy machine kept off
its core between reading a job and entering it never runs the job late:
the executable may have freed its slot table by then, or started its
next step with another thread count (seen under load: a segfault in a
worker after the test that owned the job had ended). A worker counts
itself in ctl[24] before it reads a job's fields, so once ctl[24] == 0 no
worker reads them (runtime/thread_pool.py frees modules then);
the parking handshake (store parked=1, re-read the generation, un-park by
compare-and-swap) never loses a wake-up: either the worker sees the job,
or gk_post sees it parked.
"""

from __future__ import annotations

from llvmlite import ir

from .scalar import I32, I64, PTR, VOID, intrinsic

SPIN_CYCLES = 40_000  # ~15 us of `pause` before sleeping (or yielding)
JOB_SPIN_CYCLES = 200_000  # ~80 us: a worker between two steps of fit()
IDLE_CYCLES = 250_000_000  # ~0.1 s without a job: park the worker
SLEEP_NS = 1_000_000  # a futex sleep is cut short after 1 ms
SYS_FUTEX = {"x86_64": 202, "aarch64": 98}
FUTEX_WAIT_PRIVATE, FUTEX_WAKE_PRIVATE = 128, 129
CTL_WORDS = 32 + 8 * 64  # room for 64 threads
MAX_THREADS = 64

STEP_FN = ir.FunctionType(VOID, [I64, I64, PTR])
STEPS_FN = ir.FunctionType(VOID, [I64, I64, PTR, I64, I64])
GRAB_FN = ir.FunctionType(I64, [PTR, I64, I64, I64])
FINISH_FN = ir.FunctionType(VOID, [PTR, I64])
WAIT_FN = ir.FunctionType(VOID, [PTR, I64, I64, I64])
# ctl words the runtime sets: spin budgets, chunks per thread of a split unit
# gk_launch(ctl, nthreads, entry, kind, blocks, k, stride) -> 0 / -1 / -2
LAUNCH_FN = ir.FunctionType(I64, [PTR, I64, I64, I64, I64, I64, I64])
SPIN_WORD, JOB_SPIN_WORD, CHUNKS_WORD = 27, 28, 29
ADMIT_WORD = 30  # admission to the current job (module docstring)
CALLER_CPU_WORD = 31  # the CPU the thread that posted the job ran on
MASK_BYTES = 128  # a cpu_set_t of 1024 CPUs
ADMIT_COUNT, ADMIT_CLOSED, ADMIT_ASLEEP = 0xFFFF, 1 << 16, 1 << 17


def _c(v) -> ir.Constant:
    return ir.Constant(I64, int(v))


def _word(b, ctl, k):
    """A typed i64* to ctl[k] (llvmlite's atomic instructions check the
    pointee type; LLVM reads it as an opaque ptr)."""
    p = b.gep(ctl, [k if isinstance(k, ir.Value) else _c(k)], source_etype=I64)
    return b.inttoptr(b.ptrtoint(p, I64), I64.as_pointer())


def _load(b, p, order="acquire"):
    return b.load_atomic(p, order, 8, typ=I64)


def _store(b, v, p, order="release"):
    b.store_atomic(v, p, order, 8)


def _pause(b, is_x86: bool):
    if is_x86:
        b.call(intrinsic(b.module, "llvm.x86.sse2.pause", VOID, []), [])


def _futex_number(module) -> int | None:
    """The futex system call's number on this target, None where there is
    no futex (not Linux): waits then yield instead of sleeping."""
    triple = module.triple or ""
    if "linux" not in triple:
        return None
    return SYS_FUTEX.get(triple.split("-", 1)[0])


def _syscall(b, *args):
    fn = b.module.globals.get("syscall") or ir.Function(
        b.module, ir.FunctionType(I64, [I64], var_arg=True), "syscall")
    return b.call(fn, [_c(a) if isinstance(a, int) else a for a in args])


def _futex_sleep(b, nr, word_p, expected):
    """Sleep while the low 32 bits of *word_p equal `expected` (at most
    SLEEP_NS; a wake-up, a signal or a changed word end it early)."""
    entry = b.function.entry_basic_block
    with b.goto_block(entry):  # (in the entry block: not one per iteration)
        b.position_at_start(entry)
        ts = b.alloca(ir.ArrayType(I64, 2))
    b.store(_c(0), _word(b, ts, 0))  # struct timespec {tv_sec, tv_nsec}
    b.store(_c(SLEEP_NS), _word(b, ts, 1))
    _syscall(b, nr, b.ptrtoint(word_p, I64), FUTEX_WAIT_PRIVATE,
             b.and_(expected, _c(0xFFFFFFFF)), b.ptrtoint(ts, I64), 0, 0)


def _futex_wake(b, nr, word_p):
    _syscall(b, nr, b.ptrtoint(word_p, I64), FUTEX_WAKE_PRIVATE, 0x7FFFFFFF,
             0, 0, 0)


def _budget(b, spin, default: int):
    """The spin budget in cycles: `spin` (an i64 value) when positive,
    else `default`."""
    return b.select(b.icmp_signed(">", spin, _c(0)), spin, _c(default))


def _backoff(b, fn, t0, is_x86, sleep=None, spin=SPIN_CYCLES):
    """One round of waiting: `pause` for the first `spin` cycles since t0
    (an int or an i64 value); after that sleep() (emits a futex sleep) or
    sched_yield; returns the cycles waited."""
    clock = intrinsic(b.module, "llvm.readcyclecounter", I64, [])
    waited = b.sub(b.call(clock, []), t0)
    limit = spin if isinstance(spin, ir.Value) else _c(spin)
    with b.if_else(b.icmp_unsigned("<", waited, limit)) as (sp, yd):
        with sp:
            _pause(b, is_x86)
        with yd:
            if sleep is not None:
                sleep()
            else:
                yld = b.module.globals.get("sched_yield") or ir.Function(
                    b.module, ir.FunctionType(I32, []), "sched_yield")
                b.call(yld, [])
    return waited


def _wait_while_equal(b, fn, word, value, is_x86, idle=None, sleepers=None,
                      spin=JOB_SPIN_CYCLES):
    """Spin (`spin` cycles: an int or an i64 value), then sleep (futex,
    counted in *sleepers) or yield, while *word == value. With `idle` (a
    callable emitting the give-up path), give up after IDLE_CYCLES:
    control goes to the block idle() builds (it must terminate its
    block)."""
    clock = intrinsic(b.module, "llvm.readcyclecounter", I64, [])
    t0 = b.call(clock, [])
    head = fn.append_basic_block("wait.head")
    body = fn.append_basic_block("wait.body")
    end = fn.append_basic_block("wait.end")
    b.branch(head)
    b.position_at_end(head)
    b.cbranch(b.icmp_signed("==", _load(b, word), value), body, end)
    b.position_at_end(body)
    nr = _futex_number(b.module)
    sleep = None
    if nr is not None and sleepers is not None:
        def sleep():
            b.atomic_rmw("add", sleepers, _c(1), "seq_cst")
            _futex_sleep(b, nr, word, value)
            b.atomic_rmw("sub", sleepers, _c(1), "seq_cst")
    waited = _backoff(b, fn, t0, is_x86, sleep, spin)
    if idle is not None:
        give_up = fn.append_basic_block("wait.idle")
        b.cbranch(b.icmp_unsigned(">", waited, _c(IDLE_CYCLES)), give_up, head)
        with b.goto_block(give_up):
            idle(head)
    else:
        b.branch(head)
    b.position_at_end(end)


def declare(module: ir.Module, name: str, fty: ir.FunctionType) -> ir.Function:
    fn = module.globals.get(name)
    if fn is None:
        fn = ir.Function(module, fty, name)
    return fn


def threads_library(is_x86: bool, triple: str = "") -> ir.Module:
    module = ir.Module(name="gk_threads")
    module.triple = triple
    _grab(module)
    _finish(module)
    _wait_done(module, is_x86)
    _worker(module, is_x86)
    _post(module)
    _run(module, is_x86)
    _launch(module)
    clock = ir.Function(module, ir.FunctionType(I64, []), "gk_clock")
    b = ir.IRBuilder(clock.append_basic_block("entry"))
    b.ret(b.call(intrinsic(module, "llvm.readcyclecounter", I64, []), []))
    return module


# --- epoch-tagged counters ----------------------------------------------------------


def _split(b, w):
    """(epoch, count) of a counter word."""
    return b.lshr(w, _c(32)), b.and_(w, _c(0xFFFFFFFF))


def _newer(b, ep, epoch):
    """ep is a later epoch than `epoch` (32-bit wrapping compare)."""
    d = b.trunc(b.sub(ep, b.and_(epoch, _c(0xFFFFFFFF))), I32)
    return b.icmp_signed(">", d, ir.Constant(I32, 0))


def _grab(module):
    fn = declare(module, "gk_grab", GRAB_FN)
    word, epoch, total, back = fn.args
    b = ir.IRBuilder(fn.append_basic_block("entry"))
    word_p = _word(b, word, 0)
    tag = b.shl(b.and_(epoch, _c(0xFFFFFFFF)), _c(32))
    with b.if_then(b.icmp_signed("<", total, _c(1))):
        b.ret(_c(-1))
    from_back = b.icmp_signed("!=", back, _c(0))
    step = b.select(from_back, _c(1 << 16), _c(1))
    loop = fn.append_basic_block("loop")
    b.branch(loop)
    b.position_at_end(loop)
    old = _load(b, word_p)
    ep, _ = _split(b, old)
    front = b.and_(old, _c(0xFFFF))
    rear = b.and_(b.lshr(old, _c(16)), _c(0xFFFF))
    current = b.icmp_signed("==", ep, b.and_(epoch, _c(0xFFFFFFFF)))
    with b.if_then(b.and_(b.not_(current), _newer(b, ep, epoch))):
        b.ret(_c(-1))  # this thread lags a step behind
    taken = b.add(front, rear)
    with b.if_then(b.and_(current, b.icmp_signed(">=", taken, total))):
        b.ret(_c(-1))  # every chunk is taken
    # first of the epoch: restart the counts with this thread's chunk
    new = b.select(current, b.add(old, step), b.or_(tag, step))
    pair = b.cmpxchg(word_p, old, new, "acq_rel", "acquire")
    with b.if_then(b.extract_value(pair, 1)):
        k = b.select(from_back, rear, front)
        k = b.select(current, k, _c(0))
        b.ret(b.select(from_back, b.sub(b.sub(total, _c(1)), k), k))
    b.branch(loop)


def _finish(module):
    fn = declare(module, "gk_finish", FINISH_FN)
    word, epoch = fn.args
    b = ir.IRBuilder(fn.append_basic_block("entry"))
    word_p = _word(b, word, 0)
    tag = b.shl(b.and_(epoch, _c(0xFFFFFFFF)), _c(32))
    loop = fn.append_basic_block("loop")
    b.branch(loop)
    b.position_at_end(loop)
    old = _load(b, word_p)
    ep, _ = _split(b, old)
    current = b.icmp_signed("==", ep, b.and_(epoch, _c(0xFFFFFFFF)))
    new = b.select(current, b.add(old, _c(1)), b.or_(tag, _c(1)))
    pair = b.cmpxchg(word_p, old, new, "seq_cst", "acquire")
    with b.if_then(b.extract_value(pair, 1)):
        nr = _futex_number(module)
        if nr is not None:  # wake the sleepers (module docstring)
            flag, seq = _word(b, word, 1), _word(b, word, 2)
            raised = b.icmp_signed("!=", _load(b, flag, "seq_cst"), _c(0))
            with b.if_then(raised, likely=False):
                b.atomic_rmw("xchg", flag, _c(0), "seq_cst")
                b.atomic_rmw("add", seq, _c(1), "seq_cst")
                _futex_wake(b, nr, seq)
        b.ret_void()
    b.branch(loop)


def _wait_done(module, is_x86):
    fn = declare(module, "gk_wait_done", WAIT_FN)
    word, epoch, total, spin = fn.args
    b = ir.IRBuilder(fn.append_basic_block("entry"))
    word_p = _word(b, word, 0)
    spin = _budget(b, spin, SPIN_CYCLES)
    clock = intrinsic(module, "llvm.readcyclecounter", I64, [])
    t0 = b.call(clock, [])
    loop = fn.append_basic_block("loop")
    b.branch(loop)
    b.position_at_end(loop)

    def is_done(order="acquire"):
        ep, cnt = _split(b, _load(b, word_p, order))
        current = b.icmp_signed("==", ep, b.and_(epoch, _c(0xFFFFFFFF)))
        return b.or_(b.and_(current, b.icmp_signed(">=", cnt, total)),
                     b.and_(b.not_(current), _newer(b, ep, epoch)))

    with b.if_then(is_done()):
        b.ret_void()
    nr = _futex_number(module)
    sleep = None
    if nr is not None:
        def sleep():
            flag, seq = _word(b, word, 1), _word(b, word, 2)
            s0 = _load(b, seq, "seq_cst")
            _store(b, _c(1), flag, "seq_cst")
            with b.if_then(b.not_(is_done("seq_cst"))):
                _futex_sleep(b, nr, seq, s0)
    _backoff(b, fn, t0, is_x86, sleep, spin)
    b.branch(loop)


# --- jobs -----------------------------------------------------------------------------


def _worker(module, is_x86):
    fn = ir.Function(module, ir.FunctionType(I64, [I64, I64, PTR]), "gk_worker")
    tid, _, ctl = fn.args
    b = ir.IRBuilder(fn.append_basic_block("entry"))
    parked = _worker_word(b, ctl, tid, PARKED)
    seen_p = _worker_word(b, ctl, tid, SEEN)
    jobgen = _word(b, ctl, 16)
    inside = _word(b, ctl, 24)
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

    spin = _budget(b, _load(b, _word(b, ctl, JOB_SPIN_WORD), "monotonic"),
                   JOB_SPIN_CYCLES)
    _wait_while_equal(b, fn, jobgen, seen, is_x86, idle,
                      sleepers=_word(b, ctl, 26), spin=spin)
    # NOTE: count in before reading the job (see the module docstring)
    b.atomic_rmw("add", inside, _c(1), "seq_cst")
    g = _load(b, jobgen, "seq_cst")

    def field(k):
        return b.load_atomic(_word(b, ctl, k), "monotonic", 8, typ=I64)

    kind, job_nth, entry_i, blocks_i, k, stride = (field(i) for i in (
        18, 22, 17, 19, 20, 21))
    # a worker outside job g's threads may read its fields while the next
    # job is posted: read them again if the generation moved on
    moved = b.icmp_signed("!=", _load(b, jobgen, "seq_cst"), g)
    go = fn.append_basic_block("go")
    again = fn.append_basic_block("again")
    b.cbranch(moved, again, go)
    with b.goto_block(again):
        b.atomic_rmw("sub", inside, _c(1), "seq_cst")
        b.branch(loop)
    b.position_at_end(go)
    _store(b, g, seen_p, "monotonic")  # (the poster reads it)
    with b.if_then(b.icmp_signed("==", kind, _c(2))):
        b.atomic_rmw("sub", inside, _c(1), "seq_cst")
        b.ret(_c(0))
    with b.if_then(b.icmp_signed("<", tid, job_nth)):
        if _futex_number(module) is not None:
            _move_off(b, module, ctl, tid)
        with b.if_then(_admit(b, fn, ctl, g)):
            blocks = b.inttoptr(blocks_i, PTR)
            _call_entry(b, entry_i, kind, tid, job_nth, blocks, k, stride)
            _leave(b, module, ctl)
    b.atomic_rmw("sub", inside, _c(1), "seq_cst")
    b.branch(loop)


def _sched_getcpu(b):
    return b.sext(b.call(declare(b.module, "sched_getcpu", ir.FunctionType(I32, [])), []), I64)


PARKED, SEEN, CPU = 0, 1, 2  # worker t's words: ctl[32 + 8t + k]


def _worker_word(b, ctl, t, k):
    """ctl[32 + 8t + k], a word of worker t (t an i64 value): PARKED,
    SEEN (the last job generation it saw) or CPU (where it last picked
    up a job, -1: none yet)."""
    return _word(b, ctl, b.add(_c(32 + k), b.mul(t, _c(8))))


def _move_away(b, module, avoid):
    """Move the calling thread off the CPUs avoid(mark) marks (mark(cpu)
    emits setting a bit), if its affinity mask allows another one: take
    them out of the mask, which moves the thread at once, then put the
    mask back, which leaves it where it is (two system calls)."""
    from .loops import for_range

    fn = b.function
    entry = fn.entry_basic_block
    with b.goto_block(entry):
        b.position_at_start(entry)
        masks = [b.alloca(ir.ArrayType(I64, MASK_BYTES // 8)) for _ in range(3)]
        left = b.alloca(I64)
    mask, moved, marks = (b.bitcast(m, PTR) for m in masks)
    words = MASK_BYTES // 8
    with for_range(b, _c(words), name="z") as i:
        b.store(_c(0), _word(b, marks, i))

    def mark(cpu):
        with b.if_then(b.icmp_unsigned("<", cpu, _c(MASK_BYTES * 8))):
            w = _word(b, marks, b.lshr(cpu, _c(6)))
            b.store(b.or_(b.load(w, typ=I64),
                          b.shl(_c(1), b.and_(cpu, _c(63)))), w)

    avoid(mark)
    zero32 = ir.Constant(I32, 0)
    getaff = declare(module, "sched_getaffinity", ir.FunctionType(I32, [I32, I64, PTR]))
    setaff = declare(module, "sched_setaffinity", ir.FunctionType(I32, [I32, I64, PTR]))
    got = b.call(getaff, [zero32, _c(MASK_BYTES), mask])
    with b.if_then(b.icmp_signed("==", got, zero32)):
        b.store(_c(0), left)
        with for_range(b, _c(words), name="m") as i:
            w = b.and_(b.load(_word(b, mask, i), typ=I64),
                       b.not_(b.load(_word(b, marks, i), typ=I64)))
            b.store(w, _word(b, moved, i))
            b.store(b.or_(b.load(left, typ=I64), w), left)
        with b.if_then(b.icmp_signed("!=", b.load(left, typ=I64), _c(0))):
            b.call(setaff, [zero32, _c(MASK_BYTES), moved])
            b.call(setaff, [zero32, _c(MASK_BYTES), mask])


def _move_off(b, module, ctl, tid):
    """A worker about to run a job on the CPU its caller posted it from
    moves to another CPU it may run on, then records where it runs
    (Linux).

    Linux wakes a thread sleeping on a futex near its waker, and a thread
    that ran there moments ago counts as cache-hot, which the load balancer
    does not move: a worker once woken onto the caller's CPU (while the
    other one was busy: compiling, say) could stay there, the caller
    running steps back to back and the worker getting the CPU only when
    the caller was preempted (a two-thread batch-1 step then took 28-130
    us instead of 14-17, in about half of fresh processes). The caller
    checks the same from its side (_caller_move_off): a worker that cannot
    run cannot move itself."""
    here = _sched_getcpu(b)
    caller = _load(b, _word(b, ctl, CALLER_CPU_WORD), "monotonic")
    mine = _worker_word(b, ctl, tid, CPU)
    _store(b, here, mine, "monotonic")
    with b.if_then(b.icmp_signed("==", here, caller), likely=False):
        _move_away(b, module, lambda mark: mark(here))
        _store(b, _sched_getcpu(b), mine, "monotonic")


def _caller_move_off(b, module, ctl, nth):
    """The thread posting a job moves to a CPU none of the job's workers
    last ran a job on (if its mask allows one) when an awake worker last
    ran one on this CPU: it may be queued behind this thread, which would
    run the whole job itself (_move_off). Then it records its CPU for the
    workers."""
    from .loops import for_range

    here = _sched_getcpu(b)
    _store(b, here, _word(b, ctl, CALLER_CPU_WORD), "monotonic")
    fn = b.function
    with b.goto_block(fn.entry_basic_block):
        b.position_at_start(fn.entry_basic_block)
        hit = b.alloca(I64)
    b.store(_c(0), hit)
    with for_range(b, b.sub(nth, _c(1)), name="h") as w:
        t = b.add(w, _c(1))
        cpu = _load(b, _worker_word(b, ctl, t, CPU), "monotonic")
        awake = b.icmp_signed("==", _load(b, _worker_word(b, ctl, t, PARKED),
                                       "monotonic"), _c(0))
        behind = b.and_(awake, b.icmp_signed("==", cpu, here))
        b.store(b.or_(b.load(hit, typ=I64), b.zext(behind, I64)), hit)
    with b.if_then(b.icmp_signed("!=", b.load(hit, typ=I64), _c(0)),
                   likely=False):
        def avoid(mark):
            mark(here)
            with for_range(b, b.sub(nth, _c(1)), name="a") as w:
                cpu = _load(b, _worker_word(b, ctl, b.add(w, _c(1)), CPU),
                            "monotonic")
                mark(cpu)
        _move_away(b, module, avoid)
        _store(b, _sched_getcpu(b), _word(b, ctl, CALLER_CPU_WORD), "monotonic")


def _admit(b, fn, ctl, g):
    """An i1: the worker is admitted to job g (counted in ctl[ADMIT_WORD]),
    false once the job's admission is closed or a later job is posted."""
    word = _word(b, ctl, ADMIT_WORD)
    tag = b.and_(g, _c(0xFFFFFFFF))
    head = fn.append_basic_block("admit.head")
    cas = fn.append_basic_block("admit.cas")
    end = fn.append_basic_block("admit.end")
    b.branch(head)
    b.position_at_end(head)
    old = _load(b, word, "seq_cst")
    open_ = b.and_(b.icmp_signed("==", b.lshr(old, _c(32)), tag),
                   b.icmp_signed("==", b.and_(old, _c(ADMIT_CLOSED)), _c(0)))
    b.cbranch(open_, cas, end)
    b.position_at_end(cas)
    pair = b.cmpxchg(word, old, b.add(old, _c(1)), "seq_cst", "seq_cst")
    b.cbranch(b.extract_value(pair, 1), end, head)
    b.position_at_end(end)
    got = b.phi(ir.IntType(1))
    got.add_incoming(ir.Constant(ir.IntType(1), 0), head)
    got.add_incoming(ir.Constant(ir.IntType(1), 1), cas)
    return got


def _leave(b, module, ctl):
    """An admitted worker leaves the job's entry (waking thread 0 if it
    sleeps waiting for that)."""
    word = _word(b, ctl, ADMIT_WORD)
    old = b.atomic_rmw("sub", word, _c(1), "seq_cst")
    nr = _futex_number(module)
    if nr is not None:
        asleep = b.icmp_signed("!=", b.and_(old, _c(ADMIT_ASLEEP)), _c(0))
        with b.if_then(asleep, likely=False):
            _futex_wake(b, nr, word)


def _close_admission(b, module, fn, ctl, is_x86):
    """Thread 0, its part of the job done: close admission and wait until
    every admitted worker has left the entry (they are past their last
    chunk: every unit is done)."""
    word = _word(b, ctl, ADMIT_WORD)
    old = b.atomic_rmw("or", word, _c(ADMIT_CLOSED), "seq_cst")
    count = b.and_(old, _c(ADMIT_COUNT))
    with b.if_then(b.icmp_signed("!=", count, _c(0)), likely=False):
        spin = _budget(b, _load(b, _word(b, ctl, SPIN_WORD), "monotonic"),
                       SPIN_CYCLES)
        clock = intrinsic(module, "llvm.readcyclecounter", I64, [])
        t0 = b.call(clock, [])
        head = fn.append_basic_block("close.head")
        body = fn.append_basic_block("close.body")
        end = fn.append_basic_block("close.end")
        b.branch(head)
        b.position_at_end(head)
        now = _load(b, word, "seq_cst")
        b.cbranch(b.icmp_signed("==", b.and_(now, _c(ADMIT_COUNT)), _c(0)),
                  end, body)
        b.position_at_end(body)
        nr = _futex_number(module)
        sleep = None
        if nr is not None:
            def sleep():
                v = b.atomic_rmw("or", word, _c(ADMIT_ASLEEP), "seq_cst")
                left = b.icmp_signed("!=", b.and_(v, _c(ADMIT_COUNT)), _c(0))
                with b.if_then(left):
                    _futex_sleep(b, nr, word, b.or_(v, _c(ADMIT_ASLEEP)))
        _backoff(b, fn, t0, is_x86, sleep, spin)
        b.branch(head)
        b.position_at_end(end)


def _call_entry(b, entry_i, kind, tid, nth, blocks, k, stride):
    with b.if_else(b.icmp_signed("==", kind, _c(0))) as (one, many):
        with one:
            b.call(b.inttoptr(entry_i, STEP_FN.as_pointer()), [tid, nth, blocks])
        with many:
            b.call(b.inttoptr(entry_i, STEPS_FN.as_pointer()),
                   [tid, nth, blocks, k, stride])


def _run(module, is_x86):
    fn = ir.Function(module, ir.FunctionType(
        VOID, [PTR, I64, I64, I64, PTR, I64, I64]), "gk_run")
    ctl, nth, entry, kind, blocks, k, stride = fn.args
    b = ir.IRBuilder(fn.append_basic_block("entry"))
    _call_entry(b, entry, kind, _c(0), nth, blocks, k, stride)
    _close_admission(b, module, fn, ctl, is_x86)
    b.ret_void()


def _publish(b, module, ctl, nth, entry, kind, blocks, k, stride):
    """Write the job's fields, bump the generation, wake the workers
    asleep on it."""
    for i, v in ((17, entry), (18, kind), (19, blocks), (20, k), (21, stride),
                 (22, nth)):
        _store(b, v, _word(b, ctl, i), "monotonic")
    if _futex_number(module) is not None:  # (Linux: see _move_off)
        _caller_move_off(b, module, ctl, nth)
    gen = _word(b, ctl, 16)
    # admission opens for the new generation before workers can see it
    g1 = b.add(_load(b, gen, "seq_cst"), _c(1))
    _store(b, b.shl(b.and_(g1, _c(0xFFFFFFFF)), _c(32)),
           _word(b, ctl, ADMIT_WORD), "seq_cst")
    b.atomic_rmw("add", gen, _c(1), "seq_cst")
    nr = _futex_number(module)
    if nr is not None:  # workers asleep on the generation
        with b.if_then(b.icmp_signed("!=", _load(b, _word(b, ctl, 26), "seq_cst"),
                                     _c(0))):
            _futex_wake(b, nr, gen)


def _post(module):
    fn = ir.Function(module, ir.FunctionType(
        I64, [PTR, I64, I64, I64, I64, I64, I64]), "gk_post")
    ctl, nth, entry, kind, blocks, k, stride = fn.args
    b = ir.IRBuilder(fn.append_basic_block("entry"))
    _publish(b, module, ctl, nth, entry, kind, blocks, k, stride)
    mask = b.alloca(I64)
    b.store(_c(0), mask)
    from .loops import for_range

    with for_range(b, b.sub(nth, _c(1)), name="w") as w:
        t = b.add(w, _c(1))
        old = b.atomic_rmw("xchg", _worker_word(b, ctl, t, PARKED),
                           _c(0), "seq_cst")
        bit = b.shl(b.and_(old, _c(1)), t)
        b.store(b.or_(b.load(mask, typ=I64), bit), mask)
    b.ret(b.load(mask, typ=I64))


BUSY = 8  # ctl word: the pool is running a job


def _launch(module):
    from .loops import for_range

    busy_fns = []
    for name in ("gk_try_acquire", "gk_release"):
        f = ir.Function(module, ir.FunctionType(
            I64 if name == "gk_try_acquire" else VOID, [PTR]), name)
        b = ir.IRBuilder(f.append_basic_block("entry"))
        if name == "gk_try_acquire":
            pair = b.cmpxchg(_word(b, f.args[0], BUSY), _c(0), _c(1),
                             "seq_cst", "seq_cst")
            b.ret(b.zext(b.extract_value(pair, 1), I64))
        else:
            _store(b, _c(0), _word(b, f.args[0], BUSY), "seq_cst")
            b.ret_void()
        busy_fns.append(f)
    acquire, release = busy_fns
    fn = ir.Function(module, LAUNCH_FN, "gk_launch")
    ctl, nth, entry, kind, blocks, k, stride = fn.args
    b = ir.IRBuilder(fn.append_basic_block("entry"))
    with b.if_then(b.icmp_signed("==", b.call(acquire, [ctl]), _c(0))):
        b.ret(_c(-1))
    parked = b.alloca(I64)
    b.store(_c(0), parked)
    with for_range(b, b.sub(nth, _c(1)), name="w") as w:
        t = b.add(w, _c(1))
        flag = _load(b, _worker_word(b, ctl, t, PARKED),
                     "seq_cst")
        b.store(b.or_(b.load(parked, typ=I64), flag), parked)
    with b.if_then(b.icmp_signed("!=", b.load(parked, typ=I64), _c(0))):
        b.call(release, [ctl])
        b.ret(_c(-2))
    _publish(b, module, ctl, nth, entry, kind, blocks, k, stride)
    run = module.globals["gk_run"]
    b.call(run, [ctl, nth, entry, kind, b.inttoptr(blocks, PTR), k, stride])
    b.call(release, [ctl])
    b.ret(_c(0))
