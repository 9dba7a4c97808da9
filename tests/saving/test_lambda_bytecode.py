"""A Lambda layer's function is saved as marshalled bytecode, which does
not move between Python versions: another version's bytecode is refused
with a ValueError before it runs (Python 3.13 running 3.11's crashed the
process). Fixture: the same functions marshalled by Python 3.10 to 3.13
(fixtures/make_lambda_bytecode.py)."""

from __future__ import annotations

import base64
import json
import marshal
import os
import sys

import numpy as np
import pytest

import graphkeras as keras
from graphkeras.frontend.saving.bytecode import check_code
from graphkeras.frontend.saving.serialization_lib import func_load

HERE = os.path.dirname(os.path.abspath(__file__))
TABLE = json.load(open(os.path.join(HERE, "fixtures", "lambda_bytecode.json")))
VERSION = f"{sys.version_info.major}.{sys.version_info.minor}"


@pytest.mark.parametrize("written_by", sorted(TABLE))
def test_only_this_pythons_bytecode_is_run(written_by):
    config = {"code": TABLE[written_by]["function"], "defaults": [2.0]}
    if written_by == VERSION:
        fn = func_load(config)
        assert fn([4.0, -9.0]) == [4.0, 6.0]
        func_load({"code": TABLE[written_by]["lambda"]})  # builds
    else:
        for blob in TABLE[written_by].values():
            with pytest.raises(ValueError, match="another Python version"):
                func_load({"code": blob})


def test_what_is_not_a_code_object_is_refused():
    with pytest.raises(ValueError, match="not readable as a code object"):
        func_load({"code": base64.b64encode(marshal.dumps(7)).decode()})
    with pytest.raises(ValueError, match="not readable as a code object"):
        func_load({"code": base64.b64encode(b"c\x00\x01garbage").decode()})
    check_code(test_what_is_not_a_code_object_is_refused.__code__)


def test_a_lambda_model_saved_here_loads_here(tmp_path):
    inp = keras.Input((3,))
    out = keras.layers.Lambda(lambda t: t * 2.0 + 1.0)(
        keras.layers.Dense(3)(inp))
    model = keras.Model(inp, out)
    x = np.random.default_rng(0).normal(size=(4, 3)).astype("float32")
    path = tmp_path / "lam.keras"
    model.save(path)
    back = keras.models.load_model(path, safe_mode=False)
    np.testing.assert_allclose(back.predict(x, verbose=0),
                               model.predict(x, verbose=0), rtol=1e-6)
