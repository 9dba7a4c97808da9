"""image_dataset_from_directory, text_dataset_from_directory and
audio_dataset_from_directory against Keras 3 (fixture made by
fixtures/make_keras_directory_datasets.py): the same files in the same
order, class names, labels, validation splits, printed messages, and the
same decoded / resized images, texts and clips; the datasets train a
model and support take / map / prefetch; errors."""

import contextlib
import io
import json
import os

import numpy as np
import pytest

import graphkeras as keras

HERE = os.path.dirname(os.path.abspath(__file__))
FIX = np.load(os.path.join(HERE, "fixtures", "keras_directory_datasets.npz"))
META = json.loads(FIX["meta"].tobytes().decode())
FUNCS = {"image": keras.utils.image_dataset_from_directory,
         "text": keras.utils.text_dataset_from_directory,
         "audio": keras.utils.audio_dataset_from_directory}


@pytest.fixture(scope="module")
def tree(tmp_path_factory):
    root = tmp_path_factory.mktemp("dirs")
    for i, name in enumerate(META["files"]):
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(FIX[f"file_{i}"].tobytes())
    return root


def _ours(tree, case):
    root = str(tree / case["dir"])
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        result = FUNCS[case["kind"]](root, **case["kwargs"])
    parts = result if isinstance(result, list) else [result]
    return parts, printed.getvalue(), root


def _batches(ds):
    xs, ys = [], []
    for item in ds:
        if isinstance(item, tuple):
            xs.append(np.asarray(item[0]))
            ys.append(np.asarray(item[1]))
        else:
            xs.append(np.asarray(item))
    return xs, ys


@pytest.mark.parametrize("k", range(len(META["cases"])),
                         ids=lambda k: f"{k}-{META['cases'][k]['kind']}")
def test_keras_case(tree, k):
    case = META["cases"][k]
    if case["dir"] == "jpg":
        pytest.importorskip("PIL", reason="JPEG needs the `images` extra")
    parts, printed, root = _ours(tree, case)
    assert printed == case["printed"]
    assert len(parts) == len(case["parts"])
    shuffled = case["kwargs"].get("shuffle", True)
    for j, (ds, ref) in enumerate(zip(parts, case["parts"])):
        assert ds.class_names == ref["class_names"]
        assert len(ds) == ref["batches"]
        if ref["file_paths"]:
            assert [os.path.relpath(p, root) for p in ds.file_paths] == \
                ref["file_paths"]
        xs, ys = _batches(ds)
        kx = [FIX[f"c{k}_p{j}_x{b}"] for b in range(ref["batches"])]
        ky = [FIX[f"c{k}_p{j}_y{b}"] for b in range(len(ys))
              if f"c{k}_p{j}_y{b}" in FIX]
        assert len(ys) == len(ky)
        # JPEG: Pillow's decoder and TensorFlow's upsample chroma a little
        # differently (a few levels of 255)
        atol = 8.0 if case["dir"] == "jpg" else 1e-3
        if case["kwargs"].get("interpolation") == "bicubic":
            # ops.image.resize's cubic weights (JAX's) differ from
            # tf.image.resize's by a fraction of a level of 255
            atol = 0.5
        if shuffled and j == 0:
            # tf.data's buffer shuffle is not reproduced: the same samples
            # with the same labels, in another order
            def key(x, y):
                x = np.asarray(x)
                v = str(x) if x.dtype.kind == "U" else round(
                    float(np.sum(x)), 1)
                return v, tuple(np.ravel(y))

            ours = sorted(key(x, y) for bx, by in zip(xs, ys)
                          for x, y in zip(bx, by))
            theirs = sorted(key(x, y) for bx, by in zip(kx, ky)
                            for x, y in zip(bx, by))
            assert [t[1] for t in ours] == [t[1] for t in theirs]
            if isinstance(ours[0][0], str):
                assert ours == theirs
            else:
                np.testing.assert_allclose([t[0] for t in ours],
                                           [t[0] for t in theirs], atol=0.2)
            continue
        for x, ref_x in zip(xs, kx):
            assert x.shape == ref_x.shape
            if ref_x.dtype.kind == "U":
                assert x.tolist() == ref_x.tolist()
            else:
                assert x.dtype == ref_x.dtype
                np.testing.assert_allclose(x.astype("float64"),
                                           ref_x.astype("float64"),
                                           atol=atol, rtol=1e-5)
        for y, ref_y in zip(ys, ky):
            assert y.dtype == ref_y.dtype
            np.testing.assert_array_equal(y, ref_y)


