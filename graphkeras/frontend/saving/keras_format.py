"""The `.keras` format: Keras 3's zip of config, metadata and weights.

A `.keras` file is a zip archive holding

    metadata.json      {"keras_version", "date_saved", ...}
    config.json        the model serialized by `serialize_keras_object`:
                       module / class_name / config / registered_name /
                       build_config / compile_config
    model.weights.h5   the state in Keras 3's group layout
                       (see weights_store.py)

Invariants:
- Saving writes the whole archive to a temporary file and renames it over
  the target (file_io.atomic_write): an interrupted save never leaves a
  half-written file in place of a good one.
- Loading never runs code from the file (safe mode refuses lambdas) and
  never extracts to disk: the archive's entries are read into memory after
  checking their names (no absolute paths, no `..`, no drive letters) and
  sizes. A file that is not such an archive, or whose config or weights do
  not parse, raises FileFormatError naming the file and the problem.
"""

from __future__ import annotations

import datetime
import io
import json
import os
import zipfile
import zlib

import numpy as np

from ...version import __version__
from . import serialization_lib as sl
from .file_io import (
    H5_ERRORS,
    FileFormatError,
    atomic_write,
    bad_file,
    check_h5_tree,
    check_readable,
)
from .weights_store import StateError, read_h5, write_h5

CONFIG = "config.json"
METADATA = "metadata.json"
WEIGHTS = "model.weights.h5"
# The Keras release whose `.keras` layout these files follow.
KERAS_FORMAT_VERSION = "3.15.1"
# Entries are inflated only up to these sizes (zip bombs are refused from
# their headers, and inflating stops at the cap whatever a header claims);
# model.weights.h5's cap comes from the model its config describes
# (weights_cap).
MAX_CONFIG_BYTES = 64 << 20
CAPS = {CONFIG: MAX_CONFIG_BYTES, METADATA: 1 << 20}
MAX_ENTRIES = 1000


def _metadata() -> str:
    return json.dumps({
        "keras_version": KERAS_FORMAT_VERSION,
        "date_saved": datetime.datetime.now().strftime("%Y-%m-%d@%H:%M:%S"),
        "graphkeras_version": __version__,
    })


def model_to_json_dict(model) -> dict:
    from ..models.model import Model

    if not isinstance(model, Model):
        raise TypeError(
            f"save() expects a graphkeras Model, received {model!r} (of type "
            f"{type(model).__name__})."
        )
    return sl.serialize_keras_object(model)


def archive_bytes(model, include_optimizer: bool = True) -> bytes:
    """The `.keras` archive of `model`, in memory."""
    config = json.dumps(model_to_json_dict(model))
    buf = io.BytesIO()
    import h5py

    with h5py.File(buf, "w") as h5:
        write_h5(h5, model, include_optimizer=include_optimizer)
    weights = buf.getvalue()
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_STORED) as z:
        z.writestr(METADATA, _metadata())
        z.writestr(CONFIG, config)
        z.writestr(WEIGHTS, weights)
    return out.getvalue()


def save_model(model, filepath, include_optimizer: bool = True) -> None:
    """Write `model` to `filepath` in the `.keras` format (atomically)."""
    data = archive_bytes(model, include_optimizer=include_optimizer)

    def write(tmp):
        with open(tmp, "wb") as f:
            f.write(data)

    atomic_write(filepath, write)


# --- reading ----------------------------------------------------------------------


def _check_entry_name(path: str, name: str) -> None:
    bad = (name.startswith(("/", "\\")) or ".." in name.replace("\\", "/")
           .split("/") or (len(name) > 1 and name[1] == ":")
           or "\x00" in name)
    if bad:
        raise bad_file(
            path, f"the archive holds an entry with an unsafe path {name!r} "
            "(absolute or with '..'); refusing to read it."
        )


