"""The scikit-learn wrappers on real data, compiled: clone, Pipeline,
cross_val_score, GridSearchCV and joblib with two worker processes."""

import copy
import pickle

import numpy as np
import pytest

pytest.importorskip("sklearn")

from joblib import Parallel, delayed  # noqa: E402
from sklearn.base import clone  # noqa: E402
from sklearn.datasets import load_diabetes, load_iris  # noqa: E402
from sklearn.model_selection import (  # noqa: E402
    GridSearchCV,
    cross_val_score,
)
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402

import graphkeras as keras  # noqa: E402
from graphkeras.wrappers import (  # noqa: E402
    SKLearnClassifier,
    SKLearnRegressor,
    SKLearnTransformer,
)


def make_classifier(X, y, hidden=16):
    inputs = keras.Input((X.shape[1],))
    h = keras.layers.Dense(hidden, activation="relu")(inputs)
    outputs = keras.layers.Dense(y.shape[1], activation="softmax")(h)
    model = keras.Model(inputs, outputs)
    model.compile(optimizer=keras.optimizers.Adam(0.05),
                  loss="categorical_crossentropy")
    return model


def make_regressor(X, y, units=None):
    inputs = keras.Input((X.shape[1],))
    outputs = keras.layers.Dense(units or y.shape[1])(inputs)
    model = keras.Model(inputs, outputs)
    model.compile(optimizer=keras.optimizers.Adam(0.1), loss="mse")
    return model


def _iris():
    X, y = load_iris(return_X_y=True)
    return StandardScaler().fit_transform(X), y


def _clf(**kw):
    kw.setdefault("fit_kwargs", {"epochs": 10, "verbose": 0})
    return SKLearnClassifier(make_classifier, random_state=0, **kw)


def _fit(est, X, y):
    return est.fit(X, y)


def test_classifier_learns_iris_and_is_reproducible():
    X, y = _iris()
    a, b = _clf().fit(X, y), _clf().fit(X, y)
    assert a.score(X, y) > 0.85
    assert list(a.classes_) == [0, 1, 2]
    assert a.predict_proba(X).shape == (150, 3)
    assert a.epoch_ == 10 and len(a.history_["loss"]) == 10
    for wa, wb in zip(a.model_.get_weights(), b.model_.get_weights()):
        np.testing.assert_array_equal(wa, wb)


def test_string_labels_come_back_as_labels():
    X, y = _iris()
    names = np.array(["setosa", "versicolor", "virginica"])[y]
    clf = _clf().fit(X, names)
    assert set(clf.predict(X)) <= set(names)
    assert (clf.predict(X) == names).mean() > 0.85


def test_clone_keeps_params_and_drops_fit():
    clf = _clf(model_kwargs={"hidden": 4}).fit(*_iris())
    twin = clone(clf)
    assert twin.get_params()["model_kwargs"] == {"hidden": 4}
    assert twin.get_params()["fit_kwargs"] == {"epochs": 10, "verbose": 0}
    assert not hasattr(twin, "model_")


def test_pickled_estimator_predicts_the_same():
    X, y = _iris()
    clf = _clf().fit(X, y)
    back = pickle.loads(pickle.dumps(clf))
    np.testing.assert_array_equal(back.predict_proba(X), clf.predict_proba(X))


def test_pipeline_and_cross_val_score():
    X, y = load_iris(return_X_y=True)
    pipe = make_pipeline(StandardScaler(), _clf())
    scores = cross_val_score(pipe, X, y, cv=3)
    assert scores.shape == (3,) and scores.mean() > 0.7


def test_grid_search_with_two_jobs_and_joblib_workers():
    X, y = _iris()
    search = GridSearchCV(
        _clf(), {"model_kwargs": [{"hidden": 2}, {"hidden": 16}]}, cv=2,
        n_jobs=2,
    )
    search.fit(X, y)
    assert search.best_params_ in ({"model_kwargs": {"hidden": 2}},
                                   {"model_kwargs": {"hidden": 16}})
    assert search.best_estimator_.score(X, y) > 0.8
    # fitted estimators made in worker processes come back through pickle
    # with exactly the weights of the same fit made here
    here = _clf().fit(X, y)
    there = Parallel(n_jobs=2)(delayed(_fit)(_clf(), X, y) for _ in range(2))
    for est in there:
        for a, b in zip(est.model_.get_weights(), here.model_.get_weights()):
            np.testing.assert_array_equal(a, b)


def test_model_instance_is_cloned_unless_warm_start():
    X, y = _iris()
    model = make_classifier(X, np.eye(3)[y])
    before = [w.copy() for w in model.get_weights()]
    clf = SKLearnClassifier(model, fit_kwargs={"epochs": 2, "verbose": 0})
    clf.fit(X, y)
    assert clf.model_ is not model
    for a, b in zip(before, model.get_weights()):
        np.testing.assert_array_equal(a, b)
    warm = SKLearnClassifier(model, warm_start=True,
                             fit_kwargs={"epochs": 2, "verbose": 0})
    warm.fit(X, y)
    assert warm.model_ is model
    it = int(np.asarray(model.optimizer.iterations.numpy()))
    warm.fit(X, y)  # goes on training the same model
    assert int(np.asarray(model.optimizer.iterations.numpy())) == 2 * it


def test_regressor_and_transformer():
    X, y = load_diabetes(return_X_y=True)
    y = (y - y.mean()) / y.std()
    reg = SKLearnRegressor(make_regressor, random_state=0,
                           fit_kwargs={"epochs": 20, "verbose": 0})
    reg.fit(X, y)
    pred = reg.predict(X)
    assert pred.shape == y.shape and pred.dtype == np.float64
    assert reg.score(X, y) > 0.3
    emb = SKLearnTransformer(make_regressor, model_kwargs={"units": 3},
                             fit_kwargs={"epochs": 1, "verbose": 0})
    out = emb.fit(X, np.stack([y] * 3, axis=1)).transform(X)
    assert out.shape == (len(X), 3)


def test_errors_name_the_problem():
    X, y = _iris()
    with pytest.raises(ValueError, match="Unknown label type"):
        _clf().fit(X, y + 0.5)
    with pytest.raises(ValueError, match="only one class"):
        _clf().fit(X, y, sample_weight=(y == 1).astype(float))

    def uncompiled(X, y):
        return keras.Sequential([keras.Input((4,)), keras.layers.Dense(3)])

    with pytest.raises(RuntimeError, match="needs to be compiled"):
        SKLearnClassifier(uncompiled).fit(X, y)


def test_deepcopy_of_unfitted_estimator_with_model():
    X, y = _iris()
    clf = SKLearnClassifier(make_classifier(X, np.eye(3)[y]))
    twin = copy.deepcopy(clf)
    assert twin.model is not clf.model
    assert twin.model.compiled


def test_without_sklearn_the_error_names_the_extra(monkeypatch):
    import sys

    for name in list(sys.modules):
        if name == "sklearn" or name.startswith("sklearn."):
            monkeypatch.setitem(sys.modules, name, None)
    monkeypatch.delitem(sys.modules, "graphkeras.frontend.sklearn_wrappers")
    with pytest.raises(ImportError, match=r"graphkeras\[sklearn\]"):
        keras.wrappers.SKLearnClassifier  # noqa: B018