def test_images_train_a_model_and_tf_data_helpers(tree):
    ds = keras.utils.image_dataset_from_directory(
        str(tree / "img"), image_size=(8, 8), batch_size=4, seed=1,
        verbose=False)
    first = list(ds.take(1))
    assert len(first) == 1 and first[0][0].shape == (4, 8, 8, 3)
    rest = ds.skip(1)
    assert len(rest) == 2 and len(ds.skip(5)) == 0
    np.testing.assert_array_equal(rest[0][0], ds[1][0])
    np.testing.assert_array_equal(ds.skip(1).take(1)[0][1], ds[1][1])
    scaled = ds.map(lambda x, y: (x / 255.0, y)).prefetch(2)
    x0, _ = scaled[0]
    assert float(x0.max()) <= 1.0
    model = keras.Sequential([
        keras.Input((8, 8, 3)), keras.layers.Conv2D(2, 3),
        keras.layers.GlobalAveragePooling2D(), keras.layers.Dense(3)])
    model.compile("adam", keras.losses.SparseCategoricalCrossentropy(
        from_logits=True))
    hist = model.fit(scaled, epochs=2, verbose=0)
    assert len(hist.history["loss"]) == 2
    assert model.predict(scaled, verbose=0).shape == (12, 3)
    # each epoch reshuffles (tf.data's reshuffle_each_iteration)
    orders = set()
    for _ in range(4):
        orders.add(tuple(int(v) for _, y in ds for v in y))
    assert len(orders) > 1


def test_texts_feed_text_vectorization(tree):
    ds = keras.utils.text_dataset_from_directory(
        str(tree / "txt"), batch_size=8, shuffle=False, verbose=False)
    texts, labels = ds[0]
    # keras.io prints batches with tf.Tensor's .numpy()
    assert isinstance(texts.numpy()[0], str) and texts.numpy().shape == (7,)
    assert type(labels.numpy()) is np.ndarray
    vec = keras.layers.TextVectorization(output_mode="multi_hot")
    vec.adapt(texts)
    assert vec(texts).shape[0] == len(labels) == 7
    # keras.io's pattern: adapt on the dataset's texts, batch by batch
    small = keras.utils.text_dataset_from_directory(
        str(tree / "txt"), batch_size=2, shuffle=False, verbose=False)
    by_batch = keras.layers.TextVectorization(output_mode="multi_hot")
    by_batch.adapt(small.map(lambda x, y: x))
    assert by_batch.get_vocabulary() == vec.get_vocabulary()
    lookup = keras.layers.StringLookup()
    lookup.adapt(small)  # (texts, labels) batches: the texts
    assert set(lookup.get_vocabulary()[1:]) == set(texts.tolist())


def test_errors(tree, monkeypatch):
    f = keras.utils.image_dataset_from_directory
    with pytest.raises(ValueError, match="must provide a `seed`"):
        f(str(tree / "img"), validation_split=0.2, subset="training")
    with pytest.raises(ValueError, match="`validation_split` must be set"):
        f(str(tree / "img"), subset="training", seed=1)
    with pytest.raises(ValueError, match="color_mode=cmyk"):
        f(str(tree / "img"), color_mode="cmyk")
    with pytest.raises(ValueError, match="exactly 2 class_names"):
        f(str(tree / "img"), label_mode="binary", verbose=False)
    with pytest.raises(ValueError, match="did not match the names"):
        f(str(tree / "img"), class_names=["cats", "lions"])
    with pytest.raises(ValueError, match="len\\(labels\\) is 2 while we "
                       "found 13 files"):
        f(str(tree / "img"), labels=[0, 1], verbose=False)
    with pytest.raises(ValueError, match="No images found"):
        f(str(tree / "txt"), verbose=False)
    with pytest.raises(ValueError, match="interpolation=cubic"):
        f(str(tree / "img"), interpolation="cubic")
    # a Keras method ops.image.resize does not have
    with pytest.raises(ValueError, match="cannot resize with "
                       "interpolation=gaussian"):
        f(str(tree / "img"), interpolation="gaussian")
    import builtins

    real_import = builtins.__import__

    def no_pil(name, *args, **kwargs):
        if name == "PIL" or name.startswith("PIL."):
            raise ImportError("no PIL")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_pil)
    with pytest.raises(ImportError, match="graphkeras\\[images\\]"):
        f(str(tree / "jpg"), verbose=False)


