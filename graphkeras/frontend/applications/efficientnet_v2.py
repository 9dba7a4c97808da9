"""EfficientNetV2 B0-B3 / S / M / L, as keras.applications.efficientnet_v2.
Reference: Tan and Le, EfficientNetV2: Smaller Models and Faster Training
(ICML 2021).

The models take [0, 255] images and rescale them themselves
(`include_preprocessing=True`).
"""

from __future__ import annotations

import copy
import math

from ... import initializers, layers
from . import _common, imagenet_utils
from .efficientnet import CONV_KERNEL_INITIALIZER, DENSE_KERNEL_INITIALIZER

BASE_WEIGHTS_PATH = (
    "https://storage.googleapis.com/tensorflow/keras-applications/"
    "efficientnet_v2/"
)
# (with top, without top) md5 of Keras's files, by the name's last 2 chars
WEIGHTS_HASHES = {
    "b0": ("21ecbf6da12460d5c40bb2f29ceb2188",
           "893217f2bb855e2983157299931e43ff"),
    "b1": ("069f0534ff22adf035c89e2d9547a9dc",
           "0e80663031ca32d657f9caa404b6ec37"),
    "b2": ("424e49f28180edbde1e94797771950a7",
           "1dfe2e7a5d45b6632553a8961ea609eb"),
    "b3": ("1f1fc43bd98a6e4fd8fdfd551e02c7a0",
           "f6abf7b5849ac99a89b50dd3fd532856"),
    "-s": ("e1d88a8495beba45748fedd0cecbe016",
           "af0682fb74e8c54910f2d4393339c070"),
    "-m": ("a3bf6aa3276309f4fc6a34aa114c95cd",
           "1b8dc055df72dde80d614482840fe342"),
    "-l": ("27e6d408b53c7ebc868fefa357689935",
           "b0b66b5c863aef5b46e8608fe1711615"),
}

_KEYS = ("kernel_size", "num_repeat", "input_filters", "output_filters",
         "expand_ratio", "se_ratio", "strides", "conv_type")


def _stages(*rows):
    """Block arguments from rows of (kernel, repeats, in, out, expansion,
    se ratio, stride, conv type); conv type 1 is the fused block."""
    return [dict(zip(_KEYS, row)) for row in rows]


_B = _stages((3, 1, 32, 16, 1, 0, 1, 1), (3, 2, 16, 32, 4, 0, 2, 1),
             (3, 2, 32, 48, 4, 0, 2, 1), (3, 3, 48, 96, 4, 0.25, 2, 0),
             (3, 5, 96, 112, 6, 0.25, 1, 0), (3, 8, 112, 192, 6, 0.25, 2, 0))
DEFAULT_BLOCKS_ARGS = {
    "efficientnetv2-s": _stages(
        (3, 2, 24, 24, 1, 0, 1, 1), (3, 4, 24, 48, 4, 0, 2, 1),
        (3, 4, 48, 64, 4, 0, 2, 1), (3, 6, 64, 128, 4, 0.25, 2, 0),
        (3, 9, 128, 160, 6, 0.25, 1, 0), (3, 15, 160, 256, 6, 0.25, 2, 0)),
    "efficientnetv2-m": _stages(
        (3, 3, 24, 24, 1, 0, 1, 1), (3, 5, 24, 48, 4, 0, 2, 1),
        (3, 5, 48, 80, 4, 0, 2, 1), (3, 7, 80, 160, 4, 0.25, 2, 0),
        (3, 14, 160, 176, 6, 0.25, 1, 0), (3, 18, 176, 304, 6, 0.25, 2, 0),
        (3, 5, 304, 512, 6, 0.25, 1, 0)),
    "efficientnetv2-l": _stages(
        (3, 4, 32, 32, 1, 0, 1, 1), (3, 7, 32, 64, 4, 0, 2, 1),
        (3, 7, 64, 96, 4, 0, 2, 1), (3, 10, 96, 192, 4, 0.25, 2, 0),
        (3, 19, 192, 224, 6, 0.25, 1, 0), (3, 25, 224, 384, 6, 0.25, 2, 0),
        (3, 7, 384, 640, 6, 0.25, 1, 0)),
    "efficientnetv2-b0": _B,
    "efficientnetv2-b1": _B,
    "efficientnetv2-b2": _B,
    "efficientnetv2-b3": _B,
}


