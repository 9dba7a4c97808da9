"""NASNetMobile and NASNetLarge, as keras.applications.nasnet.
Reference: Zoph et al., Learning Transferable Architectures for Scalable
Image Recognition (CVPR 2018).

Only channels_last, as Keras.
"""

from __future__ import annotations

from ... import config, layers
from . import _common, imagenet_utils

BASE_WEIGHTS_PATH = (
    "https://storage.googleapis.com/tensorflow/keras-applications/nasnet/"
)
_BN = dict(axis=-1, momentum=0.9997, epsilon=1e-3)


def _bn(name=None):
    return layers.BatchNormalization(name=name, **_BN)


def _separable_conv_block(ip, filters, kernel_size=(3, 3), strides=(1, 1),
                          block_id=None):
    """relu, separable conv, bn, relu, separable conv, bn."""
    x = layers.Activation("relu")(ip)
    if strides == (2, 2):
        x = layers.ZeroPadding2D(
            padding=imagenet_utils.correct_pad(x, kernel_size),
            name=f"separable_conv_1_pad_{block_id}")(x)
        conv_pad = "valid"
    else:
        conv_pad = "same"
    x = layers.SeparableConv2D(filters, kernel_size, strides=strides,
                               name=f"separable_conv_1_{block_id}",
                               padding=conv_pad, use_bias=False)(x)
    x = _bn(f"separable_conv_1_bn_{block_id}")(x)
    x = layers.Activation("relu")(x)
    x = layers.SeparableConv2D(filters, kernel_size,
                               name=f"separable_conv_2_{block_id}",
                               padding="same", use_bias=False)(x)
    return _bn(f"separable_conv_2_bn_{block_id}")(x)


def _adjust_block(p, ip, filters, block_id=None):
    """Match the previous cell's output `p` to `ip`: halve its resolution
    (two offset 1x1 paths) or project its channels."""
    if p is None:
        return ip
    if p.shape[-2] != ip.shape[-2]:
        p = layers.Activation("relu", name=f"adjust_relu_1_{block_id}")(p)
        p1 = layers.AveragePooling2D((1, 1), strides=(2, 2), padding="valid",
                                     name=f"adjust_avg_pool_1_{block_id}")(p)
        p1 = layers.Conv2D(filters // 2, (1, 1), padding="same",
                           use_bias=False, name=f"adjust_conv_1_{block_id}",
                           kernel_initializer="he_normal")(p1)
        p2 = layers.ZeroPadding2D(padding=((0, 1), (0, 1)))(p)
        p2 = layers.Cropping2D(cropping=((1, 0), (1, 0)))(p2)
        p2 = layers.AveragePooling2D((1, 1), strides=(2, 2), padding="valid",
                                     name=f"adjust_avg_pool_2_{block_id}")(p2)
        p2 = layers.Conv2D(filters // 2, (1, 1), padding="same",
                           use_bias=False, name=f"adjust_conv_2_{block_id}",
                           kernel_initializer="he_normal")(p2)
        p = layers.concatenate([p1, p2], axis=-1)
        return _bn(f"adjust_bn_{block_id}")(p)
    if p.shape[-1] != filters:
        p = layers.Activation("relu")(p)
        p = layers.Conv2D(filters, (1, 1), strides=(1, 1), padding="same",
                          name=f"adjust_conv_projection_{block_id}",
                          use_bias=False, kernel_initializer="he_normal")(p)
        return _bn(f"adjust_bn_{block_id}")(p)
    return p


def _squeeze(ip, filters, kind, block_id):
    h = layers.Activation("relu")(ip)
    h = layers.Conv2D(filters, (1, 1), strides=(1, 1), padding="same",
                      name=f"{kind}_conv_1_{block_id}", use_bias=False,
                      kernel_initializer="he_normal")(h)
    return _bn(f"{kind}_bn_1_{block_id}")(h)


