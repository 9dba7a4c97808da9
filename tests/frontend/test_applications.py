"""graphkeras.applications against Keras 3.15.

The fixtures (tests/fixtures/applications, written by make_fixtures.py
there with Keras 3) hold, per architecture at a small input size, Keras's
layer list (class, name, config, inbound layers), weight paths and shapes,
and for the smallest member of each family Keras's predictions with every
weight set by `fill_weights`. Here each model is built with graphkeras and
compared: structure exactly, predictions within float32 tolerance.
"""

import gzip
import inspect
import json
import os

import numpy as np
import pytest

import graphkeras as keras
from graphkeras import applications as A

FIXTURES = os.path.join(os.path.dirname(__file__), "..", "fixtures",
                        "applications")


def _load_structure():
    with gzip.open(os.path.join(FIXTURES, "structure.json.gz"), "rt") as f:
        return json.load(f)


STRUCTURE = _load_structure()
PREDICTIONS = dict(np.load(os.path.join(FIXTURES, "predictions.npz")))
_ALL_NUMERIC = sorted({k.split("/")[0] for k in PREDICTIONS} & set(STRUCTURE))
# NOTE: the numpy reference interpreter takes 10-40 s on these (big
# convolutions, tens of millions of weights to fill): their predictions are
# compared with GRAPHKERAS_APPS_FULL=1, their structure always
_HEAVY = {"VGG16", "ResNet50", "ResNet50V2", "Xception", "InceptionV3",
          "InceptionResNetV2", "NASNetMobile", "ConvNeXtTiny"}
_FULL = os.environ.get("GRAPHKERAS_APPS_FULL") == "1"
NUMERIC = [n for n in _ALL_NUMERIC if _FULL or n not in _HEAVY]

# config entries compared exactly for every layer (the rest: dtype
# policies and the like, which other tests cover)
_SKIP_CONFIG = {"dtype", "trainable", "name"}
# entries Keras 3.15 writes that graphkeras's layers do not (yet) have,
# at their default values (outside this area: reported, not compared)
_KERAS_ONLY = {"optional": False, "ragged": False, "renorm": False,
               "renorm_clipping": None, "renorm_momentum": 0.99,
               "quantization_config": None}


def _normalize(value):
    """Drop an initializer's None-valued `input_axes` / `output_axes`
    (Keras 3.15's variance-scaling entries, defaults), and in nested
    configs (a Sequential's layers) what `_SKIP_CONFIG` and `_KERAS_ONLY`
    leave out at the top level."""
    if isinstance(value, dict):
        return {k: _normalize(v) for k, v in value.items()
                if not (k in ("input_axes", "output_axes") and v is None)
                and k not in ("dtype", "trainable")
                and not (k in _KERAS_ONLY and v == _KERAS_ONLY[k])}
    if isinstance(value, list):
        return [_normalize(v) for v in value]
    return value


def fill_weights(weights):
    """The same deterministic values as make_fixtures.fill_weights."""
    values = []
    for i, w in enumerate(weights):
        shape = tuple(w.shape)
        name = w.path.split("/")[-1]
        u = np.random.default_rng(1000 + i).standard_normal(shape)
        if name in ("gamma", "moving_variance", "variance"):
            v = 1.0 + 0.1 * np.abs(u) if name != "gamma" else 1.0 + 0.1 * u
        elif name in ("beta", "moving_mean", "bias", "mean"):
            v = 0.1 * u
        elif name == "count":
            v = np.zeros(shape)
        elif len(shape) <= 1:
            v = 1.0 + 0.1 * u
        else:
            fan_in = (shape[0] * shape[1] if name == "depthwise_kernel"
                      else int(np.prod(shape[:-1])))
            v = u / np.sqrt(fan_in)
        values.append(v.astype(w.dtype))
    return values


