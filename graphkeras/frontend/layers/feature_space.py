"""FeatureSpace (keras.utils.FeatureSpace): Keras 3's one-stop
preprocessing of structured data, feature by feature (normalize, rescale,
discretize, look up, hash), with hashed feature crosses, concatenated into
one float32 vector per sample or returned as a dict.

graphkeras models compute on numbers only, so a FeatureSpace runs on the
host, on NumPy data (as Keras 3 runs it in TensorFlow whatever the
backend): preprocess the data with it, train a model on the encoded
features, and call it again on new data before `predict`.

Invariants:
- Keras 3's order and widths: the features sorted by name, then the
  crosses sorted by name, each "one_hot" feature as a vector of its
  preprocessor's cardinality, each "float" feature as one column.
- adapt() feeds each preprocessor the batches Keras 3 feeds it (a dict of
  arrays is cut into batches of 32, as tf.data's from_tensor_slices then
  batch(32)), so the quantile boundaries of Discretization come out as
  Keras's.
- Crosses combine the preprocessed features (lookup indices, bins), not
  the raw values, as Keras 3 does.
- get_config() / save() write Keras 3's format (Feature and Cross
  entries, the preprocessors' configs with their vocabularies, the
  Normalization statistics in model.weights.h5 under
  preprocessors/<layer>/vars), so Keras 3 loads the file and graphkeras
  loads Keras's.
"""

from __future__ import annotations

import numpy as np

from ..naming import uniquify
from ..saving import feature_space_file, keras_format
from .core import Identity
from .host import HostLayer, spec
from .layer import Layer
from .preprocessing import Rescaling
from .preprocessing_hashing import HashedCrossing, Hashing, encode_bins
from .preprocessing_tabular import (
    CategoryEncoding,
    Discretization,
    IntegerLookup,
    Normalization,
)
from .preprocessing_text import StringLookup, TextVectorization

_FS_MODULE = "keras.src.layers.preprocessing.feature_space"
_ADAPT_BATCH = 32  # the batch Keras 3 gives unbatched data in adapt()


class TFDIdentity(Identity):
    """The identity preprocessor of `FeatureSpace.float` features (Keras
    3's class name, so its files name it alike)."""


class Cross:
    """A feature cross of a FeatureSpace: the features crossed, the number
    of hash bins, the output mode ("one_hot" or "int")."""

    def __init__(self, feature_names, crossing_dim, output_mode="one_hot"):
        if output_mode not in {"int", "one_hot"}:
            raise ValueError(
                "Invalid value for argument `output_mode`. Expected one of "
                f"{{'int', 'one_hot'}}. Received: output_mode={output_mode}")
        self.feature_names = tuple(feature_names)
        self.crossing_dim = crossing_dim
        self.output_mode = output_mode

    @property
    def name(self) -> str:
        return "_X_".join(self.feature_names)

    def get_config(self) -> dict:
        return {"feature_names": list(self.feature_names),
                "crossing_dim": self.crossing_dim,
                "output_mode": self.output_mode}

    @classmethod
    def from_config(cls, config):
        return cls(**config)


class Feature:
    """A feature of a FeatureSpace: its input dtype, its preprocessing
    layer, its output mode ("float", "one_hot" or "int")."""

    def __init__(self, dtype, preprocessor, output_mode):
        if output_mode not in {"int", "one_hot", "float"}:
            raise ValueError(
                "Invalid value for argument `output_mode`. Expected one of "
                "{'int', 'one_hot', 'float'}. Received: "
                f"output_mode={output_mode}")
        self.dtype = dtype
        if isinstance(preprocessor, dict):
            preprocessor = _deserialize_layer(preprocessor)
        self.preprocessor = preprocessor
        self.output_mode = output_mode

    def get_config(self) -> dict:
        return {"dtype": self.dtype,
                "preprocessor": _serialize_layer(self.preprocessor),
                "output_mode": self.output_mode}

    @classmethod
    def from_config(cls, config):
        return cls(**config)


