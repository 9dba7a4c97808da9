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
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "fixtures"))
from compiled_helpers import check_compiled  # noqa: E402
from ops_more_cases import MEL, STFT, STFT_LAYER  # noqa: E402

F = np.load(os.path.join(os.path.dirname(__file__), "fixtures",
                         "keras_ops_more.npz"))
RNG = np.random.default_rng(7)


def _want(key):
    if key in F:
        return F[key]
    n = 0
    while f"{key}_{n}" in F:
        n += 1
    return tuple(F[f"{key}_{i}"] for i in range(n))


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
MORE = [
    *[(f"correlate_{m}", lambda v, w, m=m: ops.correlate(v, w, mode=m),
       ["v", "w"]) for m in ("valid", "same", "full")],
    *[(f"correlate_rev_{m}", lambda v, w, m=m: ops.correlate(w, v, mode=m),
       ["v", "w"]) for m in ("valid", "same", "full")],
    ("diagflat", lambda b: ops.diagflat(b[0], k=-1), ["block"]),
    ("histogram", lambda x: ops.histogram(x, bins=6), ["hist_x"]),
    ("histogram_range", lambda x: ops.histogram(x, bins=4, range=(-1.0, 1.0)),
     ["hist_x"]),
    ("i0", ops.i0, ["bx"]),
    ("gcd", ops.gcd, ["ia", "ib"]),
    ("lcm", ops.lcm, ["ia", "ib"]),
    ("ldexp", lambda x, i: ops.ldexp(x, ops.mod(ops.take(
        i, np.array([0, 1, 2, 3, 4, 5, 0, 1, 2])), 5)), ["bx", "ia"]),
    ("nanmedian", lambda x: ops.nanmedian(x, axis=1), ["nanx"]),
    *[(f"nanquantile_{m}", lambda x, m=m: ops.nanquantile(
        x, [0.1, 0.5, 0.8], axis=1, method=m), ["nanx"])
      for m in ("linear", "lower", "higher", "midpoint", "nearest")],
    ("nanpercentile", lambda x: ops.nanpercentile(x, 30.0, axis=1,
                                                  keepdims=True), ["nanx"]),
    ("rearrange_merge", lambda b: ops.rearrange(b, "a b c -> a (c b)"),
     ["base"]),
    ("rearrange_split", lambda b: ops.rearrange(b, "(a p) b c -> b a p c",
                                                p=2), ["base"]),
    ("unfold", lambda x: ops.unfold(x, kernel_size=(2, 3), dilation=(1, 2),
                                    padding=1, stride=(2, 1)), ["img"]),
    ("fold", lambda x: ops.fold(x, output_size=(5, 6), kernel_size=(2, 3),
                                dilation=(1, 2), padding=1, stride=(2, 1)),
     ["unfold"]),
    ("jvp", lambda v, w: ops.linalg.jvp(
        lambda a, b: ops.sin(a) * ops.exp(b),
        (v, ops.flip(v, 0)), (ops.repeat(w, 3)[:7], v * 0.5)), ["v", "w"]),
    ("vectorized_map", lambda m: ops.vectorized_map(
        lambda r: ops.sum(r * r), m), ["mat"]),
    ("associative_scan", lambda m: ops.associative_scan(
        lambda a, b: a * b, m[0], axis=1), ["mat"]),
]
MORE += [
    # with `size`, unique traces and compiles (JAX's padding)
    ("unique_size_all", lambda x: ops.unique(
        x, return_index=True, return_inverse=True, return_counts=True,
        size=6), ["ux2"]),
    ("unique_size_cut", lambda x: ops.unique(
        x, return_index=True, return_counts=True, size=3, fill_value=-1),
     ["ux2"]),
    *[(n, getattr(ops, n), ["bits_a", "bits_b"]) for n in (
        "bitwise_and", "bitwise_or", "bitwise_xor", "left_shift",
        "right_shift", "bitwise_left_shift", "bitwise_right_shift")],
    ("bitwise_invert", ops.bitwise_invert, ["bits_a"]),
    ("bitwise_not", ops.bitwise_not, ["bits_a"]),
    ("bitwise_and_bool", lambda a, b: ops.bitwise_and(
        ops.greater(a, 0), ops.greater(b, 2)), ["bits_a", "bits_b"]),
]
# eager only: NumPy computes them (data-dependent sizes, LAPACK, complex)
EAGER = [
    ("nextafter", lambda x: ops.nextafter(x, np.float32(1.0)), ["bx"]),
    ("unique", lambda x: ops.unique(x, return_index=True,
                                    return_inverse=True, return_counts=True),
     ["ux"]),
    ("unique_size", lambda x: ops.unique(x, size=6, fill_value=-1), ["ux"]),
    ("view", lambda x: ops.view(x, "int32"), ["bx"]),
    ("polar", lambda x: ops.polar(x[:4], x[4:8]), ["bx"]),
    ("svd_s", lambda m: ops.svd(m, compute_uv=False), ["mat"]),
    ("eigh_w", lambda m: ops.eigh(m)[0], ["sym"]),
    ("eig_w", lambda m: np.sort_complex(ops.eig(m[0])[0]), ["mat"]),
    ("lstsq", ops.lstsq, ["rect", "rhs"]),
    ("pinv", ops.pinv, ["rect"]),
    ("lu_factor", ops.lu_factor, ["mat"]),
    ("view_as_complex", lambda m: ops.view_as_complex(m[0, :, :2]), ["mat"]),
]
CASES += MORE
IDS = [c[0] for c in CASES]


