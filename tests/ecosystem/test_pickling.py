"""pickle.dumps / copy.deepcopy of models go through the `.keras` format in
memory: built, compiled and trained models come back whole (optimizer
state included) and train on identically; no compiled code is pickled."""

import copy
import io
import pickle
import pickletools
import zipfile

import numpy as np

import graphkeras as keras


def _data(n=40):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(n, 4)).astype("float32")
    y = (x @ np.array([[1.0], [-2.0], [0.5], [3.0]], "float32")).astype(
        "float32")
    return x, y


def _model():
    model = keras.Sequential([
        keras.Input((4,)),
        keras.layers.Dense(8, activation="relu"),
        keras.layers.Dropout(0.25),
        keras.layers.Dense(1),
    ])
    model.compile(optimizer="adam", loss="mse", metrics=["mae"])
    return model


def _same_weights(a, b):
    wa, wb = a.get_weights(), b.get_weights()
    assert len(wa) == len(wb)
    for p, q in zip(wa, wb):
        np.testing.assert_array_equal(p, q)


def test_trained_model_trains_on_identically_after_pickle_and_deepcopy():
    x, y = _data()
    model = _model()
    model.fit(x, y, epochs=2, batch_size=8, verbose=0, shuffle=False)
    pickled = pickle.loads(pickle.dumps(model))
    copied = copy.deepcopy(model)
    _same_weights(model, pickled)
    for m in (pickled, copied):
        assert m.compiled and m is not model
        assert int(np.asarray(m.optimizer.iterations.numpy())) == 10
        assert len(m.optimizer.variables) == len(model.optimizer.variables)
        for p, q in zip(m.optimizer.variables, model.optimizer.variables):
            np.testing.assert_array_equal(p.numpy(), q.numpy())
    # the same further training (dropout included) gives the same weights
    for m in (model, pickled, copied):
        m.fit(x, y, epochs=2, batch_size=8, verbose=0, shuffle=False)
    _same_weights(model, pickled)
    _same_weights(model, copied)


def test_pickle_holds_the_keras_archive_and_nothing_compiled():
    x, y = _data()
    model = _model()
    model.fit(x, y, epochs=1, verbose=0)
    data = pickle.dumps(model)
    ops = [(op.name, arg) for op, arg, _ in pickletools.genops(data)]
    blobs = [a for name, a in ops if isinstance(a, bytes)]
    assert len(blobs) == 1
    names = zipfile.ZipFile(io.BytesIO(blobs[0])).namelist()
    assert sorted(names) == ["config.json", "metadata.json",
                             "model.weights.h5"]
    globals_ = [a for name, a in ops if name in ("STACK_GLOBAL", "GLOBAL")
                or (isinstance(a, str) and "graphkeras" in a)]
    assert all("ctypes" not in str(g) for g in globals_)


def test_functional_unbuilt_and_uncompiled_models():
    a = keras.Input((3,), name="a")
    b = keras.Input((2,), name="b")
    shared = keras.layers.Dense(4, name="shared")
    out = keras.layers.Concatenate()([shared(a), keras.layers.Dense(4)(b)])
    fn = keras.Model([a, b], keras.layers.Dense(1)(out))
    back = copy.deepcopy(fn)
    assert not back.compiled
    _same_weights(fn, back)
    xs = [np.ones((2, 3), "float32"), np.ones((2, 2), "float32")]
    np.testing.assert_array_equal(back.predict(xs, verbose=0),
                                  fn.predict(xs, verbose=0))
    unbuilt = keras.Sequential([keras.layers.Dense(2)])
    again = pickle.loads(pickle.dumps(unbuilt))
    assert not again.built and len(again.layers) == 1


class Residual(keras.layers.Layer):
    """A custom layer that is not registered: pickle finds it by import."""

    def build(self, input_shape):
        self.scale = self.add_weight(shape=(input_shape[-1],),
                                     initializer="ones")

    def call(self, x):
        return x + x * self.scale


class TwoStep(keras.Model):
    """An unregistered subclassed model."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.inner = Residual()
        self.out = keras.layers.Dense(1)

    def call(self, x):
        return self.out(self.inner(x))


def test_unregistered_subclassed_model_pickles_by_reference():
    x, y = _data()
    model = TwoStep()
    model.compile(optimizer="sgd", loss="mse")
    model.fit(x, y, epochs=1, batch_size=8, verbose=0, shuffle=False)
    back = pickle.loads(pickle.dumps(model))
    assert type(back) is TwoStep and type(back.inner) is Residual
    _same_weights(model, back)
    for m in (model, back):
        m.fit(x, y, epochs=1, batch_size=8, verbose=0, shuffle=False)
    _same_weights(model, back)
