"""The image augmentation layers of Keras 3.15 (colour, histogram, mixing,
warping, RandAugment, AugMix, Pipeline): a .keras file written by Keras 3
loads and predicts Keras's numbers; in training, with the draws pinned,
each layer computes Keras's numbers; with free draws, each keeps Keras's
semantics (ranges, identities, per-image draws, seeds), compiled as
interpreted.

Keras 3's numbers come from fixtures/keras_augmentation.keras and
fixtures/keras_augmentation.npz, written by
fixtures/make_keras_augmentation.py under /work/venv-peers (Keras is never
imported here). Config / file / ONNX round trips of default samples run
table-driven in tests/saving/test_registry_round_trips.py.
"""

import os

import numpy as np
import pytest

import graphkeras as keras
from graphkeras import layers as L
from graphkeras.frontend.layers.augmentation_mix import shear

HERE = os.path.dirname(os.path.abspath(__file__))
F = np.load(os.path.join(HERE, "fixtures", "keras_augmentation.npz"))
IMG = F["img"]
CF = np.transpose(IMG, (0, 3, 1, 2))
X01 = IMG / 255.0
TOL = {"rtol": 1e-5, "atol": 2e-4}  # values up to 255


def _close(got, want):
    np.testing.assert_allclose(np.asarray(got), want, **TOL)


# --- a Keras 3 file ----------------------------------------------------------


@pytest.fixture(scope="module")
def keras_model():
    return keras.saving.load_model(
        os.path.join(HERE, "fixtures", "keras_augmentation.keras"))


def test_keras3_file_predicts_keras_numbers(keras_model):
    pred = keras_model.predict(IMG, verbose=0)
    for name in F["branches"]:
        _close(pred[str(name)], F[f"predict_{name}"])


def test_keras3_file_layers_round_trip_their_configs(keras_model):
    seen = set()
    for layer in keras_model.layers[1:]:
        config = layer.get_config()
        again = type(layer).from_config(config)
        assert again.get_config() == config, type(layer).__name__
        seen.add(type(layer).__name__)
    assert len(seen) >= 22  # every new class but Equalization (see below)


# --- training, with Keras's draws pinned -------------------------------------

PINNED = {
    "equalization": lambda: (L.Equalization(), IMG),
    "equalization_01_bins64": lambda: (
        L.Equalization(value_range=(0, 1), bins=64), X01),
    "equalization_cf": lambda: (L.Equalization(data_format="channels_first"),
                                CF),
    "solarization_default": lambda: (L.Solarization(), IMG),
    "solarization_01": lambda: (L.Solarization(value_range=(0, 1)), X01),
    "posterization_3": lambda: (L.RandomPosterization(factor=(3, 3)), IMG),
    "posterization_01": lambda: (L.RandomPosterization(
        factor=(5, 5), value_range=(0, 1)), X01),
    "sharpness_0": lambda: (L.RandomSharpness(factor=(0.0, 0.0)), IMG),
    "sharpness_08": lambda: (L.RandomSharpness(factor=(0.8, 0.8)), IMG),
    "sharpness_cf": lambda: (L.RandomSharpness(
        factor=(0.1, 0.1), data_format="channels_first"), CF),
    "degeneration_03": lambda: (L.RandomColorDegeneration(factor=(0.3, 0.3)),
                                IMG),
    "degeneration_cf": lambda: (L.RandomColorDegeneration(
        factor=(0.6, 0.6), data_format="channels_first"), CF),
    "saturation_07": lambda: (L.RandomSaturation(factor=(0.7, 0.7)), IMG),
    "saturation_02": lambda: (L.RandomSaturation(factor=(0.2, 0.2)), X01),
    "saturation_cf": lambda: (L.RandomSaturation(
        factor=(0.8, 0.8), data_format="channels_first"), CF),
    "invert_always": lambda: (L.RandomInvert(factor=(1.0, 1.0)), IMG),
    "grayscale_always": lambda: (L.RandomGrayscale(factor=1.0), IMG),
    "grayscale_cf": lambda: (L.RandomGrayscale(
        factor=1.0, data_format="channels_first"), CF),
    "gaussian_blur": lambda: (L.RandomGaussianBlur(
        factor=(1.0, 1.0), kernel_size=3, sigma=(0.8, 0.8)), IMG),
    "gaussian_blur_5": lambda: (L.RandomGaussianBlur(
        factor=(1.0, 1.0), kernel_size=5, sigma=(0.6, 0.6)), IMG),
    "erasing_none": lambda: (L.RandomErasing(factor=(0.0, 0.0)), IMG),
    "mix_up_unbatched": lambda: (L.MixUp(), IMG[0]),
}


