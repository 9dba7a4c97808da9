"""`graphkeras demo`: the README's main job.

Trains a small MLP on the 8x8 handwritten digits shipped with the package
(1,437 training images, 360 test images) with Keras's progress bar, then
prints the test accuracy; then saves the model (.keras), exports it to
ONNX and, when onnxruntime is installed, checks that the ONNX model
predicts what the model predicts. The training code runs under Keras 3 with
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


def run_demo(epochs: int = 20, seed: int = 0, verbose="auto",
             out_dir=None) -> int:
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
    export_onnx(model, x_test, out_dir)
    return 0


def export_onnx(model, x_test, out_dir=None) -> str:
    """Save the model (.keras) and export it to ONNX; when onnxruntime is
    installed, check that it predicts what the model predicts."""
    import os
    import tempfile

    import numpy as np

    out_dir = out_dir or tempfile.mkdtemp(prefix="graphkeras-demo-")
    os.makedirs(out_dir, exist_ok=True)
    keras_path = os.path.join(out_dir, "digits_mlp.keras")
    onnx_path = os.path.join(out_dir, "digits_mlp.onnx")
    model.save(keras_path)
    model.export(onnx_path, format="onnx", verbose=False)
    print(f"Saved {keras_path} and exported {onnx_path}.")
    try:
        import onnxruntime
    except ImportError:
        print("onnxruntime is not installed: skipped checking the ONNX model.")
        return onnx_path
    session = onnxruntime.InferenceSession(
        onnx_path, providers=["CPUExecutionProvider"])
    name = session.get_inputs()[0].name
    got = session.run(None, {name: x_test})[0]
    expected = model.predict(x_test, verbose=0)
    diff = float(np.max(np.abs(got - expected)))
    agree = float(np.mean(got.argmax(-1) == expected.argmax(-1)))
    print(f"onnxruntime: max |difference| to model.predict {diff:.2e}, "
          f"same class for {agree:.1%} of the test digits.")
    if diff > 1e-4:
        raise RuntimeError(
            f"The exported ONNX model disagrees with model.predict (max "
            f"difference {diff:.2e}); this is a graphkeras bug."
        )
    return onnx_path