def _histories(obj, out):
    if isinstance(obj, dict):
        if obj.get("class_name") == "__keras_tensor__":
            out.append(list(obj["config"]["keras_history"]))
            return
        for v in obj.values():
            _histories(v, out)
    elif isinstance(obj, (list, tuple)):
        for v in obj:
            _histories(v, out)


def _jsonable(x):
    return json.loads(json.dumps(x, default=repr))


def structure(model):
    """The summary make_fixtures.structure records, of a graphkeras model."""
    cfg = model.get_config()
    layers = []
    for entry in cfg["layers"]:
        nodes = []
        for node in entry.get("inbound_nodes", []):
            h = []
            _histories(node, h)
            nodes.append(h)
        layers.append({"class_name": entry["class_name"],
                       "name": entry["name"],
                       "config": _jsonable(entry["config"]),
                       "inbound": nodes})
    return {"name": model.name, "layers": layers,
            "input_layers": _jsonable(cfg["input_layers"]),
            "output_layers": _jsonable(cfg["output_layers"]),
            "weights": [[w.path, list(w.shape), bool(w.trainable)]
                        for w in model.weights],
            "output_shape": _jsonable(list(model.output_shape))}


def diff_structure(ours, ref) -> list:
    """Human-readable differences (empty when equal)."""
    out = []
    if ours["name"] != ref["name"]:
        out.append(f"model name {ours['name']!r} != {ref['name']!r}")
    la, lb = ours["layers"], ref["layers"]
    names_a = [(e["class_name"], e["name"]) for e in la]
    names_b = [(e["class_name"], e["name"]) for e in lb]
    if names_a != names_b:
        for i, (a, b) in enumerate(zip(names_a, names_b)):
            if a != b:
                out.append(f"layer {i}: ours {a} keras {b}")
                break
        if len(names_a) != len(names_b):
            out.append(f"{len(names_a)} layers, keras {len(names_b)}; "
                       f"only ours: {sorted(set(names_a) - set(names_b))[:5]}"
                       f" only keras: {sorted(set(names_b) - set(names_a))[:5]}")
        return out
    for a, b in zip(la, lb):
        if a["inbound"] != b["inbound"]:
            out.append(f"{a['name']}: inbound {a['inbound']} != "
                       f"{b['inbound']}")
        ca, cb = a["config"], b["config"]
        for k in sorted(set(ca) | set(cb)):
            if k in _SKIP_CONFIG or (k not in ca and k in _KERAS_ONLY
                                     and cb[k] == _KERAS_ONLY[k]):
                continue
            if _normalize(ca.get(k, "<missing>")) != \
                    _normalize(cb.get(k, "<missing>")):
                out.append(f"{a['name']}: config {k}: ours "
                           f"{ca.get(k, '<missing>')!r} keras "
                           f"{cb.get(k, '<missing>')!r}")
    # the weights' paths as Keras's name scopes make them: a nested model's
    # layers are prefixed (convnext_tiny_stem/convnext_tiny_stem_conv/kernel)
    # NOTE: Keras's nasnet.py also opens explicit backend.name_scope blocks
    # (reduction_A_block_stem_1/...), which graphkeras's NASNet does not
    # reproduce: its paths are compared from the layer's name on
    if ref["name"].startswith("nasnet"):
        want = [["/".join(p.split("/")[-2:]), s, t]
                for p, s, t in ref["weights"]]
    else:
        want = [[p, s, t] for p, s, t in ref["weights"]]
    if ours["weights"] != want:
        for i, (a, b) in enumerate(zip(ours["weights"], want)):
            if a != b:
                out.append(f"weight {i}: ours {a} keras {b}")
                break
        if len(ours["weights"]) != len(ref["weights"]):
            out.append(f"{len(ours['weights'])} weights, keras "
                       f"{len(ref['weights'])}")
    for k in ("input_layers", "output_layers", "output_shape"):
        if ours[k] != ref[k]:
            out.append(f"{k}: ours {ours[k]} keras {ref[k]}")
    return out


