"""callbacks.TensorBoard writes event files that tensorboard's own reader
(EventAccumulator) reads back: scalars, histograms, images, the compiled
train program as a graph and kernel profiles. No TensorFlow involved."""

import os
import sys

import numpy as np
import pytest

pytest.importorskip("tensorboard")

from tensorboard.backend.event_processing.event_accumulator import (  # noqa: E402
    EventAccumulator,
)

import graphkeras as keras  # noqa: E402

ALL = {"scalars": 0, "histograms": 0, "images": 0, "tensors": 0}


def _read(log_dir, run):
    acc = EventAccumulator(os.path.join(log_dir, run), size_guidance=ALL)
    acc.Reload()
    return acc


def _fit(log_dir, **kwargs):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, 4)).astype("float32")
    y = rng.normal(size=(64, 1)).astype("float32")
    model = keras.Sequential([
        keras.Input((4,)),
        keras.layers.Dense(3, activation="relu", name="hidden"),
        keras.layers.Dense(1, name="out"),
    ])
    model.compile(optimizer=keras.optimizers.Adam(0.01), loss="mse",
                  metrics=["mae"])
    tb = keras.callbacks.TensorBoard(log_dir, **kwargs)
    history = model.fit(x, y, epochs=2, batch_size=16, verbose=0,
                        validation_split=0.25, callbacks=[tb])
    return model, history


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    log_dir = str(tmp_path_factory.mktemp("tb"))
    model, history = _fit(log_dir, histogram_freq=1, write_images=True,
                          write_steps_per_second=True, update_freq=2,
                          profile_batch=(2, 3))
    return log_dir, model, history, _read(log_dir, "train"), \
        _read(log_dir, "validation")


def _values(acc, tag):
    return [(e.step, e.value) for e in acc.Scalars(tag)]


def test_epoch_scalars_match_history(run):
    _, _, history, train, val = run
    for name in ("loss", "mae"):
        got = _values(train, f"epoch_{name}")
        assert [s for s, _ in got] == [0, 1]
        np.testing.assert_allclose([v for _, v in got],
                                   history.history[name], rtol=1e-6)
        np.testing.assert_allclose([v for _, v in _values(val, f"epoch_{name}")],
                                   history.history[f"val_{name}"], rtol=1e-6)
    np.testing.assert_allclose([v for _, v in _values(train,
                                                      "epoch_learning_rate")],
                               [0.01, 0.01], rtol=1e-6)
    assert all(v > 0 for _, v in _values(train, "epoch_steps_per_second"))
    # Keras's evaluation scalars are stepped by optimizer iterations
    assert [s for s, _ in _values(val, "evaluation_loss_vs_iterations")] == \
        [3, 6]


def test_batch_scalars_every_update_freq(run):
    train = run[3]
    assert [s for s, _ in _values(train, "batch_loss")] == [2, 4, 6]
    assert "batch_steps_per_second" in train.Tags()["scalars"]


def test_histograms_and_images_of_the_weights(run):
    _, model, _, train, _ = run
    tags = train.Tags()["histograms"]
    for w in model.weights:
        tag = f"{w.path}/histogram"
        assert tag in tags
        last = train.Histograms(tag)[-1]
        assert last.step == 1
        h = last.histogram_value
        arr = np.asarray(w.numpy())
        assert h.num == arr.size
        np.testing.assert_allclose([h.min, h.max], [arr.min(), arr.max()],
                                   rtol=1e-6)
        assert sum(h.bucket) == arr.size
    img = train.Images(f"{model.get_layer('hidden').kernel.path}/image")[-1]
    assert (img.height, img.width) == (3, 4)  # transposed: 4 x 3 -> 3 x 4
    assert img.encoded_image_string.startswith(b"\x89PNG")


