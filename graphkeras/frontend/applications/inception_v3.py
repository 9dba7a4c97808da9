"""InceptionV3, as keras.applications.inception_v3.
Reference: Szegedy et al., Rethinking the Inception Architecture for
Computer Vision (CVPR 2016).
"""

from __future__ import annotations

from ... import layers
from . import _common, imagenet_utils

_BASE = ("https://storage.googleapis.com/tensorflow/keras-applications/"
         "inception_v3/")


def conv2d_bn(x, filters, num_row, num_col, padding="same", strides=(1, 1),
              name=None):
    """Convolution (no bias), batch norm without scale, relu; with `name`,
    the layers are `name_conv`, `name_bn` and `name`."""
    conv_name = None if name is None else name + "_conv"
    bn_name = None if name is None else name + "_bn"
    x = layers.Conv2D(filters, (num_row, num_col), strides=strides,
                      padding=padding, use_bias=False, name=conv_name)(x)
    x = layers.BatchNormalization(axis=imagenet_utils.bn_axis(), scale=False,
                                  name=bn_name)(x)
    return layers.Activation("relu", name=name)(x)


def _avg_branch(x, filters):
    b = layers.AveragePooling2D((3, 3), strides=(1, 1), padding="same")(x)
    return conv2d_bn(b, filters, 1, 1)


def InceptionV3(include_top=True, weights="imagenet", input_tensor=None,
                input_shape=None, pooling=None, classes=1000,
                classifier_activation="softmax", name="inception_v3"):
    img_input, _ = _common.prepare(weights, include_top, classes,
                                   input_tensor, input_shape, 299, 75)
    axis = imagenet_utils.bn_axis()
    x = conv2d_bn(img_input, 32, 3, 3, strides=(2, 2), padding="valid")
    x = conv2d_bn(x, 32, 3, 3, padding="valid")
    x = conv2d_bn(x, 64, 3, 3)
    x = layers.MaxPooling2D((3, 3), strides=(2, 2))(x)
    x = conv2d_bn(x, 80, 1, 1, padding="valid")
    x = conv2d_bn(x, 192, 3, 3, padding="valid")
    x = layers.MaxPooling2D((3, 3), strides=(2, 2))(x)

    # mixed 0, 1, 2: 35 x 35
    for i, pool_filters in enumerate((32, 64, 64)):
        b1 = conv2d_bn(x, 64, 1, 1)
        b5 = conv2d_bn(x, 48, 1, 1)
        b5 = conv2d_bn(b5, 64, 5, 5)
        b3 = conv2d_bn(x, 64, 1, 1)
        b3 = conv2d_bn(b3, 96, 3, 3)
        b3 = conv2d_bn(b3, 96, 3, 3)
        bp = _avg_branch(x, pool_filters)
        x = layers.concatenate([b1, b5, b3, bp], axis=axis, name=f"mixed{i}")

    # mixed 3: 17 x 17
    b3 = conv2d_bn(x, 384, 3, 3, strides=(2, 2), padding="valid")
    bd = conv2d_bn(x, 64, 1, 1)
    bd = conv2d_bn(bd, 96, 3, 3)
    bd = conv2d_bn(bd, 96, 3, 3, strides=(2, 2), padding="valid")
    bp = layers.MaxPooling2D((3, 3), strides=(2, 2))(x)
    x = layers.concatenate([b3, bd, bp], axis=axis, name="mixed3")

    # mixed 4-7: factorized 7x7 convolutions
    for i, f in enumerate((128, 160, 160, 192)):
        b1 = conv2d_bn(x, 192, 1, 1)
        b7 = conv2d_bn(x, f, 1, 1)
        b7 = conv2d_bn(b7, f, 1, 7)
        b7 = conv2d_bn(b7, 192, 7, 1)
        bd = conv2d_bn(x, f, 1, 1)
        bd = conv2d_bn(bd, f, 7, 1)
        bd = conv2d_bn(bd, f, 1, 7)
        bd = conv2d_bn(bd, f, 7, 1)
        bd = conv2d_bn(bd, 192, 1, 7)
        bp = _avg_branch(x, 192)
        x = layers.concatenate([b1, b7, bd, bp], axis=axis,
                               name=f"mixed{4 + i}")

    # mixed 8: 8 x 8
    b3 = conv2d_bn(x, 192, 1, 1)
    b3 = conv2d_bn(b3, 320, 3, 3, strides=(2, 2), padding="valid")
    b7 = conv2d_bn(x, 192, 1, 1)
    b7 = conv2d_bn(b7, 192, 1, 7)
    b7 = conv2d_bn(b7, 192, 7, 1)
    b7 = conv2d_bn(b7, 192, 3, 3, strides=(2, 2), padding="valid")
    bp = layers.MaxPooling2D((3, 3), strides=(2, 2))(x)
    x = layers.concatenate([b3, b7, bp], axis=axis, name="mixed8")

    # mixed 9, 10
    for i in range(2):
        b1 = conv2d_bn(x, 320, 1, 1)
        b3 = conv2d_bn(x, 384, 1, 1)
        b3_1 = conv2d_bn(b3, 384, 1, 3)
        b3_2 = conv2d_bn(b3, 384, 3, 1)
        b3 = layers.concatenate([b3_1, b3_2], axis=axis, name=f"mixed9_{i}")
        bd = conv2d_bn(x, 448, 1, 1)
        bd = conv2d_bn(bd, 384, 3, 3)
        bd_1 = conv2d_bn(bd, 384, 1, 3)
        bd_2 = conv2d_bn(bd, 384, 3, 1)
        bd = layers.concatenate([bd_1, bd_2], axis=axis)
        bp = _avg_branch(x, 192)
        x = layers.concatenate([b1, b3, bd, bp], axis=axis,
                               name=f"mixed{9 + i}")

    x = _common.top(x, include_top, pooling, classes, classifier_activation,
                    weights)
    model = _common.make_model(input_tensor, img_input, x, name)
    if weights == "imagenet":
        return imagenet_utils.load_model_weights(
            model, weights,
            _common.tf_kernels_file("inception_v3", include_top), _BASE)
    return imagenet_utils.load_model_weights(model, weights)


preprocess_input = imagenet_utils.preprocess_input_tf
decode_predictions = imagenet_utils.decode_predictions


_common.document(InceptionV3, "Instantiates the Inception v3 architecture "
                              "(Szegedy et al., 2016).", size=299,
                 min_size=75)
