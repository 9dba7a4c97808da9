"""keras.config / keras.backend / keras.utils / keras.random / keras.datasets
names: each behaves as Keras 3's (outputs recorded from Keras 3 in
tests/fixtures/keras_utils/keras_outputs.json, made by make_fixtures.py
there; NumPy formulas otherwise). No test touches the network."""

from __future__ import annotations

import hashlib
import importlib
import json
import logging
import os
import sys
import tarfile
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np
import pytest

import graphkeras as keras
from graphkeras.frontend.random import _sub_seed
from graphkeras import config as gconfig
from graphkeras.frontend.saving import serialization_lib
from graphkeras.frontend.utils import file_utils

HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURES = os.path.join(HERE, "..", "fixtures", "keras_utils")
sys.path.insert(0, FIXTURES)
from dataset_files import CASES, build_cache, to_json

with open(os.path.join(FIXTURES, "keras_outputs.json")) as _f:
    KERAS = json.load(_f)


@pytest.fixture(autouse=True)
def _restore_settings():
    saved = dict(gconfig._SETTINGS)  # the unsafe-deserialization flag too
    yield
    gconfig._SETTINGS.clear()
    gconfig._SETTINGS.update(saved)


@pytest.fixture()
def offline(monkeypatch):
    """urlretrieve fails as on a machine without network; file:// works."""
    real = urllib.request.urlretrieve

    def fake(url, *args, **kwargs):
        if url.startswith("file:"):
            return real(url, *args, **kwargs)
        raise urllib.error.URLError("network is unreachable (test)")

    monkeypatch.setattr(urllib.request, "urlretrieve", fake)


# --- config / backend --------------------------------------------------------


def test_config_defaults_and_backend_aliases():
    c, b = keras.config, keras.backend
    assert (c.floatx(), c.epsilon(), c.image_data_format()) == (
        "float32", 1e-7, "channels_last")
    assert c.backend() == b.backend() == "graphkeras"
    for name in ("floatx", "epsilon", "image_data_format", "set_floatx",
                 "set_epsilon", "set_image_data_format"):
        assert getattr(b, name) is getattr(c, name)
    assert c.max_epochs() is None and c.max_steps_per_epoch() is None
    assert c.is_interactive_logging_enabled()
    c.disable_traceback_filtering()
    assert not c.is_traceback_filtering_enabled()
    c.enable_traceback_filtering()
    assert c.is_traceback_filtering_enabled()
    assert c.is_flash_attention_enabled() is None and not c.is_nnx_enabled()
    c.enable_flash_attention()
    assert c.is_flash_attention_enabled() is True
    with pytest.raises(ValueError, match="cannot switch to 'jax'"):
        c.set_backend("jax")


def test_set_floatx_float64_builds_float64_models_and_refuses_half():
    keras.config.set_floatx("float64")
    assert keras.backend.floatx() == "float64"
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    assert model.weights[0].dtype == "float64"
    out = model.predict(np.ones((2, 3)), verbose=0)
    assert out.dtype == np.float64
    w, b = (np.asarray(v.value) for v in model.weights)
    np.testing.assert_allclose(out, np.ones((2, 3)) @ w + b, rtol=1e-12)
    with pytest.raises(ValueError, match="float16.*float32 and float64"):
        keras.config.set_floatx("float16")
    with pytest.raises(ValueError, match="Received: floatx='int32'"):
        keras.config.set_floatx("int32")
    assert keras.config.floatx() == "float64"


def test_dtype_policy():
    assert keras.config.dtype_policy().name == "float32"
    keras.config.set_dtype_policy("float64")
    assert keras.config.floatx() == "float64"
    assert keras.config.dtype_policy().compute_dtype == "float64"
    with pytest.raises(ValueError, match="'float16'.*Use 'mixed_float16'"):
        keras.config.set_dtype_policy("float16")
    keras.config.set_dtype_policy("mixed_float16")
    try:
        assert keras.config.floatx() == "float32"
        p = keras.config.dtype_policy()
        assert (p.compute_dtype, p.variable_dtype) == ("float16", "float32")
    finally:
        keras.config.set_dtype_policy("float32")


def test_image_data_format_is_the_default_of_conv_layers():
    keras.config.set_image_data_format("channels_first")
    conv = keras.layers.Conv2D(4, 3)
    pool = keras.layers.MaxPooling2D()
    assert conv.data_format == pool.data_format == "channels_first"
    y = keras.Sequential([keras.Input((2, 8, 8)), conv])(np.ones((1, 2, 8, 8),
                                                              "float32"))
    assert tuple(y.shape) == (1, 4, 6, 6)
    assert keras.layers.Conv2D(4, 3, data_format="channels_last").data_format \
        == "channels_last"
    with pytest.raises(ValueError, match="Received: data_format='nhwc'"):
        keras.config.set_image_data_format("nhwc")


