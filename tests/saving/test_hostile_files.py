"""Hostile model files are refused cheaply and clearly (issue 15): a zip
bomb before it inflates, an HDF5 dataset declaring terabytes before it is
read, a FIFO or /dev/zero in place of a model at once (not a hang), and
configs or IR nested thousands deep with the format's own error naming
the file. The CLI keeps its one-line / exit-2 rule for all of them.

Cases that hung or exhausted memory before run in a subprocess with a
timeout."""

import json
import os
import subprocess
import sys
import textwrap
import tracemalloc
import zipfile

import h5py
import pytest
from saving_helpers import small_mlp

from graphkeras import ir
from graphkeras.saving import FileFormatError, load_model

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))


@pytest.fixture(scope="module")
def good(tmp_path_factory):
    d = tmp_path_factory.mktemp("good")
    m = small_mlp()
    m.build((None, 4))
    m.save(d / "m.keras")
    m.save(d / "m.h5")
    m.save_weights(d / "m.weights.h5")
    return d


def _entries(path):
    with zipfile.ZipFile(path) as z:
        return {n: z.read(n) for n in z.namelist()}


def _write_zip(path, entries, big=None):
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in entries.items():
            z.writestr(name, data)
        if big is not None:  # (name, bytes of zeros), written in chunks
            name, n = big
            with z.open(name, "w", force_zip64=True) as f:
                chunk = bytes(1 << 20)
                for _ in range(n >> 20):
                    f.write(chunk)


def test_zip_bomb_is_refused_before_inflating(good, tmp_path):
    entries = _entries(good / "m.keras")
    del entries["model.weights.h5"]
    bomb = tmp_path / "bomb.keras"
    _write_zip(bomb, entries, big=("model.weights.h5", 96 << 20))
    assert os.path.getsize(bomb) < 1 << 20
    tracemalloc.start()
    try:
        with pytest.raises(FileFormatError) as e:
            load_model(bomb)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    msg = str(e.value)
    assert str(bomb) in msg and "model.weights.h5" in msg, msg
    assert "refusing" in msg
    assert peak < 16 << 20, peak  # nothing near 96 MB was inflated


def test_the_bomb_cap_leaves_room_for_thousands_of_weightless_layers(
        tmp_path):
    # each layer has its HDF5 groups (~2 KB) with or without weights: the
    # cap counted datasets only, and a model of 1000 Activation layers
    # refused its own .keras file as a zip bomb
    import graphkeras as keras
    from graphkeras.frontend.saving.keras_format import weights_cap

    model = keras.Sequential(
        [keras.Input((3,)), keras.layers.Dense(2)]
        + [keras.layers.Activation("linear") for _ in range(1000)])
    model.save(str(tmp_path / "deep.keras"))
    with zipfile.ZipFile(tmp_path / "deep.keras") as z:
        size = z.getinfo("model.weights.h5").file_size
    assert size > 1 << 20  # more than the cap was for it
    assert weights_cap(model) > size


def test_oversized_config_is_refused(good, tmp_path):
    entries = _entries(good / "m.keras")
    entries["config.json"] = b" " * (65 << 20)
    path = tmp_path / "bigconfig.keras"
    _write_zip(path, entries)
    with pytest.raises(FileFormatError, match="config.json"):
        load_model(path)


def _h5_plant(path, dataset, shape, compression=None):
    with h5py.File(path, "a") as f:
        del f[dataset]
        f.create_dataset(dataset, shape=shape, dtype="float32",
                         chunks=(1024, 1024), compression=compression)


@pytest.mark.parametrize("compression", [None, "gzip"])
def test_h5_dataset_declaring_terabytes_is_refused_from_its_header(
        good, tmp_path, compression):
    import shutil

    path = tmp_path / "huge.weights.h5"
    shutil.copy(good / "m.weights.h5", path)
    _h5_plant(path, "layers/dense/vars/0", (1 << 20, 1 << 20), compression)
    assert os.path.getsize(path) < 1 << 20
    m = small_mlp()
    m.build((None, 4))
    with pytest.raises(FileFormatError) as e:
        m.load_weights(path)
    msg = str(e.value)
    assert str(path) in msg and "kernel" in msg and "1048576" in msg, msg


def test_legacy_h5_dataset_declaring_terabytes_is_refused(good, tmp_path):
    import shutil

    path = tmp_path / "huge.h5"
    shutil.copy(good / "m.h5", path)
    with h5py.File(path, "r") as f:
        names = []
        f["model_weights"].visititems(
            lambda n, o: names.append(n) if isinstance(o, h5py.Dataset)
            else None)
    kernel = next(n for n in names if "kernel" in n)
    _h5_plant(path, f"model_weights/{kernel}", (1 << 20, 1 << 20), "gzip")
    with pytest.raises(FileFormatError) as e:
        load_model(path)
    msg = str(e.value)
    assert str(path) in msg and "kernel" in msg and "1048576" in msg, msg


