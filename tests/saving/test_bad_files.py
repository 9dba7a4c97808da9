"""Truncated, corrupt, foreign and malicious files fail with one clear
error naming the file; an interrupted save leaves the previous file."""

import io
import json
import os
import zipfile

import h5py
import numpy as np
import pytest
from saving_helpers import data, small_mlp

import graphkeras as keras
from graphkeras.saving import FileFormatError, load_model


@pytest.fixture
def saved(tmp_path):
    keras.utils.set_random_seed(0)
    model = small_mlp()
    x, y = data()
    model.fit(x, y, epochs=1, verbose=0)
    path = tmp_path / "good.keras"
    model.save(path)
    return model, path, x


def _rewrite(src, dst, change):
    """Copy the archive src to dst, passing each entry through change()."""
    with zipfile.ZipFile(src) as z:
        entries = {n: z.read(n) for n in z.namelist()}
    entries = change(entries)
    with zipfile.ZipFile(dst, "w") as z:
        for name, data in entries.items():
            z.writestr(name, data)
    return dst


def check_error(path, fragment, exc=FileFormatError):
    with pytest.raises(exc) as info:
        load_model(path)
    message = str(info.value)
    assert str(path) in message and fragment in message, message
    return message


def test_truncated_archive(saved, tmp_path):
    _, path, _ = saved
    raw = path.read_bytes()
    bad = tmp_path / "truncated.keras"
    bad.write_bytes(raw[: len(raw) // 2])
    check_error(bad, "zip")


def test_foreign_and_empty_files(tmp_path):
    png = tmp_path / "picture.keras"
    png.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(100))
    check_error(png, "it is not a .keras archive")
    empty = tmp_path / "empty.h5"
    empty.write_bytes(b"")
    check_error(empty, "it is not a readable HDF5 file")
    txt = tmp_path / "notes.txt"
    txt.write_text("hello")
    check_error(txt, "file format not supported")
    with pytest.raises(FileNotFoundError, match="No such file"):
        load_model(tmp_path / "missing.keras")


def test_h5_named_keras_and_zip_without_config(saved, tmp_path):
    model, _, _ = saved
    h5 = tmp_path / "m.h5"
    model.save(h5)
    renamed = tmp_path / "renamed.keras"
    renamed.write_bytes(h5.read_bytes())
    check_error(renamed, "looks like an HDF5 file")
    z = tmp_path / "other.keras"
    with zipfile.ZipFile(z, "w") as f:
        f.writestr("readme.txt", "hi")
    check_error(z, "has no config.json")


def test_corrupt_config_and_weights(saved, tmp_path):
    _, path, _ = saved
    bad_json = _rewrite(path, tmp_path / "json.keras",
                        lambda e: {**e, "config.json": b"{not json"})
    check_error(bad_json, "config.json is not valid JSON")
    not_model = _rewrite(path, tmp_path / "nomodel.keras",
                         lambda e: {**e, "config.json": b"[1, 2]"})
    check_error(not_model, "does not describe a model")
    bad_h5 = _rewrite(path, tmp_path / "h5.keras",
                      lambda e: {**e, "model.weights.h5": b"\x89HDF garbage"})
    check_error(bad_h5, "is not a readable HDF5 file")


def test_weights_that_do_not_fit_change_nothing(saved, tmp_path):
    model, path, _ = saved

    def shrink(entries):
        buf = io.BytesIO(entries["model.weights.h5"])
        out = io.BytesIO()
        with h5py.File(buf, "r") as src, h5py.File(out, "w") as dst:
            for k in src:
                src.copy(k, dst)
            del dst["layers/dense/vars/1"]
            dst["layers/dense/vars"].create_dataset("1", data=np.zeros(2))
        return {**entries, "model.weights.h5": out.getvalue()}

    bad = _rewrite(path, tmp_path / "shape.keras", shrink)
    msg = check_error(bad, "has shape (6,), the file holds shape (2,)")
    assert "the weights do not fit the model" in msg
    before = model.get_weights()
    with pytest.raises(FileFormatError, match="shape"):
        model.load_weights(bad)
    for a, b in zip(before, model.get_weights()):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("name", ["/etc/evil", "../evil.txt", "a/../../evil",
                                  "C:evil"])
def test_unsafe_archive_entries_are_refused(saved, tmp_path, name):
    _, path, _ = saved
    bad = _rewrite(path, tmp_path / "evil.keras",
                   lambda e: {**e, name: b"payload"})
    check_error(bad, "unsafe path")
    assert not os.path.exists(tmp_path.parent / "evil.txt")


def test_unknown_class_names_the_class_and_the_fix(saved, tmp_path):
    _, path, _ = saved

    def rename(entries):
        config = json.loads(entries["config.json"])
        config["config"]["layers"][1]["class_name"] = "NoSuchLayer"
        return {**entries, "config.json": json.dumps(config).encode()}

    bad = _rewrite(path, tmp_path / "unknown.keras", rename)
    with pytest.raises(TypeError, match=r"Could not locate class "
                       r"'NoSuchLayer'.*register_keras_serializable.*"
                       r"custom_objects") as info:
        load_model(bad)
    assert str(bad) in str(info.value)


def test_interrupted_save_leaves_the_previous_file(saved, tmp_path,
                                                   monkeypatch):
    model, path, _ = saved
    good = path.read_bytes()
    model.fit(*data(), epochs=1, verbose=0)  # the model changes

    real_writestr = zipfile.ZipFile.writestr

    def failing_writestr(self, name, payload, *args, **kwargs):
        real_writestr(self, name, payload, *args, **kwargs)
        if name == "config.json":  # metadata and config are written
            raise OSError("No space left on device")

    monkeypatch.setattr(zipfile.ZipFile, "writestr", failing_writestr)
    with pytest.raises(OSError, match="No space left"):
        model.save(path)
    monkeypatch.undo()
    assert path.read_bytes() == good
    assert sorted(os.listdir(tmp_path)) == ["good.keras"]  # no temp file
    load_model(path)  # still loads

    h5 = tmp_path / "w.weights.h5"
    model.save_weights(h5)
    before = h5.read_bytes()
    real_create = h5py.Group.create_dataset
    calls = []

    def failing_create(self, *args, **kwargs):
        calls.append(1)
        if len(calls) == 3:
            raise OSError("disk quota exceeded")
        return real_create(self, *args, **kwargs)

    monkeypatch.setattr(h5py.Group, "create_dataset", failing_create)
    with pytest.raises(OSError, match="quota"):
        model.save_weights(h5)
    monkeypatch.undo()
    assert h5.read_bytes() == before
    assert sorted(os.listdir(tmp_path)) == ["good.keras", "w.weights.h5"]


def test_save_refuses_other_extensions_and_overwrite_false(saved, tmp_path):
    model, path, _ = saved
    with pytest.raises(ValueError, match="Invalid filepath extension"):
        model.save(tmp_path / "m.pkl")
    with pytest.raises(ValueError, match="must end in `.weights.h5`"):
        model.save_weights(tmp_path / "m.h5")
    with pytest.raises(FileExistsError, match="overwrite=False"):
        model.save(path, overwrite=False)
