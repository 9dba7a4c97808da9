"""graphkeras.ops: eager results equal traced (interpreted IR) results, and
both follow Keras's dtype rules."""

import numpy as np
import pytest

import graphkeras as keras
from graphkeras import ir, ops
from graphkeras.frontend.tensors import KerasTensor, TracedTensor
from graphkeras.frontend.tracing import Trace

RNG = np.random.default_rng(0)


def check_eager_matches_traced(fn, *arrays, rtol=1e-5):
    """fn(*arrays) computed eagerly must equal the IR that fn records on
    traced inputs, run by the reference interpreter."""
    eager = fn(*arrays)
    trace = Trace()
    with trace:
        ins = [trace.input(f"a{i}", (None,) + a.shape[1:], a.dtype.name)
               for i, a in enumerate(arrays)]
        out = fn(*ins)
    assert isinstance(out, TracedTensor)
    f = trace.builder.build([out.value])
    ir.verify(f)
    (traced,) = ir.interpret(f, list(arrays))
    assert np.asarray(eager).dtype == traced.dtype
    np.testing.assert_allclose(np.asarray(eager), traced, rtol=rtol, atol=1e-6)
    return traced


X = RNG.normal(size=(4, 3)).astype("float32")
Y = RNG.normal(size=(4, 3)).astype("float32")
P = np.abs(X) + 0.5

UNARY = [ops.exp, ops.log1p, ops.tanh, ops.sigmoid, ops.relu, ops.abs,
         ops.square, ops.negative, ops.softplus, ops.softsign, ops.silu,
         ops.elu, ops.selu, ops.gelu, ops.hard_sigmoid, ops.leaky_relu,
         ops.relu6, ops.log_sigmoid, ops.sign, ops.erf,
         lambda x: ops.softmax(x, axis=-1), lambda x: ops.log_softmax(x),
         lambda x: ops.sum(x, axis=1), lambda x: ops.mean(x, axis=-1,
                                                           keepdims=True),
         lambda x: ops.max(x, axis=1), lambda x: ops.min(x, axis=1),
         lambda x: ops.var(x, axis=1), lambda x: ops.std(x, axis=1),
         lambda x: ops.argmax(x, axis=-1), lambda x: ops.argmin(x, axis=1),
         lambda x: ops.reshape(x, (-1, 3, 1)), lambda x: ops.reshape(x, (-1,
                                                                         1, 3)),
         lambda x: ops.expand_dims(x, 1), lambda x: ops.squeeze(
             ops.expand_dims(x, -1), -1),
         lambda x: ops.transpose(ops.expand_dims(x, 1), (0, 2, 1)),
         lambda x: ops.concatenate([x, x * 2], axis=-1),
         lambda x: ops.stack([x, x], axis=1),
         lambda x: ops.clip(x, -0.5, 0.5), lambda x: ops.where(x > 0, x, 0.0),
         lambda x: x[:, 1:], lambda x: x[:, 0], lambda x: x[..., None],
         lambda x: x[:, ::2], lambda x: x[:, ::-1], lambda x: x[:, 2:0:-1],
         lambda x: ops.pad(x, ((0, 0), (1, 2))),
         lambda x: ops.take(x, np.array([2, 0]), axis=1),
         lambda x: ops.one_hot(ops.argmax(x, axis=-1), 3),
         lambda x: ops.cast(x > 0, "int32"), lambda x: x @ np.ones(
             (3, 2), "float32"),
         lambda x: ops.matmul(x, np.arange(3, dtype="float32")),
         lambda x: ops.zeros_like(x) + ops.ones_like(x),
         lambda x: ops.full_like(x, 3.0), lambda x: 1.0 - x / 2.0,
         lambda x: 2.0 ** ops.clip(x, -1, 1), lambda x: ops.norm(x, axis=-1),
         lambda x: ops.broadcast_to(ops.expand_dims(x, 1), (None, 2, 3)),
         lambda x: ops.logsumexp(x, axis=-1), ops.isnan,
         lambda x: ops.mod(x, 0.7), lambda x: ops.floor_divide(x, 0.7),
         lambda x: ops.any(x > 1, axis=1), lambda x: ops.all(x > -1, axis=1),
         lambda x: ops.flip(x, axis=1), lambda x: ops.tile(x, (1, 2)),
         lambda x: ops.repeat(x, 2, axis=1),
         ]


