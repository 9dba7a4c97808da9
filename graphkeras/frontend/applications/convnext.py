"""ConvNeXt Tiny / Small / Base / Large / XLarge, as
keras.applications.convnext. Reference: Liu et al., A ConvNet for the
2020s (CVPR 2022).

`LayerScale` and `StochasticDepth` are registered and written under
Keras's names and module, so Keras's ConvNeXt files load here and ours
load in Keras.
"""

from __future__ import annotations

import numpy as np

from ... import initializers, layers, ops
from ..layers.layer import Layer
from ..models import Sequential
from . import _common, imagenet_utils

BASE_WEIGHTS_PATH = (
    "https://storage.googleapis.com/tensorflow/keras-applications/convnext/"
)
# (with top, without top) sha256 of Keras's files
WEIGHTS_HASHES = {
    "convnext_tiny": (
        "8ae6e78ce2933352b1ef4008e6dd2f17bc40771563877d156bc6426c7cf503ff",
        "d547c096cabd03329d7be5562c5e14798aa39ed24b474157cef5e85ab9e49ef1"),
    "convnext_small": (
        "ce1277d8f1ee5a0ef0e171469089c18f5233860ceaf9b168049cb9263fd7483c",
        "6fc8009faa2f00c1c1dfce59feea9b0745eb260a7dd11bee65c8e20843da6eab"),
    "convnext_base": (
        "52cbb006d3dadd03f6e095a8ca1aca47aecdd75acb4bc74bce1f5c695d0086e6",
        "40a20c5548a5e9202f69735ecc06c990e6b7c9d2de39f0361e27baeb24cb7c45"),
    "convnext_large": (
        "070c5ed9ed289581e477741d3b34beffa920db8cf590899d6d2c67fba2a198a6",
        "96f02b6f0753d4f543261bc9d09bed650f24dd6bc02ddde3066135b63d23a1cd"),
    "convnext_xlarge": (
        "c1f5ccab661354fc3a79a10fa99af82f0fbf10ec65cb894a3ae0815f17a889ee",
        "de3f8a54174130e0cecdc71583354753d557fcf1f4487331558e2a16ba0cfe05"),
}
MODEL_CONFIGS = {
    "tiny": {"depths": [3, 3, 9, 3],
             "projection_dims": [96, 192, 384, 768], "default_size": 224},
    "small": {"depths": [3, 3, 27, 3],
              "projection_dims": [96, 192, 384, 768], "default_size": 224},
    "base": {"depths": [3, 3, 27, 3],
             "projection_dims": [128, 256, 512, 1024], "default_size": 224},
    "large": {"depths": [3, 3, 27, 3],
              "projection_dims": [192, 384, 768, 1536], "default_size": 224},
    "xlarge": {"depths": [3, 3, 27, 3],
               "projection_dims": [256, 512, 1024, 2048],
               "default_size": 224},
}


@_common.keras_class("keras.src.applications.convnext")
class StochasticDepth(Layer):
    """Drops the whole residual branch of a sample with probability
    `drop_path_rate` in training (scaling the kept ones); the identity at
    inference.

    Args:
        drop_path_rate: the probability of dropping the branch.
    """

    def __init__(self, drop_path_rate, **kwargs):
        super().__init__(**kwargs)
        self.drop_path_rate = drop_path_rate

    def call(self, x, training=None):
        if training:
            from ... import random

            keep = 1 - self.drop_path_rate
            shape = (ops.shape(x)[0],) + (1,) * (len(x.shape) - 1)
            mask = ops.floor(keep + random.uniform(shape, 0, 1))
            return (x / keep) * mask
        return x

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "drop_path_rate": self.drop_path_rate}


@_common.keras_class("keras.src.applications.convnext")
class LayerScale(Layer):
    """Multiplies the last axis by a learned vector, initially
    `init_values` (Touvron et al., Going deeper with Image Transformers).

    Args:
        init_values: the initial value of the scale.
        projection_dim: the size of the last axis.
    """

    def __init__(self, init_values, projection_dim, **kwargs):
        super().__init__(**kwargs)
        self.init_values = init_values
        self.projection_dim = projection_dim

    def build(self, _):
        # unnamed, as in Keras: "variable", "variable_1", ...
        self.gamma = self.add_weight(
            shape=(self.projection_dim,),
            initializer=initializers.Constant(self.init_values),
            trainable=True)
        self.built = True

    def call(self, x):
        return x * self.gamma

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "init_values": self.init_values,
                "projection_dim": self.projection_dim}


def ConvNeXtBlock(projection_dim, drop_path_rate=0.0,
                  layer_scale_init_value=1e-6, name=None):
    """Depthwise 7x7, layer norm, an MLP (4x, gelu), layer scale, and the
    residual (through stochastic depth when `drop_path_rate`)."""

    def apply(inputs):
        x = layers.Conv2D(filters=projection_dim, kernel_size=7,
                          padding="same", groups=projection_dim,
                          name=name + "_depthwise_conv")(inputs)
        x = layers.LayerNormalization(epsilon=1e-6,
                                      name=name + "_layernorm")(x)
        x = layers.Dense(4 * projection_dim,
                         name=name + "_pointwise_conv_1")(x)
        x = layers.Activation("gelu", name=name + "_gelu")(x)
        x = layers.Dense(projection_dim, name=name + "_pointwise_conv_2")(x)
        if layer_scale_init_value is not None:
            x = LayerScale(layer_scale_init_value, projection_dim,
                           name=name + "_layer_scale")(x)
        if drop_path_rate:
            branch = StochasticDepth(drop_path_rate,
                                     name=name + "_stochastic_depth")
        else:
            branch = layers.Activation("linear", name=name + "_identity")
        return inputs + branch(x)

    return apply


