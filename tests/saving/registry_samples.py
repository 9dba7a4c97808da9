"""How to make a sample of every registered Keras object, for the
table-driven saving tests.

`layer_sample(cls)` returns (layer, [input arrays]) for any class in
`graphkeras.layers`: from SAMPLES when listed there, else by filling the
constructor's required arguments from ARG_GUESSES and trying the input
shapes of INPUT_GUESSES (two inputs for merging layers) until the layer
builds. A layer neither way can make fails the coverage test, naming the
class: add one line to SAMPLES for it.

Format of SAMPLES: class name -> (constructor kwargs, [input shapes
without the batch], input dtype).
"""

from __future__ import annotations

import inspect

import numpy as np

import graphkeras as keras

SAMPLES = {
    # convolutional networks (issue 6)
    "GroupNormalization": ({"groups": 2}, [(4, 4, 6)], "float32"),
    "Rescaling": ({"scale": 0.5, "offset": 0.25}, [(4, 4, 3)], "float32"),
    "Conv2DTranspose": ({"filters": 2, "kernel_size": 3, "strides": 2,
                         "padding": "same"}, [(4, 5, 3)], "float32"),
    "DepthwiseConv2D": ({"kernel_size": 3, "depth_multiplier": 2,
                         "padding": "same"}, [(5, 5, 3)], "float32"),
    "MaxPooling2D": ({"pool_size": 3, "strides": 2, "padding": "same"},
                     [(7, 7, 2)], "float32"),
    "Dense": ({"units": 3, "activation": "tanh"}, [(5,)], "float32"),
    "Activation": ({"activation": "sigmoid"}, [(5,)], "float32"),
    "Dropout": ({"rate": 0.4}, [(5,)], "float32"),
    "Reshape": ({"target_shape": (2, 3)}, [(6,)], "float32"),
    "Permute": ({"dims": (2, 1)}, [(3, 4)], "float32"),
    "RepeatVector": ({"n": 3}, [(4,)], "float32"),
    "Dot": ({"axes": 1}, [(4,), (4,)], "float32"),
    "Embedding": ({"input_dim": 10, "output_dim": 3}, [(5,)], "int32"),
    "Conv1D": ({"filters": 2, "kernel_size": 2}, [(6, 3)], "float32"),
    "Conv2D": ({"filters": 2, "kernel_size": 2}, [(5, 5, 3)], "float32"),
    "LSTM": ({"units": 3}, [(4, 2)], "float32"),
    "GRU": ({"units": 3}, [(4, 2)], "float32"),
    "SimpleRNN": ({"units": 3}, [(4, 2)], "float32"),
    "Bidirectional": ({"layer": keras.layers.LSTM(2, return_sequences=True)},
                      [(4, 3)], "float32"),
    "TimeDistributed": ({"layer": keras.layers.Dense(3)}, [(4, 5)], "float32"),
    "Attention": ({}, [(4, 5), (6, 5)], "float32"),
    "AdditiveAttention": ({}, [(4, 5), (6, 5)], "float32"),
    "MultiHeadAttention": ({"num_heads": 2, "key_dim": 3}, [(4, 5), (6, 5)],
                           "float32"),
    # audio preprocessing: power_to_db=False, as the decibel floor is taken
    # over the whole batch (predict's batches of 32 differ from one call)
    "MelSpectrogram": ({"fft_length": 16, "sequence_stride": 8,
                        "num_mel_bins": 4, "sampling_rate": 800,
                        "power_to_db": False}, [(64,)], "float32"),
    "STFTSpectrogram": ({"mode": "magnitude", "frame_length": 8,
                         "frame_step": 4}, [(32, 2)], "float32"),
    # preprocessing and augmentation (h14)
    "Discretization": ({"bin_boundaries": [-0.5, 0.0, 0.5]}, [(5,)],
                       "float32"),
    "CategoryEncoding": ({"num_tokens": 10, "output_mode": "count"}, [(5,)],
                         "int32"),
    "IntegerLookup": ({"vocabulary": [1, 3, 5, 7]}, [(5,)], "int32"),
    "EinsumDense": ({"equation": "abc,cde->abde", "output_shape": (4, 2, 3),
                     "bias_axes": "de"}, [(4, 5)], "float32"),
    "CenterCrop": ({"height": 2, "width": 3}, [(4, 5, 3)], "float32"),
    "RandomCrop": ({"height": 2, "width": 3}, [(4, 5, 3)], "float32"),
    "RandomTranslation": ({"height_factor": 0.2, "width_factor": 0.3},
                          [(4, 5, 3)], "float32"),
    "RandomZoom": ({"height_factor": 0.2}, [(4, 5, 3)], "float32"),
    "ConvLSTM3D": ({"filters": 2, "kernel_size": 2, "padding": "same"},
                   [(3, 3, 4, 3, 1)], "float32"),
    "GroupQueryAttention": ({"head_dim": 2, "num_query_heads": 4,
                             "num_key_value_heads": 2, "use_gate": True},
                            [(4, 5), (6, 5)], "float32"),
    "ReversibleEmbedding": ({"input_dim": 10, "output_dim": 3,
                             "tie_weights": False}, [(5,)], "int32"),
    "SpectralNormalization": ({"layer": keras.layers.Conv2D(2, 2),
                               "power_iterations": 2}, [(4, 5, 3)],
                              "float32"),
    # Keras 3.15's image augmentation layers (aug)
    "MaxNumBoundingBoxes": ({"max_number": 3}, [(4, 5, 3)], "float32"),
    "AutoContrast": ({}, [(4, 5, 3)], "float32"),
    "ContrastLimitedAdaptiveHistogramEqualization": (
        {"tile_grid_size": (2, 2)}, [(4, 6, 3)], "float32"),
    "Pipeline": ({"layers": [keras.layers.AutoContrast(),
                             keras.layers.RandomInvert()]}, [(4, 5, 3)],
                 "float32"),
    "RandomPosterization": ({"factor": 4}, [(4, 5, 3)], "float32"),
}

