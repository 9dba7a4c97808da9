"""Saved files get the mode a plain open() would give (0666 less the
umask), and an overwritten file keeps its mode (issue 15); the atomic
write (graphkeras/fileio.py) must not leave them 0600."""

import os
import stat

import pytest
from saving_helpers import small_mlp


def _mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


def _save(model, path, kind):
    if kind == "onnx":
        model.export(str(path), format="onnx")
    elif kind == "weights":
        model.save_weights(str(path))
    else:
        model.save(str(path))


KINDS = [("m.keras", "keras"), ("m.h5", "h5"), ("m.onnx", "onnx"),
         ("m.weights.h5", "weights")]


@pytest.fixture(scope="module")
def model():
    m = small_mlp()
    m.build((None, 4))
    return m


@pytest.mark.parametrize("name,kind", KINDS)
@pytest.mark.parametrize("umask", [0o022, 0o002, 0o077])
def test_new_file_gets_open_mode(model, tmp_path, name, kind, umask):
    old = os.umask(umask)
    try:
        _save(model, tmp_path / name, kind)
    finally:
        os.umask(old)
    assert _mode(tmp_path / name) == 0o666 & ~umask


@pytest.mark.parametrize("name,kind", KINDS)
def test_overwritten_file_keeps_its_mode(model, tmp_path, name, kind):
    path = tmp_path / name
    path.write_bytes(b"old")
    os.chmod(path, 0o664)
    _save(model, path, kind)
    assert _mode(path) == 0o664
    os.chmod(path, 0o640)
    _save(model, path, kind)
    assert _mode(path) == 0o640
