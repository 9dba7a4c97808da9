"""The legacy HDF5 formats (`.h5`) of Keras 2, tf.keras and Keras 3.

A whole-model file has the root attributes `model_config` (JSON of
`{"class_name", "config"}`), `training_config` (the compile arguments,
the optimizer as `optimizer_config`), `keras_version` and `backend`, and
the groups

    model_weights/                attrs: layer_names
        <layer name>/             attrs: weight_names ("dense/kernel", ...)
            <weight name>         one dataset per weight, at the path its
                                  name spells ("dense/kernel" -> dense/kernel)
    optimizer_weights/            attrs: weight_names ("adam/iteration", ...)

A weights-only file (Keras 2's `save_weights("x.h5")`) is the
`model_weights` group's content at the root.

Matching on load follows Keras: the file's layers that have weights are
matched, in order, with the model's layers that have weights (or by layer
name with `by_name=True`); counts and shapes are checked for every layer
before any weight is assigned.
"""

from __future__ import annotations

import json
import os
import warnings

import numpy as np

from . import serialization_lib as sl
from .file_io import (
    H5_ERRORS,
    FileFormatError,
    atomic_write,
    bad_file,
    check_h5_tree,
    check_readable,
    open_h5,
)

KERAS_VERSION = "3.15.1"


def _str_list(values) -> np.ndarray:
    return np.array([v.encode("utf-8") for v in values], dtype=object) \
        if values else np.array([], dtype="float64")


def _decode(x):
    if isinstance(x, bytes):
        return x.decode("utf-8")
    return str(x)


def _attr_list(group, name) -> list:
    if name not in group.attrs:
        return []
    return [_decode(v) for v in np.atleast_1d(group.attrs[name]).tolist()]


def _legacy_config(obj) -> dict:
    """Keras's legacy `{"class_name", "config"}` (no module)."""
    full = sl.serialize_keras_object(obj)
    return {"class_name": full["class_name"], "config": full["config"]}


def _legacy_weights(layer) -> list:
    """A layer's weights in the legacy format's order, Keras's: trainable
    then non-trainable (SpectralNormalization(Conv2D): kernel, bias,
    vector_u, where `weights` lists kernel, vector_u, bias)."""
    return list(layer.trainable_weights) + list(layer.non_trainable_weights)


def _write_weights_group(group, layers) -> None:
    group.attrs["layer_names"] = _str_list([layer.name for layer in layers])
    group.attrs["backend"] = "graphkeras"
    group.attrs["keras_version"] = KERAS_VERSION
    for layer in layers:
        g = group.require_group(layer.name)
        weights = _legacy_weights(layer)
        names = [v.path for v in weights]
        g.attrs["weight_names"] = _str_list(names)
        for name, v in zip(names, weights):
            g.create_dataset(name, data=np.asarray(v.numpy()))


def _model_layers(model) -> list:
    layers = list(model.layers)
    if type(model).__name__ == "Sequential":
        layers = list(model._layers)
    return layers


def save_model(model, filepath, include_optimizer=True) -> None:
    """Write `model` as a legacy whole-model `.h5` file (atomically)."""
    from .keras_format import get_compile_config

    model_config = json.dumps(_legacy_config(model))
    training = None
    if include_optimizer and getattr(model, "compiled", False):
        cc = get_compile_config(model)
        opt = cc.pop("optimizer")
        cc["optimizer_config"] = {"class_name": opt["class_name"],
                                  "config": opt["config"]}
        training = json.dumps(cc)

    def write(tmp):
        import h5py

        with h5py.File(tmp, "w") as f:
            f.attrs["backend"] = "graphkeras"
            f.attrs["keras_version"] = KERAS_VERSION
            f.attrs["model_config"] = model_config
            if training is not None:
                f.attrs["training_config"] = training
            _write_weights_group(f.create_group("model_weights"),
                                 _model_layers(model))
            opt = getattr(model, "optimizer", None)
            if training is not None and opt is not None:
                g = f.create_group("optimizer_weights")
                names = [v.path for v in opt.variables]
                g.attrs["weight_names"] = _str_list(names)
                for name, v in zip(names, opt.variables):
                    g.create_dataset(name, data=np.asarray(v.numpy()))

    atomic_write(filepath, write)


def save_weights(model, filepath) -> None:
    """Keras 2's weights-only `.h5` layout (layer_names at the root)."""
    def write(tmp):
        import h5py

        with h5py.File(tmp, "w") as f:
            _write_weights_group(f, _model_layers(model))

    atomic_write(filepath, write)


# --- loading ----------------------------------------------------------------------


def load_model(filepath, custom_objects=None, compile=True, safe_mode=True):
    path = check_readable(filepath)
    with open_h5(path) as f:
        check_h5_tree(f, path)
        try:
            return _load_model_from(f, path, custom_objects, compile,
                                    safe_mode)
        except FileFormatError:
            raise
        except H5_ERRORS as e:
            if path in str(e):  # already names the file and the problem
                raise
            raise bad_file(path, "its HDF5 data cannot be read (truncated "
                           f"or corrupt?): {e}") from None


