"""Op nodes of functional models: Keras 3 Operation classes <-> graphkeras.ops.

Keras 3 records a `keras.ops.*` call on KerasTensors as a node whose layer
is an Operation, written in config.json as

    {"module": "keras.src.ops.numpy", "class_name": "Mean",
     "config": {"name": "mean", "axis": 1, "keepdims": false},
     "registered_name": "Mean", "name": "mean",
     "inbound_nodes": [{"args": [<x>], "kwargs": {}}]}

The constructor arguments of the Operation are in "config"; the call's
tensors and other arguments are in the node. graphkeras records the same
call as an `OpLayer` holding the `graphkeras.ops` function and its
arguments; this module maps one onto the other with one table, `OPS`
(one line per Keras class: its module, the graphkeras function, and which
of the function's parameters Keras passes to the constructor).

Invariants:
- The graphkeras function's parameters, minus the constructor ones, are
  Keras's call parameters in the same order, so a saved call is
  `fn(*node args, **node kwargs, **constructor config)`.
- Loading what `op_entry` writes calls the same function with the same
  arguments (`tests/saving/test_keras_ops_nodes.py` checks both ways and
  checks the table against the functions' signatures).
- A Keras constructor argument graphkeras lacks is accepted only at the
  value listed in `inert` (Keras's default); any other value is an error
  naming the op and the argument.
"""

from __future__ import annotations

import inspect
import re
from dataclasses import dataclass, field

# Modules Keras 3 writes for Operation classes ("keras.src.ops.numpy"...).
_PREFIX = "keras.src.ops."


@dataclass(frozen=True)
class KerasOp:
    """One Keras 3 Operation class and the graphkeras function it is."""

    class_name: str
    family: str  # numpy, nn, core, math, linalg: the Keras module's tail
    function: str  # the name in graphkeras.ops
    init: tuple = ()  # parameters Keras passes to the constructor
    inert: dict = field(default_factory=dict)  # Keras-only args: {name: ok}
    local: tuple = ()  # graphkeras-only parameters (saved at their default)

    @property
    def module(self) -> str:
        return _PREFIX + self.family


def _op(class_name, family, function, init="", local="", **inert) -> KerasOp:
    return KerasOp(class_name, family, function, tuple(init.split()), inert,
                   tuple(local.split()))


_AXK = "axis keepdims"

