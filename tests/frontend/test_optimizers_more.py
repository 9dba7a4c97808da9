"""Muon, ScheduleFreeAdamW, SwapEMAWeights (with SGD(use_ema=True)) and
MultiOptimizer
against Keras 3 training the same model from the same weights
(fixtures/make_keras_optimizers_more.py), compiled and run_eagerly;
RemoteMonitor against a local HTTP server."""

import http.server
import json
import os
import threading
import urllib.parse

import numpy as np
import pytest

import graphkeras as keras

F = np.load(os.path.join(os.path.dirname(__file__), "fixtures",
                         "keras_optimizers_more.npz"))
INIT = [F[f"init_{i}"] for i in range(6)]

CASES = {
    "muon": lambda: keras.optimizers.Muon(learning_rate=0.02,
                                          exclude_layers=["head"]),
    "muon_plain": lambda: keras.optimizers.Muon(
        learning_rate=0.01, nesterov=False, rms_rate=None, weight_decay=0.1),
    "sfadamw": lambda: keras.optimizers.ScheduleFreeAdamW(
        learning_rate=0.01, warmup_steps=3, weight_decay=0.01),
}


def _model():
    inp = keras.Input((5,))
    h = keras.layers.Dense(8, activation="tanh", name="hidden")(inp)
    h = keras.layers.Dense(6, name="wide")(h)
    model = keras.Model(inp, keras.layers.Dense(3, name="head")(h))
    model.set_weights(INIT)
    return model


@pytest.mark.parametrize("eager", [False, True])
@pytest.mark.parametrize("name", sorted(CASES))
def test_optimizer_trains_as_keras(name, eager):
    model = _model()
    model.compile(optimizer=CASES[name](), loss="mse", run_eagerly=eager)
    hist = model.fit(F["x"], F["y"], batch_size=8, epochs=3, shuffle=False,
                     verbose=0)
    np.testing.assert_allclose(hist.history["loss"], F[f"{name}_loss"],
                               rtol=2e-5)
    for i, w in enumerate(model.get_weights()):
        np.testing.assert_allclose(w, F[f"{name}_w{i}"], rtol=2e-4,
                                   atol=2e-6, err_msg=f"weight {i}")


def test_muon_slots_and_config():
    opt = keras.optimizers.Muon(exclude_layers=["head"])
    model = _model()
    model.compile(optimizer=opt, loss="mse")
    model.fit(F["x"], F["y"], epochs=1, verbose=0)
    names = [v.path.split("/", 1)[1] for v in opt.variables]
    # 2-D kernels outside `head` have no velocity (Muon steps)
    assert "hidden_kernel_momentum" in names
    assert "hidden_kernel_velocity" not in names
    assert "head_kernel_velocity" in names
    again = keras.optimizers.Muon.from_config(opt.get_config())
    assert again.exclude_layers == ["head"] and again.ns_steps == 5
    assert isinstance(keras.optimizers.get("ScheduleFreeAdamW"),
                      keras.optimizers.ScheduleFreeAdamW)


@pytest.mark.parametrize("swap_on_epoch", [False, True])
def test_swap_ema_weights_evaluates_with_the_averages(swap_on_epoch):
    model = _model()
    model.compile(optimizer=keras.optimizers.SGD(0.1, use_ema=True,
                                                 ema_momentum=0.8),
                  loss="mse")
    hist = model.fit(F["x"], F["y"], batch_size=8, epochs=3, shuffle=False,
                     verbose=0, validation_data=(F["xv"], F["yv"]),
                     callbacks=[keras.callbacks.SwapEMAWeights(
                         swap_on_epoch)])
    key = f"ema_{int(swap_on_epoch)}"
    np.testing.assert_allclose(hist.history["loss"], F[f"{key}_loss"],
                               rtol=2e-5)
    np.testing.assert_allclose(hist.history["val_loss"], F[f"{key}_val_loss"],
                               rtol=2e-5)
    for i, w in enumerate(model.get_weights()):
        np.testing.assert_allclose(w, F[f"{key}_w{i}"], rtol=2e-4, atol=2e-6)


def test_swap_ema_weights_with_a_multi_optimizer():
    # the head's optimizer keeps averages, the rest's does not: evaluation
    # sees the head's averages only
    ema = keras.optimizers.SGD(0.1, use_ema=True, ema_momentum=0.8)
    opt = keras.optimizers.MultiOptimizer(keras.optimizers.OptimizerMap(
        keras.optimizers.SGD(0.1), {"head/.*": ema}))
    model = _model()
    model.compile(optimizer=opt, loss="mse")
    seen = []

    class Probe(keras.callbacks.Callback):
        def on_test_begin(self, logs=None):
            seen.append([w.copy() for w in self.model.get_weights()])

    model.fit(F["x"], F["y"], batch_size=8, epochs=1, shuffle=False,
              verbose=0, validation_data=(F["xv"], F["yv"]),
              callbacks=[keras.callbacks.SwapEMAWeights(), Probe()])
    after = model.get_weights()
    averages = {v.path.split("/", 1)[1]: v.numpy() for v in ema.variables
                if v.path.endswith("_average")}
    np.testing.assert_allclose(seen[0][4], averages["head_kernel_average"])
    np.testing.assert_allclose(seen[0][0], after[0])  # not averaged
    with pytest.raises(ValueError, match="at least one inner optimizer"):
        bad = _model()
        bad.compile(optimizer=keras.optimizers.MultiOptimizer(
            keras.optimizers.OptimizerMap(keras.optimizers.SGD())),
            loss="mse")
        bad.fit(F["x"], F["y"], epochs=1, verbose=0,
                validation_data=(F["xv"], F["yv"]),
                callbacks=[keras.callbacks.SwapEMAWeights()])


