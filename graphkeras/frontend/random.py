"""keras.random: the global seed, SeedGenerator, and the random ops over
counter-based noise.

Every function takes Keras's `seed`: an int (the same int gives the same
numbers on every call, as Keras's stateless seeds), a `SeedGenerator` (each
call advances it: new numbers each call and each training step), or None
(a fresh seed from the global generator, which `set_random_seed` fixes).

Invariants:
- `set_random_seed(s)` resets every source the frontend draws from (the
  global generator behind initializers and layer seeds, the data shuffler,
  NumPy's and Python's global generators), so the same seed gives the same
  weights and the same training history.
- Random tensors are counter-based (`random_uniform` / `random_normal` IR
  ops): a pure function of (seed, counter, index). A `SeedGenerator` owns a
  seed and an int64 counter Variable that each draw increments (inside a
  traced step, as a state update), so a step never repeats its noise and
  replaying from the same state repeats it exactly.
- A function needing several independent draws takes ONE (seed, counter)
  pair from `seed` and derives a sub-seed per draw (`_sub_seed`): a
  SeedGenerator advances by one per call, whatever the function.
- Rejection samplers (truncated_normal, gamma) run a fixed number of
  rounds, so the graph is static; the chance that every round rejects is
  below 1e-8 per element (then the last candidate is kept, clipped).
"""

from __future__ import annotations

import contextlib
import random as _pyrandom

import numpy as np

from ..config import floatx
from . import ops, tracing
from .variables import Variable, standardize_dtype

_GLOBAL = {"rng": np.random.default_rng(), "seeded": False}


def set_random_seed(seed: int) -> None:
    """Seed every random source of graphkeras (and NumPy's and Python's
    global generators), as `keras.utils.set_random_seed` does."""
    if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool):
        raise ValueError(  # noqa: TRY004  (Keras raises ValueError)
            f"set_random_seed expects an integer seed, received seed={seed!r}."
        )
    seed = int(seed)
    _GLOBAL["rng"] = np.random.default_rng(seed)
    _GLOBAL["seeded"] = True
    # NOTE: the global generator keeps its Variable (compiled steps hold its
    # key, and read the seed from it), takes a seed derived from `seed`
    # without drawing from the generator above (the weights of a seeded run
    # stay what they were), and restarts its counter
    derived = (seed * 1000003 + 12345) % (2**31 - 1)
    gen = _GLOBAL.get("generator")
    if gen is None:
        _GLOBAL["generator"] = SeedGenerator(
            derived, name="global_seed_generator")
    else:
        gen.restart(derived)
    np.random.seed(seed % 2**32)
    _pyrandom.seed(seed)


@contextlib.contextmanager
def seeded_scope(seed: int):
    """Within the block, every random source is seeded with `seed` as by
    `set_random_seed`; after it, they are as they were (the scikit-learn
    wrappers' `random_state`)."""
    saved = (dict(_GLOBAL), np.random.get_state(), _pyrandom.getstate())
    set_random_seed(seed)
    try:
        yield
    finally:
        _GLOBAL.clear()
        _GLOBAL.update(saved[0])
        np.random.set_state(saved[1])
        _pyrandom.setstate(saved[2])


def global_rng() -> np.random.Generator:
    """The generator behind initializers without a seed and shuffling."""
    return _GLOBAL["rng"]


def draw_seed() -> int:
    """A fresh 31-bit seed from the global generator."""
    return int(_GLOBAL["rng"].integers(0, 2**31 - 1))


# the seed attribute of every draw from a SeedGenerator: its seed is in its
# counter state (below), so that generators differ only in data
_GENERATOR_SEED_ATTR = 0


