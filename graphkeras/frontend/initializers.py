"""Initializers: callables `(shape, dtype) -> ndarray` that give a
Variable its first value. They run in NumPy at weight-creation time.

Invariant: an initializer built without a seed draws a fresh seed from the
global generator (`random.draw_seed`) at each call, so after
`set_random_seed` the sequence of created weights is reproducible.

Adding an initializer: subclass `Initializer`, implement
`__call__(shape, dtype=None)` returning a NumPy array and `get_config()`,
and add it to `ALL_OBJECTS` under its Keras snake_case name(s).
"""

from __future__ import annotations

import math

import numpy as np

from .random import draw_seed
from .variables import standardize_dtype


class Initializer:
    """Base class: `init(shape, dtype=None)` returns an array."""

    def __call__(self, shape, dtype=None):
        raise NotImplementedError

    def get_config(self) -> dict:
        return {}

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def _rng(self, seed):
        return np.random.default_rng(draw_seed() if seed is None else seed)


class Zeros(Initializer):
    def __call__(self, shape, dtype=None):
        return np.zeros(shape, standardize_dtype(dtype))


class Ones(Initializer):
    def __call__(self, shape, dtype=None):
        return np.ones(shape, standardize_dtype(dtype))


class Constant(Initializer):
    def __init__(self, value=0.0):
        self.value = value

    def __call__(self, shape, dtype=None):
        return np.full(shape, self.value, standardize_dtype(dtype))

    def get_config(self):
        return {"value": self.value}


def _fans(shape):
    if len(shape) == 0:
        return 1, 1
    if len(shape) == 1:
        return shape[0], shape[0]
    if len(shape) == 2:
        return shape[0], shape[1]
    receptive = int(np.prod(shape[:-2]))
    return shape[-2] * receptive, shape[-1] * receptive


class VarianceScaling(Initializer):
    """Samples with variance `scale / n`, n being fan_in, fan_out or their
    mean; `distribution` is "truncated_normal", "untruncated_normal" or
    "uniform"."""

    def __init__(self, scale=1.0, mode="fan_in", distribution="truncated_normal",
                 seed=None):
        if scale <= 0:
            raise ValueError(f"scale must be positive, received scale={scale}.")
        if mode not in ("fan_in", "fan_out", "fan_avg"):
            raise ValueError(
                'mode must be one of "fan_in", "fan_out", "fan_avg", received '
                f"mode={mode!r}."
            )
        if distribution not in ("truncated_normal", "untruncated_normal",
                                "uniform", "normal"):
            raise ValueError(
                'distribution must be one of "truncated_normal", '
                f'"untruncated_normal", "uniform", received {distribution!r}.'
            )
        self.scale, self.mode, self.seed = scale, mode, seed
        self.distribution = distribution

    def __call__(self, shape, dtype=None):
        fan_in, fan_out = _fans(tuple(shape))
        n = {"fan_in": fan_in, "fan_out": fan_out,
             "fan_avg": (fan_in + fan_out) / 2.0}[self.mode]
        var = self.scale / max(1.0, n)
        rng = self._rng(self.seed)
        if self.distribution == "uniform":
            lim = math.sqrt(3.0 * var)
            out = rng.uniform(-lim, lim, size=shape)
        elif self.distribution == "untruncated_normal":
            out = rng.normal(0.0, math.sqrt(var), size=shape)
        else:
            # 0.8796... is the stddev of a unit normal truncated at +-2
            std = math.sqrt(var) / 0.87962566103423978
            out = _truncated(rng, std, shape)
        return out.astype(standardize_dtype(dtype))

    def get_config(self):
        return {"scale": self.scale, "mode": self.mode,
                "distribution": self.distribution, "seed": self.seed}


def _truncated(rng, std, shape):
    out = rng.normal(0.0, 1.0, size=shape)
    bad = np.abs(out) > 2
    while bad.any():
        out[bad] = rng.normal(0.0, 1.0, size=int(bad.sum()))
        bad = np.abs(out) > 2
    return out * std


class GlorotUniform(VarianceScaling):
    def __init__(self, seed=None):
        super().__init__(1.0, "fan_avg", "uniform", seed)

    def get_config(self):
        return {"seed": self.seed}


class GlorotNormal(VarianceScaling):
    def __init__(self, seed=None):
        super().__init__(1.0, "fan_avg", "truncated_normal", seed)

    def get_config(self):
        return {"seed": self.seed}


