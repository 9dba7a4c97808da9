"""image_dataset_from_directory, text_dataset_from_directory and
audio_dataset_from_directory: Keras 3's directory datasets, without
TensorFlow.

The files are indexed as Keras 3 indexes them (class subdirectories in
alphanumeric order or as `class_names` gives them, files walked in
sorted order, then shuffled once with `np.random.RandomState(seed)`), so
`file_paths`, `class_names`, the labels and the training / validation
split are Keras's, and so are the printed messages ("Found 6 files
belonging to 2 classes."). The result is a `FileDataset`, a PyDataset of
batches read from disk on demand, which `fit` / `evaluate` / `predict`
take directly, with tf.data's `take`, `map`, `prefetch`, `cache` and
iteration (`for images, labels in ds:`); batches are NumPy arrays that
also answer tf.Tensor's `.numpy()`.

Invariants:
- Images decode with Pillow (declared as the `images` extra); without it
  PNG files are read by png.py (zlib) and other formats raise an
  ImportError naming the extra. Resizing is ops.image.resize (half-pixel
  centers, no antialiasing: tf.image.resize's numbers, bicubic within a
  fraction of a level); "nearest" keeps uint8, the other methods give
  float32, as tf.image.resize does.
- With shuffle=True, batches come in a fresh order each epoch (tf.data's
  reshuffle_each_iteration), drawn from a RandomState seeded by `seed`;
  the order of the first pass is not tf.data's (its buffer shuffle is
  not reproduced), the set of files and their labels are.
- WAV files are read with the standard library's `wave` module (integer
  PCM), scaled to [-1, 1) as tf.audio.decode_wav scales them.
"""

from __future__ import annotations

import math
import os
import wave

import numpy as np

from .py_dataset import PyDataset

ALLOWLIST_FORMATS = (".bmp", ".gif", ".jpeg", ".jpg", ".png")
_INTERPOLATIONS = ("bilinear", "nearest", "bicubic", "area", "lanczos3",
                   "lanczos5", "gaussian", "mitchellcubic")


# --- indexing (Keras 3's dataset_utils.index_directory) -------------------------


def _valid_files(directory, follow_links, formats):
    walk = os.walk(directory, followlinks=follow_links)
    for root, _, files in sorted(walk, key=lambda x: x[0]):
        for fname in sorted(files):
            if fname.lower().endswith(formats):
                yield root, fname


def index_directory(directory, labels, formats, class_names=None,
                    shuffle=True, seed=None, follow_links=False,
                    verbose=True):
    """(file paths, labels, class names) of the files in `directory` with
    an allowed extension, in Keras 3's order."""
    if not os.path.isdir(directory):
        raise ValueError(
            f"Could not find directory {directory}. Received: "
            f"directory={directory!r}")
    if labels == "inferred":
        subdirs = [d for d in sorted(os.listdir(directory))
                   if os.path.isdir(os.path.join(directory, d))
                   and not d.startswith(".")]
        if class_names is not None:
            if not set(class_names).issubset(set(subdirs)):
                raise ValueError(
                    "The `class_names` passed did not match the names of the "
                    "subdirectories of the target directory. Expected: "
                    f"{subdirs} (or a subset of it), but received: "
                    f"class_names={class_names}")
            subdirs = list(class_names)
    else:
        subdirs = [""]
        if class_names is not None:
            if labels is None:
                raise ValueError(
                    "When `labels=None` (no labels), argument `class_names` "
                    "cannot be specified.")
            raise ValueError(
                "When argument `labels` is specified, argument `class_names` "
                "cannot be specified (the `class_names` will be the sorted "
                "list of labels).")
    class_names = subdirs
    filenames, found = [], []
    for index, subdir in enumerate(subdirs):
        sub = os.path.join(directory, subdir)
        name = os.path.basename(sub)
        for root, fname in _valid_files(sub, follow_links, formats):
            absolute = os.path.join(root, fname)
            filenames.append(os.path.join(name, os.path.relpath(absolute,
                                                                sub)))
            found.append(index)
    if labels == "inferred":
        labels = np.asarray(found, dtype="int32")
    elif labels is None:
        class_names = None
    else:
        if len(labels) != len(filenames):
            raise ValueError(
                "Expected the lengths of `labels` to match the number of "
                f"files in the target directory. len(labels) is "
                f"{len(labels)} while we found {len(filenames)} files in "
                f"directory {directory}.")
        class_names = [str(label) for label in sorted(set(labels))]
    if verbose:
        if labels is None:
            print(f"Found {len(filenames)} files.")
        else:
            print(f"Found {len(filenames)} files belonging to "
                  f"{len(class_names)} classes.")
    file_paths = [os.path.join(directory, f) for f in filenames]
    if shuffle:
        if seed is None:
            seed = np.random.randint(1e6)
        np.random.RandomState(seed).shuffle(file_paths)
        if labels is not None:
            # NOTE: Keras shuffles a list of labels in place, an array too
            labels = np.asarray(labels) if not isinstance(labels, list) \
                else labels
            np.random.RandomState(seed).shuffle(labels)
    return file_paths, labels, class_names


