"""Audio preprocessing layers that run inside the model, as Keras 3's:
MelSpectrogram (ops.stft, magnitudes, a mel filter bank, decibels) and
STFTSpectrogram (a strided convolution with Fourier kernels).

The filter bank is a constant matrix computed with NumPy when the layer is
called (HTK's mel scale, triangles peaking at 1, the DC bin zeroed, as
Keras's `linear_to_mel_weight_matrix`); the rest is ops, so the layer
traces, compiles and differentiates.
"""

from __future__ import annotations

import numpy as np

from .. import ops
from .layer import Layer

_MEL_BREAK_FREQUENCY_HERTZ = 700.0
_MEL_HIGH_FREQUENCY_Q = 1127.0


def _hertz_to_mel(f):
    return _MEL_HIGH_FREQUENCY_Q * np.log(1.0 + f / _MEL_BREAK_FREQUENCY_HERTZ)


def linear_to_mel_weight_matrix(num_mel_bins=20, num_spectrogram_bins=129,
                                sampling_rate=8000, lower_edge_hertz=125.0,
                                upper_edge_hertz=3800.0, dtype="float32"):
    """The (num_spectrogram_bins, num_mel_bins) matrix taking linear
    frequency bins [0, sampling_rate / 2] to triangular mel bands over
    [lower_edge_hertz, upper_edge_hertz]."""
    linear = np.linspace(0.0, sampling_rate / 2.0, num_spectrogram_bins)[1:]
    bins_mel = _hertz_to_mel(linear)[:, None]
    edges = np.linspace(_hertz_to_mel(float(lower_edge_hertz)),
                        _hertz_to_mel(float(upper_edge_hertz)),
                        num_mel_bins + 2)
    lower, center, upper = edges[:-2], edges[1:-1], edges[2:]
    rising = (bins_mel - lower) / (center - lower)
    falling = (upper - bins_mel) / (upper - center)
    weights = np.maximum(0.0, np.minimum(rising, falling))
    return np.pad(weights, [(1, 0), (0, 0)]).astype(dtype)


