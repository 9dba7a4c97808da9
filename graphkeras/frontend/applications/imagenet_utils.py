"""ImageNet helpers shared by the applications, as keras.applications.imagenet_utils.

`preprocess_input` (modes "caffe", "tf", "torch"), `decode_predictions`
(the class index file is fetched once through `get_file`, into Keras's
cache: `~/.keras/models/imagenet_class_index.json`), `obtain_input_shape`,
`correct_pad`, `validate_activation`, and the weights resolution every
architecture shares (`check_weights_argument`, `load_model_weights`).

Invariant: `weights="imagenet"` never needs the network when the file is in
Keras's cache, and without the file and the network the error names the
file, its URL and the path to put it at.
"""

from __future__ import annotations

import json
import os
import warnings

import numpy as np

from ... import config
from .. import activations
from ..utils import file_utils

CLASS_INDEX = None
CLASS_INDEX_PATH = (
    "https://storage.googleapis.com/download.tensorflow.org/"
    "data/imagenet_class_index.json"
)
_CLASS_INDEX_HASH = "c2c37ea517e94d9795004a39431a14cb"

_CAFFE_MEAN = (103.939, 116.779, 123.68)
_TORCH_MEAN = (0.485, 0.456, 0.406)
_TORCH_STD = (0.229, 0.224, 0.225)


def _data_format(data_format):
    if data_format is None:
        return config.image_data_format()
    if data_format not in ("channels_first", "channels_last"):
        raise ValueError(
            "Expected data_format to be one of `channels_first` or "
            f"`channels_last`. Received: data_format={data_format}"
        )
    return data_format


def _channel_view(ndim: int, data_format: str) -> tuple:
    """The shape a per-channel vector takes to broadcast over images."""
    if data_format == "channels_last":
        return (1,) * (ndim - 1) + (3,)
    if ndim == 3:
        return (3, 1, 1)
    return (1, 3) + (1,) * (ndim - 2)


def preprocess_input(x, data_format=None, mode="caffe"):
    """Preprocess a batch of images (values in [0, 255]) for a model.

    Args:
        x: a float NumPy array or a symbolic tensor, 3D or 4D, with 3 color
            channels. A float NumPy array is modified in place, as in Keras
            (pass `np.copy(x)` to keep it).
        data_format: "channels_last" or "channels_first" (default: the
            global `image_data_format()`).
        mode: "caffe" (RGB to BGR, then subtract the ImageNet mean per
            channel, no scaling), "tf" (scale to [-1, 1]) or "torch" (scale
            to [0, 1], then normalize each channel by ImageNet's mean and
            standard deviation).

    Returns:
        The preprocessed images, float32 for integer inputs.

    Example:
        >>> x = np.full((1, 2, 2, 3), 255.0, dtype="float32")
        >>> float(preprocess_input(x, mode="tf")[0, 0, 0, 0])
        1.0
    """
    if mode not in ("caffe", "tf", "torch"):
        raise ValueError(
            "Expected mode to be one of `caffe`, `tf` or `torch`. "
            f"Received: mode={mode}"
        )
    data_format = _data_format(data_format)
    if isinstance(x, np.ndarray):
        return _preprocess_numpy(x, data_format, mode)
    return _preprocess_tensor(x, data_format, mode)


def _preprocess_numpy(x, data_format, mode):
    if not np.issubdtype(x.dtype, np.floating):
        x = x.astype(config.floatx())
    if mode == "tf":
        x /= 127.5
        x -= 1.0
        return x
    view = _channel_view(x.ndim, data_format)
    if mode == "torch":
        x /= 255.0
        x -= np.asarray(_TORCH_MEAN, x.dtype).reshape(view)
        x /= np.asarray(_TORCH_STD, x.dtype).reshape(view)
        return x
    # caffe: RGB -> BGR, then zero-center each channel
    axis = -1 if data_format == "channels_last" else (0 if x.ndim == 3 else 1)
    x = np.flip(x, axis=axis)
    x -= np.asarray(_CAFFE_MEAN, x.dtype).reshape(view)
    return x


def _preprocess_tensor(x, data_format, mode):
    from .. import ops

    if mode == "tf":
        return x / 127.5 - 1.0
    view = _channel_view(len(x.shape), data_format)
    if mode == "torch":
        x = x / 255.0
        x = x - np.asarray(_TORCH_MEAN, "float32").reshape(view)
        return x / np.asarray(_TORCH_STD, "float32").reshape(view)
    axis = -1 if data_format == "channels_last" else (
        0 if len(x.shape) == 3 else 1)
    x = ops.flip(x, axis=axis)
    return x - np.asarray(_CAFFE_MEAN, "float32").reshape(view)


