"""A masked text model (Embedding mask_zero, Bidirectional LSTM, backwards
GRU) exports to ONNX (scan -> Scan) and onnxruntime predicts what
graphkeras predicts, at several batch sizes."""

import numpy as np
import onnxruntime as ort

import graphkeras as keras


def test_masked_recurrent_model_exports_to_onnx(tmp_path):
    keras.utils.set_random_seed(0)
    inp = keras.Input((7,), dtype="int32")
    h = keras.layers.Embedding(20, 4, mask_zero=True)(inp)
    h = keras.layers.Bidirectional(keras.layers.LSTM(3, return_sequences=True))(h)
    h = keras.layers.GRU(3, go_backwards=True)(h)
    model = keras.Model(inp, keras.layers.Dense(1, activation="sigmoid")(h))
    path = str(tmp_path / "text.onnx")
    model.export(path, format="onnx")
    session = ort.InferenceSession(path)
    name = session.get_inputs()[0].name
    rng = np.random.default_rng(0)
    for batch in (1, 6):
        x = rng.integers(0, 20, size=(batch, 7)).astype("int32")
        x[:, 5:] = 0
        got = session.run(None, {name: x})[0]
        np.testing.assert_allclose(got, model.predict(x, verbose=0),
                                   rtol=1e-5, atol=1e-6)
