"""graphkeras.wrappers: scikit-learn estimators around models, as
`keras.wrappers` (SKLearnClassifier, SKLearnRegressor, SKLearnTransformer).

scikit-learn is an optional dependency (`pip install 'graphkeras[sklearn]'`):
it is imported when one of these names is first used, not on import.
"""

_NAMES = ("SKLearnClassifier", "SKLearnRegressor", "SKLearnTransformer")


def __getattr__(name):
    if name in _NAMES:
        import importlib

        module = importlib.import_module(".frontend.sklearn_wrappers",
                                         __package__)
        return getattr(module, name)
    raise AttributeError(f"module 'graphkeras.wrappers' has no attribute "
                         f"{name!r}")


def __dir__():
    return sorted(_NAMES)


__all__ = list(_NAMES)
