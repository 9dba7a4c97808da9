"""Random Keras models: Sequential and Functional graphs of the layers users
combine, at odd sizes, and the checks that compiled code runs them as the
reference interpreter does.

    @given(data=st.data())
    def test_random_model(data):
        spec = model_specs(HypothesisDraws(data))
        check_model(spec)

A model is drawn as a *spec*: plain data (a dict of lists, tuples, strings
and numbers, printable with `repr` and rebuilt with `build_model`), so a
failing example prints as a Python literal that reproduces it anywhere:

    {"kind": "functional", "dtype": "float32", "inputs": [((7, 3), "float32",
     None)], "layers": [("Conv1D", {"filters": 3, "kernel_size": 3, ...})],
     "calls": [(0, (0,), {})], "outputs": [1], "batch": 3, ...}

Tensors are numbered: the inputs first, then one per call, in order. A call
is (layer index, input tensor ids, call kwargs); applying a layer index a
second time shares the layer's weights.

The drawing is written against a small `Draws` protocol (`integer`,
`choice`, `boolean`), so the same generator runs under hypothesis (which
shrinks a failure to a small model) and from a plain integer seed
(`SeedDraws`), which is what the long subprocess-isolated run in
`tools/fuzz_models.py` uses: a seed reproduces its model.

The generator builds the model with graphkeras' own layers while it draws,
checking every output shape against its own arithmetic (conv and pooling
lengths, reshape factorizations): a layer that rejects a valid
configuration or infers another shape fails the example.

`check_model(spec)` builds two twins (same random seed, same weights), one
compiled and one with `run_eagerly=True` (the numpy reference interpreter),
and compares `predict` (batch sizes 1, 3, 7, ... and a last partial batch),
one `train_on_batch` (its loss, and every weight after the step, moving
statistics included) and `evaluate`. `check_gradients(spec)` rebuilds a tiny
spec in float64 and compares the traced model's gradient with central finite
differences (`helpers.check_grads`).
"""

from __future__ import annotations

import contextlib
import random
from dataclasses import dataclass, field

import numpy as np

import graphkeras as keras
from graphkeras import layers as L

SIZES = (1, 3, 7, 17, 65, 129)  # odd sizes: none a multiple of a vector width
SMALL = (1, 2, 3, 5, 7)
BATCHES = (1, 2, 3, 5, 7, 17, 33)
MAX_ELEMENTS = 2048  # per sample, per tensor: keeps the interpreter quick
MAX_WEIGHTS = 20000  # per layer


# --- where the draws come from -----------------------------------------------


class SeedDraws:
    """Draws from a seeded `random.Random` (the long fuzz run)."""

    def __init__(self, seed: int):
        self.rng = random.Random(seed)

    def integer(self, lo: int, hi: int) -> int:
        return self.rng.randint(lo, hi)

    def choice(self, seq):
        seq = list(seq)
        return seq[self.rng.randrange(len(seq))]

    def boolean(self, p: float = 0.5) -> bool:
        return self.rng.random() < p


class HypothesisDraws:
    """Draws from hypothesis' `st.data()` (the committed tests: shrinking)."""

    def __init__(self, data):
        from hypothesis import strategies as st

        self.data, self.st = data, st

    def integer(self, lo: int, hi: int) -> int:
        return self.data.draw(self.st.integers(lo, hi))

    def choice(self, seq):
        return self.data.draw(self.st.sampled_from(list(seq)))

    def boolean(self, p: float = 0.5) -> bool:
        if p >= 1:
            return True
        if p <= 0:
            return False
        # sampled_from keeps shrinking towards False (the first element)
        n = max(2, round(1 / min(p, 1 - p)))
        k = self.data.draw(self.st.integers(0, n - 1))
        return (k == 0) if p < 0.5 else (k != 0)


# --- shape arithmetic (Keras 3's rules) --------------------------------------


