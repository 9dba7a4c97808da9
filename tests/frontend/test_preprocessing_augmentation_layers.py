"""The Keras 3 layers added for tutorial code: aliases, layers.serialize /
deserialize, Wrapper, the tabular preprocessing layers (Normalization,
Discretization, CategoryEncoding, IntegerLookup), augmentation (RandomFlip,
RandomCrop, RandomContrast, RandomBrightness, CenterCrop, RandomTranslation,
RandomRotation, RandomZoom), EinsumDense and RMSNormalization, and the
NumPy-side string layers (StringLookup, TextVectorization).

Keras 3's numbers come from fixtures/keras_preprocessing.npz and
fixtures/keras_normalization.keras, written by
fixtures/make_keras_preprocessing.py under /work/venv-peers (Keras is never
imported here). Config / .keras / .h5 / ONNX round trips of the default
samples run table-driven in tests/saving/test_registry_round_trips.py;
here: adapted state, training-time draws, compiled vs interpreted.
"""

import json
import os

import numpy as np
import onnxruntime as ort
import pytest

import graphkeras as keras
from graphkeras import layers, ops
from graphkeras.frontend.layers.augmentation_affine import affine_resample

HERE = os.path.dirname(os.path.abspath(__file__))
F = np.load(os.path.join(HERE, "fixtures", "keras_preprocessing.npz"))
RNG = np.random.default_rng(2)

# Keras 3 aliases of layers graphkeras does not have yet (not tutorial
# names); the test fails if this set changes, so a new alias is noticed.
ALIASES_OF_MISSING = {"GroupQueryAttention"}


def test_aliases_are_the_classes_keras_maps_them_to():
    missing = set()
    for alias, target in zip(F["alias_names"], F["alias_targets"]):
        alias, target = str(alias), str(target)
        if not hasattr(layers, target):
            missing.add(alias)
            continue
        assert getattr(layers, alias) is getattr(layers, target), alias
    assert missing == ALIASES_OF_MISSING
    model = keras.Sequential([keras.Input((6, 6, 1)),
                              layers.Convolution2D(2, 3),
                              layers.MaxPool2D(), layers.GlobalAvgPool2D()])
    assert [type(x).__name__ for x in model.layers] == [
        "Conv2D", "MaxPooling2D", "GlobalAveragePooling2D"]


# --- numbers equal to Keras 3's -----------------------------------------------------


def _adapted(layer, data):
    layer.adapt(data)
    return layer


