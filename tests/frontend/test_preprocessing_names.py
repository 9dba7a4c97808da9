"""graphkeras.preprocessing has keras.preprocessing's names (Keras 3);
TimeseriesDataset.take as tf.data's; a string Input is refused by the
layer it feeds, with the NumPy-side pattern."""

import numpy as np
import pytest

import graphkeras as keras


def test_preprocessing_names_as_keras3():
    # keras 3.15: image, sequence, timeseries_dataset_from_array and the
    # image / text *_dataset_from_directory
    p = keras.preprocessing
    assert p.timeseries_dataset_from_array is \
        keras.utils.timeseries_dataset_from_array
    for name in ("image_dataset_from_directory",
                 "text_dataset_from_directory"):
        assert getattr(p, name) is getattr(keras.utils, name)
    assert callable(keras.utils.audio_dataset_from_directory)
    assert p.sequence.pad_sequences is keras.utils.pad_sequences
    for name in ("array_to_img", "img_to_array", "load_img", "save_img"):
        assert getattr(p.image, name) is getattr(keras.utils, name)


def test_timeseries_take_as_tf_data():
    data = np.arange(40, dtype="float32").reshape(20, 2)
    ds = keras.preprocessing.timeseries_dataset_from_array(
        data, np.arange(20), sequence_length=3, batch_size=4)
    batches = list(ds.take(1))
    assert len(batches) == 1
    x, y = batches[0]
    np.testing.assert_array_equal(x, ds[0][0])
    np.testing.assert_array_equal(y, [0, 1, 2, 3])
    assert len(ds.take(2)) == 2 and len(ds.take(-1)) == len(ds)
    assert len(ds.take(100)) == len(ds)


def test_string_input_refused_naming_the_layer():
    inp = keras.Input(shape=(1,), dtype="string")
    with pytest.raises(ValueError, match='Layer "dense_str" .*string input'):
        keras.layers.Dense(2, name="dense_str")(inp)
    lookup = keras.layers.StringLookup(vocabulary=["a", "b"])
    ids = lookup(inp)  # a host layer at the front of a model
    assert ids.shape == (None, 1) and ids.dtype == "int64"
    # the NumPy-side pattern works
    ids = lookup(np.array([["a"], ["b"], ["c"]]))
    np.testing.assert_array_equal(np.asarray(ids).ravel(), [1, 2, 0])
