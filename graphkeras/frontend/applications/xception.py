"""Xception, as keras.applications.xception.
Reference: Chollet, Xception: Deep Learning with Depthwise Separable
Convolutions (CVPR 2017).
"""

from __future__ import annotations

from ... import config, layers
from . import _common, imagenet_utils

_BASE = "https://storage.googleapis.com/tensorflow/keras-applications/xception/"


def _axis():
    return 1 if config.image_data_format() == "channels_first" else -1


def _sep_bn(x, filters, name, act_name=None):
    """[relu] -> separable 3x3 -> batch norm, Keras's names."""
    axis = _axis()
    if act_name:
        x = layers.Activation("relu", name=act_name)(x)
    x = layers.SeparableConv2D(filters, (3, 3), padding="same",
                               use_bias=False, name=name)(x)
    return layers.BatchNormalization(axis=axis, name=name + "_bn")(x)


def _projection(x, filters):
    # NOTE: unnamed in Keras (conv2d, batch_normalization, ...)
    axis = _axis()
    r = layers.Conv2D(filters, (1, 1), strides=(2, 2), padding="same",
                      use_bias=False)(x)
    return layers.BatchNormalization(axis=axis)(r)


def Xception(include_top=True, weights="imagenet", input_tensor=None,
             input_shape=None, pooling=None, classes=1000,
             classifier_activation="softmax", name="xception"):
    img_input, _ = _common.prepare(weights, include_top, classes,
                                   input_tensor, input_shape, 299, 71)
    axis = _axis()
    x = layers.Conv2D(32, (3, 3), strides=(2, 2), use_bias=False,
                      name="block1_conv1")(img_input)
    x = layers.BatchNormalization(axis=axis, name="block1_conv1_bn")(x)
    x = layers.Activation("relu", name="block1_conv1_act")(x)
    x = layers.Conv2D(64, (3, 3), use_bias=False, name="block1_conv2")(x)
    x = layers.BatchNormalization(axis=axis, name="block1_conv2_bn")(x)
    x = layers.Activation("relu", name="block1_conv2_act")(x)

    # entry flow: blocks 2-4 halve the resolution, with a 1x1 projection
    for block, filters in ((2, 128), (3, 256), (4, 728)):
        residual = _projection(x, filters)
        p = f"block{block}_sepconv"
        if block == 2:
            x = _sep_bn(x, filters, p + "1")
        else:
            x = _sep_bn(x, filters, p + "1", act_name=p + "1_act")
        x = _sep_bn(x, filters, p + "2", act_name=p + "2_act")
        x = layers.MaxPooling2D((3, 3), strides=(2, 2), padding="same",
                                name=f"block{block}_pool")(x)
        x = layers.add([x, residual])

    # middle flow: eight residual blocks of three separable convolutions
    for i in range(8):
        residual = x
        p = f"block{i + 5}_sepconv"
        for j in (1, 2, 3):
            x = _sep_bn(x, 728, f"{p}{j}", act_name=f"{p}{j}_act")
        x = layers.add([x, residual])

    # exit flow
    residual = _projection(x, 1024)
    x = _sep_bn(x, 728, "block13_sepconv1", act_name="block13_sepconv1_act")
    x = _sep_bn(x, 1024, "block13_sepconv2", act_name="block13_sepconv2_act")
    x = layers.MaxPooling2D((3, 3), strides=(2, 2), padding="same",
                            name="block13_pool")(x)
    x = layers.add([x, residual])
    x = _sep_bn(x, 1536, "block14_sepconv1")
    x = layers.Activation("relu", name="block14_sepconv1_act")(x)
    x = _sep_bn(x, 2048, "block14_sepconv2")
    x = layers.Activation("relu", name="block14_sepconv2_act")(x)

    x = _common.top(x, include_top, pooling, classes, classifier_activation,
                    weights)
    model = _common.make_model(input_tensor, img_input, x, name)
    if weights == "imagenet":
        return imagenet_utils.load_model_weights(
            model, weights, _common.tf_kernels_file("xception", include_top),
            _BASE)
    return imagenet_utils.load_model_weights(model, weights)


preprocess_input = imagenet_utils.preprocess_input_tf
decode_predictions = imagenet_utils.decode_predictions


_common.document(Xception, "Instantiates the Xception architecture "
                           "(Chollet, 2017).", size=299, min_size=71)
