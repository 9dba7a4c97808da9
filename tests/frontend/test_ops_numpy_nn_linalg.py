"""graphkeras.ops additions (frontend/ops/numpy.py, nn.py, linalg.py, math.py): eager results against
NumPy, traced IR (interpreter) against eager, compiled predict against
NumPy, gradients against finite differences, namespaces, errors."""

import numpy as np
import pytest

import graphkeras as keras
from graphkeras import ir, ops
from graphkeras.frontend.tracing import Trace

RNG = np.random.default_rng(0)
X = RNG.normal(size=(4, 5)).astype("float32")
Y = RNG.normal(size=(4, 5)).astype("float32")
U = np.clip(X / 3, -0.95, 0.95).astype("float32")  # inside (-1, 1)
SQ = X[:, :, None] * Y[:, None]  # (4, 5, 5)
MAT = (SQ + 3 * np.eye(5, dtype="float32")).astype("float32")
SPD = (np.einsum("bij,bkj->bik", MAT, MAT) + np.eye(5)).astype("float32")
B = (np.abs(X) + 1.1).astype("float32")  # above 1

# (name, graphkeras fn, numpy fn, inputs)
CASES = [
    ("tan", ops.tan, np.tan, (U,)),
    ("sinh", ops.sinh, np.sinh, (X,)),
    ("cosh", ops.cosh, np.cosh, (X,)),
    ("arcsin", ops.arcsin, np.arcsin, (U,)),
    ("arccos", ops.arccos, np.arccos, (U,)),
    ("arctan", ops.arctan, np.arctan, (X * 10,)),
    ("arctan2", ops.arctan2, np.arctan2, (X, Y)),
    ("arcsinh", ops.arcsinh, np.arcsinh, (X * 5,)),
    ("arccosh", ops.arccosh, np.arccosh, (B,)),
    ("arctanh", ops.arctanh, np.arctanh, (U,)),
    ("trunc", ops.trunc, np.trunc, (X * 3,)),
    ("fmod", ops.fmod, np.fmod, (X * 3, B)),
    ("hypot", ops.hypot, np.hypot, (X, Y)),
    ("logaddexp", ops.logaddexp, np.logaddexp, (X, Y)),
    ("cbrt", ops.cbrt, np.cbrt, (X,)),
    ("exp2", ops.exp2, np.exp2, (X,)),
    ("deg2rad", ops.deg2rad, np.deg2rad, (X,)),
    ("rad2deg", ops.rad2deg, np.rad2deg, (X,)),
    ("heaviside", ops.heaviside, np.heaviside, (np.round(X), Y)),
    ("tril", lambda x: ops.tril(x, -1), lambda x: np.tril(x, -1), (SQ,)),
    ("triu", lambda x: ops.triu(x, 1), lambda x: np.triu(x, 1), (SQ,)),
    ("cumprod", lambda x: ops.cumprod(x, axis=1),
     lambda x: np.cumprod(x, axis=1), (np.where(X > 1, 0, X),)),
    ("diff", lambda x: ops.diff(x, n=2, axis=1),
     lambda x: np.diff(x, n=2, axis=1), (X,)),
    ("roll", lambda x: ops.roll(x, 2, axis=1),
     lambda x: np.roll(x, 2, axis=1), (X,)),
    ("sort", lambda x: ops.sort(x, axis=1), lambda x: np.sort(x, axis=1),
     (np.round(X),)),
    ("argsort", lambda x: ops.argsort(x, axis=1),
     lambda x: np.argsort(x, axis=1, kind="stable").astype("int32"),
     (np.round(X),)),
    ("median", lambda x: ops.median(x, axis=1),
     lambda x: np.median(x, axis=1), (X,)),
    ("quantile", lambda x: ops.quantile(x, [0.1, 0.9], axis=1),
     lambda x: np.quantile(x, [0.1, 0.9], axis=1), (X,)),
    ("take_along_axis",
     lambda x: ops.take_along_axis(x, np.array([[4, 0, -1]]), axis=1),
     lambda x: np.take_along_axis(x, np.array([[4, 0, -1]]), axis=1),
     (X,)),
    ("rot90", lambda x: ops.rot90(x, axes=(1, 2)),
     lambda x: np.rot90(x, axes=(1, 2)), (X.reshape(4, 5, 1) * X[:, None],)),
    ("nansum", lambda x: ops.nansum(x, axis=1),
     lambda x: np.nansum(x, axis=1), (np.where(X > 1, np.nan, X),)),
    ("nanmean", lambda x: ops.nanmean(x, axis=1),
     lambda x: np.nanmean(x, axis=1), (np.where(X > 1, np.nan, X),)),
    ("nanmax", lambda x: ops.nanmax(x, axis=1),
     lambda x: np.nanmax(x, axis=1), (np.where(X > 1, np.nan, X),)),
    ("erfinv", lambda x: ops.erf(ops.erfinv(x)), lambda x: x, (U,)),
    ("sparsemax", ops.sparsemax, None, (X * 2,)),
    ("isclose", ops.isclose, np.isclose, (X, X + 1e-7 * (Y > 0))),
    ("logical_xor", ops.logical_xor, np.logical_xor, (X > 0, Y > 0)),
    ("nan_to_num", ops.nan_to_num, np.nan_to_num,
     (np.where(X > 1, np.inf, np.where(X < -1, np.nan, X)).astype("float32"),)),
    ("count_nonzero", lambda x: ops.count_nonzero(x, axis=1),
     lambda x: np.count_nonzero(x, axis=1).astype("int32"), (np.round(X),)),
    ("average", lambda x: ops.average(x, axis=1, weights=np.arange(5.0)),
     lambda x: np.average(x, axis=1, weights=np.arange(5.0)), (X,)),
    ("diagonal", lambda x: ops.diagonal(x, 1, 1, 2),
     lambda x: np.diagonal(x, 1, 1, 2), (X[:, :, None] * Y[:, None],)),
    ("trace", lambda x: ops.trace(x, 0, 1, 2),
     lambda x: np.trace(x, 0, 1, 2), (X[:, :, None] * Y[:, None],)),
    ("tensordot", lambda x: ops.tensordot(x, Y.T, axes=1),
     lambda x: np.tensordot(x, Y.T, axes=1), (X,)),
    ("inner", lambda x: ops.inner(x, Y[:3]), lambda x: np.inner(x, Y[:3]),
     (X,)),
    ("solve", ops.solve, np.linalg.solve, (MAT, SQ[:, :, :2])),
    ("inv", ops.inv, np.linalg.inv, (MAT,)),
    ("det", ops.det, np.linalg.det, (MAT,)),
    ("cholesky", ops.cholesky, np.linalg.cholesky, (SPD,)),
    ("logaddexp2", ops.logaddexp2, np.logaddexp2, (X, Y)),
    ("fmax", ops.fmax, np.fmax, (np.where(X > 1, np.nan, X), Y)),
    ("ptp", lambda x: ops.ptp(x, axis=1), lambda x: np.ptp(x, axis=1), (X,)),
    ("sinc", ops.sinc, np.sinc, (np.round(X),)),
    ("cross", lambda x: ops.cross(x[:, :3], x[:, 2:]),
     lambda x: np.cross(x[:, :3], x[:, 2:]), (X,)),
    ("searchsorted",
     lambda x: ops.searchsorted(np.array([-1.0, 0.0, 0.5]), x),
     lambda x: np.searchsorted([-1.0, 0.0, 0.5], x).astype("int32"), (X,)),
    ("cdist", lambda x: ops.cdist(x, Y), lambda x: np.sqrt(
        ((x[:, None] - Y[None]) ** 2).sum(-1)), (X,)),
    ("segment_sum",
     lambda x: ops.segment_sum(ops.transpose(x), np.array([0, 0, 2, 1, 2]),
                               num_segments=3),
     lambda x: np.stack([x.T[:2].sum(0), x.T[3], x.T[[2, 4]].sum(0)]), (X,)),
    ("nancumsum", lambda x: ops.nancumsum(x, axis=1),
     lambda x: np.nancumsum(x, axis=1), (np.where(X > 1, np.nan, X),)),
]