def _serialize_layer(layer) -> dict:
    from ..saving.serialization_lib import serialize_keras_object

    if isinstance(layer, TFDIdentity):
        return {"module": _FS_MODULE, "class_name": "TFDIdentity",
                "config": {"name": layer.name, "trainable": True,
                           "dtype": layer.dtype},
                "registered_name": None}
    return serialize_keras_object(layer)


def _deserialize_layer(config: dict):
    from ..saving.serialization_lib import deserialize_keras_object

    if config.get("class_name") == "TFDIdentity":
        inner = config.get("config") or {}
        return TFDIdentity(name=inner.get("name"))
    return deserialize_keras_object(config)


def _wrapped(config, cls, what: str):
    """A Feature / Cross from its serialized dict (Keras 3's format)."""
    if isinstance(config, cls):
        return config
    if isinstance(config, dict) and config.get("class_name") == cls.__name__:
        return cls.from_config(config.get("config") or {})
    raise ValueError(f"Invalid {what}: {config!r}")


def _to_numpy(name: str, x) -> np.ndarray:
    a = np.asarray(x)
    if a.dtype.kind in "SO":
        a = np.vectorize(
            lambda v: v.decode("utf-8") if isinstance(v, bytes) else str(v),
            otypes=[object])(a).astype(str) if a.size else a.astype(str)
    if a.dtype.kind not in "USiubf":
        raise ValueError(
            f"FeatureSpace: feature '{name}' must hold numbers or strings. "
            f"Received an array of dtype {a.dtype}.")
    return a


