"""DenseNet121 / 169 / 201, as keras.applications.densenet.
Reference: Huang et al., Densely Connected Convolutional Networks
(CVPR 2017).
"""

from __future__ import annotations

from ... import layers
from . import _common, imagenet_utils

BASE_WEIGHTS_PATH = (
    "https://storage.googleapis.com/tensorflow/keras-applications/densenet/"
)
_EPS = 1.001e-5


def dense_block(x, blocks, name):
    """`blocks` conv blocks, each concatenating 32 new channels."""
    for i in range(blocks):
        x = conv_block(x, 32, name=f"{name}_block{i + 1}")
    return x


def transition_block(x, reduction, name):
    """Batch norm, relu, a 1x1 convolution to `reduction` of the channels,
    and 2x2 average pooling."""
    axis = imagenet_utils.bn_axis()
    x = layers.BatchNormalization(axis=axis, epsilon=_EPS,
                                  name=name + "_bn")(x)
    x = layers.Activation("relu", name=name + "_relu")(x)
    x = layers.Conv2D(int(x.shape[axis] * reduction), 1, use_bias=False,
                      name=name + "_conv")(x)
    return layers.AveragePooling2D(2, strides=2, name=name + "_pool")(x)


def conv_block(x, growth_rate, name):
    """The bottleneck (1x1 then 3x3) whose output joins the input."""
    axis = imagenet_utils.bn_axis()
    x1 = layers.BatchNormalization(axis=axis, epsilon=_EPS,
                                   name=name + "_0_bn")(x)
    x1 = layers.Activation("relu", name=name + "_0_relu")(x1)
    x1 = layers.Conv2D(4 * growth_rate, 1, use_bias=False,
                       name=name + "_1_conv")(x1)
    x1 = layers.BatchNormalization(axis=axis, epsilon=_EPS,
                                   name=name + "_1_bn")(x1)
    x1 = layers.Activation("relu", name=name + "_1_relu")(x1)
    x1 = layers.Conv2D(growth_rate, 3, padding="same", use_bias=False,
                       name=name + "_2_conv")(x1)
    return layers.Concatenate(axis=axis, name=name + "_concat")([x, x1])


def DenseNet(blocks, include_top=True, weights="imagenet", input_tensor=None,
             input_shape=None, pooling=None, classes=1000,
             classifier_activation="softmax", name="densenet"):
    """The DenseNet body with `blocks` conv blocks in its four dense blocks."""
    img_input, _ = _common.prepare(weights, include_top, classes,
                                   input_tensor, input_shape, 224, 32)
    axis = imagenet_utils.bn_axis()
    x = layers.ZeroPadding2D(padding=((3, 3), (3, 3)))(img_input)
    x = layers.Conv2D(64, 7, strides=2, use_bias=False, name="conv1_conv")(x)
    x = layers.BatchNormalization(axis=axis, epsilon=_EPS, name="conv1_bn")(x)
    x = layers.Activation("relu", name="conv1_relu")(x)
    x = layers.ZeroPadding2D(padding=((1, 1), (1, 1)))(x)
    x = layers.MaxPooling2D(3, strides=2, name="pool1")(x)
    for i, n in enumerate(blocks):
        x = dense_block(x, n, name=f"conv{i + 2}")
        if i < len(blocks) - 1:
            x = transition_block(x, 0.5, name=f"pool{i + 2}")
    x = layers.BatchNormalization(axis=axis, epsilon=_EPS, name="bn")(x)
    x = layers.Activation("relu", name="relu")(x)
    x = _common.top(x, include_top, pooling, classes, classifier_activation,
                    weights, pool_names=("avg_pool", "max_pool"))
    model = _common.make_model(input_tensor, img_input, x, name)
    key = {(6, 12, 24, 16): "densenet121", (6, 12, 32, 32): "densenet169",
           (6, 12, 48, 32): "densenet201"}.get(tuple(blocks))
    if weights == "imagenet" and key is not None:
        return imagenet_utils.load_model_weights(
            model, weights, _common.tf_kernels_file(key, include_top),
            BASE_WEIGHTS_PATH)
    return imagenet_utils.load_model_weights(model, weights)


def DenseNet121(include_top=True, weights="imagenet", input_tensor=None,
                input_shape=None, pooling=None, classes=1000,
                classifier_activation="softmax", name="densenet121"):
    return DenseNet([6, 12, 24, 16], include_top, weights, input_tensor,
                    input_shape, pooling, classes, classifier_activation,
                    name)


def DenseNet169(include_top=True, weights="imagenet", input_tensor=None,
                input_shape=None, pooling=None, classes=1000,
                classifier_activation="softmax", name="densenet169"):
    return DenseNet([6, 12, 32, 32], include_top, weights, input_tensor,
                    input_shape, pooling, classes, classifier_activation,
                    name)


def DenseNet201(include_top=True, weights="imagenet", input_tensor=None,
                input_shape=None, pooling=None, classes=1000,
                classifier_activation="softmax", name="densenet201"):
    return DenseNet([6, 12, 48, 32], include_top, weights, input_tensor,
                    input_shape, pooling, classes, classifier_activation,
                    name)


for _fn in (DenseNet121, DenseNet169, DenseNet201):
    _common.document(_fn, f"Instantiates the {_fn.__name__} architecture "
                          "(Huang et al., 2017).")


def preprocess_input(x, data_format=None):
    """Scale to [0, 1], then normalize each channel by ImageNet's mean and
    standard deviation (mode "torch")."""
    return imagenet_utils.preprocess_input(x, data_format=data_format,
                                           mode="torch")


decode_predictions = imagenet_utils.decode_predictions
