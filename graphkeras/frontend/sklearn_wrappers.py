"""scikit-learn estimators around graphkeras models, as `keras.wrappers`.

`SKLearnClassifier`, `SKLearnRegressor` and `SKLearnTransformer` take a
compiled model, or a callable building one from `X`, `y` and
`model_kwargs`, and make it a scikit-learn estimator: `clone`, `Pipeline`,
`GridSearchCV`, `cross_val_score` and joblib's worker processes work (a
fitted estimator pickles through the `.keras` format, saving/pickling.py).

Beyond Keras 3: a `random_state` parameter (default None, Keras's
behaviour). With an integer, building and fitting the model run with every
random source of graphkeras seeded by it (random.seeded_scope), so two fits
give the same weights bit for bit and the estimator declares itself
deterministic to scikit-learn. Keras's `fit_kwargs` are kept by `clone`,
and `warm_start=True` goes on training the fitted model (Keras 3 documents
both but drops them).

Importing this module imports scikit-learn; `graphkeras.wrappers` imports
it on first use, so `import graphkeras` never needs scikit-learn.
"""

from __future__ import annotations

import contextlib

import numpy as np

try:
    from sklearn.base import (
        BaseEstimator,
        ClassifierMixin,
        RegressorMixin,
        TransformerMixin,
    )
    from sklearn.utils.multiclass import (
        check_classification_targets,
        type_of_target,
    )
    from sklearn.utils.validation import (
        check_is_fitted,
        column_or_1d,
        validate_data,
    )
except ImportError as e:  # pragma: no cover - depends on the environment
    raise ImportError(
        "graphkeras.wrappers needs scikit-learn >= 1.6, which is not "
        f"installed ({e}). Install the extra: pip install "
        "'graphkeras[sklearn]' (or pip install scikit-learn)."
    ) from None

from .random import seeded_scope


def _check_model(model) -> None:
    if not getattr(model, "compiled", False) or not model.loss or \
            not model.optimizer:
        raise RuntimeError(
            "Given model needs to be compiled, and have a loss and an "
            f"optimizer. Received: model {getattr(model, 'name', model)!r} "
            f"with compiled={getattr(model, 'compiled', False)}, "
            f"loss={getattr(model, 'loss', None)!r}."
        )


def _check_sample_weight(sample_weight, n: int) -> np.ndarray:
    sw = np.asarray(sample_weight, dtype="float64")
    if sw.ndim == 0:
        sw = np.full(n, float(sw))
    if sw.shape != (n,):
        raise ValueError(
            f"sample_weight.shape == {sw.shape}, expected {(n,)} (one weight "
            "per sample)."
        )
    if not np.all(np.isfinite(sw)):
        raise ValueError("sample_weight holds NaN or infinite values.")
    if not np.any(sw):
        raise ValueError(
            "Sample weights must contain at least one non-zero number. "
            "Received: all of the sample_weight are zero."
        )
    return sw


