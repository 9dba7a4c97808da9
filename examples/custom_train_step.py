"""A custom training step, as in Keras's guide "Customizing what happens
in fit()", on the 8x8 digits shipped with graphkeras.

    python examples/custom_train_step.py [--epochs 5]

The model overrides `train_step` and `test_step`: the tape form of the
gradient (`keras.GradientTape`, where Keras on TensorFlow writes
`tf.GradientTape`), its own loss and accuracy trackers, and a gradient
clipped by global norm before the update. `fit` traces the step once and
runs every later batch as one native call; `run_eagerly=True` in
`compile` would run it on the NumPy reference interpreter instead.
See docs/custom_training.md.
"""

import argparse

import graphkeras as keras
from graphkeras import ops


class ClippedModel(keras.Model):
    """A functional model whose training step clips its gradients."""

    def __init__(self, *args, clip_norm=1.0, **kwargs):
        super().__init__(*args, **kwargs)
        self.clip_norm = clip_norm
        self.loss_tracker = keras.metrics.Mean(name="loss")
        self.accuracy = keras.metrics.SparseCategoricalAccuracy(
            name="accuracy")

    @property
    def metrics(self):
        # listed here, they are reset at each epoch's start
        return [self.loss_tracker, self.accuracy]

    def train_step(self, data):
        x, y = data
        with keras.GradientTape() as tape:
            y_pred = self(x, training=True)
            loss = self.compute_loss(y=y, y_pred=y_pred)
        grads = tape.gradient(loss, self.trainable_variables)
        norm = ops.sqrt(sum(ops.sum(ops.square(g)) for g in grads))
        scale = ops.minimum(1.0, self.clip_norm / (norm + 1e-6))
        self.optimizer.apply([g * scale for g in grads],
                             self.trainable_variables)
        self.loss_tracker.update_state(loss)
        self.accuracy.update_state(y, y_pred)
        return {"loss": self.loss_tracker.result(),
                "accuracy": self.accuracy.result(),
                "grad_norm": norm}

    def test_step(self, data):
        x, y = data
        y_pred = self(x, training=False)
        self.loss_tracker.update_state(self.compute_loss(y=y, y_pred=y_pred))
        self.accuracy.update_state(y, y_pred)
        return {m.name: m.result() for m in self.metrics}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=5)
    args = parser.parse_args()

    (x_train, y_train), (x_test, y_test) = keras.datasets.digits.load_data()
    x_train = x_train.reshape(len(x_train), -1).astype("float32") / 16.0
    x_test = x_test.reshape(len(x_test), -1).astype("float32") / 16.0

    inputs = keras.Input(shape=(64,))
    h = keras.layers.Dense(64, activation="relu")(inputs)
    outputs = keras.layers.Dense(10, activation="softmax")(h)
    model = ClippedModel(inputs, outputs, clip_norm=1.0)
    model.compile(optimizer=keras.optimizers.Adam(1e-2),
                  loss="sparse_categorical_crossentropy")
    model.fit(x_train, y_train, batch_size=32, epochs=args.epochs,
              validation_data=(x_test, y_test), verbose=2)
    logs = model.evaluate(x_test, y_test, verbose=0, return_dict=True)
    print(f"test accuracy {logs['accuracy']:.4f}")


if __name__ == "__main__":
    main()
