"""Activations against NumPy formulas (Keras 3's definitions), and the
statistics and shapes of initializers; constraints and regularizers."""

import math

import numpy as np
import pytest

import graphkeras as keras
from graphkeras import activations, constraints, initializers, regularizers

X = np.linspace(-6, 6, 97).astype("float32").reshape(1, -1)
x64 = X.astype(np.float64)
ERF = np.vectorize(math.erf)


def _sigmoid(x):
    return 1 / (1 + np.exp(-x))


def _softplus(x):
    return np.logaddexp(x, 0)


SELU_A, SELU_S = 1.6732632423543772, 1.0507009873554805
FORMULAS = {
    "relu": lambda x: np.maximum(x, 0),
    "sigmoid": _sigmoid,
    "tanh": np.tanh,
    "softmax": lambda x: np.exp(x - x.max()) / np.exp(x - x.max()).sum(),
    "log_softmax": lambda x: x - x.max() - np.log(np.exp(x - x.max()).sum()),
    "elu": lambda x: np.where(x > 0, x, np.expm1(x)),
    "selu": lambda x: SELU_S * np.where(x > 0, x, SELU_A * np.expm1(x)),
    "gelu": lambda x: 0.5 * x * (1 + ERF(x / math.sqrt(2))),
    "silu": lambda x: x * _sigmoid(x),
    "swish": lambda x: x * _sigmoid(x),
    "softplus": _softplus,
    "softsign": lambda x: x / (1 + np.abs(x)),
    "leaky_relu": lambda x: np.where(x >= 0, x, 0.2 * x),
    "hard_sigmoid": lambda x: np.clip(x + 3, 0, 6) / 6,
    "exponential": np.exp,
    "linear": lambda x: x,
    "relu6": lambda x: np.clip(x, 0, 6),
    "mish": lambda x: x * np.tanh(_softplus(x)),
    "hard_silu": lambda x: x * np.clip(x + 3, 0, 6) / 6,
    "hard_swish": lambda x: x * np.clip(x + 3, 0, 6) / 6,
    "celu": lambda x: np.where(x >= 0, x, np.expm1(x)),
    "log_sigmoid": lambda x: -_softplus(-x),
    "hard_tanh": lambda x: np.clip(x, -1, 1),
    "tanh_shrink": lambda x: x - np.tanh(x),
    "soft_shrink": lambda x: np.where(x > 0.5, x - 0.5,
                                      np.where(x < -0.5, x + 0.5, 0)),
    "hard_shrink": lambda x: np.where(np.abs(x) > 0.5, x, 0),
    "squareplus": lambda x: (x + np.sqrt(x * x + 4)) / 2,
    "sparse_plus": lambda x: np.where(x <= -1, 0, np.where(
        x < 1, 0.25 * (x + 1) ** 2, x)),
    "sparse_sigmoid": lambda x: np.clip(0.5 * (x + 1), 0, 1),
}


@pytest.mark.parametrize("name", sorted(FORMULAS))
def test_activation_matches_keras_formula(name):
    got = activations.get(name)(X)
    ref = FORMULAS[name](x64)
    scale = np.maximum(np.abs(ref), 1.0)
    assert np.max(np.abs(got - ref) / scale) < 2e-6