def _load_model_from(f, path, custom_objects, compile, safe_mode):
    from .keras_format import (
        compile_from_config,
        model_from_config,
        variables_budget,
    )

    if "model_config" not in f.attrs:
        raise bad_file(
            path, "this HDF5 file has no model_config attribute: it holds "
            "weights only. Build the model in code and call "
            "model.load_weights() on it."
        )
    try:
        config = json.loads(_decode(f.attrs["model_config"]))
    except json.JSONDecodeError as e:
        raise bad_file(path, f"its model_config is not valid JSON ({e}).") \
            from None
    except RecursionError:
        raise bad_file(path, "its model_config nests too deeply to be a "
                       "model configuration.") from None
    if not isinstance(config, dict) or "class_name" not in config:
        raise bad_file(path, "its model_config does not describe a model.")
    model = model_from_config(config, custom_objects, compile=False,
                              safe_mode=safe_mode, path=path,
                              budget=variables_budget(os.path.getsize(path)))
    if "model_weights" not in f:
        raise bad_file(path, "it has no model_weights group.")
    load_weights_group(f["model_weights"], model, path)
    training = f.attrs.get("training_config")
    if compile and training is not None:
        try:
            compile_from_config(model, json.loads(_decode(training)),
                                custom_objects)
        except (TypeError, ValueError, KeyError) as e:
            warnings.warn(
                f"{path}: could not compile the model from its saved "
                f"training configuration ({e}); the model is loaded "
                "uncompiled.", stacklevel=3)
        else:
            _load_optimizer_weights(f, model, path)
    return model


def _load_optimizer_weights(f, model, path) -> None:
    if "optimizer_weights" not in f:
        return
    g = f["optimizer_weights"]
    names = _attr_list(g, "weight_names")
    try:
        arrays = [_dataset(g, n, path) for n in names]
    except KeyError as e:
        raise bad_file(path, f"optimizer weight {e} is missing.") from None
    from .weights_store import _optimizer_variables_for

    opt = model.optimizer
    variables = _optimizer_variables_for(model, opt, len(arrays))
    if len(variables) != len(arrays) or any(
        tuple(v.shape) != tuple(np.shape(a)) for v, a in zip(variables, arrays)
    ):
        warnings.warn(
            f"{path}: skipping the optimizer's saved state ({len(arrays)} "
            f"variables; the optimizer has {len(variables)}).", stacklevel=4)
        return
    for v, a in zip(variables, arrays):
        v.assign(np.asarray(a).astype(v.dtype))


def _dataset(group, name, path):
    """The dataset group[name], unread: shapes are compared with the
    model's before any data is read (a dataset may declare terabytes)."""
    import h5py

    d = group[name]
    if not isinstance(d, h5py.Dataset) or d.dtype.kind not in "fiub":
        raise bad_file(path, f"weight {name!r} of {group.name} is not a "
                       "numeric dataset.")
    return d


def load_weights_group(group, model, path, by_name=False,
                       skip_mismatch=False) -> None:
    """Assign the weights of a legacy `model_weights` group (or a weights
    file's root) to `model`, checking everything first."""
    layer_names = _attr_list(group, "layer_names")
    if not layer_names and "layer_names" not in group.attrs:
        raise bad_file(path, "it is not a Keras weights file (no layer_names "
                       "attribute).")
    saved = []
    for name in layer_names:
        if name not in group:
            raise bad_file(path, f"layer group {name!r} is missing.")
        g = group[name]
        wnames = _attr_list(g, "weight_names")
        try:
            arrays = [_dataset(g, w, path) for w in wnames]
        except KeyError as e:
            raise bad_file(path, f"weight {e} of layer {name!r} is missing.") \
                from None
        saved.append((name, arrays))
    layers = [x for x in _model_layers(model) if x.weights]
    plan = []
    if by_name:
        by = dict(saved)
        pairs = [(layer, by[layer.name]) for layer in layers
                 if layer.name in by]
    else:
        saved = [(n, a) for n, a in saved if a]
        if len(saved) != len(layers):
            raise bad_file(
                path, f"the file holds weights for {len(saved)} layer(s) "
                f"({[n for n, _ in saved]}), but the model has {len(layers)} "
                f"layer(s) with weights ({[x.name for x in layers]})."
            )
        pairs = [(layer, arrays) for layer, (_, arrays) in zip(layers, saved)]
    for layer, arrays in pairs:
        mine = _legacy_weights(layer)
        if len(mine) != len(arrays):
            if skip_mismatch:
                continue
            raise bad_file(
                path, f'layer "{layer.name}" expects {len(mine)} weight(s), '
                f"the file holds {len(arrays)}."
            )
        bad = [(v, a) for v, a in zip(mine, arrays)
               if tuple(v.shape) != tuple(np.shape(a))]
        if bad:
            if skip_mismatch:
                continue
            v, a = bad[0]
            raise bad_file(
                path, f'weight {v.path} of layer "{layer.name}" has shape '
                f"{tuple(v.shape)}, the file holds shape {tuple(np.shape(a))}."
            )
        plan.extend(zip(mine, arrays))
    for v, a in plan:
        v.assign(np.asarray(a).astype(v.dtype))
