"""Shared models for the saving tests (small, so the suite stays fast)."""

import numpy as np

import graphkeras as keras


def small_mlp(dropout=False, compile=True, optimizer="adam"):
    layers = [keras.Input(shape=(4,), name="features"),
              keras.layers.Dense(6, activation="relu")]
    if dropout:
        layers.append(keras.layers.Dropout(0.3))
    layers.append(keras.layers.Dense(3, activation="softmax"))
    model = keras.Sequential(layers)
    if compile:
        model.compile(optimizer=optimizer,
                      loss="sparse_categorical_crossentropy",
                      metrics=["accuracy"])
    return model


def data(n=32, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 4)).astype("float32")
    y = (x @ rng.normal(size=(4, 3))).argmax(-1)  # a learnable teacher
    return x, y