class SeedGenerator:
    """A seed plus a counter state, for layers that draw random numbers.

    Args:
        seed: an int, or None to draw one from the global generator.

    Example:
        >>> gen = SeedGenerator(42)
        >>> a = uniform((2, 3), seed=gen)
        >>> b = uniform((2, 3), seed=gen)   # different numbers: the counter moved

    NOTE: the state Variable holds `seed << 32 | counter`, and the random
    ops read it as their counter operand (the high 32 bits enter their key
    as the seed would): the seed is run-time data of a compiled step, not a
    constant of its code. Two Dropout layers then make the same kernel,
    and a model's compiled step is found in the cache by a process whose
    layers drew other seeds.
    """

    def __init__(self, seed=None, name=None):
        self._seed = draw_seed() if seed is None else int(seed) % 2**31
        self.name = name or "seed_generator"
        self.state = Variable(np.int64(self._seed << 32), dtype="int64",
                              trainable=False, name="seed_generator_state",
                              path=f"{self.name}/seed_generator_state")

    @property
    def seed(self) -> int:
        return self._seed

    @property
    def counter(self) -> int:
        """How many draws this generator has made (since its seed was set)."""
        return int(np.asarray(self.state.numpy())) - (self._seed << 32)

    def restart(self, seed: int, counter: int = 0) -> None:
        """Seed `seed` (31 bits), `counter` draws made."""
        self._seed = int(seed) % 2**31
        self.state.assign(np.int64((self._seed << 32) + int(counter)))

    def next(self):
        """(seed attribute, counter operand) for one draw; advances the
        counter."""
        counter = self.state.value
        t = tracing.current_trace()
        if t is not None:
            t.assign(self.state, ops.add(counter, np.int64(1)))
        else:
            counter = np.array(counter, copy=True)
            self.state.assign(counter + 1)
        return _GENERATOR_SEED_ATTR, counter


def global_seed_generator() -> SeedGenerator:
    """The generator behind unseeded random ops inside a traced step (as
    Keras's global SeedGenerator): its counter is state of the step, so
    every step draws fresh numbers. `set_random_seed` replaces it."""
    gen = _GLOBAL.get("generator")
    if gen is None:
        gen = _GLOBAL["generator"] = SeedGenerator(name="global_seed_generator")
    return gen


def _seed_pair(seed):
    if isinstance(seed, SeedGenerator):
        return seed.next()
    t = tracing.current_trace()
    if seed is None and t is not None:
        # NOTE: an unseeded op traced with a constant counter would repeat
        # the same numbers at every step (Keras-JAX refuses it for that
        # reason); the global generator's counter makes them fresh
        return global_seed_generator().next()
    s = draw_seed() if seed is None else int(seed)
    counter = np.zeros((), np.int64)
    if t is not None:
        counter = t.wrap(t.builder.constant(counter))
    return s, counter


def _shape_attr(shape):
    return tracing.to_ir_shape(tuple(shape), strict=False)


def _operands(counter, ir_shape) -> tuple:
    """The random op's operands: the counter, and in a data-parallel rank's
    step a draw over the batch also the number of its first element in the
    global batch's draw, so every rank takes its own rows of the noise one
    process would draw (distributed_trainer.row_offset_input)."""
    t = tracing.current_trace()
    hooks = None if t is None else t.__dict__.get("_replica_hooks")
    if hooks is None or not ir_shape or ir_shape[0] != "N":
        return (counter,)
    per_row = int(np.prod(ir_shape[1:], dtype=np.int64))
    rows = hooks.row_offset_input(t)
    return counter, ops.multiply(rows, np.int64(per_row))


def uniform(shape, minval=0.0, maxval=1.0, dtype=None, seed=None):
    """Uniform numbers in [minval, maxval). `shape` may name the batch as
    None inside a traced call."""
    s, counter = _seed_pair(seed)
    ir_shape = _shape_attr(shape)
    return ops._apply("random_uniform", *_operands(counter, ir_shape),
                      shape=ir_shape, seed=s, low=float(minval),
                      high=float(maxval),
                      dtype=standardize_dtype(dtype))


def normal(shape, mean=0.0, stddev=1.0, dtype=None, seed=None):
    s, counter = _seed_pair(seed)
    ir_shape = _shape_attr(shape)
    return ops._apply("random_normal", *_operands(counter, ir_shape),
                      shape=ir_shape, seed=s, mean=float(mean),
                      stddev=float(stddev),
                      dtype=standardize_dtype(dtype))


def dropout(inputs, rate, noise_shape=None, seed=None):
    """Zero each element with probability `rate`, scale the rest by
    1 / (1 - rate)."""
    x = ops.convert_to_tensor(inputs)
    shape = noise_shape if noise_shape is not None else ops.shape(x)
    keep = ops.greater_equal(uniform(shape, dtype=x.dtype if hasattr(
        x, "dtype") and isinstance(x.dtype, str) else "float32", seed=seed),
        float(rate))
    scaled = ops.divide(x, 1.0 - float(rate))
    return ops.where(keep, scaled, ops.zeros_like(x))


_TINY = 2.0**-24
_ROUNDS = 8


def _sub_seed(seed: int, k: int) -> int:
    """A 31-bit seed for draw k of one call (a splitmix-style hash)."""
    z = (int(seed) * 0x9E3779B97F4A7C15 + (k + 1) * 0xBF58476D1CE4E5B9) & (
        2**64 - 1)
    z = ((z ^ (z >> 31)) * 0x94D049BB133111EB) & (2**64 - 1)
    return int((z ^ (z >> 29)) % (2**31 - 1))


