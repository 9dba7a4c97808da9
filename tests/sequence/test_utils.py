"""pad_sequences and timeseries_dataset_from_array give Keras 3's results
(fixtures/keras_utils.npz, written by Keras 3 with
fixtures/make_keras_utils.py) and Keras's errors; the datasets load."""

import json
import os

import numpy as np
import pytest

import graphkeras as keras
from graphkeras.datasets import co2, names

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = np.load(os.path.join(HERE, "fixtures", "keras_utils.npz"))
META = json.loads(str(DATA["meta"]))
SEQS = json.loads(str(DATA["seqs"]))


@pytest.mark.parametrize("i", range(len(META["pad"])))
def test_pad_sequences_matches_keras(i):
    got = keras.utils.pad_sequences(SEQS, **META["pad"][i])
    want = DATA[f"pad{i}"]
    assert got.dtype == want.dtype
    np.testing.assert_array_equal(got, want)


def test_pad_sequences_of_vectors_matches_keras():
    vec = [np.ones((2,)) * k for k in range(4)]
    got = keras.utils.pad_sequences([vec, vec[:2]], maxlen=3, dtype="float32")
    np.testing.assert_array_equal(got, DATA["pad_vec"])


@pytest.mark.parametrize("kwargs, message", [
    ({"padding": "middle"}, 'Padding type "middle" not understood'),
    ({"truncating": "mid"}, 'Truncating type "mid" not understood'),
    ({"value": "x"}, "is not compatible with `value`'s type"),
])
def test_pad_sequences_errors(kwargs, message):
    with pytest.raises(ValueError, match=message):
        keras.utils.pad_sequences(SEQS, **kwargs)
    with pytest.raises(ValueError, match="Found non-iterable: 3"):
        keras.utils.pad_sequences([[1], 3])


@pytest.mark.parametrize("i", range(len(META["ts"])))
def test_timeseries_dataset_matches_keras(i):
    data = np.arange(50 * 2, dtype="float32").reshape(50, 2)
    targets = np.arange(50, dtype="int32") * 10
    kw = dict(META["ts"][i])
    t = targets if kw.pop("targets", False) else None
    ds = keras.utils.timeseries_dataset_from_array(data, t, **kw)
    n = sum(1 for k in DATA.files if k.startswith(f"ts{i}_") and
            k.endswith("_x"))
    assert len(ds) == n
    for j, batch in enumerate(ds):
        if t is None:
            np.testing.assert_array_equal(batch, DATA[f"ts{i}_{j}_x"])
        else:
            np.testing.assert_array_equal(batch[0], DATA[f"ts{i}_{j}_x"])
            np.testing.assert_array_equal(batch[1], DATA[f"ts{i}_{j}_y"])


def test_timeseries_shuffle_keeps_the_windows():
    data = np.arange(40, dtype="float32")
    plain = keras.utils.timeseries_dataset_from_array(data, None, 4,
                                                      batch_size=None)
    mixed = keras.utils.timeseries_dataset_from_array(
        data, None, 4, batch_size=5, shuffle=True, seed=3)
    got = np.concatenate(list(mixed))
    want = np.stack(list(plain))
    assert not np.array_equal(got, want)
    assert sorted(map(tuple, got)) == sorted(map(tuple, want))


@pytest.mark.parametrize("kwargs, message", [
    ({"start_index": -1}, "`start_index` must be 0 or greater"),
    ({"start_index": 20}, "`start_index` must be lower than the length"),
    ({"end_index": 20}, "`end_index` must be lower than the length"),
    ({"start_index": 5, "end_index": 3}, "must be higher than `start_index`"),
    ({"sampling_rate": 0}, "`sampling_rate` must be higher than 0"),
    ({"sequence_stride": 0}, "`sequence_stride` must be higher than 0"),
])
def test_timeseries_errors(kwargs, message):
    with pytest.raises(ValueError, match=message):
        keras.utils.timeseries_dataset_from_array(np.arange(20), None, 3,
                                                  **kwargs)


def test_datasets_load():
    (xt, yt), (xs, _ys) = names.load_data()
    assert len(xt) + len(xs) == 8008 and len(xs) == 1602
    assert set(np.unique(yt)) == {0, 1}
    index = names.get_char_index()
    assert xt[0] and all(1 <= c <= len(index) for s in xt[:50] for c in s)
    dates, values = co2.load_data()
    assert len(values) == 2284 and values.dtype == np.float32
    assert not np.isnan(values).any()
    assert 1958 < dates[0] < 1959 and 2001 < dates[-1] < 2002
    raw = co2.load_data(fill=False)[1]
    assert np.isnan(raw).sum() == 59