def _sparsemax_ref(z):
    out = np.zeros_like(z)
    for r, row in enumerate(z):
        s = np.sort(row)[::-1]
        k = np.arange(1, len(row) + 1)
        cs = np.cumsum(s)
        kz = k[1 + k * s > cs].max()
        tau = (cs[kz - 1] - 1) / kz
        out[r] = np.maximum(row - tau, 0)
    return out


def _expected(ref, xs):
    if ref is None:
        return _sparsemax_ref(*xs)
    return ref(*xs)


@pytest.mark.parametrize("name,fn,ref,xs", CASES, ids=[c[0] for c in CASES])
def test_eager_and_traced_match_numpy(name, fn, ref, xs):
    want = np.asarray(_expected(ref, xs))
    eager = np.asarray(fn(*xs))
    np.testing.assert_allclose(eager, want, rtol=2e-5, atol=2e-6)
    trace = Trace()
    with trace:
        ins = [trace.input(f"a{i}", (None,) + a.shape[1:], a.dtype.name)
               for i, a in enumerate(xs)]
        out = fn(*ins)
    f = trace.builder.build([out.value])
    ir.verify(f)
    (traced,) = ir.interpret(f, list(xs))
    assert traced.dtype == eager.dtype, name
    np.testing.assert_allclose(traced, eager, rtol=1e-5, atol=1e-6)


