"""MobileNetV3Small / Large, as keras.applications.mobilenet_v3.
Reference: Howard et al., Searching for MobileNetV3 (ICCV 2019).

The hard sigmoid of the squeeze-excite blocks is written as Keras writes
it, `ReLU(6)(x + 3) * (1 / 6)`, so the config holds the same op layers.
"""

from __future__ import annotations

from ... import config, layers
from . import _common, imagenet_utils
from .mobilenet_v2 import _make_divisible

BASE_WEIGHT_PATH = (
    "https://storage.googleapis.com/tensorflow/keras-applications/"
    "mobilenet_v3/"
)


def _depth(v, divisor=8, min_value=None):
    return _make_divisible(v, divisor, min_value)


def relu(x):
    return layers.ReLU()(x)


def hard_sigmoid(x):
    return layers.ReLU(6.0)(x + 3.0) * (1.0 / 6.0)


def hard_swish(x):
    return layers.Activation("hard_swish")(x)


def _channel_axis():
    return 1 if config.image_data_format() == "channels_first" else -1


def _se_block(inputs, filters, se_ratio, prefix):
    x = layers.GlobalAveragePooling2D(
        keepdims=True, name=prefix + "squeeze_excite_avg_pool")(inputs)
    x = layers.Conv2D(_depth(filters * se_ratio), kernel_size=1,
                      padding="same", name=prefix + "squeeze_excite_conv")(x)
    x = layers.ReLU(name=prefix + "squeeze_excite_relu")(x)
    x = layers.Conv2D(filters, kernel_size=1, padding="same",
                      name=prefix + "squeeze_excite_conv_1")(x)
    x = hard_sigmoid(x)
    return layers.Multiply(name=prefix + "squeeze_excite_mul")([inputs, x])


def _inverted_res_block(x, expansion, filters, kernel_size, stride, se_ratio,
                        activation, block_id):
    axis = _channel_axis()
    shortcut = x
    prefix = "expanded_conv_"
    infilters = x.shape[axis]
    if block_id:
        prefix = f"expanded_conv_{block_id}_"
        x = layers.Conv2D(_depth(infilters * expansion), kernel_size=1,
                          padding="same", use_bias=False,
                          name=prefix + "expand")(x)
        x = layers.BatchNormalization(axis=axis, epsilon=1e-3,
                                      momentum=0.999,
                                      name=prefix + "expand_bn")(x)
        x = activation(x)
    if stride == 2:
        x = layers.ZeroPadding2D(
            padding=imagenet_utils.correct_pad(x, kernel_size),
            name=prefix + "depthwise_pad")(x)
    x = layers.DepthwiseConv2D(kernel_size, strides=stride,
                               padding="same" if stride == 1 else "valid",
                               use_bias=False, name=prefix + "depthwise")(x)
    x = layers.BatchNormalization(axis=axis, epsilon=1e-3, momentum=0.999,
                                  name=prefix + "depthwise_bn")(x)
    x = activation(x)
    if se_ratio:
        x = _se_block(x, _depth(infilters * expansion), se_ratio, prefix)
    x = layers.Conv2D(filters, kernel_size=1, padding="same", use_bias=False,
                      name=prefix + "project")(x)
    x = layers.BatchNormalization(axis=axis, epsilon=1e-3, momentum=0.999,
                                  name=prefix + "project_bn")(x)
    if stride == 1 and infilters == filters:
        x = layers.Add(name=prefix + "add")([shortcut, x])
    return x