def _class_index() -> dict:
    global CLASS_INDEX
    if CLASS_INDEX is None:
        path = fetch_file(
            "imagenet_class_index.json", CLASS_INDEX_PATH,
            file_hash=_CLASS_INDEX_HASH, what="decode_predictions")
        with open(path) as f:
            CLASS_INDEX = json.load(f)
    return CLASS_INDEX


def preprocess_input_tf(x, data_format=None):
    """Scale pixels from [0, 255] to [-1, 1] (mode "tf"): the
    `preprocess_input` of MobileNet, MobileNetV2, NASNet, ResNetV2,
    Xception, InceptionV3 and InceptionResNetV2."""
    return preprocess_input(x, data_format=data_format, mode="tf")


def preprocess_input_caffe(x, data_format=None):
    """Caffe-style preprocessing: RGB to BGR, then subtract the ImageNet
    mean of each channel, no scaling (mode "caffe"): the
    `preprocess_input` of ResNet and VGG."""
    return preprocess_input(x, data_format=data_format, mode="caffe")


def decode_predictions(preds, top=5):
    """The top ImageNet classes of each prediction.

    Args:
        preds: an array of shape `(samples, 1000)`.
        top: how many classes to return per sample (default 5).

    Returns:
        One list per sample of `(class_name, class_description, score)`
        tuples, best first.

    Raises:
        ValueError: when `preds` is not of shape `(samples, 1000)`.
    """
    preds = np.asarray(preds)
    if preds.ndim != 2 or preds.shape[1] != 1000:
        raise ValueError(
            "`decode_predictions` expects a batch of predictions (i.e. a 2D "
            "array of shape (samples, 1000)). Received array with shape: "
            f"{preds.shape}"
        )
    index = _class_index()
    results = []
    for pred in preds:
        best = pred.argsort()[-top:][::-1]
        row = [tuple(index[str(i)]) + (pred[i],) for i in best]
        row.sort(key=lambda t: t[2], reverse=True)
        results.append(row)
    return results


def obtain_input_shape(input_shape, default_size, min_size, data_format,
                       require_flatten, weights=None):
    """The model's input shape: the default one, or `input_shape` checked.

    Args:
        input_shape: None (the default shape) or a 3-tuple to check.
        default_size: the default height and width.
        min_size: the smallest height and width the model accepts.
        data_format: "channels_last" or "channels_first".
        require_flatten: True when a classifier follows (`include_top`):
            the shape must then be static.
        weights: None, "imagenet" (3 channels required) or a path.

    Returns:
        A shape tuple (may hold None for height and width).
    """
    last = data_format != "channels_first"
    if weights != "imagenet" and input_shape and len(input_shape) == 3:
        channels = input_shape[-1] if last else input_shape[0]
        if channels not in (1, 3):
            warnings.warn(
                "This model usually expects 1 or 3 input channels. However, "
                f"it was passed an input_shape with {channels} input "
                "channels.",
                stacklevel=3,
            )
        default_shape = ((default_size, default_size, channels) if last
                         else (channels, default_size, default_size))
    else:
        default_shape = ((default_size, default_size, 3) if last
                         else (3, default_size, default_size))
    if weights == "imagenet" and require_flatten:
        if input_shape is not None and tuple(input_shape) != default_shape:
            raise ValueError(
                "When setting `include_top=True` and loading `imagenet` "
                f"weights, `input_shape` should be {default_shape}.  "
                f"Received: input_shape={input_shape}"
            )
        return default_shape
    if input_shape:
        input_shape = tuple(input_shape)
        if len(input_shape) != 3:
            raise ValueError(
                "`input_shape` must be a tuple of three integers. Received: "
                f"input_shape={input_shape}"
            )
        channels = input_shape[-1] if last else input_shape[0]
        spatial = input_shape[:2] if last else input_shape[1:]
        if channels != 3 and weights == "imagenet":
            raise ValueError(
                "The input must have 3 channels; Received "
                f"`input_shape={input_shape}`"
            )
        if any(s is not None and s < min_size for s in spatial):
            raise ValueError(
                f"Input size must be at least {min_size}x{min_size}; "
                f"Received: input_shape={input_shape}"
            )
    elif require_flatten:
        input_shape = default_shape
    else:
        input_shape = (None, None, 3) if last else (3, None, None)
    if require_flatten and None in input_shape:
        raise ValueError(
            "If `include_top` is True, you should specify a static "
            f"`input_shape`. Received: input_shape={input_shape}"
        )
    return input_shape