X, PROBE = F["norm_x"], F["norm_probe"]
V, INTS, TOKS = F["disc_x"], F["cat_x"], F["lookup_x"]
IMG = F["img"]
KERAS_CASES = {
    "norm_adapt": lambda: _adapted(layers.Normalization(), X)(PROBE),
    "norm_adapt_batches": lambda: _adapted(
        layers.Normalization(), [X[:7], X[7:20], X[20:]])(PROBE),
    "norm_axis_none": lambda: _adapted(layers.Normalization(axis=None),
                                       X)(PROBE),
    "norm_invert": lambda: _adapted(layers.Normalization(invert=True),
                                    X)(PROBE),
    "norm_given": lambda: layers.Normalization(
        mean=[1.0, 2.0, 3.0], variance=[4.0, 0.0, 0.25])(PROBE),
    "norm_img_axes": lambda: _adapted(layers.Normalization(axis=(1, -1)),
                                      F["norm_img"])(F["norm_img"]),
    "disc_int": lambda: layers.Discretization(
        bin_boundaries=[-1.0, 0.0, 0.5])(V[:6]),
    "disc_one_hot": lambda: layers.Discretization(
        bin_boundaries=[-1.0, 0.0, 0.5], output_mode="one_hot")(V[:6, :1]),
    "disc_multi_hot": lambda: layers.Discretization(
        bin_boundaries=[-1.0, 0.0, 0.5], output_mode="multi_hot")(V[:6]),
    "disc_count": lambda: layers.Discretization(
        bin_boundaries=[-1.0, 0.0, 0.5], output_mode="count")(V[:6]),
    "disc_adapt_bounds": lambda: _adapted(
        layers.Discretization(num_bins=5, epsilon=0.01), V).bin_boundaries,
    "disc_adapt": lambda: _adapted(
        layers.Discretization(num_bins=5, epsilon=0.01), V)(V),
    "disc_adapt_batches_bounds": lambda: _adapted(
        layers.Discretization(num_bins=4, epsilon=0.05),
        [V[:13], V[13:31], V[31:]]).bin_boundaries,
    "cat_one_hot": lambda: layers.CategoryEncoding(
        6, output_mode="one_hot")(INTS[:, :1]),
    "cat_one_hot_rank1": lambda: layers.CategoryEncoding(
        6, output_mode="one_hot")(INTS[:, 0]),
    "cat_multi_hot": lambda: layers.CategoryEncoding(6)(INTS),
    "cat_count": lambda: layers.CategoryEncoding(6, output_mode="count")(INTS),
    "lookup_vocab": lambda: _adapted(layers.IntegerLookup(),
                                     TOKS).get_vocabulary(),
    "lookup_int": lambda: _adapted(layers.IntegerLookup(), TOKS)(TOKS),
    "lookup_mask_vocab": lambda: _adapted(layers.IntegerLookup(
        max_tokens=6, mask_token=0, output_mode="multi_hot"),
        TOKS).get_vocabulary(),
    "lookup_mask_multi_hot": lambda: _adapted(layers.IntegerLookup(
        max_tokens=6, mask_token=0, output_mode="multi_hot"), TOKS)(TOKS),
    "lookup_invert": lambda: layers.IntegerLookup(
        vocabulary=[3, 1, 7], invert=True)(np.array([[0, 1, 2, 3]])),
    "flip_inference": lambda: layers.RandomFlip(seed=1)(IMG, training=False),
    "center_crop": lambda: layers.CenterCrop(4, 3)(IMG),
    "center_crop_up": lambda: layers.CenterCrop(8, 5)(IMG),
    "rms": lambda: layers.RMSNormalization()(X[:5]),
}


@pytest.mark.parametrize("case", sorted(KERAS_CASES))
def test_outputs_equal_keras3(case):
    got = np.asarray(KERAS_CASES[case]())
    want = F[case]
    assert got.shape == want.shape
    if want.dtype.kind in "iu" or case.startswith(("disc_", "cat_",
                                                   "lookup_")):
        np.testing.assert_allclose(got, want, rtol=1e-6, atol=0)
    else:
        np.testing.assert_allclose(got, want, rtol=2e-5, atol=2e-5)


def test_einsum_dense_with_keras_weights_equals_keras():
    layer = layers.EinsumDense("abc,cde->abde", output_shape=(5, 2, 4),
                               bias_axes="de")
    layer(F["einsum_x"])
    assert [w.shape for w in layer.get_weights()] == [
        F["einsum_kernel"].shape, F["einsum_bias"].shape]
    layer.set_weights([F["einsum_kernel"], F["einsum_bias"]])
    np.testing.assert_allclose(layer(F["einsum_x"]), F["einsum_out"],
                               rtol=1e-5, atol=1e-5)


def test_keras3_normalization_file_loads_its_mean_and_variance():
    model = keras.saving.load_model(
        os.path.join(HERE, "fixtures", "keras_normalization.keras"))
    norm = next(x for x in model.layers if isinstance(x, layers.Normalization))
    assert [v.name for v in norm.weights] == ["mean", "variance", "count"]
    np.testing.assert_allclose(norm.get_weights()[0], F["norm_mean"], 1e-6)
    np.testing.assert_allclose(norm.get_weights()[1], F["norm_variance"],
                               1e-6)
    for eager in (True, False):
        model.run_eagerly = eager
        np.testing.assert_allclose(model.predict(PROBE, verbose=0),
                                   F["norm_model_pred"], rtol=1e-5, atol=1e-5)


