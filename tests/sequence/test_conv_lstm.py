"""ConvLSTM1D/2D/3D (frontend/layers/conv_lstm.py): gradients through
time against finite differences (float64), compiled predict and training
against the reference interpreter, states, masks, configs and errors.
Keras 3's own numbers are in test_conv_lstm_keras.py."""

import numpy as np
import pytest
from helpers import check_grads
from test_gradients import _loss_function, _var  # (tests/sequence)

import graphkeras as keras
from graphkeras import ops

L = keras.layers


GRAD_CASES = {
    "2d_same_seq_masked": (lambda: L.ConvLSTM2D(
        2, 3, padding="same", return_sequences=True, dtype="float64"),
        (3, 4, 4, 2), True),
    "1d_strided_back_state": (lambda: L.ConvLSTM1D(
        2, 3, strides=2, go_backwards=True, return_state=True,
        bias_initializer="random_normal", dtype="float64"), (4, 7, 2), False),
    "2d_channels_first_dilated": (lambda: L.ConvLSTM2D(
        2, 2, padding="same", dilation_rate=2, data_format="channels_first",
        use_bias=False, dtype="float64"), (3, 1, 5, 4), False),
    "3d_in_loop": (lambda: L.ConvLSTM3D(
        2, 2, return_sequences=True, dtype="float64"), (3, 3, 3, 3, 1), False),
    "2d_dropout": (lambda: L.ConvLSTM2D(
        2, 3, padding="same", dropout=0.3, recurrent_dropout=0.4, seed=1,
        dtype="float64"), (3, 4, 4, 1), False),
    "3d_dropout": (lambda: L.ConvLSTM3D(
        1, 2, dropout=0.3, recurrent_dropout=0.4, seed=1, dtype="float64"),
        (2, 3, 3, 3, 1), False),
}


@pytest.mark.parametrize("name", sorted(GRAD_CASES))
def test_conv_lstm_gradients_match_finite_differences(name):
    make, shape, masked = GRAD_CASES[name]
    keras.utils.set_random_seed(5)
    rng = np.random.default_rng(5)
    layer = make()
    n = 2
    x = rng.normal(size=(n,) + shape)
    mask = None
    if masked:
        mask = np.ones((n, shape[0]), bool)
        mask[1, 2:] = False
        mask[0, :1] = False
    layer(x, mask=mask)  # build
    fn, weights = _loss_function(layer, shape, mask)
    first = [x] if mask is None else [x, mask]
    args = first + [_var(layer, p.name) for p in fn.params[len(first):]]
    check_grads(fn, args, ["x"] + [w.key for w in weights], rng=rng,
                env={"N": n})


def test_gradient_cases_cover_every_weight():
    # the check above differentiates w.r.t. the kernel, recurrent kernel
    # and bias (a case without weights would pass vacuously)
    make, shape, _ = GRAD_CASES["1d_strided_back_state"]
    layer = make()
    layer(np.zeros((1,) + shape))
    _, weights = _loss_function(layer, shape)
    assert sorted(w.name for w in weights) == ["bias", "kernel",
                                               "recurrent_kernel"]


def _video(dropout):
    keras.utils.set_random_seed(3)
    i = keras.Input((4, 6, 6, 2))
    x = L.ConvLSTM2D(3, 3, padding="same", return_sequences=True,
                     dropout=dropout, recurrent_dropout=dropout, seed=2)(i)
    x = L.BatchNormalization()(x)
    x = L.ConvLSTM2D(2, (1, 1), padding="same", return_sequences=True)(x)
    x = L.Conv3D(1, 3, padding="same", activation="sigmoid")(x)
    return keras.Model(i, x)


def _variants():
    keras.utils.set_random_seed(4)
    a = keras.Input((4, 7, 2))
    m = keras.Input((4,), dtype="bool")
    b = keras.Input((3, 2, 5, 4))
    c = keras.Input((3, 3, 4, 3, 1))
    ya = L.ConvLSTM1D(2, 3, strides=2, go_backwards=True,
                      return_sequences=True, zero_output_for_mask=True)(
                          a, mask=m)
    yb, hb, cb = L.ConvLSTM2D(2, 2, data_format="channels_first",
                              return_state=True, dropout=0.2)(b)
    yc = L.ConvLSTM3D(1, 2, padding="same", recurrent_dropout=0.3)(c)
    out = ops.concatenate([L.Flatten()(t) for t in (ya, yb, hb, cb, yc)],
                          axis=-1)
    return keras.Model([a, m, b, c], L.Dense(2)(out))