class HeUniform(VarianceScaling):
    def __init__(self, seed=None):
        super().__init__(2.0, "fan_in", "uniform", seed)

    def get_config(self):
        return {"seed": self.seed}


class HeNormal(VarianceScaling):
    def __init__(self, seed=None):
        super().__init__(2.0, "fan_in", "truncated_normal", seed)

    def get_config(self):
        return {"seed": self.seed}


class LecunUniform(VarianceScaling):
    def __init__(self, seed=None):
        super().__init__(1.0, "fan_in", "uniform", seed)

    def get_config(self):
        return {"seed": self.seed}


class LecunNormal(VarianceScaling):
    def __init__(self, seed=None):
        super().__init__(1.0, "fan_in", "truncated_normal", seed)

    def get_config(self):
        return {"seed": self.seed}


class RandomUniform(Initializer):
    def __init__(self, minval=-0.05, maxval=0.05, seed=None):
        self.minval, self.maxval, self.seed = minval, maxval, seed

    def __call__(self, shape, dtype=None):
        out = self._rng(self.seed).uniform(self.minval, self.maxval, size=shape)
        return out.astype(standardize_dtype(dtype))

    def get_config(self):
        return {"minval": self.minval, "maxval": self.maxval, "seed": self.seed}


class RandomNormal(Initializer):
    def __init__(self, mean=0.0, stddev=0.05, seed=None):
        self.mean, self.stddev, self.seed = mean, stddev, seed

    def __call__(self, shape, dtype=None):
        out = self._rng(self.seed).normal(self.mean, self.stddev, size=shape)
        return out.astype(standardize_dtype(dtype))

    def get_config(self):
        return {"mean": self.mean, "stddev": self.stddev, "seed": self.seed}


class TruncatedNormal(RandomNormal):
    def __call__(self, shape, dtype=None):
        out = self.mean + _truncated(self._rng(self.seed), self.stddev, shape)
        return out.astype(standardize_dtype(dtype))


class Orthogonal(Initializer):
    def __init__(self, gain=1.0, seed=None):
        self.gain, self.seed = gain, seed

    def __call__(self, shape, dtype=None):
        shape = tuple(shape)
        if len(shape) < 2:
            raise ValueError(
                f"The Orthogonal initializer needs a shape of rank >= 2, "
                f"received shape={shape}."
            )
        rows, cols = int(np.prod(shape[:-1])), shape[-1]
        a = self._rng(self.seed).normal(size=(max(rows, cols), min(rows, cols)))
        q, r = np.linalg.qr(a)
        q = q * np.sign(np.diag(r))
        if rows < cols:
            q = q.T
        return (self.gain * q[:rows, :cols]).reshape(shape).astype(
            standardize_dtype(dtype))

    def get_config(self):
        return {"gain": self.gain, "seed": self.seed}


class Identity(Initializer):
    def __init__(self, gain=1.0):
        self.gain = gain

    def __call__(self, shape, dtype=None):
        if len(shape) != 2:
            raise ValueError(f"The Identity initializer needs a 2-D shape, "
                             f"received shape={tuple(shape)}.")
        return (self.gain * np.eye(*shape)).astype(standardize_dtype(dtype))

    def get_config(self):
        return {"gain": self.gain}


def _window(window, length: int, periodic: bool) -> np.ndarray:
    """scipy.signal.get_window's common windows with NumPy (periodic: the
    symmetric window one longer, its last sample dropped), or an array."""
    if not isinstance(window, str):
        return np.asarray(window, np.float64)
    make = {"hann": np.hanning, "hanning": np.hanning, "hamming": np.hamming,
            "blackman": np.blackman, "bartlett": np.bartlett,
            "boxcar": np.ones, "ones": np.ones}.get(window)
    if make is None:
        raise ValueError(
            f"Unknown window {window!r}: graphkeras knows 'hann', 'hamming', "
            "'blackman', 'bartlett' and 'boxcar' (or pass the window as an "
            "array).")
    return make(length + 1)[:-1] if periodic else make(length)


