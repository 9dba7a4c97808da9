"""The Layer contract: build, weights, names, trainable, config, errors."""

import numpy as np
import pytest

import graphkeras as keras
from graphkeras import ops
from graphkeras.layers import Dense, Dropout, Flatten, Layer, Reshape


def test_automatic_names_are_unique():
    a, b = Dense(2), Dense(2)
    assert a.name.startswith("dense") and b.name.startswith("dense")
    assert a.name != b.name
    n = int(b.name.split("_")[-1]) if "_" in b.name else 0
    assert Dense(2).name == f"dense_{n + 1}"
    assert Dense(2, name="mine").name == "mine"


def test_dense_builds_on_first_call_with_keras_defaults():
    layer = Dense(3, activation="relu")
    assert not layer.built
    x = np.random.default_rng(0).normal(size=(5, 4)).astype("float32")
    y = layer(x)
    assert layer.built and y.shape == (5, 3)
    kernel, bias = layer.get_weights()
    assert kernel.shape == (4, 3) and np.all(bias == 0)  # zeros bias
    limit = np.sqrt(6 / (4 + 3))  # glorot_uniform
    assert np.abs(kernel).max() <= limit
    np.testing.assert_allclose(y, np.maximum(x @ kernel, 0), rtol=1e-5)
    assert [w.path for w in layer.weights] == [f"{layer.name}/kernel",
                                               f"{layer.name}/bias"]
    assert layer.count_params() == 15


def test_count_params_before_build_is_an_error():
    with pytest.raises(ValueError, match="isn't built"):
        Dense(3).count_params()


def test_set_weights_checks_count_and_shapes():
    layer = Dense(2)
    layer.build((None, 3))
    with pytest.raises(ValueError, match="expecting 2 weights"):
        layer.set_weights([np.zeros((3, 2))])
    with pytest.raises(ValueError, match=r"weight shape \(3, 2\) is not "
                       r"compatible with provided weight shape \(2, 2\)"):
        layer.set_weights([np.zeros((2, 2)), np.zeros(2)])
    layer.set_weights([np.ones((3, 2)), np.arange(2)])
    np.testing.assert_array_equal(layer.get_weights()[1], [0, 1])


def test_trainable_false_freezes_weights():
    layer = Dense(2)
    layer.build((None, 3))
    layer.trainable = False
    assert layer.trainable_weights == [] and len(layer.non_trainable_weights) == 2
    layer.trainable = True
    assert len(layer.trainable_weights) == 2


def test_custom_layer_with_ops_works_like_builtin():
    class Scale(Layer):
        def __init__(self, factor=2.0, **kwargs):
            super().__init__(**kwargs)
            self.factor = factor

        def build(self, input_shape):
            self.w = self.add_weight(shape=(input_shape[-1],),
                                     initializer="ones", name="w")

        def call(self, inputs):
            return ops.multiply(inputs, self.w) * self.factor

    layer = Scale(3.0)
    x = np.ones((2, 4), "float32")
    np.testing.assert_allclose(layer(x), 3 * x)
    assert layer.built and len(layer.weights) == 1
    cfg = layer.get_config()
    assert cfg["factor"] == 3.0 and cfg["name"] == layer.name
    clone = Scale.from_config(cfg)
    assert clone.factor == 3.0
    # in a model, trained like a built-in
    inp = keras.Input((4,))
    model = keras.Model(inp, Dense(1)(Scale()(inp)))
    model.compile("sgd", "mse")
    h = model.fit(x, np.ones((2, 1)), epochs=2, verbose=0)
    assert len(h.history["loss"]) == 2


def test_config_round_trip_of_core_layers():
    for layer in (Dense(4, activation="tanh", use_bias=False), Dropout(0.3),
                  Flatten(), Reshape((2, 2)),
                  keras.layers.Activation("softmax")):
        cfg = layer.get_config()
        clone = type(layer).from_config(cfg)
        assert clone.get_config() == cfg


def test_compute_output_shape():
    assert Dense(5).compute_output_shape((None, 3)) == (None, 5)
    assert Flatten().compute_output_shape((None, 2, 3)) == (None, 6)
    assert Reshape((3, -1)).compute_output_shape((None, 6)) == (None, 3, 2)

    class Twice(Layer):
        def call(self, x):
            return ops.concatenate([x, x], axis=-1)

    assert Twice().compute_output_shape((None, 4)) == (None, 8)


def test_incompatible_input_names_layer_and_input_index():
    model = keras.Sequential([keras.Input((28, 28)), Flatten(), Dense(10)])
    model.compile("sgd", "mse")
    dense = Dense(3)
    dense(np.ones((1, 784), "float32"))
    with pytest.raises(ValueError) as e:
        dense(keras.Input((28, 28)))
    msg = str(e.value)
    assert f'Input 0 of layer "{dense.name}" is incompatible with the layer' in msg
    assert "expected axis -1 of input shape to have value 784" in msg
    assert "(None, 28, 28)" in msg and "Add a Flatten() layer" in msg


def test_unknown_keyword_and_bad_units():
    with pytest.raises(ValueError, match="Unrecognized keyword arguments "
                       "passed to Dense"):
        Dense(3, foo=1)
    with pytest.raises(ValueError, match="units=-3"):
        Dense(-3)
    with pytest.raises(ValueError, match="rate=1.5"):
        Dropout(1.5)


def test_unknown_activation_lists_valid_names():
    with pytest.raises(ValueError, match="Unknown activation: 'relux'.*'relu'"):
        Dense(3, activation="relux")


def test_dropout_eager_training_and_inference():
    layer = Dropout(0.5, seed=1)
    x = np.ones((200, 10), "float32")
    np.testing.assert_array_equal(layer(x), x)  # inference: identity
    y = layer(x, training=True)
    kept = y != 0
    assert 0.4 < kept.mean() < 0.6
    np.testing.assert_allclose(y[kept], 2.0)
    assert not np.array_equal(layer(x, training=True), y)  # counter moved


def test_regularizer_losses_and_add_loss():
    layer = Dense(2, kernel_regularizer=keras.regularizers.L2(0.1))
    layer.build((None, 3))
    k = layer.get_weights()[0]
    (penalty,) = layer.losses
    np.testing.assert_allclose(penalty, 0.1 * np.sum(k ** 2), rtol=1e-5)


def test_unknown_non_batch_dimensions_stay_unknown():
    # (tests/sequence/test_variable_length.py runs such models)
    x = keras.Input((None, 8))
    assert Dense(2)(x).shape == (None, None, 2)
    with pytest.raises(ValueError, match=r"last dimension of the inputs must "
                       r"be known"):
        Dense(2)(keras.layers.Flatten()(x))
