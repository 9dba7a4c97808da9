"""scatter / scatter_update / slice_update, segment_min / segment_prod,
the Fourier transforms, stft / istft, extract_sequences and the window
functions against Keras 3's numbers (fixtures/make_keras_ops_more.py):
eagerly, traced and compiled (against the interpreter and the fixture),
and their gradients against finite differences in float64."""

import os
import sys

import numpy as np
import pytest

from graphkeras import ir, ops
from graphkeras.frontend.tracing import Trace
from graphkeras.passes.differentiate import differentiate

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "codegen"))
from compiled_helpers import check_compiled  # noqa: E402

F = np.load(os.path.join(os.path.dirname(__file__), "fixtures",
                         "keras_ops_more.npz"))
RNG = np.random.default_rng(7)


def _want(key):
    if key in F:
        return F[key]
    return tuple(F[f"{key}_{i}"] for i in range(2))


STFT = {"hann": (10, 4, 16, "hann", True),
        "hamming": (8, 5, 8, "hamming", False),
        "none": (12, 6, 16, None, True),
        "array": (6, 3, 8, np.linspace(0.2, 1.0, 6), True)}

# (fixture key, function of the fixture's inputs, names of those inputs)
CASES = [
    ("scatter", lambda upd: ops.scatter(F["idx"], upd, (4, 3, 2)), ["upd"]),
    ("scatter_update_None", lambda b, u: ops.scatter_update(
        b, F["idx"][1:], u[1:]), ["base", "upd"]),
    *[(f"scatter_update_{r}", lambda b, u, r=r: ops.scatter_update(
        b, F["idx"], u, reduction=r), ["base", "upd"])
      for r in ("add", "max", "min", "mul")],
    ("slice_update", lambda b, u: ops.slice_update(b, (1, 1, 0), u),
     ["base", "block"]),
    ("slice_update_clamped", lambda b, u: ops.slice_update(b, (3, 2, 0), u),
     ["base", "block"]),
    ("segment_min", lambda d: ops.segment_min(d, F["seg"], num_segments=4),
     ["data"]),
    ("segment_prod", lambda d: ops.segment_prod(d, F["seg"], num_segments=4),
     ["data"]),
    ("fft", lambda re, im: ops.fft((re, im)), ["re", "im"]),
    ("fft2", lambda re, im: ops.fft2((re, im)), ["re", "im"]),
    ("ifft2", lambda re, im: ops.ifft2((re, im)), ["re", "im"]),
    ("rfft", lambda re: ops.rfft(re), ["re"]),
    ("rfft_8", lambda re: ops.rfft(re, fft_length=8), ["re"]),
    ("rfft_4", lambda re: ops.rfft(re, fft_length=4), ["re"]),
    ("irfft", lambda re, im: ops.irfft((re, im)), ["re", "im"]),
    ("irfft_7", lambda re, im: ops.irfft((re, im), fft_length=7),
     ["re", "im"]),
    ("extract", lambda s: ops.extract_sequences(s, 8, 3), ["sig"]),
    *[(f"stft_{k}", lambda s, a=a: ops.stft(
        s, a[0], a[1], a[2], window=a[3], center=a[4]), ["sig"])
      for k, a in STFT.items()],
    *[(f"istft_{k}", lambda re, im, a=a: ops.istft(
        (re, im), a[0], a[1], a[2], window=a[3], center=a[4]),
       [f"stft_{k}_0", f"stft_{k}_1"]) for k, a in STFT.items()],
    ("istft_length", lambda s: ops.istft(ops.stft(s, 10, 4, 16), 10, 4, 16,
                                         length=30), ["sig"]),
]
IDS = [c[0] for c in CASES]


def _close(got, want, rtol=2e-5, atol=2e-5):
    got = got if isinstance(got, tuple) else (got,)
    want = want if isinstance(want, tuple) else (want,)
    assert len(got) == len(want)
    for g, w in zip(got, want):
        assert np.shape(g) == np.shape(w)
        np.testing.assert_allclose(g, w, rtol=rtol, atol=atol)


@pytest.mark.parametrize("key,fn,names", CASES, ids=IDS)
def test_eager_matches_keras(key, fn, names):
    _close(fn(*[F[n] for n in names]), _want(key))


