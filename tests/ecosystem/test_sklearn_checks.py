"""scikit-learn's own estimator checks on the three wrappers."""

import numpy as np
import pytest

pytest.importorskip("sklearn")

from sklearn.utils.estimator_checks import parametrize_with_checks  # noqa: E402

import graphkeras as keras  # noqa: E402
from graphkeras.wrappers import (  # noqa: E402
    SKLearnClassifier,
    SKLearnRegressor,
    SKLearnTransformer,
)


def dynamic_model(X, y, loss, layers=(10,), activation=None, run_eagerly=True):
    """A small MLP sized from the data, as Keras 3's own test builds."""
    inputs = keras.Input((X.shape[1],))
    h = inputs
    for units in layers:
        h = keras.layers.Dense(units, activation="relu")(h)
    outputs = keras.layers.Dense(y.shape[1], activation=activation)(h)
    model = keras.Model(inputs, outputs)
    model.compile(optimizer="adam", loss=loss, run_eagerly=run_eagerly)
    return model


# Keras 3's own test expects 9 failures (7 for the classifier, and it runs
# fewer checks: its estimators declare themselves non-deterministic and
# single-output). Here one check is left, for each estimator:
_SW_EQUIVALENCE = (
    "the models train in float32: weighted and repeated fits agree to "
    "~3e-6, the check asks rtol=1e-7 (and minibatch losses average over "
    "the batch, so the two fits match only through Adam's scale "
    "invariance)"
)
EXPECTED_FAILED_CHECKS = {
    "SKLearnClassifier": {
        "check_sample_weight_equivalence_on_dense_data": _SW_EQUIVALENCE},
    "SKLearnRegressor": {
        "check_sample_weight_equivalence_on_dense_data": _SW_EQUIVALENCE},
    "SKLearnTransformer": {
        "check_sample_weight_equivalence_on_dense_data": _SW_EQUIVALENCE},
}



def _numpy_matmul_batch_invariant() -> bool:
    """Whether NumPy's BLAS gives a row of x @ w the same value whatever
    the number of rows multiplied with it. OpenBLAS's Haswell kernels (an
    AVX2-only host) do not: a row can come out one ulp apart in a batch of
    20 and in a batch of 10."""
    rng = np.random.default_rng(0)
    for k, n in ((4, 10), (10, 1), (10, 10), (16, 3), (64, 10)):
        w = rng.standard_normal((k, n)).astype(np.float32)
        x = rng.standard_normal((20, k)).astype(np.float32)
        for size in (1, 3, 10):
            parts = np.concatenate([x[i:i + size] @ w
                                    for i in range(0, 20, size)])
            if not np.array_equal(parts, x @ w):
                return False
    return True


if not _numpy_matmul_batch_invariant():
    # The estimators below predict on the reference interpreter, which
    # multiplies with NumPy's BLAS; the compiled estimators must pass this
    # check on every host (test_compiled_estimator_checks runs it).
    for _checks in EXPECTED_FAILED_CHECKS.values():
        _checks["check_methods_subset_invariance"] = (
            "this host's NumPy BLAS rounds a row differently by batch size "
            "(the reference interpreter's products)")


ESTIMATORS = [
    SKLearnClassifier(
        model=dynamic_model,
        model_kwargs={"loss": "categorical_crossentropy", "layers": (16,),
                      "activation": "softmax"},
        fit_kwargs={"epochs": 5, "verbose": 0},
        random_state=0,
    ),
    SKLearnRegressor(
        model=dynamic_model, model_kwargs={"loss": "mse"},
        fit_kwargs={"epochs": 1, "verbose": 0}, random_state=0,
    ),
    SKLearnTransformer(
        model=dynamic_model, model_kwargs={"loss": "mse"},
        fit_kwargs={"epochs": 1, "verbose": 0}, random_state=0,
    ),
]


@parametrize_with_checks(
    ESTIMATORS,
    expected_failed_checks=lambda e: EXPECTED_FAILED_CHECKS[type(e).__name__],
)
def test_sklearn_estimator_checks(estimator, check):
    check(estimator)


# The checks above run the models on the reference interpreter (they fit
# ~150 tiny models: compiling each would take minutes). The checks where
# compiled code could differ (determinism, pickling through the .keras
# format, batch-size-independent predictions, training) run compiled too.
_COMPILED = [
    SKLearnClassifier(
        model=dynamic_model,
        model_kwargs={"loss": "categorical_crossentropy", "layers": (16,),
                      "activation": "softmax", "run_eagerly": False},
        fit_kwargs={"epochs": 3, "verbose": 0}, random_state=0),
    SKLearnRegressor(
        model=dynamic_model,
        model_kwargs={"loss": "mse", "run_eagerly": False},
        fit_kwargs={"epochs": 2, "verbose": 0}, random_state=0),
]


@pytest.mark.parametrize("estimator", _COMPILED,
                         ids=lambda e: type(e).__name__)
@pytest.mark.parametrize("check", [
    "check_fit_idempotent", "check_estimators_pickle",
    "check_methods_subset_invariance", "check_methods_sample_order_invariance",
    "check_supervised_y_2d", "check_train"])
def test_compiled_estimator_checks(estimator, check):
    from sklearn.utils import estimator_checks

    if check == "check_train":
        check = ("check_classifiers_train" if isinstance(
            estimator, SKLearnClassifier) else "check_regressors_train")
    getattr(estimator_checks, check)(type(estimator).__name__, estimator)
