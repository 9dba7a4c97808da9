"""`graphkeras demo`: the README's main job.

Trains a small MLP on the 8x8 handwritten digits shipped with the package
(1,437 training images, 360 test images) with Keras's progress bar, then
prints the test accuracy. The same code runs under Keras 3 with
`import keras` in place of `import graphkeras as keras`.
"""

from __future__ import annotations


def build_model(keras):
    """The demo's MLP: 64 pixels -> 64 relu units -> 10 classes."""
    model = keras.Sequential([
        keras.Input(shape=(64,)),
        keras.layers.Dense(64, activation="relu"),
        keras.layers.Dense(10, activation="softmax"),
    ])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    return model


def load_digits():
    """((x_train, y_train), (x_test, y_test)) as float32 in [0, 1] and int
    labels."""
    from .datasets import digits

    (x_train, y_train), (x_test, y_test) = digits.load_data()
    x_train = x_train.reshape(-1, 64).astype("float32") / 16.0
    x_test = x_test.reshape(-1, 64).astype("float32") / 16.0
    return (x_train, y_train.astype("int64")), (x_test, y_test.astype("int64"))


def run_demo(epochs: int = 20, seed: int = 0, verbose="auto") -> int:
    import graphkeras as keras

    if epochs < 1:
        raise ValueError(f"--epochs must be at least 1, received {epochs}.")
    keras.utils.set_random_seed(seed)
    (x_train, y_train), (x_test, y_test) = load_digits()
    model = build_model(keras)
    model.summary()
    model.fit(x_train, y_train, batch_size=32, epochs=epochs,
              validation_split=0.1, verbose=verbose)
    loss, accuracy = model.evaluate(x_test, y_test, verbose=0)
    print(f"Test accuracy: {accuracy:.4f} (loss {loss:.4f}) on "
          f"{len(x_test)} held-out digits.")
    return 0