def _split(samples, labels, validation_split, subset):
    """Keras's get_training_or_validation_split (the validation files are
    the last `int(split * n)`)."""
    if not validation_split:
        return samples, labels
    n_val = int(validation_split * len(samples))
    if subset == "training":
        print(f"Using {len(samples) - n_val} files for training.")
        samples = samples[:-n_val] if n_val else samples[:]
        if labels is not None:
            labels = labels[:-n_val] if n_val else labels[:]
    elif subset == "validation":
        print(f"Using {n_val} files for validation.")
        samples = samples[-n_val:] if n_val else samples[:0]
        if labels is not None:
            labels = labels[-n_val:] if n_val else labels[:0]
    else:
        raise ValueError(
            '`subset` must be either "training" or "validation", received: '
            f"{subset}")
    return samples, labels


def _check_args(labels, label_mode, class_names, validation_split, subset,
                shuffle, seed, what):
    if labels not in ("inferred", None):
        if not isinstance(labels, (list, tuple)):
            raise ValueError(
                "`labels` argument should be a list/tuple of integer labels, "
                f"of the same size as the number of {what} files in the "
                "target directory. If you wish to infer the labels from the "
                "subdirectory names in the target directory, pass "
                '`labels="inferred"`. If you wish to get a dataset that only '
                f"contains {what} samples (no labels), pass `labels=None`. "
                f"Received: labels={labels}")
        if class_names:
            raise ValueError(
                "You can only pass `class_names` if `labels=\"inferred\"`. "
                f"Received: labels={labels}, and class_names={class_names}")
    if label_mode not in {"int", "categorical", "binary", None}:
        raise ValueError(
            '`label_mode` argument must be one of "int", "categorical", '
            f'"binary", or None. Received: label_mode={label_mode}')
    if validation_split and not 0 < validation_split < 1:
        raise ValueError(
            "`validation_split` must be between 0 and 1, received: "
            f"{validation_split}")
    if (validation_split or subset) and not (validation_split and subset):
        raise ValueError(
            "If `subset` is set, `validation_split` must be set, and "
            "inversely.")
    if subset not in ("training", "validation", "both", None):
        raise ValueError(
            '`subset` must be either "training", "validation" or "both", '
            f"received: {subset}")
    if validation_split and shuffle and seed is None:
        raise ValueError(
            "If using `validation_split` and shuffling the data, you must "
            "provide a `seed` argument, to make sure that there is no "
            "overlap between the training and validation subset.")


def _encode_labels(labels, label_mode, num_classes):
    if labels is None or label_mode is None:
        return None
    labels = np.asarray(labels)
    if label_mode == "binary":
        return labels.astype("float32").reshape(-1, 1)
    if label_mode == "categorical":
        return np.eye(num_classes, dtype="float32")[labels.astype(np.int64)]
    return labels.astype("int32")


