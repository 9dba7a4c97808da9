"""The latency path of a compiled predict (W4 at batch 1): `run1`, the
one-call thread launch, and Model.predict_on_batch's fast path.

Results equal the reference interpreter for every batch size (1 and odd
sizes included) and both thread counts; each call returns fresh arrays
(a later call never overwrites an earlier result); arrays the fast path
must not take (wrong dtype, shape, order, an ndarray subclass) get the
checks and errors of `run`, naming the input; and a call with other sizes
that is not all ndarrays voids the fast path, so the next call with the
old sizes never runs with the slot table of the other (native code would
read and write past the arrays)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import graphkeras as keras
from graphkeras import ir
from graphkeras.ir import interpret
from graphkeras.runtime import Program, StateStore
from graphkeras.runtime.compiled import CompiledExecutable

K, H, O = 37, 19, 3  # odd sizes: masked vector edges everywhere


def _mlp_program():
    b = ir.Builder("mlp")
    x = b.param("x", ("N", K))
    w0, b0 = b.param("w0", (K, H)), b.param("b0", (H,))
    w1, b1 = b.param("w1", (H, O)), b.param("b1", (O,))
    h = b.relu(b.add(b.matmul(x, w0), b0))
    y = b.add(b.matmul(h, w1), b1)
    fn = b.build([y, h])
    return Program(fn, state=("w0", "b0", "w1", "b1"), inputs=("x",),
                   updates=(), outputs=(0, 1))


_PROG = _mlp_program()
_RNG = np.random.default_rng(0)
_WEIGHTS = {p.name: _RNG.normal(size=p.type.shape).astype(np.float32)
            for p in _PROG.fn.params if p.name != "x"}
_EXES: dict = {}


def _exe(threads):
    if threads not in _EXES:
        store = StateStore()
        for name, v in _WEIGHTS.items():
            store.define(name, ir.TensorType(v.shape), v)
        _EXES[threads] = CompiledExecutable(_PROG, store, threads=threads)
    return _EXES[threads]


def _want(x):
    return interpret(_PROG.fn, dict(_WEIGHTS, x=np.asarray(x, np.float32)))


def _check(got, x):
    want = _want(x)
    assert len(got) == len(want)
    for g, w in zip(got, want):
        assert g.shape == w.shape and g.dtype == np.float32
        np.testing.assert_allclose(g, w, rtol=1e-5, atol=1e-5)


@settings(max_examples=25, deadline=None, derandomize=True)
@given(batches=st.lists(st.sampled_from([1, 1, 2, 3, 7, 33]), min_size=2,
                        max_size=6),
       threads=st.sampled_from([1, 2]), seed=st.integers(0, 2**16))
def test_run1_equals_the_reference_and_returns_fresh_arrays(batches, threads,
                                                            seed):
    exe = _exe(threads)
    rng = np.random.default_rng(seed)
    kept = []
    for n in batches:
        for _ in range(2):  # the second call of a size takes the fast path
            x = rng.normal(size=(n, K)).astype(np.float32)
            got = exe.run1(x)
            _check(got, x)
            kept.append((x, [g.copy() for g in got], got))
    for x, copies, got in kept:  # no later call wrote into an earlier result
        for c, g in zip(copies, got):
            np.testing.assert_array_equal(c, g)


def test_run1_checks_what_it_is_given():
    exe = _exe(1)
    x = _RNG.normal(size=(1, K)).astype(np.float32)
    _check(exe.run1(x), x)
    with pytest.raises(ValueError, match='Input "x" must have dtype float32, '
                                         "received float64"):
        exe.run1(x.astype(np.float64))
    with pytest.raises(ValueError, match=r'Input "x" must have shape '
                                         r"f32\[N,37\], received \(1, 36\)"):
        exe.run1(x[:, :36].copy())
    with pytest.raises(ValueError, match=r'Input "x" must have shape .*'
                                         r"received \(37,\)"):
        exe.run1(x[0])
    wide = np.zeros((3, 2 * K), np.float32)
    with pytest.raises(ValueError, match='Input "x" must be C-contiguous'):
        exe.run1(wide[:, ::2])
    ro = x.copy()
    ro.flags.writeable = False  # read-only arrays are fine
    _check(exe.run1(ro), ro)
    _check(exe.run1(x), x)  # and the fast path works after the refusals


class _Sub(np.ndarray):
    pass


@pytest.mark.parametrize("threads", [1, 2])
def test_a_call_with_other_sizes_voids_the_fast_path(threads):
    """ndarray batch 2 (fast path prepared), an ndarray subclass of batch
    50 (run binds it, but it prepares no fast path), batch 2 again: the
    slot table must get batch 2's sizes back."""
    exe = _exe(threads)
    small = _RNG.normal(size=(2, K)).astype(np.float32)
    big = _RNG.normal(size=(50, K)).astype(np.float32)
    for run in (exe.run1, lambda a: exe.run([a])):
        _check(run(small), small)
        _check(run(small), small)
        _check(exe.run([big.view(_Sub)]), big)
        _check(run(small), small)