@pytest.mark.parametrize("fn", UNARY, ids=lambda f: getattr(f, "__name__", "f"))
def test_unary_eager_equals_traced(fn):
    check_eager_matches_traced(fn, X)


def test_positive_domain_ops():
    for fn in (ops.log, ops.sqrt, ops.rsqrt, ops.reciprocal, ops.log2,
               ops.log10):
        check_eager_matches_traced(fn, P)


BINARY = [ops.add, ops.subtract, ops.multiply, ops.divide, ops.maximum,
          ops.minimum, ops.equal, ops.not_equal, ops.less, ops.greater_equal,
          lambda a, b: ops.logical_and(a > 0, b > 0),
          lambda a, b: ops.where(a > b, a, b),
          lambda a, b: ops.categorical_crossentropy(ops.softmax(b),
                                                    ops.softmax(a)),
          lambda a, b: ops.binary_crossentropy(ops.sigmoid(b), a,
                                               from_logits=True)]


@pytest.mark.parametrize("fn", BINARY, ids=lambda f: getattr(f, "__name__", "f"))
def test_binary_eager_equals_traced(fn):
    check_eager_matches_traced(fn, X, Y)


def test_python_scalars_keep_the_tensor_dtype():
    x32 = np.ones((2,), "float32")
    assert ops.add(x32, 2.0).dtype == np.float32
    assert ops.multiply(2, x32).dtype == np.float32
    xi = np.ones((2,), "int32")
    assert ops.add(xi, 2).dtype == np.int32
    assert ops.add(xi, 2.5).dtype == np.float32  # int tensor meets a float
    assert ops.divide(xi, xi).dtype == np.float32
    assert ops.result_type(np.ones(2, "int64"), np.ones(2, "float32")) == \
        "float32"
    assert ops.mean(xi).dtype == np.float32


def test_ops_on_keras_tensors_make_graph_nodes():
    a = keras.Input((3,))
    b = keras.Input((3,))
    c = ops.add(a, b) * 2.0
    assert isinstance(c, KerasTensor) and c.shape == (None, 3)
    model = keras.Model([a, b], ops.sum(c, axis=-1))
    out = model.predict([X, Y], verbose=0)
    np.testing.assert_allclose(out, ((X + Y) * 2).sum(-1), rtol=1e-5)


def test_reshape_errors_name_the_shapes():
    trace = Trace()
    with trace:
        x = trace.input("x", (None, 4))
        with pytest.raises(ValueError, match=r"Cannot reshape a tensor of "
                           r"shape \(None, 4\) into shape \(-1, 3\)"):
            ops.reshape(x, (-1, 3))


def test_symbolic_tensor_has_no_value():
    with pytest.raises(TypeError, match="cannot be used as a Python bool"):
        bool(keras.Input((2,)))
    with pytest.raises(ValueError, match="no value"):
        ops.convert_to_numpy(keras.Input((2,)))


def test_composites_match_numpy():
    np.testing.assert_allclose(ops.logsumexp(X, axis=1),
                               np.log(np.exp(X).sum(1)), rtol=1e-5)
    np.testing.assert_allclose(ops.mod(X, 0.7), np.mod(X, 0.7), rtol=1e-4,
                               atol=1e-6)
    np.testing.assert_array_equal(ops.tile(X, (2, 1)), np.tile(X, (2, 1)))
    np.testing.assert_array_equal(ops.repeat(X, 3, axis=1),
                                  np.repeat(X, 3, axis=1))
    np.testing.assert_array_equal(ops.flip(X, 0), X[::-1])
