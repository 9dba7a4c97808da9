"""State updated inside the step (moving statistics, counters), optimizer
hooks (clipping, weight decay, schedules, constraints), weighted metrics."""

import numpy as np
import pytest

import graphkeras as keras
from graphkeras import ops
from graphkeras.layers import Dense, Input, Layer
from graphkeras.models import Sequential

RNG = np.random.default_rng(4)
X = RNG.normal(size=(24, 3)).astype("float32")
Y = RNG.normal(size=(24, 2)).astype("float32")


class MovingMean(Layer):
    """A BatchNormalization-like layer: a moving mean of its inputs,
    updated only in training, as a state update of the step."""

    def build(self, input_shape):
        self.moving = self.add_weight(shape=(input_shape[-1],),
                                      initializer="zeros", trainable=False,
                                      name="moving_mean")

    def call(self, x, training=False):
        if training:
            m = ops.mean(x, axis=0)
            self.moving.assign(self.moving * 0.5 + m * 0.5)
            return x - m
        return x - self.moving


def test_non_trainable_state_is_updated_inside_the_train_step():
    layer = MovingMean()
    model = Sequential([Input((3,)), layer, Dense(2)])
    model.compile("sgd", "mse")
    model.fit(X, Y, batch_size=12, epochs=1, shuffle=False, verbose=0)
    expected = np.zeros(3)
    for b in (X[:12], X[12:]):
        expected = expected * 0.5 + b.mean(0) * 0.5
    np.testing.assert_allclose(layer.moving.numpy(), expected, rtol=1e-5)
    assert len(model.non_trainable_weights) == 1
    before = layer.moving.numpy()
    model.evaluate(X, Y, verbose=0)
    model.predict(X, verbose=0)
    np.testing.assert_array_equal(layer.moving.numpy(), before)


def sgd_numpy(w, g, lr):
    return w - lr * g


def _one_step(optimizer, kernel_constraint=None):
    keras.utils.set_random_seed(0)
    model = Sequential([Input((3,)), Dense(2, use_bias=False,
                                           kernel_constraint=kernel_constraint)])
    model.compile(optimizer, "mse")
    w0 = model.get_weights()[0].astype(np.float64)
    model.train_on_batch(X, Y)
    g = 2 * X.T.astype(np.float64) @ (X @ w0 - Y) / Y.size
    return w0, g, model.get_weights()[0]


def test_clipvalue_clipnorm_global_clipnorm_and_weight_decay():
    w0, g, w = _one_step(keras.optimizers.SGD(0.1, clipvalue=0.01))
    np.testing.assert_allclose(w, w0 - 0.1 * np.clip(g, -0.01, 0.01), rtol=1e-5)
    w0, g, w = _one_step(keras.optimizers.SGD(0.1, clipnorm=0.05))
    np.testing.assert_allclose(w, w0 - 0.1 * g * min(1, 0.05 / np.linalg.norm(
        g)), rtol=1e-5)
    w0, g, w = _one_step(keras.optimizers.SGD(0.1, global_clipnorm=0.05))
    np.testing.assert_allclose(w, w0 - 0.1 * g * min(1, 0.05 / np.linalg.norm(
        g)), rtol=1e-5)
    w0, g, w = _one_step(keras.optimizers.SGD(0.1, weight_decay=0.5))
    np.testing.assert_allclose(w, (w0 - w0 * 0.5 * 0.1) - 0.1 * g, rtol=1e-5)
    with pytest.raises(ValueError, match="Only one of `clipnorm`, `clipvalue` "
                       "and `global_clipnorm`"):
        keras.optimizers.SGD(clipnorm=1, global_clipnorm=1)


def test_constraints_apply_after_the_update():
    w0, g, w = _one_step(keras.optimizers.SGD(0.1),
                         kernel_constraint=keras.constraints.NonNeg())
    np.testing.assert_allclose(w, np.maximum(w0 - 0.1 * g, 0), rtol=1e-5)


def test_schedule_is_evaluated_in_the_step():
    sched = keras.optimizers.schedules.ExponentialDecay(0.1, decay_steps=1,
                                                        decay_rate=0.5)
    opt = keras.optimizers.SGD(sched)
    keras.utils.set_random_seed(0)
    model = Sequential([Input((3,)), Dense(2, use_bias=False)])
    model.compile(opt, "mse")
    w = model.get_weights()[0].astype(np.float64)
    for step in range(3):
        g = 2 * X.T.astype(np.float64) @ (X @ w - Y) / Y.size
        w = w - 0.1 * 0.5 ** step * g
        model.train_on_batch(X, Y)
    np.testing.assert_allclose(model.get_weights()[0], w, rtol=1e-4)
    assert opt.learning_rate == pytest.approx(0.1 * 0.5 ** 3)
    with pytest.raises(TypeError, match="LearningRateSchedule"):
        opt.learning_rate = 0.1


def test_weighted_metrics_use_sample_weights():
    keras.utils.set_random_seed(0)
    model = Sequential([Input((3,)), Dense(2)])
    model.compile("sgd", "mse", metrics=["mae"], weighted_metrics=["mae"])
    w = RNG.uniform(0, 1, len(X)).astype("float32")
    d = model.evaluate(X, Y, sample_weight=w, verbose=0, return_dict=True)
    err = np.abs(model.predict(X, verbose=0) - Y).mean(1)
    np.testing.assert_allclose(d["mae"], err.mean(), rtol=1e-5)
    np.testing.assert_allclose(d["weighted_mae"], np.sum(err * w) / w.sum(),
                               rtol=1e-5)


def test_regularization_is_part_of_the_loss():
    keras.utils.set_random_seed(0)
    reg = keras.regularizers.L2(0.1)
    model = Sequential([Input((3,)), Dense(2, kernel_regularizer=reg)])
    model.compile("sgd", "mse")
    k = model.get_weights()[0]
    mse = np.mean((model.predict(X, verbose=0) - Y) ** 2)
    np.testing.assert_allclose(model.evaluate(X, Y, verbose=0),
                               mse + 0.1 * np.sum(k ** 2), rtol=1e-5)


def test_add_loss_in_a_subclassed_model():
    class WithPenalty(keras.Model):
        def __init__(self):
            super().__init__()
            self.d = Dense(2)

        def call(self, x):
            y = self.d(x)
            self.add_loss(ops.mean(ops.square(y)) * 0.0 + 1.0)
            return y

    keras.utils.set_random_seed(0)
    m = WithPenalty()
    m.compile("sgd", "mse")
    m.predict(X, verbose=0)
    mse = np.mean((m.predict(X, verbose=0) - Y) ** 2)
    np.testing.assert_allclose(m.evaluate(X, Y, verbose=0), mse + 1.0,
                               rtol=1e-5)