def MobileNetV3(stack_fn, last_point_ch, input_shape=None, alpha=1.0,
                model_type="large", minimalistic=False, include_top=True,
                weights="imagenet", input_tensor=None, classes=1000,
                pooling=None, dropout_rate=0.2,
                classifier_activation="softmax", include_preprocessing=True,
                name=None):
    """The MobileNetV3 body around `stack_fn` (the inverted residual
    blocks of the Small or Large model)."""
    imagenet_utils.check_weights_argument(weights, include_top, classes)
    if input_shape is not None and input_tensor is not None:
        if tuple(input_shape) != tuple(input_tensor.shape[1:]):
            raise ValueError(
                "input_shape does not match the shape of input_tensor. "
                f"Received: input_shape={input_shape}, "
                f"input_tensor.shape={input_tensor.shape}"
            )
    if input_shape is None and input_tensor is not None:
        input_shape = tuple(input_tensor.shape[1:])
    if input_shape is None:
        input_shape = ((None, None, 3) if _channel_axis() == -1
                       else (3, None, None))
    rows, cols = ((input_shape[0], input_shape[1]) if _channel_axis() == -1
                  else (input_shape[1], input_shape[2]))
    if rows and cols and (rows < 32 or cols < 32):
        raise ValueError(
            "Input size must be at least 32x32; Received `input_shape="
            f"{input_shape}`"
        )
    if weights == "imagenet":
        if (not minimalistic and alpha not in (0.75, 1.0)) or (
                minimalistic and alpha != 1.0):
            raise ValueError(
                "If imagenet weights are being loaded, alpha can be one of "
                "`0.75`, `1.0` for non minimalistic or `1.0` for minimalistic "
                f"only. Received alpha={alpha}"
            )
    img_input = imagenet_utils.image_input(input_tensor, input_shape)
    axis = _channel_axis()
    if minimalistic:
        kernel, activation, se_ratio = 3, relu, None
    else:
        kernel, activation, se_ratio = 5, hard_swish, 0.25
    x = img_input
    if include_preprocessing:
        x = layers.Rescaling(scale=1.0 / 127.5, offset=-1.0)(x)
    x = layers.Conv2D(16, kernel_size=3, strides=(2, 2), padding="same",
                      use_bias=False, name="conv")(x)
    x = layers.BatchNormalization(axis=axis, epsilon=1e-3, momentum=0.999,
                                  name="conv_bn")(x)
    x = activation(x)
    x = stack_fn(x, kernel, activation, se_ratio)
    last_conv_ch = _depth(x.shape[axis] * 6)
    if alpha > 1.0:
        last_point_ch = _depth(last_point_ch * alpha)
    x = layers.Conv2D(last_conv_ch, kernel_size=1, padding="same",
                      use_bias=False, name="conv_1")(x)
    x = layers.BatchNormalization(axis=axis, epsilon=1e-3, momentum=0.999,
                                  name="conv_1_bn")(x)
    x = activation(x)
    if include_top:
        x = layers.GlobalAveragePooling2D(keepdims=True)(x)
        x = layers.Conv2D(last_point_ch, kernel_size=1, padding="same",
                          use_bias=True, name="conv_2")(x)
        x = activation(x)
        if dropout_rate > 0:
            x = layers.Dropout(dropout_rate)(x)
        x = layers.Conv2D(classes, kernel_size=1, padding="same",
                          name="logits")(x)
        x = layers.Flatten()(x)
        imagenet_utils.validate_activation(classifier_activation, weights)
        x = layers.Activation(activation=classifier_activation,
                              name="predictions")(x)
    else:
        x = _common.global_pool(x, pooling, "avg_pool", "max_pool")
    model = _common.make_model(input_tensor, img_input, x, name)
    if weights == "imagenet":
        stem = (f"{model_type}{'_minimalistic' if minimalistic else ''}"
                f"_224_{alpha}_float")
        suffix = ".h5" if include_top else "_no_top_v2.h5"
        file_name = f"weights_mobilenet_v3_{stem}{suffix}"
        return imagenet_utils.load_model_weights(model, weights, file_name,
                                                 BASE_WEIGHT_PATH)
    return imagenet_utils.load_model_weights(model, weights)