def test_predict_on_batch_fast_path_equals_the_reference():
    keras.utils.set_random_seed(1)
    model = keras.Sequential([keras.Input((K,)),
                              keras.layers.Dense(H, activation="relu"),
                              keras.layers.Dense(O, activation="softmax")])
    w0, b0, w1, b1 = model.get_weights()

    def want(x):
        h = np.maximum(x.astype(np.float64) @ w0 + b0, 0)
        z = h @ w1 + b1
        e = np.exp(z - z.max(axis=1, keepdims=True))
        return e / e.sum(axis=1, keepdims=True)

    rng = np.random.default_rng(3)
    outs = []
    for n in (1, 1, 1, 5, 1, 1):
        x = rng.normal(size=(n, K)).astype(np.float32)
        got = model.predict_on_batch(x)
        np.testing.assert_allclose(got, want(x), rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(model.predict(x, verbose=0), want(x),
                                   rtol=1e-5, atol=1e-6)
        outs.append((got, got.copy()))
    for got, copy in outs:
        np.testing.assert_array_equal(got, copy)
    # new weights are seen by the next call
    model.set_weights([w0, b0, 2 * w1, b1])
    w1 = 2 * w1
    x = rng.normal(size=(1, K)).astype(np.float32)
    np.testing.assert_allclose(model.predict_on_batch(x), want(x), rtol=1e-5,
                               atol=1e-6)
    # what the fast path refuses still works, or fails naming the input
    np.testing.assert_allclose(model.predict_on_batch(x.astype(np.float64)),
                               want(x), rtol=1e-5, atol=1e-6)
    wide = np.repeat(x, 2, axis=1)
    np.testing.assert_allclose(model.predict_on_batch(wide[:, ::2]), want(x),
                               rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match=r"expected shape=\(None, 37\), "
                                         r"found shape=\(None, 30\)"):
        model.predict_on_batch(x[:, :30].copy())
    np.testing.assert_allclose(model.predict_on_batch(x), want(x), rtol=1e-5,
                               atol=1e-6)


def test_addresses_read_from_the_array_object_are_numpys():
    from graphkeras.runtime import compiled

    assert compiled._DATA_OFFSET is not None  # CPython's and NumPy's layout
    base = np.arange(1000, dtype=np.float32)
    ro = base.copy()
    ro.flags.writeable = False
    arrays = [base, base[7:], base.reshape(10, 100)[3], ro, ro[5:],
              np.empty((0, 4), np.float32), base.view(_Sub),
              np.frombuffer(bytes(64), np.float32)[2:],
              np.zeros((3, 5), np.float64).T]
    for a in arrays:
        assert compiled._addr(a) == a.__array_interface__["data"][0]
