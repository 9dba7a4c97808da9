"""InceptionResNetV2, as keras.applications.inception_resnet_v2.
Reference: Szegedy et al., Inception-v4, Inception-ResNet and the Impact
of Residual Connections on Learning (AAAI 2017).
"""

from __future__ import annotations

from ... import layers
from ..layers.layer import Layer
from . import _common, imagenet_utils

BASE_WEIGHT_URL = (
    "https://storage.googleapis.com/tensorflow/keras-applications/"
    "inception_resnet_v2/"
)


@_common.keras_class("keras.src.applications.inception_resnet_v2")
class CustomScaleLayer(Layer):
    """`inputs[0] + inputs[1] * scale`: the scaled residual of a block."""

    def __init__(self, scale, **kwargs):
        super().__init__(**kwargs)
        self.scale = scale

    def get_config(self):
        return {**super().get_config(), "scale": self.scale}

    def call(self, inputs):
        return inputs[0] + inputs[1] * self.scale

    def compute_output_shape(self, input_shape):
        return input_shape[0]


def conv2d_bn(x, filters, kernel_size, strides=1, padding="same",
              activation="relu", use_bias=False, name=None):
    """Convolution, then (without bias) batch norm without scale, then the
    activation; named `name`, `name_bn`, `name_ac` when `name` is given."""
    x = layers.Conv2D(filters, kernel_size, strides=strides, padding=padding,
                      use_bias=use_bias, name=name)(x)
    if not use_bias:
        x = layers.BatchNormalization(
            axis=imagenet_utils.bn_axis(), scale=False,
            name=None if name is None else name + "_bn")(x)
    if activation is not None:
        x = layers.Activation(activation,
                              name=None if name is None else name + "_ac")(x)
    return x


def inception_resnet_block(x, scale, block_type, block_idx,
                           activation="relu"):
    """A residual Inception block: "block35", "block17" or "block8"."""
    if block_type == "block35":
        b0 = conv2d_bn(x, 32, 1)
        b1 = conv2d_bn(conv2d_bn(x, 32, 1), 32, 3)
        b2 = conv2d_bn(conv2d_bn(conv2d_bn(x, 32, 1), 48, 3), 64, 3)
        branches = [b0, b1, b2]
    elif block_type == "block17":
        b0 = conv2d_bn(x, 192, 1)
        b1 = conv2d_bn(conv2d_bn(conv2d_bn(x, 128, 1), 160, [1, 7]), 192,
                       [7, 1])
        branches = [b0, b1]
    elif block_type == "block8":
        b0 = conv2d_bn(x, 192, 1)
        b1 = conv2d_bn(conv2d_bn(conv2d_bn(x, 192, 1), 224, [1, 3]), 256,
                       [3, 1])
        branches = [b0, b1]
    else:
        raise ValueError(
            "Unknown Inception-ResNet block type. Valid types are: "
            f'"block35", "block17" or "block8". Received: {block_type}'
        )
    name = f"{block_type}_{block_idx}"
    axis = imagenet_utils.bn_axis()
    mixed = layers.Concatenate(axis=axis, name=name + "_mixed")(branches)
    up = conv2d_bn(mixed, x.shape[axis], 1, activation=None, use_bias=True,
                   name=name + "_conv")
    x = CustomScaleLayer(scale)([x, up])
    if activation is not None:
        x = layers.Activation(activation, name=name + "_ac")(x)
    return x


def InceptionResNetV2(include_top=True, weights="imagenet",
                      input_tensor=None, input_shape=None, pooling=None,
                      classes=1000, classifier_activation="softmax",
                      name="inception_resnet_v2"):
    img_input, _ = _common.prepare(weights, include_top, classes,
                                   input_tensor, input_shape, 299, 75)
    axis = imagenet_utils.bn_axis()
    x = conv2d_bn(img_input, 32, 3, strides=2, padding="valid")
    x = conv2d_bn(x, 32, 3, padding="valid")
    x = conv2d_bn(x, 64, 3)
    x = layers.MaxPooling2D(3, strides=2)(x)
    x = conv2d_bn(x, 80, 1, padding="valid")
    x = conv2d_bn(x, 192, 3, padding="valid")
    x = layers.MaxPooling2D(3, strides=2)(x)

    b0 = conv2d_bn(x, 96, 1)
    b1 = conv2d_bn(conv2d_bn(x, 48, 1), 64, 5)
    b2 = conv2d_bn(conv2d_bn(conv2d_bn(x, 64, 1), 96, 3), 96, 3)
    bp = layers.AveragePooling2D(3, strides=1, padding="same")(x)
    bp = conv2d_bn(bp, 64, 1)
    x = layers.Concatenate(axis=axis, name="mixed_5b")([b0, b1, b2, bp])
    for i in range(1, 11):
        x = inception_resnet_block(x, scale=0.17, block_type="block35",
                                   block_idx=i)

    b0 = conv2d_bn(x, 384, 3, strides=2, padding="valid")
    b1 = conv2d_bn(conv2d_bn(conv2d_bn(x, 256, 1), 256, 3), 384, 3,
                   strides=2, padding="valid")
    bp = layers.MaxPooling2D(3, strides=2, padding="valid")(x)
    x = layers.Concatenate(axis=axis, name="mixed_6a")([b0, b1, bp])
    for i in range(1, 21):
        x = inception_resnet_block(x, scale=0.1, block_type="block17",
                                   block_idx=i)

    b0 = conv2d_bn(conv2d_bn(x, 256, 1), 384, 3, strides=2, padding="valid")
    b1 = conv2d_bn(conv2d_bn(x, 256, 1), 288, 3, strides=2, padding="valid")
    b2 = conv2d_bn(conv2d_bn(conv2d_bn(x, 256, 1), 288, 3), 320, 3,
                   strides=2, padding="valid")
    bp = layers.MaxPooling2D(3, strides=2, padding="valid")(x)
    x = layers.Concatenate(axis=axis, name="mixed_7a")([b0, b1, b2, bp])
    for i in range(1, 10):
        x = inception_resnet_block(x, scale=0.2, block_type="block8",
                                   block_idx=i)
    x = inception_resnet_block(x, scale=1.0, activation=None,
                               block_type="block8", block_idx=10)
    x = conv2d_bn(x, 1536, 1, name="conv_7b")

    x = _common.top(x, include_top, pooling, classes, classifier_activation,
                    weights)
    model = _common.make_model(input_tensor, img_input, x, name)
    if weights == "imagenet":
        return imagenet_utils.load_model_weights(
            model, weights,
            _common.tf_kernels_file("inception_resnet_v2", include_top),
            BASE_WEIGHT_URL)
    return imagenet_utils.load_model_weights(model, weights)


preprocess_input = imagenet_utils.preprocess_input_tf
decode_predictions = imagenet_utils.decode_predictions


_common.document(InceptionResNetV2, "Instantiates the Inception-ResNet v2 "
                                    "architecture (Szegedy et al., 2017).",
                 size=299, min_size=75)