def correct_pad(inputs, kernel_size):
    """The ((top, bottom), (left, right)) zero padding that makes a strided
    "valid" convolution of `kernel_size` centered, as TF's "same" would."""
    first = 2 if config.image_data_format() == "channels_first" else 1
    size = inputs.shape[first:first + 2]
    if isinstance(kernel_size, int):
        kernel_size = (kernel_size, kernel_size)
    adjust = (1, 1) if size[0] is None else (1 - size[0] % 2, 1 - size[1] % 2)
    half = (kernel_size[0] // 2, kernel_size[1] // 2)
    return ((half[0] - adjust[0], half[0]), (half[1] - adjust[1], half[1]))


def validate_activation(classifier_activation, weights):
    """With pretrained weights, only `None` and "softmax" are allowed."""
    if weights is None:
        return
    fn = activations.get(classifier_activation)
    if fn not in (activations.get("softmax"), activations.get(None)):
        raise ValueError(
            "Only `None` and `softmax` activations are allowed for the "
            "`classifier_activation` argument when using pretrained weights, "
            f"with `include_top=True`; Received: {classifier_activation}"
        )


# --- weights -----------------------------------------------------------------


def check_weights_argument(weights, include_top, classes, default_classes=1000):
    """Keras's checks of `weights` (None, "imagenet" or an existing file)
    and of `classes` with ImageNet weights."""
    if not (weights in ("imagenet", None) or (
            isinstance(weights, (str, os.PathLike))
            and os.path.exists(weights))):
        raise ValueError(
            "The `weights` argument should be either `None` (random "
            "initialization), 'imagenet' (pre-training on ImageNet), or the "
            "path to the weights file to be loaded.  Received: "
            f"weights={weights}"
        )
    if weights == "imagenet" and include_top and classes != default_classes:
        raise ValueError(
            "If using `weights='imagenet'` with `include_top=True`, "
            f"`classes` should be {default_classes}.  "
            f"Received classes={classes}"
        )


def fetch_file(fname, origin, file_hash=None, cache_subdir="models",
               what="weights='imagenet'"):
    """`get_file` from Keras's cache; without the file and the network, one
    error that names the file, its URL and where to put it."""
    target = os.path.join(file_utils.keras_home(), cache_subdir, fname)
    try:
        return file_utils.get_file(fname, origin, cache_subdir=cache_subdir,
                                   file_hash=file_hash)
    except OSError as e:
        # get_file's own message ends with where to put the file: said below
        reason = str(e).split(". The file could not be downloaded")[0]
        raise OSError(
            f"{what} needs the file {fname!r}, which is not in Keras's cache "
            f"and could not be downloaded ({reason}). Download it from "
            f"{origin} on a machine with network access and place it at "
            f"{target} (the cache is $KERAS_HOME/models, ~/.keras/models by "
            "default; a cache filled by Keras serves graphkeras as it is), "
            "or pass `weights=` the path of the file."
        ) from None


def load_model_weights(model, weights, file_name=None, base_url=None,
                       file_hash=None, url=None):
    """Load `weights` into a model built by an application: "imagenet"
    through Keras's cache (`file_name` at `base_url`), a path as it is."""
    if weights == "imagenet":
        if file_name is None:
            return model
        origin = url or base_url + file_name
        path = fetch_file(file_name, origin, file_hash=file_hash)
        model.load_weights(path)
    elif weights is not None:
        model.load_weights(weights)
    return model


def image_input(input_tensor, input_shape):
    """The model's image input: a new Input, or the given `input_tensor`."""
    from ..layers import Input
    from ..tensors import is_keras_tensor

    if input_tensor is None:
        return Input(shape=input_shape)
    if not is_keras_tensor(input_tensor):
        return Input(tensor=input_tensor, shape=input_shape)
    return input_tensor


def model_inputs(input_tensor, img_input):
    """The model's inputs: the sources of `input_tensor` when given."""
    if input_tensor is None:
        return img_input
    from ..utils.model_graph import get_source_inputs

    return get_source_inputs(input_tensor)


def bn_axis() -> int:
    return 3 if config.image_data_format() == "channels_last" else 1