# Keras class, Keras module, graphkeras.ops function, constructor args.
# The first line naming a function is what graphkeras writes for it.
OPS = [
    # --- keras.src.ops.numpy: elementwise -------------------------------------
    _op("Absolute", "numpy", "absolute"),  # Keras's ops.abs writes Absolute
    _op("Abs", "numpy", "abs"),
    _op("Add", "numpy", "add"),
    _op("Subtract", "numpy", "subtract"),
    _op("Multiply", "numpy", "multiply"),
    _op("Divide", "numpy", "divide"),
    _op("TrueDivide", "numpy", "true_divide"),
    _op("DivideNoNan", "numpy", "divide_no_nan"),
    _op("FloorDivide", "numpy", "floor_divide"),
    _op("Mod", "numpy", "mod"),
    _op("Power", "numpy", "power"),
    _op("Maximum", "numpy", "maximum"),
    _op("Minimum", "numpy", "minimum"),
    _op("Negative", "numpy", "negative"),
    _op("Reciprocal", "numpy", "reciprocal"),
    _op("Square", "numpy", "square"),
    _op("Sqrt", "numpy", "sqrt"),
    _op("Exp", "numpy", "exp"),
    _op("Expm1", "numpy", "expm1"),
    _op("Log", "numpy", "log"),
    _op("Log1p", "numpy", "log1p"),
    _op("Log2", "numpy", "log2"),
    _op("Log10", "numpy", "log10"),
    _op("Sign", "numpy", "sign"),
    _op("Sin", "numpy", "sin"),
    _op("Cos", "numpy", "cos"),
    _op("Tanh", "numpy", "tanh"),
    _op("Floor", "numpy", "floor"),
    _op("Ceil", "numpy", "ceil"),
    _op("Round", "numpy", "round", decimals=(0,)),
    _op("Clip", "numpy", "clip", "x_min x_max"),
    _op("Isnan", "numpy", "isnan"),
    _op("Equal", "numpy", "equal"),
    _op("NotEqual", "numpy", "not_equal"),
    _op("Greater", "numpy", "greater"),
    _op("GreaterEqual", "numpy", "greater_equal"),
    _op("Less", "numpy", "less"),
    _op("LessEqual", "numpy", "less_equal"),
    _op("LogicalAnd", "numpy", "logical_and"),
    _op("LogicalOr", "numpy", "logical_or"),
    _op("LogicalNot", "numpy", "logical_not"),
    _op("Where", "numpy", "where"),
    _op("Select", "numpy", "select"),
    _op("Arccos", "numpy", "arccos"),
    _op("Arccosh", "numpy", "arccosh"),
    _op("Arcsin", "numpy", "arcsin"),
    _op("Arcsinh", "numpy", "arcsinh"),
    _op("Arctan", "numpy", "arctan"),
    _op("Arctan2", "numpy", "arctan2"),
    _op("Arctanh", "numpy", "arctanh"),
    _op("Tan", "numpy", "tan"),
    _op("Sinh", "numpy", "sinh"),
    _op("Cosh", "numpy", "cosh"),
    _op("Cbrt", "numpy", "cbrt"),
    _op("Exp2", "numpy", "exp2"),
    _op("Deg2rad", "numpy", "deg2rad"),
    _op("Rad2deg", "numpy", "rad2deg"),
    _op("Trunc", "numpy", "trunc"),
    _op("Signbit", "numpy", "signbit"),
    _op("Fmod", "numpy", "fmod"),
    _op("Hypot", "numpy", "hypot"),
    _op("Heaviside", "numpy", "heaviside"),
    _op("Logaddexp", "numpy", "logaddexp"),
    _op("LogicalXor", "numpy", "logical_xor"),
    _op("Isfinite", "numpy", "isfinite"),
    _op("Isinf", "numpy", "isinf"),
    _op("Isclose", "numpy", "isclose", "equal_nan"),
    _op("AllClose", "numpy", "allclose", "rtol atol equal_nan"),
    _op("NanToNum", "numpy", "nan_to_num", "nan posinf neginf"),
    _op("Copy", "numpy", "copy"),
    _op("Fabs", "numpy", "fabs"),
    _op("Fmax", "numpy", "fmax"),
    _op("Fmin", "numpy", "fmin"),
    _op("Sinc", "numpy", "sinc"),
    _op("Logaddexp2", "numpy", "logaddexp2"),
    _op("Isneginf", "numpy", "isneginf"),
    _op("Isposinf", "numpy", "isposinf"),
    _op("Isreal", "numpy", "isreal"),
    _op("IsIn", "numpy", "isin", "assume_unique invert"),
    _op("Angle", "numpy", "angle"),
    _op("Conj", "numpy", "conj"),
    _op("Real", "numpy", "real"),
    _op("Imag", "numpy", "imag"),
    # --- keras.src.ops.numpy: reductions ---------------------------------------
    _op("Sum", "numpy", "sum", _AXK),
    _op("Mean", "numpy", "mean", _AXK),
    _op("Max", "numpy", "max", _AXK, initial=(None,)),
    _op("Min", "numpy", "min", _AXK, initial=(None,)),
    _op("Amax", "numpy", "amax", _AXK),
    _op("Amin", "numpy", "amin", _AXK),
    _op("Prod", "numpy", "prod", _AXK, dtype=(None,)),
    _op("Std", "numpy", "std", _AXK),
    _op("Var", "numpy", "var", _AXK),
    _op("All", "numpy", "all", _AXK),
    _op("Any", "numpy", "any", _AXK),
    _op("Argmax", "numpy", "argmax", _AXK),
    _op("Argmin", "numpy", "argmin", _AXK),
    _op("Cumsum", "numpy", "cumsum", "axis", dtype=(None,)),
    _op("Cumprod", "numpy", "cumprod", "axis dtype"),
    _op("Median", "numpy", "median", _AXK),
    _op("Quantile", "numpy", "quantile", "axis method keepdims"),
    _op("Percentile", "numpy", "percentile", "axis method keepdims"),
    _op("Average", "numpy", "average", "axis"),
    _op("CountNonzero", "numpy", "count_nonzero", "axis"),
    _op("Nansum", "numpy", "nansum", _AXK),
    _op("Nanmean", "numpy", "nanmean", _AXK),
    _op("Nanmax", "numpy", "nanmax", _AXK),
    _op("Nanmin", "numpy", "nanmin", _AXK),
    _op("Nanprod", "numpy", "nanprod", _AXK),
    _op("Nanstd", "numpy", "nanstd", _AXK),
    _op("Nanvar", "numpy", "nanvar", _AXK),
    _op("Sort", "numpy", "sort", "axis"),
    _op("Argsort", "numpy", "argsort", "axis"),
    _op("Trace", "numpy", "trace", "offset axis1 axis2"),
    _op("Diff", "numpy", "diff", "n axis", local="prepend append"),
    _op("Ptp", "numpy", "ptp", _AXK),
    _op("Nanargmax", "numpy", "nanargmax", _AXK),
    _op("Nanargmin", "numpy", "nanargmin", _AXK),
    _op("Nancumsum", "numpy", "nancumsum", "axis dtype"),
    _op("Nancumprod", "numpy", "nancumprod", "axis dtype"),
    _op("Bincount", "numpy", "bincount", "weights minlength sparse"),
    _op("Trapezoid", "numpy", "trapezoid", "x dx axis"),
    _op("Corrcoef", "numpy", "corrcoef"),
    # --- keras.src.ops.numpy: shapes and indexing ------------------------------
    _op("Reshape", "numpy", "reshape", "newshape"),
    _op("Transpose", "numpy", "transpose", "axes"),
    _op("ExpandDims", "numpy", "expand_dims", "axis"),
    _op("Squeeze", "numpy", "squeeze", "axis"),
    _op("Concatenate", "numpy", "concatenate", "axis"),
    _op("Stack", "numpy", "stack", "axis"),
    _op("BroadcastTo", "numpy", "broadcast_to", "shape"),
    _op("Tile", "numpy", "tile", "repeats"),
    _op("Repeat", "numpy", "repeat", "repeats axis"),
    _op("Flip", "numpy", "flip", "axis"),
    _op("Moveaxis", "numpy", "moveaxis", "source destination"),
    _op("Pad", "numpy", "pad", "pad_width mode"),
    _op("Take", "numpy", "take", "axis"),
    _op("GetItem", "numpy", "getitem"),
    _op("Matmul", "numpy", "matmul"),
    _op("Dot", "numpy", "dot"),
    _op("Einsum", "numpy", "einsum", "subscripts"),
    _op("Tensordot", "numpy", "tensordot", "axes"),
    _op("Inner", "numpy", "inner"),
    _op("Outer", "numpy", "outer"),
    _op("Vdot", "numpy", "vdot"),
    _op("Ravel", "numpy", "ravel"),
    _op("Swapaxes", "numpy", "swapaxes", "axis1 axis2"),
    _op("Roll", "numpy", "roll", "shift axis"),
    _op("Rot90", "numpy", "rot90", "k axes"),
    _op("Fliplr", "numpy", "fliplr"),
    _op("Flipud", "numpy", "flipud"),
    _op("Diag", "numpy", "diag", "k"),
    _op("Diagonal", "numpy", "diagonal", "offset axis1 axis2"),
    _op("Tril", "numpy", "tril", "k"),
    _op("Triu", "numpy", "triu", "k"),
    _op("Hstack", "numpy", "hstack"),
    _op("Vstack", "numpy", "vstack"),
    _op("Dstack", "numpy", "dstack"),
    _op("Split", "numpy", "split", "indices_or_sections axis"),
    _op("ArraySplit", "numpy", "array_split", "indices_or_sections axis"),
    _op("TakeAlongAxis", "numpy", "take_along_axis", "axis"),
    _op("Meshgrid", "numpy", "meshgrid", "indexing"),
    _op("Linspace", "numpy", "linspace",
        "num endpoint retstep dtype axis"),
    _op("Logspace", "numpy", "logspace", "num endpoint base dtype axis"),
    _op("Geomspace", "numpy", "geomspace", "num endpoint dtype axis"),
    _op("Append", "numpy", "append", "axis"),
    _op("Hsplit", "numpy", "hsplit", "indices_or_sections"),
    _op("Vsplit", "numpy", "vsplit", "indices_or_sections"),
    _op("Dsplit", "numpy", "dsplit", "indices_or_sections"),
    _op("Cross", "numpy", "cross", "axisa axisb axisc axis"),
    _op("Kron", "numpy", "kron"),
    _op("Vander", "numpy", "vander", "N increasing"),
    _op("SearchSorted", "numpy", "searchsorted", "side"),
    _op("Digitize", "numpy", "digitize"),
    _op("UnravelIndex", "numpy", "unravel_index", "shape"),
    _op("Slogdet", "numpy", "slogdet"),
    _op("ZerosLike", "numpy", "zeros_like", "dtype"),
    _op("OnesLike", "numpy", "ones_like", "dtype"),
    _op("FullLike", "numpy", "full_like", "dtype"),
    _op("Argpartition", "numpy", "argpartition", "kth axis"),
    _op("Correlate", "numpy", "correlate", "mode"),
    _op("Diagflat", "numpy", "diagflat", "k"),
    _op("Gcd", "numpy", "gcd"),
    _op("Lcm", "numpy", "lcm"),
    _op("Ldexp", "numpy", "ldexp"),
    _op("Nextafter", "numpy", "nextafter"),
    _op("Histogram", "numpy", "histogram", "bins range"),
    _op("I0", "numpy", "i0"),
    _op("Nanmedian", "numpy", "nanmedian", _AXK),
    _op("Nanpercentile", "numpy", "nanpercentile", "axis method keepdims"),
    _op("Nanquantile", "numpy", "nanquantile", "axis method keepdims"),
    _op("Nonzero", "numpy", "nonzero"),
    _op("Unique", "numpy", "unique",
        "sorted return_index return_inverse return_counts axis size "
        "fill_value"),
    _op("View", "numpy", "view", "dtype"),
    _op("BitwiseAnd", "numpy", "bitwise_and"),
    _op("BitwiseOr", "numpy", "bitwise_or"),
    _op("BitwiseXor", "numpy", "bitwise_xor"),
    _op("BitwiseInvert", "numpy", "bitwise_invert"),
    _op("BitwiseNot", "numpy", "bitwise_not"),
    _op("BitwiseLeftShift", "numpy", "bitwise_left_shift"),
    _op("LeftShift", "numpy", "left_shift"),
    _op("BitwiseRightShift", "numpy", "bitwise_right_shift"),
    _op("RightShift", "numpy", "right_shift"),
    # --- keras.src.ops.einops --------------------------------------------------
    _op("Rearrange", "einops", "rearrange"),
    # --- keras.src.ops.core ----------------------------------------------------
    _op("Cast", "core", "cast", "dtype"),
    _op("Slice", "core", "slice", "shape"),
    _op("StopGradient", "core", "stop_gradient"),
    _op("Unstack", "core", "unstack", "num axis"),
    _op("SaturateCast", "core", "saturate_cast", "dtype"),
    _op("Scatter", "core", "scatter", "shape"),
    _op("ScatterUpdate", "core", "scatter_update", "reduction"),
    _op("SliceUpdate", "core", "slice_update"),
    # Keras records it where a layer converts a mask (MultiHeadAttention)
    _op("ConvertToTensor", "core", "convert_to_tensor", "dtype",
        sparse=(None, False), ragged=(None, False)),
    # --- keras.src.ops.math ----------------------------------------------------
    _op("Erf", "math", "erf"),
    _op("Erfc", "math", "erfc"),
    _op("Erfinv", "math", "erfinv"),
    _op("Rsqrt", "math", "rsqrt"),
    _op("Logsumexp", "math", "logsumexp", _AXK),
    _op("TopK", "math", "top_k", "k sorted"),
    _op("InTopK", "math", "in_top_k", "k"),
    _op("Logdet", "math", "logdet"),
    _op("SegmentSum", "math", "segment_sum", "num_segments sorted"),
    _op("SegmentMax", "math", "segment_max", "num_segments sorted"),
    _op("SegmentMin", "math", "segment_min", "num_segments sorted"),
    _op("SegmentProd", "math", "segment_prod", "num_segments sorted"),
    _op("ExtractSequences", "math", "extract_sequences",
        "sequence_length sequence_stride"),
    _op("FFT", "math", "fft"),
    _op("FFT2", "math", "fft2"),
    _op("IFFT2", "math", "ifft2"),
    _op("RFFT", "math", "rfft", "fft_length"),
    _op("IRFFT", "math", "irfft", "fft_length"),
    _op("STFT", "math", "stft",
        "sequence_length sequence_stride fft_length window center"),
    _op("ISTFT", "math", "istft",
        "sequence_length sequence_stride fft_length length window center"),
    _op("ViewAsComplex", "math", "view_as_complex"),
    _op("ViewAsReal", "math", "view_as_real"),
    # --- keras.src.ops.linalg --------------------------------------------------
    _op("Eig", "linalg", "eig"),
    _op("Eigh", "linalg", "eigh"),
    _op("Lstsq", "linalg", "lstsq", "rcond"),
    _op("LuFactor", "linalg", "lu_factor"),
    _op("MatrixRank", "linalg", "matrix_rank", "tol"),
    _op("Pinv", "linalg", "pinv", "rcond"),
    _op("Qr", "linalg", "qr", "mode"),
    _op("SVD", "linalg", "svd", "full_matrices compute_uv"),
    _op("Norm", "linalg", "norm", "ord axis keepdims"),
    _op("Solve", "linalg", "solve"),
    _op("SolveTriangular", "linalg", "solve_triangular", "lower"),
    _op("Inv", "linalg", "inv"),
    _op("Det", "linalg", "det"),
    _op("Cholesky", "linalg", "cholesky", "upper"),
    _op("CholeskyInverse", "linalg", "cholesky_inverse", "upper"),
    # --- keras.src.ops.nn ------------------------------------------------------
    _op("Relu", "nn", "relu"),
    _op("Relu6", "nn", "relu6"),
    _op("Sigmoid", "nn", "sigmoid"),
    _op("Softplus", "nn", "softplus"),
    _op("Softsign", "nn", "softsign"),
    _op("Silu", "nn", "silu"),
    _op("HardSigmoid", "nn", "hard_sigmoid"),
    _op("HardSilu", "nn", "hard_silu"),
    _op("HardTanh", "nn", "hard_tanh"),
    _op("LogSigmoid", "nn", "log_sigmoid"),
    _op("Selu", "nn", "selu"),
    _op("SparsePlus", "nn", "sparse_plus"),
    _op("SparseSigmoid", "nn", "sparse_sigmoid"),
    _op("TanhShrink", "nn", "tanh_shrink"),
    _op("Elu", "nn", "elu", "alpha"),
    _op("Celu", "nn", "celu", "alpha"),
    _op("Gelu", "nn", "gelu", "approximate"),
    _op("Glu", "nn", "glu", "axis"),
    _op("LeakyRelu", "nn", "leaky_relu", "negative_slope"),
    _op("HardShrink", "nn", "hard_shrink", "threshold"),
    _op("SoftShrink", "nn", "soft_shrink", "threshold"),
    _op("Squareplus", "nn", "squareplus", "b"),
    _op("Threshold", "nn", "threshold", "threshold default_value"),
    _op("Softmax", "nn", "softmax", "axis"),
    _op("LogSoftmax", "nn", "log_softmax", "axis"),
    _op("Normalize", "nn", "normalize", "axis order epsilon"),
    _op("Moments", "nn", "moments", "axes keepdims", synchronized=(False,)),
    _op("OneHot", "nn", "one_hot", "num_classes axis dtype", sparse=(False,)),
    _op("BinaryCrossentropy", "nn", "binary_crossentropy", "from_logits"),
    _op("CategoricalCrossentropy", "nn", "categorical_crossentropy",
        "from_logits axis"),
    _op("SparseCategoricalCrossentropy", "nn",
        "sparse_categorical_crossentropy", "from_logits axis"),
    _op("Conv", "nn", "conv", "strides padding data_format dilation_rate"),
    _op("DepthwiseConv", "nn", "depthwise_conv",
        "strides padding data_format dilation_rate"),
    _op("SeparableConv", "nn", "separable_conv",
        "strides padding data_format dilation_rate"),
    _op("ConvTranspose", "nn", "conv_transpose",
        "strides padding output_padding data_format dilation_rate"),
    _op("Sparsemax", "nn", "sparsemax", "axis"),
    _op("PSNR", "nn", "psnr", "max_val"),
    _op("Unfold", "nn", "unfold", "kernel_size dilation padding stride"),
    _op("Fold", "nn", "fold",
        "output_size kernel_size dilation padding stride"),
    _op("Polar", "nn", "polar"),
    # frontend/ops/ctc.py (imported by graphkeras.ops, above the ops core)
    _op("CTCLoss", "nn", "ctc.ctc_loss", "mask_index"),
    _op("CTCDecode", "nn", "ctc.ctc_decode",
        "strategy beam_width top_paths merge_repeated mask_index"),
    _op("MultiHot", "nn", "multi_hot", "num_classes axis dtype sparse"),
    _op("BatchNorm", "nn", "batch_normalization", "axis epsilon"),
    _op("LayerNorm", "nn", "layer_normalization", "axis epsilon rms_scaling"),
    _op("RMSNorm", "nn", "rms_normalization", "axis epsilon"),
    _op("DotProductAttention", "nn", "dot_product_attention",
        "is_causal flash_attention attn_logits_soft_cap"),
    _op("DepthToSpace", "nn", "depth_to_space", "block_size data_format"),
    _op("SpaceToDepth", "nn", "space_to_depth", "block_size data_format"),
    _op("MaxPool", "nn", "max_pool", "pool_size strides padding data_format"),
    _op("AdaptiveAveragePool", "nn", "adaptive_average_pool",
        "output_size data_format"),
    _op("AdaptiveMaxPool", "nn", "adaptive_max_pool",
        "output_size data_format"),
    _op("AveragePool", "nn", "average_pool",
        "pool_size strides padding data_format"),
    # --- keras.src.ops.image ---------------------------------------------------
    _op("Resize", "image", "image.resize",
        "size interpolation antialias crop_to_aspect_ratio "
        "pad_to_aspect_ratio fill_mode fill_value data_format"),
    _op("ExtractPatches", "image", "image.extract_patches",
        "size strides dilation_rate padding data_format"),
    _op("PadImages", "image", "image.pad_images",
        "top_padding left_padding bottom_padding right_padding "
        "target_height target_width data_format"),
    _op("CropImages", "image", "image.crop_images",
        "top_cropping left_cropping bottom_cropping right_cropping "
        "target_height target_width data_format"),
    _op("RGBToGrayscale", "image", "image.rgb_to_grayscale", "data_format"),
    _op("RGBToHSV", "image", "image.rgb_to_hsv", "data_format"),
    _op("HSVToRGB", "image", "image.hsv_to_rgb", "data_format"),
    _op("AffineTransform", "image", "image.affine_transform",
        "interpolation fill_mode fill_value data_format"),
    _op("MapCoordinates", "image", "image.map_coordinates",
        "order fill_mode fill_value"),
    _op("PerspectiveTransform", "image", "image.perspective_transform",
        "interpolation fill_value data_format"),
    _op("GaussianBlur", "image", "image.gaussian_blur",
        "kernel_size sigma data_format"),
    _op("ElasticTransform", "image", "image.elastic_transform",
        "alpha sigma interpolation fill_mode fill_value seed data_format"),
    _op("ScaleAndTranslate", "image", "image.scale_and_translate",
        "spatial_dims method antialias"),
    _op("SobelEdges", "image", "image.sobel_edges", "data_format"),
    _op("SSIM", "image", "image.ssim",
        "max_val filter_size filter_sigma k1 k2 data_format"),
]

