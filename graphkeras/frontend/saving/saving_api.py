"""The saving entry points: save_model / load_model / save_weights /
load_weights, dispatching on the file's extension (and, when loading, on
its first bytes) to the `.keras` format or the legacy HDF5 one.

Extensions, as in Keras 3: `.keras` (the native zip), `.h5` / `.hdf5`
(legacy whole-model HDF5), `.weights.h5` (weights only, Keras 3's group
layout). Anything else is refused with the list of what is accepted.
"""

from __future__ import annotations

import os

from . import keras_format, legacy_h5
from .file_io import (
    H5_ERRORS,
    FileFormatError,
    bad_file,
    check_h5_tree,
    check_readable,
    open_h5,
)


def _is_zip(path) -> bool:
    with open(path, "rb") as f:
        return f.read(4) == b"PK\x03\x04"


def _is_hdf5(path) -> bool:
    with open(path, "rb") as f:
        return f.read(8) == b"\x89HDF\r\n\x1a\n"


def _check_overwrite(path, overwrite) -> None:
    if not overwrite and os.path.exists(path):
        raise FileExistsError(
            f"{path} exists and overwrite=False; pass overwrite=True to "
            "replace it."
        )


def save_model(model, filepath, overwrite=True, zipped=None, **kwargs):
    """Save `model` to `filepath` (`.keras` or legacy `.h5`).

    Args:
        model: the model.
        filepath: ends in `.keras` (Keras 3's format) or `.h5` / `.hdf5`.
        overwrite: False refuses to replace an existing file.
        include_optimizer: (legacy `.h5`) also save the optimizer state.
    """
    path = os.fspath(filepath)
    include_optimizer = kwargs.pop("include_optimizer", True)
    kwargs.pop("save_format", None)
    if kwargs:
        raise ValueError(
            "The following argument(s) are not supported: "
            f"{sorted(kwargs)}."
        )
    if zipped is False:
        raise ValueError(
            "zipped=False (an unzipped .keras directory) is not supported; "
            "save to a .keras file."
        )
    _check_overwrite(path, overwrite)
    if path.endswith(".keras"):
        keras_format.save_model(model, path,
                                include_optimizer=include_optimizer)
    elif path.endswith((".h5", ".hdf5")):
        legacy_h5.save_model(model, path, include_optimizer=include_optimizer)
    else:
        raise ValueError(
            "Invalid filepath extension for saving. Please add either a "
            "`.keras` extension for the native Keras format (recommended) or "
            f"a `.h5` extension. Received: filepath={path}"
        )


def load_model(filepath, custom_objects=None, compile=True, safe_mode=True):
    """Load a model saved with `model.save()` (here or by Keras 3).

    Args:
        filepath: a `.keras` file or a legacy `.h5` file.
        custom_objects: a dict mapping names (class names or registered
            names) to custom classes or functions.
        compile: whether to compile the model after loading (as it was
            compiled when saved), restoring the optimizer's state.
        safe_mode: refuse to run code stored in the file (Python lambdas);
            turn off only for files you trust.

    Returns:
        The model, with its weights (and optimizer state when compiled).

    Example:
        >>> model.save("m.keras")
        >>> restored = load_model("m.keras")
    """
    path = check_readable(filepath)
    if path.endswith(".keras"):
        return keras_format.load_model(path, custom_objects, compile,
                                       safe_mode)
    if path.endswith((".h5", ".hdf5")) or _is_hdf5(path):
        if _is_zip(path):
            return keras_format.load_model(path, custom_objects, compile,
                                           safe_mode)
        return legacy_h5.load_model(path, custom_objects, compile, safe_mode)
    if _is_zip(path):
        return keras_format.load_model(path, custom_objects, compile,
                                       safe_mode)
    raise bad_file(
        path, "file format not supported: graphkeras loads `.keras` files and "
        "legacy `.h5` files."
    )


def save_weights(model, filepath, overwrite=True, max_shard_size=None):
    """Save the weights (and optimizer state) in Keras 3's `.weights.h5`."""
    path = os.fspath(filepath)
    if not path.endswith(".weights.h5"):
        raise ValueError(
            "The filename must end in `.weights.h5`. Received: "
            f"filepath={path}"
        )
    if max_shard_size is not None:
        raise ValueError("Sharded weights (max_shard_size) are not supported.")
    _check_overwrite(path, overwrite)
    from .weights_store import write_h5

    def write(tmp):
        import h5py

        with h5py.File(tmp, "w") as f:
            write_h5(f, model)

    from .file_io import atomic_write

    atomic_write(path, write)


def load_weights(model, filepath, skip_mismatch=False, by_name=False,
                 **kwargs):
    """Load weights from a `.weights.h5`, `.keras` or legacy `.h5` file."""
    path = check_readable(filepath)
    if _is_zip(path):
        weights = keras_format.read_weights(path, model)
        if weights is None:
            raise bad_file(path, "the archive holds no model.weights.h5.")
        keras_format.load_weights_bytes(model, weights, path,
                                        skip_mismatch=skip_mismatch)
        return
    if not _is_hdf5(path):
        raise bad_file(
            path, "it is not a weights file: expected a `.weights.h5`, "
            "`.keras` or legacy `.h5` file."
        )
    with open_h5(path) as f:
        check_h5_tree(f, path)
        try:
            _load_h5_weights(f, model, path, by_name, skip_mismatch)
        except FileFormatError:
            raise
        except H5_ERRORS as e:  # h5py's errors on a damaged file
            if path in str(e):  # already names the file and the problem
                raise
            raise bad_file(path, "its HDF5 data cannot be read (truncated "
                           f"or corrupt?): {e}") from None


def _load_h5_weights(f, model, path, by_name, skip_mismatch) -> None:
    from .weights_store import StateError, read_h5

    if "model_weights" in f:
        legacy_h5.load_weights_group(f["model_weights"], model, path,
                                     by_name=by_name,
                                     skip_mismatch=skip_mismatch)
    elif "layer_names" in f.attrs:
        legacy_h5.load_weights_group(f, model, path, by_name=by_name,
                                     skip_mismatch=skip_mismatch)
    elif "vars" in f or "layers" in f:
        try:
            read_h5(f, model, skip_mismatch=skip_mismatch)
        except StateError as e:
            raise bad_file(path, f"the weights do not fit the model: {e}.") \
                from None
    else:
        raise bad_file(
            path, "this HDF5 file holds no Keras weights (no `layers`, "
            "`vars`, `model_weights` or `layer_names`)."
        )