def _normal_a_cell(ip, p, filters, block_id=None):
    """A normal cell: five branch pairs, concatenated with `p`."""
    p = _adjust_block(p, ip, filters, block_id)
    h = _squeeze(ip, filters, "normal", block_id)
    x1 = layers.add([
        _separable_conv_block(h, filters, kernel_size=(5, 5),
                              block_id=f"normal_left1_{block_id}"),
        _separable_conv_block(p, filters,
                              block_id=f"normal_right1_{block_id}"),
    ], name=f"normal_add_1_{block_id}")
    x2 = layers.add([
        _separable_conv_block(p, filters, (5, 5),
                              block_id=f"normal_left2_{block_id}"),
        _separable_conv_block(p, filters, (3, 3),
                              block_id=f"normal_right2_{block_id}"),
    ], name=f"normal_add_2_{block_id}")
    x3 = layers.AveragePooling2D((3, 3), strides=(1, 1), padding="same",
                                 name=f"normal_left3_{block_id}")(h)
    x3 = layers.add([x3, p], name=f"normal_add_3_{block_id}")
    x4_1 = layers.AveragePooling2D((3, 3), strides=(1, 1), padding="same",
                                   name=f"normal_left4_{block_id}")(p)
    x4_2 = layers.AveragePooling2D((3, 3), strides=(1, 1), padding="same",
                                   name=f"normal_right4_{block_id}")(p)
    x4 = layers.add([x4_1, x4_2], name=f"normal_add_4_{block_id}")
    x5 = _separable_conv_block(h, filters,
                               block_id=f"normal_left5_{block_id}")
    x5 = layers.add([x5, h], name=f"normal_add_5_{block_id}")
    x = layers.concatenate([p, x1, x2, x3, x4, x5], axis=-1,
                           name=f"normal_concat_{block_id}")
    return x, ip


def _reduction_a_cell(ip, p, filters, block_id=None):
    """A reduction cell: halves the resolution."""
    p = _adjust_block(p, ip, filters, block_id)
    h = _squeeze(ip, filters, "reduction", block_id)
    h3 = layers.ZeroPadding2D(padding=imagenet_utils.correct_pad(h, 3),
                              name=f"reduction_pad_1_{block_id}")(h)
    x1 = layers.add([
        _separable_conv_block(h, filters, (5, 5), strides=(2, 2),
                              block_id=f"reduction_left1_{block_id}"),
        _separable_conv_block(p, filters, (7, 7), strides=(2, 2),
                              block_id=f"reduction_right1_{block_id}"),
    ], name=f"reduction_add_1_{block_id}")
    x2_1 = layers.MaxPooling2D((3, 3), strides=(2, 2), padding="valid",
                               name=f"reduction_left2_{block_id}")(h3)
    x2_2 = _separable_conv_block(p, filters, (7, 7), strides=(2, 2),
                                 block_id=f"reduction_right2_{block_id}")
    x2 = layers.add([x2_1, x2_2], name=f"reduction_add_2_{block_id}")
    x3_1 = layers.AveragePooling2D((3, 3), strides=(2, 2), padding="valid",
                                   name=f"reduction_left3_{block_id}")(h3)
    x3_2 = _separable_conv_block(p, filters, (5, 5), strides=(2, 2),
                                 block_id=f"reduction_right3_{block_id}")
    x3 = layers.add([x3_1, x3_2], name=f"reduction_add3_{block_id}")
    x4 = layers.AveragePooling2D((3, 3), strides=(1, 1), padding="same",
                                 name=f"reduction_left4_{block_id}")(x1)
    x4 = layers.add([x2, x4])
    x5_1 = _separable_conv_block(x1, filters, (3, 3),
                                 block_id=f"reduction_left4_{block_id}")
    x5_2 = layers.MaxPooling2D((3, 3), strides=(2, 2), padding="valid",
                               name=f"reduction_right5_{block_id}")(h3)
    x5 = layers.add([x5_1, x5_2], name=f"reduction_add4_{block_id}")
    x = layers.concatenate([x2, x3, x4, x5], axis=-1,
                           name=f"reduction_concat_{block_id}")
    return x, ip