# --- the dataset ----------------------------------------------------------------


class BatchArray(np.ndarray):
    """A NumPy array with tf.Tensor's `.numpy()` (itself, as a plain
    ndarray): keras.io programs print dataset batches with
    `text_batch.numpy()[i]` or `images[i].numpy().astype("uint8")`."""

    def numpy(self) -> np.ndarray:
        return np.asarray(self)


def _tensor_like(x):
    return x.view(BatchArray) if isinstance(x, np.ndarray) else x


class _Batches(PyDataset):
    """tf.data-style helpers over a PyDataset of batches."""

    fit_shuffles = False  # a stand-in for a tf.data dataset (keeps order)

    def __iter__(self):
        for i in range(len(self)):
            yield self[i]
        self.on_epoch_end()

    def take(self, count, name=None):
        """The first `count` batches (all for a negative count)."""
        n = len(self)
        count = int(count)
        return _Mapped(self, None, n if count < 0 else min(count, n))

    def skip(self, count, name=None):
        """The batches after the first `count` (none for a negative
        count), as tf.data's skip (keras.io's `val_ds.skip(k)`)."""
        n = len(self)
        count = n if int(count) < 0 else min(int(count), n)
        return _Mapped(self, None, n - count, offset=count)

    def map(self, map_func, num_parallel_calls=None, deterministic=None,
            name=None):  # noqa: A003  (tf.data's name)
        """A dataset whose batches are `map_func(*batch)` (a tuple batch is
        spread over the arguments, as tf.data does)."""
        return _Mapped(self, map_func, len(self))

    def prefetch(self, buffer_size=None, name=None):
        """The dataset itself (batches are read on demand)."""
        return self

    def cache(self, filename="", name=None):
        """The dataset itself (files are read again each epoch)."""
        return self

    def as_numpy_iterator(self):
        return iter(self)

    def cardinality(self) -> int:
        return len(self)


class _Mapped(_Batches):
    """Batches offset .. offset + count of `source`, through `fn`."""

    def __init__(self, source, fn, count, offset=0):
        super().__init__()
        self.source, self.fn, self.count = source, fn, count
        self.offset = offset
        self.class_names = getattr(source, "class_names", None)
        self.file_paths = getattr(source, "file_paths", None)

    def __len__(self):
        return self.count

    def __getitem__(self, index):
        if not -self.count <= index < self.count:
            raise IndexError(
                f"batch index {index} is out of range for a dataset of "
                f"{self.count} batches")
        item = self.source[self.offset + index % self.count]
        if self.fn is None:
            return item
        return self.fn(*item) if isinstance(item, tuple) else self.fn(item)

    def on_epoch_end(self):
        self.source.on_epoch_end()


class FileDataset(_Batches):
    """Batches of samples read from files on demand (what the
    *_dataset_from_directory functions return): `len()` batches, item i
    is `inputs` or `(inputs, labels)`; `class_names` and `file_paths` as
    Keras sets them."""

    def __init__(self, file_paths, labels, load, batch_size, shuffle, seed,
                 class_names, stack=np.stack):
        super().__init__()
        self.file_paths = list(file_paths)
        self.class_names = class_names
        self.batch_size = batch_size
        self._labels = labels
        self._load = load
        self._stack = stack
        self._shuffle = bool(shuffle)
        self._rng = np.random.RandomState(seed)
        self._order = np.arange(len(self.file_paths))
        if self._shuffle:
            self._order = self._rng.permutation(len(self.file_paths))

    def __len__(self):
        if self.batch_size is None:
            return len(self.file_paths)
        return math.ceil(len(self.file_paths) / self.batch_size)

    def __getitem__(self, index):
        n = len(self)
        if not -n <= index < n:
            raise IndexError(
                f"batch index {index} is out of range for a dataset of {n} "
                "batches")
        index %= n
        if self.batch_size is None:
            idx = self._order[index:index + 1]
        else:
            idx = self._order[index * self.batch_size:
                              (index + 1) * self.batch_size]
        x = self._stack([self._load(self.file_paths[i]) for i in idx])
        if self.batch_size is None:
            x = x[0]
        x = _tensor_like(np.asarray(x))
        if self._labels is None:
            return x
        y = self._labels[idx]
        y = _tensor_like(np.asarray(y[0] if self.batch_size is None else y))
        return x, y

    def on_epoch_end(self):
        if self._shuffle:
            self._order = self._rng.permutation(len(self.file_paths))