def read_archive(path, data: bytes | None = None,
                 caps: dict | None = None) -> dict:
    """{entry name: bytes} of a `.keras` archive, after safety checks.

    With `data`, the archive is those bytes and `path` only names it in
    errors (pickled models). `caps` maps the entries to read to the most
    bytes each may inflate to (default: config and metadata only, with
    CAPS' limits); an entry over its cap is refused from its header, and
    inflating stops at the cap whatever the header says."""
    caps = {CONFIG: CAPS[CONFIG], METADATA: CAPS[METADATA]} \
        if caps is None else caps
    if data is None:
        src = path = check_readable(path)
    else:
        src = io.BytesIO(data)
    if not zipfile.is_zipfile(src):
        raise bad_file(
            path, "it is not a .keras archive (not a zip file"
            + (", it looks like an HDF5 file: use a .h5 name)"
               if data is None and _is_hdf5(path)
               else "; truncated or of another kind?)")
        )
    try:
        with zipfile.ZipFile(src) as z:
            infos = z.infolist()
            if len(infos) > MAX_ENTRIES:
                raise bad_file(path, f"the archive holds {len(infos)} "
                               f"entries (a model file has 3); refusing it.")
            for info in infos:
                _check_entry_name(path, info.filename)
            names = {i.filename: i for i in infos}
            if CONFIG not in names:
                raise bad_file(
                    path, f"the archive has no {CONFIG} (its entries: "
                    f"{sorted(names)}); it is not a Keras model file."
                )
            return {name: _read_capped(path, z, names[name], cap)
                    for name, cap in caps.items() if name in names}
    except FileFormatError:
        raise
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError,
            NotImplementedError, ValueError, zlib.error) as e:
        raise bad_file(path, f"the zip archive is damaged ({e}).") from None


def _read_capped(path, z, info, cap: int) -> bytes:
    def refuse(size):
        return bad_file(
            path, f"the entry {info.filename} inflates to {size} bytes, more "
            f"than the {cap} bytes this model can need; refusing it (a zip "
            "bomb or an edited archive?).")

    if info.file_size > cap:
        raise refuse(info.file_size)
    out, total = [], 0
    with z.open(info) as f:
        while True:
            chunk = f.read(1 << 20)
            if not chunk:
                break
            total += len(chunk)
            if total > cap:
                raise refuse(f"more than {cap}")
            out.append(chunk)
    return b"".join(out)


def weights_cap(model) -> int:
    """The most bytes a model.weights.h5 for `model` can take: its
    variables, as many again for each optimizer slot (Adam keeps 2),
    and HDF5's bookkeeping per dataset and per layer (every layer, with
    weights or not, has its groups: ~2 KB each, so a model of thousands
    of weightless layers refused its own file)."""
    from .weights_store import _layers_with_paths

    n = nbytes = 0
    for v in model.weights:
        n += 1
        nbytes += int(np.prod(v.shape, dtype=np.int64)) * np.dtype(
            v.dtype).itemsize
    groups = len(_layers_with_paths(model))
    return 4 * nbytes + 8192 * (4 * n + 64 + groups) + (1 << 20)


def read_weights(path, model, data: bytes | None = None):
    """The bytes of the archive's model.weights.h5 (None when it has
    none), refused above weights_cap(model)."""
    got = read_archive(path, data, {WEIGHTS: weights_cap(model)})
    return got.get(WEIGHTS)


ASSETS = "assets/"
# Asset files of all layers together may inflate to at most this.
MAX_ASSETS_BYTES = 64 << 20
# Layers whose Keras 3 `save_assets` writes a vocabulary.txt.
_VOCABULARY_LAYERS = ("IntegerLookup", "StringLookup", "TextVectorization")


def read_assets(path, data: bytes | None = None) -> dict:
    """{entry name: bytes} of the archive's `assets/...` files (Keras 3
    writes a lookup layer's adapted vocabulary there), at most
    MAX_ASSETS_BYTES in all."""
    src = check_readable(path) if data is None else io.BytesIO(data)
    try:
        with zipfile.ZipFile(src) as z:
            infos = [i for i in z.infolist()
                     if i.filename.startswith(ASSETS) and not i.is_dir()]
            out, left = {}, MAX_ASSETS_BYTES
            for info in infos:
                out[info.filename] = _read_capped(path, z, info, left)
                left -= len(out[info.filename])
            return out
    except FileFormatError:
        raise
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError,
            NotImplementedError, ValueError, zlib.error) as e:
        raise bad_file(path, f"the zip archive is damaged ({e}).") from None