def NASNet(input_shape=None, penultimate_filters=4032, num_blocks=6,
           stem_block_filters=96, skip_reduction=True, filter_multiplier=2,
           include_top=True, weights="imagenet", input_tensor=None,
           pooling=None, classes=1000, default_size=None,
           classifier_activation="softmax", name="NASNet"):
    """The NASNet-A body: a stem, then `num_blocks` normal cells at three
    resolutions separated by reduction cells."""
    if config.image_data_format() != "channels_last":
        raise ValueError(
            "NASNet supports only the channels_last image data format "
            "(keras.config.set_image_data_format('channels_last')). "
            f"Received: {config.image_data_format()}"
        )
    if isinstance(input_shape, tuple) and None in input_shape and \
            weights == "imagenet":
        raise ValueError(
            "When specifying the input shape of a NASNet and loading "
            "`ImageNet` weights, the input_shape argument must be static (no "
            f"None entries). Got: `input_shape={input_shape}`."
        )
    if default_size is None:
        default_size = 331
    img_input, _ = _common.prepare(weights, include_top, classes,
                                   input_tensor, input_shape, default_size,
                                   32)
    if penultimate_filters % (24 * (filter_multiplier**2)) != 0:
        raise ValueError(
            "For NASNet-A models, the `penultimate_filters` must be a "
            "multiple of 24 * (`filter_multiplier` ** 2). Current value: "
            f"{penultimate_filters}"
        )
    filters = penultimate_filters // 24
    x = layers.Conv2D(stem_block_filters, (3, 3), strides=(2, 2),
                      padding="valid", use_bias=False, name="stem_conv1",
                      kernel_initializer="he_normal")(img_input)
    x = _bn("stem_bn1")(x)
    p = None
    x, p = _reduction_a_cell(x, p, filters // (filter_multiplier**2),
                             block_id="stem_1")
    x, p = _reduction_a_cell(x, p, filters // filter_multiplier,
                             block_id="stem_2")
    for i in range(num_blocks):
        x, p = _normal_a_cell(x, p, filters, block_id=f"{i}")
    x, p0 = _reduction_a_cell(x, p, filters * filter_multiplier,
                              block_id=f"reduce_{num_blocks}")
    p = p0 if not skip_reduction else p
    for i in range(num_blocks):
        x, p = _normal_a_cell(x, p, filters * filter_multiplier,
                              block_id=f"{num_blocks + i + 1}")
    x, p0 = _reduction_a_cell(x, p, filters * filter_multiplier**2,
                              block_id=f"reduce_{2 * num_blocks}")
    p = p0 if not skip_reduction else p
    for i in range(num_blocks):
        x, p = _normal_a_cell(x, p, filters * filter_multiplier**2,
                              block_id=f"{2 * num_blocks + i + 1}")
    x = layers.Activation("relu")(x)
    x = _common.top(x, include_top, pooling, classes, classifier_activation,
                    weights, avg_name=None)
    model = _common.make_model(input_tensor, img_input, x, name)
    if weights == "imagenet":
        kind = {224: "mobile", 331: "large"}.get(default_size)
        if kind is None:
            raise ValueError(
                "ImageNet weights can only be loaded with NASNetLarge or "
                "NASNetMobile"
            )
        file_name = f"NASNet-{kind}{'' if include_top else '-no-top'}.h5"
        return imagenet_utils.load_model_weights(model, weights, file_name,
                                                 BASE_WEIGHTS_PATH)
    return imagenet_utils.load_model_weights(model, weights)


def NASNetMobile(input_shape=None, include_top=True, weights="imagenet",
                 input_tensor=None, pooling=None, classes=1000,
                 classifier_activation="softmax", name="nasnet_mobile"):
    return NASNet(input_shape, penultimate_filters=1056, num_blocks=4,
                  stem_block_filters=32, skip_reduction=False,
                  filter_multiplier=2, include_top=include_top,
                  weights=weights, input_tensor=input_tensor,
                  pooling=pooling, classes=classes, default_size=224,
                  classifier_activation=classifier_activation, name=name)


def NASNetLarge(input_shape=None, include_top=True, weights="imagenet",
                input_tensor=None, pooling=None, classes=1000,
                classifier_activation="softmax", name="nasnet_large"):
    return NASNet(input_shape, penultimate_filters=4032, num_blocks=6,
                  stem_block_filters=96, skip_reduction=True,
                  filter_multiplier=2, include_top=include_top,
                  weights=weights, input_tensor=input_tensor,
                  pooling=pooling, classes=classes, default_size=331,
                  classifier_activation=classifier_activation, name=name)


for _fn, _size in ((NASNetMobile, 224), (NASNetLarge, 331)):
    _common.document(_fn, f"Instantiates the {_fn.__name__} architecture "
                          "(Zoph et al., 2018).", size=_size)


preprocess_input = imagenet_utils.preprocess_input_tf
decode_predictions = imagenet_utils.decode_predictions