def _build(directory, labels, label_mode, class_names, batch_size, shuffle,
           seed, validation_split, subset, follow_links, verbose, formats,
           load, what, stack=np.stack, check=None):
    _check_args(labels, label_mode, class_names, validation_split, subset,
                shuffle, seed, what)
    if labels is None or label_mode is None:
        labels, label_mode = None, None
    if seed is None:
        seed = np.random.randint(1e6)
    paths, labels, class_names = index_directory(
        os.fspath(directory), labels, formats, class_names=class_names,
        shuffle=shuffle, seed=seed, follow_links=follow_links,
        verbose=verbose)
    if label_mode == "binary" and len(class_names) != 2:
        raise ValueError(
            'When passing `label_mode="binary"`, there must be exactly 2 '
            f"class_names. Received: class_names={class_names}")
    num_classes = len(class_names) if class_names else 0
    allowed = {"image": f"Allowed formats: {formats}",
               "audio": f"Allowed format(s): {formats}"}.get(
                   what, f"Allowed format: {', '.join(formats)}")
    kind = "images" if what == "image" else f"{what} files"

    def make(p, lab, shuffled):
        if check is not None:
            check(p)
        return FileDataset(p, _encode_labels(lab, label_mode, num_classes),
                           load, batch_size, shuffled, seed, class_names,
                           stack)

    if subset == "both":
        p_train, l_train = _split(paths, labels, validation_split,
                                  "training")
        p_val, l_val = _split(paths, labels, validation_split, "validation")
        if not p_train:
            raise ValueError(f"No training {kind} found in directory "
                             f"{directory}. {allowed}")
        if not p_val:
            raise ValueError(f"No validation {kind} found in directory "
                             f"{directory}. {allowed}")
        return [make(p_train, l_train, shuffle), make(p_val, l_val, False)]
    paths, labels = _split(paths, labels, validation_split, subset)
    if not paths:
        raise ValueError(f"No {kind} found in directory {directory}. "
                         f"{allowed}")
    return make(paths, labels, shuffle)


# --- images -----------------------------------------------------------------------


def _pil_image():
    """Pillow's Image module, or None when Pillow is not installed."""
    try:
        from PIL import Image
    except ImportError:
        return None
    return Image


def _needs_pillow(path) -> ImportError:
    return ImportError(
        f"image_dataset_from_directory decodes {os.path.basename(path)} "
        "(not a PNG file) with Pillow, which is not installed. Install "
        "graphkeras's `images` extra: `pip install graphkeras[images]` (or "
        "`pip install pillow`); PNG files are read without it.")


def _check_decodable(paths) -> None:
    """Without Pillow, only PNG files can be read: say so at once."""
    if _pil_image() is not None:
        return
    for p in paths:
        if not p.lower().endswith(".png"):
            raise _needs_pillow(p)