def _trace(fn, arrays):
    trace = Trace()
    with trace:
        ins = [trace.input(f"x{i}", a.shape, str(a.dtype))
               for i, a in enumerate(arrays)]
        out = fn(*ins)
    outs = out if isinstance(out, tuple) else (out,)
    return trace.builder.build([o.value for o in outs])


@pytest.mark.parametrize("key,fn,names", CASES, ids=IDS)
def test_compiled_matches_interpreter_and_keras(key, fn, names):
    arrays = [F[n] for n in names]
    f = _trace(fn, arrays)
    check_compiled(f, arrays, what=key)
    _close(tuple(ir.interpret(f, arrays)), _want(key) if isinstance(
        _want(key), tuple) else (_want(key),))


GRADS = ["scatter", "scatter_update_None", "scatter_update_add",
         "scatter_update_max", "scatter_update_mul", "slice_update",
         "segment_min", "segment_prod", "fft2", "ifft2", "rfft_8", "irfft_7",
         "extract", "stft_hann", "istft_hann", "istft_length"]


@pytest.mark.parametrize("key", GRADS)
def test_gradients_match_finite_differences(key):
    _, fn, names = CASES[IDS.index(key)]
    arrays = [F[n].astype("float64") for n in names]
    outs = fn(*arrays)
    outs = outs if isinstance(outs, tuple) else (outs,)
    # empty segments are +-inf: weighted 0
    ws = [np.where(np.isfinite(o), RNG.normal(size=np.shape(o)), 0.0)
          for o in outs]

    def value(*xs):
        o = fn(*xs)
        o = o if isinstance(o, tuple) else (o,)
        with np.errstate(invalid="ignore"):  # inf * 0, then dropped
            return sum(float(np.sum(np.where(w != 0, np.asarray(a) * w, 0.0)))
                       for a, w in zip(o, ws))

    trace = Trace()
    with trace:
        ins = [trace.input(f"x{i}", a.shape, "float64")
               for i, a in enumerate(arrays)]
        o = fn(*ins)
        o = o if isinstance(o, tuple) else (o,)
        loss = ops.sum(ops.stack([ops.sum(ops.where(w != 0, ops.multiply(
            a, w), 0.0)) for a, w in zip(o, ws)]))
    f = trace.builder.build([loss.value])
    grads = ir.interpret(differentiate(f, wrt=list(f.params)), arrays)[1:]
    ds = [RNG.normal(size=a.shape) for a in arrays]
    eps = 1e-6
    num = (value(*[a + eps * d for a, d in zip(arrays, ds)])
           - value(*[a - eps * d for a, d in zip(arrays, ds)])) / (2 * eps)
    got = sum(float(np.sum(g * d)) for g, d in zip(grads, ds))
    np.testing.assert_allclose(got, num, rtol=1e-5, atol=1e-8)


def test_windows_match_keras():
    for name in ("hamming", "hanning", "bartlett", "blackman"):
        got = getattr(ops, name)(9)
        assert got.dtype == F[name].dtype, name
        np.testing.assert_allclose(got, F[name], rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(ops.kaiser(9, 2.5), F["kaiser"], rtol=1e-6)
    assert ops.numpy.hamming is ops.hamming


def test_namespaces_and_errors():
    assert ops.nn.ctc_loss is ops.ctc_loss
    with pytest.raises(ValueError, match="tuple of two tensors"):
        ops.fft(F["re"])
    with pytest.raises(ValueError, match=r"Received: x\[0\].shape = \(2, 5, 6\)"):
        ops.fft((F["re"], F["re"][:, :1]))
    with pytest.raises(ValueError, match="`fft_length` must equal or larger"):
        ops.stft(F["sig"], 10, 4, 8)
    with pytest.raises(ValueError, match="must be one of"):
        ops.stft(F["sig"], 10, 4, 16, window="blackman")
    with pytest.raises(ValueError, match="Unsupported reduction: avg"):
        ops.scatter_update(F["base"], F["idx"], F["upd"], reduction="avg")
    with pytest.raises(ValueError, match="sequence_length=50"):
        ops.extract_sequences(F["sig"], 50, 1)
