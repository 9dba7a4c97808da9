"""Custom functions in saved models, resolved as Keras 3 resolves them:
activations, losses, metrics and initializers passed by custom_objects,
by custom_object_scope or registered with register_keras_serializable,
for .keras and .h5; `activations.serialize` writes what Keras writes; a
custom layer whose get_config() leaves out "name" rebuilds in a model."""

import numpy as np
import pytest

import graphkeras as keras
from graphkeras import ops


def custom_fn(x):
    return ops.relu(x) * 2.0


def my_loss(y_true, y_pred):
    return ops.mean(ops.square(y_true - y_pred), axis=-1)


def my_metric(y_true, y_pred):
    return ops.mean(ops.abs(y_true - y_pred), axis=-1)


def my_init(shape, dtype=None):
    return np.full(shape, 0.1, dtype or "float32")


OBJECTS = {"custom_fn": custom_fn, "my_loss": my_loss,
           "my_metric": my_metric, "my_init": my_init}


@keras.saving.register_keras_serializable(package="gk_test")
def registered_fn(x):
    return ops.tanh(x) * 3.0


X = np.linspace(-1, 1, 12).reshape(4, 3).astype("float32")
Y = np.zeros((4, 2), "float32")


def _model(activation=custom_fn):
    inp = keras.Input((3,))
    out = keras.layers.Dense(2, activation=activation,
                             kernel_initializer=my_init)(inp)
    model = keras.Model(inp, out)
    model.compile("sgd", loss=my_loss, metrics=[my_metric])
    model.fit(X, Y, verbose=0)
    return model


@pytest.mark.parametrize("ext", ["keras", "h5"])
@pytest.mark.parametrize("how", ["custom_objects", "scope"])
def test_custom_functions_load_by_custom_objects_or_scope(tmp_path, ext, how):
    model = _model()
    path = str(tmp_path / f"m.{ext}")
    model.save(path)
    with pytest.raises(Exception, match="custom_fn"):
        keras.saving.load_model(path)
    if how == "custom_objects":
        again = keras.saving.load_model(path, custom_objects=OBJECTS)
    else:
        with keras.saving.custom_object_scope(OBJECTS):
            again = keras.saving.load_model(path)
    np.testing.assert_allclose(again.predict(X, verbose=0),
                               model.predict(X, verbose=0), rtol=1e-6)
    assert again.layers[-1].activation is custom_fn
    logs = again.evaluate(X, Y, verbose=0, return_dict=True)
    assert set(logs) == {"loss", "my_metric"}


@pytest.mark.parametrize("ext", ["keras", "h5"])
def test_registered_function_loads_without_custom_objects(tmp_path, ext):
    model = _model(registered_fn)
    path = str(tmp_path / f"m.{ext}")
    model.save(path)
    again = keras.saving.load_model(path, custom_objects={
        k: v for k, v in OBJECTS.items() if k != "custom_fn"})
    assert again.layers[-1].activation is registered_fn
    np.testing.assert_allclose(again.predict(X, verbose=0),
                               model.predict(X, verbose=0), rtol=1e-6)


def test_activation_serialize_as_keras():
    # what Keras 3 writes (checked against keras 3.15 on JAX)
    assert keras.activations.serialize(keras.activations.relu) == "relu"
    assert keras.activations.serialize(registered_fn) == {
        "module": "builtins", "class_name": "function",
        "config": "gk_test>registered_fn", "registered_name": "function"}
    assert keras.activations.serialize(custom_fn)["config"] == "custom_fn"
    assert keras.activations.deserialize(
        keras.activations.serialize(registered_fn)) is registered_fn
    assert keras.layers.Dense(2, activation=registered_fn).get_config()[
        "activation"]["config"] == "gk_test>registered_fn"


class Scale(keras.layers.Layer):
    def __init__(self, factor=2.0, **kwargs):
        super().__init__(**kwargs)
        self.factor = factor

    def call(self, x):
        return x * self.factor

    def get_config(self):
        return {"factor": self.factor}  # no "name", as many user layers


def test_from_config_of_custom_layer_without_name():
    inp = keras.Input((3,))
    model = keras.Model(inp, keras.layers.Dense(2)(Scale(3.0, name="sc")(inp)))
    again = keras.Model.from_config(model.get_config(),
                                    custom_objects={"Scale": Scale})
    again.set_weights(model.get_weights())
    np.testing.assert_allclose(again.predict(X, verbose=0),
                               model.predict(X, verbose=0), rtol=1e-6)