class FeatureSpace(HostLayer, Layer):
    """One-stop utility for preprocessing and encoding structured data.

    Each feature gets a preprocessing layer (normalization, rescaling,
    discretization, a vocabulary lookup, hashing), optionally one-hot
    encoded; feature crosses hash combinations of features. The result
    is one float32 vector per sample ("concat") or a dict of encoded
    features ("dict"). Runs on NumPy data (a dict of arrays), or at the
    front of a model as a host layer: `get_encoded_features()` is its
    output on `get_inputs()`, so keras.io's inference model
    (`keras.Model(fs.get_inputs(), outputs)`) takes raw features.

    Args:
        features: a dict {name: feature}, each feature a string
            ("float", "float_normalized", "float_rescaled",
            "float_discretized", "integer_categorical",
            "string_categorical", "integer_hashed", "string_hashed") or a
            `FeatureSpace.<type>(...)` / `FeatureSpace.feature(...)`.
        output_mode: "concat" (default) or "dict".
        crosses: a list of tuples of feature names, or
            `FeatureSpace.cross(...)` objects.
        crossing_dim: the default number of bins of a cross (32).
        hashing_dim: the default number of bins of a hashed feature (32).
        num_discretization_bins: the default bins of "float_discretized"
            features (32).

    Example:
        >>> data = {"x": np.array([0.0, 1.0, 2.0, 3.0]),
        ...         "c": np.array(["a", "b", "a", "c"])}
        >>> fs = FeatureSpace({"x": "float_normalized",
        ...                    "c": "string_categorical"})
        >>> fs.adapt(data)
        >>> fs(data).shape    # 4 one-hot columns for "c", then "x"
        (4, 5)
    """

    # --- the feature types ---------------------------------------------------

    @classmethod
    def cross(cls, feature_names, crossing_dim, output_mode="one_hot"):
        return Cross(feature_names, crossing_dim, output_mode=output_mode)

    @classmethod
    def feature(cls, dtype, preprocessor, output_mode):
        return Feature(dtype, preprocessor, output_mode)

    @classmethod
    def float(cls, name=None):  # noqa: A003  (Keras's name)
        name = name or uniquify("float")
        return Feature("float32", TFDIdentity(name=f"{name}_preprocessor"),
                       "float")

    @classmethod
    def float_rescaled(cls, scale=1.0, offset=0.0, name=None):
        name = name or uniquify("float_rescaled")
        return Feature("float32", Rescaling(scale=scale, offset=offset,
                                            name=f"{name}_preprocessor"),
                       "float")

    @classmethod
    def float_normalized(cls, name=None):
        name = name or uniquify("float_normalized")
        return Feature("float32", Normalization(
            axis=-1, name=f"{name}_preprocessor"), "float")

    @classmethod
    def float_discretized(cls, num_bins, bin_boundaries=None,
                          output_mode="one_hot", name=None):
        name = name or uniquify("float_discretized")
        return Feature("float32", Discretization(
            num_bins=num_bins, bin_boundaries=bin_boundaries,
            name=f"{name}_preprocessor"), output_mode)

    @classmethod
    def integer_categorical(cls, max_tokens=None, num_oov_indices=1,
                            output_mode="one_hot", name=None):
        name = name or uniquify("integer_categorical")
        return Feature("int32", IntegerLookup(
            name=f"{name}_preprocessor", max_tokens=max_tokens,
            num_oov_indices=num_oov_indices), output_mode)

    @classmethod
    def string_categorical(cls, max_tokens=None, num_oov_indices=1,
                           output_mode="one_hot", name=None):
        name = name or uniquify("string_categorical")
        return Feature("string", StringLookup(
            name=f"{name}_preprocessor", max_tokens=max_tokens,
            num_oov_indices=num_oov_indices), output_mode)

    @classmethod
    def string_hashed(cls, num_bins, output_mode="one_hot", name=None):
        name = name or uniquify("string_hashed")
        return Feature("string", Hashing(name=f"{name}_preprocessor",
                                         num_bins=num_bins), output_mode)

    @classmethod
    def integer_hashed(cls, num_bins, output_mode="one_hot", name=None):
        name = name or uniquify("integer_hashed")
        return Feature("int32", Hashing(name=f"{name}_preprocessor",
                                        num_bins=num_bins), output_mode)

    # --- construction --------------------------------------------------------

    def __init__(self, features, output_mode="concat", crosses=None,
                 crossing_dim=32, hashing_dim=32, num_discretization_bins=32,
                 name=None, **kwargs):
        kwargs.pop("trainable", None)
        kwargs.pop("dtype", None)
        super().__init__(name=name, **kwargs)
        if not features:
            raise ValueError(
                "The `features` argument cannot be None or empty.")
        self.crossing_dim = crossing_dim
        self.hashing_dim = hashing_dim
        self.num_discretization_bins = num_discretization_bins
        self.features = {n: self._standardize_feature(n, v)
                         for n, v in features.items()}
        self.crosses = []
        for cross in crosses or ():
            if isinstance(cross, dict):
                cross = _wrapped(cross, Cross, "cross")
            if isinstance(cross, Cross):
                self.crosses.append(cross)
                continue
            if not crossing_dim:
                raise ValueError(
                    "When specifying `crosses`, the argument `crossing_dim` "
                    "(dimensionality of the crossing space) should be "
                    "specified as well.")
            unknown = [k for k in cross if k not in features]
            if unknown:
                raise ValueError(
                    "All features referenced in the `crosses` argument "
                    "should be present in the `features` dict. Received "
                    f"unknown features: {cross}")
            self.crosses.append(Cross(cross, crossing_dim=crossing_dim))
        self.crosses_by_name = {c.name: c for c in self.crosses}
        if output_mode not in {"dict", "concat"}:
            raise ValueError(
                "Invalid value for argument `output_mode`. Expected one of "
                f"{{'dict', 'concat'}}. Received: output_mode={output_mode}")
        self.output_mode = output_mode
        self.preprocessors = {n: f.preprocessor
                              for n, f in self.features.items()}
        self.crossers = {c.name: HashedCrossing(c.crossing_dim, name=c.name)
                         for c in self.crosses}
        self.one_hot_encoders = {}
        self._inputs = None
        self._encoded = None
        self._is_adapted = False
        self.built = True

    def _standardize_feature(self, name, feature):
        if isinstance(feature, Feature):
            return feature
        if isinstance(feature, dict):
            return _wrapped(feature, Feature, "feature")
        makers = {
            "float": lambda: self.float(name=name),
            "float_normalized": lambda: self.float_normalized(name=name),
            "float_rescaled": lambda: self.float_rescaled(name=name),
            "float_discretized": lambda: self.float_discretized(
                name=name, num_bins=self.num_discretization_bins),
            "integer_categorical": lambda: self.integer_categorical(
                name=name),
            "string_categorical": lambda: self.string_categorical(
                name=name),
            "integer_hashed": lambda: self.integer_hashed(
                self.hashing_dim, name=name),
            "string_hashed": lambda: self.string_hashed(
                self.hashing_dim, name=name),
        }
        if not isinstance(feature, str) or feature not in makers:
            raise ValueError(f"Invalid feature type: {feature}")
        return makers[feature]()

    # --- adapt ---------------------------------------------------------------

    def _adaptable(self) -> list:
        names = []
        for name, p in self.preprocessors.items():
            if isinstance(p, Normalization) and p.input_mean is not None:
                continue
            if isinstance(p, TextVectorization) and \
                    p._lookup._vocabulary is not None:
                continue
            if hasattr(p, "adapt"):
                names.append(name)
        return names

    def adapt(self, dataset):
        """Adapt every adaptable preprocessor on its feature.

        Args:
            dataset: a dict {feature name: array of samples}, or an
                iterable of such dicts (batches), e.g. a PyDataset; an
                item `(x, y)` is read as x.
        """
        batches = self._adapt_batches(dataset)
        for name in self._adaptable():
            per_feature = []
            for b in batches:
                if name not in b:
                    raise ValueError(
                        f"FeatureSpace.adapt(): the data has no feature "
                        f"'{name}'. Received features: {sorted(b)}")
                x = _to_numpy(name, b[name])
                if x.ndim <= 1:
                    x = x.reshape(-1, 1)
                per_feature.append(x)
            p = self.preprocessors[name]
            if isinstance(p, Normalization) and not p.built:
                p.build((None,) + per_feature[0].shape[1:])
            p.adapt(per_feature)
        self._is_adapted = True
        self._encoded = None

    def _adapt_batches(self, dataset) -> list:
        if isinstance(dataset, dict):
            arrays = {k: np.asarray(v) for k, v in dataset.items()}
            n = {len(a) if a.ndim else 1 for a in arrays.values()}
            if len(n) != 1:
                raise ValueError(
                    "FeatureSpace.adapt(): the features of a dict must have "
                    f"one length. Received lengths "
                    f"{ {k: len(a) for k, a in arrays.items()} }")
            total = n.pop()
            return [{k: a[i:i + _ADAPT_BATCH] for k, a in arrays.items()}
                    for i in range(0, total, _ADAPT_BATCH)]
        if isinstance(dataset, (str, bytes)) or not hasattr(
                dataset, "__iter__"):
            raise ValueError(
                "`adapt()` can only be called on a dict of arrays/lists or "
                "an iterable of such dicts (batches). Received instead: "
                f"{dataset} (of type {type(dataset)})")
        out = []
        for item in dataset:
            if isinstance(item, tuple) and item and isinstance(item[0], dict):
                item = item[0]
            if not isinstance(item, dict):
                raise ValueError(
                    "`adapt()` expects batches that are dicts of features. "
                    f"Received a batch of type {type(item).__name__}.")
            out.append(item)
        if not out:
            raise ValueError("FeatureSpace.adapt() received no batches.")
        return out

    def _check_if_adapted(self) -> None:
        if not self._is_adapted:
            if self._adaptable():
                raise ValueError(
                    "You need to call `.adapt(dataset)` on the FeatureSpace "
                    "before you can start using it.")
            self._is_adapted = True

    # --- encoding ------------------------------------------------------------

    def _cardinality(self, name: str, preprocessor) -> int | None:
        if isinstance(preprocessor, (IntegerLookup, StringLookup)):
            return preprocessor.vocabulary_size()
        if isinstance(preprocessor, CategoryEncoding):
            return preprocessor.num_tokens
        if isinstance(preprocessor, Discretization):
            return preprocessor.num_bins
        if isinstance(preprocessor, (HashedCrossing, Hashing)):
            return preprocessor.num_bins
        raise ValueError(
            f"Feature '{name}' has `output_mode='one_hot'`. However it isn't "
            "a standard feature and the dimensionality of its output space "
            "is not known, thus it cannot be one-hot encoded. Try using "
            "`output_mode='int'`.")

    def _names(self):
        return sorted(self.features), sorted(self.crosses_by_name)

    def _spec(self, name):
        return self.features.get(name) or self.crosses_by_name[name]

    def _layer(self, name):
        return self.preprocessors.get(name) or self.crossers[name]

    def _encode(self, name: str, x: np.ndarray) -> np.ndarray:
        spec = self._spec(name)
        if spec.output_mode == "one_hot":
            if x.dtype.kind not in "iu":
                raise ValueError(
                    f"Feature '{name}' has `output_mode='one_hot'`. Thus its "
                    "preprocessor should return an integer dtype. Instead "
                    f"it returns a {x.dtype} dtype.")
            depth = self._cardinality(name, self._layer(name))
            if depth is not None:
                if name not in self.one_hot_encoders:
                    self.one_hot_encoders[name] = CategoryEncoding(
                        num_tokens=depth, output_mode="multi_hot")
                x = encode_bins(x, "multi_hot", depth, "float32")
        if self.output_mode == "concat" and x.dtype.kind in "iuUSO":
            raise ValueError(
                f"Cannot concatenate features because feature '{name}' has "
                f"not been encoded (it has dtype {x.dtype}). Consider using "
                "`output_mode='dict'`.")
        return x

    def _concat(self, names, raw) -> np.ndarray:
        """The encoded features side by side in one float32 array, one-hot
        features scattered straight into it (no per-feature one-hot
        array: a wide table would otherwise be built twice)."""
        parts = []
        for name in names:
            x = raw[name]
            depth = None
            if self._spec(name).output_mode == "one_hot" and \
                    x.dtype.kind in "iu":
                depth = self._cardinality(name, self._layer(name))
            if depth is not None and x.ndim == 2 and x.shape[1] == 1:
                self.one_hot_encoders.setdefault(name, CategoryEncoding(
                    num_tokens=depth, output_mode="multi_hot"))
                parts.append((name, x[:, 0], depth))
            else:
                parts.append((name, self._encode(name, x), None))
        rows = len(parts[0][1])
        width = sum(d if d is not None else p.shape[-1]
                    for _, p, d in parts)
        merged = np.zeros((rows, width), "float32")
        at = 0
        for _, p, depth in parts:
            if depth is None:
                merged[:, at:at + p.shape[-1]] = p
                at += p.shape[-1]
                continue
            ok = (p >= 0) & (p < depth)
            merged[np.nonzero(ok)[0], at + p[ok]] = 1.0
            at += depth
        return merged

    host_work = "encodes features with its preprocessing layers in NumPy"

    def __call__(self, data, *args, **kwargs):
        from ..tensors import KerasTensor

        if not isinstance(data, dict) or not any(
                isinstance(v, KerasTensor) for v in data.values()):
            # (a symbolic call needs only the encodings' widths: a model
            # rebuilt from a file calls it before its state is loaded)
            self._check_if_adapted()
        if not isinstance(data, dict):
            raise ValueError(
                "A FeatureSpace can only be called with a dict. Received: "
                f"data={data} (of type {type(data)}")
        return HostLayer.__call__(self, data)

    def host_output_spec(self, inputs):
        """KerasTensors of the encodings: (batch, width) float32 in
        "concat" mode, else a dict of them in the order of `__call__`."""
        missing = [n for n in self.features if n not in inputs]
        if missing:
            raise ValueError(
                f"FeatureSpace: the inputs have no feature(s) {missing}. "
                f"Received features: {sorted(inputs)}")
        widths = self._widths()
        if self.output_mode == "concat":
            return spec((None, sum(w for w, _ in widths.values())),
                        "float32")
        return {n: spec((None, w), dt) for n, (w, dt) in widths.items()}

    def host_call(self, data):
        missing = [n for n in self.features if n not in data]
        if missing:
            raise ValueError(
                f"FeatureSpace: the data has no feature(s) {missing}. "
                f"Received features: {sorted(data)}")
        arrays, rebatched = {}, False
        for name in self.features:
            x = _to_numpy(name, data[name])
            if x.ndim == 0:
                x, rebatched = x.reshape(1, 1), True
            elif x.ndim == 1:
                x = x.reshape(-1, 1)
            arrays[name] = x
        pre = {}
        for name in self.features:
            x = arrays[name]
            if self.features[name].dtype == "float32" and x.dtype.kind in "iuf":
                x = x.astype("float32")
            pre[name] = np.asarray(self.preprocessors[name](x))
        crossed = {c.name: np.asarray(self.crossers[c.name](
            [pre[n] for n in c.feature_names])) for c in self.crosses}
        feature_names, cross_names = self._names()
        raw = {**pre, **crossed}
        names = feature_names + cross_names
        if self.output_mode == "concat":
            merged = self._concat(names, raw)
            return merged[0] if rebatched else merged
        out = {name: self._encode(name, raw[name]) for name in names}
        if rebatched:
            out = {k: v[0] if v.ndim == 2 and v.shape[0] == 1 else v
                   for k, v in out.items()}
        return out

    def call(self, data):
        return self(data)

    # --- symbolic inputs for building models ----------------------------------

    def get_inputs(self) -> dict:
        """A dict of `keras.Input(shape=(1,), dtype=..., name=feature)`,
        one per feature (string features have dtype "string": the
        FeatureSpace, a host layer, takes them at the front of a
        model)."""
        self._check_if_adapted()
        if self._inputs is None:
            from .input_layer import Input

            self._inputs = {n: Input(shape=(1,), dtype=f.dtype, name=n)
                            for n, f in self.features.items()}
        return self._inputs

    def _widths(self) -> dict:
        """{name: (width, dtype)} of each encoded feature."""
        out = {}
        feature_names, cross_names = self._names()
        for name in feature_names + cross_names:
            spec, layer = self._spec(name), self._layer(name)
            if spec.output_mode == "one_hot":
                depth = self._cardinality(name, layer)
                if depth is not None:
                    out[name] = (depth, "float32")
                    continue
            if spec.output_mode == "float":
                out[name] = (1, "float32")
            elif isinstance(layer, Discretization):
                out[name] = (1, "int32")
            else:
                out[name] = (1, "int64")
            if self.output_mode == "concat" and out[name][1] != "float32":
                raise ValueError(
                    f"Cannot concatenate features because feature '{name}' "
                    f"has not been encoded (it has dtype {out[name][1]}). "
                    "Consider using `output_mode='dict'`.")
        return out

    def get_encoded_features(self):
        """The FeatureSpace's output on `get_inputs()` (as Keras 3): in
        "concat" mode one (batch, width) float32 tensor, in "dict" mode a
        dict of them (one per feature and cross). A model built on them
        (`keras.Model(encoded, outputs)`) takes `feature_space(data)`; one
        built on `get_inputs()` (`keras.Model(fs.get_inputs(), outputs)`)
        takes the raw features and runs the FeatureSpace as its host
        stage."""
        self._check_if_adapted()
        if self._encoded is None:
            self._encoded = self(self.get_inputs())
        return self._encoded

    # --- saving --------------------------------------------------------------

    def get_config(self) -> dict:
        return {
            "features": {
                n: {"module": _FS_MODULE, "class_name": "Feature",
                    "config": f.get_config(), "registered_name": "Feature"}
                for n, f in self.features.items()},
            "output_mode": self.output_mode,
            "crosses": [{"module": _FS_MODULE, "class_name": "Cross",
                         "config": c.get_config(), "registered_name": "Cross"}
                        for c in self.crosses],
            "crossing_dim": self.crossing_dim,
            "hashing_dim": self.hashing_dim,
            "num_discretization_bins": self.num_discretization_bins,
        }

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def get_build_config(self) -> dict:
        out = {}
        for name, f in self.features.items():
            p = f.preprocessor
            if isinstance(p, (IntegerLookup, StringLookup, Hashing,
                              TextVectorization)):
                out[name] = {}
            else:
                out[name] = {"input_shape": [None, 1]}
        return out

    def build_from_config(self, config) -> None:
        for name in config or {}:
            p = self.preprocessors.get(name)
            if isinstance(p, Normalization) and not p.built:
                p.build((None, 1))
        self._is_adapted = True

    def after_weights_loaded(self) -> None:
        """A model holding this FeatureSpace loaded its weights (the
        Normalization statistics; the vocabularies are in the config)."""
        self._is_adapted = True

    def _saved_preprocessors(self) -> list:
        """(name in Keras 3's files, layer) of each preprocessor."""
        layers = list(self.preprocessors.values())
        return list(zip(feature_space_file.container_keys(
            type(p).__name__ for p in layers), layers))

    def weight_groups(self) -> dict:
        """{h5 group path: [arrays]} as Keras 3's saving writes a
        FeatureSpace (the Normalization statistics; empty groups for the
        other layers)."""
        groups = {"vars": []}
        for key, p in self._saved_preprocessors():
            arrays = []
            if isinstance(p, Normalization) and p.input_mean is None and \
                    p.built:
                arrays = [np.asarray(p.adapt_mean),
                          np.asarray(p.adapt_variance), np.asarray(p.count)]
            groups[f"preprocessors/{key}/vars"] = arrays
        return groups

    def set_weight_groups(self, groups: dict) -> None:
        """Load the Normalization statistics from Keras 3's h5 groups."""
        for key, p in self._saved_preprocessors():
            if isinstance(p, Normalization) and p.input_mean is None:
                arrays = groups.get(f"preprocessors/{key}/vars") or []
                if len(arrays) != 3:
                    raise ValueError(
                        f"FeatureSpace: the weights file holds {len(arrays)} "
                        f"arrays for Normalization layer '{p.name}' "
                        f"(preprocessors/{key}), expected 3 (mean, "
                        "variance, count).")
                if not p.built:
                    p.build((None,) + tuple(np.shape(arrays[0])))
                p.adapt_mean.assign(np.asarray(arrays[0], "float32"))
                p.adapt_variance.assign(np.asarray(arrays[1], "float32"))
                p.count.assign(np.asarray(arrays[2], "int64"))
        self._is_adapted = True

    def save(self, filepath) -> None:
        """Save the FeatureSpace to a `.keras` file (Keras 3's layout);
        reload it with `keras.models.load_model` (here or in Keras 3)."""
        feature_space_file.save_feature_space(self, filepath)


keras_format.TOP_LEVEL_LOADERS["FeatureSpace"] = (
    lambda path, config, data: feature_space_file.load_feature_space(
        FeatureSpace, path, config, data))


__all__ = ["Cross", "Feature", "FeatureSpace"]