@pytest.mark.parametrize("case", sorted(PINNED))
def test_training_with_pinned_draws_equals_keras3(case):
    layer, data = PINNED[case]()
    _close(layer(data, training=True), F[f"train_{case}"])
    # and a direct call is a training call, as in Keras 3
    _close(layer(data), F[f"train_{case}"])


def test_inference_layers_in_other_formats_equal_keras3():
    _close(L.AutoContrast(data_format="channels_first")(CF),
           F["cf_auto_contrast"])
    _close(L.ContrastLimitedAdaptiveHistogramEqualization(
        tile_grid_size=(2, 4), data_format="channels_first")(CF),
        F["cf_clahe"])
    _close(L.AutoContrast()(IMG[0]), F["single_auto_contrast"])
    _close(L.ContrastLimitedAdaptiveHistogramEqualization(
        tile_grid_size=(2, 2))(IMG[0]), F["single_clahe"])
    # predict passes Equalization through (Keras 3.15 equalizes only in
    # training)
    np.testing.assert_array_equal(L.Equalization()(IMG, training=False), IMG)


@pytest.mark.parametrize("sign", ["pos", "neg"])
def test_hue_turn_and_shear_equal_keras3(sign):
    s = 1.0 if sign == "pos" else -1.0
    hue = L.RandomHue(factor=(0.6, 0.6))
    _close(hue._turn(IMG, np.full((3,), 0.3 * s, "float32")),
           F[f"hue_06_{sign}"])
    _close(shear(IMG, np.full((3, 1), 0.25 * s, "float32"),
                 np.full((3, 1), 0.1 * s, "float32"), "bilinear",
                 "constant", 9.0, "channels_last"), F[f"shear_{sign}"])


# --- training semantics with free draws --------------------------------------

RNG = np.random.default_rng(3)
BATCH = RNG.uniform(0, 255, (6, 8, 8, 3)).astype("float32")


def _run(layer, x=BATCH):
    return np.asarray(layer(x, training=True))


def test_identities_at_factor_zero_and_inference():
    for layer in [L.RandomColorDegeneration(factor=(0.0, 0.0)),
                  L.RandomSharpness(factor=(0.5, 0.5)),
                  L.RandomInvert(factor=(0.0, 0.0)),
                  L.RandomGrayscale(factor=0.0),
                  L.RandomShear(0.0, 0.0),
                  L.RandomErasing(factor=(0.0, 0.0)),
                  L.RandomGaussianBlur(factor=(0.0, 0.0)),
                  L.RandomPerspective(factor=(0.0, 0.0)),
                  L.RandomElasticTransform(factor=(0.0, 0.0)),
                  L.MixUp(alpha=1.0), L.CutMix(), L.RandAugment(),
                  L.AugMix(num_chains=1, chain_depth=1)]:
        np.testing.assert_array_equal(layer(BATCH, training=False), BATCH)
        if "MixUp" in type(layer).__name__ or "CutMix" in \
                type(layer).__name__ or "Aug" in type(layer).__name__:
            continue
        np.testing.assert_allclose(_run(layer), BATCH, rtol=1e-5, atol=1e-3,
                                   err_msg=type(layer).__name__)
    # keeping all 8 bits only truncates to integers (the uint8 cast)
    np.testing.assert_array_equal(_run(L.RandomPosterization(factor=(8, 8))),
                                  np.floor(BATCH))
    # the hue turned by up to half a turn is the same image at factor 0
    np.testing.assert_allclose(_run(L.RandomHue(factor=0.0)), BATCH,
                               atol=1e-3)


def test_color_draws_are_per_image_and_in_range():
    gray = _run(L.RandomGrayscale(factor=0.5, seed=3))
    is_gray = np.all(np.ptp(gray, axis=-1) < 1e-3, axis=(1, 2))
    untouched = np.all(gray == BATCH, axis=(1, 2, 3))
    assert np.all(is_gray | untouched) and is_gray.any()
    inv = _run(L.RandomInvert(factor=0.9, seed=1))
    flipped = np.all(np.isclose(inv, 255.0 - BATCH), axis=(1, 2, 3))
    assert np.all(flipped | np.all(inv == BATCH, axis=(1, 2, 3)))
    for layer in [L.RandomHue(0.8, seed=1), L.RandomSaturation(0.9, seed=1),
                  L.RandomColorDegeneration(1.0, seed=1),
                  L.RandomSharpness(1.0, seed=1),
                  L.RandomColorJitter(brightness_factor=0.5,
                                      contrast_factor=0.5,
                                      saturation_factor=0.5, hue_factor=0.5,
                                      seed=1),
                  L.Solarization(0.5, 0.5, seed=2),
                  L.RandAugment(num_ops=3, seed=1),
                  L.AugMix(num_chains=2, chain_depth=2, seed=1)]:
        out = _run(layer)
        assert out.shape == BATCH.shape
        assert out.min() >= -1e-3 and out.max() <= 255.001, layer.name
        assert not np.allclose(out, BATCH), layer.name
    post = _run(L.RandomPosterization(factor=(3, 6), seed=1))
    steps = [np.all(np.mod(p, 2 ** (8 - b)) == 0) for p in post
             for b in (3, 4, 5)]
    assert np.asarray(steps).reshape(6, 3).any(axis=1).all()


