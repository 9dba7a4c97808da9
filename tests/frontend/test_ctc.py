"""CTC: ops.ctc_loss, losses.ctc / losses.CTC and ops.ctc_decode against
Keras 3's numbers (fixtures/make_keras_ctc.py), eagerly and compiled, the
loss's gradient against finite differences in float64, and training in a
compiled step against the reference interpreter (run_eagerly)."""

import os

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import graphkeras as keras
from graphkeras import ir, ops
from graphkeras.frontend.tracing import Trace
from graphkeras.passes.differentiate import differentiate

F = np.load(os.path.join(os.path.dirname(__file__), "fixtures",
                         "keras_ctc.npz"))


@pytest.mark.parametrize("blank", [0, 4])
def test_ctc_loss_matches_keras(blank):
    # row 2 has no alignment (2, 2 in two steps): Keras's large finite loss
    got = ops.ctc_loss(F[f"target_b{blank}"], F["logits"], F["target_length"],
                       F["output_length"], mask_index=blank)
    np.testing.assert_allclose(got, F[f"loss_b{blank}"], rtol=2e-6)
    assert ops.nn.ctc_loss is ops.ctc_loss


def test_ctc_losses_match_keras():
    np.testing.assert_allclose(keras.losses.ctc(F["target"], F["logits"]),
                               F["loss_ctc_fn"], rtol=2e-6)
    np.testing.assert_allclose(keras.losses.CTC()(F["target"], F["logits"]),
                               F["loss_ctc_class"], rtol=2e-6)
    loss = keras.losses.get("CTC")
    assert isinstance(loss, keras.losses.CTC) and loss.name == "ctc"
    assert keras.losses.get("ctc") is keras.losses.ctc


def test_ctc_loss_compiled_matches_keras():
    # (batch, 1) lengths, as keras.io's OCR example passes them
    logits = keras.Input((7, 5))
    target = keras.Input((3,), dtype="int32")
    lengths = keras.Input((2,), dtype="int32")
    out = ops.ctc_loss(target, logits, lengths[:, :1], lengths[:, 1:],
                       mask_index=4)
    model = keras.Model([logits, target, lengths], out)
    both = np.stack([F["target_length"], F["output_length"]], axis=1)
    got = model.predict([F["logits"], F["target_b4"], both], verbose=0)
    np.testing.assert_allclose(got, F["loss_b4"], rtol=1e-5)


def test_ctc_op_nodes_save_as_keras_op_classes(tmp_path):
    # written as Keras 3's CTCLoss / CTCDecode operations (Keras 3 loads
    # such a file and computes the same losses)
    logits = keras.Input((7, 5))
    target = keras.Input((3,), dtype="int32")
    lengths = keras.Input((2,), dtype="int32")
    loss = ops.ctc_loss(target, logits, lengths[:, 0], lengths[:, 1],
                        mask_index=4)
    paths, _ = ops.ctc_decode(logits, lengths[:, 1], mask_index=4)
    model = keras.Model([logits, target, lengths], [loss, paths])
    path = str(tmp_path / "ctc.keras")
    model.save(path)
    again = keras.saving.load_model(path)
    both = np.stack([F["target_length"], F["output_length"]], axis=1)
    got, got_paths = again.predict([F["logits"], F["target_b4"], both],
                                   verbose=0)
    np.testing.assert_allclose(got, F["loss_b4"], rtol=1e-5)
    want_paths = ops.ctc_decode(F["logits"], F["output_length"],
                                mask_index=4)[0]
    np.testing.assert_array_equal(got_paths, want_paths)
    import json
    import zipfile

    with zipfile.ZipFile(path) as z:
        config = json.loads(z.read("config.json"))
    classes = {layer["class_name"] for layer in config["config"]["layers"]}
    assert {"CTCLoss", "CTCDecode"} <= classes


def test_ctc_loss_gradient_matches_finite_differences():
    rng = np.random.default_rng(3)
    logits = rng.normal(size=(4, 7, 5))
    target = F["target"]
    w = rng.normal(size=4)
    trace = Trace()
    with trace:
        t = trace.input("x", (4, 7, 5), "float64")
        loss = ops.sum(ops.multiply(ops.ctc_loss(
            target, t, [3, 2, 1, 3], [7, 5, 3, 6]), w))
    f = trace.builder.build([loss.value])
    grad = ir.interpret(differentiate(f, wrt=[f.params[0]]), [logits])[-1]
    # logits past a sequence's output length get no gradient
    assert not np.any(grad[1, 5:]) and not np.any(grad[2, 3:])

    def value(x):
        return float(np.sum(ops.ctc_loss(target, x, [3, 2, 1, 3],
                                         [7, 5, 3, 6]) * w))

    d = rng.normal(size=logits.shape)
    eps = 1e-6
    num = (value(logits + eps * d) - value(logits - eps * d)) / (2 * eps)
    np.testing.assert_allclose(np.sum(grad * d), num, rtol=1e-6)