def _kwargs(entry):
    kwargs = dict(entry["kwargs"])
    if "input_shape" in kwargs:
        kwargs["input_shape"] = tuple(kwargs["input_shape"])
    return kwargs


def build(entry):
    keras.backend.clear_session()
    return getattr(A, entry["constructor"])(**_kwargs(entry))


def check_structure(name):
    model = build(STRUCTURE[name])
    diff = diff_structure(structure(model), STRUCTURE[name])
    assert not diff, f"{name} differs from Keras:\n" + "\n".join(diff[:20])
    return model


@pytest.fixture
def zero_init(monkeypatch):
    """Zeros instead of random initial values: the weights are overwritten
    or never read, and the big members (hundreds of millions of weights)
    stay cheap to build."""
    from graphkeras.frontend.variables import Variable

    real_init = Variable.__init__

    def zeros_init(self, initializer, shape=None, dtype=None, **kw):
        if shape is not None and (isinstance(initializer, str)
                                  or callable(initializer)):
            initializer = np.zeros(shape, dtype or "float32")
        real_init(self, initializer, shape=shape, dtype=dtype, **kw)

    monkeypatch.setattr(Variable, "__init__", zeros_init)


def _check_predictions(model, name):
    x, want = PREDICTIONS[f"{name}/x"], PREDICTIONS[f"{name}/y"]
    got = model.predict(x, verbose=0)
    scale = max(1.0, float(np.max(np.abs(want))))
    np.testing.assert_allclose(got, want, rtol=1e-3, atol=1e-4 * scale)


@pytest.mark.parametrize("name", NUMERIC)
def test_predictions_equal_keras(name, zero_init):
    # NOTE: through the reference interpreter (run_eagerly): the graph's
    # meaning; compiled predictions are checked on the Keras files below
    # (a cold compile of a whole architecture takes tens of seconds here)
    model = check_structure(name)
    model.set_weights(fill_weights(model.weights))
    _write_for_keras(model, name, PREDICTIONS[f"{name}/x"],
                     PREDICTIONS[f"{name}/y"])
    model.compile(run_eagerly=True)
    _check_predictions(model, name)


def _write_for_keras(model, stem, x, y):
    """With GRAPHKERAS_WRITE_APPS_DIR=DIR, save the model there with the
    input and the predictions expected, for `make_fixtures.py
    --check-ours DIR` (Keras loads graphkeras's files)."""
    out_dir = os.environ.get("GRAPHKERAS_WRITE_APPS_DIR")
    if out_dir:
        os.makedirs(out_dir, exist_ok=True)
        model.save(os.path.join(out_dir, stem + ".keras"))
        np.savez(os.path.join(out_dir, stem + ".npz"), x=x, y=y)


# the bigger and the repetitive members (another depth of the same blocks)
# take 2-8 s each to build: their structure is compared with
# GRAPHKERAS_APPS_FULL=1; the default run keeps every family and each
# variant of the code (top / pooling / preprocessing / alpha / minimalistic)
_FULL_ONLY = {"ResNet152", "ResNet101V2", "ResNet152V2", "DenseNet169",
              "DenseNet201", "ConvNeXtSmall", "ConvNeXtBase", "ConvNeXtLarge",
              "ConvNeXtXLarge", "NASNetLarge", "EfficientNetV2B2",
              "EfficientNetV2B3", "EfficientNetV2S", "EfficientNetV2M",
              "EfficientNetV2L"} | {f"EfficientNetB{i}" for i in range(2, 8)}
_BIG = [n for n in sorted(STRUCTURE)  # structure only
        if n not in NUMERIC and (_FULL or n not in _FULL_ONLY)]


@pytest.mark.parametrize("name", _BIG)
def test_structure_equals_keras(name, zero_init):
    check_structure(name)