BY_CLASS = {op.class_name: op for op in OPS}

# The functions of Keras 3's public namespaces that are no Operation class
# of their own (creation functions, aliases): with OPS, what each
# graphkeras.ops.<namespace> holds (namespace_names).
NAMESPACE_EXTRAS = {
    "numpy": ("arange", "array", "bartlett", "blackman", "conjugate", "empty",
              "empty_like", "eye", "full", "get_item", "hamming", "hanning",
              "identity", "kaiser", "ndim", "ones", "size", "tri", "vectorize",
              "zeros"),
    "linalg": ("jvp",),
    "nn": ("hard_swish", "swish"),
    "image": ("extract_patches_3d",),
}


def namespace_names(family: str) -> tuple:
    """The graphkeras.ops names Keras 3 exports as keras.ops.<family>."""
    names = {op.function.rsplit(".", 1)[-1] for op in OPS
             if op.family == family}
    return tuple(sorted(names | set(NAMESPACE_EXTRAS.get(family, ()))))


def _ops_module():
    from .. import ops  # frontend/ops: the functions graphkeras.ops exports

    return ops


def function_of(op: KerasOp):
    """The graphkeras.ops function of `op` (None if graphkeras lacks it)."""
    obj = _ops_module()
    for part in op.function.split("."):  # "image.resize": ops.image.resize
        obj = getattr(obj, part, None)
    return obj


