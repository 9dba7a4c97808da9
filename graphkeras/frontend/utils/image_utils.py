"""Image helpers of keras.utils: img_to_array needs nothing but NumPy;
array_to_img, load_img and save_img work on PIL images and need Pillow,
which graphkeras does not depend on: without it they raise an ImportError
naming Pillow (as Keras does without PIL).
"""

from __future__ import annotations

import numpy as np

from ...config import floatx
from ..ops.nn import standardize_data_format


def _pil():
    try:
        from PIL import Image
    except ImportError:
        raise ImportError(
            "This image function needs Pillow (PIL), which is not installed: "
            "`pip install pillow`. img_to_array works on NumPy arrays "
            "without it."
        ) from None
    return Image


def img_to_array(img, data_format=None, dtype=None):
    """An image (a PIL image or an array of rank 2 or 3) as a float array
    in the given data format ((H, W, C) for channels_last)."""
    data_format = standardize_data_format(data_format)
    x = np.asarray(img, dtype=dtype or floatx())
    if x.ndim == 3:
        if data_format == "channels_first":
            x = x.transpose(2, 0, 1)
    elif x.ndim == 2:
        x = x.reshape((1,) + x.shape if data_format == "channels_first"
                      else x.shape + (1,))
    else:
        raise ValueError(
            "img_to_array expects an image of rank 2 or 3. Received an array "
            f"of shape {x.shape}."
        )
    return x


def array_to_img(x, data_format=None, scale=True, dtype=None):
    """A rank-3 array as a PIL image (scaled to 0..255 when `scale`)."""
    data_format = standardize_data_format(data_format)
    image = _pil()
    x = np.array(x, dtype=dtype or floatx())
    if x.ndim != 3:
        raise ValueError(
            "Expected image array to have rank 3 (single image). Got array "
            f"with shape: {x.shape}"
        )
    if data_format == "channels_first":
        x = x.transpose(1, 2, 0)
    if scale:
        x = x - np.min(x)
        top = np.max(x)
        if top != 0:
            x /= top
        x *= 255
    channels = x.shape[2]
    if channels in (3, 4):
        return image.fromarray(x.astype("uint8"), "RGBA" if channels == 4
                               else "RGB")
    if channels == 1:
        if np.max(x) > 255:
            return image.fromarray(x[:, :, 0].astype("int32"), "I")
        return image.fromarray(x[:, :, 0].astype("uint8"), "L")
    raise ValueError(
        f"array_to_img supports 1, 3 or 4 channels. Received: {channels}."
    )


def save_img(path, x, data_format=None, file_format=None, scale=True,
             **kwargs):
    """Save an array as an image file (needs Pillow)."""
    img = array_to_img(x, data_format=data_format, scale=scale)
    if img.mode == "RGBA" and (file_format == "jpg" or file_format == "jpeg"
                               or str(path).lower().endswith((".jpg", ".jpeg"))):
        img = img.convert("RGB")
    img.save(path, format=file_format, **kwargs)


def load_img(path, color_mode="rgb", target_size=None,
             interpolation="nearest", keep_aspect_ratio=False):
    """Load an image file as a PIL image (needs Pillow)."""
    image = _pil()
    if color_mode not in ("grayscale", "rgb", "rgba"):
        raise ValueError(
            "color_mode must be 'grayscale', 'rgb' or 'rgba'. Received: "
            f"color_mode={color_mode!r}"
        )
    with open(path, "rb") as f:
        img = image.open(f)
        img.load()
    mode = {"grayscale": "L", "rgb": "RGB", "rgba": "RGBA"}[color_mode]
    if img.mode != mode:
        img = img.convert(mode)
    if target_size is not None:
        size = (target_size[1], target_size[0])
        if img.size != size:
            methods = {"nearest": image.NEAREST, "bilinear": image.BILINEAR,
                       "bicubic": image.BICUBIC}
            if interpolation not in methods:
                raise ValueError(
                    f"interpolation must be one of {sorted(methods)}. "
                    f"Received: interpolation={interpolation!r}"
                )
            if keep_aspect_ratio:
                w, h = img.size
                tw, th = size
                crop_h, crop_w = min(h, w * th // tw), min(w, h * tw // th)
                top, left = (h - crop_h) // 2, (w - crop_w) // 2
                img = img.crop((left, top, left + crop_w, top + crop_h))
            img = img.resize(size, methods[interpolation])
    return img


def smart_resize(x, size, interpolation="bilinear",
                 data_format="channels_last", **kwargs):
    """Resize images (rank 3 or 4) to `size` without distorting them: the
    largest centred window of the target's aspect ratio, then resized
    (Keras 3's keras.preprocessing.image.smart_resize). A NumPy input
    gives a NumPy array.

    Example:
        >>> smart_resize(np.zeros((6, 4, 3), "float32"), (2, 2)).shape
        (2, 2, 3)
    """
    from .. import ops

    kwargs.pop("backend_module", None)
    if kwargs:
        raise TypeError("smart_resize() got unexpected keyword arguments: "
                        f"{list(kwargs.keys())}")
    if len(size) != 2:
        raise ValueError("Expected `size` to be a tuple of 2 integers, but "
                         f"got: {size}.")
    rank = len(ops.shape(x))
    if rank not in (3, 4):
        raise ValueError(
            "Expected an image array with shape `(height, width, channels)`, "
            "or `(batch_size, height, width, channels)`, but got input with "
            f"incorrect rank, of shape {tuple(ops.shape(x))}.")
    out = ops.image.resize(x, tuple(size), interpolation=interpolation,
                           crop_to_aspect_ratio=True,
                           data_format=data_format)
    return np.asarray(out) if isinstance(x, np.ndarray) else out
