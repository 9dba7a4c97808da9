"""A text classifier and a forecaster, trained compiled on the small real
datasets shipped with graphkeras, reach sensible accuracy; compiled
training steps equal the interpreter's."""

import numpy as np

import graphkeras as keras
from graphkeras.datasets import co2, names


def test_names_classifier_learns_gender_from_characters():
    keras.utils.set_random_seed(0)
    (xt, yt), (xs, ys) = names.load_data()
    xt = keras.utils.pad_sequences(xt, maxlen=12)
    xs = keras.utils.pad_sequences(xs, maxlen=12)
    model = keras.Sequential([
        keras.Input((12,), dtype="int32"),
        keras.layers.Embedding(31, 16, mask_zero=True),
        keras.layers.LSTM(32),
        keras.layers.Dense(1, activation="sigmoid")])
    model.compile(optimizer=keras.optimizers.Adam(0.01),
                  loss="binary_crossentropy", metrics=["accuracy"])
    model.fit(xt, yt, batch_size=64, epochs=5, verbose=0)
    _, acc = model.evaluate(xs, ys, verbose=0)
    # majority class: 56.5%; a character LSTM gets about 83%
    assert acc > 0.76, acc


def _co2_windows(length=52, horizon=13):
    _, v = co2.load_data()
    split = int(len(v) * 0.8)
    z = (v - v[:split].mean()) / v[:split].std()

    def windows(start, end):
        xs, ys = [], []
        for s in range(start, end - length - horizon + 1):
            w = z[s:s + length]
            xs.append(w - w[-1])
            ys.append(z[s + length + horizon - 1] - w[-1])
        # inputs and targets relative to the last value, times 10
        return (np.array(xs, "float32")[..., None] * 10,
                np.array(ys, "float32")[:, None] * 10)

    train = windows(0, split)
    test = windows(split - length - horizon + 1, len(z))
    return train, test, v[:split].std() / 10


def test_co2_forecaster_beats_the_seasonal_baseline():
    keras.utils.set_random_seed(0)
    (xtr, ytr), (xte, yte), ppm = _co2_windows()
    model = keras.Sequential([keras.Input((52, 1)), keras.layers.GRU(24),
                              keras.layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.Adam(0.005), loss="mse")
    model.fit(xtr, ytr, batch_size=64, epochs=15, verbose=0)
    pred = model.predict(xte, verbose=0)
    rmse = float(np.sqrt(np.mean((pred - yte) ** 2)) * ppm)
    # predicting the value of the same week a year earlier: ~1.8 ppm
    seasonal = float(np.sqrt(np.mean((xte[:, 52 - 52 + 12, :] - yte) ** 2)) * ppm)
    assert rmse < 1.0 and rmse < 0.6 * seasonal, (rmse, seasonal)


def _text_model(kind):
    """Embedding (mask_zero) into recurrent layers: masked steps, dropout,
    sequences and Bidirectional through a whole training step."""
    inp = keras.Input((7,), dtype="int32")
    h = keras.layers.Embedding(20, 6, mask_zero=True)(inp)
    if kind == "lstm":
        h = keras.layers.LSTM(5, dropout=0.2, recurrent_dropout=0.3)(h)
    elif kind == "gru":
        h = keras.layers.GRU(5, return_sequences=True)(h)
        h = keras.layers.LSTM(3, go_backwards=True)(h)
    else:
        h = keras.layers.Bidirectional(keras.layers.SimpleRNN(
            4, return_sequences=True))(h)
        h = keras.layers.GRU(3, reset_after=False)(h)
    out = keras.layers.Dense(1, activation="sigmoid")(h)
    return keras.Model(inp, out)


def test_compiled_training_equals_the_interpreter():
    rng = np.random.default_rng(1)
    x = rng.integers(0, 20, size=(16, 7)).astype("int32")
    x[:, 5:] = 0  # padding at the end: masked steps
    y = rng.integers(0, 2, size=(16, 1)).astype("float32")
    for kind in ("lstm", "gru", "bi"):
        runs = []
        for eager in (False, True):
            keras.utils.set_random_seed(4)
            model = _text_model(kind)
            model.compile(optimizer="adam", loss="binary_crossentropy",
                          run_eagerly=eager)
            losses = [float(model.train_on_batch(x, y)) for _ in range(3)]
            runs.append((losses, model.get_weights()))
        (l1, w1), (l2, w2) = runs
        np.testing.assert_allclose(l1, l2, rtol=2e-5, err_msg=kind)
        for a, b in zip(w1, w2):
            np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6, err_msg=kind)


def test_attention_training_with_dropout_equals_the_interpreter():
    rng = np.random.default_rng(2)
    x = rng.normal(size=(8, 5, 4)).astype("float32")
    y = rng.normal(size=(8, 5, 3)).astype("float32")
    runs = []
    for eager in (False, True):
        keras.utils.set_random_seed(9)
        inp = keras.Input((5, 4))
        a = keras.layers.MultiHeadAttention(num_heads=2, key_dim=3,
                                            dropout=0.2)(inp, inp)
        b = keras.layers.Attention(use_scale=True, dropout=0.3)([a, inp])
        c = keras.layers.AdditiveAttention()([b, a])
        out = keras.layers.TimeDistributed(keras.layers.Dense(3))(c)
        model = keras.Model(inp, out)
        model.compile(optimizer="adam", loss="mse", run_eagerly=eager)
        losses = [float(model.train_on_batch(x, y)) for _ in range(3)]
        runs.append((losses, model.get_weights()))
    (l1, w1), (l2, w2) = runs
    np.testing.assert_allclose(l1, l2, rtol=2e-5)
    # (the query bias gets gradients near 0: rounding shows at ~1e-6)
    for a_, b_ in zip(w1, w2):
        np.testing.assert_allclose(a_, b_, rtol=1e-4, atol=1e-5)