def test_keras3_file_of_the_other_layers_loads_with_keras_predictions():
    # Discretization (adapted), IntegerLookup, CategoryEncoding, EinsumDense,
    # RMSNormalization and four augmentation layers, saved by Keras 3
    model = keras.saving.load_model(
        os.path.join(HERE, "fixtures", "keras_tabular.keras"))
    for eager in (True, False):
        model.run_eagerly = eager
        np.testing.assert_allclose(
            model.predict([PROBE, F["tab_cat"]], verbose=0), F["tab_pred"],
            rtol=1e-5, atol=1e-5)


# --- adapted state survives saving -----------------------------------------------


def _tabular_model():
    num = keras.Input((3,), name="num")
    cat = keras.Input((4,), dtype="int64", name="cat")
    norm = _adapted(layers.Normalization(), X)
    disc = _adapted(layers.Discretization(num_bins=4, output_mode="count"), X)
    look = _adapted(layers.IntegerLookup(output_mode="multi_hot",
                                         mask_token=0), TOKS)
    enc = layers.CategoryEncoding(9, output_mode="count")
    h = layers.Concatenate()([norm(num), disc(num), look(cat), enc(cat)])
    h = layers.Dense(4, activation="relu")(h)
    return keras.Model([num, cat], layers.Dense(1)(h))


def test_adapted_tabular_model_round_trips_and_exports(tmp_path):
    keras.utils.set_random_seed(1)
    model = _tabular_model()
    xs = [PROBE, TOKS[:6, :4]]
    model.run_eagerly = True
    want = model.predict(xs, verbose=0)
    for ext in (".keras", ".h5"):
        model.save(tmp_path / f"m{ext}")
        loaded = keras.saving.load_model(tmp_path / f"m{ext}")
        loaded.run_eagerly = True
        np.testing.assert_array_equal(loaded.predict(xs, verbose=0), want)
    model.run_eagerly = False
    np.testing.assert_allclose(model.predict(xs, verbose=0), want,
                               rtol=1e-5, atol=1e-5)
    model.export(tmp_path / "m.onnx", format="onnx")
    sess = ort.InferenceSession(str(tmp_path / "m.onnx"),
                                providers=["CPUExecutionProvider"])
    got = sess.run(None, dict(zip([i.name for i in sess.get_inputs()],
                                  xs)))[0]
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)


def test_tabular_model_trains_compiled_as_interpreted():
    weights = []
    y = RNG.normal(size=(12, 1)).astype("float32")
    for eager in (True, False):
        keras.utils.set_random_seed(1)
        model = _tabular_model()
        model.compile(keras.optimizers.Adam(0.01), "mse", run_eagerly=eager)
        model.fit([X[:12], TOKS[:, :4]], y, batch_size=4, epochs=2,
                  shuffle=False, verbose=0)
        weights.append(model.get_weights())
    for a, b in zip(*weights):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)


def test_discretization_and_lookup_configs_keep_what_adapt_learned():
    disc = _adapted(layers.Discretization(num_bins=4), V)
    clone = layers.deserialize(json.loads(json.dumps(layers.serialize(disc))))
    assert clone.bin_boundaries == disc.bin_boundaries
    assert clone.num_bins == 4
    look = _adapted(layers.IntegerLookup(num_oov_indices=2), TOKS)
    clone = layers.deserialize(json.loads(json.dumps(layers.serialize(look))))
    assert clone.get_vocabulary() == look.get_vocabulary()
    unseen = np.array([[100, 101, int(TOKS[0, 0])]])
    np.testing.assert_array_equal(clone(unseen), look(unseen))
    # two OOV indices: an unknown v goes to v mod 2
    assert look(unseen)[0, :2].tolist() == [0, 1]


# --- augmentation --------------------------------------------------------------------


def _images(n=16):
    return RNG.uniform(20, 230, size=(n, 5, 6, 2)).astype("float32")


@pytest.mark.parametrize("mode, axes", [("horizontal", (1,)),
                                        ("vertical", (0,)),
                                        ("horizontal_and_vertical", (0, 1))])
