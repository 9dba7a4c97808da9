"""The Keras API (docs/architecture.md: the frontend rung).

Map of the package (public names are re-exported by graphkeras/layers.py,
models.py, ops.py, ... so that `import graphkeras as keras` runs Keras code):

    ops/              graphkeras.ops: NumPy-like functions; eager on arrays,
                      record IR on traced tensors, graph nodes on KerasTensors
                      (core dispatch, numpy, nn, math, linalg, image)
    tracing.py        Trace: the active ir.Builder plus variable reads/writes
    tensors.py        KerasTensor (functional API), TracedTensor (in a trace)
    variables.py      Variable; every value lives in the shared StateStore
    random.py         set_random_seed, SeedGenerator, counter-based random ops
    layers/           Layer base (layer.py), InputSpec, InputLayer/Input, core
                      (Dense, Dropout, ...), merging (Add ... Dot),
                      normalization (BatchNormalization, LayerNormalization),
                      regularization (GaussianNoise, ActivityRegularization),
                      activation_layers (ReLU, PReLU, ...), reshaping
                      (Permute, RepeatVector), lambda_layer (Lambda);
                      sequences: embedding, masking (Masking) and masks
                      (the mask protocol), rnn (RNN, SimpleRNN, LSTM, GRU,
                      cells; the `scan` helper), conv_lstm (ConvLSTM1D/2D/
                      3D), wrappers (Bidirectional,
                      TimeDistributed), attention (Attention,
                      AdditiveAttention, MultiHeadAttention)
    models/           Model (+ Trainer), Functional, Sequential
    trainer.py        compile / fit / evaluate / predict, train/test/predict
                      programs, one executable call per batch (or per group
                      of steps_per_execution batches)
    compile_utils.py  per-output losses and metrics, "accuracy" resolution,
                      target-shape checks
    data.py           arrays / generators / PyDataset -> batches
    losses/ metrics/ optimizers/ callbacks/   base classes + built-ins
                      (metrics: accuracy, regression, probabilistic,
                      confusion (Precision, Recall, AUC, X at Y), f_score,
                      iou, correlation; optimizers: one
                      file each + schedules; callbacks: one file each,
                      MonitorCallback for the value-watching ones)
    activations, initializers, regularizers, constraints: name -> object
    utils/            Progbar, summary table, PyDataset, to_categorical,
                      sequence (pad_sequences, timeseries_dataset_from_array)

Extending: each base module's docstring says how to add one (Layer in
layers/layer.py, Loss in losses/loss.py, Metric in metrics/metric.py,
Optimizer in optimizers/optimizer.py, Callback in callbacks/callback.py);
register string names in the package's ALL_OBJECTS and export the class
from the public namespace module.

Invariants: layers never touch IR directly (only through ops); the batch
dimension is None in Keras shapes and the symbol N in IR types; every
persistent tensor is a Variable in `variables.STORE`, read and written by
programs through the StateStore, never copied per step.
"""