def round_filters(filters, width_coefficient, min_depth, depth_divisor):
    """`filters` scaled by the width, rounded to a multiple of the divisor."""
    filters *= width_coefficient
    minimum = min_depth or depth_divisor
    return int(max(minimum, int(filters + depth_divisor / 2)
                   // depth_divisor * depth_divisor))


def round_repeats(repeats, depth_coefficient):
    return int(math.ceil(depth_coefficient * repeats))


def _squeeze_excite(x, filters, input_filters, se_ratio, activation, name):
    axis = imagenet_utils.bn_axis()
    filters_se = max(1, int(input_filters * se_ratio))
    se = layers.GlobalAveragePooling2D(name=name + "se_squeeze")(x)
    se_shape = (filters, 1, 1) if axis == 1 else (1, 1, filters)
    se = layers.Reshape(se_shape, name=name + "se_reshape")(se)
    se = layers.Conv2D(filters_se, 1, padding="same", activation=activation,
                       kernel_initializer=CONV_KERNEL_INITIALIZER,
                       name=name + "se_reduce")(se)
    se = layers.Conv2D(filters, 1, padding="same", activation="sigmoid",
                       kernel_initializer=CONV_KERNEL_INITIALIZER,
                       name=name + "se_expand")(se)
    return layers.multiply([x, se], name=name + "se_excite")


def _residual(x, inputs, strides, input_filters, output_filters,
              survival_probability, name):
    if strides == 1 and input_filters == output_filters:
        if survival_probability:
            x = layers.Dropout(survival_probability, noise_shape=(None, 1, 1,
                                                                  1),
                               name=name + "drop")(x)
        x = layers.add([x, inputs], name=name + "add")
    return x


def MBConvBlock(input_filters, output_filters, expand_ratio=1, kernel_size=3,
                strides=1, se_ratio=0.0, bn_momentum=0.9,
                activation="swish", survival_probability=0.8, name=None):
    """Mobile inverted bottleneck: 1x1 expand, depthwise, SE, 1x1 project.
    (`survival_probability` is, as in Keras, the drop rate.)"""
    axis = imagenet_utils.bn_axis()

    def apply(inputs):
        filters = input_filters * expand_ratio
        if expand_ratio != 1:
            x = layers.Conv2D(filters, kernel_size=1, strides=1,
                              kernel_initializer=CONV_KERNEL_INITIALIZER,
                              padding="same", use_bias=False,
                              name=name + "expand_conv")(inputs)
            x = layers.BatchNormalization(axis=axis, momentum=bn_momentum,
                                          name=name + "expand_bn")(x)
            x = layers.Activation(activation,
                                  name=name + "expand_activation")(x)
        else:
            x = inputs
        x = layers.DepthwiseConv2D(
            kernel_size=kernel_size, strides=strides,
            depthwise_initializer=CONV_KERNEL_INITIALIZER, padding="same",
            use_bias=False, name=name + "dwconv2")(x)
        x = layers.BatchNormalization(axis=axis, momentum=bn_momentum,
                                      name=name + "bn")(x)
        x = layers.Activation(activation, name=name + "activation")(x)
        if 0 < se_ratio <= 1:
            x = _squeeze_excite(x, filters, input_filters, se_ratio,
                                activation, name)
        x = layers.Conv2D(output_filters, kernel_size=1, strides=1,
                          kernel_initializer=CONV_KERNEL_INITIALIZER,
                          padding="same", use_bias=False,
                          name=name + "project_conv")(x)
        x = layers.BatchNormalization(axis=axis, momentum=bn_momentum,
                                      name=name + "project_bn")(x)
        return _residual(x, inputs, strides, input_filters, output_filters,
                         survival_probability, name)

    return apply


def FusedMBConvBlock(input_filters, output_filters, expand_ratio=1,
                     kernel_size=3, strides=1, se_ratio=0.0, bn_momentum=0.9,
                     activation="swish", survival_probability=0.8,
                     name=None):
    """Fused block: one kxk expand convolution replaces 1x1 + depthwise."""
    axis = imagenet_utils.bn_axis()

    def apply(inputs):
        filters = input_filters * expand_ratio
        if expand_ratio != 1:
            x = layers.Conv2D(filters, kernel_size=kernel_size,
                              strides=strides,
                              kernel_initializer=CONV_KERNEL_INITIALIZER,
                              padding="same", use_bias=False,
                              name=name + "expand_conv")(inputs)
            x = layers.BatchNormalization(axis=axis, momentum=bn_momentum,
                                          name=name + "expand_bn")(x)
            x = layers.Activation(activation,
                                  name=name + "expand_activation")(x)
        else:
            x = inputs
        if 0 < se_ratio <= 1:
            x = _squeeze_excite(x, filters, input_filters, se_ratio,
                                activation, name)
        x = layers.Conv2D(
            output_filters, kernel_size=1 if expand_ratio != 1 else
            kernel_size, strides=1 if expand_ratio != 1 else strides,
            kernel_initializer=CONV_KERNEL_INITIALIZER, padding="same",
            use_bias=False, name=name + "project_conv")(x)
        x = layers.BatchNormalization(axis=axis, momentum=bn_momentum,
                                      name=name + "project_bn")(x)
        if expand_ratio == 1:
            x = layers.Activation(activation,
                                  name=name + "project_activation")(x)
        return _residual(x, inputs, strides, input_filters, output_filters,
                         survival_probability, name)

    return apply


def EfficientNetV2(width_coefficient, depth_coefficient, default_size,
                   dropout_rate=0.2, drop_connect_rate=0.2, depth_divisor=8,
                   min_depth=8, bn_momentum=0.9, activation="swish",
                   blocks_args="default", name="efficientnetv2",
                   include_top=True, weights="imagenet", input_tensor=None,
                   input_shape=None, pooling=None, classes=1000,
                   classifier_activation="softmax",
                   include_preprocessing=True, weights_name=None):
    """The EfficientNetV2 body scaled by width and depth coefficients."""
    if blocks_args == "default":
        blocks_args = DEFAULT_BLOCKS_ARGS[weights_name or name]
    img_input, shape = _common.prepare(weights, include_top, classes,
                                       input_tensor, input_shape,
                                       default_size, 32)
    axis = imagenet_utils.bn_axis()
    x = img_input
    if include_preprocessing:
        channels = shape[axis - 1]
        if (weights_name or name).split("-")[-1].startswith("b") and \
                channels == 3:
            x = layers.Rescaling(scale=1.0 / 255)(x)
            x = layers.Normalization(
                mean=[0.485, 0.456, 0.406],
                variance=[0.229**2, 0.224**2, 0.225**2], axis=axis)(x)
        else:
            x = layers.Rescaling(scale=1.0 / 128.0, offset=-1)(x)

    def filters(n):
        return round_filters(n, width_coefficient, min_depth, depth_divisor)

    x = layers.Conv2D(filters(blocks_args[0]["input_filters"]),
                      kernel_size=3, strides=2,
                      kernel_initializer=CONV_KERNEL_INITIALIZER,
                      padding="same", use_bias=False, name="stem_conv")(x)
    x = layers.BatchNormalization(axis=axis, momentum=bn_momentum,
                                  name="stem_bn")(x)
    x = layers.Activation(activation, name="stem_activation")(x)

    blocks_args = copy.deepcopy(blocks_args)
    b = 0
    total = float(sum(a["num_repeat"] for a in blocks_args))
    for i, args in enumerate(blocks_args):
        args["input_filters"] = filters(args["input_filters"])
        args["output_filters"] = filters(args["output_filters"])
        block = (MBConvBlock, FusedMBConvBlock)[args.pop("conv_type")]
        for j in range(round_repeats(args.pop("num_repeat"),
                                     depth_coefficient)):
            if j > 0:
                args["strides"] = 1
                args["input_filters"] = args["output_filters"]
            x = block(activation=activation, bn_momentum=bn_momentum,
                      survival_probability=drop_connect_rate * b / total,
                      name=f"block{i + 1}{chr(j + 97)}_", **args)(x)
            b += 1

    x = layers.Conv2D(filters(1280), kernel_size=1, strides=1,
                      kernel_initializer=CONV_KERNEL_INITIALIZER,
                      padding="same", use_bias=False, name="top_conv")(x)
    x = layers.BatchNormalization(axis=axis, momentum=bn_momentum,
                                  name="top_bn")(x)
    x = layers.Activation(activation, name="top_activation")(x)
    if include_top:
        x = layers.GlobalAveragePooling2D(name="avg_pool")(x)
        if dropout_rate > 0:
            x = layers.Dropout(dropout_rate, name="top_dropout")(x)
        imagenet_utils.validate_activation(classifier_activation, weights)
        x = layers.Dense(classes, activation=classifier_activation,
                         kernel_initializer=DENSE_KERNEL_INITIALIZER,
                         bias_initializer=initializers.Constant(0.0),
                         name="predictions")(x)
    else:
        x = _common.global_pool(x, pooling, "avg_pool", "max_pool")
    model = _common.make_model(input_tensor, img_input, x, name)
    if weights == "imagenet":
        key = weights_name or name
        file_name = key + (".h5" if include_top else "_notop.h5")
        return imagenet_utils.load_model_weights(
            model, weights, file_name, BASE_WEIGHTS_PATH,
            WEIGHTS_HASHES[key[-2:]][0 if include_top else 1])
    return imagenet_utils.load_model_weights(model, weights)


def _variant(suffix, width, depth, size):
    key = f"efficientnetv2-{suffix}"

    def constructor(include_top=True, weights="imagenet", input_tensor=None,
                    input_shape=None, pooling=None, classes=1000,
                    classifier_activation="softmax",
                    include_preprocessing=True, name=key):
        return EfficientNetV2(
            width_coefficient=width, depth_coefficient=depth,
            default_size=size, name=name, include_top=include_top,
            weights=weights, input_tensor=input_tensor,
            input_shape=input_shape, pooling=pooling, classes=classes,
            classifier_activation=classifier_activation,
            include_preprocessing=include_preprocessing, weights_name=key)

    constructor.__name__ = constructor.__qualname__ = \
        f"EfficientNetV2{suffix.upper()}"
    _common.document(
        constructor,
        f"Instantiates the {constructor.__name__} architecture "
        "(Tan and Le, 2021).",
        args={"input_shape": _common.ARGS_SIZED_SHAPE})
    return constructor


EfficientNetV2B0 = _variant("b0", 1.0, 1.0, 224)
EfficientNetV2B1 = _variant("b1", 1.0, 1.1, 240)
EfficientNetV2B2 = _variant("b2", 1.1, 1.2, 260)
EfficientNetV2B3 = _variant("b3", 1.2, 1.4, 300)
EfficientNetV2S = _variant("s", 1.0, 1.0, 384)
EfficientNetV2M = _variant("m", 1.0, 1.0, 480)
EfficientNetV2L = _variant("l", 1.0, 1.0, 480)


def preprocess_input(x, data_format=None):
    """The identity: EfficientNetV2 models rescale their [0, 255] input
    themselves (`include_preprocessing=True`)."""
    return x


decode_predictions = imagenet_utils.decode_predictions
