"""ModelCheckpoint and BackupAndRestore write (and read back) real files;
the graphkeras command works on saved .keras / .h5 models."""

import os

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from saving_helpers import data, small_mlp

import graphkeras as keras
from graphkeras import cli
from graphkeras.saving import load_model


def _fit(model, callbacks, epochs=3, **kwargs):
    x, y = data(40)
    return model.fit(x, y, epochs=epochs, batch_size=10, verbose=0,
                     shuffle=False, callbacks=callbacks, **kwargs)


def test_checkpoint_every_epoch_with_formatted_names(tmp_path):
    keras.utils.set_random_seed(0)
    model = small_mlp()
    pattern = str(tmp_path / "ckpt" / "m-{epoch:02d}-{val_loss:.2f}.keras")
    history = _fit(model, [keras.callbacks.ModelCheckpoint(pattern)],
                   validation_split=0.25)
    names = sorted(os.listdir(tmp_path / "ckpt"))
    expected = [f"m-{e + 1:02d}-{v:.2f}.keras"
                for e, v in enumerate(history.history["val_loss"])]
    assert names == sorted(expected)
    last = load_model(tmp_path / "ckpt" / expected[-1])
    x, _ = data(5, seed=3)
    np.testing.assert_array_equal(last.predict(x, verbose=0),
                                  model.predict(x, verbose=0))


def test_checkpoint_best_only_and_weights_only(tmp_path):
    keras.utils.set_random_seed(0)
    model = small_mlp()
    path = tmp_path / "best.weights.h5"
    saved = []

    class Spy(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            saved.append((logs["loss"], os.path.getmtime(path)
                          if path.exists() else None))

    cb = keras.callbacks.ModelCheckpoint(str(path), monitor="loss",
                                         save_best_only=True,
                                         save_weights_only=True)
    _fit(model, [cb, Spy()], epochs=4)
    losses = [loss for loss, _ in saved]
    best = int(np.argmin(losses))
    fresh = small_mlp(compile=False)
    fresh.load_weights(path)
    assert cb.best == pytest.approx(losses[best])
    # weights-only files hold no model: load_model refuses them clearly
    with pytest.raises(ValueError, match="weights"):
        load_model(path)
    with pytest.raises(ValueError, match=r"\.weights\.h5"):
        keras.callbacks.ModelCheckpoint(str(tmp_path / "w.keras"),
                                        save_weights_only=True)


def test_checkpoint_every_n_batches(tmp_path):
    keras.utils.set_random_seed(0)
    model = small_mlp()
    pattern = str(tmp_path / "b-{epoch}-{batch}.keras")
    _fit(model, [keras.callbacks.ModelCheckpoint(pattern, save_freq=3)],
         epochs=2)
    # 4 batches an epoch, 8 in all: saves after batches 3 and 6
    assert len(os.listdir(tmp_path)) == 2


def test_backup_and_restore_resumes_an_interrupted_fit(tmp_path):
    x, y = data(40)

    def make():
        keras.utils.set_random_seed(7)
        return small_mlp(dropout=True)

    full = make().fit(x, y, epochs=5, batch_size=10, verbose=0,
                      shuffle=False).history["loss"]

    class Crash(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            if epoch == 3:
                raise KeyboardInterrupt  # the process is stopped

    backup = tmp_path / "backup"
    with pytest.raises(KeyboardInterrupt):
        make().fit(x, y, epochs=5, batch_size=10, verbose=0, shuffle=False,
                   callbacks=[keras.callbacks.BackupAndRestore(backup),
                              Crash()])
    assert sorted(os.listdir(backup)) == ["latest.weights.h5",
                                          "training_metadata.json"]
    resumed = make().fit(x, y, epochs=5, batch_size=10, verbose=0,
                         shuffle=False,
                         callbacks=[keras.callbacks.BackupAndRestore(backup)])
    assert resumed.history["loss"] == full[3:]
    assert not backup.exists()  # deleted after a successful fit


# --- the command line on saved models ----------------------------------------------


def run(capsys, *argv):
    rc = cli.main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return rc, out, err


@pytest.fixture(scope="module")
def saved_models(tmp_path_factory):
    folder = tmp_path_factory.mktemp("models")
    keras.utils.set_random_seed(0)
    model = small_mlp(dropout=True)
    x, y = data()
    model.fit(x, y, epochs=1, verbose=0)
    model.save(folder / "m.keras")
    model.save(folder / "m.h5")
    return folder, model


@pytest.mark.parametrize("name", ["m.keras", "m.h5"])
def test_cli_dump_inspect_export_on_saved_models(capsys, saved_models, name,
                                                 tmp_path):
    folder, model = saved_models
    path = folder / name
    rc, out, err = run(capsys, "dump", path)
    assert rc == 0, err
    assert out.startswith("func @predict(%features: f32[N,4]")
    assert "random" not in out  # dropout is the identity at inference
    rc, out, err = run(capsys, "dump", path, "--program", "train")
    assert rc == 0, err
    assert "@train_step" in out and "%y: i64[N]" in out
    rc, out, err = run(capsys, "dump", path, "--stage", "train")
    assert rc == 0 and "@train_step" in out, err
    rc, out, err = run(capsys, "inspect", path)
    assert rc == 0, err
    # the loaded model's path: as in Keras 3, a Sequential built while
    # loading gives its layers no "sequential/" scope
    kernel = keras.saving.load_model(path).layers[0].kernel.path
    assert f"%{kernel}: f32[4,6]" in out
    assert "parameters (4 tensors, 51 values" in out
    onnx_path = tmp_path / "m.onnx"
    rc, out, err = run(capsys, "export", path, onnx_path)
    assert rc == 0, err
    assert "inputs: features; 1 output(s); 4 initializer(s)" in out
    session = ort.InferenceSession(str(onnx_path),
                                   providers=["CPUExecutionProvider"])
    x, _ = data(7, seed=2)
    np.testing.assert_allclose(session.run(None, {"features": x})[0],
                               model.predict(x, verbose=0), rtol=1e-5,
                               atol=1e-6)
    names = {i.name for i in onnx.load(str(onnx_path)).graph.initializer}
    assert kernel in names


def test_cli_errors_on_model_files_are_one_line(capsys, tmp_path,
                                                saved_models):
    folder, _ = saved_models
    truncated = tmp_path / "t.keras"
    truncated.write_bytes((folder / "m.keras").read_bytes()[:100])
    for argv in (["inspect", truncated], ["dump", tmp_path / "none.h5"],
                 ["export", truncated, tmp_path / "o.onnx"]):
        rc, out, err = run(capsys, *argv)
        assert rc == 2 and out == ""
        assert err.count("\n") == 1 and err.startswith(f"graphkeras {argv[0]}:")
    rc, _, err = run(capsys, "inspect", truncated)
    assert str(truncated) in err and "zip" in err
    uncompiled = tmp_path / "u.keras"
    small_mlp(compile=False).save(uncompiled)
    rc, _, err = run(capsys, "dump", uncompiled, "--stage", "train")
    assert rc == 2 and "not compiled" in err
