"""Issue 3's "Done when" examples, run unchanged but for the import, on
synthetic data with learnable labels (a fixed random teacher)."""

import contextlib
import io

import numpy as np
import pytest

import graphkeras as keras

EXAMPLES = """
model = Sequential([Dense(64, activation='relu', input_shape=(100,)),
                    Dense(10, activation='softmax')])
inputs = Input(shape=(100,)); x = Dense(64, activation='relu')(inputs)
outputs = Dense(10, activation='softmax')(x); model = Model(inputs, outputs)
model.compile(optimizer='adam', loss='categorical_crossentropy', metrics=['accuracy'])
history = model.fit(x_train, y_train, batch_size=32, epochs=10, validation_split=0.2)
loss, accuracy = model.evaluate(x_test, y_test)
predictions = model.predict(x_new)
callback = EarlyStopping(monitor='val_loss', patience=3)
model.fit(x_train, y_train, callbacks=[callback])
class CustomLayer(Layer):
    def call(self, inputs):
        return inputs * 2
model = Sequential(); model.add(Dense(128, activation='relu', input_dim=100))
model.add(Dense(1, activation='sigmoid'))
model.compile(optimizer='adam', loss='binary_crossentropy', metrics=['accuracy'])
"""

IMPORTS_FROM = """
from graphkeras.models import Sequential, Model
from graphkeras.layers import Dense, Input, Layer
from graphkeras.callbacks import EarlyStopping
"""

IMPORT_AS = """
import graphkeras as keras
Sequential, Model = keras.Sequential, keras.Model
Dense, Input, Layer = keras.layers.Dense, keras.Input, keras.layers.Layer
EarlyStopping = keras.callbacks.EarlyStopping
"""


def _data():
    rng = np.random.default_rng(3)
    x = rng.normal(size=(160, 100)).astype("float32")
    y = keras.utils.to_categorical(np.argmax(x @ rng.normal(size=(100, 10)), 1),
                                   10)
    return {"x_train": x[:128], "y_train": y[:128], "x_test": x[128:],
            "y_test": y[128:], "x_new": x[:3]}


def _run(prelude):
    keras.utils.set_random_seed(0)
    ns = _data()
    out = io.StringIO()
    # The EarlyStopping example monitors val_loss in a fit without
    # validation data: Keras warns, and so do we.
    with contextlib.redirect_stdout(out), pytest.warns(
            UserWarning, match="conditioned on metric `val_loss`"):
        exec(prelude + EXAMPLES, ns)  # noqa: S102  (runs the issue text)
    return ns, out.getvalue()


def test_examples_with_from_imports():
    ns, out = _run(IMPORTS_FROM)
    h = ns["history"].history
    assert list(h) == ["accuracy", "loss", "val_accuracy", "val_loss"]
    assert len(h["loss"]) == 10 and h["loss"][-1] < h["loss"][0]
    assert isinstance(ns["loss"], float) and 0 <= ns["accuracy"] <= 1
    assert ns["predictions"].shape == (3, 10)
    np.testing.assert_allclose(ns["predictions"].sum(1), 1, rtol=1e-5)
    assert "Epoch 10/10" in out
    layer = ns["CustomLayer"]()
    np.testing.assert_array_equal(layer(np.ones((2, 3), "float32")),
                                  np.full((2, 3), 2.0))
    model = ns["model"]
    assert [type(l).__name__ for l in model.layers] == ["Dense", "Dense"]
    assert model.compiled and model.count_params() == 100 * 128 + 128 + 129


def test_examples_with_import_as_keras():
    ns, _ = _run(IMPORT_AS)
    assert ns["predictions"].shape == (3, 10)
    assert isinstance(ns["model"], keras.Model)


def test_timeseries_forecasting_example_beats_the_naive_forecast():
    # examples/timeseries_forecasting.py as a user runs it (shipped CO2
    # data, timeseries_dataset_from_array, checkpoint / LR / early-stop
    # callbacks, reloading the best model), for 3 epochs
    import pathlib
    import runpy

    path = pathlib.Path(__file__).parents[2] / "examples" / \
        "timeseries_forecasting.py"
    main = runpy.run_path(str(path))["main"]
    with contextlib.redirect_stdout(io.StringIO()) as out:
        history, val_mse, naive = main(epochs=3)
    assert len(history.history["loss"]) == 3
    # ReduceLROnPlateau adds the learning rate after the sorted logs
    assert list(history.history) == ["loss", "mae", "val_loss", "val_mae",
                                      "learning_rate"]
    assert val_mse < 0.5 * naive
    assert "best val mse" in out.getvalue()
