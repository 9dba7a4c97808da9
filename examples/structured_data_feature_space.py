"""Structured data classification with FeatureSpace, as in keras.io's
example of that name (the Cleveland heart-disease table), on a synthetic
table with the same columns (no download).

    python examples/structured_data_feature_space.py [--epochs 20]

A FeatureSpace normalizes the numeric columns, discretizes age, looks up
the categorical ones (integers and the string "thal") and crosses
sex x age and thal x ca; a small MLP trains on the encoded vectors. Then
the FeatureSpace is saved and reloaded, and, as on keras.io, an
"inference model" on the raw columns (`keras.Model(feature_space.
get_inputs(), output)`: the FeatureSpace runs in NumPy as the model's
host stage, the MLP compiled) scores a new patient.
"""

import argparse
import os
import tempfile

import numpy as np

import graphkeras as keras
from graphkeras.utils import FeatureSpace


def heart_table(n, seed=0):
    """Columns like the Cleveland table's, and a target that depends on
    them (chest pain type, thal, exercise angina, age, max heart rate)."""
    rng = np.random.default_rng(seed)
    t = {
        "sex": rng.integers(0, 2, n),
        "cp": rng.integers(0, 5, n),
        "fbs": rng.integers(0, 2, n),
        "restecg": rng.integers(0, 3, n),
        "exang": rng.integers(0, 2, n),
        "ca": rng.integers(0, 4, n),
        "thal": rng.choice(["normal", "fixed", "reversible"], n),
        "age": rng.normal(54, 9, n).round(),
        "trestbps": rng.normal(131, 17, n).round(),
        "chol": rng.normal(246, 51, n).round(),
        "thalach": rng.normal(150, 23, n).round(),
        "oldpeak": np.abs(rng.normal(1.0, 1.1, n)).round(1),
        "slope": rng.integers(1, 4, n),
    }
    t = {k: v.astype("float32") if v.dtype.kind == "f" else
         (v.astype("int32") if v.dtype.kind == "i" else v)
         for k, v in t.items()}
    score = (0.9 * (t["cp"] >= 3) + 1.2 * (t["thal"] == "reversible")
             + 0.8 * t["exang"] + 0.04 * (t["age"] - 54)
             - 0.03 * (t["thalach"] - 150) + 0.5 * t["ca"] - 1.2)
    y = (score + rng.normal(0, 0.5, n) > 0).astype("float32")
    return t, y


def build_feature_space():
    return FeatureSpace(
        features={
            # categorical features encoded as integers
            "sex": FeatureSpace.integer_categorical(num_oov_indices=0),
            "cp": FeatureSpace.integer_categorical(num_oov_indices=0),
            "fbs": FeatureSpace.integer_categorical(num_oov_indices=0),
            "restecg": FeatureSpace.integer_categorical(num_oov_indices=0),
            "exang": FeatureSpace.integer_categorical(num_oov_indices=0),
            "ca": FeatureSpace.integer_categorical(num_oov_indices=0),
            # a categorical feature encoded as a string
            "thal": FeatureSpace.string_categorical(num_oov_indices=0),
            # numerical features to discretize
            "age": FeatureSpace.float_discretized(num_bins=30),
            # numerical features to normalize
            "trestbps": FeatureSpace.float_normalized(),
            "chol": FeatureSpace.float_normalized(),
            "thalach": FeatureSpace.float_normalized(),
            "oldpeak": FeatureSpace.float_normalized(),
            "slope": FeatureSpace.float_normalized(),
        },
        crosses=[
            FeatureSpace.cross(feature_names=("sex", "age"),
                               crossing_dim=64),
            FeatureSpace.cross(feature_names=("thal", "ca"),
                               crossing_dim=16),
        ],
        output_mode="concat",
    )


def main(epochs=20, rows=1000, verbose=2):
    keras.utils.set_random_seed(42)
    table, y = heart_table(rows)
    n_val = rows // 5
    train = {k: v[n_val:] for k, v in table.items()}
    val = {k: v[:n_val] for k, v in table.items()}
    y_train, y_val = y[n_val:], y[:n_val]

    feature_space = build_feature_space()
    feature_space.adapt(train)
    x_train, x_val = feature_space(train), feature_space(val)
    print(f"encoded features: {x_train.shape[1]} columns")

    encoded = feature_space.get_encoded_features()
    x = keras.layers.Dense(32, activation="relu")(encoded)
    x = keras.layers.Dropout(0.5)(x)
    output = keras.layers.Dense(1, activation="sigmoid")(x)
    model = keras.Model(inputs=encoded, outputs=output)
    model.compile("adam", "binary_crossentropy", metrics=["accuracy"])
    model.fit(x_train, y_train, epochs=epochs, batch_size=32,
              validation_data=(x_val, y_val), verbose=verbose)
    loss, accuracy = model.evaluate(x_val, y_val, verbose=0)
    print(f"validation accuracy: {accuracy:.3f} (majority class: "
          f"{max(y_val.mean(), 1 - y_val.mean()):.3f})")

    # the preprocessing travels as a .keras file (Keras 3 reads it too)
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "feature_space.keras")
        feature_space.save(path)
        reloaded = keras.saving.load_model(path)
    sample = {
        "age": 60, "sex": 1, "cp": 1, "trestbps": 145, "chol": 233,
        "fbs": 1, "restecg": 2, "thalach": 150, "exang": 0, "oldpeak": 2.3,
        "slope": 3, "ca": 0, "thal": "fixed",
    }
    inference_model = keras.Model(inputs=feature_space.get_inputs(),
                                  outputs=output)
    input_dict = {name: np.array([value]) for name, value in sample.items()}
    prob = float(inference_model.predict(input_dict, verbose=0)[0, 0])
    encoded_sample = reloaded(sample)  # one sample: a vector
    assert abs(prob - float(model.predict(encoded_sample[None],
                                          verbose=0)[0, 0])) < 1e-5
    print(f"This particular patient had a {100 * prob:.1f}% probability "
          "of having a heart disease, as evaluated by our model.")
    return accuracy, y_val


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=20)
    main(parser.parse_args().epochs)
