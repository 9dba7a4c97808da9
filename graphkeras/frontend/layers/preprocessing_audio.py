"""Audio preprocessing layers that run inside the model, as Keras 3's:
MelSpectrogram (ops.stft, magnitudes, a mel filter bank, decibels).

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
        dt = self.compute_dtype if self.compute_dtype in (
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
        return ops.cast(out, self.compute_dtype)

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