def apply_assets(path, config: dict, assets: dict) -> dict:
    """`config` with each lookup layer's vocabulary read from its asset
    file (`assets/<layer path>/vocabulary.txt`, the path Keras 3's saving
    gives the layer: layers/<snake class>[_k], nested models included),
    where the config has none."""
    from ..naming import to_snake_case

    def visit(cfg, where, depth):
        if depth > 200 or not isinstance(cfg, dict):
            return cfg
        inner = cfg.get("config")
        if not isinstance(inner, dict):
            return cfg
        name = cfg.get("class_name")
        if name in _VOCABULARY_LAYERS and inner.get("vocabulary") is None:
            raw = assets.get(f"{ASSETS}{where}/vocabulary.txt")
            if raw is not None:
                inner = dict(inner, vocabulary=_vocabulary(path, name, inner,
                                                          raw, where))
                if inner.get("output_mode") in ("tf_idf", "tf-idf") and \
                        inner.get("idf_weights") is None:
                    # Keras keeps adapted idf weights in the weights file
                    # (read_h5 hands them to the layer)
                    inner["idf_pending"] = True
        layers = inner.get("layers")
        if isinstance(layers, list):
            used: dict = {}
            out = []
            for layer in layers:
                module = layer.get("module") if isinstance(layer, dict) \
                    else None
                if not isinstance(layer, dict) or str(module).startswith(
                        "keras.src.ops"):  # op nodes are not layers
                    out.append(layer)
                    continue
                snake = to_snake_case(str(layer.get("class_name")))
                if used.get(snake, -1) >= 0:
                    used[snake] += 1
                    key = f"{snake}_{used[snake]}"
                else:
                    used[snake] = 0
                    key = snake
                sub = f"{where}/layers/{key}" if where else f"layers/{key}"
                out.append(visit(layer, sub, depth + 1))
            inner = dict(inner, layers=out)
        return dict(cfg, config=inner)

    return visit(config, "", 0)


def _vocabulary(path, class_name, config, raw: bytes, where) -> list:
    """The tokens of a Keras vocabulary.txt, special tokens (mask, OOV)
    left out, as graphkeras's lookup layers take them."""
    try:
        lines = raw.decode("utf-8").splitlines()
    except UnicodeDecodeError as e:
        raise bad_file(path, f"the vocabulary of layer {where} is not "
                       f"UTF-8 text ({e}).") from None
    while lines and lines[-1] == "":
        lines.pop()
    if class_name == "IntegerLookup":
        try:
            lines = [int(t) for t in lines]
        except ValueError as e:
            raise bad_file(path, f"the vocabulary of layer {where} "
                           f"(IntegerLookup) holds a non-integer ({e}).") \
                from None
    mask = config.get("mask_token")
    if class_name == "TextVectorization":
        mask = ""  # its StringLookup's mask token
    oov = config.get("oov_token", -1 if class_name == "IntegerLookup"
                     else "[UNK]")
    if mask is not None and lines and lines[0] == mask:
        lines = lines[1:]
    n_oov = config.get("num_oov_indices", 1)
    n_oov = n_oov if isinstance(n_oov, int) and n_oov >= 0 else 1
    while n_oov and lines and lines[0] == oov:
        lines, n_oov = lines[1:], n_oov - 1
    return lines


def _is_hdf5(path) -> bool:
    with open(path, "rb") as f:
        return f.read(8) == b"\x89HDF\r\n\x1a\n"


def read_config(path, archive: dict) -> dict:
    raw = archive[CONFIG]
    if len(raw) > MAX_CONFIG_BYTES:
        raise bad_file(path, f"{CONFIG} is {len(raw)} bytes; refusing it.")
    try:
        config = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise bad_file(path, f"{CONFIG} is not valid JSON ({e}).") from None
    except RecursionError:
        raise bad_file(path, f"{CONFIG} nests too deeply to be a model "
                       "configuration.") from None
    if not isinstance(config, dict) or "class_name" not in config:
        raise bad_file(path, f"{CONFIG} does not describe a model (no "
                       "class_name).")
    return config