COMPILED = ["solve", "det", "cholesky", "inv", "cross", "segment_sum", "tan", "arctan2", "arcsin", "logaddexp", "cumprod", "sort",
            "argsort", "quantile", "sparsemax", "take_along_axis", "roll",
            "erfinv", "nanmax", "nan_to_num", "diagonal", "fmod"]


def test_compiled_predict_matches_numpy():
    by_name = {c[0]: c for c in CASES}
    for name in COMPILED:
        _, fn, ref, xs = by_name[name]
        inputs = [keras.Input(a.shape[1:], dtype=a.dtype.name) for a in xs]
        out = fn(*inputs)
        if ops.dtype(out) == "bool":
            out = ops.cast(out, "int32")
        model = keras.Model(inputs, out)
        got = model.predict(list(xs) if len(xs) > 1 else xs[0], verbose=0)
        want = np.asarray(_expected(ref, xs))
        if want.dtype == bool:
            want = want.astype("int32")
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5,
                                   err_msg=name)


GRADS = [ops.arctan, ops.tan, ops.arcsinh, ops.cbrt, ops.logaddexp,
         lambda x: ops.sort(x, axis=1), ops.sparsemax,
         lambda x: ops.median(x, axis=1),
         lambda x: ops.cumprod(x, axis=1),
         lambda x: ops.layer_normalization(x), lambda x: ops.rms_normalization(x),
         lambda x: ops.det(ops.reshape(x[:, :4], (4, 2, 2))),
         lambda x: ops.inv(ops.reshape(x[:, :4], (4, 2, 2))),
         lambda x: ops.solve(ops.reshape(x[:, :4], (4, 2, 2)), x[:, 3:])]


@pytest.mark.parametrize("fn", GRADS)
def test_gradients_match_finite_differences(fn):
    x = (X + 0.05 * np.arange(5, dtype="float32")).astype("float64")
    if fn is ops.logaddexp:
        fn = lambda a: ops.logaddexp(a, Y.astype("float64"))
    w = RNG.normal(size=np.shape(fn(x))).astype("float64")
    trace = Trace()
    with trace:
        t = trace.input("x", (4, 5), "float64")
        loss = ops.sum(ops.multiply(fn(t), w))
    f = trace.builder.build([loss.value])
    from graphkeras.passes.differentiate import differentiate

    g = differentiate(f, wrt=[f.params[0]])
    outs = ir.interpret(g, [x])
    grad = outs[-1]
    d = RNG.normal(size=x.shape)
    eps = 1e-6
    num = (float(np.sum(np.asarray(fn(x + eps * d)) * w))
           - float(np.sum(np.asarray(fn(x - eps * d)) * w))) / (2 * eps)
    np.testing.assert_allclose(np.sum(grad * d), num, rtol=1e-4, atol=1e-6)


