"""MobileNet (v1), as keras.applications.mobilenet.
Reference: Howard et al., MobileNets: Efficient Convolutional Neural
Networks for Mobile Vision Applications (2017).
"""

from __future__ import annotations

import warnings

from ... import config, layers
from . import _common, imagenet_utils

BASE_WEIGHT_PATH = (
    "https://storage.googleapis.com/tensorflow/keras-applications/mobilenet/"
)
_SIZES = (128, 160, 192, 224)


def _spatial(input_shape):
    if config.image_data_format() == "channels_first":
        return input_shape[1], input_shape[2]
    return input_shape[0], input_shape[1]


def MobileNet(input_shape=None, alpha=1.0, depth_multiplier=1,
              dropout=1e-3, include_top=True, weights="imagenet",
              input_tensor=None, pooling=None, classes=1000,
              classifier_activation="softmax", name=None):
    default_size = 224
    if input_shape is not None:
        rows, cols = _spatial(input_shape)
        if rows == cols and rows in _SIZES:
            default_size = rows
    img_input, shape = _common.prepare(weights, include_top, classes,
                                       input_tensor, input_shape,
                                       default_size, 32)
    rows, cols = _spatial(shape)
    if weights == "imagenet":
        if depth_multiplier != 1:
            raise ValueError(
                "If imagenet weights are being loaded, depth multiplier must "
                f"be 1.  Received depth_multiplier={depth_multiplier}"
            )
        if alpha not in (0.25, 0.50, 0.75, 1.0):
            raise ValueError(
                "If imagenet weights are being loaded, alpha can be one of "
                "`0.25`, `0.50`, `0.75` or `1.0` only.  "
                f"Received alpha={alpha}"
            )
        if rows != cols or rows not in _SIZES:
            rows = 224
            warnings.warn(
                "`input_shape` is undefined or non-square, or `rows` is not "
                "in [128, 160, 192, 224]. Weights for input shape (224, 224) "
                "will be loaded as the default.",
                stacklevel=2,
            )
    x = _conv_block(img_input, 32, alpha, strides=(2, 2))
    plan = [(64, 1), (128, 2), (128, 1), (256, 2), (256, 1), (512, 2)] + \
        [(512, 1)] * 5 + [(1024, 2), (1024, 1)]
    for block_id, (filters, stride) in enumerate(plan, start=1):
        x = _depthwise_conv_block(x, filters, alpha, depth_multiplier,
                                  strides=(stride, stride), block_id=block_id)
    if include_top:
        x = layers.GlobalAveragePooling2D(keepdims=True)(x)
        x = layers.Dropout(dropout, name="dropout")(x)
        x = layers.Conv2D(classes, (1, 1), padding="same",
                          name="conv_preds")(x)
        x = layers.Reshape((classes,), name="reshape_2")(x)
        imagenet_utils.validate_activation(classifier_activation, weights)
        x = layers.Activation(activation=classifier_activation,
                              name="predictions")(x)
    else:
        x = _common.global_pool(x, pooling)
    if name is None:
        name = f"mobilenet_{alpha:0.2f}_{rows}"
    model = _common.make_model(input_tensor, img_input, x, name)
    if weights == "imagenet":
        alpha_text = {1.0: "1_0", 0.75: "7_5", 0.5: "5_0"}.get(alpha, "2_5")
        suffix = "" if include_top else "_no_top"
        file_name = f"mobilenet_{alpha_text}_{rows}_tf{suffix}.h5"
        return imagenet_utils.load_model_weights(model, weights, file_name,
                                                 BASE_WEIGHT_PATH)
    return imagenet_utils.load_model_weights(model, weights)


def _conv_block(inputs, filters, alpha, kernel=(3, 3), strides=(1, 1)):
    axis = 1 if config.image_data_format() == "channels_first" else -1
    x = layers.Conv2D(int(filters * alpha), kernel, padding="same",
                      use_bias=False, strides=strides, name="conv1")(inputs)
    x = layers.BatchNormalization(axis=axis, name="conv1_bn")(x)
    return layers.ReLU(6.0, name="conv1_relu")(x)


def _depthwise_conv_block(inputs, pointwise_conv_filters, alpha,
                          depth_multiplier=1, strides=(1, 1), block_id=1):
    axis = 1 if config.image_data_format() == "channels_first" else -1
    x = inputs
    if strides != (1, 1):
        x = layers.ZeroPadding2D(((0, 1), (0, 1)),
                                 name=f"conv_pad_{block_id}")(x)
    x = layers.DepthwiseConv2D(
        (3, 3), padding="same" if strides == (1, 1) else "valid",
        depth_multiplier=depth_multiplier, strides=strides, use_bias=False,
        name=f"conv_dw_{block_id}")(x)
    x = layers.BatchNormalization(axis=axis, name=f"conv_dw_{block_id}_bn")(x)
    x = layers.ReLU(6.0, name=f"conv_dw_{block_id}_relu")(x)
    x = layers.Conv2D(int(pointwise_conv_filters * alpha), (1, 1),
                      padding="same", use_bias=False, strides=(1, 1),
                      name=f"conv_pw_{block_id}")(x)
    x = layers.BatchNormalization(axis=axis, name=f"conv_pw_{block_id}_bn")(x)
    return layers.ReLU(6.0, name=f"conv_pw_{block_id}_relu")(x)


preprocess_input = imagenet_utils.preprocess_input_tf
decode_predictions = imagenet_utils.decode_predictions


_common.document(
    MobileNet,
    "Instantiates the MobileNet architecture (Howard et al., 2017).",
    args={"alpha": "the width multiplier: < 1.0 thins every layer, > 1.0 "
                   "widens it (ImageNet weights exist for 0.25, 0.50, 0.75 "
                   "and 1.0).",
          "depth_multiplier": "the depthwise convolutions' channel "
                              "multiplier.",
          "dropout": "the dropout rate before the classifier.",
          "include_top": "whether to include the classifier (a 1x1 "
                         'convolution "conv_preds").',
          "name": "the model's name (default "
                  "`mobilenet_{{alpha:0.2f}}_{{rows}}`)."},
    example="weights=None, alpha=0.25, classes=10, input_shape=(32, 32, 3)")
