"""InputLayer and `Input()`: the entry points of the functional API.

`Input(shape=(100,))` returns a KerasTensor of shape (None, 100) whose
history points at a fresh InputLayer; the batch dimension stays None (it
becomes the IR symbol N when the model is traced). Other dimensions may be
None too (`Input((None,))` for sequences of any length): the model is then
traced once per concrete size it is run on (frontend/trainer.py).
"""

from __future__ import annotations

from ..tensors import KerasTensor
from ..variables import standardize_dtype
from .layer import Layer, Node


def _standardize_shape(shape, what="shape"):
    if isinstance(shape, int):
        shape = (shape,)
    try:
        shape = tuple(shape)
    except TypeError:
        raise ValueError(f"Cannot convert '{shape!r}' to a shape.") from None
    for d in shape:
        if d is not None and (isinstance(d, bool) or not isinstance(d, int)
                              or d < 0):
            raise ValueError(
                f"Cannot convert '{shape}' to a shape: every dimension must be "
                "a non-negative int or None."
            )
    return shape


class InputLayer(Layer):
    """The layer behind `Input`: it has no weights and passes its input on.

    Args:
        shape: the shape of one sample (no batch dimension).
        batch_size: an optional fixed batch size.
        dtype: "float32" by default.
        batch_shape: the shape including the batch (instead of shape).
        name: the layer name ("input_layer", "input_layer_1", ... by default).
    """

    def __init__(self, shape=None, batch_size=None, dtype=None, sparse=None,
                 batch_shape=None, input_tensor=None, optional=False,
                 name=None, **kwargs):
        kwargs.pop("input_shape", None)
        super().__init__(name=name, **{k: v for k, v in kwargs.items()
                                       if k in ("trainable",)})
        if shape is not None and batch_shape is not None:
            raise ValueError(
                "You cannot pass both `shape` and `batch_shape` at the same "
                "time."
            )
        if batch_shape is None:
            if shape is None:
                raise ValueError(
                    "You must pass a `shape` argument to Input/InputLayer, "
                    "e.g. Input(shape=(100,))."
                )
            batch_shape = (batch_size,) + _standardize_shape(shape)
        self._batch_shape = _standardize_shape(batch_shape, "batch_shape")
        # NOTE: a string Input is accepted so that the layer it feeds can
        # name itself in the error (layer.py, _refuse_strings): compiled
        # programs take numbers only
        self.dtype = "string" if dtype in ("string", "str", str) else \
            standardize_dtype(dtype)
        self.sparse = bool(sparse)
        self.optional = optional
        self.built = True
        out = KerasTensor(self._batch_shape, self.dtype, name=self.name)
        Node(self, (), {}, out)

    @property
    def batch_shape(self) -> tuple:
        return self._batch_shape

    def call(self, inputs=None):
        return inputs

    def get_config(self):
        return {"batch_shape": self._batch_shape, "dtype": self.dtype,
                "sparse": self.sparse, "name": self.name}


def Input(shape=None, batch_size=None, dtype=None, sparse=None,
          batch_shape=None, name=None, tensor=None, optional=False):
    """A symbolic input of a functional model.

    Example:
        >>> x = Input(shape=(100,))
        >>> x.shape
        (None, 100)
    """
    layer = InputLayer(shape=shape, batch_size=batch_size, dtype=dtype,
                       sparse=sparse, batch_shape=batch_shape, name=name,
                       optional=optional)
    return layer.output