class MelSpectrogram(Layer):
    """The mel spectrogram of raw audio: `(batch, samples)` (or
    `(samples,)`) to `(batch, num_mel_bins, frames)`.

    Args:
        fft_length: the FFT size (2048).
        sequence_stride: samples between frames (512).
        sequence_length: the window length (default fft_length).
        window: "hann", "hamming" or None.
        sampling_rate: samples per second (16000).
        num_mel_bins: mel bands (128).
        min_freq, max_freq: the bands' range (20 Hz, sampling_rate / 2).
        power_to_db: decibels (True), clipped top_db (80) below the
            batch's maximum.
        mag_exp: the magnitude's exponent (2.0: power).
        min_power, ref_power: the decibel floor and reference.

    Example:
        >>> MelSpectrogram(num_mel_bins=40)(np.zeros((2, 16000))).shape
        (2, 40, 32)
    """

    def __init__(self, fft_length=2048, sequence_stride=512,
                 sequence_length=None, window="hann", sampling_rate=16000,
                 num_mel_bins=128, min_freq=20.0, max_freq=None,
                 power_to_db=True, top_db=80.0, mag_exp=2.0, min_power=1e-10,
                 ref_power=1.0, **kwargs):
        self.fft_length = fft_length
        self.sequence_stride = sequence_stride
        self.sequence_length = sequence_length or fft_length
        if self.fft_length < self.sequence_length:
            raise ValueError(
                "`fft_length` must be greater than or equal to  "
                f" `sequence_length`. Received: `sequence_length`="
                f"{self.sequence_length}, `fft_length`={self.fft_length}.")
        self.window = window
        self.sampling_rate = sampling_rate
        self.num_mel_bins = num_mel_bins
        self.min_freq = min_freq
        self.max_freq = max_freq or int(sampling_rate / 2)
        self.power_to_db = power_to_db
        self.top_db = top_db
        self.mag_exp = mag_exp
        self.min_power = min_power
        self.ref_power = ref_power
        super().__init__(**kwargs)
        self.built = True

    def call(self, inputs):
        dt = self._tensor_dtype if self._tensor_dtype in (
            "float32", "float64") else "float32"
        x = ops.convert_to_tensor(inputs, dt) if not isinstance(
            inputs, np.ndarray) else np.asarray(inputs, dt)
        real, imag = ops.stft(x, sequence_length=self.sequence_length,
                              sequence_stride=self.sequence_stride,
                              fft_length=self.fft_length, window=self.window,
                              center=True)
        spec = ops.sqrt(ops.add(ops.square(real), ops.square(imag)))
        spec = ops.power(spec, float(self.mag_exp))
        matrix = linear_to_mel_weight_matrix(
            self.num_mel_bins, ops.shape(spec)[-1], self.sampling_rate,
            self.min_freq, self.max_freq, dtype=dt)
        out = ops.tensordot(spec, matrix, axes=1)
        if self.power_to_db:
            out = self._dbscale(out)
        out = ops.swapaxes(out, -1, -2)
        return ops.cast(out, self._tensor_dtype)

    def _dbscale(self, x):
        log_spec = ops.multiply(ops.log10(ops.maximum(x, self.min_power)),
                                10.0)
        ref = 10.0 * np.log10(max(abs(float(self.ref_power)),
                                  float(self.min_power)))
        log_spec = ops.subtract(log_spec, np.asarray(ref, ops.dtype(x)))
        # NOTE: the floor is top_db below the maximum over the whole batch
        return ops.maximum(log_spec, ops.subtract(ops.max(log_spec),
                                                  float(self.top_db)))

    def compute_output_shape(self, input_shape):
        input_shape = tuple(input_shape)
        samples = input_shape[-1]
        frames = None if samples is None else (
            (samples + self.sequence_stride + 1) // self.sequence_stride)
        return input_shape[:-1] + (self.num_mel_bins, frames)

    def get_config(self):
        return {**super().get_config(), "fft_length": self.fft_length,
                "sequence_stride": self.sequence_stride,
                "sequence_length": self.sequence_length,
                "window": self.window, "sampling_rate": self.sampling_rate,
                "num_mel_bins": self.num_mel_bins, "min_freq": self.min_freq,
                "max_freq": self.max_freq, "power_to_db": self.power_to_db,
                "top_db": self.top_db, "mag_exp": self.mag_exp,
                "min_power": self.min_power, "ref_power": self.ref_power}


class STFTSpectrogram(Layer):
    """A spectrogram of `(batch, time, channels)` signals computed as a
    strided 1-D convolution with Fourier kernels (weights made by the STFT
    initializer, trainable as in Keras 3).

    Args:
        mode: "log" (default), "magnitude", "psd", "real", "imag",
            "angle" or "stft" (real and imaginary parts stacked).
        frame_length: the window length (256).
        frame_step: samples between frames (frame_length // 2).
        fft_length: the FFT size (the next power of two).
        window: a window name ("hann") or array, or None.
        periodic: periodic rather than symmetric windows (False).
        scaling: "density" (default), "spectrum" or None.
        padding: "valid" or "same".
        expand_dims: keep channels and frequencies as separate axes.
        data_format: "channels_last" (default) or "channels_first".

    Example:
        >>> STFTSpectrogram(frame_length=64)(np.zeros((2, 256, 1))).shape
        (2, 7, 33)
    """

    _MODES = ("log", "magnitude", "psd", "real", "imag", "angle", "stft")

    def __init__(self, mode="log", frame_length=256, frame_step=None,
                 fft_length=None, window="hann", periodic=False,
                 scaling="density", padding="valid", expand_dims=False,
                 data_format=None, **kwargs):
        import math
        import warnings

        from ..initializers import STFT
        from ..ops.nn import standardize_data_format

        if frame_step is not None and (frame_step > frame_length
                                       or frame_step < 1):
            raise ValueError(
                "`frame_step` should be a positive integer not greater than "
                f"`frame_length`. Received frame_step={frame_step}, "
                f"frame_length={frame_length}")
        if fft_length is not None and fft_length < frame_length:
            raise ValueError(
                "`fft_length` should be not less than `frame_length`. "
                f"Received fft_length={fft_length}, "
                f"frame_length={frame_length}")
        if fft_length is not None and (fft_length & -fft_length) != fft_length:
            warnings.warn("`fft_length` is recommended to be a power of two. "
                          f"Received fft_length={fft_length}", stacklevel=2)
        if mode not in self._MODES:
            raise ValueError(
                "Output mode is invalid, it must be one of "
                f"{', '.join(self._MODES)}. Received: mode={mode}")
        if scaling is not None and scaling not in ("density", "spectrum"):
            raise ValueError(
                "Scaling is invalid, it must be `None`, 'density' or "
                f"'spectrum'. Received scaling={scaling}")
        if padding not in ("valid", "same"):
            raise ValueError("Padding is invalid, it should be 'valid', "
                             f"'same'. Received: padding={padding}")
        STFT("real", window, scaling, periodic)  # checks the window
        super().__init__(**kwargs)
        self.mode = mode
        self.frame_length = frame_length
        self.frame_step = frame_step
        self._frame_step = frame_step or frame_length // 2
        self.fft_length = fft_length
        self._fft_length = fft_length or 2 ** int(
            math.ceil(math.log2(frame_length)))
        self.window = window
        self.periodic = periodic
        self.scaling = scaling
        self.padding = padding
        self.expand_dims = expand_dims
        self.data_format = standardize_data_format(data_format)

    def build(self, input_shape):
        from ..initializers import STFT

        if len(input_shape) != 3:
            raise ValueError(
                f'Input 0 of layer "{self.name}" is incompatible with the '
                "layer: expected ndim=3, found ndim="
                f"{len(input_shape)}. Full shape received: "
                f"{tuple(input_shape)}")
        shape = (self.frame_length, 1, self._fft_length // 2 + 1)
        if self.mode != "imag":
            self.real_kernel = self.add_weight(
                name="real_kernel", shape=shape, initializer=STFT(
                    "real", self.window, self.scaling, self.periodic))
        if self.mode != "real":
            self.imag_kernel = self.add_weight(
                name="imag_kernel", shape=shape, initializer=STFT(
                    "imag", self.window, self.scaling, self.periodic))
        self.built = True

    def _conv(self, x, kernel):
        """(batch, channels, freq, frames) of one kernel: every channel
        convolved with the same kernel, as a grouped convolution (Keras
        folds the channels into the batch, which graphkeras's symbolic
        batch axis does not allow)."""
        if self.data_format == "channels_first":
            x = ops.transpose(x, (0, 2, 1))
        channels = ops.shape(x)[-1]
        freq = ops.shape(kernel)[-1]
        k = ops.tile(ops.cast(kernel, ops.dtype(x)), (1, 1, channels))
        y = ops.conv(x, k, padding=self.padding, strides=self._frame_step,
                     data_format="channels_last")  # (N, frames, C * F)
        frames = ops.shape(y)[1]
        y = ops.reshape(y, (-1, frames, channels, freq))
        return ops.transpose(y, (0, 2, 3, 1))

    def _arrange(self, y):
        _, channels, freq, frames = ops.shape(y)
        if self.data_format == "channels_last":
            if self.expand_dims:
                return ops.transpose(y, (0, 3, 2, 1))
            y = ops.reshape(y, (-1, channels * freq, frames))
            return ops.transpose(y, (0, 2, 1))
        if self.expand_dims:
            return ops.transpose(y, (0, 1, 3, 2))
        return ops.reshape(y, (-1, channels * freq, frames))

    def call(self, inputs):
        from ...config import epsilon

        x = ops.convert_to_tensor(inputs)
        if ops.dtype(x) not in ("float16", "float32", "float64"):
            raise TypeError(
                "Invalid input type. Expected `float16`, `float32` or "
                f"`float64`. Received: input type={ops.dtype(x)}")
        real = self._conv(x, self.real_kernel) if self.mode != "imag" \
            else None
        imag = self._conv(x, self.imag_kernel) if self.mode != "real" \
            else None
        if self.mode == "real":
            return self._arrange(real)
        if self.mode == "imag":
            return self._arrange(imag)
        if self.mode == "angle":
            return self._arrange(ops.arctan2(imag, real))
        if self.mode == "stft":
            return self._arrange(ops.concatenate([real, imag], axis=2))
        power = ops.add(ops.square(real), ops.square(imag))
        if self.mode == "psd":
            # the one-sided density: every bin but the first and last
            # counts its mirror too
            return self._arrange(ops.add(power, ops.pad(
                power[:, :, 1:-1, :], [(0, 0), (0, 0), (1, 1), (0, 0)])))
        eps = epsilon()
        linear = self._arrange(ops.sqrt(ops.maximum(power, eps)))
        if self.mode == "magnitude":
            return linear
        return ops.log(ops.maximum(linear, eps))

    def compute_output_shape(self, input_shape):
        input_shape = tuple(input_shape)
        if self.data_format == "channels_last":
            steps, channels = input_shape[1], input_shape[2]
        else:
            channels, steps = input_shape[1], input_shape[2]
        freq = self._fft_length // 2 + 1
        if self.mode == "stft":
            freq *= 2
        if steps is None:
            frames = None
        elif self.padding == "same":
            frames = -(-steps // self._frame_step)
        else:
            frames = (steps - self.frame_length) // self._frame_step + 1
        if self.expand_dims:
            if self.data_format == "channels_last":
                return (input_shape[0], frames, freq, channels)
            return (input_shape[0], channels, frames, freq)
        if self.data_format == "channels_last":
            return (input_shape[0], frames, freq * channels)
        return (input_shape[0], freq * channels, frames)

    def get_config(self):
        return {**super().get_config(), "mode": self.mode,
                "frame_length": self.frame_length,
                "frame_step": self.frame_step, "fft_length": self.fft_length,
                "window": self.window, "periodic": self.periodic,
                "scaling": self.scaling, "padding": self.padding,
                "data_format": self.data_format,
                "expand_dims": self.expand_dims}