def conv_length(n: int, k: int, s: int, d: int, padding: str) -> int:
    """The output length of a convolution or pooling window along one axis."""
    span = (k - 1) * d + 1
    if padding in ("same", "causal"):
        return -(-n // s)
    return (n - span) // s + 1 if n >= span else 0


def _prod(shape) -> int:
    return int(np.prod(shape)) if shape else 1


# --- the generator -----------------------------------------------------------


@dataclass
class _Tensor:
    sym: object  # the graphkeras symbolic tensor
    shape: tuple  # without the batch axis
    dtype: str
    vocab: int | None = None  # token ids in [0, vocab)
    producer: int | None = None  # the layer index that made it


@dataclass
class _Gen:
    draw: object
    dtype: str
    tensors: list = field(default_factory=list)
    layers: list = field(default_factory=list)  # (class name, kwargs)
    objs: list = field(default_factory=list)  # the layer objects
    in_shapes: list = field(default_factory=list)  # first input shape/layer
    calls: list = field(default_factory=list)
    sequential: bool = False

    def pick(self, pred=None, recent=True) -> int | None:
        ids = [i for i, t in enumerate(self.tensors)
               if (pred is None or pred(t))]
        if not ids:
            return None
        if recent and len(ids) > 2 and self.draw.boolean(0.6):
            return ids[-1]
        return self.draw.choice(ids)

    def apply(self, cls: str, kwargs: dict, inputs: list[int],
              call_kwargs: dict | None = None, *, expect=None,
              layer: int | None = None) -> int:
        """Make (or reuse, when `layer` is given) a layer, call it on the
        tensors `inputs`, record the call, and check the output shape."""
        call_kwargs = dict(call_kwargs or {})
        if layer is None:
            kw = dict(kwargs)
            if self.dtype == "float64" and cls not in _NO_DTYPE:
                kw["dtype"] = self.dtype
                if "layer" in kw:
                    inner_cls, inner_kw = kw["layer"]
                    kw["layer"] = (inner_cls, dict(inner_kw, dtype=self.dtype))
            obj = make_layer(cls, kw)
            self.layers.append((cls, kw))
            self.objs.append(obj)
            self.in_shapes.append(tuple(self.tensors[i].shape for i in inputs))
            layer = len(self.objs) - 1
        obj = self.objs[layer]
        args = [self.tensors[i].sym for i in inputs]
        if cls == "MultiHeadAttention":
            out = obj(*args, **call_kwargs)
        elif len(args) > 1 or cls in _MERGES:
            out = obj(args, **call_kwargs)
        else:
            out = obj(args[0], **call_kwargs)
        shape = tuple(out.shape[1:])
        if expect is not None:
            assert shape == tuple(expect), (
                f"{cls}({kwargs}) on {[self.tensors[i].shape for i in inputs]}"
                f" made {shape}, expected {tuple(expect)}")
        dtype = "float64" if self.dtype == "float64" else "float32"
        self.tensors.append(_Tensor(out, shape, dtype, producer=layer))
        self.calls.append((layer, tuple(inputs), call_kwargs))
        return len(self.tensors) - 1


def make_layer(cls: str, kwargs: dict):
    """The layer `cls(**kwargs)`; a wrapper's "layer" is (class, kwargs)."""
    kw = dict(kwargs)
    if "layer" in kw:
        kw["layer"] = make_layer(*kw["layer"])
    return getattr(L, cls)(**kw)


_MERGES = {"Add", "Concatenate", "Multiply", "Subtract", "Average", "Maximum"}
_NO_DTYPE = set()
_ACTIVATIONS = ("relu", "tanh", "sigmoid", "gelu", "elu", "softplus", "swish",
                "linear", "selu", "softsign", "leaky_relu", "silu")


def _units(g: _Gen, in_size: int) -> int:
    cap = max(1, MAX_WEIGHTS // max(in_size, 1))
    options = [s for s in SIZES if s <= cap] or [1]
    return g.draw.choice(options)


def _fits(shape) -> bool:
    return 0 < _prod(shape) <= MAX_ELEMENTS


# each step: a function (g, tensor id) -> new tensor id or None, by rank


def _dense(g: _Gen, i: int):
    t = g.tensors[i]
    units = _units(g, t.shape[-1])
    kw = {"units": units, "activation": g.draw.choice(_ACTIVATIONS[:6]),
          "use_bias": g.draw.boolean(0.8)}
    if not _fits(t.shape[:-1] + (units,)):
        return None
    return g.apply("Dense", kw, [i], expect=t.shape[:-1] + (units,))


def _norm(g: _Gen, i: int):
    t = g.tensors[i]
    if g.draw.boolean():
        kw = {"momentum": g.draw.choice([0.99, 0.5, 0.0]),
              "center": g.draw.boolean(0.8), "scale": g.draw.boolean(0.8)}
        if len(t.shape) > 1 and g.draw.boolean(0.3):
            kw["axis"] = g.draw.integer(1, len(t.shape))
        return g.apply("BatchNormalization", kw, [i], expect=t.shape)
    kw = {"epsilon": g.draw.choice([1e-3, 1e-6])}
    if len(t.shape) > 1 and g.draw.boolean(0.3):
        kw["axis"] = [-1, -2]
    return g.apply("LayerNormalization", kw, [i], expect=t.shape)


def _dropout(g: _Gen, i: int):
    rate = g.draw.choice([0.0, 0.1, 0.5, 0.9])
    return g.apply("Dropout", {"rate": rate}, [i], expect=g.tensors[i].shape)


def _activation(g: _Gen, i: int):
    t = g.tensors[i]
    kind = g.draw.integer(0, 3)
    if kind == 0:
        return g.apply("LeakyReLU", {"negative_slope": 0.2}, [i],
                       expect=t.shape)
    if kind == 1:
        return g.apply("Softmax", {"axis": -1}, [i], expect=t.shape)
    return g.apply("Activation", {"activation": g.draw.choice(_ACTIVATIONS)},
                   [i], expect=t.shape)


def _factor(n: int, draw) -> tuple:
    divs = [d for d in range(1, n + 1) if n % d == 0]
    a = draw.choice(divs)
    return a, n // a


def _reshape(g: _Gen, i: int):
    t = g.tensors[i]
    n = _prod(t.shape)
    kind = g.draw.integer(0, 2)
    if kind == 0:
        return g.apply("Flatten", {}, [i], expect=(n,))
    if kind == 1 and len(t.shape) >= 2:
        perm = list(range(1, len(t.shape) + 1))
        while perm == sorted(perm):
            random.Random(g.draw.integer(0, 99)).shuffle(perm)
        shape = tuple(t.shape[p - 1] for p in perm)
        return g.apply("Permute", {"dims": tuple(perm)}, [i], expect=shape)
    rank = g.draw.integer(1, 3)
    if rank == 1:
        target = (n,)
    elif rank == 2:
        target = _factor(n, g.draw)
    else:
        a, rest = _factor(n, g.draw)
        target = (a,) + _factor(rest, g.draw)
    if g.draw.boolean(0.3):  # Keras infers one -1 axis
        k = g.draw.integer(0, len(target) - 1)
        spec = tuple(-1 if j == k else d for j, d in enumerate(target))
    else:
        spec = target
    return g.apply("Reshape", {"target_shape": spec}, [i], expect=target)


def _conv(g: _Gen, i: int):
    t = g.tensors[i]
    sp, c = t.shape[:-1], t.shape[-1]
    rank = len(sp)
    k = g.draw.choice([1, 2, 3, 5])
    s = g.draw.choice([1, 1, 2, 3])
    d = 1 if s > 1 else g.draw.choice([1, 1, 2, 3])
    padding = g.draw.choice(["valid", "same"]
                            + (["causal"] if rank == 1 else []))
    out_sp = tuple(conv_length(n, k, s, d, padding) for n in sp)
    if 0 in out_sp:
        padding = "same"
        out_sp = tuple(conv_length(n, k, s, d, padding) for n in sp)
    filters = _units(g, c * k ** rank)
    if not _fits(out_sp + (filters,)):
        return None
    kind = g.draw.integer(0, 5) if rank == 2 else 0
    kw = {"kernel_size": k, "strides": s, "dilation_rate": d,
          "padding": padding, "activation": g.draw.choice(_ACTIVATIONS[:6]),
          "use_bias": g.draw.boolean(0.8)}
    if kind == 1 and padding != "causal":  # depthwise
        mult = g.draw.choice([1, 2])
        kw["depth_multiplier"] = mult
        return g.apply("DepthwiseConv2D", kw, [i], expect=out_sp + (c * mult,))
    if kind == 2 and padding != "causal" and d == 1:  # separable
        kw["filters"] = filters
        return g.apply("SeparableConv2D", kw, [i], expect=out_sp + (filters,))
    kw["filters"] = filters
    cls = "Conv1D" if rank == 1 else "Conv2D"
    return g.apply(cls, kw, [i], expect=out_sp + (filters,))


def _pool(g: _Gen, i: int):
    t = g.tensors[i]
    sp, c = t.shape[:-1], t.shape[-1]
    rank = len(sp)
    dims = f"{rank}D"
    kind = g.draw.integer(0, 3)
    if kind == 0:
        cls = g.draw.choice(["GlobalAveragePooling", "GlobalMaxPooling"])
        keep = g.draw.boolean(0.2)
        expect = (1,) * rank + (c,) if keep else (c,)
        return g.apply(cls + dims, {"keepdims": keep}, [i], expect=expect)
    p = g.draw.choice([1, 2, 3])
    s = g.draw.choice([None, 1, 2, 3])
    padding = g.draw.choice(["valid", "same"])
    out_sp = tuple(conv_length(n, p, s or p, 1, padding) for n in sp)
    if 0 in out_sp:
        padding = "same"
        out_sp = tuple(conv_length(n, p, s or p, 1, padding) for n in sp)
    cls = g.draw.choice(["MaxPooling", "AveragePooling"]) + dims
    kw = {"pool_size": p, "strides": s, "padding": padding}
    return g.apply(cls, kw, [i], expect=out_sp + (c,))


def _rnn(g: _Gen, i: int):
    t = g.tensors[i]
    steps, f = t.shape
    if steps > 33:
        return None
    cls = g.draw.choice(["LSTM", "GRU", "SimpleRNN"])
    units = g.draw.choice([s for s in SIZES if s <= 17])
    seq = g.draw.boolean()
    kw = {"units": units, "return_sequences": seq,
          "go_backwards": g.draw.boolean(0.2)}
    if cls == "GRU":
        kw["reset_after"] = g.draw.boolean(0.7)
    if g.draw.boolean(0.25):
        mode = g.draw.choice(["concat", "sum", "ave", "mul"])
        width = 2 * units if mode == "concat" else units
        expect = (steps, width) if seq else (width,)
        return g.apply("Bidirectional", {"layer": (cls, kw),
                                         "merge_mode": mode}, [i],
                       expect=expect)
    expect = (steps, units) if seq else (units,)
    return g.apply(cls, kw, [i], expect=expect)


def _attention(g: _Gen, i: int):
    t = g.tensors[i]
    steps, f = t.shape
    if steps > 33 or g.sequential:  # query and value: not in a Sequential
        return None
    heads = g.draw.choice([1, 2, 3])
    key_dim = g.draw.choice([1, 3, 7])
    kw = {"num_heads": heads, "key_dim": key_dim,
          "dropout": g.draw.choice([0.0, 0.0, 0.3])}
    j = i
    if g.draw.boolean(0.3):  # cross attention to another sequence
        j = g.pick(lambda u: len(u.shape) == 2 and u.dtype != "int32"
                   and u.shape[0] <= 33, recent=False)
    return g.apply("MultiHeadAttention", kw, [i, j] if j != i else [i, i],
                   expect=t.shape)


def _embedding_or_cast(g: _Gen, i: int):
    t = g.tensors[i]
    dim = g.draw.choice([1, 3, 7, 17])
    kw = {"input_dim": t.vocab, "output_dim": dim}
    if t.vocab > 1 and g.draw.boolean(0.3):  # token 0 is padding
        kw["mask_zero"] = True
    return g.apply("Embedding", kw, [i], expect=t.shape + (dim,))


_RANDOM = {"GaussianNoise", "GaussianDropout", "SpatialDropout1D",
           "SpatialDropout2D", "AlphaDropout"}


def _noise(g: _Gen, i: int):
    t = g.tensors[i]
    kind = g.draw.integer(0, 3)
    if kind == 0:
        return g.apply("GaussianNoise", {"stddev": 0.1}, [i], expect=t.shape)
    if kind == 1:
        return g.apply("GaussianDropout", {"rate": 0.3}, [i], expect=t.shape)
    if kind == 2 and len(t.shape) in (2, 3):
        cls = f"SpatialDropout{len(t.shape) - 1}D"
        return g.apply(cls, {"rate": g.draw.choice([0.2, 0.5])}, [i],
                       expect=t.shape)
    return g.apply("UnitNormalization", {"axis": -1}, [i], expect=t.shape)


def _group_norm(g: _Gen, i: int):
    t = g.tensors[i]
    c = t.shape[-1]
    groups = g.draw.choice([d for d in range(1, c + 1) if c % d == 0])
    return g.apply("GroupNormalization", {"groups": groups,
                                          "epsilon": 1e-3}, [i],
                   expect=t.shape)


def _spatial(g: _Gen, i: int):
    """Padding, cropping, up-sampling and transposed convolutions."""
    t = g.tensors[i]
    sp, c = t.shape[:-1], t.shape[-1]
    rank = len(sp)
    d = f"{rank}D"
    kind = g.draw.integer(0, 3)
    if kind == 0:
        pads = [(g.draw.integer(0, 2), g.draw.integer(0, 2)) for _ in sp]
        out = tuple(n + a + b for n, (a, b) in zip(sp, pads)) + (c,)
        arg = pads[0] if rank == 1 else tuple(pads)
        if not _fits(out):
            return None
        return g.apply("ZeroPadding" + d, {"padding": arg}, [i], expect=out)
    if kind == 1:
        crops = []
        for n in sp:
            a = g.draw.integer(0, max(0, (n - 1) // 2))
            b = g.draw.integer(0, max(0, n - 1 - a))
            crops.append((a, b))
        out = tuple(n - a - b for n, (a, b) in zip(sp, crops)) + (c,)
        arg = crops[0] if rank == 1 else tuple(crops)
        return g.apply("Cropping" + d, {"cropping": arg}, [i], expect=out)
    if kind == 2:
        size = g.draw.choice([1, 2, 3])
        out = tuple(n * size for n in sp) + (c,)
        if not _fits(out):
            return None
        kw = {"size": size}
        if rank == 2 and g.draw.boolean(0.3):
            kw["interpolation"] = "bilinear"
        return g.apply("UpSampling" + d, kw, [i], expect=out)
    k = g.draw.choice([1, 2, 3])
    st = g.draw.choice([1, 2])
    padding = g.draw.choice(["valid", "same"])
    out_sp = tuple(n * st if padding == "same" else n * st + max(k - st, 0)
                   for n in sp)
    filters = _units(g, c * k ** rank)
    if not _fits(out_sp + (filters,)):
        return None
    kw = {"filters": filters, "kernel_size": k, "strides": st,
          "padding": padding, "activation": g.draw.choice(_ACTIVATIONS[:6])}
    return g.apply(f"Conv{d}Transpose", kw, [i], expect=out_sp + (filters,))


def _time_distributed(g: _Gen, i: int):
    t = g.tensors[i]
    units = _units(g, t.shape[-1])
    if not _fits(t.shape[:-1] + (units,)):
        return None
    return g.apply("TimeDistributed", {"layer": ("Dense", {"units": units})},
                   [i], expect=t.shape[:-1] + (units,))


def _repeat(g: _Gen, i: int):
    t = g.tensors[i]
    n = g.draw.choice([1, 2, 3, 7])
    if not _fits((n,) + t.shape):
        return None
    return g.apply("RepeatVector", {"n": n}, [i], expect=(n,) + t.shape)


def _steps_for(t: _Tensor):
    if t.dtype == "int32":
        return [_embedding_or_cast]
    r = len(t.shape)
    common = [_dense, _norm, _dropout, _activation, _reshape, _noise,
              _group_norm]
    if r == 2:
        return common + [_conv, _conv, _pool, _rnn, _rnn, _attention,
                         _spatial, _time_distributed]
    if r == 3:
        return common + [_conv, _conv, _pool, _spatial, _time_distributed]
    return common + [_dense, _repeat]


def _merge(g: _Gen) -> int | None:
    """Add/Multiply/... of two tensors of one shape, or Concatenate of two
    that agree but on the last axis; a Dense matches a partner's width."""
    floats = [k for k, t in enumerate(g.tensors) if t.dtype != "int32"]
    if len(floats) < 2:
        return None
    a = g.pick(lambda t: t.dtype != "int32")
    others = [k for k in floats if k != a
              and g.tensors[k].shape[:-1] == g.tensors[a].shape[:-1]]
    if not others:
        return None
    b = g.draw.choice(others)
    ta, tb = g.tensors[a], g.tensors[b]
    if g.draw.boolean(0.4):
        shape = ta.shape[:-1] + (ta.shape[-1] + tb.shape[-1],)
        if not _fits(shape):
            return None
        return g.apply("Concatenate", {"axis": -1}, [a, b], expect=shape)
    if ta.shape != tb.shape:
        if tb.shape[-1] * ta.shape[-1] > MAX_WEIGHTS:
            return None
        b = g.apply("Dense", {"units": ta.shape[-1]}, [b], expect=ta.shape)
    cls = g.draw.choice(["Add", "Add", "Multiply", "Subtract", "Average",
                         "Maximum"])
    ids = [a, b]
    if cls != "Subtract" and g.draw.boolean(0.2):
        ids.append(a)  # three operands, one twice
    return g.apply(cls, {}, ids, expect=ta.shape)


def _share(g: _Gen) -> int | None:
    """Call an earlier layer again on a tensor of its first input's shape."""
    cands = []
    for li, (cls, _) in enumerate(g.layers):
        if cls in _MERGES or cls in ("MultiHeadAttention", "Embedding"):
            continue
        shape = g.in_shapes[li][0]
        for k, t in enumerate(g.tensors):
            if t.shape == shape and t.dtype != "int32" and t.producer != li:
                cands.append((li, k))
    if not cands:
        return None
    li, k = g.draw.choice(cands)
    return g.apply(g.layers[li][0], {}, [k], layer=li)


def _input(draw, dtype: str, allow_int: bool):
    dtype = "float32" if dtype == "mixed_bfloat16" else dtype
    kind = draw.integer(0, 4 if allow_int else 3)
    if kind == 0:
        return (draw.choice(SIZES),), dtype, None
    if kind == 1:
        return (draw.choice(SMALL + (17,)), draw.choice(SMALL)), dtype, None
    if kind == 2:
        return (draw.choice(SMALL + (9,)), draw.choice(SMALL + (9,)),
                draw.choice((1, 2, 3))), dtype, None
    if kind == 3:
        return (draw.choice((1, 3, 7, 17, 65)),), dtype, None
    return (draw.choice((1, 3, 7, 13)),), "int32", draw.choice((1, 5, 17))


@contextlib.contextmanager
def floatx(dtype: str):
    """keras.config.floatx() is `dtype` within (a float64 model's own
    dtype: a model casts its inputs to it, as Keras 3's does)."""
    old = keras.config.floatx()
    policy = keras.mixed_precision.global_policy().name
    if dtype == "mixed_bfloat16":  # float32 weights, bfloat16 products
        keras.mixed_precision.set_global_policy(dtype)
    else:
        keras.config.set_floatx(dtype)
    try:
        yield
    finally:
        keras.config.set_floatx(old)
        keras.mixed_precision.set_global_policy(policy)


def model_specs(draw, *, max_layers: int = 6, dtypes=("float32",),
                max_inputs: int = 3, max_outputs: int = 3) -> dict:
    """Draw one model spec (module docstring): Sequential or Functional."""
    dtype = draw.choice(dtypes)
    with floatx(dtype):
        return _model_specs(draw, dtype, max_layers, max_inputs, max_outputs)


def _model_specs(draw, dtype, max_layers, max_inputs, max_outputs) -> dict:
    keras.utils.set_random_seed(0)
    g = _Gen(draw, dtype)
    g.sequential = draw.boolean(0.3)
    n_in = 1 if g.sequential else draw.integer(1, max_inputs)
    inputs = [_input(draw, dtype, allow_int=True) for _ in range(n_in)]
    for shape, dt, vocab in inputs:
        sym = keras.Input(shape, dtype=dt)
        g.tensors.append(_Tensor(sym, shape, dt, vocab))
    n_steps = draw.integer(1, max_layers)
    for _ in range(n_steps):
        if g.sequential:
            i = len(g.tensors) - 1
        elif draw.boolean(0.2) and _merge(g) is not None:
            continue
        elif draw.boolean(0.1) and _share(g) is not None:
            continue
        else:
            i = g.pick()
        step = draw.choice(_steps_for(g.tensors[i]))
        step(g, i)
    # every int input gets its embedding, so no output is a token id
    for k, t in list(enumerate(g.tensors)):
        if t.dtype == "int32" and not any(k in c[1] for c in g.calls):
            _embedding_or_cast(g, k)
    if g.sequential and g.tensors[-1].dtype == "int32":
        _embedding_or_cast(g, len(g.tensors) - 1)
    floats = [k for k, t in enumerate(g.tensors)
              if t.dtype != "int32" and k >= len(inputs)]
    if not floats:  # a model of inputs only: add a layer
        last = g.tensors[-1]
        if last.dtype == "int32":
            floats = [_embedding_or_cast(g, len(g.tensors) - 1)]
        else:
            floats = [g.apply("Dense", {"units": 1}, [len(g.tensors) - 1],
                              expect=last.shape[:-1] + (1,))]
    outputs = [floats[-1]]
    if not g.sequential:
        for _ in range(draw.integer(0, max_outputs - 1)):
            k = draw.choice(floats)
            if k not in outputs:
                outputs.append(k)
    return {
        "kind": "sequential" if g.sequential else "functional",
        "dtype": dtype,
        "inputs": inputs,
        "layers": g.layers,
        "calls": g.calls,
        "outputs": outputs,
        "batch": draw.choice(BATCHES),
        "optimizer": draw.choice(["sgd", "adam", "rmsprop"]),
        "data_seed": draw.integer(0, 2**16),
        # fit for 2 epochs too: steps per native call, sample weights
        "fit": draw.choice([None, None, 1, 2, 3]),
        "sample_weight": draw.boolean(0.3),
    }


# --- building a spec ---------------------------------------------------------


def build_model(spec: dict, seed: int = 0):
    """The spec's model; the same seed gives the same weights."""
    keras.utils.set_random_seed(seed)
    # NOTE: named by their place, so that twins have the same names: the
    # list train_on_batch returns orders per-output metrics by name (as
    # Keras 3 does), and "dense_9" and "dense_10" sort the other way round
    objs = [make_layer(cls, dict(kw, name=f"{cls.lower()}_{k}"))
            for k, (cls, kw) in enumerate(spec["layers"])]
    if spec["kind"] == "sequential":
        (shape, dt, _), = spec["inputs"]
        return keras.Sequential([keras.Input(shape, dtype=dt)] + objs)
    tensors = [keras.Input(shape, dtype=dt) for shape, dt, _ in spec["inputs"]]
    n_in = len(tensors)
    for li, ids, call_kwargs in spec["calls"]:
        cls = spec["layers"][li][0]
        args = [tensors[i] for i in ids]
        if cls == "MultiHeadAttention":
            out = objs[li](*args, **call_kwargs)
        elif len(args) > 1 or cls in _MERGES:
            out = objs[li](args, **call_kwargs)
        else:
            out = objs[li](args[0], **call_kwargs)
        tensors.append(out)
    outs = [tensors[k] for k in spec["outputs"]]
    ins = tensors[:n_in]
    return keras.Model(ins if len(ins) > 1 else ins[0],
                       outs if len(outs) > 1 else outs[0])


def spec_data(spec: dict, n: int, model=None):
    """Inputs (n samples) and targets for the spec's model."""
    rng = np.random.default_rng(spec["data_seed"])
    xs = []
    for shape, dt, vocab in spec["inputs"]:
        if dt == "int32":
            xs.append(rng.integers(0, vocab, size=(n,) + tuple(shape)).astype(
                "int32"))
        else:
            xs.append(rng.uniform(-1, 1, size=(n,) + tuple(shape)).astype(dt))
    ys = None
    if model is not None:
        ys = [rng.uniform(-1, 1, size=(n,) + tuple(o.shape[1:])).astype(
            "float64" if spec["dtype"] == "float64" else "float32")
            for o in model.outputs]
    return xs, ys


def _one(seq):
    return seq[0] if len(seq) == 1 else list(seq)


# --- the checks --------------------------------------------------------------


def _tolerance(dtype: str) -> tuple[float, float]:
    if dtype == "mixed_bfloat16":  # one bfloat16 rounding flipped: 2^-8
        return (2e-2, 2e-2)
    return (1e-8, 1e-8) if dtype == "float64" else (2e-4, 2e-4)


def _close(got, want, what: str, dtype: str, scale: float = 1.0):
    rtol, atol = _tolerance(dtype)
    got, want = np.asarray(got), np.asarray(want)
    assert got.shape == want.shape, (
        f"{what}: shape {got.shape} vs {want.shape}")
    np.testing.assert_allclose(got, want, rtol=rtol, atol=atol * scale,
                               err_msg=what)


def _optimizer(name: str):
    if name == "sgd":
        return keras.optimizers.SGD(0.05, momentum=0.5)
    # NOTE: Adam and RMSprop divide a gradient by its own size (plus
    # epsilon): with Keras' 1e-7, a gradient of rounding size (gamma before
    # two normalizations in a row, seed 20522) moved a whole step in a
    # direction the rounding chose. An epsilon of 1e-3 keeps such steps
    # as small as the gradient
    if name == "adam":
        return keras.optimizers.Adam(1e-3, epsilon=1e-3)
    return keras.optimizers.RMSprop(1e-3, epsilon=1e-3)


def check_model(spec: dict, *, train: bool = True) -> None:
    """The compiled twin and the reference interpreter's twin agree on
    predict, one train_on_batch step and evaluate (module docstring)."""
    with floatx(spec["dtype"]):
        _check_model(spec, train)


def _check_model(spec: dict, train: bool) -> None:
    compiled, eager = build_model(spec), build_model(spec)
    eager.set_weights(compiled.get_weights())
    batch = spec["batch"]
    n = batch + batch // 2 + 1  # a last partial batch
    xs, ys = spec_data(spec, n, compiled)
    dtype = spec["dtype"]
    for m, run_eagerly in ((compiled, False), (eager, True)):
        m.compile(optimizer=_optimizer(spec["optimizer"]), loss="mse",
                  metrics=(["mae"] * len(m.outputs) if spec.get("fit")
                           else None),
                  steps_per_execution=spec.get("fit") or 1,
                  run_eagerly=run_eagerly)
    got = compiled.predict(_one(xs), batch_size=batch, verbose=0)
    want = eager.predict(_one(xs), batch_size=batch, verbose=0)
    for k, (a, b) in enumerate(zip(_listify(got), _listify(want))):
        _close(a, b, f"predict output {k}", dtype)
    if not train:
        return
    xb = _one([x[:batch] for x in xs])
    yb = _one([y[:batch] for y in ys])
    loss_c = compiled.train_on_batch(xb, yb)
    loss_e = eager.train_on_batch(xb, yb)
    # the loss is tracked in float32 whatever the model's dtype (Keras' Mean)
    _close(loss_c, loss_e, "train_on_batch loss", "float32")
    for wc, we in zip(compiled.weights, eager.weights):
        _close(wc.numpy(), we.numpy(), f"weight {wc.path} after one step",
               dtype)
    ev_c = compiled.evaluate(_one(xs), _one(ys), batch_size=batch, verbose=0)
    ev_e = eager.evaluate(_one(xs), _one(ys), batch_size=batch, verbose=0)
    _close(ev_c, ev_e, "evaluate", "float32")
    if not spec.get("fit"):
        return
    sw = None
    # NOTE: a per-sample weight and an output's per-step mask (Embedding
    # mask_zero) do not broadcast together: Keras 3 refuses that too
    masked = any(kw.get("mask_zero") for _, kw in spec["layers"])
    if spec.get("sample_weight") and not masked:
        sw = np.linspace(0.0, 2.0, n).astype("float32")
    hist = []
    for m in (compiled, eager):
        hist.append(m.fit(_one(xs), _one(ys), sample_weight=sw, epochs=2,
                          batch_size=batch, shuffle=False, verbose=0).history)
    # the twins' layers have other automatic names: the keys in order
    assert len(hist[0]) == len(hist[1]), (list(hist[0]), list(hist[1]))
    for (key, a), b in zip(hist[0].items(), hist[1].values()):
        _close(a, b, f"fit history {key}", "float32", scale=10.0)
    for wc, we in zip(compiled.weights, eager.weights):
        _close(wc.numpy(), we.numpy(), f"weight {wc.path} after fit", dtype,
               scale=10.0)


def _listify(out):
    if isinstance(out, dict):
        return [out[k] for k in sorted(out)]
    if isinstance(out, (list, tuple)):
        return list(out)
    return [out]


def float64_spec(spec: dict) -> dict:
    """The same model in float64 (every layer's dtype), for finite
    differences."""
    out = dict(spec, dtype="float64")
    out["inputs"] = [(s, "float64" if dt != "int32" else dt, v)
                     for s, dt, v in spec["inputs"]]
    layers = []
    for cls, kw in spec["layers"]:
        kw = dict(kw, dtype="float64")
        if "layer" in kw:
            kw["layer"] = (kw["layer"][0], dict(kw["layer"][1],
                                                dtype="float64"))
        if "dropout" in kw:  # a draw has no derivative
            kw["dropout"] = 0.0
        if cls in _RANDOM:
            cls, kw = "Dropout", {"rate": 0.0, "dtype": "float64"}
        elif "rate" in kw:
            kw["rate"] = 0.0
        layers.append((cls, kw))
    out["layers"] = layers
    return out


def check_gradients(spec: dict, *, rng=None) -> None:
    """The gradient of sum(outputs * fixed weights) in every trainable
    weight and float input, traced in training mode (dropout at rate 0 only:
    a draw is not differentiable), against central finite differences."""
    spec = float64_spec(spec)
    with floatx("float64"):  # the model's own dtype too
        _check_gradients(spec, rng)


def _check_gradients(spec: dict, rng) -> None:
    from helpers import check_grads

    from graphkeras import ops
    from graphkeras.frontend import tracing
    from graphkeras.ir import Builder

    model = build_model(spec)
    rng = rng or np.random.default_rng(spec["data_seed"])
    # NOTE: biases of zeros put a unit whose taps all read padding exactly
    # on relu's kink (and max pooling on ties), where finite differences
    # disagree with any one-sided gradient: move every weight a little
    for v in model.trainable_weights:
        w = np.asarray(v.numpy())
        v.assign(w + rng.normal(0.0, 0.05, w.shape).astype(w.dtype))
    b = Builder("f")
    trace = tracing.Trace(b, "test")
    batch = spec["batch"]
    with trace:
        ins = [trace.input(f"x{k}", (None,) + tuple(s), dt)
               for k, (s, dt, _) in enumerate(spec["inputs"])]
        out = model(_one(ins), training=True)
        total = None
        for k, o in enumerate(_listify(out)):
            w = np.linspace(-1.0, 1.0, _prod(o.shape[1:])).reshape(
                o.shape[1:]) * (k + 1)
            term = ops.sum(ops.multiply(o, w))
            total = term if total is None else ops.add(total, term)
    fn = b.build([total.value])
    xs, _ = spec_data(spec, batch)
    variables = trace.variables
    n_in = len(xs)
    args = list(xs) + [np.asarray(variables[p.name].numpy()) for p in
                       fn.params[n_in:]]
    wrt = [f"x{k}" for k, (_, dt, _) in enumerate(spec["inputs"])
           if dt != "int32"]
    wrt += [p.name for p in fn.params[n_in:]
            if variables[p.name].trainable]
    check_grads(fn, args, wrt, rng=rng, env={"N": batch})
