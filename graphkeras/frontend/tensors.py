"""The two kinds of symbolic tensors the frontend hands around.

- `KerasTensor`: what `Input(...)` and layer calls on Inputs return. It has
  a Keras shape (None for the batch), a dtype, and `_keras_history`
  (layer, node index, tensor index) linking it into the functional graph.
  It holds no IR: a functional model is traced to IR later, by replaying
  its graph.
- `TracedTensor`: an `ir.Value` inside an active `Trace`. Layers' `call()`
  receives these while a model is traced; every `graphkeras.ops` function
  applied to them appends a node.

Both support Python arithmetic (`x * 2`, `x @ w`, `-x`, `x[:, 0]`) through
`graphkeras.ops`, as Keras tensors do. Neither overrides `==` (they stay
hashable); use `ops.equal`.
"""

from __future__ import annotations

from collections import namedtuple

from .tracing import to_keras_shape

KerasHistory = namedtuple("KerasHistory", ["operation", "node_index",
                                           "tensor_index"])


def _binary(name, reverse=False):
    def method(self, other):
        from . import ops

        fn = getattr(ops, name)
        return fn(other, self) if reverse else fn(self, other)

    method.__name__ = f"__{'r' if reverse else ''}{name}__"
    return method


def _unary(name):
    def method(self):
        from . import ops

        return getattr(ops, name)(self)

    return method


def _getitem(self, key):
    from . import ops

    return ops.getitem(self, key)


_OPERATORS = {
    "__add__": _binary("add"),
    "__radd__": _binary("add", True),
    "__sub__": _binary("subtract"),
    "__rsub__": _binary("subtract", True),
    "__mul__": _binary("multiply"),
    "__rmul__": _binary("multiply", True),
    "__truediv__": _binary("divide"),
    "__rtruediv__": _binary("divide", True),
    "__pow__": _binary("power"),
    "__rpow__": _binary("power", True),
    "__matmul__": _binary("matmul"),
    "__rmatmul__": _binary("matmul", True),
    "__lt__": _binary("less"),
    "__le__": _binary("less_equal"),
    "__gt__": _binary("greater"),
    "__ge__": _binary("greater_equal"),
    # elementwise, as Keras 3's tensors (the guide's custom metric
    # compares labels with `==`): internal code compares tensors with `is`
    "__eq__": _binary("equal"),
    "__ne__": _binary("not_equal"),
    "__floordiv__": _binary("floor_divide"),
    "__rfloordiv__": _binary("floor_divide", True),
    "__mod__": _binary("mod"),
    "__rmod__": _binary("mod", True),
    "__and__": _binary("logical_and"),
    "__rand__": _binary("logical_and", True),
    "__or__": _binary("logical_or"),
    "__ror__": _binary("logical_or", True),
    "__xor__": _binary("logical_xor"),
    "__rxor__": _binary("logical_xor", True),
    "__neg__": _unary("negative"),
    "__abs__": _unary("abs"),
    "__invert__": _unary("logical_not"),
    "__getitem__": _getitem,
    "__hash__": object.__hash__,
}


class _TensorBase:
    locals().update(_OPERATORS)

    @property
    def ndim(self) -> int:
        return len(self.shape)

    def __bool__(self):
        raise TypeError(
            "A symbolic tensor cannot be used as a Python bool (its value is "
            "not known while the model is being traced). Use ops.where() "
            "instead of `if`."
        )

    def __len__(self):
        d = self.shape[0] if self.shape else None
        if d is None:
            raise TypeError(
                f"len() is not known for a tensor of shape {self.shape}."
            )
        return d

    def __iter__(self):
        raise TypeError("A symbolic tensor cannot be iterated over.")

    # NumPy defers to the tensor's own operators: `array * tensor` calls
    # tensor.__rmul__ (a traced op), not a conversion to an array
    __array_ufunc__ = None

    def __array__(self, *a, **k):
        raise TypeError(
            "A symbolic tensor has no value: it cannot be converted to a "
            "NumPy array. Call the model on arrays instead."
        )


class KerasTensor(_TensorBase):
    """A symbolic tensor of the functional API (shape with None batch)."""

    def __init__(self, shape, dtype="float32", name=None, record_history=None):
        self.shape = tuple(None if d is None else int(d) for d in shape)
        self.dtype = dtype
        self.name = name
        self._keras_history = record_history

    def __repr__(self) -> str:
        return (f"<KerasTensor shape={self.shape}, dtype={self.dtype}, "
                f"name={self.name}>")


class TracedTensor(_TensorBase):
    """An `ir.Value` in an active trace."""

    __slots__ = ("trace", "value")

    def __init__(self, value, trace):
        self.value = value
        self.trace = trace

    @property
    def shape(self) -> tuple:
        return to_keras_shape(self.value.shape)

    @property
    def dtype(self) -> str:
        return self.value.dtype.long_name

    def __repr__(self) -> str:
        return f"<TracedTensor %{self.value.name}: {self.value.type}>"


def is_keras_tensor(x) -> bool:
    return isinstance(x, KerasTensor)


class HostStaged(tuple):
    """The inputs of a model's compiled part: the outputs of its host stage
    (models/host_stage.py; the model inputs its compiled layers read among
    them), in the stage's boundary order. A model given these runs only
    its compiled layers, and its input spec (of the raw, maybe string,
    inputs) does not apply to them."""

    __slots__ = ()

    def __repr__(self) -> str:
        return f"HostStaged{tuple.__repr__(self)}"