def test_random_flip_flips_whole_images_in_training_only(mode, axes):
    x = _images()
    layer = layers.RandomFlip(mode, seed=4)
    np.testing.assert_array_equal(layer(x, training=False), x)
    out = layer(x, training=True)
    flipped = np.flip(x, axis=tuple(a + 1 for a in axes))
    same = [np.array_equal(o, a) for o, a in zip(out, x)]
    flip = [np.array_equal(o, f) for o, f in zip(out, flipped)]
    assert all(s or f for s, f in zip(same, flip))
    assert any(same) and any(flip)
    again = layers.RandomFlip(mode, seed=4)(x, training=True)
    np.testing.assert_array_equal(again, out)  # seeded


def test_random_contrast_and_brightness_follow_keras_formulas():
    x = _images()
    con = layers.RandomContrast(0.5, seed=3)
    np.testing.assert_array_equal(con(x, training=False), x)
    out = con(x, training=True)
    mean = x.mean(axis=(1, 2), keepdims=True)
    # per image: out = (x - mean) * f + mean, f in [1, 1.5] (Keras's
    # convention for a single factor), clipped to [0, 255]
    f = ((out - mean) / (x - mean)).reshape(len(x), -1)
    inside = ((out > 0) & (out < 255)).reshape(len(x), -1)
    for fi, ok in zip(f, inside):
        vals = fi[ok]
        np.testing.assert_allclose(vals, vals[0], rtol=1e-3)
        assert 1.0 <= vals[0] <= 1.5
    bri = layers.RandomBrightness(0.1, seed=3)
    x = np.clip(x, 30, 225)  # no clipping by the +-25.5 deltas
    np.testing.assert_array_equal(bri(x, training=False), x)
    out = bri(x, training=True)
    delta = (out - x).reshape(len(x), -1)
    np.testing.assert_allclose(
        delta, np.repeat(delta[:, :1], delta.shape[1], 1), atol=1e-3)
    assert np.all(np.abs(delta) <= 25.5 + 1e-3) and delta.std() > 0


def test_random_crop_takes_a_window_in_training():
    x = _images(4)
    layer = layers.RandomCrop(3, 4, seed=5)
    out = layer(x, training=True)
    assert out.shape == (4, 3, 4, 2)
    windows = [(i, j) for i in range(3) for j in range(3)
               if np.array_equal(out, x[:, i:i + 3, j:j + 4])]
    assert len(windows) == 1
    # inference: center crop to the aspect ratio, resized (shape as trained)
    assert layer(x).shape == (4, 3, 4, 2)


def test_augmented_model_trains_compiled_as_interpreted():
    x = _images(8) / 255.0
    y = RNG.normal(size=(8, 1)).astype("float32")
    results = []
    for eager in (True, False):
        keras.utils.set_random_seed(0)
        model = keras.Sequential([
            keras.Input((5, 6, 2)),
            layers.RandomFlip(seed=1),
            layers.RandomContrast(0.3, value_range=(0, 1), seed=2),
            layers.RandomBrightness(0.2, value_range=(0, 1), seed=3),
            layers.RandomCrop(4, 4, seed=4),
            layers.CenterCrop(3, 3),
            layers.Flatten(), layers.Dense(1)])
        model.compile(keras.optimizers.SGD(0.1), "mse", run_eagerly=eager)
        model.fit(x, y, batch_size=4, epochs=2, shuffle=False, verbose=0)
        results.append((model.get_weights(), model.predict(x, verbose=0)))
    for a, b in zip(results[0][0], results[1][0]):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(results[0][1], results[1][1], rtol=1e-4,
                               atol=1e-5)


AFFINE = [(t, fill, interp) for t in ("translate", "rotate", "zoom")
          for fill in ("reflect", "wrap", "constant", "nearest")
          for interp in ("bilinear", "nearest")]


@pytest.mark.parametrize("t, fill, interp", AFFINE)
def test_affine_resample_equals_keras3(t, fill, interp):
    want = F[f"affine_{t}_{fill}_{interp}"]
    got = affine_resample(F["affine_img"], F[f"affine_t_{t}"], interp, fill,
                          0.5)
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)
    if t != "rotate":  # the rows-then-columns path of translations / zooms
        got = affine_resample(F["affine_img"], F[f"affine_t_{t}"], interp,
                              fill, 0.5, axis_aligned=True)
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)