def test_mixing_layers_take_pixels_from_the_batch():
    cut = _run(L.CutMix(seed=5))
    from_batch = np.any(cut[:, None] == BATCH[None], axis=1)
    assert from_batch.all() and not np.array_equal(cut, BATCH)
    mix = _run(L.MixUp(alpha=0.5, seed=5))
    # each image is w x + (1 - w) x[j] for one j and one w in [0, 1]
    for i in range(6):
        fits = []
        for j in range(6):
            d = BATCH[i] - BATCH[j]
            if not d.any():
                fits.append(np.allclose(mix[i], BATCH[i], atol=1e-3))
                continue
            w = np.sum((mix[i] - BATCH[j]) * d) / np.sum(d * d)
            fits.append(-1e-4 <= w <= 1 + 1e-4 and np.allclose(
                mix[i], BATCH[j] + w * d, atol=1e-2))
        assert any(fits), i
    erased = _run(L.RandomErasing(factor=(1.0, 1.0), fill_value=3.0,
                                  seed=5))
    changed = erased != BATCH
    assert np.all(erased[changed] == 3.0) and changed.any()


def test_warps_keep_shapes_values_and_seeds():
    for make in [lambda: L.RandomShear(0.3, 0.3, seed=4),
                 lambda: L.RandomPerspective(scale=0.5, seed=4),
                 lambda: L.RandomElasticTransform(seed=4),
                 lambda: L.RandomGaussianBlur(kernel_size=5, seed=4)]:
        a, b = _run(make()), _run(make())
        np.testing.assert_array_equal(a, b)  # the same seed
        assert a.min() >= -1e-3 and a.max() <= 255.001
        assert not np.allclose(a, BATCH)
        one = np.asarray(make()(BATCH[0], training=True))
        assert one.shape == BATCH[0].shape
        cf = np.asarray(make().__class__.from_config(
            {**make().get_config(), "data_format": "channels_first"})(
                np.transpose(BATCH, (0, 3, 1, 2)), training=True))
        assert cf.shape == (6, 3, 8, 8)


def test_perspective_homography_maps_the_corners():
    from graphkeras.frontend.ops.image import _homography as homography
    start = np.array([[[0, 0], [7, 0], [0, 7], [7, 7]]], "float32")
    end = start + np.array([[[1, 0.5], [-1, 1], [0.5, -0.5], [-1, -1]]],
                           "float32")
    t = np.asarray(homography(start, end))[0]
    for (sx, sy), (ex, ey) in zip(start[0], end[0]):
        k = t[6] * ex + t[7] * ey + 1
        assert np.isclose((t[0] * ex + t[1] * ey + t[2]) / k, sx, atol=1e-4)
        assert np.isclose((t[3] * ex + t[4] * ey + t[5]) / k, sy, atol=1e-4)


def test_augmented_model_trains_compiled_as_interpreted():
    x = BATCH[:4] / 255.0
    y = RNG.normal(size=(4, 1)).astype("float32")
    results = []
    for eager in (True, False):
        keras.utils.set_random_seed(0)
        model = keras.Sequential([
            keras.Input((8, 8, 3)),
            L.Pipeline([L.RandomGrayscale(seed=1),
                        L.RandomHue(0.3, value_range=(0, 1), seed=2),
                        L.RandomSaturation(0.3, value_range=(0, 1), seed=3),
                        L.RandomSharpness(0.4, value_range=(0, 1), seed=4)]),
            L.Solarization(0.1, 0.5, value_range=(0, 1), seed=5),
            L.RandomShear(0.2, 0.1, seed=6),
            L.MixUp(seed=7), L.CutMix(seed=8),
            L.RandomErasing(seed=9, value_range=(0, 1)),
            L.RandomGaussianBlur(seed=10, value_range=(0, 1)),
            L.Equalization(value_range=(0, 1)),
            L.AutoContrast(value_range=(0, 1)),
            L.Flatten(), L.Dense(1)])
        model.compile(keras.optimizers.SGD(0.1), "mse", run_eagerly=eager)
        model.fit(x, y, batch_size=4, epochs=2, shuffle=False, verbose=0)
        results.append((model.get_weights(), model.predict(x, verbose=0)))
    for a, b in zip(results[0][0], results[1][0]):
        np.testing.assert_allclose(a, b, rtol=1e-3, atol=1e-4)
    np.testing.assert_allclose(results[0][1], results[1][1], rtol=1e-3,
                               atol=1e-4)