class SKLBase(BaseEstimator):
    """Base class of the scikit-learn wrappers.

    Args:
        model: a compiled `Model`, or a callable returning one. A `Model`
            is cloned (`keras.models.clone_model`, fresh weights, same
            compile configuration) before each fit unless
            `warm_start=True`. A callable is called as
            `model(X=X, y=y, **model_kwargs)`, with `y` as the model sees
            it (one-hot for a classifier, 2-D for the others).
        warm_start: bool (False). True reuses the fitted model (or the
            given `Model` itself on the first fit) and goes on training it.
        model_kwargs: dict of keyword arguments for a callable `model`.
        fit_kwargs: dict of keyword arguments for `model.fit` (epochs,
            batch_size, verbose, ...); those given to `fit()` take
            precedence.
        random_state: int or None (None). An int seeds every random
            source of graphkeras while the model is built and fitted
            (initial weights, dropout, shuffling), so fits are
            reproducible; None draws from the global state, as Keras.

    Attributes:
        model_: the fitted `Model`.
        history_: dict, the `History.history` of the last fit.
        n_features_in_: number of features seen in fit.
    """

    def __init__(self, model, warm_start=False, model_kwargs=None,
                 fit_kwargs=None, random_state=None):
        self.model = model
        self.warm_start = warm_start
        self.model_kwargs = model_kwargs
        self.fit_kwargs = fit_kwargs
        self.random_state = random_state

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.non_deterministic = self.random_state is None
        return tags

    @property
    def epoch_(self) -> int:
        """The number of epochs of the last fit."""
        return len(getattr(self, "history_", {}).get("loss", []))

    def _scope(self):
        if self.random_state is None:
            return contextlib.nullcontext()
        return seeded_scope(int(self.random_state))

    def _get_model(self, X, y):
        from .models.model import Model

        if self.warm_start and hasattr(self, "model_"):
            return self.model_
        if isinstance(self.model, Model):
            if self.warm_start:
                return self.model
            _check_model(self.model)
            from .saving.cloning import clone_model

            model = clone_model(self.model)
            model.compile_from_config(self.model.get_compile_config())
            return model
        if not callable(self.model):
            raise TypeError(
                f"{type(self).__name__} expects `model` to be a compiled "
                "Model or a callable returning one. Received: "
                f"model={self.model!r}"
            )
        return self.model(X=X, y=y, **(self.model_kwargs or {}))

    def _validate_fit(self, X, y):
        return validate_data(self, X, y, reset=True, multi_output=True,
                             y_numeric=not isinstance(self, ClassifierMixin))

    def fit(self, X, y, sample_weight=None, **kwargs):
        """Fit the model to `X`, `y`.

        Args:
            X: array-like of shape (n_samples, n_features).
            y: array-like of shape (n_samples,) or (n_samples, n_outputs).
            sample_weight: optional array of shape (n_samples,).
            **kwargs: passed to `model.fit`, over `fit_kwargs`.

        Returns:
            self.
        """
        X, y = self._validate_fit(X, y)
        if sample_weight is not None:
            sample_weight = _check_sample_weight(sample_weight, len(X))
        y = self._process_target(y, reset=True, sample_weight=sample_weight)
        fit_kwargs = dict(self.fit_kwargs or {})
        fit_kwargs.update(kwargs)
        if sample_weight is not None:
            fit_kwargs["sample_weight"] = sample_weight
        with self._scope():
            model = self._get_model(X, y)
            _check_model(model)
            history = model.fit(X, y, **fit_kwargs)
        self.model_ = model
        self.history_ = dict(history.history)
        return self

    def _predict_raw(self, X):
        check_is_fitted(self)
        X = validate_data(self, X, reset=False)
        verbose = (self.fit_kwargs or {}).get("verbose", "auto")
        return np.asarray(self.model_.predict(X, verbose=verbose))

    def predict(self, X):
        """The model's predictions for `X`, in the shape of the targets."""
        return self._reverse_process_target(self._predict_raw(X))

    def _process_target(self, y, reset=False, sample_weight=None):
        # regressors and transformers: 1-D targets become one column
        type_of_target(y, raise_unknown=True)
        if reset:
            self._y_ndim = np.ndim(y)
        return y.reshape(-1, 1) if np.ndim(y) == 1 else y

    def _reverse_process_target(self, y):
        if self._y_ndim == 1 and y.ndim == 2 and y.shape[1] == 1:
            return y[:, 0]
        return y