class _FixedAffine(layers.Layer):
    """The resampler inside a model, with the fixture's transforms."""

    def __init__(self, transform, **kwargs):
        super().__init__(**kwargs)
        self.transform = np.asarray(transform, "float32")

    def call(self, x):
        t = ops.add(ops.multiply(ops.zeros_like(x[:, :1, 0, 0]), 0.0),
                    self.transform[:1])  # one transform, broadcast per image
        return affine_resample(x, t, "bilinear", "reflect", 0.5)


def test_affine_resample_compiles_and_exports(tmp_path):
    inp = keras.Input((7, 9, 2))
    model = keras.Model(inp, _FixedAffine(F["affine_t_rotate"])(inp))
    img = F["affine_img"]
    want = affine_resample(img, np.repeat(F["affine_t_rotate"][:1], 2, 0),
                           "bilinear", "reflect", 0.5)
    np.testing.assert_allclose(want[0], F["affine_rotate_reflect_bilinear"][0],
                               rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(model.predict(img, verbose=0), want,
                               rtol=1e-5, atol=1e-5)
    model.export(tmp_path / "a.onnx", format="onnx")
    sess = ort.InferenceSession(str(tmp_path / "a.onnx"),
                                providers=["CPUExecutionProvider"])
    got = sess.run(None, {sess.get_inputs()[0].name: img})[0]
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)


def test_affine_layers_draw_per_image_in_training_only():
    x = _images(6)
    for layer in (layers.RandomTranslation(0.3, 0.3, seed=1),
                  layers.RandomRotation(0.2, seed=1),
                  layers.RandomZoom(0.3, seed=1)):
        np.testing.assert_array_equal(layer(x, training=False), x)
        out = layer(x, training=True)
        assert out.shape == x.shape
        changed = [not np.allclose(o, a) for o, a in zip(out, x)]
        assert all(changed), type(layer).__name__
        # images differ from one another in how they moved
        diffs = {round(float(np.abs(o - a).mean()), 3)
                 for o, a in zip(out, x)}
        assert len(diffs) > 1
    # a zero factor is the identity (up to float rounding)
    same = layers.RandomTranslation(0.0, 0.0, seed=2)(x, training=True)
    np.testing.assert_allclose(same, x, rtol=1e-5, atol=1e-4)


def test_affine_augmented_model_trains_compiled_as_interpreted():
    x = _images(8) / 255.0
    y = RNG.normal(size=(8, 1)).astype("float32")
    results = []
    for eager in (True, False):
        keras.utils.set_random_seed(0)
        model = keras.Sequential([
            keras.Input((5, 6, 2)),
            layers.RandomTranslation(0.2, 0.2, fill_mode="wrap", seed=1),
            layers.RandomRotation(0.1, fill_mode="constant",
                                  interpolation="nearest", seed=2),
            layers.RandomZoom(0.2, 0.1, seed=3),
            layers.Flatten(), layers.Dense(1)])
        model.compile(keras.optimizers.SGD(0.1), "mse", run_eagerly=eager)
        model.fit(x, y, batch_size=4, epochs=2, shuffle=False, verbose=0)
        results.append(model.get_weights())
    for a, b in zip(*results):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)


# --- strings: StringLookup, TextVectorization (NumPy side) ---------------------