def _resize_with_pad(img, th, tw, method):
    """tf.image.resize_with_pad: scale to fit, then pad with zeros."""
    from ..ops import image as image_ops

    # NOTE: in float32, as TensorFlow computes it (8 / (8 / 7) is
    # 6.9999995 there, so the image gets 6 columns, not 7)
    f = np.float32
    h, w = f(img.shape[0]), f(img.shape[1])
    ratio = max(w / f(tw), h / f(th))
    rh, rw = int(np.floor(h / ratio)), int(np.floor(w / ratio))
    top = max(0, int(np.floor((f(th) - h / ratio) / f(2))))
    left = max(0, int(np.floor((f(tw) - w / ratio) / f(2))))
    resized = np.asarray(image_ops.resize(img, (rh, rw),
                                          interpolation=method))
    out = np.zeros((th, tw, img.shape[2]), resized.dtype)
    out[top:top + rh, left:left + rw] = resized
    return out


def _image_loader(image_size, num_channels, interpolation, data_format,
                  crop_to_aspect_ratio, pad_to_aspect_ratio):
    from ..ops import image as image_ops

    from . import png

    Image = _pil_image()
    mode = {1: "L", 3: "RGB", 4: "RGBA"}[num_channels]
    th, tw = image_size

    def decode(path):
        if Image is None:
            with open(path, "rb") as f:
                data = f.read()
            if not data.startswith(b"\x89PNG"):
                raise _needs_pillow(path)
            return png.to_channels(png.decode_png(data, path), num_channels)
        with Image.open(path) as im:
            im.seek(0)  # the first frame of an animation
            return np.asarray(im.convert(mode))

    def load(path):
        arr = decode(path)
        if arr.ndim == 2:
            arr = arr[:, :, None]
        x = arr.astype("float32")
        if crop_to_aspect_ratio:
            y = image_ops.resize(x, (th, tw), interpolation=interpolation,
                                 crop_to_aspect_ratio=True)
        elif pad_to_aspect_ratio:
            y = _resize_with_pad(x, th, tw, interpolation)
        else:
            y = image_ops.resize(x, (th, tw), interpolation=interpolation)
        y = np.asarray(y, dtype="float32")
        if interpolation == "nearest":
            y = y.astype(np.uint8)  # tf.image.resize keeps the dtype
        if data_format == "channels_first":
            y = y.transpose(2, 0, 1)
        return y

    return load