def _small_stack(alpha):
    def depth(d):
        return _depth(d * alpha)

    def stack_fn(x, kernel, activation, se_ratio):
        plan = [  # (expansion, filters, kernel, stride, se, activation)
            (1, 16, 3, 2, se_ratio, relu),
            (72.0 / 16, 24, 3, 2, None, relu),
            (88.0 / 24, 24, 3, 1, None, relu),
            (4, 40, kernel, 2, se_ratio, activation),
            (6, 40, kernel, 1, se_ratio, activation),
            (6, 40, kernel, 1, se_ratio, activation),
            (3, 48, kernel, 1, se_ratio, activation),
            (3, 48, kernel, 1, se_ratio, activation),
            (6, 96, kernel, 2, se_ratio, activation),
            (6, 96, kernel, 1, se_ratio, activation),
            (6, 96, kernel, 1, se_ratio, activation),
        ]
        for i, (e, f, k, s, se, act) in enumerate(plan):
            x = _inverted_res_block(x, e, depth(f), k, s, se, act, i)
        return x

    return stack_fn


def _large_stack(alpha):
    def depth(d):
        return _depth(d * alpha)

    def stack_fn(x, kernel, activation, se_ratio):
        plan = [
            (1, 16, 3, 1, None, relu),
            (4, 24, 3, 2, None, relu),
            (3, 24, 3, 1, None, relu),
            (3, 40, kernel, 2, se_ratio, relu),
            (3, 40, kernel, 1, se_ratio, relu),
            (3, 40, kernel, 1, se_ratio, relu),
            (6, 80, 3, 2, None, activation),
            (2.5, 80, 3, 1, None, activation),
            (2.3, 80, 3, 1, None, activation),
            (2.3, 80, 3, 1, None, activation),
            (6, 112, 3, 1, se_ratio, activation),
            (6, 112, 3, 1, se_ratio, activation),
            (6, 160, kernel, 2, se_ratio, activation),
            (6, 160, kernel, 1, se_ratio, activation),
            (6, 160, kernel, 1, se_ratio, activation),
        ]
        for i, (e, f, k, s, se, act) in enumerate(plan):
            x = _inverted_res_block(x, e, depth(f), k, s, se, act, i)
        return x

    return stack_fn


def MobileNetV3Small(input_shape=None, alpha=1.0, minimalistic=False,
                     include_top=True, weights="imagenet", input_tensor=None,
                     classes=1000, pooling=None, dropout_rate=0.2,
                     classifier_activation="softmax",
                     include_preprocessing=True, name="MobileNetV3Small"):
    return MobileNetV3(_small_stack(alpha), 1024, input_shape, alpha,
                       "small", minimalistic, include_top, weights,
                       input_tensor, classes, pooling, dropout_rate,
                       classifier_activation, include_preprocessing, name)


def MobileNetV3Large(input_shape=None, alpha=1.0, minimalistic=False,
                     include_top=True, weights="imagenet", input_tensor=None,
                     classes=1000, pooling=None, dropout_rate=0.2,
                     classifier_activation="softmax",
                     include_preprocessing=True, name="MobileNetV3Large"):
    return MobileNetV3(_large_stack(alpha), 1280, input_shape, alpha,
                       "large", minimalistic, include_top, weights,
                       input_tensor, classes, pooling, dropout_rate,
                       classifier_activation, include_preprocessing, name)


for _fn in (MobileNetV3Small, MobileNetV3Large):
    _common.document(
        _fn, f"Instantiates the {_fn.__name__} architecture "
             "(Howard et al., 2019).",
        args={"input_shape": "optional shape tuple (default `(None, None, "
                             "3)`); at least {min_size}x{min_size}.",
              "alpha": "the width multiplier (ImageNet weights: 0.75 and "
                       "1.0, or 1.0 when minimalistic).",
              "minimalistic": "3x3 kernels, relu and no squeeze-excite "
                              "blocks.",
              "dropout_rate": "the dropout rate before the classifier.",
              "include_preprocessing": "whether the model rescales its "
                                       "[0, 255] input to [-1, 1] itself (a "
                                       "`Rescaling` layer)."})


def preprocess_input(x, data_format=None):
    """The identity: MobileNetV3 models rescale their input themselves
    (`include_preprocessing=True`); kept for API compatibility."""
    return x


decode_predictions = imagenet_utils.decode_predictions
