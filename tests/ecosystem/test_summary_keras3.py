"""model.summary() prints Keras 3's text exactly: the fixtures are Keras
3's own output for the models of fixtures/summary_cases.py, written by
fixtures/make_keras_summaries.py."""

import json
import os
import sys

import numpy as np
import pytest

import graphkeras as keras

HERE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures")
sys.path.insert(0, HERE)

from summary_cases import cases  # noqa: E402

with open(os.path.join(HERE, "keras_summaries.json"), encoding="utf-8") as f:
    FIXTURES = json.load(f)["cases"]


@pytest.fixture(scope="module")
def built():
    return cases(keras, np)


@pytest.mark.parametrize("name", sorted(FIXTURES))
def test_summary_text_is_keras3s(name, built, monkeypatch):
    model, kwargs, columns = built[name]
    want = FIXTURES[name]
    assert want["kwargs"] == json.loads(json.dumps(kwargs))
    monkeypatch.setenv("COLUMNS", str(columns))
    got = []
    model.summary(print_fn=got.append, **kwargs)
    assert "".join(got) == want["text"]
