"""Merge, reshaping, normalization, noise, activation and Lambda layers:
values against NumPy, state updates inside the train step, Keras's errors,
configs, and one compiled-vs-interpreted training run over all of them."""

import numpy as np
import pytest

import graphkeras as keras
from graphkeras import layers
from graphkeras.frontend.saving.serialization_lib import SafeModeScope

RNG = np.random.default_rng(11)
X = RNG.normal(size=(10, 4)).astype("float32")
Z = RNG.normal(size=(10, 4)).astype("float32")


@pytest.mark.parametrize("cls, fn", [
    (layers.Add, lambda a, b: a + b),
    (layers.Subtract, lambda a, b: a - b),
    (layers.Multiply, lambda a, b: a * b),
    (layers.Average, lambda a, b: (a + b) / 2),
    (layers.Maximum, np.maximum),
    (layers.Minimum, np.minimum),
])
def test_elementwise_merges_match_numpy(cls, fn):
    np.testing.assert_allclose(cls()([X, Z]), fn(X, Z), rtol=1e-6)
    inp_a, inp_b = keras.Input((4,)), keras.Input((4,))
    model = keras.Model([inp_a, inp_b], cls()([inp_a, inp_b]))
    np.testing.assert_allclose(model.predict([X, Z], verbose=0), fn(X, Z),
                               rtol=1e-6)


def test_merges_of_three_inputs_and_broadcast_ranks():
    w = RNG.normal(size=(10, 4)).astype("float32")
    np.testing.assert_allclose(layers.Add()([X, Z, w]), X + Z + w, rtol=1e-6)
    np.testing.assert_allclose(layers.Average()([X, Z, w]), (X + Z + w) / 3,
                               rtol=1e-6)
    # a lower-rank input gets size-1 axes after the batch axis
    seq = RNG.normal(size=(10, 3, 4)).astype("float32")
    out = layers.Multiply()([seq, X])
    np.testing.assert_allclose(out, seq * X[:, None, :], rtol=1e-6)


def test_concatenate_and_dot_shapes_and_values():
    inp_a, inp_b = keras.Input((4,)), keras.Input((2,))
    out = layers.Concatenate()([inp_a, inp_b])
    assert out.shape == (None, 6)
    np.testing.assert_array_equal(
        layers.concatenate([X, Z[:, :2]], axis=-1),
        np.concatenate([X, Z[:, :2]], -1))
    np.testing.assert_allclose(layers.Dot(axes=1)([X, Z]),
                               np.sum(X * Z, 1, keepdims=True), rtol=1e-5)
    a = RNG.normal(size=(10, 3, 4)).astype("float32")
    b = RNG.normal(size=(10, 5, 4)).astype("float32")
    np.testing.assert_allclose(layers.Dot(axes=2)([a, b]),
                               np.einsum("nik,njk->nij", a, b), rtol=1e-5)
    np.testing.assert_allclose(layers.Dot(axes=(1, 1))([a, a]),
                               np.einsum("nki,nkj->nij", a, a), rtol=1e-5)
    cos = layers.Dot(axes=1, normalize=True)([X, Z])
    ref = np.sum(X * Z, 1) / np.linalg.norm(X, axis=1) / np.linalg.norm(Z,
                                                                        axis=1)
    np.testing.assert_allclose(cos[:, 0], ref, rtol=1e-5)
    ka, kb = keras.Input((3, 4)), keras.Input((5, 4))
    assert layers.Dot(axes=2)([ka, kb]).shape == (None, 3, 5)


def test_merge_errors_name_the_layer_and_shapes():
    with pytest.raises(ValueError, match="matching shapes except for the "
                       "concatenation axis"):
        layers.Concatenate(axis=1)([keras.Input((2, 3)), keras.Input((2, 4))])
    with pytest.raises(ValueError, match="exactly 2 inputs"):
        layers.Subtract()([keras.Input((3,))] * 3)
    with pytest.raises(ValueError, match="should be called on a list"):
        layers.Add()(keras.Input((3,)))
    with pytest.raises(ValueError, match=r"incompatible shapes.*\(3,\).*\(4,\)"):
        layers.Add(name="adder")([keras.Input((3,)), keras.Input((4,))])
    with pytest.raises(ValueError, match="axis values 3 .* != 4"):
        layers.Dot(axes=1)([keras.Input((3,)), keras.Input((4,))])


def test_permute_and_repeat_vector():
    x = RNG.normal(size=(2, 3, 4)).astype("float32")
    np.testing.assert_array_equal(layers.Permute((2, 1))(x),
                                  x.transpose(0, 2, 1))
    assert layers.Permute((2, 1))(keras.Input((3, 4))).shape == (None, 4, 3)
    np.testing.assert_array_equal(layers.RepeatVector(3)(X),
                                  np.repeat(X[:, None, :], 3, axis=1))
    assert layers.RepeatVector(3)(keras.Input((4,))).shape == (None, 3, 4)
    with pytest.raises(ValueError, match="consecutive and start from 1"):
        layers.Permute((0, 1))
    with pytest.raises(ValueError, match="expected ndim=2"):
        layers.RepeatVector(2)(keras.Input((3, 4)))


