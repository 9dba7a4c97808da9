"""What every application shares: the input, the head, the model.

Invariant: the layers made here carry Keras's names (or none, where Keras
gives none), so configs and weight files match Keras's layer for layer.
"""

from __future__ import annotations

import inspect
import textwrap

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


def top(x, include_top, pooling, classes, classifier_activation, weights,
        avg_name="avg_pool", pool_names=(None, None)):
    """The usual end of a base: global average pooling and the
    "predictions" layer with `include_top`, else `pooling` (named
    `pool_names` where Keras names them)."""
    if include_top:
        x = layers.GlobalAveragePooling2D(name=avg_name)(x)
        return dense_head(x, classes, classifier_activation, weights)
    return global_pool(x, pooling, *pool_names)


def tf_kernels_file(key: str, include_top: bool) -> str:
    """Keras's name of a family's ImageNet weights file, for the families
    that follow the `<key>_weights_tf_dim_ordering_tf_kernels` scheme."""
    suffix = "" if include_top else "_notop"
    return f"{key}_weights_tf_dim_ordering_tf_kernels{suffix}.h5"


def make_model(input_tensor, img_input, outputs, name):
    inputs = imagenet_utils.model_inputs(input_tensor, img_input)
    return Functional(inputs, outputs, name=name)


# input_shape's wording for families whose members differ in default size
ARGS_SIZED_SHAPE = ("optional shape tuple, only with `include_top=False`; "
                    "at least {min_size}x{min_size}.")

# what the constructors' shared arguments mean; a family passes its own
# arguments (and any different wording) to `document`
ARGS = {
    "include_top": "whether to include the classifier.",
    "weights": '`None`, `"imagenet"` (Keras\'s ImageNet weights, from '
               "Keras's cache `~/.keras/models`) or the path of a weights "
               "file.",
    "input_tensor": "optional Keras tensor to use as the image input.",
    "input_shape": "optional shape tuple, only with `include_top=False` "
                   "(otherwise `({size}, {size}, 3)`); at least "
                   "{min_size}x{min_size}.",
    "pooling": 'with `include_top=False`: None, "avg" or "max".',
    "classes": "the number of classes, with `include_top=True` and no "
               "`weights`.",
    "classifier_activation": "the activation of the top layer.",
    "include_preprocessing": "whether the model rescales its [0, 255] "
                             "input itself.",
    "name": "the model's name.",
}


def document(fn, title: str, *, size: int = 224, min_size: int = 32,
             notes: str = "", args: dict | None = None,
             example: str | None = None):
    """Give an application constructor its docstring: `title`, `notes`,
    an Args entry per parameter of its signature in order (ARGS, or the
    family's wording in `args`), and an example at the smallest size."""
    words = {**ARGS, **(args or {})}
    lines = [title, ""]
    if notes:
        lines += [*textwrap.wrap(notes, 72), ""]
    lines.append("Args:")
    for p in inspect.signature(fn).parameters:
        text = words[p].format(size=size, min_size=min_size)
        lines += textwrap.wrap(f"{p}: {text}", 72, initial_indent="    ",
                               subsequent_indent="        ")
    call = example or (f"weights=None, input_shape=({min_size}, "
                       f"{min_size}, 3), classes=10")
    lines += ["", "Returns:", "    A `Model`.", "", "Example:"]
    example = textwrap.wrap(f">>> model = {fn.__name__}({call})", 56,
                            initial_indent="    ",
                            subsequent_indent="    ...     ")
    lines += [*example[:-1], example[-1] + "  # doctest: +SKIP"]
    fn.__doc__ = "\n".join(lines[:1] + [
        ("    " + ln) if ln else ln for ln in lines[1:]]) + "\n    "
    return fn
