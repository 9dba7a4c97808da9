"""Random numbers: the global seed, SeedGenerator, and random ops.

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
"""

from __future__ import annotations

import contextlib
import random as _pyrandom

import numpy as np

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
    # counter's key; their baked seed keeps its stream), takes a seed
    # derived from `seed` without drawing from the generator above (the
    # weights of a seeded run stay what they were), and restarts its counter
    derived = (seed * 1000003 + 12345) % (2**31 - 1)
    gen = _GLOBAL.get("generator")
    if gen is None:
        _GLOBAL["generator"] = SeedGenerator(
            derived, name="global_seed_generator")
    else:
        gen.seed = derived
        gen.state.assign(np.zeros((), np.int64))
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


class SeedGenerator:
    """A seed plus a counter state, for layers that draw random numbers.

    Args:
        seed: an int, or None to draw one from the global generator.

    Example:
        >>> gen = SeedGenerator(42)
        >>> a = uniform((2, 3), seed=gen)
        >>> b = uniform((2, 3), seed=gen)   # different numbers: the counter moved
    """

    def __init__(self, seed=None, name=None):
        self.seed = draw_seed() if seed is None else int(seed) % 2**31
        self.name = name or "seed_generator"
        self.state = Variable(np.zeros((), np.int64), dtype="int64",
                              trainable=False, name="seed_generator_state",
                              path=f"{self.name}/seed_generator_state")

    def next(self):
        """(seed, counter) for one draw; advances the counter."""
        counter = self.state.value
        t = tracing.current_trace()
        if t is not None:
            t.assign(self.state, ops.add(counter, np.int64(1)))
        else:
            counter = np.array(counter, copy=True)
            self.state.assign(counter + 1)
        return self.seed, counter


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


def uniform(shape, minval=0.0, maxval=1.0, dtype=None, seed=None):
    """Uniform numbers in [minval, maxval). `shape` may name the batch as
    None inside a traced call."""
    s, counter = _seed_pair(seed)
    return ops._apply("random_uniform", counter, shape=_shape_attr(shape),
                      seed=s, low=float(minval), high=float(maxval),
                      dtype=standardize_dtype(dtype))


def normal(shape, mean=0.0, stddev=1.0, dtype=None, seed=None):
    s, counter = _seed_pair(seed)
    return ops._apply("random_normal", counter, shape=_shape_attr(shape),
                      seed=s, mean=float(mean), stddev=float(stddev),
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
