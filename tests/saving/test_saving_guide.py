"""docs/saving.md's Python snippets run as written, and the messages it
quotes are the ones graphkeras raises."""

import os
import re

import numpy as np
import pytest

import graphkeras as keras

GUIDE = os.path.join(os.path.dirname(__file__), os.pardir, os.pardir, "docs",
                     "saving.md")


def test_the_guide_runs_as_written(tmp_path, monkeypatch):
    with open(GUIDE) as f:
        blocks = re.findall(r"```python\n(.*?)```", f.read(), re.S)
    assert len(blocks) == 2
    monkeypatch.chdir(tmp_path)
    namespace = {}
    for block in blocks:
        exec(compile(block, "docs/saving.md", "exec"), namespace)  # noqa: S102
    assert sorted(os.listdir(tmp_path)) == ["m.h5", "m.keras",
                                            "m.weights.h5"]
    assert int(namespace["restored"].optimizer.iterations.numpy()) == 4
    Scale = namespace["Scale"]
    model = keras.Sequential([keras.Input((2,)), Scale(3.0)])
    model.save("c.keras")
    back = keras.models.load_model("c.keras")
    np.testing.assert_allclose(back.predict(np.ones((1, 2), "float32"),
                                            verbose=0), [[3.0, 3.0]])


def test_quoted_messages(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)])
    with pytest.raises(ValueError, match="The filename must end in "
                       "`.weights.h5`. Received: filepath=w.h5"):
        model.save_weights("w.h5")
    with pytest.raises(ValueError, match="Sharded weights"):
        model.save_weights("s.weights.h5", max_shard_size=1)
    (tmp_path / "garbage.keras").write_bytes(b"hello")
    with pytest.raises(ValueError, match="Cannot load garbage.keras: it is "
                       "not a .keras archive"):
        keras.models.load_model("garbage.keras")
    with pytest.raises(FileNotFoundError, match="No such file: nope.keras"):
        keras.models.load_model("nope.keras")