def _variant_data(rng, n):
    m = np.ones((n, 4), bool)
    m[1, 2:] = False
    m[2, :1] = False
    return [rng.random((n, 4, 7, 2)).astype("float32"), m,
            rng.random((n, 3, 2, 5, 4)).astype("float32"),
            rng.random((n, 3, 3, 4, 3, 1)).astype("float32")]


@pytest.mark.parametrize("kind", ["video", "variants"])
def test_compiled_predict_and_training_equal_the_interpreter(kind):
    rng = np.random.default_rng(0)
    if kind == "video":
        x = rng.random((5, 4, 6, 6, 2)).astype("float32")
        y = (rng.random((5, 4, 6, 6, 1)) > 0.5).astype("float32")
        make, loss = (lambda: _video(0.25)), "binary_crossentropy"
    else:
        x = _variant_data(rng, 5)
        y = rng.normal(size=(5, 2)).astype("float32")
        make, loss = _variants, "mse"
    runs = []
    for eager in (False, True):
        model = make()
        model.compile("adam", loss, run_eagerly=eager)
        h = model.fit(x, y, epochs=2, batch_size=3, verbose=0, shuffle=False)
        runs.append((h.history["loss"], model.predict(x, verbose=0),
                     model.get_weights()))
    (l0, p0, w0), (l1, p1, w1) = runs
    np.testing.assert_allclose(l0, l1, rtol=2e-5)
    np.testing.assert_allclose(p0, p1, rtol=1e-5, atol=1e-6)
    for a, b in zip(w0, w1):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)


def test_stateful_carries_states_across_batches_and_resets():
    keras.utils.set_random_seed(6)
    rng = np.random.default_rng(6)
    x = rng.random((2, 6, 5, 5, 2)).astype("float32")
    i = keras.Input((3, 5, 5, 2), batch_size=2)
    layer = L.ConvLSTM2D(3, 3, padding="same", stateful=True)
    model = keras.Model(i, layer(i))
    whole = keras.Model(
        j := keras.Input((6, 5, 5, 2)),
        L.ConvLSTM2D(3, 3, padding="same")(j))
    whole.set_weights(model.get_weights())
    want = whole.predict(x, verbose=0)
    first = model.predict(x[:, :3], verbose=0)
    np.testing.assert_allclose(model.predict(x[:, 3:], verbose=0), want,
                               rtol=1e-5, atol=1e-6)
    layer.reset_states()
    np.testing.assert_allclose(model.predict(x[:, :3], verbose=0), first,
                               rtol=1e-6, atol=1e-7)
    assert not np.allclose(first, want, atol=1e-3)
    assert layer.states[0].shape == (None, 5, 5, 3)


def test_initial_state_and_return_state_channels_first():
    keras.utils.set_random_seed(7)
    rng = np.random.default_rng(7)
    layer = L.ConvLSTM2D(2, 3, data_format="channels_first",
                         return_state=True)
    x = rng.random((2, 3, 1, 5, 6)).astype("float32")
    h0 = rng.random((2, 2, 3, 4)).astype("float32")
    c0 = rng.random((2, 2, 3, 4)).astype("float32")
    out, h, c = layer(x, initial_state=[h0, c0])
    assert out.shape == h.shape == c.shape == (2, 2, 3, 4)
    np.testing.assert_array_equal(np.asarray(out), np.asarray(h))
    # the same step by step through the cell
    states = [h0, c0]
    for t in range(3):
        _, states = layer.cell(x[:, t], states)
    np.testing.assert_allclose(np.asarray(c), np.asarray(states[1]),
                               rtol=1e-5, atol=1e-6)
    i, hi, ci = (keras.Input((3, 1, 5, 6)), keras.Input((2, 3, 4)),
                 keras.Input((2, 3, 4)))
    model = keras.Model([i, hi, ci], layer(i, initial_state=[hi, ci]))
    for p, q in zip(model.predict([x, h0, c0], verbose=0), (out, h, c)):
        np.testing.assert_allclose(p, np.asarray(q), rtol=1e-5, atol=1e-6)


