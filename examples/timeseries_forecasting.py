"""Timeseries forecasting as in keras.io's weather example, on the weekly
Mauna Loa CO2 series shipped with graphkeras (no download).

    python examples/timeseries_forecasting.py [--epochs 10]

An LSTM reads a year of weekly changes (26 points, every other week) and
predicts the change over the 4 weeks after them (the seasonal cycle makes
it predictable), trained on windows from
`keras.utils.timeseries_dataset_from_array` (fit keeps their order, as it
keeps a tf.data dataset's), with ModelCheckpoint, ReduceLROnPlateau and
EarlyStopping watching the validation loss; then the best model is
reloaded and compared with the naive forecast (the mean change).
"""

import argparse
import os
import tempfile

import numpy as np

import graphkeras as keras
from graphkeras import layers


def windows(series, targets, past, step, batch_size):
    return keras.utils.timeseries_dataset_from_array(
        series, targets, sequence_length=past // step, sampling_rate=step,
        batch_size=batch_size)


def main(epochs=10):
    keras.utils.set_random_seed(0)
    _, co2 = keras.datasets.co2.load_data()
    # inputs: the weekly changes (the level drifts out of the range the
    # training windows saw; its changes do not), scaled on the training
    # part; target: the change over the `future` weeks after the window
    past, step, future, batch_size = 52, 2, 4, 64
    weekly = np.diff(co2)
    ahead = co2[future:] - co2[:-future]  # ahead[k]: co2[k + future] - co2[k]
    split = int(0.8 * len(weekly))
    series = ((weekly - weekly[:split].mean()) / weekly[:split].std())
    scale = ahead[:split].std()
    # the window starting at i ends at co2[i + past]: its target is
    # ahead[i + past]
    targets = ahead[past:] / scale
    n = len(targets)
    train = windows(series[:split, None].astype("float32"),
                    targets[:split - past].astype("float32"), past, step,
                    batch_size)
    val = windows(series[split:n, None].astype("float32"),
                  targets[split:].astype("float32"), past, step, batch_size)

    inputs = keras.Input(shape=(past // step, 1))
    x = layers.LSTM(16)(inputs)
    outputs = layers.Dense(1)(x)
    model = keras.Model(inputs, outputs)
    model.compile(optimizer=keras.optimizers.Adam(1e-2), loss="mse",
                  metrics=["mae"])
    model.summary()

    path = os.path.join(tempfile.mkdtemp(), "best.keras")
    callbacks = [
        keras.callbacks.ModelCheckpoint(path, monitor="val_loss",
                                        save_best_only=True),
        keras.callbacks.ReduceLROnPlateau(monitor="val_loss", factor=0.5,
                                          patience=2),
        keras.callbacks.EarlyStopping(monitor="val_loss", patience=4,
                                      restore_best_weights=True),
    ]
    history = model.fit(train, epochs=epochs, validation_data=val,
                        callbacks=callbacks, verbose=2)

    best = keras.models.load_model(path)
    val_mse = best.evaluate(val, verbose=0)[0]
    # the naive forecast: the mean change of the training windows
    mean = targets[:split - past].mean()
    naive = np.mean(np.concatenate([(y - mean) ** 2 for _, y in val]))
    print(f"best val mse {val_mse:.3f} (naive forecast: {naive:.3f}), "
          f"after {len(history.history['loss'])} epochs")
    return history, val_mse, naive


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=10)
    main(parser.parse_args().epochs)