WORDS, TEXT = F["str_x"], F["text_x"]
STRING_CASES = {
    "str_vocab": lambda: _adapted(layers.StringLookup(), WORDS)
    .get_vocabulary(),
    "str_int": lambda: _adapted(layers.StringLookup(), WORDS)(
        np.array([["cat", "yak"], ["emu", "dog"]])),
    "str_mask_vocab": lambda: _adapted(layers.StringLookup(
        max_tokens=5, mask_token="", output_mode="multi_hot"), WORDS)
    .get_vocabulary(),
    "str_mask_multi_hot": lambda: _adapted(layers.StringLookup(
        max_tokens=5, mask_token="", output_mode="multi_hot"), WORDS)(
        np.array([["cat", "", "yak"], ["dog", "dog", "bird"]])),
    "str_invert": lambda: layers.StringLookup(
        vocabulary=["a", "b", "c"], invert=True)(np.array([[0, 1, 3, 7]])),
    "text_vocab": lambda: _adapted(layers.TextVectorization(
        output_sequence_length=6), TEXT).get_vocabulary(),
    "text_int": lambda: _adapted(layers.TextVectorization(
        output_sequence_length=6), TEXT)(TEXT),
    "text_multi_hot_vocab": lambda: _adapted(layers.TextVectorization(
        max_tokens=8, output_mode="multi_hot"), TEXT).get_vocabulary(),
    "text_multi_hot": lambda: _adapted(layers.TextVectorization(
        max_tokens=8, output_mode="multi_hot"), TEXT)(TEXT),
    "text_ngram_vocab": lambda: _adapted(layers.TextVectorization(
        ngrams=2, output_mode="count", standardize="lower"), TEXT)
    .get_vocabulary(),
    "text_ngram_count": lambda: _adapted(layers.TextVectorization(
        ngrams=2, output_mode="count", standardize="lower"), TEXT)(TEXT),
    "text_char_vocab": lambda: _adapted(layers.TextVectorization(
        split="character", output_sequence_length=10, standardize=None),
        TEXT).get_vocabulary(),
    "text_char_int": lambda: _adapted(layers.TextVectorization(
        split="character", output_sequence_length=10, standardize=None),
        TEXT)(TEXT),
}


@pytest.mark.parametrize("case", sorted(STRING_CASES))
def test_string_layers_equal_keras3(case):
    got = np.asarray(STRING_CASES[case]())
    want = F[case]
    assert got.shape == want.shape
    if want.dtype.kind == "U":
        assert got.astype(str).tolist() == want.tolist()
    else:
        np.testing.assert_array_equal(got, want)


def test_string_layers_refuse_compiled_tensors_and_feed_a_model():
    tv = _adapted(layers.TextVectorization(output_sequence_length=6), TEXT)
    after = layers.Dense(1)(keras.Input((1,)))
    with pytest.raises(ValueError, match="must be applied to the model's "
                                         "inputs"):
        tv(after)
    with pytest.raises(ValueError, match="must be applied to the model's "
                                         "inputs"):
        layers.StringLookup(vocabulary=["a"])(after)
    clone = layers.deserialize(json.loads(json.dumps(layers.serialize(tv))))
    np.testing.assert_array_equal(clone(TEXT), tv(TEXT))
    # the documented pipeline: ids from NumPy into an Embedding model
    ids = tv(TEXT)
    model = keras.Sequential([keras.Input((6,), dtype="int64"),
                              layers.Embedding(tv.vocabulary_size(), 4),
                              layers.GlobalAveragePooling1D(),
                              layers.Dense(1)])
    model.compile("sgd", "mse")
    model.fit(ids, np.ones((4, 1), "float32"), epochs=1, verbose=0)
    assert model.predict(ids, verbose=0).shape == (4, 1)


# --- EinsumDense, RMSNormalization, Wrapper ------------------------------------------


def test_einsum_dense_equations_against_numpy():
    x2 = RNG.normal(size=(4, 5)).astype("float32")
    x3 = RNG.normal(size=(4, 3, 5)).astype("float32")
    for eq, shape, bias, x, ref in [
        ("ab,bc->ac", 6, "c", x2, lambda x, k, b: x @ k + b),
        ("abc,cd->abd", (3, 6), "d", x3, lambda x, k, b: x @ k + b),
        ("abc,cde->abde", (3, 2, 4), None, x3,
         lambda x, k, b: np.einsum("abc,cde->abde", x, k)),
    ]:
        layer = layers.EinsumDense(eq, output_shape=shape, bias_axes=bias)
        layer(x)
        ws = [w + 0.1 for w in layer.get_weights()]
        layer.set_weights(ws)
        want = ref(x, ws[0], ws[1] if bias else None)
        np.testing.assert_allclose(layer(x), want, rtol=1e-5, atol=1e-5)
        inp = keras.Input(x.shape[1:])
        model = keras.Model(inp, layer(inp))
        np.testing.assert_allclose(model.predict(x, verbose=0), want,
                                   rtol=1e-5, atol=1e-5)