def _raw(fn):
    return getattr(fn, "raw", fn)


_BY_FUNCTION: dict = {}


def op_of_function(fn) -> KerasOp | None:
    """The table line graphkeras writes for the function `fn` (its first
    line: `ops.abs` and `ops.absolute` are one function, saved as Abs)."""
    if not _BY_FUNCTION:
        for op in OPS:
            f = function_of(op)
            if f is not None:
                _BY_FUNCTION.setdefault(id(_raw(f)), op)
    return _BY_FUNCTION.get(id(_raw(fn)))


def node_name(fn) -> str:
    """The base name of an op node applying `fn`, Keras's for its class
    (GetItem -> "get_item", the snake case of the class name)."""
    op = op_of_function(fn)
    if op is None:
        return getattr(_raw(fn), "__name__", "op")
    name = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", op.class_name)
    return re.sub(r"([a-z])([A-Z])", r"\1_\2", name).lower()


def supported() -> list:
    """The Keras op classes graphkeras loads, sorted."""
    return sorted(op.class_name for op in OPS if function_of(op) is not None)


def is_op_entry(entry: dict) -> bool:
    """Whether a functional config's layer entry is a Keras op node."""
    module = str(entry.get("module") or "")
    return module.startswith((_PREFIX, "keras.ops"))


