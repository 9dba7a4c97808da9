"""keras.ops.image's warps, filters, resize methods, scale_and_translate
and extract_patches_3d against Keras 3 (JAX backend) numbers, eagerly and
compiled inside a model; a Keras 3 functional model calling them loads
and predicts Keras's numbers.

Keras's numbers come from fixtures/keras_image_ops.npz and
fixtures/keras_image_ops.keras, written by
fixtures/make_keras_image_ops.py under /work/venv-peers.
"""

import os

import numpy as np
import pytest

import graphkeras as keras
from graphkeras import ops

HERE = os.path.dirname(os.path.abspath(__file__))
F = np.load(os.path.join(HERE, "fixtures", "keras_image_ops.npz"))
IMG = F["img"]
CF = np.transpose(IMG, (0, 3, 1, 2))
I = ops.image
TOL = {"rtol": 1e-4, "atol": 1e-5}


def _close(got, want, **tol):
    np.testing.assert_allclose(np.asarray(got), want, **(tol or TOL))


def _compiled(fn, *arrays):
    """fn traced into a model over the batch of its first argument and
    run compiled (the others are constants of the model)."""
    inp = keras.Input(arrays[0].shape[1:])
    model = keras.Model(inp, fn(inp, *arrays[1:]))
    return model.predict(arrays[0], verbose=0)


MODES = ("constant", "nearest", "wrap", "mirror", "reflect")


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("interp", ["bilinear", "nearest"])
def test_affine_transform_equals_keras3(mode, interp):
    def fn(x, t):
        return I.affine_transform(x, t, interpolation=interp,
                                  fill_mode=mode, fill_value=0.5)
    _close(fn(IMG, F["affine_t"]), F[f"affine_{mode}_{interp}"])


def test_affine_and_perspective_compiled_equal_keras3():
    # one transform for every image of the (symbolic) batch
    _close(_compiled(lambda x: I.affine_transform(
        x, F["affine_t"][0], fill_mode="reflect"), IMG), F["affine_shared"])
    _close(_compiled(lambda x: I.perspective_transform(
        x, F["persp_start"], F["persp_end"][0]), IMG),
        F["perspective_shared"], rtol=1e-4, atol=1e-4)


def test_affine_and_perspective_formats_equal_keras3():
    t = F["affine_t"]
    _close(I.affine_transform(IMG[0], t[0]), F["affine_single"])
    _close(I.affine_transform(CF, t, data_format="channels_first"),
           F["affine_cf"])
    start = np.stack([F["persp_start"]] * 2)
    _close(I.perspective_transform(IMG, start, F["persp_end"],
                                   fill_value=0.25), F["perspective"],
           rtol=1e-4, atol=1e-4)
    _close(I.perspective_transform(IMG, start, F["persp_end"],
                                   interpolation="nearest"),
           F["perspective_nearest"])


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("order", [0, 1])
def test_map_coordinates_equals_keras3(mode, order):
    _close(I.map_coordinates(F["mc_arr2"], F["mc_coords2"], order,
                             fill_mode=mode, fill_value=-3.0),
           F[f"mc2_{mode}_{order}"])
    _close(I.map_coordinates(F["mc_arr3"], F["mc_coords3"], order,
                             fill_mode=mode), F[f"mc3_{mode}_{order}"])


def test_filters_equal_keras3():
    _close(I.gaussian_blur(IMG), F["blur_default"])
    _close(I.gaussian_blur(IMG, kernel_size=(5, 3), sigma=(1.5, 0.7)),
           F["blur_53"])
    _close(_compiled(lambda x: I.gaussian_blur(
        x, kernel_size=(5, 3), sigma=(1.5, 0.7)), IMG), F["blur_53"])
    _close(I.gaussian_blur(CF, kernel_size=(3, 5), sigma=(0.8, 1.2),
                           data_format="channels_first"), F["blur_cf"])
    _close(I.sobel_edges(IMG), F["sobel"])
    _close(_compiled(I.sobel_edges, IMG), F["sobel"])
    _close(I.sobel_edges(CF, data_format="channels_first"), F["sobel_cf"])
    other = F["ssim_other"]
    _close(I.ssim(IMG, other, filter_size=5), F["ssim"])
    _close(I.ssim(IMG[0], other[0], max_val=2.0, filter_size=3,
                  filter_sigma=1.0), F["ssim_single"])
    _close(I.ssim(CF, np.transpose(other, (0, 3, 1, 2)), filter_size=5,
                  data_format="channels_first"), F["ssim_cf"])


