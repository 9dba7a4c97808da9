"""tests/conv: convolution, pooling and resizing (ops, kernels, layers,
passes). The op samplers and compile helpers of tests/ir and
tests/codegen are importable; compiled objects go to a private cache."""

import os
import sys

import pytest

HERE = os.path.dirname(__file__)
sys.path.insert(0, os.path.join(HERE, "..", "ir"))
sys.path.insert(0, os.path.join(HERE, "..", "codegen"))


@pytest.fixture(autouse=True, scope="session")
def _private_cache(tmp_path_factory):
    old = os.environ.get("GRAPHKERAS_CACHE_DIR")
    os.environ["GRAPHKERAS_CACHE_DIR"] = str(tmp_path_factory.mktemp("gkcache"))
    yield
    if old is None:
        os.environ.pop("GRAPHKERAS_CACHE_DIR", None)
    else:
        os.environ["GRAPHKERAS_CACHE_DIR"] = old