# --- loading ---------------------------------------------------------------------


def _where(entry: dict, model_name) -> str:
    module = entry.get("module") or _PREFIX + "?"
    return (f"the Keras op {module}.{entry.get('class_name')} "
            f'(node "{entry.get("name")}") in model "{model_name}"')


def resolve(entry: dict, model_name=None):
    """(function, constructor kwargs in graphkeras's names) of an op node
    entry; a clear error for ops graphkeras does not have."""
    class_name = entry.get("class_name")
    op = BY_CLASS.get(class_name)
    fn = function_of(op) if op is not None else None
    if fn is None:
        module = entry.get("module") or _PREFIX + "?"
        raise ValueError(
            f"graphkeras cannot load the Keras op {module}.{class_name} "
            f'(node "{entry.get("name")}") in model "{model_name}": '
            f"supported ops are {', '.join(supported())}."
        )
    config = dict(entry.get("config") or {})
    config.pop("name", None)
    params = inspect.signature(_raw(fn)).parameters
    init = {}
    for key, value in config.items():
        if key in op.init and key in params:
            init[key] = _dtype_name(value) if key == "dtype" else value
        elif key in op.inert and value in op.inert[key]:
            continue
        else:
            known = ", ".join(op.init) or "none"
            raise ValueError(
                f"graphkeras cannot load {_where(entry, model_name)}: it was "
                f"saved with {key}={value!r}, which graphkeras's ops."
                f"{op.function} does not support (constructor arguments "
                f"graphkeras reads: {known})."
            )
    return fn, init


