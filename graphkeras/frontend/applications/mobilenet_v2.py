"""MobileNetV2, as keras.applications.mobilenet_v2.
Reference: Sandler et al., MobileNetV2: Inverted Residuals and Linear
Bottlenecks (CVPR 2018).
"""

from __future__ import annotations

import warnings

from ... import config, layers
from . import _common, imagenet_utils
from .mobilenet import _spatial

BASE_WEIGHT_PATH = (
    "https://storage.googleapis.com/tensorflow/keras-applications/"
    "mobilenet_v2/"
)
_SIZES = (96, 128, 160, 192, 224)
_ALPHAS = (0.35, 0.50, 0.75, 1.0, 1.3, 1.4)


def _make_divisible(v, divisor, min_value=None):
    """`v` rounded to a multiple of `divisor`, never more than 10% down."""
    if min_value is None:
        min_value = divisor
    new_v = max(min_value, int(v + divisor / 2) // divisor * divisor)
    if new_v < 0.9 * v:
        new_v += divisor
    return new_v


def MobileNetV2(input_shape=None, alpha=1.0, include_top=True,
                weights="imagenet", input_tensor=None, pooling=None,
                classes=1000, classifier_activation="softmax", name=None):
    default_size = 224
    if input_shape is None and input_tensor is not None and \
            input_tensor.shape is not None:
        input_shape = tuple(input_tensor.shape[1:])
    if input_shape is not None:
        rows, cols = _spatial(input_shape)
        if rows == cols and rows in _SIZES:
            default_size = rows
    img_input, shape = _common.prepare(weights, include_top, classes,
                                       input_tensor, input_shape,
                                       default_size, 32)
    rows, cols = _spatial(shape)
    if weights == "imagenet":
        if alpha not in _ALPHAS:
            raise ValueError(
                "If imagenet weights are being loaded, alpha must be one of "
                "`0.35`, `0.50`, `0.75`, `1.0`, `1.3` or `1.4` only. "
                f"Received `alpha={alpha}`"
            )
        if rows != cols or rows not in _SIZES:
            rows = 224
            warnings.warn(
                "`input_shape` is undefined or non-square, or `rows` is not "
                "in [96, 128, 160, 192, 224]. Weights for input shape "
                "(224, 224) will be loaded as the default.",
                stacklevel=2,
            )
    axis = 1 if config.image_data_format() == "channels_first" else -1
    first = _make_divisible(32 * alpha, 8)
    x = layers.Conv2D(first, kernel_size=3, strides=(2, 2), padding="same",
                      use_bias=False, name="Conv1")(img_input)
    x = layers.BatchNormalization(axis=axis, epsilon=1e-3, momentum=0.999,
                                  name="bn_Conv1")(x)
    x = layers.ReLU(6.0, name="Conv1_relu")(x)
    # (filters, stride, expansion) of blocks 0..16
    plan = [(16, 1, 1), (24, 2, 6), (24, 1, 6), (32, 2, 6), (32, 1, 6),
            (32, 1, 6), (64, 2, 6), (64, 1, 6), (64, 1, 6), (64, 1, 6),
            (96, 1, 6), (96, 1, 6), (96, 1, 6), (160, 2, 6), (160, 1, 6),
            (160, 1, 6), (320, 1, 6)]
    for block_id, (filters, stride, expansion) in enumerate(plan):
        x = _inverted_res_block(x, filters=filters, alpha=alpha,
                                stride=stride, expansion=expansion,
                                block_id=block_id)
    last = _make_divisible(1280 * alpha, 8) if alpha > 1.0 else 1280
    x = layers.Conv2D(last, kernel_size=1, use_bias=False, name="Conv_1")(x)
    x = layers.BatchNormalization(axis=axis, epsilon=1e-3, momentum=0.999,
                                  name="Conv_1_bn")(x)
    x = layers.ReLU(6.0, name="out_relu")(x)
    x = _common.top(x, include_top, pooling, classes, classifier_activation,
                    weights, avg_name=None)
    if name is None:
        name = f"mobilenetv2_{alpha:0.2f}_{rows}"
    model = _common.make_model(input_tensor, img_input, x, name)
    if weights == "imagenet":
        suffix = "" if include_top else "_no_top"
        file_name = (f"mobilenet_v2_weights_tf_dim_ordering_tf_kernels_"
                     f"{float(alpha)}_{rows}{suffix}.h5")
        return imagenet_utils.load_model_weights(model, weights, file_name,
                                                 BASE_WEIGHT_PATH)
    return imagenet_utils.load_model_weights(model, weights)


def _inverted_res_block(inputs, expansion, stride, alpha, filters, block_id):
    axis = 1 if config.image_data_format() == "channels_first" else -1
    in_channels = inputs.shape[axis]
    pointwise_filters = _make_divisible(int(filters * alpha), 8)
    x = inputs
    prefix = f"block_{block_id}_"
    if block_id:
        x = layers.Conv2D(expansion * in_channels, kernel_size=1,
                          padding="same", use_bias=False, activation=None,
                          name=prefix + "expand")(x)
        x = layers.BatchNormalization(axis=axis, epsilon=1e-3,
                                      momentum=0.999,
                                      name=prefix + "expand_BN")(x)
        x = layers.ReLU(6.0, name=prefix + "expand_relu")(x)
    else:
        prefix = "expanded_conv_"
    if stride == 2:
        x = layers.ZeroPadding2D(padding=imagenet_utils.correct_pad(x, 3),
                                 name=prefix + "pad")(x)
    x = layers.DepthwiseConv2D(kernel_size=3, strides=stride, activation=None,
                               use_bias=False,
                               padding="same" if stride == 1 else "valid",
                               name=prefix + "depthwise")(x)
    x = layers.BatchNormalization(axis=axis, epsilon=1e-3, momentum=0.999,
                                  name=prefix + "depthwise_BN")(x)
    x = layers.ReLU(6.0, name=prefix + "depthwise_relu")(x)
    x = layers.Conv2D(pointwise_filters, kernel_size=1, padding="same",
                      use_bias=False, activation=None,
                      name=prefix + "project")(x)
    x = layers.BatchNormalization(axis=axis, epsilon=1e-3, momentum=0.999,
                                  name=prefix + "project_BN")(x)
    if in_channels == pointwise_filters and stride == 1:
        return layers.Add(name=prefix + "add")([inputs, x])
    return x


preprocess_input = imagenet_utils.preprocess_input_tf
decode_predictions = imagenet_utils.decode_predictions


_common.document(
    MobileNetV2,
    "Instantiates the MobileNetV2 architecture (Sandler et al., 2018).",
    args={"alpha": "the width multiplier (ImageNet weights exist for 0.35, "
                   "0.50, 0.75, 1.0, 1.3 and 1.4).",
          "name": "the model's name (default "
                  "`mobilenetv2_{{alpha:0.2f}}_{{rows}}`)."},
    example="weights=None, alpha=0.35, classes=10, input_shape=(32, 32, 3)")