RESIZES = [(m, s, aa) for m in ("bilinear", "nearest", "bicubic",
                                "lanczos3", "lanczos5")
           for s in ((11, 5), (4, 13)) for aa in (0, 1)]


@pytest.mark.parametrize("method, size, aa", RESIZES)
def test_resize_methods_equal_keras3(method, size, aa):
    want = F[f"resize_{method}_{size[0]}x{size[1]}_{aa}"]
    _close(I.resize(IMG, size, interpolation=method, antialias=bool(aa)),
           want)
    if method in ("bicubic", "lanczos5") and aa:
        _close(_compiled(lambda x: I.resize(
            x, size, interpolation=method, antialias=True), IMG), want)


def test_resize_area_crop_and_layers():
    for size in ((11, 5), (4, 13), (3, 3)):
        _close(I.resize(IMG, size, interpolation="area"),
               F[f"resize_area_{size[0]}x{size[1]}"])
    _close(I.resize(IMG, (5, 5), interpolation="bicubic",
                    crop_to_aspect_ratio=True), F["resize_bicubic_crop"])
    layer = keras.layers.Resizing(4, 13, interpolation="lanczos3",
                                  antialias=True)
    _close(layer(IMG), F["resize_lanczos3_4x13_1"])
    _close(keras.utils.smart_resize(IMG[0], (11, 5),
                                    interpolation="bicubic"),
           np.asarray(I.resize(IMG[0], (11, 5), interpolation="bicubic",
                               crop_to_aspect_ratio=True)))
    assert keras.preprocessing.image.smart_resize is keras.utils.smart_resize
    with pytest.raises(ValueError, match="interpolation=cubic"):
        I.resize(IMG, (3, 3), interpolation="cubic")


@pytest.mark.parametrize("method", ["linear", "cubic", "lanczos3",
                                    "lanczos5"])
@pytest.mark.parametrize("aa", [0, 1])
def test_scale_and_translate_equals_keras3(method, aa):
    _close(I.scale_and_translate(IMG, (2, 10, 6, 3), scale=[1.4, 0.6],
                                 translation=[0.5, -1.0],
                                 spatial_dims=(1, 2), method=method,
                                 antialias=bool(aa)),
           F[f"sat_{method}_{aa}"])


def test_extract_patches_3d_equals_keras3():
    _close(I.extract_patches_3d(F["vol"], 2), F["patches3d"])
    _close(I.extract_patches_3d(F["vol"], (2, 3, 2), strides=(1, 2, 3)),
           F["patches3d_strided"])


def test_elastic_transform_is_a_smooth_random_warp():
    x = np.tile(np.linspace(0, 1, 9, dtype="float32"), (2, 7, 1))[..., None]
    a = np.asarray(I.elastic_transform(x, alpha=2.0, sigma=1.0, seed=3))
    b = np.asarray(I.elastic_transform(x, alpha=2.0, sigma=1.0, seed=3))
    np.testing.assert_array_equal(a, b)
    assert a.shape == x.shape and not np.allclose(a, x)
    assert a.min() >= -1e-6 and a.max() <= 1 + 1e-6  # reflect: inside
    np.testing.assert_allclose(
        I.elastic_transform(x, alpha=0.0, sigma=1.0, seed=3), x, atol=1e-6)


def test_keras3_model_of_image_ops_predicts_keras_numbers():
    model = keras.saving.load_model(
        os.path.join(HERE, "fixtures", "keras_image_ops.keras"))
    pred = model.predict(IMG, verbose=0)
    for k in ("blur", "sobel", "resize", "ssim"):
        _close(pred[k], F[f"model_{k}"])