def _dtype_name(value):
    if isinstance(value, dict):  # a DTypePolicy config
        return (value.get("config") or {}).get("name", value)
    return value


def call_arguments(op: KerasOp, fn, args: list, kwargs: dict, init: dict,
                   where: str) -> tuple:
    """The graphkeras call (args, kwargs) of a saved node, checked against
    the function's signature."""
    args = list(args)
    if op.class_name == "GetItem" and len(args) > 1 and isinstance(
            args[1], list):
        args[1] = tuple(args[1])  # Keras writes the index tuple as a list
    if op.class_name == "Einsum":  # Einsum(subscripts)(*operands)
        return [init.pop("subscripts"), *args], {**kwargs, **init}
    merged = {**kwargs, **init}
    params = inspect.signature(_raw(fn)).parameters
    names = list(params)
    if not any(p.kind == p.VAR_POSITIONAL for p in params.values()):
        # a constructor argument placed before a call argument in the
        # function (ops.pad(x, pad_width, mode, constant_values), Keras's
        # Pad(pad_width, mode)(x, constant_values)): the call's positional
        # arguments from there on go by name, in the call's order
        calls = [n for n in names if n not in op.init]
        for i in range(1, len(args)):
            if i < len(names) and names[i] in op.init:
                merged.update(zip(calls[i:], args[i:]))
                args = args[:i]
                break
    try:
        inspect.signature(_raw(fn)).bind(*args, **merged)
    except TypeError as e:
        raise ValueError(
            f"graphkeras cannot load {where}: its saved call does not fit "
            f"ops.{op.function}{inspect.signature(_raw(fn))} ({e}). "
            f"Received: args={args!r}, kwargs={merged!r}."
        ) from None
    return args, merged