def _bn_numpy(x, gamma, beta, mean, var, eps=1e-3):
    return (x - mean) / np.sqrt(var + eps) * gamma + beta


def test_batch_normalization_trains_moving_statistics_in_the_step():
    keras.utils.set_random_seed(0)
    bn = layers.BatchNormalization(momentum=0.9)
    model = keras.Sequential([keras.Input((4,)), bn])
    model.compile(keras.optimizers.SGD(0.0), "mse", run_eagerly=True)
    model.fit(X, X, batch_size=5, epochs=1, shuffle=False, verbose=0)
    mean, var = np.zeros(4), np.ones(4)
    for b in (X[:5], X[5:]):
        mean = mean * 0.9 + b.mean(0) * 0.1
        var = var * 0.9 + b.var(0) * 0.1  # biased batch variance
    np.testing.assert_allclose(bn.moving_mean.numpy(), mean, rtol=1e-5)
    np.testing.assert_allclose(bn.moving_variance.numpy(), var, rtol=1e-5)
    # inference normalizes with the moving statistics
    np.testing.assert_allclose(model.predict(X, verbose=0),
                               _bn_numpy(X, 1, 0, mean, var), rtol=1e-4,
                               atol=1e-5)
    # a training call normalizes with the batch statistics
    np.testing.assert_allclose(bn(X, training=True),
                               _bn_numpy(X, 1, 0, X.mean(0), X.var(0)),
                               rtol=1e-4, atol=1e-5)
    assert [w.name for w in bn.weights] == ["gamma", "beta", "moving_mean",
                                            "moving_variance"]
    assert len(bn.trainable_weights) == 2


def test_frozen_batch_normalization_uses_moving_statistics():
    bn = layers.BatchNormalization()
    bn.build((None, 4))
    bn.trainable = False
    before = bn.moving_mean.numpy()
    np.testing.assert_allclose(bn(X, training=True), _bn_numpy(X, 1, 0, 0, 1),
                               rtol=1e-5)
    np.testing.assert_array_equal(bn.moving_mean.numpy(), before)


def test_batch_normalization_on_another_axis():
    x = RNG.normal(size=(6, 3, 5)).astype("float32")
    out = layers.BatchNormalization(axis=1)(x, training=True)
    mean = x.mean((0, 2), keepdims=True)
    var = x.var((0, 2), keepdims=True)
    np.testing.assert_allclose(out, (x - mean) / np.sqrt(var + 1e-3),
                               rtol=1e-4, atol=1e-5)


def test_layer_normalization_matches_numpy():
    ln = layers.LayerNormalization(epsilon=1e-5)
    out = ln(X)
    ref = (X - X.mean(1, keepdims=True)) / np.sqrt(X.var(1, keepdims=True)
                                                   + 1e-5)
    np.testing.assert_allclose(out, ref, rtol=1e-4, atol=1e-5)
    x = RNG.normal(size=(4, 3, 5)).astype("float32")
    ln2 = layers.LayerNormalization(axis=[1, 2])
    ln2.build(x.shape)
    ln2.gamma.assign(np.full((3, 5), 2.0, "float32"))
    ref = (x - x.mean((1, 2), keepdims=True)) / np.sqrt(
        x.var((1, 2), keepdims=True) + 1e-3) * 2.0
    np.testing.assert_allclose(ln2(x), ref, rtol=1e-4, atol=1e-5)
    assert ln.get_config()["epsilon"] == 1e-5


@pytest.mark.parametrize("layer, fn", [
    (layers.ReLU(), lambda x: np.maximum(x, 0)),
    (layers.ReLU(max_value=1.0, negative_slope=0.1, threshold=0.5),
     lambda x: np.where(x > 0.5, np.minimum(x, 1.0), 0.1 * (x - 0.5))),
    (layers.LeakyReLU(), lambda x: np.where(x >= 0, x, 0.3 * x)),
    (layers.ELU(alpha=0.5), lambda x: np.where(x > 0, x, 0.5 * np.expm1(x))),
    (layers.Softmax(), lambda x: np.exp(x) / np.exp(x).sum(-1, keepdims=True)),
    (layers.Identity(), lambda x: x),
])
def test_activation_layers(layer, fn):
    np.testing.assert_allclose(layer(X), fn(X), rtol=1e-5, atol=1e-6)


def test_prelu_learns_alpha_and_softmax_mask():
    p = layers.PReLU(alpha_initializer=keras.initializers.Constant(0.25))
    np.testing.assert_allclose(p(X), np.where(X >= 0, X, 0.25 * X), rtol=1e-6)
    assert p.alpha.shape == (4,) and p.alpha.trainable
    shared = layers.PReLU(shared_axes=[1])
    shared(RNG.normal(size=(2, 3, 4)).astype("float32"))
    assert shared.alpha.shape == (1, 4)
    mask = np.array([[True, True, False, False]] * 10)
    out = layers.Softmax()(X, mask=mask)
    e = np.exp(X[:, :2] - X[:, :2].max(1, keepdims=True))
    np.testing.assert_allclose(out[:, :2], e / e.sum(1, keepdims=True),
                               rtol=1e-5)
    np.testing.assert_array_equal(out[:, 2:], 0)


