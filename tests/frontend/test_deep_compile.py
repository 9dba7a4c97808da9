"""Deep models through the whole pipeline: nothing recurses in proportion
to depth (a model's first fit, predict, evaluate, call, JSON and .keras
round trips run under a recursion limit far below its depth), the
compiled train step of a deep model matches the reference interpreter,
a 3000-layer model compiles and runs in a child process, and an
optimizer's traced update holds the values every variable reads alike
once (Optimizer.per_step), not once per variable."""

from __future__ import annotations

import inspect
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import graphkeras as keras
from graphkeras import layers

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))


def dense_stack(depth: int, width: int = 4):
    return keras.Sequential(
        [keras.Input((width,))]
        + [layers.Dense(width, activation="tanh") for _ in range(depth)]
        + [layers.Dense(1)])


def residual(blocks: int, width: int = 4):
    inp = keras.Input((width,))
    x = inp
    for _ in range(blocks):
        y = layers.Dense(width)(x)
        x = layers.Add()([x, y])
        x = layers.LayerNormalization()(x)
    return keras.Model(inp, layers.Dense(1)(x))


def _data(width: int = 4, n: int = 8):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(n, width)).astype("float32")
    return x, x[:, :1] * 0.5


class _Limit:
    """sys.setrecursionlimit(frames now + extra) inside the block."""

    def __init__(self, extra: int):
        self.extra = extra

    def __enter__(self):
        self.old = sys.getrecursionlimit()
        sys.setrecursionlimit(len(inspect.stack()) + self.extra)

    def __exit__(self, *exc):
        sys.setrecursionlimit(self.old)


@pytest.mark.parametrize("make,depth", [(dense_stack, 250), (residual, 60)])
def test_no_recursion_in_proportion_to_depth(make, depth, tmp_path):
    # 150 frames above the caller for a model of 250 layers (residual: 60
    # blocks, 181 layers): anything recursing once a layer fails here
    x, y = _data()
    model = make(depth)
    model.compile(keras.optimizers.Adam(0.01), "mse")
    with _Limit(150):
        model.fit(x, y, batch_size=8, epochs=1, verbose=0)
        model.predict(x, verbose=0)
        model.evaluate(x, y, verbose=0)
        model(x)
        model.summary(print_fn=lambda *a, **k: None)
        again = keras.models.model_from_json(model.to_json())
        path = str(tmp_path / "deep.keras")
        model.save(path)
        loaded = keras.models.load_model(path)
    assert len(again.layers) == len(model.layers)
    np.testing.assert_array_equal(loaded.predict(x, verbose=0),
                                  model.predict(x, verbose=0))


@pytest.mark.parametrize("opt", ["adam", "rmsprop", "nadam"])
def test_deep_train_step_matches_interpreter(opt):
    x, y = _data()
    keras.utils.set_random_seed(1)
    compiled = dense_stack(60)
    eager = dense_stack(60)
    eager.set_weights(compiled.get_weights())
    make = {"adam": lambda: keras.optimizers.Adam(0.01),
            "rmsprop": lambda: keras.optimizers.RMSprop(
                0.01, momentum=0.5, centered=True),
            "nadam": lambda: keras.optimizers.Nadam(0.01)}[opt]
    compiled.compile(make(), "mse")
    eager.compile(make(), "mse", run_eagerly=True)
    for _ in range(3):
        got = compiled.train_on_batch(x, y)
        want = eager.train_on_batch(x, y)
    np.testing.assert_allclose(got, want, rtol=1e-4)
    for a, b in zip(compiled.weights + compiled.optimizer.variables,
                    eager.weights + eager.optimizer.variables):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-4,
                                   atol=1e-6, err_msg=a.path)


def _traced_train_step(model, x, y, monkeypatch):
    """The train step's program as traced (before the passes)."""
    import graphkeras.runtime.compiled as compiled

    got = []

    class _Traced(Exception):
        pass

    def capture(fn, used, **kw):
        got.append(fn)
        raise _Traced

    monkeypatch.setattr(compiled, "prepare_for_codegen", capture)
    with pytest.raises(_Traced):
        model.train_on_batch(x, y)
    return got[0]


@pytest.mark.parametrize("opt,per_step", [
    ("adam", {"pow": 2, "sqrt": 1}),  # + one sqrt a variable
    ("nadam", {"pow": 3}),
    ("lamb", {"pow": 2}),
    ("adamax", {"pow": 1}),
])
def test_update_traces_shared_values_once(opt, per_step, monkeypatch):
    x, y = _data()
    counts = []
    for depth in (2, 12):
        model = dense_stack(depth)
        model.compile(opt, "mse")
        fn = _traced_train_step(model, x, y, monkeypatch)
        ops = [n.op for n in fn.nodes]
        counts.append({op: ops.count(op) for op in per_step})
        counts[-1]["constant"] = ops.count("constant")
    (shallow, deep) = counts
    variables = 2 * (12 - 2)  # a kernel and a bias a layer
    for op, n in per_step.items():
        each = 1 if (opt, op) == ("adam", "sqrt") else 0
        assert deep[op] - shallow[op] == each * variables, (op, counts)
        assert shallow[op] >= n, (op, counts)
    # the update's constants (1 - beta, epsilon) are built once a step:
    # deeper layers add only the forward and backward passes' own
    assert deep["constant"] - shallow["constant"] < 3 * variables, counts


def test_a_3000_layer_model_compiles_and_runs_in_a_child():
    # a crash (a C stack overflow) would end the child, not this process
    code = textwrap.dedent("""
        import numpy as np
        import graphkeras as keras
        from graphkeras import layers
        depth = 3000
        model = keras.Sequential(
            [keras.Input((2,))]
            + [layers.Dense(2, activation="tanh") for _ in range(depth)])
        x = np.random.default_rng(0).normal(size=(5, 2)).astype("float32")
        got = model.predict(x, verbose=0)
        want = x
        for layer in model.layers:
            w, b = layer.get_weights()
            want = np.tanh(want @ w + b)
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-6)
        again = keras.models.model_from_json(model.to_json())
        assert len(again.layers) == depth
        print("OK", flush=True)
    """)
    env = {**os.environ, "PYTHONPATH": ROOT + os.pathsep
           + os.environ.get("PYTHONPATH", "")}
    r = subprocess.run([sys.executable, "-c", code], capture_output=True,
                       text=True, env=env, timeout=900, check=False)
    assert r.returncode == 0 and "OK" in r.stdout, (
        r.returncode, r.stdout[-2000:], r.stderr[-4000:])