# Layers the generic tests cannot sample, with the reason.
EXCLUDED = {
    "InputLayer": "made by Input(); covered by every model test",
    "Layer": "the base class",
    "InputSpec": "not a layer",
    "Lambda": "its function is Python code: covered by the safe-mode tests",
    "RNN": "takes a cell object: covered by tests/sequence",
    "SimpleRNNCell": "steps inside an RNN: covered through SimpleRNN",
    "LSTMCell": "steps inside an RNN: covered through LSTM",
    "GRUCell": "steps inside an RNN: covered through GRU",
    "StackedRNNCells": "cells inside an RNN: covered by "
                       "tests/frontend/test_keras_programs.py",
    "Wrapper": "an abstract base class (its subclasses define call)",
    "StringLookup": "a host layer (strings, run in NumPy before the "
                    "compiled program): covered by tests/frontend/"
                    "test_host_layers.py, tests/saving/"
                    "test_host_layers_keras3.py",
    "TextVectorization": "a host layer (strings): covered by tests/"
                         "frontend/test_host_layers.py, tests/saving/"
                         "test_host_layers_keras3.py",
    "Hashing": "a host layer (hashes in NumPy): covered by tests/frontend/"
               "test_hashing_layers.py, test_host_layers.py",
    "HashedCrossing": "a host layer (hashes in NumPy): covered by tests/"
                      "frontend/test_hashing_layers.py, "
                      "test_host_layers.py",
}

ARG_GUESSES = {
    "units": 3, "filters": 2, "kernel_size": 2, "pool_size": 2, "rate": 0.3,
    "stddev": 0.2, "n": 2, "axis": -1, "activation": "relu",
    "input_dim": 10, "output_dim": 3, "num_heads": 2, "key_dim": 2,
    "size": 2, "cropping": 1, "padding": 1, "l1": 0.01, "l2": 0.01,
    "factor": 0.5, "height": 3, "width": 3, "num_bins": 3, "max_tokens": 10,
    "num_classes": 3, "dims": (1,), "target_shape": (-1,), "axes": -1,
    "output_size": 2,
}
INPUT_GUESSES = [(5,), (4, 5), (6, 6, 3), (4, 4, 4, 2)]
MERGING = {"Add", "Subtract", "Multiply", "Average", "Maximum", "Minimum",
           "Concatenate", "Dot"}


def layer_classes() -> dict:
    out = {}
    for name, obj in sorted(vars(keras.layers).items()):
        if inspect.isclass(obj) and issubclass(obj, keras.layers.Layer) and \
                name not in EXCLUDED and not name.startswith("_") and \
                obj.__name__ == name:  # Keras's aliases (MaxPool2D) once
            out[name] = obj
    return out


def _arrays(shapes, dtype, batch, seed=0):
    rng = np.random.default_rng(seed)
    if dtype.startswith("int"):
        return [rng.integers(0, 10, size=(batch,) + s).astype(dtype)
                for s in shapes]
    return [rng.normal(size=(batch,) + s).astype(dtype) for s in shapes]