def _close(got, want, rtol=2e-5, atol=2e-5):
    got = got if isinstance(got, tuple) else (got,)
    want = want if isinstance(want, tuple) else (want,)
    assert len(got) == len(want)
    for g, w in zip(got, want):
        assert np.shape(g) == np.shape(w)
        np.testing.assert_allclose(g, w, rtol=rtol, atol=atol)


@pytest.mark.parametrize("key,fn,names", CASES + EAGER,
                         ids=IDS + [c[0] for c in EAGER])
def test_eager_matches_keras(key, fn, names):
    _close(fn(*[F[n] for n in names]), _want(key))


def test_eager_only_ops_refuse_symbolic_tensors_and_agree_otherwise():
    trace = Trace()
    with trace:
        x = trace.input("x", (6,), "int32")
        m = trace.input("m", (4, 4), "float32")
        for fn, arg in ((ops.unique, x), (ops.nonzero, x), (ops.svd, m),
                        (ops.qr, m), (ops.eigh, m), (ops.pinv, m),
                        (lambda a: ops.view(a, "int32"), m)):
            with pytest.raises(ValueError, match="runs eagerly only"):
                fn(arg)
    q, r = ops.qr(F["rect"])
    np.testing.assert_allclose(q @ r, F["rect"], atol=1e-5)
    np.testing.assert_allclose(np.abs(r), np.abs(F["qr_1"]), atol=1e-5)
    np.testing.assert_array_equal(ops.matrix_rank(np.outer(F["v"][:4],
                                                           F["v"][:4])),
                                  F["matrix_rank"])
    _close(ops.nonzero(np.array([[0, 1, 0], [2, 0, 3]])), _want("nonzero"))
    # argpartition: a partition around kth (Keras's order inside the parts
    # is its backend's)
    x = F["hist_x"]
    idx = ops.argpartition(x, 7)
    assert np.all(x[idx[:7]] <= x[idx[7]]) and np.all(x[idx[8:]] >= x[idx[7]])


def _trace(fn, arrays):
    trace = Trace()
    with trace:
        ins = [trace.input(f"x{i}", a.shape, str(a.dtype))
               for i, a in enumerate(arrays)]
        out = fn(*ins)
    from graphkeras import tree

    outs = [o.value if hasattr(o, "value") else trace.builder.constant(
        np.asarray(o)) for o in tree.flatten(out)]  # constant bin edges
    return trace.builder.build(outs)


@pytest.mark.parametrize("key,fn,names", CASES, ids=IDS)
def test_compiled_matches_interpreter_and_keras(key, fn, names):
    arrays = [F[n] for n in names]
    f = _trace(fn, arrays)
    check_compiled(f, arrays, what=key)
    _close(tuple(ir.interpret(f, arrays)), _want(key) if isinstance(
        _want(key), tuple) else (_want(key),), rtol=5e-5)


GRADS = ["scatter", "scatter_update_None", "scatter_update_add",
         "scatter_update_max", "scatter_update_mul", "slice_update",
         "segment_min", "segment_prod", "fft2", "ifft2", "rfft_8", "irfft_7",
         "extract", "stft_hann", "istft_hann", "istft_length",
         "correlate_same", "correlate_rev_full", "diagflat", "i0",
         "nanquantile_linear", "rearrange_split", "unfold", "fold",
         "associative_scan", "vectorized_map"]


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


@pytest.mark.parametrize("name", sorted(MEL))
def test_mel_spectrogram_matches_keras_eager_and_compiled(name):
    import graphkeras as keras

    layer = keras.layers.MelSpectrogram(**MEL[name])
    want = F[f"mel_{name}"]
    # decibels: Keras computes in float32, so compare in dB; power: relative
    tol = {"atol": 2e-3} if MEL[name].get("power_to_db", True) else \
        {"rtol": 2e-4, "atol": 1e-6}
    np.testing.assert_allclose(layer(F["audio"]), want, **tol)
    inp = keras.Input((4000,))
    model = keras.Model(inp, layer(inp))
    assert model.output_shape == (None,) + want.shape[1:]
    np.testing.assert_allclose(model.predict(F["audio"], verbose=0), want,
                               **tol)
    again = keras.layers.MelSpectrogram.from_config(layer.get_config())
    np.testing.assert_allclose(again(F["audio"]), want, **tol)


@pytest.mark.parametrize("name", sorted(STFT_LAYER))
def test_stft_spectrogram_matches_keras_eager_and_compiled(name):
    import graphkeras as keras

    kw = STFT_LAYER[name]
    x = F["sig3"] if kw.get("data_format") != "channels_first" else \
        np.transpose(F["sig3"], (0, 2, 1))
    layer = keras.layers.STFTSpectrogram(**kw)
    want = F[f"stftl_{name}"]
    got = layer(x)
    assert got.shape == want.shape == layer.compute_output_shape(x.shape)
    if name == "angle":  # equal up to 2 pi (at +-pi, the sign of a ~0)
        got = want + np.angle(np.exp(1j * (got - want)))
    np.testing.assert_allclose(got, want, rtol=2e-4, atol=2e-4)
    inp = keras.Input(x.shape[1:])
    model = keras.Model(inp, keras.layers.STFTSpectrogram(**kw)(inp))
    compiled = model.predict(x, verbose=0)
    np.testing.assert_allclose(compiled, layer(x), rtol=1e-4, atol=1e-4)
    cfg = keras.layers.STFTSpectrogram.from_config(layer.get_config())
    assert cfg.get_config() == layer.get_config()


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
