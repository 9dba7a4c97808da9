"""ResNet50 / 101 / 152 (and the ResNet builder ResNetV2 shares), as
keras.applications.resnet: Keras's layer names, so Keras's weight files
load. Reference: He et al., Deep Residual Learning for Image Recognition
(CVPR 2016).
"""

from __future__ import annotations

from ... import layers
from . import _common, imagenet_utils

BASE_WEIGHTS_PATH = (
    "https://storage.googleapis.com/tensorflow/keras-applications/resnet/"
)
# (with top, without top) md5 of Keras's files
WEIGHTS_HASHES = {
    "resnet50": ("2cb95161c43110f7111970584f804107",
                 "4d473c1dd8becc155b73f8504c6f6626"),
    "resnet101": ("f1aeb4b969a6efcfb50fad2f0c20cfc5",
                  "88cf7a10940856eca736dc7b7e228a21"),
    "resnet152": ("100835be76be38e30d865e96f2aaae62",
                  "ee4c566cf9a93f14d82f913c2dc6dd0c"),
    "resnet50v2": ("3ef43a0b657b3be2300d5770ece849e0",
                   "fac2f116257151a9d068a22e544a4917"),
    "resnet101v2": ("6343647c601c52e1368623803854d971",
                    "c0ed64b8031c3730f411d2eb4eea35b5"),
    "resnet152v2": ("a49b44d1979771252814e80f8ec446f9",
                    "ed17cf2e0169df9d443503ef94b23b33"),
}
_EPS = 1.001e-5


def ResNet(stack_fn, preact, use_bias, name="resnet", include_top=True,
           weights="imagenet", input_tensor=None, input_shape=None,
           pooling=None, classes=1000, classifier_activation="softmax",
           weights_name=None):
    """The ResNet / ResNetV2 body around `stack_fn` (the residual stacks).

    `preact` selects ResNetV2 (batch normalization before each
    convolution); `weights_name` is the key of the ImageNet weight file.
    """
    img_input, _ = _common.prepare(weights, include_top, classes,
                                   input_tensor, input_shape, 224, 32)
    axis = imagenet_utils.bn_axis()
    x = layers.ZeroPadding2D(padding=((3, 3), (3, 3)),
                             name="conv1_pad")(img_input)
    x = layers.Conv2D(64, 7, strides=2, use_bias=use_bias,
                      name="conv1_conv")(x)
    if not preact:
        x = layers.BatchNormalization(axis=axis, epsilon=_EPS,
                                      name="conv1_bn")(x)
        x = layers.Activation("relu", name="conv1_relu")(x)
    x = layers.ZeroPadding2D(padding=((1, 1), (1, 1)), name="pool1_pad")(x)
    x = layers.MaxPooling2D(3, strides=2, name="pool1_pool")(x)
    x = stack_fn(x)
    if preact:
        x = layers.BatchNormalization(axis=axis, epsilon=_EPS,
                                      name="post_bn")(x)
        x = layers.Activation("relu", name="post_relu")(x)
    x = _common.top(x, include_top, pooling, classes, classifier_activation,
                    weights, pool_names=("avg_pool", "max_pool"))
    model = _common.make_model(input_tensor, img_input, x, name)
    key = weights_name or name
    if weights == "imagenet" and key in WEIGHTS_HASHES:
        return imagenet_utils.load_model_weights(
            model, weights, _common.tf_kernels_file(key, include_top),
            BASE_WEIGHTS_PATH,
            WEIGHTS_HASHES[key][0 if include_top else 1])
    return imagenet_utils.load_model_weights(model, weights)


def residual_block_v1(x, filters, kernel_size=3, stride=1,
                      conv_shortcut=True, name=None):
    """A bottleneck block of ResNet v1 (1x1, kxk, 1x1 with 4x filters)."""
    axis = imagenet_utils.bn_axis()
    if conv_shortcut:
        shortcut = layers.Conv2D(4 * filters, 1, strides=stride,
                                 name=name + "_0_conv")(x)
        shortcut = layers.BatchNormalization(
            axis=axis, epsilon=_EPS, name=name + "_0_bn")(shortcut)
    else:
        shortcut = x
    x = layers.Conv2D(filters, 1, strides=stride, name=name + "_1_conv")(x)
    x = layers.BatchNormalization(axis=axis, epsilon=_EPS,
                                  name=name + "_1_bn")(x)
    x = layers.Activation("relu", name=name + "_1_relu")(x)
    x = layers.Conv2D(filters, kernel_size, padding="SAME",
                      name=name + "_2_conv")(x)
    x = layers.BatchNormalization(axis=axis, epsilon=_EPS,
                                  name=name + "_2_bn")(x)
    x = layers.Activation("relu", name=name + "_2_relu")(x)
    x = layers.Conv2D(4 * filters, 1, name=name + "_3_conv")(x)
    x = layers.BatchNormalization(axis=axis, epsilon=_EPS,
                                  name=name + "_3_bn")(x)
    x = layers.Add(name=name + "_add")([shortcut, x])
    return layers.Activation("relu", name=name + "_out")(x)