def image_dataset_from_directory(
        directory, labels="inferred", label_mode="int", class_names=None,
        color_mode="rgb", batch_size=32, image_size=(256, 256), shuffle=True,
        seed=None, validation_split=None, subset=None,
        interpolation="bilinear", follow_links=False,
        crop_to_aspect_ratio=False, pad_to_aspect_ratio=False,
        data_format=None, format="tf", verbose=True):
    """Generates a dataset from image files in a directory.

    With `labels="inferred"`, `directory` holds one subdirectory per class
    (`main_directory/class_a/a_image_1.jpg`, ...); .bmp, .gif, .jpeg, .jpg
    and .png files are read (Pillow decodes them).

    Args:
        directory: the directory of the data.
        labels: "inferred" (from the subdirectories), None (no labels), or
            a list of integer labels, one per file in the sorted order of
            the file paths.
        label_mode: "int" (int32 labels), "categorical" (one-hot
            float32), "binary" (float32 0 / 1, shape (batch, 1)) or None.
        class_names: the order of the classes (subdirectory names).
        color_mode: "rgb" (3 channels), "rgba" or "grayscale".
        batch_size: samples per batch (32); None for single samples.
        image_size: (height, width) the images are resized to.
        shuffle: shuffle the files (once, seeded) and each epoch's batches.
        seed: the seed of the shuffling (needed with validation_split).
        validation_split: the fraction kept for validation.
        subset: "training", "validation" or "both" (a list of both).
        interpolation: the resizing method ("bilinear").
        follow_links: follow symbolic links to subdirectories.
        crop_to_aspect_ratio: crop the center to the target aspect ratio
            before resizing.
        pad_to_aspect_ratio: resize to fit and pad with zeros instead.
        data_format: "channels_last" (default) or "channels_first".
        format: "tf" or "grain" (both give a graphkeras FileDataset).
        verbose: print the numbers of files found.

    Returns:
        A `FileDataset` of `(images, labels)` batches (images float32 of
        shape (batch, height, width, channels)), with `class_names` and
        `file_paths`; with subset="both", `[train, validation]`.

    Example:
        >>> train_ds, val_ds = image_dataset_from_directory(
        ...     "PetImages", validation_split=0.2, subset="both", seed=1337,
        ...     image_size=(180, 180), batch_size=128)  # doctest: +SKIP
    """
    from ..ops.nn import standardize_data_format

    if color_mode not in ("rgb", "rgba", "grayscale"):
        raise ValueError(
            '`color_mode` must be one of {"rgb", "rgba", "grayscale"}. '
            f"Received: color_mode={color_mode}")
    num_channels = {"rgb": 3, "rgba": 4, "grayscale": 1}[color_mode]
    if isinstance(image_size, int):
        image_size = (image_size, image_size)
    elif not isinstance(image_size, (list, tuple)) or len(image_size) != 2:
        raise ValueError(
            "Invalid `image_size` value. Expected a tuple of 2 integers. "
            f"Received: image_size={image_size}")
    interpolation = str(interpolation).lower()
    if interpolation not in _INTERPOLATIONS:
        raise ValueError(
            f"Argument `interpolation` should be one of {_INTERPOLATIONS}. "
            f"Received: interpolation={interpolation}")
    from ..ops import image as image_ops

    try:  # a method Keras names but ops.image.resize lacks: say so now
        image_ops.resize(np.zeros((2, 2, 1), "float32"), (3, 3),
                         interpolation=interpolation)
    except ValueError as e:
        raise ValueError(
            f"image_dataset_from_directory cannot resize with "
            f"interpolation={interpolation} in graphkeras ({e})") from None
    if format not in ("tf", "grain"):
        raise ValueError(
            '`format` should be either "tf" or "grain". Received: '
            f"format={format}")
    if pad_to_aspect_ratio and crop_to_aspect_ratio:
        raise ValueError(
            "Only one of `pad_to_aspect_ratio`, `crop_to_aspect_ratio` can "
            "be set to `True`.")
    data_format = standardize_data_format(data_format)
    load = _image_loader(tuple(int(s) for s in image_size), num_channels,
                         interpolation, data_format, crop_to_aspect_ratio,
                         pad_to_aspect_ratio)
    return _build(directory, labels, label_mode, class_names, batch_size,
                  shuffle, seed, validation_split, subset, follow_links,
                  verbose, ALLOWLIST_FORMATS, load, "image",
                  check=_check_decodable)


# --- text -------------------------------------------------------------------------


def text_dataset_from_directory(
        directory, labels="inferred", label_mode="int", class_names=None,
        batch_size=32, max_length=None, shuffle=True, seed=None,
        validation_split=None, subset=None, follow_links=False,
        format="tf", verbose=True):
    """Generates a dataset from text files (.txt) in a directory.

    Arguments as image_dataset_from_directory's; `max_length` keeps the
    first `max_length` bytes of each text (Keras's tf.strings.substr).

    Returns:
        A `FileDataset` of `(texts, labels)` batches, texts a NumPy array
        of str (what TextVectorization takes), with `class_names`; with
        subset="both", `[train, validation]`.

    Example:
        >>> raw_train_ds = text_dataset_from_directory(
        ...     "aclImdb/train", batch_size=32, validation_split=0.2,
        ...     subset="training", seed=1337)  # doctest: +SKIP
    """
    if format not in ("tf", "grain"):
        raise ValueError(
            '`format` should be either "tf" or "grain". Received: '
            f"format={format}")

    def load(path):
        with open(path, "rb") as f:
            raw = f.read()
        if max_length is not None:
            raw = raw[:max_length]
        return raw.decode("utf-8", errors="replace")

    def stack(texts):
        return np.array(texts, dtype=object).astype(str) if texts else \
            np.array([], dtype=str)

    return _build(directory, labels, label_mode, class_names, batch_size,
                  shuffle, seed, validation_split, subset, follow_links,
                  verbose, (".txt",), load, "text", stack)