class STFT(Initializer):
    """The kernels of a short-time Fourier transform as a convolution, for
    a weight of shape (frame_length, 1, fft_length // 2 + 1): cos (side
    "real") or sin ("imag") of -2 pi t f / fft_length, times the window,
    divided by its L2 norm ("density") or its sum ("spectrum"), as Keras 3.
    """

    def __init__(self, side="real", window="hann", scaling="density",
                 periodic=False):
        if side not in ("real", "imag"):
            raise ValueError(f"side should be 'real' or 'imag', not {side}")
        if isinstance(window, str):
            _window(window, 1, False)
        if scaling is not None and scaling not in ("density", "spectrum"):
            raise ValueError(
                "Scaling is invalid, it must be `None`, 'density' or "
                f"'spectrum'. Received scaling={scaling}")
        self.side, self.window = side, window
        self.scaling, self.periodic = scaling, periodic

    def __call__(self, shape, dtype=None):
        # (frame_length, channels, bins): every channel gets the kernel
        # (a 2-D shape: one channel, no axis for it)
        shape = tuple(shape)
        if len(shape) not in (2, 3):
            raise ValueError(
                "The STFT initializer needs a shape (frame_length, 1, "
                f"fft_length // 2 + 1); received shape={shape}.")
        frame_length, bins = shape[0], shape[-1]
        n = max((bins - 1) * 2, 1)
        angle = (-2.0 * np.pi * np.arange(frame_length)[:, None]
                 * np.arange(bins)[None, :] / n)
        kernel = np.cos(angle) if self.side == "real" else np.sin(angle)
        if self.window is not None:
            win = _window(self.window, frame_length, self.periodic)
            if win.ndim != 1 or win.shape[-1] != frame_length:
                raise ValueError(
                    "The shape of `window` must be equal to [frame_length]."
                    f"Received: window shape={win.shape}")
            scale = {"density": np.sqrt(np.sum(win ** 2)),
                     "spectrum": np.sum(np.abs(win)), None: 1.0}[self.scaling]
            kernel = kernel * win[:, None] / scale
        if len(shape) == 3:
            kernel = np.broadcast_to(kernel[:, None, :], shape)
        return np.array(kernel, standardize_dtype(dtype))

    def get_config(self):
        return {"side": self.side, "window": self.window,
                "periodic": self.periodic, "scaling": self.scaling}


ALL_OBJECTS = {
    "zeros": Zeros, "ones": Ones, "constant": Constant,
    "variance_scaling": VarianceScaling,
    "glorot_uniform": GlorotUniform, "glorot_normal": GlorotNormal,
    "he_uniform": HeUniform, "he_normal": HeNormal,
    "lecun_uniform": LecunUniform, "lecun_normal": LecunNormal,
    "random_uniform": RandomUniform, "random_normal": RandomNormal,
    "truncated_normal": TruncatedNormal, "orthogonal": Orthogonal,
    "identity": Identity, "stft": STFT,
}
for _cls in list(ALL_OBJECTS.values()):
    ALL_OBJECTS[_cls.__name__] = _cls
# Keras 3's short aliases (Embedding's default is "uniform")
ALL_OBJECTS.update({"uniform": RandomUniform, "normal": RandomNormal})


def serialize(init) -> dict:
    if not hasattr(init, "get_config"):  # a plain function
        from .serialization import serialize_function

        return serialize_function(init)
    return {"class_name": type(init).__name__, "config": init.get_config()}


def deserialize(config, custom_objects=None):
    """An initializer from what `serialize` wrote (or a name)."""
    from .serialization import deserialize_object

    return deserialize_object(config, custom_objects, get)


def get(identifier):
    """An initializer from a name, a config dict, an instance or a callable."""
    from .serialization import resolve

    return resolve("initializer", identifier, ALL_OBJECTS, Initializer)


# Keras's snake_case aliases (keras.initializers.he_normal is the class).
zeros, ones, constant = Zeros, Ones, Constant
variance_scaling = VarianceScaling
glorot_uniform, glorot_normal = GlorotUniform, GlorotNormal
he_uniform, he_normal = HeUniform, HeNormal
lecun_uniform, lecun_normal = LecunUniform, LecunNormal
random_uniform, random_normal = RandomUniform, RandomNormal
truncated_normal, orthogonal = TruncatedNormal, Orthogonal
OrthogonalInitializer = Orthogonal
ALL_OBJECTS["OrthogonalInitializer"] = Orthogonal
identity = IdentityInitializer = Identity
ALL_OBJECTS["IdentityInitializer"] = Identity
stft = STFTInitializer = STFT
ALL_OBJECTS["STFTInitializer"] = STFT


# the family serialization finds its objects in (frontend/families.py)
from .families import register_family as _register_family  # noqa: E402

_register_family("initializers", "keras.initializers", Initializer, globals())