def test_einsum_dense_and_rms_normalization_train_compiled_as_interpreted():
    x = RNG.normal(size=(8, 3, 5)).astype("float32")
    y = RNG.normal(size=(8, 1)).astype("float32")
    results = []
    for eager in (True, False):
        keras.utils.set_random_seed(0)
        model = keras.Sequential([
            keras.Input((3, 5)),
            layers.EinsumDense("abc,cd->abd", (3, 4), bias_axes="d",
                               activation="tanh"),
            layers.RMSNormalization(),
            layers.EinsumDense("abc,cde->abde", (3, 2, 2), bias_axes="e"),
            layers.Flatten(), layers.Dense(1)])
        model.compile(keras.optimizers.Adam(0.01), "mse", run_eagerly=eager)
        model.fit(x, y, batch_size=4, epochs=2, shuffle=False, verbose=0)
        results.append(model.get_weights())
    for a, b in zip(*results):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)


def test_rms_normalization_over_several_axes():
    x = RNG.normal(size=(3, 4, 5)).astype("float32")
    layer = layers.RMSNormalization(axis=[1, 2], epsilon=1e-3)
    layer(x)
    scale = RNG.normal(size=(4, 5)).astype("float32")
    layer.set_weights([scale])
    want = x / np.sqrt((x ** 2).mean(axis=(1, 2), keepdims=True) + 1e-3)
    np.testing.assert_allclose(layer(x), want * scale, rtol=1e-5, atol=1e-6)


class _Twice(layers.Wrapper):
    def call(self, x):
        return self.layer(self.layer(x))


def test_wrapper_subclass_and_layers_serialize():
    w = _Twice(layers.Dense(3, use_bias=False))
    x = RNG.normal(size=(2, 3)).astype("float32")
    out = w(x)
    k = w.layer.kernel.numpy()
    np.testing.assert_allclose(out, x @ k @ k, rtol=1e-5, atol=1e-6)
    config = layers.serialize(w)
    clone = layers.deserialize(config, custom_objects={"_Twice": _Twice})
    assert type(clone) is _Twice and isinstance(clone.layer, layers.Dense)
    assert clone.layer.units == 3


# --- errors ------------------------------------------------------------------------


@pytest.mark.parametrize("make, match", [
    (lambda: layers.Normalization(mean=1.0),
     "both `mean` and `variance` must be set"),
    (lambda: layers.Discretization(), "set either `num_bins` or"),
    (lambda: layers.Discretization(bin_boundaries=[0.0], sparse=True),
     "no sparse tensors"),
    (lambda: layers.CategoryEncoding(), "num_tokens must be set"),
    (lambda: layers.CategoryEncoding(3, output_mode="tf_idf"),
     "output_mode='tf_idf'"),
    (lambda: layers.CategoryEncoding(3)(np.array([[0, 3]])),
     ("0 <= values < num_tokens with num_tokens=3. Received values from 0 "
      "to 3")),
    (lambda: layers.IntegerLookup(invert=True, output_mode="count"),
     "must be `'int'` when `invert`"),
    (lambda: layers.IntegerLookup()(np.array([[1]])), "has no vocabulary"),
    (lambda: layers.Discretization(num_bins=3)(np.array([[1.0]])),
     "has no bin boundaries"),
    (lambda: layers.EinsumDense("...b,bc->...c", output_shape=3),
     'with "..." are not supported'),
    (lambda: layers.EinsumDense("ab,bc->ac", output_shape=(3, 4)),
     "`output_shape` must give 1 sizes"),
    (lambda: layers.RandomFlip("diagonal"), "unknown mode"),
    (lambda: layers.RandomFlip()(np.ones((2, 3), "float32")),
     "expects images of rank 3"),
    (lambda: layers.RandomContrast(1.5), "in the range"),
    (lambda: layers.RandomRotation(0.1, fill_mode="mirror"),
     "unknown `fill_mode`"),
    (lambda: layers.RandomZoom(1.5), "in the range"),
    (lambda: layers.Wrapper("dense"), "must be a keras Layer"),
    (lambda: layers.TextVectorization(output_mode="tf_idf",
                                      vocabulary=["a"]),
     "`idf_weights` argument must also be provided"),
    (lambda: layers.StringLookup(num_oov_indices=-1),
     "num_oov_indices=-1"),
    (lambda: layers.TextVectorization()(np.array(["a"])), "has no vocabulary"),
    (lambda: layers.deserialize("Dense"), "expects a dict config"),
])
def test_errors_name_the_argument(make, match):
    with pytest.raises((ValueError, TypeError, NotImplementedError),
                       match=match):
        make()


