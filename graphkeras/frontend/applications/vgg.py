"""VGG16 and VGG19, as keras.applications.vgg16 / vgg19.
Reference: Simonyan and Zisserman, Very Deep Convolutional Networks for
Large-Scale Image Recognition (ICLR 2015).
"""

from __future__ import annotations

from ... import layers
from . import _common, imagenet_utils

_BASE = "https://storage.googleapis.com/tensorflow/keras-applications/"
# (with top, without top) md5 of Keras's files
_HASHES = {
    "vgg16": ("64373286793e3c8b2b4e3219cbf3544b",
              "6d6bbae143d832006294945121d1f1fc"),
    "vgg19": ("cbe5617147190e668d6c5d5026f83318",
              "253f8cb515780f3b799900260a226db6"),
}


def _vgg(convs, key, include_top, weights, input_tensor, input_shape,
         pooling, classes, classifier_activation, name):
    img_input, _ = _common.prepare(weights, include_top, classes,
                                   input_tensor, input_shape, 224, 32)
    x = img_input
    for block, (filters, n) in enumerate(
            zip((64, 128, 256, 512, 512), convs), start=1):
        for i in range(1, n + 1):
            x = layers.Conv2D(filters, (3, 3), activation="relu",
                              padding="same",
                              name=f"block{block}_conv{i}")(x)
        x = layers.MaxPooling2D((2, 2), strides=(2, 2),
                                name=f"block{block}_pool")(x)
    if include_top:
        x = layers.Flatten(name="flatten")(x)
        x = layers.Dense(4096, activation="relu", name="fc1")(x)
        x = layers.Dense(4096, activation="relu", name="fc2")(x)
        x = _common.dense_head(x, classes, classifier_activation, weights)
    else:
        x = _common.global_pool(x, pooling)
    model = _common.make_model(input_tensor, img_input, x, name)
    if weights == "imagenet":
        return imagenet_utils.load_model_weights(
            model, weights, _common.tf_kernels_file(key, include_top),
            f"{_BASE}{key}/",
            _HASHES[key][0 if include_top else 1])
    return imagenet_utils.load_model_weights(model, weights)


def VGG16(include_top=True, weights="imagenet", input_tensor=None,
          input_shape=None, pooling=None, classes=1000,
          classifier_activation="softmax", name="vgg16"):
    return _vgg((2, 2, 3, 3, 3), "vgg16", include_top, weights,
                input_tensor, input_shape, pooling, classes,
                classifier_activation, name)


def VGG19(include_top=True, weights="imagenet", input_tensor=None,
          input_shape=None, pooling=None, classes=1000,
          classifier_activation="softmax", name="vgg19"):
    return _vgg((2, 2, 4, 4, 4), "vgg19", include_top, weights,
                input_tensor, input_shape, pooling, classes,
                classifier_activation, name)


for _fn in (VGG16, VGG19):
    _common.document(
        _fn, f"Instantiates the {_fn.__name__} model (Simonyan and "
             "Zisserman, 2014).",
        args={"include_top": "whether to include the 3 fully-connected "
                             "layers (flatten, fc1, fc2, predictions).",
              "classifier_activation": "the activation of the top layer "
                                       "(None for logits)."},
        example="weights=None, include_top=False, input_shape=(32, 32, 3)")


preprocess_input = imagenet_utils.preprocess_input_caffe
decode_predictions = imagenet_utils.decode_predictions