# {class_name: loader(path, config, data)} of the objects other than models
# whose `.keras` archives load_model reads; their modules register them
# (so this module imports none of them).
TOP_LEVEL_LOADERS: dict = {}


def load_model(filepath, custom_objects=None, compile=True, safe_mode=True,
               data: bytes | None = None):
    """Load a `.keras` file (written here or by Keras 3), or, with `data`,
    the archive in those bytes (`filepath` then only names it)."""
    path = os.fspath(filepath)
    archive = read_archive(path, data)
    config = read_config(path, archive)
    loader = TOP_LEVEL_LOADERS.get(config.get("class_name"))
    if loader is not None:
        # an archive of another object than a model (FeatureSpace.save)
        return loader(path, config, data)
    assets = read_assets(path, data)
    if assets:
        config = apply_assets(path, config, assets)
    model = model_from_config(config, custom_objects, compile, safe_mode,
                              path=path, budget=variables_budget(
                                  _declared_size(path, data, WEIGHTS)))
    weights = read_weights(path, model, data)
    if weights is not None:
        load_weights_bytes(model, weights, path, load_optimizer=compile)
    elif model.weights:  # noqa: SIM114
        # Keras 3 always writes the entry: a model would come back with
        # freshly initialized weights, silently
        raise bad_file(path, f"the archive has no {WEIGHTS}, but the model "
                       f"has {len(model.weights)} weights (a truncated or "
                       "edited archive?).")
    return model


def variables_budget(weights_bytes: int) -> int:
    """The most bytes of variables a model loaded from a file whose
    weights take `weights_bytes` may create: generous (weights may be
    compressed, optimizer slots are built later), but a 30 KB file
    declaring a 16 GB Dense is refused before it allocates."""
    return 64 * max(int(weights_bytes), 0) + (256 << 20)


def _declared_size(path, data, entry) -> int:
    """The inflated size the archive's header declares for `entry` (0
    when absent); inflating it is capped at that elsewhere."""
    src = check_readable(path) if data is None else io.BytesIO(data)
    try:
        with zipfile.ZipFile(src) as z:
            return max((i.file_size for i in z.infolist()
                        if i.filename == entry), default=0)
    except (zipfile.BadZipFile, OSError, ValueError):
        return 0


def model_from_config(config, custom_objects=None, compile=True,
                      safe_mode=True, path=None, budget=None):
    from ..models.model import Model
    from ..variables import SizeBudgetError, size_budget

    config = dict(config)
    compile_config = config.pop("compile_config", None)
    try:
        with sl.SafeModeScope(sl._effective_safe_mode(safe_mode)), \
                size_budget(budget if budget is not None else 1 << 62):
            model = sl.deserialize_keras_object(config, custom_objects,
                                                safe_mode, kind="models")
    except FileFormatError:
        raise
    except SizeBudgetError as e:
        raise bad_file(path or "<config>", f"its configuration declares a "
                       f"model far larger than its weights: {e} (the "
                       f"weights take at most {budget} bytes by the file's "
                       "size); refusing to build it.") from None
    except RecursionError:
        raise bad_file(path or "<config>", "the model configuration nests "
                       "too deeply (models within models, thousands deep)."
                       ) from None
    except KeyError as e:
        if path is None:
            raise
        raise bad_file(path, f"a config entry lacks the key {e}.") from None
    except (TypeError, ValueError) as e:
        if path is None:
            raise
        raise type(e)(f"While loading {path}: {e}") from None
    except (AttributeError, IndexError, OverflowError, ZeroDivisionError,
            MemoryError) as e:
        # NOTE: a value of the wrong type or size deep in a config that no
        # check caught: still one error naming the file and the value
        raise bad_file(path or "<config>", "its model configuration is "
                       f"malformed ({type(e).__name__}: {e}).") from None
    if not isinstance(model, Model):
        raise bad_file(path or "<config>",
                       f"config.json describes a {type(model).__name__}, "
                       "not a model.")
    if compile and compile_config:
        try:
            compile_from_config(model, compile_config, custom_objects)
        except RecursionError:
            raise bad_file(path or "<config>", "its compile_config nests "
                           "too deeply.") from None
        except (TypeError, ValueError, KeyError, AttributeError,
                IndexError) as e:
            if path is None or path in str(e):
                raise
            msg = f"a config entry lacks the key {e}" if isinstance(
                e, KeyError) else str(e)
            raise bad_file(path, f"the model cannot be compiled as saved "
                           f"(its compile_config): {msg}") from None
    return model