def test_epsilon_reaches_the_losses():
    y_true = np.array([[0.0, 2.0]], "float32")
    y_pred = np.array([[1.0, 1.0]], "float32")

    def mape(eps):
        return 100 * np.mean(np.abs(y_true - y_pred) / np.maximum(
            np.abs(y_true), eps))

    keras.config.set_epsilon(1e-2)
    got = float(keras.losses.MeanAbsolutePercentageError()(y_true, y_pred))
    np.testing.assert_allclose(got, mape(1e-2), rtol=1e-5)
    with pytest.raises(ValueError, match="received value='x'"):
        keras.config.set_epsilon("x")


def _tiny_model():
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    model.compile("sgd", "mse")
    return model


class _CountBatches(keras.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.n = 0

    def on_train_batch_end(self, batch, logs=None):
        self.n += 1


def test_max_epochs_and_max_steps_cap_fit():
    x, y = np.ones((40, 2), "float32"), np.ones((40, 1), "float32")
    keras.config.set_max_epochs(2)
    keras.config.set_max_steps_per_epoch(3)
    counter = _CountBatches()
    with pytest.warns(UserWarning) as record:
        hist = _tiny_model().fit(x, y, batch_size=4, epochs=5, verbose=0,
                                 callbacks=[counter])
    messages = {str(w.message) for w in record}
    assert {"Limiting epochs to 2", "Limiting steps_per_epoch to 3"} <= messages
    assert len(hist.history["loss"]) == 2
    assert counter.n == 2 * 3
    with pytest.raises(ValueError, match="received max_epochs=0"):
        keras.config.set_max_epochs(0)
    keras.config.set_max_epochs(None)
    assert keras.config.max_epochs() is None


def test_interactive_logging_off_sends_progress_to_logging(capsys, caplog):
    keras.config.disable_interactive_logging()
    x, y = np.ones((8, 2), "float32"), np.ones((8, 1), "float32")
    with caplog.at_level(logging.INFO, logger="graphkeras"):
        _tiny_model().evaluate(x, y, verbose=1)
        _tiny_model().fit(x, y, epochs=2, verbose=2)
    assert "1/1" in caplog.text and "loss:" in caplog.text
    assert "Epoch 2/2" in caplog.text
    assert capsys.readouterr().out == ""
    keras.utils.enable_interactive_logging()
    assert keras.utils.is_interactive_logging_enabled()


def test_enable_unsafe_deserialization_sets_saving_flag():
    gconfig._SETTINGS["unsafe_deserialization"] = False
    keras.config.enable_unsafe_deserialization()
    assert serialization_lib._effective_safe_mode(True) is False


def test_backend_dtype_helpers_match_keras():
    B = keras.backend
    for args, expected in KERAS["result_type"]:
        assert B.result_type(*args) == expected, args
    for arg, expected in KERAS["standardize_dtype"]:
        assert B.standardize_dtype(arg) == expected
    assert B.result_type() == "float32"
    assert B.result_type("int32", float) == "float32"
    assert B.is_float_dtype("float64") and not B.is_float_dtype("int32")
    assert B.is_int_dtype("uint8") and not B.is_int_dtype("bool")
    with pytest.raises(ValueError, match="Invalid dtype"):
        B.standardize_dtype("complex64")


def test_get_uid_and_clear_session():
    keras.backend.clear_session()
    assert [keras.backend.get_uid("a"), keras.backend.get_uid("a"),
            keras.backend.get_uid("b")] == [1, 2, 1]
    first = keras.layers.Dense(1).name
    keras.utils.clear_session()
    assert keras.backend.get_uid("a") == 1
    assert keras.layers.Dense(1).name == first == "dense"
    x = keras.Input((2,))
    assert keras.backend.is_keras_tensor(x)
    assert not keras.utils.is_keras_tensor(np.ones(2))


# --- utils ----------------------------------------------------------------------

_KERAS_UTILS = [
    "clear_session", "is_keras_tensor", "standardize_dtype",
    "get_source_inputs", "CustomObjectScope", "custom_object_scope",
    "get_custom_objects", "get_registered_name", "get_registered_object",
    "register_keras_serializable", "deserialize_keras_object",
    "serialize_keras_object", "pack_x_y_sample_weight",
    "unpack_x_y_sample_weight", "PyDataset", "Sequence", "split_dataset",
    "get_file", "array_to_img", "img_to_array", "load_img", "save_img",
    "disable_interactive_logging", "enable_interactive_logging",
    "is_interactive_logging_enabled", "model_to_dot", "plot_model",
    "normalize", "to_categorical", "Progbar", "set_random_seed",
    "pad_sequences", "timeseries_dataset_from_array",
]


def test_keras_utils_names_exist():
    missing = [n for n in _KERAS_UTILS if not hasattr(keras.utils, n)]
    assert not missing
    assert keras.utils.Sequence is keras.utils.PyDataset


def test_pack_unpack_match_keras():
    u = keras.utils
    got = [repr(u.pack_x_y_sample_weight(1)),
           repr(u.pack_x_y_sample_weight([1, 2])),
           repr(u.pack_x_y_sample_weight(1, 2)),
           repr(u.pack_x_y_sample_weight(1, 2, 3))]
    assert got == KERAS["pack"]
    assert u.unpack_x_y_sample_weight((1, 2, 3)) == (1, 2, 3)
    assert u.unpack_x_y_sample_weight((1, 2)) == (1, 2, None)
    assert u.unpack_x_y_sample_weight(1) == (1, None, None)


def test_split_dataset_matches_keras():
    x = np.arange(10)
    for case in KERAS["split_dataset"]:
        left, right = keras.utils.split_dataset((x, x * 10), **case["kwargs"])
        assert [a.tolist() for a in left] == case["left"], case["kwargs"]
        assert [a.tolist() for a in right] == case["right"], case["kwargs"]
    left, right = keras.utils.split_dataset(np.ones((5, 2)), right_size=0.4)
    assert left.shape == (3, 2) and right.shape == (2, 2)
    d_left, _ = keras.utils.split_dataset({"a": x, "b": x}, left_size=2)
    assert d_left["a"].tolist() == [0, 1]
    with pytest.raises(ValueError, match="At least one of"):
        keras.utils.split_dataset(x)
    with pytest.raises(ValueError, match="Received: left_size=1.5"):
        keras.utils.split_dataset(x, left_size=1.5)
    with pytest.raises(ValueError, match="same length"):
        keras.utils.split_dataset((x, x[:3]), left_size=0.5)


def test_get_source_inputs_and_model_to_dot(tmp_path, monkeypatch):
    keras.backend.clear_session()
    a, b = keras.Input((3,)), keras.Input((3,))
    s = keras.layers.Add()([keras.layers.Dense(3)(a), b])
    out = keras.layers.Dense(1)(s)
    assert [id(t) for t in keras.utils.get_source_inputs(out)] == [id(a),
                                                                   id(b)]
    assert keras.utils.get_source_inputs(a)[0] is a
    model = keras.Model([a, b], out)
    pytest.importorskip("pydot")  # the plot extra (CI installs it)
    dot = keras.utils.model_to_dot(model, show_shapes=True)
    text = dot.to_string()
    assert text.startswith("digraph G {")
    assert "<b>dense</b> (Dense)" in text
    assert "Input shape: <b>(None, 3)</b>" in text
    # a->dense, dense->add, b->add, add->dense_1
    assert len(dot.get_edges()) == 4
    path = tmp_path / "m.dot"
    keras.utils.plot_model(model, to_file=str(path))
    assert path.read_text() == keras.utils.model_to_dot(
        model, show_layer_names=False).to_string()
    monkeypatch.setattr("shutil.which", lambda name: None)
    with pytest.raises(ImportError, match="Graphviz"):
        keras.utils.plot_model(model, to_file=str(tmp_path / "m.png"))
    assert not (tmp_path / "m.png").exists()
    with pytest.raises(TypeError, match="KerasTensor"):
        keras.utils.get_source_inputs(np.ones(2))


def test_custom_objects_and_serialization():
    @keras.utils.register_keras_serializable(package="h15")
    class Twice(keras.layers.Layer):
        def call(self, x):
            return x * 2

    assert keras.utils.get_registered_name(Twice) == "h15>Twice"
    assert keras.utils.get_registered_object("h15>Twice") is Twice
    assert keras.utils.get_custom_objects()["h15>Twice"] is Twice
    config = keras.utils.serialize_keras_object(Twice(name="t"))
    assert config["registered_name"] == "h15>Twice"
    layer = keras.utils.deserialize_keras_object(config)
    assert isinstance(layer, Twice) and layer.name == "t"

    def my_fn(x):
        return x

    with keras.utils.custom_object_scope({"my_fn": my_fn}):
        assert keras.utils.get_registered_object("my_fn") is my_fn
    assert keras.utils.get_registered_object("my_fn") is None


def test_image_helpers(monkeypatch):
    img = np.arange(24, dtype="uint8").reshape(2, 4, 3)
    x = keras.utils.img_to_array(img)
    assert x.dtype == np.float32 and x.shape == (2, 4, 3)
    np.testing.assert_array_equal(
        keras.utils.img_to_array(img, data_format="channels_first"),
        img.transpose(2, 0, 1))
    assert keras.utils.img_to_array(img[..., 0]).shape == (2, 4, 1)
    with pytest.raises(ValueError, match="rank 2 or 3"):
        keras.utils.img_to_array(np.ones(3))
    monkeypatch.setitem(sys.modules, "PIL", None)
    with pytest.raises(ImportError, match="Pillow"):
        keras.utils.array_to_img(img)
    with pytest.raises(ImportError, match="Pillow"):
        keras.utils.load_img("nothing.png")


# --- get_file -----------------------------------------------------------------


def _sha256(path):
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def test_get_file_downloads_checks_and_caches(tmp_path, offline):
    src = tmp_path / "src" / "data.txt"
    src.parent.mkdir()
    src.write_bytes(b"hello keras")
    url = src.as_uri()
    cache = tmp_path / "cache"
    path = keras.utils.get_file(origin=url, cache_dir=str(cache),
                                file_hash=_sha256(src))
    assert path == str(cache / "datasets" / "data.txt")
    assert Path(path).read_bytes() == b"hello keras"
    src.unlink()  # cached now: no download
    md5 = hashlib.md5(b"hello keras").hexdigest()
    assert keras.utils.get_file(origin=url, cache_dir=str(cache),
                                md5_hash=md5) == path
    with pytest.raises(OSError, match="data.txt"):
        keras.utils.get_file(origin=url, cache_dir=str(cache),
                             force_download=True)
    assert Path(path).read_bytes() == b"hello keras"  # the old file stays
    other = tmp_path / "src" / "other.txt"
    other.write_bytes(b"abc")
    with pytest.raises(ValueError, match="hash does not match"):
        keras.utils.get_file(origin=other.as_uri(), cache_dir=str(cache),
                             file_hash="0" * 64)
    assert sorted(os.listdir(cache / "datasets")) == ["data.txt"]
    with pytest.raises(OSError, match="URL fetch failure on http://"):
        keras.utils.get_file("x.bin", origin="http://example.invalid/x.bin",
                             cache_dir=str(cache))
    with pytest.raises(ValueError, match="Paths are no longer accepted"):
        keras.utils.get_file("a/b.txt", origin=url, cache_dir=str(cache))


def test_get_file_extracts_and_refuses_escaping_members(tmp_path, offline):
    archive = tmp_path / "pack.tar.gz"
    inner = tmp_path / "inner.txt"
    inner.write_text("inside")
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(inner, arcname="folder/inner.txt")
    out = keras.utils.get_file("pack.tar.gz", origin=archive.as_uri(),
                               cache_dir=str(tmp_path / "c"), extract=True)
    assert out == str(tmp_path / "c" / "datasets" / "pack_extracted")
    assert Path(out, "folder", "inner.txt").read_text() == "inside"
    bad = tmp_path / "bad.tar"
    with tarfile.open(bad, "w") as tar:
        tar.add(inner, arcname="../escape.txt")
    with pytest.raises(ValueError, match="outside"):
        keras.utils.get_file("bad.tar", origin=bad.as_uri(),
                             cache_dir=str(tmp_path / "c"), extract=True)
    assert not (tmp_path / "c" / "escape.txt").exists()


# --- random -------------------------------------------------------------------


def test_random_names_and_seeds():
    R = keras.random
    for name in ("beta", "binomial", "categorical", "dropout", "gamma",
                 "normal", "randint", "shuffle", "truncated_normal", "uniform",
                 "SeedGenerator"):
        assert hasattr(R, name), name
    a = R.randint((50,), 3, 9, seed=1)
    assert a.dtype == np.int32 and a.min() >= 3 and a.max() <= 8
    np.testing.assert_array_equal(a, R.randint((50,), 3, 9, seed=1))
    gen = R.SeedGenerator(4)
    assert not np.array_equal(R.gamma((20,), 2.0, seed=gen),
                              R.gamma((20,), 2.0, seed=gen))
    assert sorted(R.shuffle(np.arange(30), seed=2).tolist()) == list(range(30))
    rows = R.shuffle(np.arange(12).reshape(4, 3), axis=1, seed=2)
    assert sorted(rows[0].tolist()) == [0, 1, 2]
    with pytest.raises(ValueError, match="integer dtype"):
        R.randint((2,), 0, 3, dtype="float32")
    with pytest.raises(ValueError, match="rank 2"):
        R.categorical(np.zeros(3), 2)
    with pytest.raises(ValueError, match="counts"):
        R.binomial((2,), 10**6, 0.5)


def test_random_distributions_moments():
    R, n = keras.random, 20000
    t = R.truncated_normal((n,), mean=1.0, stddev=2.0, seed=3)
    assert np.abs(t - 1.0).max() <= 4.0 + 1e-5
    # the standard normal truncated to [-2, 2] has sd 0.8796
    np.testing.assert_allclose([t.mean(), t.std()], [1.0, 2 * 0.8796],
                               atol=0.04)
    for alpha in (0.5, 3.0):
        g = R.gamma((n,), alpha, seed=5)
        np.testing.assert_allclose([g.mean(), g.var()], [alpha, alpha],
                                   rtol=0.06)
    b = R.beta((n,), 2.0, 5.0, seed=6)
    np.testing.assert_allclose([b.mean(), b.var()], [2 / 7, 10 / 392],
                               rtol=0.05)
    k = R.binomial((n,), np.array(10.0), 0.3, seed=7)
    np.testing.assert_allclose([k.mean(), k.var()], [3.0, 2.1], rtol=0.05)
    logits = np.log(np.array([[0.2, 0.8], [0.9, 0.1]], "float32"))
    c = R.categorical(logits, 4000, seed=8)
    assert c.shape == (2, 4000) and c.dtype == np.int32
    np.testing.assert_allclose(c.mean(axis=1), [0.8, 0.1], atol=0.03)


def test_random_in_a_compiled_model_matches_eager():
    R = keras.random

    class Noise(keras.layers.Layer):
        def call(self, x):
            return [x + R.truncated_normal((4,), seed=11),
                    x + R.gamma((4,), 1.5, seed=12),
                    R.shuffle(x, axis=1, seed=13),
                    x + keras.ops.cast(R.randint((4,), 0, 7, seed=14),
                                       "float32")]

    inp = keras.Input((4,))
    model = keras.Model(inp, Noise()(inp))
    x = np.arange(8, dtype="float32").reshape(2, 4)
    got = model.predict(x, verbose=0)
    want = [x + R.truncated_normal((4,), seed=11),
            x + R.gamma((4,), 1.5, seed=12),
            np.take(x, np.argsort(-np.asarray(R.uniform(
                (4,), seed=_sub_seed(13, 0))), kind="stable"),
                axis=1),
            x + R.randint((4,), 0, 7, seed=14)]
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w, rtol=1e-5, atol=1e-5)