def test_errors_name_the_argument():
    with pytest.raises(ValueError, match="factor=1.5"):
        L.RandomGrayscale(factor=1.5)
    with pytest.raises(ValueError, match="kernel_size=4"):
        L.RandomGaussianBlur(kernel_size=4)
    with pytest.raises(ValueError, match="value_range=3"):
        L.AutoContrast(value_range=3)
    with pytest.raises(NotImplementedError, match="fill_mode"):
        L.RandomShear(0.1, fill_mode="mirror")
    with pytest.raises(ValueError, match="scale=2"):
        L.RandomPerspective(scale=2)


def test_policies_train_compiled_as_interpreted():
    """RandAugment and AugMix choose their operations with draws in the
    compiled step: the compiled fit follows the interpreted one."""
    x = BATCH[:4] / 255.0
    y = RNG.normal(size=(4, 1)).astype("float32")
    weights = []
    for eager in (True, False):
        keras.utils.set_random_seed(0)
        model = keras.Sequential([
            keras.Input((8, 8, 3)),
            L.RandAugment(value_range=(0, 1), num_ops=1, seed=1),
            L.AugMix(value_range=(0, 1), num_chains=1, chain_depth=1,
                     seed=2),
            L.Flatten(), L.Dense(1)])
        model.compile(keras.optimizers.SGD(0.1), "mse", run_eagerly=eager)
        model.fit(x, y, batch_size=2, epochs=2, shuffle=False, verbose=0)
        weights.append(model.get_weights())
    for a, b in zip(*weights):
        np.testing.assert_allclose(a, b, rtol=1e-3, atol=1e-4)


def test_dict_inputs_mix_labels_with_the_images():
    ident = np.eye(6, dtype="float32")  # image i has its own class i
    out = L.MixUp(alpha=0.5, seed=3)({"images": BATCH, "labels": ident})
    labels = np.asarray(out["labels"])
    np.testing.assert_allclose(labels.sum(axis=1), 1.0, rtol=1e-5)
    # one-hot labels: each mixed image is its labels' blend of the batch
    np.testing.assert_allclose(
        np.asarray(out["images"]).reshape(6, -1),
        labels @ BATCH.reshape(6, -1), rtol=1e-4, atol=1e-2)
    out = L.CutMix(seed=3)({"images": BATCH, "labels": ident})
    labels, images = np.asarray(out["labels"]), np.asarray(out["images"])
    np.testing.assert_allclose(labels.sum(axis=1), 1.0, rtol=1e-5)
    for i in range(6):
        sources = np.flatnonzero(labels[i] > 1e-6)
        assert i in sources or labels[i, i] == 0
        match = np.any([images[i] == BATCH[j] for j in sources], axis=0)
        assert match.all()
    # a colour layer passes the labels through; boxes are refused
    out = L.RandomHue(0.3, seed=1)({"images": BATCH, "labels": ident})
    np.testing.assert_array_equal(out["labels"], ident)
    with pytest.raises(NotImplementedError, match="bounding_boxes"):
        L.RandomHue(0.3)({"images": BATCH, "bounding_boxes": ident})


def test_random_shear_config_is_one_keras3_reads_back():
    # Keras 3 writes x_factor=0.2 as [-0.2, 0.2] and cannot load that;
    # graphkeras reads it, and writes the number (Keras reads it back)
    layer = L.RandomShear.from_config({"x_factor": [-0.2, 0.2],
                                       "y_factor": [0.1, 0.3]})
    config = layer.get_config()
    assert config["x_factor"] == 0.2 and list(config["y_factor"]) == [0.1,
                                                                      0.3]
    assert L.RandomShear.from_config(config).x_factor == (-0.2, 0.2)


def test_pipeline_of_old_and_new_layers_takes_a_dict():
    ident = np.eye(6, dtype="float32")
    pipe = L.Pipeline([L.RandomFlip(seed=1), L.RandomRotation(0.1, seed=2),
                       L.RandomHue(0.2, seed=3), L.MixUp(seed=4)])
    out = pipe({"images": BATCH, "labels": ident}, training=True)
    labels = np.asarray(out["labels"])
    assert out["images"].shape == BATCH.shape
    np.testing.assert_allclose(labels.sum(axis=1), 1.0, rtol=1e-5)
    assert not np.allclose(labels, ident)
    with pytest.raises(NotImplementedError, match="segmentation_masks"):
        L.RandomFlip()({"images": BATCH, "segmentation_masks": BATCH})