def _float_dtype(dtype, where: str) -> str:
    dt = standardize_dtype(dtype, floatx())
    if not dt.startswith("float"):
        raise ValueError(
            f"keras.random.{where} produces floating point numbers: dtype "
            f"must be a float dtype. Received: dtype={dtype!r}"
        )
    return dt


def _u(pair, k, shape, dtype="float32", low=0.0, high=1.0):
    s, counter = pair
    ir_shape = _shape_attr(shape)
    return ops._apply("random_uniform", *_operands(counter, ir_shape),
                      shape=ir_shape, seed=_sub_seed(s, k), low=float(low),
                      high=float(high),
                      dtype=dtype)


def _n(pair, k, shape, dtype="float32"):
    s, counter = pair
    ir_shape = _shape_attr(shape)
    return ops._apply("random_normal", *_operands(counter, ir_shape),
                      shape=ir_shape, seed=_sub_seed(s, k), mean=0.0,
                      stddev=1.0, dtype=dtype)


def randint(shape, minval, maxval, dtype="int32", seed=None):
    """Integers drawn uniformly from [minval, maxval).

    The draw uses 24 random bits per element: ranges wider than 2**24
    values are covered with a granularity of range / 2**24.

    Example:
        >>> randint((2, 3), 0, 10, seed=1).shape
        (2, 3)
    """
    dt = standardize_dtype(dtype)
    if not dt.startswith("int"):
        raise ValueError(
            "keras.random.randint draws integers: dtype must be an integer "
            f"dtype. Received: dtype={dtype!r}"
        )
    lo, hi = int(minval), int(maxval)
    if hi <= lo:
        raise ValueError(
            "keras.random.randint needs minval < maxval. Received: "
            f"minval={minval}, maxval={maxval}"
        )
    u = _u(_seed_pair(seed), 0, shape, "float64", lo, hi)
    return ops.cast(ops.clip(ops.floor(u), lo, hi - 1), dt)


def truncated_normal(shape, mean=0.0, stddev=1.0, dtype=None, seed=None):
    """Normal numbers, redrawn when more than two standard deviations from
    the mean (as Keras)."""
    dt = _float_dtype(dtype, "truncated_normal")
    pair = _seed_pair(seed)
    out = _n(pair, 0, shape, dt)
    for k in range(1, _ROUNDS):
        bad = ops.greater(ops.abs(out), 2.0)
        out = ops.where(bad, _n(pair, k, shape, dt), out)
    out = ops.clip(out, -2.0, 2.0)
    return ops.add(ops.multiply(out, float(stddev)), float(mean))


def shuffle(x, axis=0, seed=None):
    """x with its entries along `axis` in a random order.

    Example:
        >>> shuffle(np.arange(5), seed=3).shape
        (5,)
    """
    x = ops.convert_to_tensor(x)
    shape = ops.shape(x)
    rank = len(shape)
    if not -rank <= axis < rank:
        raise ValueError(
            f"keras.random.shuffle: axis={axis} is out of range for an input "
            f"of rank {rank} (shape {shape})."
        )
    n = shape[axis]
    if n is None:
        raise ValueError(
            f"keras.random.shuffle needs a known size along axis {axis}; the "
            f"input has shape {shape}."
        )
    keys = _u(_seed_pair(seed), 0, (n,))
    if tracing.current_trace() is None:
        # NOTE: the order of top_k below (decreasing keys, ties to the
        # lower index), computed directly
        perm = np.argsort(-np.asarray(keys), kind="stable")
    else:
        perm = ops.top_k(keys, n)[1]
    return ops.take(x, perm, axis=axis)


def categorical(logits, num_samples, dtype="int32", seed=None):
    """Class indices drawn from the categorical distributions given by
    `logits` (batch, classes): shape (batch, num_samples). Uses the
    Gumbel-max trick."""
    logits = ops.convert_to_tensor(logits)
    shape = ops.shape(logits)
    if len(shape) != 2:
        raise ValueError(
            "keras.random.categorical expects logits of rank 2 (batch, "
            f"classes). Received: logits with shape {shape}"
        )
    num_samples = int(num_samples)
    dt = standardize_dtype(dtype)
    u = _u(_seed_pair(seed), 0, (shape[0], num_samples, shape[1]),
           ops.dtype(logits) if ops.dtype(logits).startswith("float")
           else "float32")
    u = ops.clip(u, _TINY, 1.0 - _TINY)
    gumbel = ops.negative(ops.log(ops.negative(ops.log(u))))
    scores = ops.add(ops.expand_dims(logits, 1), gumbel)
    return ops.cast(ops.argmax(scores, axis=-1), dt)


