"""A FeatureSpace in a `.keras` file, in Keras 3's layout: config.json
holds the FeatureSpace's config (features, crosses, the preprocessors'
configs with their vocabularies and bin boundaries) and build_config;
model.weights.h5 holds the Normalization statistics under
`preprocessors/<layer>/vars` (the path Keras 3's saving walk gives them);
an adapted vocabulary that Keras 3 wrote to `assets/preprocessors/...`
is read back from there.

Invariant: loading reads the archive through keras_format's checked
readers (entry names, sizes), never runs code from it.
"""

from __future__ import annotations

import io
import json
import zipfile

import numpy as np

from .file_io import FileFormatError, atomic_write, bad_file
from .keras_format import (
    CONFIG,
    METADATA,
    WEIGHTS,
    _metadata,
    _vocabulary,
    read_archive,
    read_assets,
)

_MAX_WEIGHTS = 64 << 20  # a FeatureSpace's statistics are tiny


def container_keys(class_names) -> list:
    """The names Keras 3's saving gives the items of a container (a dict's
    values, in order): the snake-case class name, then `_1`, `_2`, ...
    for repeats (feature_space.py's preprocessors)."""
    from ..naming import to_snake_case

    used: dict = {}
    keys = []
    for cls in class_names:
        key = to_snake_case(str(cls))
        if key in used:
            used[key] += 1
            key = f"{key}_{used[key]}"
        else:
            used[key] = 0
        keys.append(key)
    return keys


def save_feature_space(fs, filepath) -> None:
    import h5py

    config = {"module": "keras.utils", "class_name": "FeatureSpace",
              "config": fs.get_config(), "registered_name": None,
              "build_config": fs.get_build_config()}
    buf = io.BytesIO()
    with h5py.File(buf, "w") as h5:
        for group, arrays in fs.weight_groups().items():
            g = h5.require_group(group)
            for i, a in enumerate(arrays):
                g.create_dataset(str(i), data=np.asarray(a))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_STORED) as z:
        z.writestr(METADATA, _metadata())
        z.writestr(CONFIG, json.dumps(config))
        z.writestr(WEIGHTS, buf.getvalue())
    data = out.getvalue()

    def write(tmp):
        with open(tmp, "wb") as f:
            f.write(data)

    atomic_write(filepath, write)


def _with_assets(path, config: dict, assets: dict) -> dict:
    """The features' lookup configs with the vocabularies Keras 3 wrote
    to assets/preprocessors/<layer>/vocabulary.txt."""
    features = dict(config.get("features") or {})

    def preprocessor(feat):
        pre = (feat.get("config") or {}).get("preprocessor") \
            if isinstance(feat, dict) else None
        return pre if isinstance(pre, dict) else None

    pres = {n: preprocessor(f) for n, f in features.items()}
    keys = dict(zip(features, container_keys(
        (p or {}).get("class_name") for p in pres.values())))
    for name, feat in features.items():
        pre, key = pres[name], keys[name]
        if pre is None:
            continue
        cls = str(pre.get("class_name"))
        inner = pre.get("config") or {}
        raw = assets.get(f"assets/preprocessors/{key}/vocabulary.txt")
        if raw is None or inner.get("vocabulary") is not None:
            continue
        vocab = _vocabulary(path, cls, inner, raw, f"preprocessors/{key}")
        pre = dict(pre, config=dict(inner, vocabulary=vocab))
        features[name] = dict(feat, config=dict(feat["config"],
                                                preprocessor=pre))
    return dict(config, features=features)


def load_feature_space(cls, path, config: dict, data: bytes | None = None):
    """The FeatureSpace (of class `cls`) a `.keras` archive's config
    describes, with its vocabularies and Normalization statistics."""
    import h5py

    inner = config.get("config")
    if not isinstance(inner, dict):
        raise bad_file(path, "the FeatureSpace config is not a dict.")
    assets = read_assets(path, data)
    inner = _with_assets(path, inner, assets)
    try:
        fs = cls.from_config(inner)
    except (TypeError, ValueError) as e:
        raise bad_file(path, f"its FeatureSpace config does not load "
                       f"({e}).") from None
    fs.build_from_config(config.get("build_config") or {})
    raw = read_archive(path, data, {WEIGHTS: _MAX_WEIGHTS}).get(WEIGHTS)
    groups: dict = {}
    if raw is not None:
        try:
            with h5py.File(io.BytesIO(raw), "r") as h5:
                def visit(name, obj):
                    if isinstance(obj, h5py.Group) and name.endswith("vars"):
                        keys = sorted(obj.keys(), key=lambda k: int(k)
                                      if k.isdigit() else 1 << 30)
                        groups[name] = [np.asarray(obj[k]) for k in keys]
                h5.visititems(visit)
        except (OSError, ValueError, KeyError) as e:
            raise bad_file(path, f"its {WEIGHTS} does not read ({e}).") \
                from None
    try:
        fs.set_weight_groups(groups)
    except ValueError as e:
        raise FileFormatError(f"Cannot load {path}: {e}") from None
    return fs