# --- datasets -----------------------------------------------------------------


@pytest.fixture()
def keras_cache(tmp_path, monkeypatch, offline):
    """Keras's cache with the tiny files; hash checks off (the tiny files
    are not Keras's)."""
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    monkeypatch.setattr(file_utils, "validate_file", lambda *a, **k: True)
    return tmp_path, build_cache(str(tmp_path))


def test_keras_datasets_attribute():
    for name in ("mnist", "fashion_mnist", "cifar10", "cifar100", "imdb",
                 "reuters", "boston_housing", "california_housing", "digits"):
        assert hasattr(keras.datasets, name), name


def test_dataset_loaders_match_keras(keras_cache):
    assert len(KERAS["datasets"]) == len(CASES)
    for case in KERAS["datasets"]:
        mod = importlib.import_module(f"graphkeras.datasets.{case['name']}")
        got = to_json(mod.load_data(**case["kwargs"]))
        assert got == case["result"], (case["name"], case["kwargs"])


def test_cifar10_layouts_and_extracted_cache(keras_cache):
    root, raw = keras_cache
    batches = raw["cifar10"]
    names = [f"cifar-10-batches-py/data_batch_{i}" for i in range(1, 6)]
    x_train = np.concatenate([batches[n][b"data"] for n in names])
    y_train = np.concatenate([batches[n][b"labels"] for n in names])
    (xt, yt), (xs, ys) = keras.datasets.cifar10.load_data()
    np.testing.assert_array_equal(
        xt, x_train.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1))
    assert xt.dtype == yt.dtype == np.uint8 and yt.shape == (10, 1)
    np.testing.assert_array_equal(yt[:, 0], y_train)
    assert xs.shape == (2, 32, 32, 3) and ys.shape == (2, 1)
    # Keras's cache keeps the extracted folder: it serves without the archive
    os.unlink(root / "datasets" / "cifar-10-batches-py-target_archive")
    keras.config.set_image_data_format("channels_first")
    (xt2, _), _ = keras.datasets.cifar10.load_data()
    np.testing.assert_array_equal(xt2, xt.transpose(0, 3, 1, 2))