def test_activation_options_and_lookup():
    np.testing.assert_allclose(
        activations.gelu(X, approximate=True),
        0.5 * x64 * (1 + np.tanh(math.sqrt(2 / math.pi) * (
            x64 + 0.044715 * x64 ** 3))), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(
        activations.relu(X, negative_slope=0.1, max_value=4.0, threshold=1.0),
        np.where(x64 > 1, np.minimum(x64, 4.0), 0.1 * (x64 - 1)), rtol=1e-6,
        atol=1e-7)
    assert activations.get(None) is activations.linear
    assert activations.serialize(activations.get("swish")) == "silu"
    with pytest.raises(ValueError, match="Unknown activation: 'rleu'.*'relu'"):
        activations.get("rleu")


SHAPE = (300, 200)
FAN_IN, FAN_OUT = SHAPE


@pytest.mark.parametrize("name, std", [
    ("he_normal", math.sqrt(2 / FAN_IN)),
    ("he_uniform", math.sqrt(2 / FAN_IN)),
    ("lecun_normal", math.sqrt(1 / FAN_IN)),
    ("lecun_uniform", math.sqrt(1 / FAN_IN)),
    ("glorot_normal", math.sqrt(2 / (FAN_IN + FAN_OUT))),
    ("glorot_uniform", math.sqrt(2 / (FAN_IN + FAN_OUT))),
    ("random_normal", 0.05),
    ("random_uniform", 0.1 / math.sqrt(12)),
])
def test_initializer_statistics(name, std):
    w = initializers.get(name)(SHAPE, dtype="float32")
    assert w.shape == SHAPE and w.dtype == np.float32
    assert abs(w.mean()) < 6 * std / math.sqrt(w.size)  # 6 standard errors
    assert w.std() == pytest.approx(std, rel=0.03)
    if name.endswith("_normal") and name != "random_normal":
        # truncated at two (pre-scaling) standard deviations
        bound = 2 * std / 0.87962566103423978
        assert np.abs(w).max() <= bound * (1 + 1e-6)
    if name.endswith("uniform"):
        assert np.abs(w).max() <= std * math.sqrt(3) * (1 + 1e-6)


def test_truncated_normal_orthogonal_identity_constant_and_seeds():
    t = initializers.TruncatedNormal(mean=1.0, stddev=0.2)((200, 100))
    assert np.abs(t - 1.0).max() <= 0.4 + 1e-6
    q = initializers.Orthogonal(gain=2.0)((6, 4))
    np.testing.assert_allclose(q.T @ q, 4 * np.eye(4), atol=1e-5)
    q = initializers.Orthogonal()((4, 6))
    np.testing.assert_allclose(q @ q.T, np.eye(4), atol=1e-5)
    np.testing.assert_array_equal(initializers.Identity(3.0)((2, 3)),
                                  3 * np.eye(2, 3))
    np.testing.assert_array_equal(initializers.Constant(0.5)((2,)), [0.5, 0.5])
    seeded = initializers.HeNormal(seed=4)
    np.testing.assert_array_equal(seeded((3, 3)), seeded((3, 3)))
    vs = initializers.VarianceScaling(scale=3.0, mode="fan_out",
                                      distribution="untruncated_normal")
    assert vs((100, 400)).std() == pytest.approx(math.sqrt(3 / 400), rel=0.03)
    with pytest.raises(ValueError, match="mode"):
        initializers.VarianceScaling(mode="fan_middle")
    keras.utils.set_random_seed(3)
    a = keras.layers.Dense(4)
    a.build((None, 5))
    keras.utils.set_random_seed(3)
    b = keras.layers.Dense(4)
    b.build((None, 5))
    np.testing.assert_array_equal(a.kernel.numpy(), b.kernel.numpy())


W = np.array([[3.0, 0.1], [4.0, -0.2]], "float32")


def test_constraints_match_numpy():
    norms = np.sqrt((W.astype(np.float64) ** 2).sum(0, keepdims=True))
    np.testing.assert_allclose(constraints.MaxNorm(2.0)(W),
                               W * np.clip(norms, 0, 2) / (norms + 1e-7),
                               rtol=1e-5)
    np.testing.assert_allclose(constraints.UnitNorm()(W), W / (norms + 1e-7),
                               rtol=1e-5)
    mm = constraints.MinMaxNorm(min_value=1.0, max_value=2.0, rate=0.5)(W)
    desired = 0.5 * np.clip(norms, 1, 2) + 0.5 * norms
    np.testing.assert_allclose(mm, W * desired / (norms + 1e-7), rtol=1e-5)
    np.testing.assert_array_equal(constraints.NonNeg()(W), np.maximum(W, 0))
    assert isinstance(constraints.get("min_max_norm"), constraints.MinMaxNorm)


def test_regularizers_match_numpy():
    w64 = W.astype(np.float64)
    assert float(regularizers.L1(0.1)(W)) == pytest.approx(
        0.1 * np.abs(w64).sum(), rel=1e-6)
    assert float(regularizers.L2(0.1)(W)) == pytest.approx(
        0.1 * (w64 ** 2).sum(), rel=1e-6)
    assert float(regularizers.L1L2(l1=0.1, l2=0.2)(W)) == pytest.approx(
        0.1 * np.abs(w64).sum() + 0.2 * (w64 ** 2).sum(), rel=1e-6)
    assert regularizers.get("l2").get_config() == {"l2": 0.01}