# --- audio ------------------------------------------------------------------------


def _read_wav(path) -> np.ndarray:
    """(samples, channels) float32 in [-1, 1) of an integer PCM WAV file."""
    try:
        with wave.open(path, "rb") as w:
            width, channels = w.getsampwidth(), w.getnchannels()
            raw = w.readframes(w.getnframes())
    except (wave.Error, EOFError) as e:
        raise ValueError(
            f"audio_dataset_from_directory reads integer PCM WAV files; "
            f"{path} is not one ({e}).") from None
    if width == 1:  # unsigned 8-bit
        x = (np.frombuffer(raw, np.uint8).astype("float32") - 128) / 128
    elif width in (2, 4):
        dt = np.dtype(f"<i{width}")
        x = np.frombuffer(raw, dt).astype("float32") / float(
            2 ** (8 * width - 1))
    elif width == 3:
        b = np.frombuffer(raw, np.uint8).reshape(-1, 3).astype(np.int32)
        v = b[:, 0] | (b[:, 1] << 8) | (b[:, 2] << 16)
        v = np.where(v >= 1 << 23, v - (1 << 24), v)
        x = v.astype("float32") / float(1 << 23)
    else:
        raise ValueError(
            f"audio_dataset_from_directory: {path} has {8 * width}-bit "
            "samples; 8, 16, 24 and 32-bit PCM are read.")
    return x.reshape(-1, channels)


def audio_dataset_from_directory(
        directory, labels="inferred", label_mode="int", class_names=None,
        batch_size=32, sampling_rate=None, output_sequence_length=None,
        ragged=False, shuffle=True, seed=None, validation_split=None,
        subset=None, follow_links=False, verbose=True):
    """Generates a dataset from .wav files in a directory.

    Arguments as image_dataset_from_directory's. Each batch holds audio of
    shape (batch, length, channels), float32 in [-1, 1): clips are cut to
    `output_sequence_length`, or padded with zeros to the longest clip of
    the batch (Keras pads each batch the same way).

    Returns:
        A `FileDataset` of `(audio, labels)` batches with `class_names`;
        with subset="both", `[train, validation]`.
    """
    if sampling_rate is not None:
        if not isinstance(sampling_rate, int) or sampling_rate <= 0:
            raise ValueError(
                "`sampling_rate` should be a positive integer. Received: "
                f"sampling_rate={sampling_rate}")
        raise ValueError(
            "audio_dataset_from_directory: resampling (`sampling_rate`) "
            "needs tensorflow-io in Keras and is not done by graphkeras. "
            f"Received: sampling_rate={sampling_rate}; use None.")
    if ragged:
        raise ValueError(
            "audio_dataset_from_directory: graphkeras has no ragged "
            "tensors. Received: ragged=True; use ragged=False.")

    def load(path):
        x = _read_wav(path)
        if output_sequence_length is not None:
            x = x[:output_sequence_length]
        return x

    def stack(clips):
        length = output_sequence_length or max(len(c) for c in clips)
        channels = clips[0].shape[1]
        out = np.zeros((len(clips), length, channels), "float32")
        for i, c in enumerate(clips):
            if c.shape[1] != channels:
                raise ValueError(
                    "audio_dataset_from_directory: the clips of a batch "
                    f"have {channels} and {c.shape[1]} channels.")
            out[i, :len(c)] = c
        return out

    return _build(directory, labels, label_mode, class_names, batch_size,
                  shuffle, seed, validation_split, subset, follow_links,
                  verbose, (".wav",), load, "audio", stack)


__all__ = ["FileDataset", "audio_dataset_from_directory",
           "image_dataset_from_directory", "index_directory",
           "text_dataset_from_directory"]