def test_constructors_and_shapes_match_numpy():
    np.testing.assert_array_equal(ops.eye(3, 4, k=1), np.eye(3, 4, k=1))
    np.testing.assert_array_equal(ops.tri(3, k=-1), np.tri(3, k=-1))
    np.testing.assert_allclose(ops.linspace(0, 1, 5), np.linspace(0, 1, 5))
    np.testing.assert_allclose(ops.logspace(0, 2, 3), np.logspace(0, 2, 3))
    np.testing.assert_allclose(ops.geomspace(1, 8, 4), np.geomspace(1, 8, 4))
    np.testing.assert_array_equal(ops.diag(np.arange(3.0), 1),
                                  np.diag(np.arange(3.0), 1))
    np.testing.assert_array_equal(ops.diag(X), np.diag(X))
    for a, b in zip(ops.split(X, [1, 3], axis=1), np.split(X, [1, 3], 1)):
        np.testing.assert_array_equal(a, b)
    for a, b in zip(ops.array_split(X, 3, axis=1), np.array_split(X, 3, 1)):
        np.testing.assert_array_equal(a, b)
    for a, b in zip(ops.unstack(X, axis=1), list(X.T)):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(ops.hstack([X, Y]), np.hstack([X, Y]))
    np.testing.assert_array_equal(ops.vstack([X[0], Y[0]]),
                                  np.vstack([X[0], Y[0]]))
    np.testing.assert_array_equal(ops.dstack([X, Y]), np.dstack([X, Y]))
    np.testing.assert_array_equal(ops.swapaxes(X[None], 0, 2),
                                  np.swapaxes(X[None], 0, 2))
    np.testing.assert_array_equal(ops.fliplr(X), np.fliplr(X))
    np.testing.assert_array_equal(ops.flipud(X), np.flipud(X))
    np.testing.assert_array_equal(ops.ravel(X), np.ravel(X))
    np.testing.assert_allclose(ops.outer(X[0], Y[0]), np.outer(X[0], Y[0]))
    np.testing.assert_allclose(ops.vdot(X, Y), np.vdot(X, Y), rtol=1e-5)
    for a, b in zip(ops.meshgrid(np.arange(3), np.arange(2)),
                    np.meshgrid(np.arange(3), np.arange(2))):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(
        ops.select([X > 1, X < -1], [X, -X], 7.0),
        np.select([X > 1, X < -1], [X, -X], 7.0))
    assert bool(ops.allclose(X, X + 1e-9))
    np.testing.assert_allclose(ops.corrcoef(X), np.corrcoef(X), rtol=1e-5,
                               atol=1e-6)
    np.testing.assert_array_equal(ops.kron(X[:2, :3], Y[:3, :2]),
                                  np.kron(X[:2, :3], Y[:3, :2]))
    np.testing.assert_allclose(ops.vander(X[0]), np.vander(X[0]), rtol=1e-5)
    np.testing.assert_allclose(ops.trapezoid(X), np.trapezoid(X), rtol=1e-5)
    np.testing.assert_array_equal(ops.bincount(np.array([0, 1, 1, 4])),
                                  np.bincount([0, 1, 1, 4]))
    np.testing.assert_array_equal(ops.digitize(X, np.array([-1.0, 0.0, 1.0])),
                                  np.digitize(X, [-1.0, 0.0, 1.0]))
    np.testing.assert_array_equal(ops.isin(np.arange(5), np.array([1, 3])),
                                  np.isin(np.arange(5), [1, 3]))
    for a, b in zip(ops.unravel_index(np.array([5, 7]), (2, 4)),
                    np.unravel_index([5, 7], (2, 4))):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(
        ops.saturate_cast(np.array([1e10, -1e10, 3.7], "float32"), "int32"),
        [2147483520, -2147483648, 3])
    sign, logabs = ops.slogdet(X[:4, :4])
    want = np.linalg.slogdet(X[:4, :4])
    np.testing.assert_allclose([sign, logabs], list(want), rtol=1e-5)
    np.testing.assert_array_equal(ops.isinf(np.array([1, np.inf, -np.inf])),
                                  [False, True, True])
    np.testing.assert_array_equal(ops.isfinite(np.array([1, np.nan, np.inf])),
                                  [True, False, False])
    np.testing.assert_array_equal(ops.signbit(X), np.signbit(X))
    np.testing.assert_allclose(ops.erfc(X), 1 - np.vectorize(
        __import__("math").erf)(X), atol=1e-6)