def test_signatures_equal_keras():
    with open(os.path.join(FIXTURES, "signatures.json")) as f:
        want = json.load(f)
    ours = {n: str(inspect.signature(getattr(A, n))) for n in want
            if hasattr(A, n)}
    missing = sorted(set(want) - set(ours))
    assert not missing, f"not in graphkeras.applications: {missing}"
    bad = {n: (ours[n], want[n]) for n in want if ours[n] != want[n]}
    assert not bad, bad


# --- preprocess_input / decode_predictions / weights -------------------------


def test_preprocess_input_equals_keras():
    ref = np.load(os.path.join(FIXTURES, "preprocess.npz"))
    x = ref["x"]
    checked = 0
    for key in ref.files:
        if key == "x":
            continue
        module, _, mode = key.partition("/")
        fn = getattr(A, module).preprocess_input
        if not mode:
            got = fn(np.copy(x))
        elif mode == "caffe_cf":
            got = A.imagenet_utils.preprocess_input(
                np.copy(np.moveaxis(x, -1, 1)), data_format="channels_first")
        else:
            got = A.imagenet_utils.preprocess_input(np.copy(x), mode=mode)
        np.testing.assert_allclose(got, ref[key], rtol=1e-6, atol=1e-4,
                                   err_msg=key)
        checked += 1
    assert checked >= 20


def test_preprocess_input_symbolic_matches_numpy():
    x = np.random.default_rng(0).uniform(0, 255, (2, 4, 4, 3))
    x = x.astype("float32")
    for mode in ("caffe", "tf", "torch"):
        inp = keras.Input((4, 4, 3))
        out = A.imagenet_utils.preprocess_input(inp, mode=mode)
        model = keras.Model(inp, out)
        model.compile(run_eagerly=True)
        want = A.imagenet_utils.preprocess_input(np.copy(x), mode=mode)
        np.testing.assert_allclose(model.predict(x, verbose=0), want,
                                   rtol=1e-5, atol=1e-4)
    with pytest.raises(ValueError, match="mode=bogus"):
        A.imagenet_utils.preprocess_input(x, mode="bogus")


@pytest.fixture
def keras_home(tmp_path, monkeypatch):
    """An empty Keras cache, and no network."""
    import urllib.error
    import urllib.request

    monkeypatch.setenv("KERAS_HOME", str(tmp_path))

    def offline(*args, **kwargs):
        raise urllib.error.URLError("no network in this test")

    monkeypatch.setattr(urllib.request, "urlretrieve", offline)
    from graphkeras.frontend.applications import imagenet_utils

    monkeypatch.setattr(imagenet_utils, "CLASS_INDEX", None)
    return tmp_path


def test_decode_predictions_from_the_keras_cache(keras_home, monkeypatch):
    import hashlib

    from graphkeras.frontend.applications import imagenet_utils

    index = {str(i): [f"n{i:08d}", f"class_{i}"] for i in range(1000)}
    path = keras_home / "models" / "imagenet_class_index.json"
    path.parent.mkdir()
    path.write_text(json.dumps(index))
    monkeypatch.setattr(imagenet_utils, "_CLASS_INDEX_HASH",
                        hashlib.md5(path.read_bytes()).hexdigest())
    preds = np.zeros((2, 1000), "float32")
    preds[0, [3, 999, 10]] = [0.5, 0.3, 0.2]
    preds[1, 42] = 1.0
    out = A.resnet50.decode_predictions(preds, top=3)
    assert [t[:2] for t in out[0]] == [("n00000003", "class_3"),
                                       ("n00000999", "class_999"),
                                       ("n00000010", "class_10")]
    assert out[0][0][2] == pytest.approx(0.5)
    assert out[1][0][:2] == ("n00000042", "class_42") and len(out[1]) == 3
    with pytest.raises(ValueError, match=r"\(samples, 1000\)"):
        A.imagenet_utils.decode_predictions(np.zeros((2, 10)))