def test_bidirectional_and_time_distributed_are_wrappers():
    assert issubclass(layers.Bidirectional, layers.Wrapper)
    assert isinstance(layers.TimeDistributed(layers.Dense(2)), layers.Wrapper)


# --- tutorial shapes -------------------------------------------------------------


def test_tutorial_one_feature_normalization_regression():
    # TF's regression tutorial: Normalization(input_shape=[1], axis=None)
    # adapted on a 1-D array, first layer of a Sequential
    hp = RNG.normal(100, 30, size=(40,)).astype("float32")
    mpg = (50 - 0.1 * hp).astype("float32")
    norm = layers.Normalization(input_shape=[1], axis=None)
    norm.adapt(hp)
    model = keras.Sequential([norm, layers.Dense(1)])
    model.compile(keras.optimizers.Adam(0.1), "mean_absolute_error")
    hist = model.fit(hp[:, None], mpg, epochs=3, verbose=0).history["loss"]
    assert hist[-1] < hist[0]
    k, b = model.layers[1].get_weights()
    want = (hp[:5, None] - hp.mean()) / hp.std() @ k + b
    np.testing.assert_allclose(model.predict(hp[:5, None], verbose=0), want,
                               rtol=1e-4, atol=1e-4)


def test_tutorial_nested_augmentation_is_identity_at_inference():
    # TF's image classification tutorial: a Sequential of augmentation
    # layers as the first layer of the model
    aug = keras.Sequential([
        layers.RandomFlip("horizontal", input_shape=(8, 8, 3)),
        layers.RandomRotation(0.1), layers.RandomZoom(0.1)])
    model = keras.Sequential([aug, layers.Rescaling(1 / 255),
                              layers.Conv2D(2, 3, activation="relu"),
                              layers.Flatten(), layers.Dense(3)])
    model.compile("adam", keras.losses.SparseCategoricalCrossentropy(
        from_logits=True))
    x = RNG.uniform(0, 255, (12, 8, 8, 3)).astype("float32")
    model.fit(x, RNG.integers(0, 3, 12), epochs=1, verbose=0)
    rest = keras.Sequential([keras.Input((8, 8, 3))] + model.layers[1:])
    np.testing.assert_allclose(model.predict(x, verbose=0),
                               rest.predict(x, verbose=0), rtol=1e-5,
                               atol=1e-5)


def test_training_resolves_as_keras_3():
    # Keras 3: the training flag given, else an outer call's, else call()'s
    # default: True for image augmentation, so a direct call (keras.io's
    # `for layer in augmentation_layers: images = layer(images)`) augments,
    # and so does model(x); predict passes False, fit True
    x = _images()
    flip = layers.RandomFlip("horizontal", seed=4)
    direct = np.asarray(flip(x))
    assert not np.array_equal(direct, x)
    model = keras.Sequential([keras.Input(x.shape[1:]),
                              layers.RandomFlip("horizontal", seed=4),
                              layers.Dropout(0.5, seed=1)])
    assert not np.array_equal(np.asarray(model(x)), x)  # flipped, no dropout
    np.testing.assert_array_equal(model.predict(x, verbose=0), x)
    np.testing.assert_array_equal(np.asarray(model(x, training=False)), x)
    # Dropout's own default (False) still holds in a direct call
    np.testing.assert_array_equal(np.asarray(layers.Dropout(0.5)(x)), x)
