"""Codegen tests: op samples from tests/ir, and the compile cache kept in a
temporary directory so tests never touch the user's cache."""

import os
import sys

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "ir"))


@pytest.fixture(autouse=True, scope="session")
def _private_cache(tmp_path_factory):
    old = os.environ.get("GRAPHKERAS_CACHE_DIR")
    os.environ["GRAPHKERAS_CACHE_DIR"] = str(tmp_path_factory.mktemp("gkcache"))
    yield
    if old is None:
        os.environ.pop("GRAPHKERAS_CACHE_DIR", None)
    else:
        os.environ["GRAPHKERAS_CACHE_DIR"] = old
