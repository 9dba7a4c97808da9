"""graphkeras.applications: Keras's ImageNet architectures, by Keras's
names and module paths (`from graphkeras.applications import ResNet50`,
`graphkeras.applications.resnet50.preprocess_input`).

    import graphkeras as keras
    base = keras.applications.MobileNetV2(
        weights=None, include_top=False, input_shape=(96, 96, 3))
"""

import importlib
import sys
import types

from .frontend import applications as _apps

__all__ = []


def _publish():
    # NOTE: each Keras module path is a module object registered in
    # sys.modules, so both `graphkeras.applications.resnet50.X` and
    # `from graphkeras.applications.resnet50 import X` work without one
    # stub file per Keras module
    for public, (ours, names) in _apps.MODULES.items():
        source = importlib.import_module(f"{_apps.__name__}.{ours}")
        module = types.ModuleType(f"{__name__}.{public}", source.__doc__)
        for n in names:
            setattr(module, n, getattr(source, n))
            if n[0].isupper():
                globals()[n] = getattr(source, n)
                if n not in __all__:
                    __all__.append(n)
        module.__all__ = list(names)
        sys.modules[module.__name__] = module
        globals()[public] = module
        __all__.append(public)


_publish()
