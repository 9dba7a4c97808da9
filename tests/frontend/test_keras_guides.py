"""keras.io's examples and guides (bidirectional LSTM, text Transformer,
character seq2seq with inference models, the VAEs, a GAN with two
optimizers, knowledge distillation, the callbacks, masking, subclassing
and serialization guides and more of their patterns, weather
forecasting, ConvLSTM) run with
graphkeras and compared with Keras 3's results
(fixtures/keras_guides.json, written by fixtures/make_keras_guides.py
from the same code, fixtures/guides_cases.py)."""

import importlib.util
import json
import pathlib
import zipfile

import h5py
import numpy as np
import pytest

import graphkeras as keras

_DIR = pathlib.Path(__file__).parent / "fixtures"
_spec = importlib.util.spec_from_file_location(
    "guides_cases", _DIR / "guides_cases.py")
cases = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(cases)
FIX = json.loads((_DIR / "keras_guides.json").read_text())


def check_same(ours, theirs, where="", rtol=1e-4):
    """Equal structure and names; numbers within rtol (NaN equals NaN)."""
    if isinstance(theirs, dict):
        assert isinstance(ours, dict) and sorted(ours) == sorted(theirs), \
            f"{where}: keys {sorted(ours)} != {sorted(theirs)}"
        for k in theirs:
            check_same(ours[k], theirs[k], f"{where}.{k}", rtol)
        return
    if isinstance(theirs, (str, bool)) or theirs is None:
        assert ours == theirs, f"{where}: {ours!r} != {theirs!r}"
        return
    try:
        expected = np.asarray(theirs, float)
    except (TypeError, ValueError):  # names inside, or ragged
        assert isinstance(ours, list) and len(ours) == len(theirs), where
        for i, (a, b) in enumerate(zip(ours, theirs)):
            check_same(a, b, f"{where}[{i}]", rtol)
        return
    np.testing.assert_allclose(np.asarray(ours, float), expected, rtol=rtol,
                               atol=rtol * 0.1, err_msg=where)


@pytest.mark.parametrize("case", cases.CASES, ids=lambda c: c.__name__)
def test_guide_matches_keras(case):
    keras.backend.clear_session()  # layer and variable names
    keras.utils.set_random_seed(0)
    check_same(cases.plain(case(keras)), FIX[case.__name__], case.__name__)


def _h5_layout(path) -> dict:
    """{group: sorted dataset names} of a .keras file's weights."""
    out = {}
    with zipfile.ZipFile(path) as z, z.open("model.weights.h5") as f, \
            h5py.File(f, "r") as h5:
        def visit(name, obj):
            if isinstance(obj, h5py.Group):
                keys = sorted(k for k in obj
                              if isinstance(obj[k], h5py.Dataset))
                if keys:
                    out[name] = keys
        h5.visititems(visit)
    return out


def test_custom_state_loads_from_keras_and_saves_its_layout(tmp_path):
    # the serialization guide's save_own_variables / load_own_variables:
    # a Keras 3 file whose Dense subclass stores "0", "1" and "variables"
    # loads here, and graphkeras writes the same entries
    keras.backend.clear_session()
    keras.utils.set_random_seed(0)
    defs = cases._defs(keras)
    keras_file = _DIR / "keras_guides_custom_state.keras"
    loaded = keras.models.load_model(keras_file)
    x = cases._x()
    np.testing.assert_allclose(loaded.predict(x, verbose=0),
                               FIX["custom_state_pred"], rtol=1e-5)
    assert int(loaded.optimizer.iterations.numpy()) == 1
    ours = cases.custom_state_model(keras, defs)
    np.testing.assert_allclose(ours.predict(x, verbose=0),
                               FIX["custom_state_pred"], rtol=1e-4)
    path = tmp_path / "ours.keras"
    ours.save(path)
    assert _h5_layout(path) == _h5_layout(keras_file)
    layer = keras.models.load_model(path).layers[-1]
    np.testing.assert_array_equal(layer.my_variable.numpy(),
                                  ours.layers[-1].my_variable.numpy())


def test_building_a_built_layer_again_is_refused_as_keras():
    # a parent's build() calling self.inner.build() on a layer that
    # load_model already built would hold each weight twice (the file
    # then fits no more); Keras 3 refuses it with these words
    dense = keras.layers.Dense(2, name="d")
    dense.build((None, 3))
    with pytest.raises(ValueError, match=r"You cannot add new elements of "
                       r"state .* to a layer that is already built.*"
                       r'Layer "d" \(Dense\) was built again'):
        dense.build((None, 3))
    assert [w.path for w in dense.weights] == ["d/kernel", "d/bias"]


def test_quantization_config_is_taken_as_none_only():
    # Keras 3 saves quantization_config=None in Dense / EinsumDense /
    # Embedding configs; a subclass passing **kwargs on hands it over
    assert keras.layers.Dense(2, quantization_config=None).units == 2
    keras.layers.Embedding(4, 2, quantization_config=None)
    keras.layers.EinsumDense("ab,bc->ac", 2, quantization_config=None)
    with pytest.raises(ValueError, match=r"Dense: graphkeras does not "
                       r"quantize layers; `quantization_config` must be "
                       r"None. Received: quantization_config='int8'"):
        keras.layers.Dense(2, quantization_config="int8")