def test_swap_ema_weights_needs_use_ema():
    model = _model()
    model.compile(optimizer="sgd", loss="mse")
    with pytest.raises(ValueError, match="use_ema=True"):
        model.fit(F["x"], F["y"], epochs=1, verbose=0,
                  validation_data=(F["xv"], F["yv"]),
                  callbacks=[keras.callbacks.SwapEMAWeights()])


@pytest.mark.parametrize("as_json", [False, True])
def test_remote_monitor_posts_each_epoch(as_json):
    got = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802  (http.server's name)
            body = self.rfile.read(int(self.headers["Content-Length"]))
            got.append((self.path, body.decode()))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        model = _model()
        model.compile(optimizer="sgd", loss="mse")
        model.fit(F["x"], F["y"], epochs=2, verbose=0, callbacks=[
            keras.callbacks.RemoteMonitor(
                root=f"http://127.0.0.1:{server.server_port}",
                send_as_json=as_json)])
    finally:
        server.shutdown()
        server.server_close()
    assert [p for p, _ in got] == ["/publish/epoch/end/"] * 2
    data = [json.loads(b) if as_json else json.loads(
        urllib.parse.parse_qs(b)["data"][0]) for _, b in got]
    assert [d["epoch"] for d in data] == [0, 1]
    assert all(isinstance(d["loss"], float) for d in data)


def test_remote_monitor_warns_when_unreachable():
    model = _model()
    model.compile(optimizer="sgd", loss="mse")
    with pytest.warns(UserWarning, match="Could not reach RemoteMonitor"):
        model.fit(F["x"], F["y"], epochs=1, verbose=0, callbacks=[
            keras.callbacks.RemoteMonitor(root="http://127.0.0.1:9")])


def test_multi_optimizer_routes_variables_by_path():
    sgd = keras.optimizers.SGD(0.1)
    adam = keras.optimizers.Adam(0.01)
    mapping = keras.optimizers.OptimizerMap(sgd, {"head/.*": adam})
    assert mapping["head/kernel"] is adam and mapping["hidden/kernel"] is sgd
    opt = keras.optimizers.MultiOptimizer(mapping)
    model = _model()
    model.compile(optimizer=opt, loss="mse")
    model.fit(F["x"], F["y"], batch_size=8, epochs=2, shuffle=False,
              verbose=0)
    assert int(opt.iterations) == 4
    assert int(sgd.iterations) == 4 and int(adam.iterations) == 4
    # Adam's slots exist for the head only
    slots = [v.path for v in adam.variables]
    assert any("head_kernel_momentum" in s for s in slots)
    assert not any("hidden" in s for s in slots)
    with pytest.raises(AttributeError, match="individual sub-optimizers"):
        opt.learning_rate  # noqa: B018
    np.testing.assert_allclose(
        model.history.history["loss"], F["multi_loss"], rtol=2e-5)
    for i, w in enumerate(model.get_weights()):
        np.testing.assert_allclose(w, F[f"multi_w{i}"], rtol=2e-4, atol=2e-6)
    # a function choosing the optimizer, run eagerly, does the same
    ref = _model()
    ref_sgd, ref_adam = keras.optimizers.SGD(0.1), keras.optimizers.Adam(0.01)
    ref.compile(optimizer=keras.optimizers.MultiOptimizer(
        lambda v: ref_adam if v.path.startswith("head/") else ref_sgd),
        loss="mse", run_eagerly=True)
    ref.fit(F["x"], F["y"], batch_size=8, epochs=2, shuffle=False,
            verbose=0)
    for a, b in zip(model.get_weights(), ref.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-7)
    again = keras.optimizers.MultiOptimizer.from_config(opt.get_config())
    assert isinstance(again._optimizer_map["head/x"],
                      keras.optimizers.Adam)


def test_optimizer_map_refuses_duplicates_and_nesting():
    mapping = keras.optimizers.OptimizerMap(keras.optimizers.SGD())
    mapping["a"] = keras.optimizers.Adam()
    with pytest.raises(ValueError, match="already exists"):
        mapping["a"] = keras.optimizers.SGD()
    with pytest.raises(ValueError, match="cannot be MultiOptimizer"):
        mapping["b"] = keras.optimizers.MultiOptimizer(mapping)
    mapping["x.*"] = keras.optimizers.SGD()
    mapping["xy.*"] = keras.optimizers.SGD()
    assert mapping["xy.*"] is not mapping["x.*"]  # exact keys first
    with pytest.raises(ValueError, match="Multiple optimizers"):
        mapping["xyz"]  # noqa: B018