def test_nn_functions_match_numpy():
    mu, sd = X.mean(-1, keepdims=True), X.var(-1, keepdims=True)
    np.testing.assert_allclose(ops.layer_normalization(X, epsilon=1e-3),
                               (X - mu) / np.sqrt(sd + 1e-3), rtol=1e-5)
    np.testing.assert_allclose(
        ops.rms_normalization(X, scale=2.0, epsilon=1e-6),
        2 * X / np.sqrt((X ** 2).mean(-1, keepdims=True) + 1e-6), rtol=1e-5)
    m, v = X.mean(0), X.var(0)
    np.testing.assert_allclose(
        ops.batch_normalization(X, m, v, axis=-1, offset=m, scale=v),
        (X - m) / np.sqrt(v + 1e-3) * v + m, rtol=1e-5)
    q = RNG.normal(size=(2, 3, 2, 4)).astype("float32")
    k = RNG.normal(size=(2, 5, 2, 4)).astype("float32")
    val = RNG.normal(size=(2, 5, 2, 4)).astype("float32")
    logits = np.einsum("btnh,bsnh->bnts", q, k) / 2.0
    logits = np.where(np.tril(np.ones((3, 5), bool)), logits, -np.inf)
    p = np.exp(logits - logits.max(-1, keepdims=True))
    p /= p.sum(-1, keepdims=True)
    np.testing.assert_allclose(
        ops.dot_product_attention(q, k, val, is_causal=True),
        np.einsum("bnts,bsnh->btnh", p, val), rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(
        ops.multi_hot(np.array([[0, 2], [1, 1]]), 4),
        [[1, 0, 1, 0], [0, 1, 0, 0]])
    img = RNG.normal(size=(2, 4, 6, 8)).astype("float32")
    d2s = ops.depth_to_space(img, 2)
    assert d2s.shape == (2, 8, 12, 2)
    np.testing.assert_array_equal(d2s[0, 1, 0], img[0, 0, 0, 4:6])  # DCR
    np.testing.assert_array_equal(ops.space_to_depth(d2s, 2), img)
    np.testing.assert_allclose(keras.activations.sparsemax(X),
                               _sparsemax_ref(X), rtol=1e-5, atol=1e-6)


def test_namespaces_reexport():
    from graphkeras.ops import nn

    assert nn.relu is ops.relu and ops.nn.sparsemax is ops.sparsemax
    assert ops.numpy.tan is ops.tan and ops.linalg.norm is ops.norm
    assert ops.image.resize is not None


def test_errors_name_the_op_and_value():
    with pytest.raises(ValueError, match=r"ops.split: the axis of size 5 "
                       r"cannot be split into 2 equal sections"):
        ops.split(X, 2, axis=1)
    with pytest.raises(ValueError, match=r"q must lie in \[0, 1\], received "
                       r"q=1.5"):
        ops.quantile(X, 1.5)
    with pytest.raises(ValueError, match="ops.sort needs a static axis"):
        ops.sort(keras.Input((3,)), axis=0)
    with pytest.raises(ValueError, match=r"ops.linalg.inv unrolls its "
                       r"elimination and supports n <= 64, received matrices "
                       r"of size 65"):
        ops.inv(np.eye(65, dtype="float32"))
    with pytest.raises(ValueError, match=r"ops.linalg.det expects square "
                       r"matrices"):
        ops.det(X)


def test_onnx_export_of_composites_matches_onnxruntime(tmp_path):
    ort = pytest.importorskip("onnxruntime")
    inp = keras.Input((5,))
    out = ops.concatenate([ops.sort(inp, axis=-1), ops.arctan2(inp, 1.0),
                           ops.sparsemax(inp), ops.cumprod(inp, axis=1),
                           ops.det(ops.reshape(ops.concatenate(
                               [inp[:, :4], inp], axis=-1),
                               (-1, 3, 3)))[:, None]], axis=-1)
    model = keras.Model(inp, out)
    want = model.predict(X, verbose=0)
    path = str(tmp_path / "m.onnx")
    model.export(path, format="onnx")
    sess = ort.InferenceSession(path)
    got = sess.run(None, {sess.get_inputs()[0].name: X})[0]
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)


def test_arange_infers_keras_dtypes():
    assert ops.arange(3).dtype == np.int32
    np.testing.assert_allclose(ops.arange(0.0, 1.0, 0.25), [0, 0.25, 0.5, 0.75])
    assert ops.arange(0.0, 1.0, 0.25).dtype == np.float32
    assert ops.arange(4, dtype="float32").dtype == np.float32


def test_normalization_ops_default_to_the_configured_epsilon():
    # keras.ops.layer_normalization / rms_normalization use
    # backend.epsilon() (1e-7) when epsilon is None (the layers differ)
    x = np.array([[1.0, 1.001, 0.999, 1.0]], np.float32)
    mean = x.mean(-1, keepdims=True)
    want = (x - mean) / np.sqrt(x.var(-1, keepdims=True) + 1e-7)
    got = keras.ops.convert_to_numpy(keras.ops.layer_normalization(x))
    np.testing.assert_allclose(got, want, rtol=2e-3, atol=1e-4)
    want = x / np.sqrt(np.mean(x * x, -1, keepdims=True) + 1e-7)
    got = keras.ops.convert_to_numpy(keras.ops.rms_normalization(x))
    np.testing.assert_allclose(got, want, rtol=1e-5)


@pytest.mark.parametrize("axis, prepend, append", [
    (-1, 0.0, None), (0, None, 1.0), (1, 2.0, -1.0)])
def test_diff_broadcasts_scalar_edges_as_numpy(axis, prepend, append):
    x = np.arange(12, dtype=np.float32).reshape(3, 4) ** 2
    got = keras.ops.convert_to_numpy(
        keras.ops.diff(x, axis=axis, prepend=prepend, append=append))
    kwargs = {k: v for k, v in (("prepend", prepend), ("append", append))
              if v is not None}
    np.testing.assert_allclose(got, np.diff(x, axis=axis, **kwargs))
