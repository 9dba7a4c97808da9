"""The thread pool's and the executables' locks survive Ctrl-C at any
point and fork (issue 15). Each case runs in a subprocess with a timeout:
a hang is the bug being tested for."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))

_SETUP = textwrap.dedent("""
    import os, signal, sys, threading, time
    import numpy as np
    from graphkeras import ir
    from graphkeras.runtime import Program, StateStore
    from graphkeras.runtime.compiled import CompiledExecutable
    from graphkeras.runtime import thread_pool as T

    b = ir.Builder("mm")
    x = b.param("x", ("N", 96))
    w = b.param("w", (96, 96))
    fn = b.build([b.matmul(x, w)])
    prog = Program(fn, state=("w",), inputs=("x",), updates=(), outputs=(0,))
    store = StateStore()
    rng = np.random.default_rng(0)
    wv = rng.normal(size=(96, 96)).astype(np.float32)
    store.define("w", ir.TensorType((96, 96)), wv)
    exe = CompiledExecutable(prog, store, threads=2)
    xv = rng.normal(size=(64, 96)).astype(np.float32)
    want = xv @ wv

    def check(out):
        np.testing.assert_allclose(out, want, rtol=1e-4, atol=1e-4)

    check(exe.run([xv])[0])
    pool = T.thread_pool(2)
""")


def _run(body: str, timeout: float = 90):
    code = _SETUP + textwrap.dedent(body)
    env = dict(os.environ, GRAPHKERAS_NUM_THREADS="2",
               PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    try:
        r = subprocess.run([sys.executable, "-c", code], env=env,
                           timeout=timeout, capture_output=True, text=True)
    except subprocess.TimeoutExpired:
        pytest.fail("the child hung")
    assert r.returncode == 0, r.stderr[-3000:]
    return r.stdout


@pytest.mark.parametrize("where", ["acquire", "post", "run", "launch"])
def test_ctrl_c_at_any_point_of_a_job_leaves_the_pool_usable(where):
    """SIGINT lands right after the pool's lock is taken, right after a
    job is posted, right after thread 0's part (the path that wakes parked
    workers: forced here), right after the one-call launch: the
    KeyboardInterrupt reaches the caller, and afterwards the pool is
    free, steps run on two threads again with the right result, and the
    interpreter exits."""
    _run(f"""
        where = {where!r}

        class Lock:  # the pool's lock, with a Ctrl-C right after acquire
            def __init__(self, real):
                self.real, self.arm = real, False
            def acquire(self, *a, **k):
                got = self.real.acquire(*a, **k)
                if self.arm and got:
                    self.arm = False
                    os.kill(os.getpid(), signal.SIGINT)
                return got
            def release(self):
                self.real.release()
            def locked(self):
                return self.real.locked()
            __enter__ = lambda self: self.acquire()
            __exit__ = lambda self, *e: self.release()

        class Native:  # the native entries, with a Ctrl-C after one
            def __init__(self, real):
                self.real, self.arm = real, None
                self.parked = False
            def __getattr__(self, name):
                fn = getattr(self.real, name)
                if name == "launch" and self.parked:
                    return lambda *a: -2  # "a worker is parked"
                if name != self.arm:
                    return fn
                def wrapped(*a):
                    out = fn(*a)
                    self.arm = None
                    os.kill(os.getpid(), signal.SIGINT)
                    return out
                return wrapped

        pool._lock = Lock(pool._lock)
        pool.native = Native(pool.native)
        granted = []
        real_job = pool.job
        def job(n):
            cm = real_job(n)
            class Spy:
                def __enter__(s):
                    g = cm.__enter__(); granted.append(g); return g
                def __exit__(s, *e):
                    return cm.__exit__(*e)
            return Spy()
        pool.job = job
        launched = []
        real_launch = pool.launch
        def launch(*a):
            launched.append(real_launch(*a))
            return launched[-1]
        pool.launch = launch

        # the executable's own one-call launch (gk_call_threads): the
        # pool's paths above for the pool's cases and whenever a worker is
        # "parked"; for the launch case the Ctrl-C lands right after it
        real_call_threads = exe.native.call_threads
        def call_threads(n):
            if where != "launch" or pool.native.parked:
                return -2  # (as gk_launch says when a worker is parked)
            out = real_call_threads(n)
            if pool.native.arm == "launch":
                pool.native.arm = None
                os.kill(os.getpid(), signal.SIGINT)
            return out
        exe.native.call_threads = call_threads

        interrupted = 0
        for i in range(5):
            pool.native.parked = where != "launch"
            if where == "acquire":
                pool._lock.arm = True
            else:
                pool.native.arm = where
            try:
                out = exe.run([xv])[0]
                for _ in range(100):  # a signal after the call lands here
                    pass
            except KeyboardInterrupt:
                interrupted += 1
                continue
            check(out)
        assert interrupted == 5, interrupted
        assert not pool._lock.locked(), "the pool's lock was left held"
        assert pool.ctl[8] == 0, "the pool was left taken"
        granted.clear()
        pool.native.parked = True
        check(exe.run([xv])[0])
        assert granted == [2], granted  # two threads again (slow path)
        pool.native.parked = False
        launched.clear()
        gen = int(pool.ctl[16])
        check(exe.run([xv])[0])
        assert pool.ctl[16] == gen + 1  # a two-thread job again
        if where != "launch":
            assert launched == [True], launched  # through the pool's launch
        print("ok")
    """)


def test_forked_child_uses_a_model_that_was_mid_step():
    """The fork happens while another thread of the parent holds the
    executable's and the pool's locks (as in the middle of a step): the
    child runs the model without hanging."""
    _run("""
        held = threading.Event()
        go = threading.Event()
        def hold():
            with exe._lock, pool._lock:
                held.set()
                go.wait(30)
        t = threading.Thread(target=hold, daemon=True)
        t.start()
        held.wait(10)
        pid = os.fork()
        if pid == 0:
            try:
                check(exe.run([xv])[0])
                check(exe.run([xv])[0])
                os._exit(0)
            except BaseException as e:
                print(repr(e), file=sys.stderr)
                os._exit(3)
        go.set()
        t.join()
        deadline = time.time() + 60
        while True:
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                break
            if time.time() > deadline:
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
                raise SystemExit("the forked child hung")
            time.sleep(0.05)
        assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0, status
        check(exe.run([xv])[0])
        print("ok")
    """)


def test_close_does_not_block_when_the_lock_is_stuck():
    _run("""
        T.CLOSE_TIMEOUT = 0.5
        assert pool._lock.acquire(blocking=False)  # a job that never ends
        t0 = time.time()
        pool.close()
        assert time.time() - t0 < 5
        print("ok")
    """)