def _ctc_model():
    keras.utils.set_random_seed(1)
    inp = keras.Input((12, 6))
    h = keras.layers.Dense(16, activation="relu")(inp)
    return keras.Model(inp, keras.layers.Dense(5)(h))


def test_ctc_trains_compiled_as_the_interpreter():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(32, 12, 6)).astype("float32")
    y = rng.integers(1, 5, size=(32, 3)).astype("int32")
    y[::3, 2] = 0  # shorter labels, padded with the blank
    runs = []
    for eager in (False, True):
        model = _ctc_model()
        model.compile(optimizer=keras.optimizers.Adam(0.01),
                      loss=keras.losses.CTC(), run_eagerly=eager)
        hist = model.fit(x, y, batch_size=8, epochs=3, verbose=0,
                         shuffle=False).history["loss"]
        runs.append((hist, model.get_weights()))
    (h_c, w_c), (h_e, w_e) = runs
    np.testing.assert_allclose(h_c, h_e, rtol=1e-4)
    assert h_c[-1] < 0.8 * h_c[0]
    for a, b in zip(w_c, w_e):
        np.testing.assert_allclose(a, b, rtol=1e-3, atol=1e-4)


@pytest.mark.parametrize("merge", [True, False])
@pytest.mark.parametrize("blank", [0, 3])
def test_ctc_greedy_decode_matches_keras(merge, blank):
    key = f"greedy_{merge:d}_{blank}"
    paths, scores = ops.ctc_decode(F["dec_logits"], F["dec_lengths"],
                                   merge_repeated=merge, mask_index=blank)
    np.testing.assert_array_equal(paths, F[key + "_paths"])
    np.testing.assert_allclose(scores, F[key + "_scores"], rtol=1e-6)


def test_ctc_greedy_decode_compiled_matches_keras():
    inp = keras.Input((8, 4))
    lengths = keras.Input((), dtype="int32")
    paths, scores = ops.ctc_decode(inp, lengths, mask_index=3)
    model = keras.Model([inp, lengths], [ops.squeeze(paths, 0), scores])
    got_paths, got_scores = model.predict(
        [F["dec_logits"], F["dec_lengths"]], verbose=0)
    np.testing.assert_array_equal(got_paths, F["greedy_1_3_paths"][0])
    np.testing.assert_allclose(got_scores, F["greedy_1_3_scores"], rtol=1e-5)


@pytest.mark.parametrize("width,top,blank", [(4, 2, 0), (3, 3, 3), (10, 1, 0)])
def test_ctc_beam_search_matches_keras(width, top, blank):
    key = f"beam_{width}_{top}_{blank}"
    paths, scores = ops.ctc_decode(F["dec_logits"], F["dec_lengths"],
                                   strategy="beam_search", beam_width=width,
                                   top_paths=top, mask_index=blank)
    np.testing.assert_array_equal(paths, F[key + "_paths"])
    np.testing.assert_allclose(scores, F[key + "_scores"], rtol=1e-5)


def test_ctc_errors_name_the_argument():
    with pytest.raises(ValueError, match=r"ops.ctc_loss expects `output` of "
                                         r"shape .* received output.shape="
                                         r"\(4, 7\)"):
        ops.ctc_loss(F["target"], F["logits"][:, :, 0], [1] * 4, [7] * 4)
    with pytest.raises(ValueError, match=r"mask_index=5"):
        ops.ctc_loss(F["target"], F["logits"], [1] * 4, [7] * 4, mask_index=5)
    with pytest.raises(ValueError, match="Invalid strategy nope"):
        ops.ctc_decode(F["dec_logits"], F["dec_lengths"], strategy="nope")
    inp = keras.Input((8, 4))
    lengths = keras.Input((), dtype="int32")
    with pytest.raises(ValueError, match="runs eagerly only"):
        ops.ctc_decode(inp, lengths, strategy="beam_search")
    with pytest.raises(ValueError, match=r"y_true.shape=\(4,\)"):
        keras.losses.ctc(F["target"][:, 0], F["logits"])


class _CTCEndpoint(keras.layers.Layer):
    """keras.io's OCR "endpoint layer": the CTC loss added with add_loss
    (lengths made from the batch, as graphkeras's symbolic batch needs)."""

    def call(self, y_true, y_pred):
        ones = ops.ones_like(y_true[:, 0], dtype="int32")
        loss = ops.ctc_loss(y_true, y_pred, ones * ops.shape(y_true)[1],
                            ones * ops.shape(y_pred)[1])
        self.add_loss(ops.mean(loss))
        return y_pred