def test_dataset_errors(keras_cache, monkeypatch):
    with pytest.raises(ValueError, match="label_mode"):
        keras.datasets.cifar100.load_data(label_mode="medium")
    with pytest.raises(ValueError, match="test_split"):
        keras.datasets.boston_housing.load_data(test_split=1.0)
    with pytest.raises(ValueError, match="version"):
        keras.datasets.california_housing.load_data(version="tiny")
    with pytest.raises(ValueError, match="Increase maxlen"):
        keras.datasets.imdb.load_data(maxlen=1)
    with pytest.warns(UserWarning, match="nb_words"):
        keras.datasets.imdb.load_data(nb_words=5)
    # the real hash check: the tiny file is not Keras's mnist.npz, so it is
    # downloaded again, which fails offline with the URL named
    monkeypatch.undo()
    monkeypatch.setenv("KERAS_HOME", str(keras_cache[0]))
    monkeypatch.setattr(urllib.request, "urlretrieve", _refuse)
    with pytest.raises(OSError, match="mnist.npz"):
        keras.datasets.mnist.load_data()


def _refuse(url, *args, **kwargs):
    raise urllib.error.URLError("network is unreachable (test)")


def test_safe_unpickler_refuses_code(tmp_path):
    import pickle

    from graphkeras.datasets._files import load_pickle

    ok = tmp_path / "batch"
    batch = {b"data": np.arange(6, dtype=np.uint8), b"labels": [1, 2]}
    ok.write_bytes(pickle.dumps(batch, protocol=2))  # bytes via _codecs
    got = load_pickle(str(ok))
    np.testing.assert_array_equal(got[b"data"], batch[b"data"])
    path = tmp_path / "evil"
    path.write_bytes(pickle.dumps({b"data": os.getcwd}))
    with pytest.raises(pickle.UnpicklingError, match="posix.getcwd"):
        load_pickle(str(path))