def stack_residual_blocks_v1(x, filters, blocks, stride1=2, name=None):
    """`blocks` v1 blocks; the first has the projection shortcut."""
    x = residual_block_v1(x, filters, stride=stride1, name=name + "_block1")
    for i in range(2, blocks + 1):
        x = residual_block_v1(x, filters, conv_shortcut=False,
                              name=f"{name}_block{i}")
    return x


def residual_block_v2(x, filters, kernel_size=3, stride=1,
                      conv_shortcut=False, name=None):
    """A pre-activation bottleneck block of ResNet v2."""
    axis = imagenet_utils.bn_axis()
    preact = layers.BatchNormalization(axis=axis, epsilon=_EPS,
                                       name=name + "_preact_bn")(x)
    preact = layers.Activation("relu", name=name + "_preact_relu")(preact)
    if conv_shortcut:
        shortcut = layers.Conv2D(4 * filters, 1, strides=stride,
                                 name=name + "_0_conv")(preact)
    else:
        # NOTE: unnamed in Keras too (max_pooling2d, max_pooling2d_1, ...)
        shortcut = (layers.MaxPooling2D(1, strides=stride)(x) if stride > 1
                    else x)
    x = layers.Conv2D(filters, 1, strides=1, use_bias=False,
                      name=name + "_1_conv")(preact)
    x = layers.BatchNormalization(axis=axis, epsilon=_EPS,
                                  name=name + "_1_bn")(x)
    x = layers.Activation("relu", name=name + "_1_relu")(x)
    x = layers.ZeroPadding2D(padding=((1, 1), (1, 1)),
                             name=name + "_2_pad")(x)
    x = layers.Conv2D(filters, kernel_size, strides=stride, use_bias=False,
                      name=name + "_2_conv")(x)
    x = layers.BatchNormalization(axis=axis, epsilon=_EPS,
                                  name=name + "_2_bn")(x)
    x = layers.Activation("relu", name=name + "_2_relu")(x)
    x = layers.Conv2D(4 * filters, 1, name=name + "_3_conv")(x)
    return layers.Add(name=name + "_out")([shortcut, x])


def stack_residual_blocks_v2(x, filters, blocks, stride1=2, name=None):
    """`blocks` v2 blocks; the last one strides."""
    x = residual_block_v2(x, filters, conv_shortcut=True,
                          name=name + "_block1")
    for i in range(2, blocks):
        x = residual_block_v2(x, filters, name=f"{name}_block{i}")
    return residual_block_v2(x, filters, stride=stride1,
                             name=f"{name}_block{blocks}")


def _v1_stacks(counts):
    def stack_fn(x):
        x = stack_residual_blocks_v1(x, 64, counts[0], stride1=1,
                                     name="conv2")
        x = stack_residual_blocks_v1(x, 128, counts[1], name="conv3")
        x = stack_residual_blocks_v1(x, 256, counts[2], name="conv4")
        return stack_residual_blocks_v1(x, 512, counts[3], name="conv5")

    return stack_fn


def ResNet50(include_top=True, weights="imagenet", input_tensor=None,
             input_shape=None, pooling=None, classes=1000,
             classifier_activation="softmax", name="resnet50"):
    return ResNet(_v1_stacks((3, 4, 6, 3)), False, True, name, include_top,
                  weights, input_tensor, input_shape, pooling, classes,
                  classifier_activation, weights_name="resnet50")


def ResNet101(include_top=True, weights="imagenet", input_tensor=None,
              input_shape=None, pooling=None, classes=1000,
              classifier_activation="softmax", name="resnet101"):
    return ResNet(_v1_stacks((3, 4, 23, 3)), False, True, name, include_top,
                  weights, input_tensor, input_shape, pooling, classes,
                  classifier_activation, weights_name="resnet101")


def ResNet152(include_top=True, weights="imagenet", input_tensor=None,
              input_shape=None, pooling=None, classes=1000,
              classifier_activation="softmax", name="resnet152"):
    return ResNet(_v1_stacks((3, 8, 36, 3)), False, True, name, include_top,
                  weights, input_tensor, input_shape, pooling, classes,
                  classifier_activation, weights_name="resnet152")


# the wording of ResNet's and ResNetV2's arguments
ARGS = {
    "include_top": "whether to include the classifier (global average "
                   'pooling and a `Dense(classes)` named "predictions").',
    "weights": '`None` (random initialization), `"imagenet"` (Keras\'s '
               "ImageNet weights, from Keras's cache `~/.keras/models`) or "
               "the path of a weights file.",
    "pooling": 'with `include_top=False`: None (4D output), "avg" or '
               '"max".',
    "classifier_activation": "the activation of the top layer (None for "
                             'logits; only None or "softmax" with '
                             "pretrained weights).",
}
EXAMPLE = "weights=None, include_top=False, input_shape=(32, 32, 3)"

for _fn in (ResNet50, ResNet101, ResNet152):
    _common.document(_fn, f"Instantiates the {_fn.__name__} architecture "
                          "(He et al., 2015).", args=ARGS, example=EXAMPLE)


preprocess_input = imagenet_utils.preprocess_input_caffe
decode_predictions = imagenet_utils.decode_predictions
