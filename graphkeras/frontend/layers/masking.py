"""Masking: marks time steps whose features all equal `mask_value` as
padding, for the layers downstream (recurrent, attention, losses)."""

from __future__ import annotations

from .. import ops
from .layer import Layer
from .masks import set_keras_mask


class Masking(Layer):
    """Masks a sequence by using a mask value to skip timesteps.

    For each time step of the input (batch, timesteps, features), if all
    features equal `mask_value`, the step is masked (skipped) in every
    downstream layer that supports masking; its output values are set to 0.

    Args:
        mask_value: the padding value (default 0.0).

    Example:
        >>> x = np.array([[[1.0], [0.0]]], "float32")
        >>> Masking()(x).tolist()
        [[[1.0], [0.0]]]
    """

    def __init__(self, mask_value=0.0, **kwargs):
        super().__init__(**kwargs)
        if isinstance(mask_value, dict) and "config" in mask_value:
            mask_value = mask_value["config"].get("value", mask_value)
        self.mask_value = mask_value
        self.supports_masking = True
        self.built = True

    def compute_mask(self, inputs, mask=None):
        return ops.any_(ops.not_equal(inputs, self.mask_value), axis=-1)

    def call(self, inputs):
        keep = ops.any_(ops.not_equal(inputs, self.mask_value), axis=-1,
                        keepdims=True)
        outputs = ops.where(keep, inputs, ops.zeros_like(inputs))
        set_keras_mask(outputs, ops.squeeze(keep, axis=-1))
        return outputs

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self):
        return {**super().get_config(), "mask_value": self.mask_value}