def test_ctc_endpoint_layer_with_a_bidirectional_lstm_learns_to_read():
    rng = np.random.default_rng(0)
    steps, feats, labels, classes = 20, 8, 4, 6
    y = rng.integers(1, classes, size=(256, labels)).astype("float32")
    x = rng.normal(size=(256, steps, feats)).astype("float32") * 0.3
    for i in range(256):  # label k shows as a bump in feature k
        for j, c in enumerate(y[i].astype(int)):
            x[i, 2 + 4 * j:4 + 4 * j, c] += 2.0
    keras.utils.set_random_seed(0)
    img = keras.Input((steps, feats))
    lab = keras.Input((labels,))
    h = keras.layers.Bidirectional(keras.layers.LSTM(
        16, return_sequences=True))(img)
    logits = keras.layers.Dense(classes, name="logits")(h)
    model = keras.Model([img, lab], _CTCEndpoint()(lab, logits))
    model.compile(optimizer=keras.optimizers.Adam(0.02))
    hist = model.fit([x, y], epochs=15, batch_size=32, verbose=0)
    assert hist.history["loss"][-1] < 0.1 * hist.history["loss"][0]
    reader = keras.Model(img, model.get_layer("logits").output)
    paths, _ = ops.ctc_decode(reader.predict(x[:16], verbose=0), [steps] * 16)
    # repeated labels (1 1) come back through the blank between them
    assert np.mean(np.all(paths[0][:, :labels] == y[:16], axis=1)) >= 0.9


def _brute_force_ctc(logits, target, t_len, o_len, blank):
    """-log of the summed probability of every path of o_len steps that
    collapses (merge repeats, drop blanks) to target[:t_len]."""
    import itertools

    lp = logits[:o_len] - np.log(np.sum(np.exp(logits[:o_len]), axis=-1,
                                        keepdims=True))
    want = tuple(int(c) for c in target[:t_len])
    total = 0.0
    for path in itertools.product(range(logits.shape[-1]), repeat=o_len):
        collapsed = [c for i, c in enumerate(path)
                     if c != blank and (i == 0 or c != path[i - 1])]
        if tuple(collapsed) == want:
            total += np.exp(sum(lp[t, c] for t, c in enumerate(path)))
    with np.errstate(divide="ignore"):  # no path: inf
        return -np.log(total)


@settings(max_examples=25, deadline=None)
@given(data=st.data())
def test_ctc_loss_matches_a_brute_force_sum_over_paths(data):
    classes = data.draw(st.integers(2, 3))
    time = data.draw(st.integers(1, 5))
    labels = data.draw(st.integers(1, 3))
    blank = data.draw(st.sampled_from([0, classes - 1]))
    rng = np.random.default_rng(data.draw(st.integers(0, 2**31 - 1)))
    logits = rng.normal(size=(2, time, classes))
    others = [c for c in range(classes) if c != blank]
    target = rng.choice(others, size=(2, labels)).astype("int32")
    t_len = np.array([data.draw(st.integers(0, labels)) for _ in range(2)])
    o_len = np.array([data.draw(st.integers(1, time)) for _ in range(2)])
    got = ops.ctc_loss(target, logits, t_len, o_len, mask_index=blank)
    for b in range(2):
        want = _brute_force_ctc(logits[b], target[b], t_len[b], o_len[b],
                                blank)
        if np.isfinite(want):
            np.testing.assert_allclose(got[b], want, rtol=1e-9)
        else:  # no path: Keras's large finite loss
            assert got[b] > 1e4


def test_batch_size_from_ops_shape_is_a_number_per_batch():
    # keras.io's OCR layer reads the batch size as ops.shape(y_true)[0]:
    # the model builds (made-up batch sizes) and predict traces per batch
    # size (tests/frontend/test_call_conventions.py trains such a layer)
    class KerasIOStyle(keras.layers.Layer):
        def call(self, y_true, y_pred):
            batch_len = ops.cast(ops.shape(y_true)[0], dtype="int64")
            return y_pred * ops.cast(batch_len, "float32")

    lab, logits = keras.Input((3,)), keras.Input((7, 5))
    out = KerasIOStyle()(lab, logits)
    assert out.shape == (None, 7, 5)
    m = keras.Model([lab, logits], out)
    rng = np.random.default_rng(0)
    y, p = rng.normal(size=(9, 3)), rng.normal(size=(9, 7, 5))
    got = m.predict([y, p], batch_size=4, verbose=0)
    sizes = np.repeat([4, 4, 1], [4, 4, 1]).reshape(-1, 1, 1)
    np.testing.assert_allclose(got, p.astype("float32") * sizes, rtol=1e-6)
    with pytest.raises(ValueError, match=r"ops.shape\(x\)\[0\] is None"):
        ops.cast(None, "int64")
