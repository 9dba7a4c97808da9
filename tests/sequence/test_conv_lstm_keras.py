"""ConvLSTM1D/2D/3D give Keras 3's numbers: files written by Keras 3
(fixtures/conv_lstm_*.keras, .weights.h5 and conv_lstm.npz, made by
fixtures/make_keras_conv_lstm.py) load here, predict what Keras predicted
and take the same training step; graphkeras's own files round-trip."""

import os

import numpy as np

import graphkeras as keras

L = keras.layers
HERE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures")
DATA = np.load(os.path.join(HERE, "conv_lstm.npz"))
TOL = dict(rtol=1e-4, atol=1e-6)


def _video():
    """make_keras_conv_lstm.video, in graphkeras."""
    x_in = keras.Input((5, 6, 6, 2))
    x = L.ConvLSTM2D(4, 3, padding="same", return_sequences=True)(x_in)
    x = L.BatchNormalization()(x)
    x = L.ConvLSTM2D(3, (1, 1), padding="same", return_sequences=True)(x)
    x = L.Conv3D(2, 3, padding="same", activation="sigmoid")(x)
    model = keras.Model(x_in, x, name="video")
    model.compile(keras.optimizers.Adam(0.01), "binary_crossentropy")
    return model


def _check_training_step(model):
    x, y = DATA["video_x"], DATA["video_y"]
    loss = model.train_on_batch(x, y)
    np.testing.assert_allclose(loss, DATA["video_loss"], rtol=1e-5)
    weights = model.get_weights()
    assert len(weights) == sum(k.startswith("video_w") for k in DATA)
    for k, w in enumerate(weights):
        np.testing.assert_allclose(w, DATA[f"video_w{k}"], err_msg=str(k),
                                   **TOL)
    np.testing.assert_allclose(model.predict(x, verbose=0),
                               DATA["video_pred_after"], **TOL)


def test_keras_video_file_predicts_and_trains_as_keras():
    model = keras.saving.load_model(os.path.join(HERE,
                                                 "conv_lstm_video.keras"))
    np.testing.assert_allclose(model.predict(DATA["video_x"], verbose=0),
                               DATA["video_pred"], **TOL)
    _check_training_step(model)


def test_keras_weights_file_loads_into_a_graphkeras_model():
    model = _video()
    model.load_weights(os.path.join(HERE, "conv_lstm_video.weights.h5"))
    np.testing.assert_allclose(model.predict(DATA["video_x"], verbose=0),
                               DATA["video_pred"], **TOL)
    _check_training_step(model)


def test_keras_variants_file_predicts_as_keras():
    # ConvLSTM1D (strides, go_backwards, return_state), ConvLSTM2D
    # (channels_first, dilation, no bias, relu / hard_sigmoid) and
    # ConvLSTM3D (go_backwards), a Bidirectional ConvLSTM1D, with random
    # biases
    model = keras.saving.load_model(os.path.join(HERE,
                                                 "conv_lstm_variants.keras"))
    xs = [DATA[f"variants_x{k}"] for k in range(4)]
    preds = model.predict(xs, verbose=0)
    assert len(preds) == 6
    for k, p in enumerate(preds):
        np.testing.assert_allclose(p, DATA[f"variants_y{k}"], err_msg=str(k),
                                   **TOL)
    layer = next(lay for lay in model.layers
                 if type(lay).__name__ == "ConvLSTM2D")
    assert layer.data_format == "channels_first"
    assert layer.dilation_rate == (2, 2) and not layer.use_bias


def test_graphkeras_files_round_trip(tmp_path):
    model = keras.saving.load_model(os.path.join(HERE,
                                                 "conv_lstm_variants.keras"))
    xs = [DATA[f"variants_x{k}"] for k in range(4)]
    want = model.predict(xs, verbose=0)
    model.save(str(tmp_path / "m.keras"))
    model.save_weights(str(tmp_path / "m.weights.h5"))
    again = keras.saving.load_model(str(tmp_path / "m.keras"))
    for p, q in zip(again.predict(xs, verbose=0), want):
        np.testing.assert_allclose(p, q, rtol=1e-6, atol=1e-7)
    fresh = keras.models.clone_model(model)
    fresh.load_weights(str(tmp_path / "m.weights.h5"))
    for p, q in zip(fresh.predict(xs, verbose=0), want):
        np.testing.assert_allclose(p, q, rtol=1e-6, atol=1e-7)
    assert [type(lay).__name__ for lay in again.layers].count(
        "ConvLSTM3D") == 1


def test_onnx_export_predicts_kerass_numbers(tmp_path):
    ort = __import__("onnxruntime")
    d = DATA
    for name in ("video", "variants"):
        model = keras.saving.load_model(os.path.join(
            HERE, f"conv_lstm_{name}.keras"))
        path = str(tmp_path / f"{name}.onnx")
        model.export(path, format="onnx", verbose=False)
        sess = ort.InferenceSession(path)
        if name == "video":
            outs = sess.run(None, {sess.get_inputs()[0].name: d["video_x"]})
            wants = [d["video_pred"]]
        else:
            outs = sess.run(None, {inp.name: d[f"variants_x{k}"]
                                   for k, inp in enumerate(sess.get_inputs())})
            wants = [d[f"variants_y{k}"] for k in range(6)]
        assert len(outs) == len(wants)
        for o, w in zip(outs, wants):
            np.testing.assert_allclose(o, w, err_msg=name, **TOL)
