"""Programs of the kinds users port from keras.io, run with graphkeras and
compared with Keras 3's results (fixtures/keras_programs.json, written by
fixtures/make_keras_programs.py from the same code,
fixtures/programs_cases.py)."""

import importlib.util
import json
import pathlib

import numpy as np
import pytest

import graphkeras as keras

_DIR = pathlib.Path(__file__).parent / "fixtures"
_spec = importlib.util.spec_from_file_location(
    "programs_cases", _DIR / "programs_cases.py")
cases = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(cases)
FIX = json.loads((_DIR / "keras_programs.json").read_text())


def check_same(ours: dict, theirs: dict, rtol=1e-4):
    assert sorted(ours) == sorted(theirs)
    for k in theirs:
        a, b = ours[k], theirs[k]
        try:
            expected = np.asarray(b, float)
        except (ValueError, TypeError):  # names, reprs, ragged lists
            expected = None
        if expected is None or k.endswith(("keys", "names", "shapes")):
            assert a == b, k
        else:
            np.testing.assert_allclose(np.asarray(a, float), expected,
                                       rtol=rtol, atol=rtol * 0.1,
                                       err_msg=k)


@pytest.mark.parametrize("case", cases.CASES, ids=lambda c: c.__name__)
def test_program_matches_keras(case):
    keras.backend.clear_session()  # layer names start from dense
    keras.utils.set_random_seed(0)
    check_same(case(keras), FIX[case.__name__])


def test_batch_concatenate_in_a_step_says_what_to_do():
    # The GAN guide's train_step joins fake and real images along the
    # batch; graphkeras refuses it in words a Keras user can act on.
    class Joined(keras.Model):
        def train_step(self, data):
            x, _ = data
            both = keras.ops.concatenate([self(x), self(x)], axis=0)
            return {"loss": keras.ops.mean(both)}

    inputs = keras.Input((3,))
    model = Joined(inputs, keras.layers.Dense(1)(inputs))
    model.compile(optimizer="sgd")
    x = np.ones((4, 3), "float32")
    with pytest.raises(ValueError, match=r"ops.concatenate cannot join "
                       r"tensors along axis 0, whose size is the batch size, "
                       r"in a compiled step \(received shapes \(None, 1\), "
                       r"\(None, 1\)\).*GAN guide"):
        model.fit(x, x[:, :1], epochs=1, verbose=0)
    # along a static axis it joins as ever
    out = keras.ops.concatenate([np.ones((2, 1)), np.zeros((3, 1))], axis=0)
    np.testing.assert_array_equal(out, [[1], [1], [0], [0], [0]])


def test_top_level_names_of_keras_3():
    # keras.Loss, keras.Metric, ... (subclassed in the guides as
    # `class MyLoss(keras.Loss)`) and keras.tree
    assert keras.Loss is keras.losses.Loss
    assert keras.Metric is keras.metrics.Metric
    assert keras.Optimizer is keras.optimizers.Optimizer
    assert keras.Initializer is keras.initializers.Initializer
    assert keras.Regularizer is keras.regularizers.Regularizer
    assert keras.DTypePolicy is keras.mixed_precision.DTypePolicy
    assert keras.tree.flatten({"b": 1, "a": 2}) == [2, 1]


def test_loops_over_the_batch_or_a_traced_count_say_why():
    ops = keras.ops

    class OverBatch(keras.layers.Layer):
        def call(self, x):
            return ops.map(lambda row: row * 2.0, x)

    class TracedCount(keras.layers.Layer):
        def call(self, x):
            n = ops.cast(ops.sum(x), "int32")
            return ops.fori_loop(0, n, lambda i, v: v + 1.0, x)

    x = np.ones((2, 3), "float32")
    for layer, match in ((OverBatch(), r"ops.map unrolls over the leading "
                          r"axis of `xs`, which is the batch axis"),
                         (TracedCount(), r"`upper` of ops.fori_loop must be "
                          r"known when the step is traced")):
        with pytest.raises(ValueError, match=match):
            inputs = keras.Input((3,))
            model = keras.Model(inputs, layer(inputs))
            model.predict(x, verbose=0)
        # eagerly both are plain Python loops
        assert np.asarray(layer(x)).shape == (2, 3)


def test_eager_tape_loop_points_to_value_and_grad():
    # "Writing a training loop from scratch" (TF guide): an eager tape
    # is refused with the way out, which trains (docs/custom_training.md)
    inputs = keras.Input((3,))
    model = keras.Model(inputs, keras.layers.Dense(2)(inputs))
    loss_fn = keras.losses.MeanSquaredError()
    x = np.random.default_rng(0).random((8, 3)).astype("float32")
    y = np.zeros((8, 2), "float32")
    with keras.GradientTape() as tape:
        loss = loss_fn(y, model(x, training=True))
    with pytest.raises(ValueError, match=r"computed eagerly.*"
                       r"graphkeras.ops.value_and_grad, which runs eagerly"):
        tape.gradient(loss, model.trainable_weights)

    def compute_loss(trainable, x, y):
        out, _ = model.stateless_call(trainable, [], x, training=True)
        return loss_fn(y, out)

    grad_fn = keras.ops.value_and_grad(compute_loss)
    optimizer = keras.optimizers.SGD(0.1)
    losses = []
    for _ in range(3):
        value, grads = grad_fn([v.value for v in model.trainable_variables],
                               x, y)
        optimizer.apply(grads, model.trainable_variables)
        losses.append(float(value))
    assert losses[2] < losses[1] < losses[0]
