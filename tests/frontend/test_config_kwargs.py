"""The default get_config records a custom constructor's keyword
arguments flat, whatever its `**` parameter is called (Keras 3 records
the arguments as passed): `def __init__(self, **kw)` was saved as one
argument named `kw`, and the layer could not be rebuilt from its file."""

import numpy as np

import graphkeras as keras


class Scaled(keras.layers.Layer):
    def __init__(self, factor=2.0, *extra, **kw):
        super().__init__(**kw)
        self.factor = factor

    def call(self, x):
        return x * self.factor


def test_kwargs_of_any_name_are_recorded_flat(tmp_path):
    layer = Scaled(3.0, name="s7", trainable=False)
    config = layer.get_config()
    assert "kw" not in config and "extra" not in config
    assert config["name"] == "s7" and config["trainable"] is False
    assert config["factor"] == 3.0
    again = Scaled.from_config(config)
    assert again.name == "s7" and again.factor == 3.0
    model = keras.Sequential([keras.Input((2,)), Scaled(name="sc")])
    model.save(str(tmp_path / "m.keras"))
    loaded = keras.models.load_model(str(tmp_path / "m.keras"),
                                     custom_objects={"Scaled": Scaled})
    x = np.ones((1, 2), "float32")
    np.testing.assert_allclose(loaded.predict(x, verbose=0), 2 * x)
    assert loaded.layers[0].name == "sc"
