"""graphkeras.ops: NumPy-like functions that record IR on symbolic tensors
and compute on arrays (see graphkeras/frontend/ops/)."""

from .frontend.ops import *
from .frontend.ops import (  # noqa: F401
    abs,
    absolute,
    add,
    amax,
    amin,
    arange,
    argmax,
    argmin,
    batch_size,
    binary_crossentropy,
    broadcast_to,
    cast,
    categorical_crossentropy,
    clip,
    concatenate,
    convert_to_numpy,
    convert_to_tensor,
    divide,
    dot,
    dtype,
    elu,
    equal,
    erf,
    exp,
    expand_dims,
    expm1,
    flip,
    floor,
    floor_divide,
    full,
    full_like,
    gelu,
    greater,
    greater_equal,
    hard_sigmoid,
    is_tensor,
    isnan,
    leaky_relu,
    less,
    less_equal,
    log,
    log1p,
    log2,
    log10,
    log_sigmoid,
    log_softmax,
    logical_and,
    logical_not,
    logical_or,
    logsumexp,
    matmul,
    max,
    maximum,
    mean,
    min,
    minimum,
    mod,
    moments,
    multiply,
    ndim,
    negative,
    norm,
    not_equal,
    one_hot,
    ones,
    ones_like,
    pad,
    power,
    reciprocal,
    relu,
    relu6,
    repeat,
    reshape,
    result_type,
    round,
    rsqrt,
    selu,
    shape,
    sigmoid,
    sign,
    silu,
    size,
    slice,
    softmax,
    softplus,
    softsign,
    sparse_categorical_crossentropy,
    sqrt,
    square,
    squeeze,
    stack,
    std,
    stop_gradient,
    subtract,
    sum,
    swish,
    take,
    tanh,
    tile,
    transpose,
    true_divide,
    var,
    where,
    zeros,
    zeros_like,
)
from .frontend.ops import all_ as all  # noqa: F401
from .frontend.ops import any_ as any  # noqa: F401


def _namespace(name: str, names) -> object:
    """A submodule object `graphkeras.ops.<name>` re-exporting `names` (as
    keras.ops.nn / numpy / linalg / image do), importable by its dotted
    name."""
    import sys
    import types

    module = types.ModuleType(
        f"{__name__}.{name}",
        f"graphkeras.ops.{name}: the {name} functions of graphkeras.ops, "
        "under Keras 3's namespace.")
    g = globals()
    for n in names:
        if n in g:
            setattr(module, n, g[n])
    sys.modules[module.__name__] = module
    return module


# Keras 3's names in each namespace (those graphkeras has).
_NN = (
    "average_pool", "batch_normalization", "binary_crossentropy",
    "categorical_crossentropy", "celu", "conv", "conv_transpose", "depth_to_space",
    "depthwise_conv", "dot_product_attention", "elu", "gelu", "glu", "hard_shrink",
    "hard_sigmoid", "hard_silu", "hard_swish", "hard_tanh", "layer_normalization",
    "leaky_relu", "log_sigmoid", "log_softmax", "max_pool", "moments", "multi_hot",
    "normalize", "one_hot", "psnr", "relu", "relu6", "rms_normalization", "selu",
    "separable_conv", "sigmoid", "silu", "soft_shrink", "softmax", "softplus",
    "softsign", "space_to_depth", "sparse_categorical_crossentropy", "sparse_plus",
    "sparse_sigmoid", "sparsemax", "squareplus", "swish", "tanh_shrink", "threshold",
)
_LINALG = (
    "cholesky", "cholesky_inverse", "det", "inv", "norm", "solve", "solve_triangular",
)
_NUMPY = (
    "abs", "absolute", "add", "all", "allclose", "amax", "amin", "angle", "any",
    "append", "arange", "arccos", "arccosh", "arcsin", "arcsinh", "arctan", "arctan2",
    "arctanh", "argmax", "argmin", "argsort", "array", "array_split", "average",
    "bincount", "broadcast_to", "cbrt", "ceil", "clip", "concatenate", "conj",
    "conjugate", "copy", "corrcoef", "cos", "cosh", "count_nonzero", "cross", "cumprod",
    "cumsum", "deg2rad", "diag", "diagonal", "diff", "digitize", "divide",
    "divide_no_nan", "dot", "dsplit", "dstack", "einsum", "empty", "empty_like",
    "equal", "exp", "exp2", "expand_dims", "expm1", "eye", "fabs", "flip", "fliplr",
    "flipud", "floor", "floor_divide", "fmax", "fmin", "fmod", "full", "full_like",
    "geomspace", "get_item", "greater", "greater_equal", "heaviside", "hsplit",
    "hstack", "hypot", "identity", "imag", "inner", "isclose", "isfinite", "isin",
    "isinf", "isnan", "isneginf", "isposinf", "isreal", "kron", "less", "less_equal",
    "linspace", "log", "log10", "log1p", "log2", "logaddexp", "logaddexp2",
    "logical_and", "logical_not", "logical_or", "logical_xor", "logspace", "matmul",
    "max", "maximum", "mean", "median", "meshgrid", "min", "minimum", "mod", "moveaxis",
    "multiply", "nan_to_num", "nanargmax", "nanargmin", "nancumprod", "nancumsum",
    "nanmax", "nanmean", "nanmin", "nanprod", "nanstd", "nansum", "nanvar", "ndim",
    "negative", "not_equal", "ones", "ones_like", "outer", "pad", "percentile", "power",
    "prod", "ptp", "quantile", "rad2deg", "ravel", "real", "reciprocal", "repeat",
    "reshape", "roll", "rot90", "round", "searchsorted", "select", "sign", "signbit",
    "sin", "sinc", "sinh", "size", "slogdet", "sort", "split", "sqrt", "square",
    "squeeze", "stack", "std", "subtract", "sum", "swapaxes", "take", "take_along_axis",
    "tan", "tanh", "tensordot", "tile", "trace", "transpose", "trapezoid", "tri",
    "tril", "triu", "true_divide", "trunc", "unravel_index", "vander", "var", "vdot",
    "vsplit", "vstack", "where", "zeros", "zeros_like",
)
nn = _namespace("nn", _NN)
linalg = _namespace("linalg", _LINALG)
numpy = _namespace("numpy", _NUMPY)
image = _namespace("image", ("resize",))

# Gradients for custom steps (frontend/gradients.py): where Keras's JAX
# guide calls jax.value_and_grad / jax.grad.
from .frontend.gradients import grad, value_and_grad  # noqa: E402,F401
