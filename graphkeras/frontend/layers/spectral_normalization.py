"""SpectralNormalization, Keras 3's wrapper (Miyato et al., 2018): in
training the wrapped layer's kernel (or an Embedding's embeddings) is
divided by an estimate of its largest singular value, found by
`power_iterations` steps of the power method from the stored vector
`vector_u`, which each training call updates.

Semantics are Keras 3's on JAX, the reference backend: a traced training
step computes with the normalized kernel and keeps the new `vector_u`, but
the kernel variable itself keeps its value (the optimizer updates it;
Keras's JAX trainer drops assignments to trainable variables made in the
forward pass). Called eagerly on data with training=True, the wrapper
assigns the normalized kernel, as Keras does there. Inference uses the
kernel as it is. (Keras on TensorFlow instead keeps the normalized kernel
after each training step.)

Weights as Keras saves them: the wrapper's own variables are the wrapped
kernel and vector_u (1, units), in that order; the wrapped layer keeps
its own.
"""

from __future__ import annotations

from .. import initializers, ops, tracing
from .base_wrapper import Wrapper
from .input_spec import InputSpec


class SpectralNormalization(Wrapper):
    """Spectral normalization of a layer's kernel (Keras 3's wrapper).

    Args:
        layer: a layer with a `kernel` (Dense, Conv2D, ...) or
            `embeddings` (Embedding) weight.
        power_iterations: steps of the power method per training call
            (a positive integer, default 1).

    Example:
        >>> sn = SpectralNormalization(Dense(4))
        >>> sn(np.ones((2, 3), "float32"), training=True).shape
        (2, 4)
    """

    def __init__(self, layer, power_iterations=1, **kwargs):
        super().__init__(layer, **kwargs)
        if not isinstance(power_iterations, int) or isinstance(
                power_iterations, bool) or power_iterations <= 0:
            raise ValueError(
                "`power_iterations` should be greater than zero. Received: "
                f"`power_iterations={power_iterations}`")
        self.power_iterations = power_iterations

    def build(self, input_shape):
        super().build(input_shape)
        self.input_spec = InputSpec(min_ndim=1,
                                    axes={-1: tuple(input_shape)[-1]})
        kernel = getattr(self.layer, "kernel", None)
        if kernel is None:
            kernel = getattr(self.layer, "embeddings", None)
        if kernel is None:
            raise ValueError(
                f"{type(self.layer).__name__} object has no attribute "
                f"'kernel' nor 'embeddings' (layer \"{self.layer.name}\" "
                f'wrapped by SpectralNormalization "{self.name}").')
        # NOTE: Keras tracks the wrapped kernel as the wrapper's own first
        # variable too (its .weights.h5 stores it twice)
        self._trainable_variables.append(kernel)
        self.kernel = kernel
        self.kernel_shape = tuple(kernel.shape)
        self.vector_u = self.add_weight(
            shape=(1, self.kernel_shape[-1]),
            initializer=initializers.TruncatedNormal(stddev=0.02),
            trainable=False, name="vector_u", dtype=kernel.dtype)

    def normalized_weights(self):
        """(new vector_u, the kernel divided by its estimated spectral
        norm); a kernel of zeros is kept as it is."""
        w = ops.convert_to_tensor(self.kernel)
        u = ops.convert_to_tensor(self.vector_u)
        w2 = ops.reshape(w, (-1, self.kernel_shape[-1]))
        v = None
        for _ in range(self.power_iterations):
            v = ops.normalize(ops.matmul(u, ops.transpose(w2)), axis=None)
            u = ops.normalize(ops.matmul(v, w2), axis=None)
        u = ops.stop_gradient(u)
        v = ops.stop_gradient(v)
        sigma = ops.matmul(ops.matmul(v, w2), ops.transpose(u))  # (1, 1)
        zero = ops.all(ops.equal(w, 0))
        sigma = ops.where(zero, ops.ones_like(sigma), sigma)
        kernel = ops.reshape(ops.divide(w2, sigma), self.kernel_shape)
        u = ops.where(zero, ops.convert_to_tensor(self.vector_u), u)
        return ops.cast(u, self.vector_u.dtype), ops.cast(kernel,
                                                          self.kernel.dtype)

    def call(self, inputs, training=False):
        if not training:
            return ops.cast(self.layer(inputs), ops.dtype(inputs))
        new_u, new_kernel = self.normalized_weights()
        self.vector_u.assign(new_u)
        t = tracing.current_trace()
        if t is None:  # eager: the kernel takes the normalized value
            self.kernel.assign(new_kernel)
            return ops.cast(self.layer(inputs), ops.dtype(inputs))
        # traced: the layer reads the normalized kernel, the variable keeps
        # its value (module docstring)
        t.read(self.kernel)
        key = self.kernel.key
        saved = t.current[key]
        t.current[key] = new_kernel.value
        try:
            out = self.layer(inputs)
        finally:
            t.current[key] = saved
        return ops.cast(out, ops.dtype(inputs))

    def compute_output_shape(self, input_shape):
        return self.layer.compute_output_shape(input_shape)

    def get_config(self):
        return {**super().get_config(),
                "power_iterations": self.power_iterations}