def test_gaussian_noise_only_in_training_and_reproducible():
    noise = layers.GaussianNoise(0.5, seed=3)
    np.testing.assert_array_equal(noise(X), X)
    big = np.zeros((200, 50), "float32")
    a = noise(big, training=True)
    b = noise(big, training=True)
    assert 0.45 < a.std() < 0.55 and abs(a.mean()) < 0.02
    assert not np.array_equal(a, b)  # the counter advanced
    again = layers.GaussianNoise(0.5, seed=3)(big, training=True)
    np.testing.assert_array_equal(a, again)
    with pytest.raises(ValueError, match="between 0 and 1"):
        layers.GaussianNoise(2.0)


def test_activity_regularization_adds_the_penalty_per_sample():
    model = keras.Sequential([keras.Input((4,)),
                              layers.ActivityRegularization(l1=0.1, l2=0.01)])
    model.compile(keras.optimizers.SGD(0.0), "mse", run_eagerly=True)
    loss = model.evaluate(X, X, batch_size=10, verbose=0)
    expected = (0.1 * np.abs(X).sum() + 0.01 * np.square(X).sum()) / len(X)
    np.testing.assert_allclose(loss, expected, rtol=1e-5)
    cfg = model.layers[0].get_config()
    assert cfg["l1"] == 0.1 and "activity_regularizer" not in cfg


def test_lambda_layer_and_safe_mode():
    layer = layers.Lambda(lambda x, k=3.0: x * k, name="times")
    np.testing.assert_allclose(layer(X), 3 * X)
    inp = keras.Input((4,))
    assert layers.Lambda(lambda t: t[:, :2])(inp).shape == (None, 2)
    config = layer.get_config()
    assert config["function"]["class_name"] == "__lambda__"
    with pytest.raises(ValueError, match="safe_mode=False"):
        layers.Lambda.from_config(dict(config))
    with SafeModeScope(False):
        rebuilt = layers.Lambda.from_config(dict(config))
    np.testing.assert_allclose(rebuilt(X), 3 * X)
    named = layers.Lambda(keras.activations.relu, arguments={})
    again = layers.Lambda.from_config(named.get_config())
    assert again.function is keras.activations.relu
    with pytest.raises(TypeError, match="callable"):
        layers.Lambda(3)


def test_all_new_layers_train_compiled_as_interpreted():
    def build():
        keras.utils.set_random_seed(5)
        inp = keras.Input((4,))
        a = layers.Dense(6, use_bias=False)(inp)
        b = layers.BatchNormalization()(a)
        c = layers.LayerNormalization()(layers.PReLU()(b))
        d = layers.Concatenate()([layers.Add()([b, c]),
                                  layers.Dot(axes=1)([b, c]),
                                  layers.Maximum()([b, c])])
        e = layers.LeakyReLU()(layers.GaussianNoise(0.1, seed=1)(d))
        r = layers.Permute((2, 1))(layers.RepeatVector(2)(e))
        out = layers.Dense(2)(layers.Flatten()(r))
        model = keras.Model(inp, out)
        return model

    y = RNG.normal(size=(10, 2)).astype("float32")
    results = []
    for eager in (True, False):
        model = build()
        model.compile(keras.optimizers.Adam(0.01), "mse", run_eagerly=eager)
        h = model.fit(X, y, batch_size=5, epochs=2, shuffle=False, verbose=0)
        results.append((h.history["loss"], model.get_weights(),
                        model.predict(X, verbose=0)))
    (l1, w1, p1), (l2, w2, p2) = results
    np.testing.assert_allclose(l1, l2, rtol=1e-4)
    for a, b in zip(w1, w2):
        np.testing.assert_allclose(a, b, rtol=1e-3, atol=1e-5)
    np.testing.assert_allclose(p1, p2, rtol=1e-3, atol=1e-5)


def test_layer_configs_round_trip():
    for layer in [layers.BatchNormalization(momentum=0.9, epsilon=1e-5),
                  layers.LayerNormalization(axis=-1, center=False),
                  layers.Concatenate(axis=1), layers.Dot(axes=(1, 2)),
                  layers.Permute((2, 1)), layers.RepeatVector(4),
                  layers.LeakyReLU(0.1), layers.ReLU(max_value=6.0),
                  layers.ELU(0.5), layers.Softmax(axis=1),
                  layers.PReLU(shared_axes=[1]), layers.GaussianNoise(0.2),
                  layers.ActivityRegularization(l2=0.1), layers.Add()]:
        config = layer.get_config()
        clone = type(layer).from_config(config)
        assert clone.get_config() == {**config, "name": clone.name}
