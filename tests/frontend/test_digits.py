"""The shipped digits dataset and the demo's MLP.

Measured on this split, 5 seeds each (Keras 3.15 on JAX in a separate
venv; Keras is not a test dependency): after 8 epochs Keras reaches
0.950-0.967 (mean 0.956), graphkeras 0.928-0.964 (mean 0.954); after the
demo's 20 epochs with validation_split=0.1, Keras 0.972-0.981 (mean 0.977),
graphkeras 0.972-0.981 (mean 0.976). The test runs seed 0 for 8 epochs
and asserts a floor below that band.
"""

import numpy as np

import graphkeras as keras
from graphkeras.datasets import digits
from graphkeras.demo import build_model, load_digits


def test_load_data_is_the_fixed_split():
    (x_train, y_train), (x_test, y_test) = digits.load_data()
    assert x_train.shape == (1437, 8, 8) and x_test.shape == (360, 8, 8)
    assert x_train.dtype == np.uint8 and y_train.dtype == np.uint8
    assert x_train.max() == 16 and set(np.unique(y_test)) == set(range(10))
    (x2, _), _ = digits.load_data()
    np.testing.assert_array_equal(x_train, x2)


def test_digits_mlp_reaches_keras_accuracy():
    keras.utils.set_random_seed(0)
    (x_train, y_train), (x_test, y_test) = load_digits()
    model = build_model(keras)
    model.fit(x_train, y_train, batch_size=32, epochs=8, verbose=0)
    _, accuracy = model.evaluate(x_test, y_test, verbose=0)
    assert accuracy >= 0.93