# --- saving ----------------------------------------------------------------------


def keras_call(layer, template: tuple) -> tuple:
    """(KerasOp, constructor config, call args, call kwargs) of an OpLayer
    call whose graphkeras arguments are `template`."""
    fn = layer.fn
    op = op_of_function(fn)
    name = getattr(_raw(fn), "__name__", repr(fn))
    if op is None:
        raise ValueError(
            f'Cannot save the op node "{layer.name}" (graphkeras.ops '
            f"function {name}) in Keras 3's format: Keras has no op class "
            "for it. Wrap the computation in a Layer subclass registered "
            "with @graphkeras.saving.register_keras_serializable()."
        )
    args, kwargs = template
    raw = _raw(fn)
    sig = inspect.signature(raw)
    if op.class_name == "Einsum":
        subscripts, *operands = args
        return op, {"subscripts": subscripts}, list(operands), dict(kwargs)
    bound = sig.bind(*args, **kwargs)
    bound.apply_defaults()
    config, call_args = {}, []
    for pname, p in sig.parameters.items():
        value = bound.arguments[pname]
        if pname in op.local:
            if value is not p.default:
                raise ValueError(
                    f'Cannot save the op node "{layer.name}" in Keras 3\'s '
                    f"format: Keras's {op.class_name} has no argument "
                    f"{pname} (received {pname}={value!r}; only the default "
                    f"{p.default!r} can be saved)."
                )
            continue
        if pname in op.init:
            config[pname] = value
        elif p.kind == p.VAR_POSITIONAL:
            call_args.extend(value)
        elif p.kind != p.VAR_KEYWORD:
            call_args.append(value)
    # Keras writes every constructor argument: those graphkeras lacks at
    # the Keras default value graphkeras implements
    config.update({k: ok[0] for k, ok in op.inert.items()})
    return op, config, call_args, {}