def test_imagenet_weights_offline_error_names_the_file(keras_home):
    with pytest.raises(OSError) as e:
        A.MobileNet(alpha=0.25, include_top=False, input_shape=(128, 128, 3))
    msg = str(e.value)
    target = os.path.join(str(keras_home), "models",
                          "mobilenet_2_5_128_tf_no_top.h5")
    assert "mobilenet_2_5_128_tf_no_top.h5" in msg and target in msg
    assert "keras-applications/mobilenet/" in msg
    with pytest.raises(OSError, match="imagenet_class_index.json"):
        A.imagenet_utils.decode_predictions(np.zeros((1, 1000)))


def test_imagenet_weights_from_the_keras_cache(keras_home):
    # a Keras-written legacy weights file (the format of Keras's ImageNet
    # files) under Keras's name in Keras's cache is used offline
    import shutil

    name = "mobilenet_2_5_128_tf_no_top.h5"
    (keras_home / "models").mkdir()
    shutil.copy(os.path.join(FIXTURES, name), keras_home / "models" / name)
    ref = np.load(os.path.join(FIXTURES, name[:-3] + ".npz"))
    for weights in ("imagenet", str(keras_home / "models" / name)):
        keras.backend.clear_session()
        model = A.MobileNet(alpha=0.25, include_top=False, weights=weights,
                            input_shape=(128, 128, 3))
        model.compile(run_eagerly=True)
        np.testing.assert_allclose(model.predict(ref["x"], verbose=0),
                                   ref["y"], rtol=1e-4, atol=1e-5)


def test_argument_errors():
    with pytest.raises(ValueError, match="`weights` argument"):
        A.ResNet50(weights="/no/such/file.h5")
    with pytest.raises(ValueError, match="`classes` should be 1000"):
        A.VGG16(weights="imagenet", classes=10)
    with pytest.raises(ValueError, match="at least 32x32"):
        A.MobileNetV2(weights=None, include_top=False,
                      input_shape=(16, 16, 3))
    with pytest.raises(ValueError, match="static `input_shape`"):
        A.ResNet50(weights=None, input_shape=(None, None, 3))


# --- Keras-written .keras files, and ours for Keras ---------------------------

KERAS_FILES = sorted(f[:-len(".keras")] for f in os.listdir(FIXTURES)
                     if f.endswith(".keras"))


@pytest.mark.parametrize("stem", KERAS_FILES)
def test_keras_written_file_loads_with_keras_predictions(stem, tmp_path):
    ref = np.load(os.path.join(FIXTURES, stem + ".npz"))
    model = keras.models.load_model(os.path.join(FIXTURES, stem + ".keras"))
    model.compile(run_eagerly=True)
    got = model.predict(ref["x"], verbose=0)
    np.testing.assert_allclose(got, ref["y"], rtol=1e-4, atol=1e-5)
    # saved again by graphkeras, loaded again: the same config and numbers
    path = str(tmp_path / (stem + ".keras"))
    model.save(path)
    again = keras.models.load_model(path)
    assert again.get_config() == model.get_config()
    again.compile(run_eagerly=True)
    np.testing.assert_allclose(again.predict(ref["x"], verbose=0), got,
                               rtol=0, atol=0)
    _write_for_keras(keras.models.load_model(path), stem, ref["x"], got)


def test_input_tensor_and_its_sources(zero_init):
    # the model starts at input_tensor's sources, as Keras's
    inp = keras.Input((64, 64, 3), name="img")
    x = keras.layers.Resizing(32, 32)(inp)
    model = A.MobileNet(weights=None, alpha=0.25, include_top=False,
                        input_tensor=x, pooling="avg")
    assert model.inputs[0] is inp and model.output_shape == (None, 256)
    model = A.MobileNetV3Small(weights=None, include_top=False,
                               input_tensor=keras.Input((48, 48, 3)))
    assert model.output_shape == (None, 2, 2, 576)
    with pytest.raises(ValueError, match="does not match"):
        A.MobileNetV3Large(weights=None, input_shape=(32, 32, 3),
                           input_tensor=keras.Input((48, 48, 3)))
