"""Activation functions, by Keras name. Each is a function of a tensor
written with `graphkeras.ops`; `get(name)` resolves a string. Defaults and
formulas are Keras 3's: gelu is exact (erf) unless approximate=True,
hard_sigmoid is relu6(x + 3) / 6, leaky_relu's slope is 0.2.

Adding one: define `def name(x)` with ops and add it to `ALL_OBJECTS`.
"""

from __future__ import annotations

from . import ops


def linear(x):
    return x


def relu(x, negative_slope=0.0, max_value=None, threshold=0.0):
    if negative_slope == 0.0 and max_value is None and threshold == 0.0:
        return ops.relu(x)
    if negative_slope == 0.0 and threshold == 0.0:
        # relu then clip at max_value, as Keras; one clip op (an ONNX Clip,
        # which onnxruntime fuses into the Conv before it: ReLU(6.0) in
        # MobileNetV2), and 0 for -inf where the general form gives NaN
        return ops.clip(x, 0.0, float(max_value))
    y = ops.where(ops.greater(x, threshold), x,
                  ops.multiply(ops.subtract(x, threshold), negative_slope))
    if max_value is not None:
        y = ops.minimum(y, float(max_value))
    return y


def sigmoid(x):
    return ops.sigmoid(x)


def tanh(x):
    return ops.tanh(x)


def softmax(x, axis=-1):
    return ops.softmax(x, axis=axis)


def log_softmax(x, axis=-1):
    return ops.log_softmax(x, axis=axis)


def elu(x, alpha=1.0):
    return ops.elu(x, alpha)


def selu(x):
    return ops.selu(x)


def gelu(x, approximate=False):
    return ops.gelu(x, approximate=approximate)


def silu(x):
    return ops.silu(x)


swish = silu


def softplus(x):
    return ops.softplus(x)


def softsign(x):
    return ops.softsign(x)


def leaky_relu(x, negative_slope=0.2):
    return ops.leaky_relu(x, negative_slope)


def hard_sigmoid(x):
    return ops.hard_sigmoid(x)


def exponential(x):
    return ops.exp(x)


def relu6(x):
    return ops.relu6(x)


def celu(x, alpha=1.0):
    return ops.celu(x, alpha=alpha)


def glu(x, axis=-1):
    return ops.glu(x, axis=axis)


def hard_silu(x):
    return ops.hard_silu(x)


hard_swish = hard_silu


def hard_tanh(x):
    return ops.hard_tanh(x)


def hard_shrink(x, threshold=0.5):
    return ops.hard_shrink(x, threshold=threshold)


def soft_shrink(x, threshold=0.5):
    return ops.soft_shrink(x, threshold=threshold)


def tanh_shrink(x):
    return ops.tanh_shrink(x)


def threshold(x, threshold, default_value):
    return ops.threshold(x, threshold, default_value)


def log_sigmoid(x):
    return ops.log_sigmoid(x)


def mish(x):
    return ops.mish(x)


def squareplus(x, b=4):
    return ops.squareplus(x, b=b)


def sparse_plus(x):
    return ops.sparse_plus(x)


def sparse_sigmoid(x):
    return ops.sparse_sigmoid(x)


def sparsemax(x, axis=-1):
    from .ops.nn import sparsemax as _sparsemax

    return _sparsemax(x, axis=axis)


ALL_OBJECTS = {
    f.__name__: f
    for f in (linear, relu, sigmoid, tanh, softmax, log_softmax, elu, selu,
              gelu, silu, softplus, softsign, leaky_relu, hard_sigmoid,
              exponential, relu6, celu, glu, hard_silu, hard_tanh,
              hard_shrink, soft_shrink, tanh_shrink, threshold, log_sigmoid,
              mish, squareplus, sparse_plus, sparse_sigmoid, sparsemax)
}
ALL_OBJECTS["swish"] = silu
ALL_OBJECTS["hard_swish"] = hard_silu


def get(identifier):
    """An activation function from a name (None means linear), a config
    dict or a callable; unknown names raise a ValueError listing the valid
    ones. A name not built in is looked up as Keras does: the active
    custom_object_scope, then register_keras_serializable's registry."""
    from .serialization import resolve

    if identifier is None:
        return linear
    if isinstance(identifier, dict) and "class_name" in identifier and (
        identifier.get("class_name") == "function"
    ):
        identifier = identifier.get("config")
    return resolve("activation", identifier, ALL_OBJECTS)


def _custom(name, custom_objects=None):
    from .saving.object_registration import get_registered_object

    found = get_registered_object(name, custom_objects)
    if found is None and ">" in name:  # "package>name" given by its name
        found = get_registered_object(name.split(">", 1)[1], custom_objects)
    return found


def serialize(fn):
    """A built-in activation's name; any other function as Keras 3 writes
    it: {"module": "builtins", "class_name": "function", "config": its
    registered name ("package>name") or __name__, ...}."""
    for k, v in ALL_OBJECTS.items():
        if v is fn:
            return k
    from .serialization import serialize_function

    return serialize_function(fn)


def deserialize(config, custom_objects=None):
    """An activation function from what `serialize` wrote (a name or a
    {"class_name": "function", "config": name} dict)."""
    if isinstance(config, dict) and config.get("class_name") == "function":
        config = config.get("config")
    if isinstance(config, str) and custom_objects:
        found = _custom(config, custom_objects)
        if found is not None:
            return found
    return get(config)


# the family serialization finds its objects in (frontend/families.py)
from .families import register_family as _register_family  # noqa: E402

_register_family("activations", "keras.activations", None, globals())
