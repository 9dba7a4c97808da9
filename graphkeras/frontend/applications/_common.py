"""What every application shares: the input, the head, the model.

Invariant: the layers made here carry Keras's names (or none, where Keras
gives none), so configs and weight files match Keras's layer for layer.
"""

from __future__ import annotations

from ... import layers
from ..models import Functional
from . import imagenet_utils


def keras_class(module: str):
    """Register a layer class under its bare name, as Keras registers the
    applications' layers (registered_name "LayerScale"), and write
    Keras's `module` for it, so files go both ways."""
    from ..saving import object_registration

    def decorator(cls):
        cls._keras_module = module
        object_registration.GLOBAL_CUSTOM_OBJECTS[cls.__name__] = cls
        object_registration.GLOBAL_CUSTOM_NAMES[cls] = cls.__name__
        return cls

    return decorator


def prepare(weights, include_top, classes, input_tensor, input_shape,
            default_size, min_size, default_classes=1000):
    """Check the arguments and make the image input: `(img_input, shape)`."""
    imagenet_utils.check_weights_argument(weights, include_top, classes,
                                          default_classes)
    from ... import config

    shape = imagenet_utils.obtain_input_shape(
        input_shape, default_size=default_size, min_size=min_size,
        data_format=config.image_data_format(), require_flatten=include_top,
        weights=weights)
    return imagenet_utils.image_input(input_tensor, shape), shape


def global_pool(x, pooling, avg_name=None, max_name=None):
    """`pooling` "avg" / "max" for feature extraction (None: no pooling)."""
    if pooling == "avg":
        return layers.GlobalAveragePooling2D(name=avg_name)(x)
    if pooling == "max":
        return layers.GlobalMaxPooling2D(name=max_name)(x)
    return x


def dense_head(x, classes, classifier_activation, weights,
               name="predictions"):
    imagenet_utils.validate_activation(classifier_activation, weights)
    return layers.Dense(classes, activation=classifier_activation,
                        name=name)(x)


def make_model(input_tensor, img_input, outputs, name):
    inputs = imagenet_utils.model_inputs(input_tensor, img_input)
    return Functional(inputs, outputs, name=name)