def _required(cls) -> list:
    params = inspect.signature(cls.__init__).parameters
    return [p for p, v in params.items() if p != "self"
            and v.default is inspect.Parameter.empty
            and v.kind not in (v.VAR_KEYWORD, v.VAR_POSITIONAL)]


def layer_sample(cls):
    """(kwargs, input shapes, dtype) for cls, or raise ValueError."""
    name = cls.__name__
    if name in SAMPLES:
        return SAMPLES[name]
    missing = [p for p in _required(cls) if p not in ARG_GUESSES]
    if missing:
        raise ValueError(
            f"no sample for layer {name}: its required argument(s) "
            f"{missing} have no guess; add {name} to SAMPLES in "
            "tests/saving/registry_samples.py"
        )
    kwargs = {p: ARG_GUESSES[p] for p in _required(cls)}
    errors = []
    for shape in INPUT_GUESSES:
        shapes = [shape, shape] if name in MERGING else [shape]
        try:
            model = sample_model(cls, kwargs, shapes, "float32")
            model.run_eagerly = True
            model.predict(_inputs(shapes, "float32", 2), verbose=0)
        except (ValueError, TypeError, IndexError, NotImplementedError) as e:
            errors.append(f"{shape}: {e}")
            continue
        return kwargs, shapes, "float32"
    raise ValueError(
        f"no sample for layer {name}: no input shape of {INPUT_GUESSES} "
        f"works ({errors[-1] if errors else ''}); add {name} to SAMPLES in "
        "tests/saving/registry_samples.py"
    )


def _inputs(shapes, dtype, batch, seed=0):
    xs = _arrays(shapes, dtype, batch, seed)
    return xs if len(xs) > 1 else xs[0]


def sample_inputs(sample, batch, seed=0):
    _, shapes, dtype = sample
    return _inputs(shapes, dtype, batch, seed)


def sample_model(cls, kwargs, shapes, dtype):
    """A functional model applying one `cls` layer to its Inputs."""
    inputs = [keras.Input(shape=s, dtype=dtype, name=f"in_{i}")
              for i, s in enumerate(shapes)]
    layer = cls(**kwargs)
    out = layer(inputs if len(inputs) > 1 else inputs[0])
    return keras.Model(inputs if len(inputs) > 1 else inputs[0], out)


# --- other families -------------------------------------------------------------

def _classes(module, base, skip=()):
    return {n: o for n, o in sorted(vars(module).items())
            if inspect.isclass(o) and issubclass(o, base) and o is not base
            and n not in skip and not n.startswith("_")}


def optimizer_classes():
    # (LossScaleOptimizer wraps another: tests/frontend/test_optimizer_variants.py;
    # MultiOptimizer wraps several: its own tests)
    return _classes(keras.optimizers, keras.optimizers.Optimizer,
                    skip=("LossScaleOptimizer", "MultiOptimizer"))


def loss_classes():
    return _classes(keras.losses, keras.losses.Loss,
                    skip=("LossFunctionWrapper",))


def metric_classes():
    return _classes(keras.metrics, keras.metrics.Metric,
                    skip=("MeanMetricWrapper", "Mean", "Sum"))


def schedule_classes():
    from graphkeras.frontend.optimizers.schedules import LearningRateSchedule

    return _classes(keras.optimizers.schedules, LearningRateSchedule)


def initializer_classes():
    return _classes(keras.initializers, keras.initializers.Initializer)


def regularizer_classes():
    from graphkeras.frontend.regularizers import Regularizer

    return _classes(keras.regularizers, Regularizer)


def constraint_classes():
    from graphkeras.frontend.constraints import Constraint

    return _classes(keras.constraints, Constraint)


SCHEDULE_ARGS = {
    "initial_learning_rate": 0.1, "decay_steps": 10, "decay_rate": 0.5,
    "boundaries": [3, 6], "values": [0.1, 0.05, 0.01],
    "first_decay_steps": 5, "end_learning_rate": 0.01, "power": 2.0,
    "alpha": 0.1,
}


def make(cls, guesses=None):
    """cls() with its required arguments filled from `guesses`."""
    guesses = guesses or {}
    req = _required(cls)
    missing = [p for p in req if p not in guesses]
    if missing:
        raise ValueError(
            f"cannot make {cls.__name__}: no guess for {missing}; add one in "
            "tests/saving/registry_samples.py"
        )
    return cls(**{p: guesses[p] for p in req})
