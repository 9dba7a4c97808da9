"""Small things as Keras 3 shows them: automatic model names, Variable
repr, the input_shape= warning, the progress bar in Jupyter."""

import io
import sys
import warnings

import numpy as np

import graphkeras as keras


def test_automatic_model_names_count_as_keras():
    # Keras 3 (checked with 3.15): a Sequential wraps an auto-named
    # Functional, so the user's next Model() is functional_1
    keras.backend.clear_session()
    seq = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3)])
    assert seq.name == "sequential"
    a = keras.Input((4,))
    first = keras.Model(a, keras.layers.Dense(2)(a))
    second = keras.Model(a, keras.layers.Dense(2)(a))
    assert (first.name, second.name) == ("functional_1", "functional_2")
    assert keras.Sequential().name == "sequential_1"


def test_variable_repr_shows_the_value():
    layer = keras.layers.Dense(2, name="d", kernel_initializer="ones")
    layer.build((None, 3))
    text = repr(layer.kernel)
    assert text.startswith("<Variable path=d/kernel, shape=(3, 2), "
                           "dtype=float32, value=[[1. 1.]")
    assert text.endswith("]]>")


def test_input_shape_on_a_layer_warns_as_keras():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        keras.layers.Dense(2, input_shape=(3,))
        keras.layers.Dense(2, input_dim=3)
        keras.layers.Dense(2)
    messages = [str(w.message) for w in caught
                if issubclass(w.category, UserWarning)]
    assert messages == [
        "Do not pass an `input_shape`/`input_dim` argument to a layer. When "
        "using Sequential models, prefer using an `Input(shape)` object as "
        "the first layer in the model instead."] * 2


def test_progress_bar_in_jupyter_is_redrawn_in_place(monkeypatch):
    class NotATerminal(io.StringIO):
        def isatty(self):
            return False

    out = NotATerminal()
    monkeypatch.setattr(sys, "stdout", out)
    monkeypatch.setitem(sys.modules, "ipykernel", sys)  # as in a notebook
    bar = keras.utils.Progbar(3, interval=0)
    for i in range(1, 4):
        bar.update(i, [("loss", 0.5)])
    text = out.getvalue()
    # one line rewritten with "\r", styled with ANSI as Keras draws it
    assert text.count("\n") == 1 and text.count("\r") == 3
    assert "\x1b[1m3/3\x1b[0m" in text
    monkeypatch.delitem(sys.modules, "ipykernel")
    out.seek(0)
    out.truncate()
    bar = keras.utils.Progbar(3, interval=0)
    bar.update(3, [("loss", 0.5)])
    assert "\x1b[" not in out.getvalue()  # a pipe gets plain text
    np.testing.assert_equal(out.getvalue().count("3/3"), 1)


def test_metrics_names_as_keras3():
    # Keras 3's compiled metrics are one container, "compile_metrics";
    # the per-output losses follow once built
    a = keras.Input((4,))
    model = keras.Model(a, [keras.layers.Dense(1, name="o1")(a),
                            keras.layers.Dense(1, name="o2")(a)])
    model.compile("adam", ["mse", "mse"], metrics=[["mae"], ["mae"]])
    assert model.metrics_names == ["loss", "compile_metrics"]
    model.fit(np.ones((4, 4)), [np.ones((4, 1))] * 2, verbose=0)
    assert model.metrics_names == ["loss", "compile_metrics", "o1_loss",
                                   "o2_loss"]
    plain = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])
    plain.compile("adam", "mse")
    plain.fit(np.ones((4, 4)), np.ones((4, 1)), verbose=0)
    assert plain.metrics_names == ["loss"]


def test_variable_paths_follow_keras_name_scopes():
    # the paths Keras 3.15 gives the same models
    class Net(keras.Model):
        def __init__(self):
            super().__init__(name="mm")
            self.d = keras.layers.Dense(2, name="first")

        def call(self, x):
            return self.d(x)

    net = Net()
    net(np.ones((1, 3), "float32"))
    assert [w.path for w in net.weights] == ["mm/first/kernel",
                                             "mm/first/bias"]
    inner = keras.Sequential([keras.Input((8,)),
                              keras.layers.Dense(4, name="inner_dense")],
                             name="block")
    x = keras.Input((8,))
    outer = keras.Model(x, keras.layers.Dense(1, name="head")(inner(x)))
    assert [w.path for w in outer.weights] == [
        "block/inner_dense/kernel", "block/inner_dense/bias", "head/kernel",
        "head/bias"]
    rnn = keras.Sequential([keras.Input((5, 3)),
                            keras.layers.LSTM(4, name="lstm")], name="rs")
    assert [w.path for w in rnn.weights] == [
        "rs/lstm/lstm_cell/kernel", "rs/lstm/lstm_cell/recurrent_kernel",
        "rs/lstm/lstm_cell/bias"]
    net.compile("adam", "mse")
    net.fit(np.ones((2, 3)), np.ones((2, 2)), verbose=0)
    assert [v.path for v in net.optimizer.variables][2:4] == [
        "adam/mm_first_kernel_momentum", "adam/mm_first_kernel_velocity"]
