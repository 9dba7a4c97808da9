"""Transfer learning as in Keras's guide, with a Keras application as the
base, on the 8x8 digits shipped with graphkeras (no download).

    python examples/transfer_learning.py [--epochs 3]

1. A MobileNetV3Small base (weights=None here; `weights="imagenet"` loads
   Keras's ImageNet weights from ~/.keras/models when you have them) is
   trained with a head on the digits 0-4, upscaled to 32x32 RGB.
2. The base is frozen (`base.trainable = False`, its BatchNormalization
   layers then in inference mode, called with `training=False`) and a
   new head learns the digits 5-9: only the head gets gradients and
   optimizer state.
3. The base is unfrozen, but for its BatchNormalization layers, and the
   model fine-tuned with a low learning rate (recompiling after the change
   of `trainable`, as Keras requires).
See docs/applications.md.
"""

import argparse

import numpy as np

import graphkeras as keras


def images(x):
    """8x8 digits (0-16) to 32x32x3 pixels in [0, 255]."""
    x = np.kron(x.reshape(-1, 8, 8), np.ones((4, 4))) * (255.0 / 16.0)
    return np.repeat(x[..., None], 3, axis=-1).astype("float32")


def classifier(base, classes):
    inputs = keras.Input((32, 32, 3))
    x = keras.layers.Rescaling(1 / 127.5, offset=-1)(inputs)
    x = base(x, training=False)
    x = keras.layers.Dropout(0.2)(x)
    outputs = keras.layers.Dense(classes, activation="softmax")(x)
    return keras.Model(inputs, outputs)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=3)
    args = parser.parse_args()
    keras.utils.set_random_seed(0)

    (x_train, y_train), (x_test, y_test) = keras.datasets.digits.load_data()
    x_train, x_test = images(x_train), images(x_test)
    old_tr, old_te = y_train < 5, y_test < 5

    base = keras.applications.MobileNetV3Small(
        input_shape=(32, 32, 3), include_top=False, weights=None,
        minimalistic=True, include_preprocessing=False, pooling="avg")

    # Keras's MobileNetV3 moves its BatchNormalization statistics slowly
    # (momentum 0.999), right for ImageNet's long training, where they
    # have converged; for our few steps from scratch they would still be
    # near their initial values when the base is frozen (inference mode
    # reads them), so let them follow the data faster here
    for layer in base.layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            layer.momentum = 0.9

    print("1. base and head on the digits 0-4")
    model = classifier(base, 5)
    base.trainable = True
    model.compile(optimizer=keras.optimizers.Adam(1e-3),
                  loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    model.fit(x_train[old_tr], y_train[old_tr], batch_size=32,
              epochs=args.epochs, verbose=2)

    print("2. frozen base, a new head on the digits 5-9")
    base.trainable = False
    model = classifier(base, 5)
    model.compile(optimizer=keras.optimizers.Adam(1e-2),
                  loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    print(f"   trainable weights: {len(model.trainable_weights)} "
          f"(of {len(model.weights)})")
    model.fit(x_train[~old_tr], y_train[~old_tr] - 5, batch_size=32,
              epochs=args.epochs, verbose=2)

    print("3. fine-tuning with a low learning rate")
    # as in Keras 3, fit's training=True replaces the recorded
    # training=False, so keep BatchNormalization frozen (inference mode)
    # and unfreeze the rest
    base.trainable = True
    for layer in base.layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            layer.trainable = False
    model.compile(optimizer=keras.optimizers.Adam(1e-5),
                  loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    model.fit(x_train[~old_tr], y_train[~old_tr] - 5, batch_size=32,
              epochs=1, verbose=2)
    logs = model.evaluate(x_test[~old_te], y_test[~old_te] - 5, verbose=0,
                          return_dict=True)
    print(f"test accuracy on the digits 5-9: {logs['accuracy']:.4f}")


if __name__ == "__main__":
    main()