def load_weights_bytes(model, data: bytes, path, load_optimizer=True,
                       skip_mismatch=False) -> None:
    import h5py

    try:
        h5 = h5py.File(io.BytesIO(data), "r")
    except OSError as e:
        raise bad_file(path, f"its {WEIGHTS} is not a readable HDF5 file "
                       f"(truncated or corrupt?): {e}") from None
    with h5:
        check_h5_tree(h5, f"{path} ({WEIGHTS})")
        try:
            read_h5(h5, model, skip_mismatch=skip_mismatch,
                    load_optimizer=load_optimizer)
        except StateError as e:
            raise bad_file(path, f"the weights do not fit the model: {e}.") \
                from None
        except H5_ERRORS as e:
            raise bad_file(path, f"its weights are damaged ({e}).") from None


# --- compile config ---------------------------------------------------------------


def get_compile_config(model) -> dict | None:
    """Keras 3's compile_config: the compile() arguments, serialized."""
    if not getattr(model, "compiled", False):
        return {}
    closs = getattr(model, "_compile_loss", None)
    cmet = getattr(model, "_compile_metrics", None)
    return {
        "optimizer": sl.serialize_keras_object(model.optimizer),
        "loss": sl.serialize_keras_object(model.loss),
        "loss_weights": sl.serialize_keras_object(
            getattr(closs, "_user_weights", None)),
        "metrics": sl.serialize_keras_object(
            getattr(cmet, "_user_metrics", None)),
        "weighted_metrics": sl.serialize_keras_object(
            getattr(cmet, "_user_weighted", None)),
        "run_eagerly": bool(getattr(model, "run_eagerly", False)),
        "steps_per_execution": int(getattr(model, "steps_per_execution", 1)),
        "jit_compile": True,
    }


def _deser_metrics(value, custom_objects):
    if value is None:
        return None
    if isinstance(value, dict) and "class_name" not in value:
        return {k: _deser_metrics(v, custom_objects) for k, v in value.items()}
    if isinstance(value, list):
        return [_deser_metrics(v, custom_objects) for v in value]
    return sl.deserialize_keras_object(value, custom_objects, kind="metrics")


def _deser_loss(value, custom_objects):
    if value is None:
        return None
    if isinstance(value, dict) and "class_name" not in value:
        return {k: _deser_loss(v, custom_objects) for k, v in value.items()}
    if isinstance(value, list):
        return [_deser_loss(v, custom_objects) for v in value]
    return sl.deserialize_keras_object(value, custom_objects, kind="losses")


def compile_from_config(model, config: dict, custom_objects=None) -> None:
    """model.compile(...) from a compile_config (Keras 3) or a legacy
    training_config (`optimizer_config`)."""
    opt = config.get("optimizer", config.get("optimizer_config"))
    optimizer = (sl.deserialize_keras_object(opt, custom_objects,
                                             kind="optimizers")
                 if opt is not None else "rmsprop")
    model.compile(
        optimizer=optimizer,
        loss=_deser_loss(config.get("loss"), custom_objects),
        loss_weights=config.get("loss_weights"),
        metrics=_deser_metrics(config.get("metrics"), custom_objects),
        weighted_metrics=_deser_metrics(config.get("weighted_metrics"),
                                        custom_objects),
        run_eagerly=bool(config.get("run_eagerly") or False),
        steps_per_execution=int(config.get("steps_per_execution") or 1),
    )