def test_compiled_program_in_graphs_tab(run):
    _, model, _, train, _ = run
    from graphkeras.frontend.callbacks.tensorboard import _train_executable

    exe = _train_executable(model)
    graph = train.Graph()
    kernels = [n for n in graph.node
               if n.op not in ("Placeholder", "VariableV2", "Const")]
    assert len(kernels) == len(exe.layout.kernels)
    by_name = {n.name: n for n in graph.node}
    # every edge names a node of the graph; layers scope their kernels
    for n in graph.node:
        for i in n.input:
            assert i.split(":")[0] in by_name
    # kernels are scoped by the layer that produced them, fused kernels
    # list their ops
    # NOTE: the layer names are those of the compiled program, which the
    # compile cache shares between identical models (exe.fn's locs)
    for n, k in zip(kernels, exe.layout.kernels):
        assert n.name.startswith(f"{k.loc}/" if k.loc else "step/")
    assert any(n.op.startswith("fused(matmul+") for n in kernels)
    # the weights are Variable nodes (named by their store keys, which
    # are the paths made unique)
    for w in model.weights:
        assert by_name[f"state/{w.key}"].op == "VariableV2"
    for n, k in zip(kernels, exe.layout.kernels):
        shapes = n.attr["_output_shapes"].list.shape
        assert [[d.size for d in s.dim] for s in shapes] == [
            [d if isinstance(d, int) else -1 for d in o.type.shape]
            for o in k.outputs]


def test_kernel_profile_of_the_named_batches(run):
    train = run[3]
    text = train.Tensors("profile/kernels")[0].tensor_proto.string_val[0]
    assert b"batches 2-3 (2 steps)" in text and b"fused(" in text
    meta = train.RunMetadata("batch_3")
    nodes = [s.node_name for s in meta.step_stats.dev_stats[0].node_stats]
    graph_names = {n.name for n in train.Graph().node}
    assert nodes and set(nodes) <= graph_names
    assert {f"profile/{n}_us" for n in nodes} <= set(train.Tags()["scalars"])
    assert _values(train, "profile/step_ms")[0][1] > 0


def test_keras_model_config_and_embeddings(tmp_path):
    x = np.arange(40).reshape(20, 2) % 7
    model = keras.Sequential([keras.Input((2,), dtype="int32"),
                              keras.layers.Embedding(7, 3, name="emb"),
                              keras.layers.Flatten(), keras.layers.Dense(1)])
    model.compile("sgd", "mse")
    tb = keras.callbacks.TensorBoard(str(tmp_path), embeddings_freq=1,
                                     embeddings_metadata={"emb": "m.tsv"})
    model.fit(x, np.zeros((20, 1), "float32"), epochs=1, verbose=0,
              callbacks=[tb])
    text = (tmp_path / "projector_config.pbtxt").read_text()
    assert 'metadata_path: "m.tsv"' in text
    assert (tmp_path / "train" / "keras_embedding.ckpt-0.weights.h5").exists()
    train = _read(str(tmp_path), "train")
    config = train.Tensors("keras")[0].tensor_proto.string_val[0]
    assert b'"class_name": "Sequential"' in config


def test_argument_errors():
    with pytest.raises(ValueError, match="update_freq"):
        keras.callbacks.TensorBoard(update_freq="sometimes")
    with pytest.raises(ValueError, match="profile_batch"):
        keras.callbacks.TensorBoard(profile_batch=(5, 2))


def test_without_tensorboard_the_error_names_the_extra(monkeypatch):
    for name in list(sys.modules):
        if name == "tensorboard" or name.startswith("tensorboard."):
            monkeypatch.setitem(sys.modules, name, None)
    monkeypatch.setitem(sys.modules, "tensorboard", None)
    with pytest.raises(ImportError, match=r"graphkeras\[tensorboard\]"):
        keras.callbacks.TensorBoard()


def test_run_eagerly_writes_the_interpreted_program(tmp_path):
    model = keras.Sequential([keras.Input((3,)),
                              keras.layers.Dense(2, name="d")])
    model.compile("sgd", "mse", run_eagerly=True)
    tb = keras.callbacks.TensorBoard(str(tmp_path), profile_batch=1)
    model.fit(np.ones((8, 3), "float32"), np.zeros((8, 2), "float32"),
              epochs=1, batch_size=4, verbose=0, callbacks=[tb])
    train = _read(str(tmp_path), "train")
    ops = {n.op for n in train.Graph().node}
    assert "matmul" in ops and "VariableV2" in ops  # one node per IR node
    assert "profile/kernels" not in train.Tags()["tensors"]  # no kernels