def _gamma(pair, k0, shape, alpha, dt):
    alpha = ops.broadcast_to(ops.cast(ops.convert_to_tensor(alpha), dt), shape)
    small = ops.less(alpha, 1.0)
    a = ops.where(small, ops.add(alpha, 1.0), alpha)
    d = ops.subtract(a, 1.0 / 3.0)
    c = ops.divide(1.0 / 3.0, ops.sqrt(d))
    out, done = d, ops.zeros(shape, "bool")
    for k in range(_ROUNDS):
        x = _n(pair, k0 + 2 * k, shape, dt)
        v = ops.power(ops.add(ops.multiply(c, x), 1.0), 3.0)
        v_pos = ops.maximum(v, _TINY)
        u = ops.clip(_u(pair, k0 + 2 * k + 1, shape, dt), _TINY, 1.0)
        # Marsaglia-Tsang: accept when log u < x^2/2 + d - d v + d log v
        bound = ops.add(ops.multiply(0.5, ops.multiply(x, x)), ops.multiply(
            d, ops.add(ops.subtract(1.0, v_pos), ops.log(v_pos))))
        ok = ops.logical_and(ops.greater(v, 0.0), ops.less(ops.log(u), bound))
        take = ops.logical_and(ok, ops.logical_not(done))
        out = ops.where(take, ops.multiply(d, v_pos), out)
        done = ops.logical_or(done, ok)
    # alpha < 1: Gamma(alpha) = Gamma(alpha + 1) * U^(1 / alpha)
    u = ops.clip(_u(pair, k0 + 2 * _ROUNDS, shape, dt), _TINY, 1.0)
    boost = ops.exp(ops.divide(ops.log(u), ops.where(small, alpha, 1.0)))
    return ops.where(small, ops.multiply(out, boost), out)


def gamma(shape, alpha, dtype=None, seed=None):
    """Gamma(alpha, 1) numbers (Marsaglia-Tsang rejection)."""
    dt = _float_dtype(dtype, "gamma")
    return _gamma(_seed_pair(seed), 0, tuple(shape), alpha, dt)


def beta(shape, alpha, beta, dtype=None, seed=None):
    """Beta(alpha, beta) numbers, as X / (X + Y) of two Gamma draws."""
    dt = _float_dtype(dtype, "beta")
    pair = _seed_pair(seed)
    shape = tuple(shape)
    x = _gamma(pair, 0, shape, alpha, dt)
    y = _gamma(pair, 100, shape, beta, dt)
    return ops.divide(x, ops.add(x, y))


_MAX_COUNTS = 1 << 14


def binomial(shape, counts, probabilities, dtype=None, seed=None):
    """Binomial(counts, probabilities) numbers: the successes among
    `counts` Bernoulli trials.

    `counts` must be known when the function is called (a number or an
    array, at most 16384): the trials are drawn as one uniform tensor with
    a trailing axis of max(counts).
    """
    dt = _float_dtype(dtype, "binomial")
    try:
        counts_np = np.asarray(counts, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(
            "keras.random.binomial needs `counts` as a number or an array "
            "known when it is called (not a symbolic tensor). Received: "
            f"counts of type {type(counts).__name__}"
        ) from None
    n_max = int(np.max(counts_np)) if counts_np.size else 0
    if n_max < 0 or n_max > _MAX_COUNTS or np.any(counts_np < 0):
        raise ValueError(
            f"keras.random.binomial supports 0 <= counts <= {_MAX_COUNTS}. "
            f"Received: counts with maximum {np.max(counts_np)} and minimum "
            f"{np.min(counts_np)}."
        )
    shape = tuple(shape)
    if n_max == 0:
        return ops.zeros(shape, dt)
    u = _u(_seed_pair(seed), 0, shape + (n_max,), dt)
    p = ops.expand_dims(ops.broadcast_to(ops.cast(ops.convert_to_tensor(
        probabilities), dt), shape), -1)
    trial = np.arange(n_max, dtype=np.float64).astype(dt)
    n = np.broadcast_to(counts_np, shape)[..., None].astype(dt)
    hit = ops.logical_and(ops.less(u, p), ops.less(trial, n))
    return ops.sum(ops.cast(hit, dt), axis=-1)


__all__ = [
    "SeedGenerator", "beta", "binomial", "categorical", "dropout", "gamma",
    "normal", "randint", "shuffle", "truncated_normal", "uniform",
]