def test_config_round_trip_and_keras_argument_names():
    layer = L.ConvLSTM1D(
        3, 2, strides=2, padding="same", recurrent_activation="hard_sigmoid",
        unit_forget_bias=False, dropout=0.1, recurrent_dropout=0.2, seed=4,
        return_sequences=True, go_backwards=True, kernel_regularizer="l2",
        name="clstm")
    config = layer.get_config()
    for k, v in {"filters": 3, "kernel_size": (2,), "strides": (2,),
                 "padding": "same", "data_format": "channels_last",
                 "dilation_rate": (1,), "unit_forget_bias": False,
                 "dropout": 0.1, "recurrent_dropout": 0.2, "seed": 4,
                 "return_sequences": True, "go_backwards": True,
                 "stateful": False, "unroll": False,
                 "zero_output_for_mask": False}.items():
        assert config[k] == v, k
    assert "cell" not in config
    again = L.ConvLSTM1D.from_config(config)
    assert again.get_config() == config
    assert again.filters == 3 and again.recurrent_dropout == 0.2


@pytest.mark.parametrize("make, shape, message", [
    (lambda: L.ConvLSTM2D(3, 3), (4, 6, 6),
     'Input 0 of layer "{name}" is incompatible with the layer: expected '
     "ndim=5, found ndim=4"),
    (lambda: L.ConvLSTM2D(3, 3), (4, None, None, 2),
     'Layer "{name}": ConvLSTM layers only support static input shapes'),
    (lambda: L.ConvLSTM2D(3, 7), (4, 6, 6, 2),
     'Layer "{name}": computed output size would be zero or negative'),
    (lambda: L.ConvLSTM3D(3, 3), (4, 6, 6, 2, 1),
     'Layer "{name}": computed output size would be zero or negative'),
])
def test_errors_name_the_layer(make, shape, message):
    layer = make()
    with pytest.raises(ValueError) as info:
        layer(keras.Input(shape))
    assert message.format(name=layer.name) in str(info.value)


def test_argument_and_state_errors():
    with pytest.raises(ValueError, match="`strides > 1` is not compatible "
                       "with `dilation_rate > 1`"):
        L.ConvLSTM2D(3, 3, strides=2, dilation_rate=2)
    with pytest.raises(ValueError, match="Received filters=0"):
        L.ConvLSTM2D(0, 3)
    with pytest.raises(ValueError, match="padding"):
        L.ConvLSTM1D(2, 3, padding="causal")
    layer = L.ConvLSTM2D(3, 3, name="clstm")
    x = np.ones((2, 4, 6, 6, 2), "float32")
    with pytest.raises(ValueError, match=r'Layer "clstm": initial state 1 '
                       r"must have shape \(None, 4, 4, 3\), received shape "
                       r"\(2, 4, 4, 2\)"):
        layer(x, initial_state=[np.zeros((2, 4, 4, 3)),
                                np.zeros((2, 4, 4, 2))])
    with pytest.raises(ValueError, match='Layer "clstm" has 2 states'):
        layer(x, initial_state=[np.zeros((2, 4, 4, 3))])
    model = keras.Model(i := keras.Input((4, 6, 6, 2)), layer(i))
    with pytest.raises(ValueError, match=r"expected shape=\(None, 4, 6, 6, "
                       r"2\), found shape=\(None, 4, 6, 6, 3\)"):
        model.predict(np.ones((2, 4, 6, 6, 3), "float32"), verbose=0)


def test_next_frame_example_trains():
    # examples/next_frame_prediction.py as a user runs it, briefly
    import contextlib
    import io
    import pathlib
    import runpy

    path = pathlib.Path(__file__).parents[2] / "examples" / \
        "next_frame_prediction.py"
    main = runpy.run_path(str(path))["main"]
    with contextlib.redirect_stdout(io.StringIO()) as out:
        history, mse, repeat = main(epochs=2, videos=40, verbose=0)
    loss = history.history["loss"]
    assert len(loss) == 2 and loss[1] < loss[0]
    assert np.isfinite(mse) and repeat > 0
    assert "next-frame mse" in out.getvalue()