@pytest.mark.parametrize("k", [0, 3, 4, 10, 11],
                         ids=lambda k: f"{k}-{META['cases'][k]['dir']}")
def test_png_without_pillow_matches_keras(tree, k, monkeypatch):
    # the stdlib PNG decoder (png.py) in place of Pillow: Keras's numbers
    import builtins

    real_import = builtins.__import__

    def no_pil(name, *args, **kwargs):
        if name == "PIL" or name.startswith("PIL."):
            raise ImportError("no PIL")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_pil)
    case = META["cases"][k]
    parts, _, _ = _ours(tree, case)
    xs, _ = _batches(parts[0])
    for b, x in enumerate(xs):
        np.testing.assert_allclose(x, FIX[f"c{k}_p0_x{b}"], atol=1e-3)


def test_png_decoder_against_pillow(tmp_path):
    # every color type and bit depth Pillow writes, with its filters
    Image = pytest.importorskip("PIL.Image")
    from graphkeras.frontend.utils import png

    rng = np.random.default_rng(0)
    smooth = np.add.outer(np.arange(23), np.arange(31)) * 5 % 256
    arrays = {
        "L": smooth.astype("uint8"),
        "RGB": np.stack([smooth, smooth[::-1], rng.integers(0, 256, (23, 31))],
                        -1).astype("uint8"),
        "RGBA": rng.integers(0, 256, (23, 31, 4)).astype("uint8"),
        "LA": rng.integers(0, 256, (23, 31, 2)).astype("uint8"),
    }
    images = [Image.fromarray(a, mode) for mode, a in arrays.items()]
    images.append(images[1].convert("P", palette=Image.ADAPTIVE, colors=17))
    images.append(images[0].convert("1"))
    pal = images[1].convert("P", palette=Image.ADAPTIVE, colors=5)
    pal.info["transparency"] = 2
    images.append(pal)
    for i, im in enumerate(images):
        for optimize in (False, True):
            path = tmp_path / f"{i}_{optimize}.png"
            save = {"transparency": 2} if i == len(images) - 1 else {}
            im.save(path, optimize=optimize, **save)
            with Image.open(path) as back:
                mode = back.mode
                want = np.asarray(back.convert(
                    "RGBA" if "A" in mode or "transparency" in back.info
                    else "RGB" if mode in ("P", "RGB") else "L"))
            got = png.decode_png(path.read_bytes(), str(path))
            if got.shape[2] == 2:
                got = png.to_channels(got, 4)
                want = np.asarray(Image.open(path).convert("RGBA"))
            got = got[:, :, 0] if want.ndim == 2 else got
            np.testing.assert_array_equal(got, want, err_msg=f"{i} {mode}")
    with pytest.raises(ValueError, match="PNG signature"):
        png.decode_png(b"GIF89a...", "x.png")
    data = (tmp_path / "0_False.png").read_bytes()
    with pytest.raises(ValueError, match="CRC|truncated"):
        png.decode_png(data[:-20], "cut.png")


def test_text_pipeline_vectorize_in_map_and_train(tree):
    # keras.io's text classification flow: adapt on the texts, vectorize
    # in map, train an Embedding model on the dataset of ids
    raw = keras.utils.text_dataset_from_directory(
        str(tree / "txt"), batch_size=3, validation_split=0.3,
        subset="training", seed=7, verbose=False)
    vec = keras.layers.TextVectorization(max_tokens=50,
                                         output_sequence_length=6)
    vec.adapt(raw.map(lambda x, y: x))
    train = raw.map(lambda x, y: (vec(x), y)).cache().prefetch(10)
    ids, labels = train[0]
    assert ids.shape[1] == 6 and ids.dtype == np.int64
    inp = keras.Input((6,), dtype="int64")
    h = keras.layers.GlobalAveragePooling1D()(
        keras.layers.Embedding(50, 4)(inp))
    model = keras.Model(inp, keras.layers.Dense(1, "sigmoid")(h))
    model.compile("adam", "binary_crossentropy")
    hist = model.fit(train, epochs=2, verbose=0)
    assert np.isfinite(hist.history["loss"]).all()
