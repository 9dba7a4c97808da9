"""Programs of the kinds users port from keras.io, run with graphkeras and
compared with Keras 3's results (fixtures/keras_programs.json, written by
fixtures/make_keras_programs.py from the same code,
fixtures/programs_cases.py)."""

import importlib.util
import json
import pathlib

import numpy as np
import pytest

import graphkeras as keras

_DIR = pathlib.Path(__file__).parent / "fixtures"
_spec = importlib.util.spec_from_file_location(
    "programs_cases", _DIR / "programs_cases.py")
cases = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(cases)
FIX = json.loads((_DIR / "keras_programs.json").read_text())


def check_same(ours: dict, theirs: dict, rtol=1e-4):
    assert sorted(ours) == sorted(theirs)
    for k in theirs:
        a, b = ours[k], theirs[k]
        if k.endswith(("keys", "names", "shapes")) or isinstance(b, str):
            assert a == b, k
        else:
            np.testing.assert_allclose(np.asarray(a, float),
                                       np.asarray(b, float), rtol=rtol,
                                       atol=rtol * 0.1, err_msg=k)


@pytest.mark.parametrize("case", cases.CASES, ids=lambda c: c.__name__)
def test_program_matches_keras(case):
    keras.backend.clear_session()  # layer names start from dense
    keras.utils.set_random_seed(0)
    check_same(case(keras), FIX[case.__name__])


def test_batch_concatenate_in_a_step_says_what_to_do():
    # The GAN guide's train_step joins fake and real images along the
    # batch; graphkeras refuses it in words a Keras user can act on.
    class Joined(keras.Model):
        def train_step(self, data):
            x, _ = data
            both = keras.ops.concatenate([self(x), self(x)], axis=0)
            return {"loss": keras.ops.mean(both)}

    inputs = keras.Input((3,))
    model = Joined(inputs, keras.layers.Dense(1)(inputs))
    model.compile(optimizer="sgd")
    x = np.ones((4, 3), "float32")
    with pytest.raises(ValueError, match=r"ops.concatenate cannot join "
                       r"tensors along axis 0, whose size is the batch size, "
                       r"in a compiled step \(received shapes \(None, 1\), "
                       r"\(None, 1\)\).*GAN guide"):
        model.fit(x, x[:, :1], epochs=1, verbose=0)
    # along a static axis it joins as ever
    out = keras.ops.concatenate([np.ones((2, 1)), np.zeros((3, 1))], axis=0)
    np.testing.assert_array_equal(out, [[1], [1], [0], [0], [0]])