class SKLearnClassifier(ClassifierMixin, SKLBase):
    """A scikit-learn classifier around a graphkeras model.

    The targets are one-hot encoded over `classes_` for the model (whose
    output should be a softmax over `len(classes_)` units, trained with
    `categorical_crossentropy`); `predict` returns the class of the
    largest output, `predict_proba` the outputs.

    Args: as `SKLBase` (model, warm_start, model_kwargs, fit_kwargs,
        random_state).

    Attributes:
        model_, history_, n_features_in_, and `classes_`: the class labels.

    Example:

    ```python
    import graphkeras as keras
    from graphkeras.wrappers import SKLearnClassifier
    from sklearn.datasets import load_iris

    def make_model(X, y, hidden=16):
        inputs = keras.Input((X.shape[1],))
        h = keras.layers.Dense(hidden, activation="relu")(inputs)
        outputs = keras.layers.Dense(y.shape[1], activation="softmax")(h)
        model = keras.Model(inputs, outputs)
        model.compile(optimizer="adam", loss="categorical_crossentropy")
        return model

    X, y = load_iris(return_X_y=True)
    clf = SKLearnClassifier(make_model, fit_kwargs={"epochs": 5,
                                                    "verbose": 0})
    clf.fit(X, y).score(X, y)
    ```
    """

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.poor_score = True
        return tags

    def _process_target(self, y, reset=False, sample_weight=None):
        check_classification_targets(y)
        target_type = type_of_target(y, raise_unknown=True)
        if target_type not in ("binary", "multiclass"):
            raise ValueError(
                "Only binary and multiclass target types are supported. "
                f"Target type: {target_type}"
            )
        y = column_or_1d(y, warn=True)
        if reset:
            self.classes_ = np.unique(y)
            present = self.classes_
            if sample_weight is not None:
                # a class whose samples all weigh 0 is not there to learn
                present = np.unique(y[sample_weight > 0])
            if len(present) < 2:
                raise ValueError(
                    "Classifier can't train when only one class is present "
                    f"(with a positive sample weight). Received: classes "
                    f"{present.tolist()} in y."
                )
        index = np.searchsorted(self.classes_, y)
        onehot = np.zeros((len(y), len(self.classes_)), dtype="float32")
        onehot[np.arange(len(y)), index] = 1.0
        return onehot

    def _reverse_process_target(self, y):
        return self.classes_[np.argmax(y, axis=-1)]

    def predict_proba(self, X):
        """Class probabilities (the model's outputs) for `X`, shape
        (n_samples, n_classes)."""
        return self._predict_raw(X)


class SKLearnRegressor(RegressorMixin, SKLBase):
    """A scikit-learn regressor around a graphkeras model.

    Targets of shape (n_samples,) reach the model as one column and come
    back from `predict` as they went in; `score` is R².

    Args: as `SKLBase` (model, warm_start, model_kwargs, fit_kwargs,
        random_state).

    Example:

    ```python
    import graphkeras as keras
    from graphkeras.wrappers import SKLearnRegressor
    from sklearn.datasets import load_diabetes

    def make_model(X, y):
        inputs = keras.Input((X.shape[1],))
        outputs = keras.layers.Dense(y.shape[1])(inputs)
        model = keras.Model(inputs, outputs)
        model.compile(optimizer="adam", loss="mse")
        return model

    X, y = load_diabetes(return_X_y=True)
    SKLearnRegressor(make_model, fit_kwargs={"verbose": 0}).fit(X, y)
    ```
    """

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.regressor_tags.poor_score = True
        tags.target_tags.multi_output = True
        return tags

    def predict(self, X):
        """The model's predictions for `X` in float64 (as scikit-learn's
        regressors give), in the shape of the targets."""
        return super().predict(X).astype("float64")


class SKLearnTransformer(TransformerMixin, SKLBase):
    """A scikit-learn transformer around a graphkeras model: `fit` trains
    the model on `X`, `y`; `transform(X)` returns the model's outputs (an
    embedding step in a Pipeline, say).

    Args: as `SKLBase` (model, warm_start, model_kwargs, fit_kwargs,
        random_state).

    Example:

    ```python
    from sklearn.pipeline import make_pipeline
    from sklearn.linear_model import LogisticRegression
    from graphkeras.wrappers import SKLearnTransformer

    pipe = make_pipeline(SKLearnTransformer(make_model), LogisticRegression())
    ```
    """

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = []
        tags.target_tags.multi_output = True
        return tags

    def transform(self, X):
        """The model's outputs for `X`, shape (n_samples, n_outputs)."""
        return self._predict_raw(X)


__all__ = ["SKLearnClassifier", "SKLearnRegressor", "SKLearnTransformer"]