def PreStem(name):
    """Normalizes [0, 255] inputs by ImageNet's mean and variance."""

    def apply(x):
        return layers.Normalization(
            mean=[0.485 * 255, 0.456 * 255, 0.406 * 255],
            variance=[(0.229 * 255) ** 2, (0.224 * 255) ** 2,
                      (0.225 * 255) ** 2],
            name=name + "_prestem_normalization")(x)

    return apply


def Head(num_classes=1000, classifier_activation=None, name=None):
    """Global average pooling, layer norm and the classifier."""

    def apply(x):
        x = layers.GlobalAveragePooling2D(name=name + "_head_gap")(x)
        x = layers.LayerNormalization(epsilon=1e-6,
                                      name=name + "_head_layernorm")(x)
        return layers.Dense(num_classes, activation=classifier_activation,
                            name=name + "_head_dense")(x)

    return apply


def ConvNeXt(depths, projection_dims, drop_path_rate=0.0,
             layer_scale_init_value=1e-6, default_size=224, name="convnext",
             include_preprocessing=True, include_top=True, weights=None,
             input_tensor=None, input_shape=None, pooling=None, classes=1000,
             classifier_activation="softmax", weights_name=None):
    """The ConvNeXt body: a patchify stem, four stages of `depths` blocks of
    widths `projection_dims`, 2x2 downsampling between them."""
    inputs, shape = _common.prepare(weights, include_top, classes,
                                    input_tensor, input_shape, default_size,
                                    32)
    x = inputs
    if include_preprocessing:
        channels = shape[imagenet_utils.bn_axis() - 1]
        if channels == 3:
            x = PreStem(name=name)(x)
    stem = Sequential([
        layers.Conv2D(projection_dims[0], kernel_size=4, strides=4,
                      name=name + "_stem_conv"),
        layers.LayerNormalization(epsilon=1e-6,
                                  name=name + "_stem_layernorm"),
    ], name=name + "_stem")
    downsample = [stem]
    for i in range(3):
        downsample.append(Sequential([
            layers.LayerNormalization(
                epsilon=1e-6, name=f"{name}_downsampling_layernorm_{i}"),
            layers.Conv2D(projection_dims[i + 1], kernel_size=2, strides=2,
                          name=f"{name}_downsampling_conv_{i}"),
        ], name=f"{name}_downsampling_block_{i}"))
    rates = [float(r) for r in np.linspace(0.0, drop_path_rate, sum(depths))]
    cur = 0
    for i in range(4):
        x = downsample[i](x)
        for j in range(depths[i]):
            x = ConvNeXtBlock(projection_dim=projection_dims[i],
                              drop_path_rate=rates[cur + j],
                              layer_scale_init_value=layer_scale_init_value,
                              name=f"{name}_stage_{i}_block_{j}")(x)
        cur += depths[i]
    if include_top:
        imagenet_utils.validate_activation(classifier_activation, weights)
        x = Head(num_classes=classes,
                 classifier_activation=classifier_activation, name=name)(x)
    else:
        x = _common.global_pool(x, pooling)
        x = layers.LayerNormalization(epsilon=1e-6)(x)
    model = _common.make_model(input_tensor, inputs, x, name)
    key = weights_name or name
    if weights == "imagenet" and key in WEIGHTS_HASHES:
        file_name = key + (".h5" if include_top else "_notop.h5")
        return imagenet_utils.load_model_weights(
            model, weights, file_name, BASE_WEIGHTS_PATH,
            WEIGHTS_HASHES[key][0 if include_top else 1])
    return imagenet_utils.load_model_weights(model, weights)


def _variant(size):
    key = f"convnext_{size}"
    cfg = MODEL_CONFIGS[size]

    def constructor(include_top=True, include_preprocessing=True,
                    weights="imagenet", input_tensor=None, input_shape=None,
                    pooling=None, classes=1000,
                    classifier_activation="softmax", name=key):
        return ConvNeXt(depths=cfg["depths"],
                        projection_dims=cfg["projection_dims"],
                        drop_path_rate=0.0, layer_scale_init_value=1e-6,
                        default_size=cfg["default_size"], name=name,
                        include_preprocessing=include_preprocessing,
                        include_top=include_top, weights=weights,
                        input_tensor=input_tensor, input_shape=input_shape,
                        pooling=pooling, classes=classes,
                        classifier_activation=classifier_activation,
                        weights_name=key)

    constructor.__name__ = constructor.__qualname__ = \
        "ConvNeXt" + ("XLarge" if size == "xlarge" else size.capitalize())
    _common.document(
        constructor,
        f"Instantiates the {constructor.__name__} architecture "
        "(Liu et al., 2022).",
        notes="The model takes images with values in [0, 255] and "
              "normalizes them itself (`include_preprocessing=True`; "
              "`preprocess_input` is the identity).",
        args={"include_top": "whether to include the classifier head.",
              "include_preprocessing": "whether to include the input "
                                       "normalization."})
    return constructor


ConvNeXtTiny = _variant("tiny")
ConvNeXtSmall = _variant("small")
ConvNeXtBase = _variant("base")
ConvNeXtLarge = _variant("large")
ConvNeXtXLarge = _variant("xlarge")


def preprocess_input(x, data_format=None):
    """The identity: ConvNeXt models normalize their [0, 255] input
    themselves (`include_preprocessing=True`)."""
    return x


decode_predictions = imagenet_utils.decode_predictions