def test_version_and_normalize_dtypes():
    assert keras.version() == keras.__version__
    x = np.array([[3.0, 4.0], [0.0, 0.0]])
    out = keras.utils.normalize(x)
    assert out.dtype == np.float64  # a NumPy array stays NumPy's, as Keras
    np.testing.assert_allclose(out, [[0.6, 0.8], [0.0, 0.0]])
    assert keras.utils.normalize([[3, 4]]).dtype == np.float32


def test_build_config_methods():
    d = keras.layers.Dense(3)
    assert d.get_build_config() is None
    d.build((None, 4))
    assert d.get_build_config() == {"input_shape": (None, 4)}
    e = keras.layers.Dense(3)
    e.build_from_config({"input_shape": [None, 4]})
    assert e.built and e.kernel.shape == (4, 3)

    class TwoShapes(keras.layers.Layer):
        def build(self, a_shape, b_shape):
            self.w = self.add_weight(shape=(a_shape[-1], b_shape[-1]))

        def call(self, a, b):
            return keras.ops.matmul(a, self.w) + b

    t = TwoShapes()
    t.build_from_config({"shapes_dict": {"a_shape": [None, 2],
                                         "b_shape": [None, 5]}})
    assert t.w.shape == (2, 5)

    class Custom(keras.layers.Layer):
        def build(self, input_shape):
            self.w = self.add_weight(shape=(input_shape[-1], 2))

        def call(self, x):
            return keras.ops.matmul(x, self.w)

        def get_build_config(self):
            return {"width": self.w.shape[0]}

        def build_from_config(self, config):
            self.build((None, config["width"]))

    c = Custom()
    model = keras.Sequential([keras.Input((6,)), c])
    cfg = keras.saving.serialize_keras_object(c)
    assert cfg["build_config"] == {"width": 6}
    again = keras.saving.deserialize_keras_object(
        cfg, custom_objects={"Custom": Custom})
    assert again.built and again.w.shape == (6, 2)
    assert model.get_build_config() is not None