def _nested_sequentials(depth: int) -> str:
    inner = json.dumps({"module": "keras.layers", "class_name": "Dense",
                        "config": {"units": 2}, "registered_name": None})
    head = ('{"module": "keras", "class_name": "Sequential", '
            '"registered_name": null, "config": {"layers": [')
    return head * depth + inner + "]}}" * depth


@pytest.mark.parametrize("kind", ["json", "sequentials", "sequentials-300"])
def test_deeply_nested_config_is_a_file_format_error(good, tmp_path, kind):
    entries = _entries(good / "m.keras")
    if kind == "json":
        cfg = ('{"class_name": "Sequential", "config": ' + "[" * 100000
               + "]" * 100000 + "}")
    elif kind == "sequentials":  # too deep for the JSON parser
        cfg = _nested_sequentials(3000)
    else:  # parses, too deep to deserialize
        cfg = _nested_sequentials(300)
    entries["config.json"] = cfg.encode()
    path = tmp_path / f"deep-{kind}.keras"
    _write_zip(path, entries)
    with pytest.raises(FileFormatError) as e:
        load_model(path)
    assert str(path) in str(e.value) and "deep" in str(e.value)


@pytest.mark.parametrize("depth", [300, 3000])
def test_deeply_nested_legacy_h5_config_is_a_file_format_error(
        good, tmp_path, depth):
    import shutil

    path = tmp_path / "deep.h5"
    shutil.copy(good / "m.h5", path)
    with h5py.File(path, "a") as f:
        f.attrs["model_config"] = _nested_sequentials(depth)
    with pytest.raises(FileFormatError) as e:
        load_model(path)
    assert str(path) in str(e.value) and "deep" in str(e.value)


def test_deeply_nested_ir_is_a_parse_error():
    depth = 5000
    text = ("func @f(%x: f32[2]) -> (f32[2]) {\n  %0 = relu %x {junk="
            + "(" * depth + "1" + ")" * depth + "} : f32[2]\n  return %0\n}")
    with pytest.raises(ir.ParseError, match="nested more than"):
        ir.parse(text)
    ok = ("func @f(%x: f32[2]) -> (f32[2]) {\n  %0 = reshape %x {shape="
          "(2,)} : f32[2]\n  return %0\n}")
    assert ir.parse(ok).name == "f"  # ordinary nesting still parses


_CHILD = textwrap.dedent("""
    import os, sys, time
    from graphkeras.saving import load_model, FileFormatError
    import graphkeras as keras
    path = sys.argv[1]
    m = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3)])
    for load in (load_model, m.load_weights):
        try:
            load(path)
        except (FileFormatError, FileNotFoundError) as e:
            assert path in str(e), e
        else:
            raise SystemExit("loaded")
    print("refused")
""")


@pytest.mark.parametrize("name", ["m.keras", "m.h5", "m.weights.h5"])
@pytest.mark.parametrize("kind", ["fifo", "dev-zero"])
def test_fifo_or_device_in_place_of_a_model_is_refused_at_once(
        tmp_path, name, kind):
    path = tmp_path / name
    if kind == "fifo":
        os.mkfifo(path)
    else:
        os.symlink("/dev/zero", path)
    env = dict(os.environ,
               PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    try:
        r = subprocess.run([sys.executable, "-c", _CHILD, str(path)],
                           env=env, timeout=60, capture_output=True,
                           text=True)
    except subprocess.TimeoutExpired:
        pytest.fail(f"loading a {kind} hung")
    assert r.returncode == 0 and "refused" in r.stdout, r.stderr[-2000:]


@pytest.mark.parametrize("kind", ["bomb", "deep-config", "deep-ir", "fifo"])
def test_cli_one_line_exit_2(good, tmp_path, kind, capsys):
    from graphkeras.cli import main

    if kind == "bomb":
        entries = _entries(good / "m.keras")
        del entries["model.weights.h5"]
        path = tmp_path / "bomb.keras"
        _write_zip(path, entries, big=("model.weights.h5", 32 << 20))
    elif kind == "deep-config":
        entries = _entries(good / "m.keras")
        entries["config.json"] = _nested_sequentials(3000).encode()
        path = tmp_path / "deep.keras"
        _write_zip(path, entries)
    elif kind == "deep-ir":
        path = tmp_path / "deep.gkir"
        path.write_text("func @f(%x: f32[2]) -> (f32[2]) {\n  %0 = relu %x "
                        "{junk=" + "(" * 5000 + ")" * 5000
                        + "} : f32[2]\n  return %0\n}\n")
    else:  # in a subprocess: a hang must fail the test, not stall it
        path = tmp_path / "fifo.keras"
        os.mkfifo(path)
        env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep
                   + os.environ.get("PYTHONPATH", ""))
        try:
            r = subprocess.run([sys.executable, "-m", "graphkeras", "inspect",
                                str(path)], env=env, timeout=60,
                               capture_output=True, text=True)
        except subprocess.TimeoutExpired:
            pytest.fail("graphkeras inspect hung on a FIFO")
        assert r.returncode == 2
        err = r.stderr.strip()
        assert len(err.splitlines()) == 1 and str(path) in err, err
        return
    assert main(["inspect", str(path)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and str(path) in err, err
