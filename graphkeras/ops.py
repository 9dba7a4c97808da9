"""graphkeras.ops: NumPy-like functions that record IR on symbolic tensors
and compute on arrays (see graphkeras/frontend/ops.py)."""

from .frontend.ops import *  # noqa: F401,F403
from .frontend.ops import (  # noqa: F401
    abs, absolute, add, amax, amin, arange, argmax, argmin, batch_size,
    binary_crossentropy, broadcast_to, cast, categorical_crossentropy, clip,
    concatenate, convert_to_numpy, convert_to_tensor, divide, dot, dtype, elu,
    equal, erf, exp, expand_dims, expm1, floor, full, full_like, gelu, greater,
    greater_equal, hard_sigmoid, is_tensor, leaky_relu, less, less_equal, log,
    log1p, log_sigmoid, log_softmax, logical_and, logical_not, logical_or,
    matmul, max, maximum, mean, min, minimum, moments, multiply, ndim,
    negative, norm, not_equal, one_hot, ones, ones_like, pad, power,
    reciprocal, relu, relu6, reshape, result_type, round, rsqrt, selu, shape,
    sigmoid, sign, silu, size, slice, softmax, softplus, softsign,
    sparse_categorical_crossentropy, sqrt, square, squeeze, stack, std,
    stop_gradient, subtract, sum, swish, take, tanh, transpose, true_divide,
    var, where, zeros, zeros_like,
)
