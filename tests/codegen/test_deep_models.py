"""Deep models through the compiler: the train step of a DenseNet-like and
an Inception-like model (concatenations, batch normalization, pooling,
parallel branches) compiles without aborting the process and matches the
reference interpreter; LLVM is handed functions of bounded size however
deep the model (DenseNet121's step body of ~17,000 basic blocks aborted
LLVM's SimplifyCFG)."""

from __future__ import annotations

import re

import numpy as np
import pytest

import graphkeras as keras
from graphkeras import layers


def densenet_like(blocks: int = 2, per_block: int = 3, size: int = 12):
    x = inp = keras.Input((size, size, 3))
    x = layers.Conv2D(8, 3, padding="same", use_bias=False)(x)
    for b in range(blocks):
        for _ in range(per_block):
            y = layers.BatchNormalization(epsilon=1.001e-5)(x)
            y = layers.Activation("relu")(y)
            y = layers.Conv2D(8, 1, use_bias=False)(y)
            y = layers.BatchNormalization(epsilon=1.001e-5)(y)
            y = layers.Activation("relu")(y)
            y = layers.Conv2D(4, 3, padding="same", use_bias=False)(y)
            x = layers.Concatenate()([x, y])
        if b < blocks - 1:  # transition
            x = layers.BatchNormalization()(x)
            x = layers.Conv2D(8, 1, use_bias=False)(x)
            x = layers.AveragePooling2D(2)(x)
    x = layers.GlobalAveragePooling2D()(x)
    return keras.Model(inp, layers.Dense(5, activation="softmax")(x))


def inception_like(modules: int = 2, size: int = 15):
    x = inp = keras.Input((size, size, 3))
    x = layers.Conv2D(8, 3, strides=2, padding="valid")(x)
    for _ in range(modules):
        a = layers.Conv2D(4, 1, padding="same", activation="relu")(x)
        b = layers.Conv2D(4, 1, padding="same", activation="relu")(x)
        b = layers.Conv2D(4, (1, 3), padding="same", activation="relu")(b)
        b = layers.Conv2D(4, (3, 1), padding="same", activation="relu")(b)
        c = layers.AveragePooling2D(3, strides=1, padding="same")(x)
        c = layers.Conv2D(4, 1, padding="same")(c)
        c = layers.BatchNormalization(scale=False)(c)
        d = layers.MaxPooling2D(3, strides=1, padding="same")(x)
        x = layers.Concatenate()([a, b, c, d])
    x = layers.GlobalAveragePooling2D()(x)
    return keras.Model(inp, layers.Dense(5, activation="softmax")(x))


def _pair(build, **kw):
    """The same model twice (same weights): compiled, and interpreted."""
    keras.utils.set_random_seed(3)
    a = build(**kw)
    b = build(**kw)
    b.set_weights(a.get_weights())
    for m, eager in ((a, False), (b, True)):
        m.compile(optimizer=keras.optimizers.SGD(0.05),
                  loss="sparse_categorical_crossentropy", run_eagerly=eager)
    return a, b


def _data(model, n=4):
    rng = np.random.default_rng(0)
    shape = model.inputs[0].shape[1:]
    # unnormalized pixels, as a user feeds them to an application model
    x = (rng.random((n, *shape)) * 255).astype("float32")
    return x, rng.integers(0, 5, n)


@pytest.mark.parametrize("build,kw", [(densenet_like, {"per_block": 2}),
                                      (inception_like, {"modules": 1})])
def test_deep_train_step_matches_interpreter(build, kw):
    compiled, eager = _pair(build, **kw)
    x, y = _data(compiled)
    got = compiled.train_on_batch(x, y)
    want = eager.train_on_batch(x, y)
    np.testing.assert_allclose(got, want, rtol=1e-3)
    for w1, w2 in zip(compiled.weights, eager.weights):
        a, b = np.asarray(w1), np.asarray(w2)
        scale = max(float(np.abs(b).max()), 1.0)
        np.testing.assert_allclose(a, b, rtol=2e-3, atol=2e-4 * scale,
                                   err_msg=w1.path)


class _Built(Exception):
    pass


def _functions(model, monkeypatch, texts=None) -> dict:
    """name -> basic block count of every function in the LLVM module of
    the model's train step (built, not compiled: LLVM is left out); the
    modules' texts are added to `texts`."""
    import graphkeras.runtime.compiled as compiled

    texts = [] if texts is None else texts

    def build_only(key, build, name, libraries=(), describe=None):
        texts.extend(p.text for p in build())
        raise _Built

    monkeypatch.setattr(compiled, "load_or_compile", build_only)
    with pytest.raises(_Built):
        model.train_on_batch(*_data(model, 2))
    out, name = {}, None
    for line in "\n".join(texts).splitlines():
        m = re.match(r'define [^@]*@"?([\w.]+)"?\(', line)
        if m:
            name = m.group(1)
            out[name] = 1
        elif name and re.match(r'^"?[\w.]+"?:', line):
            out[name] += 1
        elif line.startswith("}"):
            name = None
    return out


def test_step_body_size_does_not_grow_with_depth(monkeypatch):
    sizes = []
    for blocks, per in ((1, 1), (2, 4)):
        model, _ = _pair(densenet_like, blocks=blocks, per_block=per)
        texts: list = []
        fns = _functions(model, monkeypatch, texts)
        # the kernels the step calls (kernels that differ only by sizes
        # share one function: codegen/extents.py)
        table = re.search(r'@"?gk_kernels"? = private constant \[(\d+) x ptr\]',
                          "\n".join(texts))
        sizes.append((fns["gk_body"], int(table.group(1)),
                      max(fns.values())))
    (body1, k1, _), (body2, k2, biggest) = sizes
    assert k2 > 3 * k1  # the deeper model has many more kernels ...
    assert body2 == body1  # ... and the same step body
    assert biggest < 200, sizes


def chain_like(ops: int = 600):
    """A long chain of elementwise ops after a Dense (ReLU, then the Dense
    output added back, in turn): fusion puts it in one kernel."""
    x = inp = keras.Input((6, 6, 3))
    d = layers.Dense(5)(layers.GlobalAveragePooling2D()(x))
    x = d
    for k in range(ops):
        x = layers.ReLU()(x) if k % 2 else layers.Add()([x, d])
    return keras.Model(inp, layers.Activation("softmax")(x))


def test_a_long_fused_elementwise_chain_builds(monkeypatch):
    # the codegen evaluated a fused body by recursion, three Python frames
    # an op: a chain of ~300 elementwise ops raised RecursionError
    model, _ = _pair(chain_like)
    fns = _functions(model, monkeypatch)
    assert fns
