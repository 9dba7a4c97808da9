"""graphkeras.ops: Keras 3's keras.ops, NumPy-like functions that compute
on arrays and record IR on symbolic tensors (defined in frontend/ops/),
with the namespaces ops.numpy, ops.nn, ops.linalg and ops.image made from
the Keras op table (frontend/saving/keras_ops.py)."""

import sys as _sys
import types as _types

from .frontend.ops import *  # noqa: F401,F403
from .frontend.ops import __all__ as _ALL
from .frontend.saving.keras_ops import namespace_names as _namespace_names


# CTC (frontend/ops/ctc.py, above the ops core: it loops with the
# recurrent layers' scan), in graphkeras.ops and graphkeras.ops.nn
from .frontend.ops.ctc import ctc_decode, ctc_loss  # noqa: E402,F401

# Gradients for custom steps (frontend/gradients.py): where Keras's JAX
# guide calls jax.value_and_grad / jax.grad; custom_gradient; linalg.jvp.
from .frontend.gradients import (  # noqa: E402,F401
    custom_gradient,
    grad,
    jvp,
    value_and_grad,
)


def _namespace(name: str) -> _types.ModuleType:
    """The submodule `graphkeras.ops.<name>` (as keras.ops.nn / numpy /
    linalg / image), importable by its dotted name."""
    module = _types.ModuleType(
        f"{__name__}.{name}",
        f"graphkeras.ops.{name}: the {name} functions of graphkeras.ops, "
        "under Keras 3's namespace.")
    g = globals()
    for n in _namespace_names(name):
        if n in g:
            setattr(module, n, g[n])
    _sys.modules[module.__name__] = module
    return module


nn = _namespace("nn")
linalg = _namespace("linalg")
numpy = _namespace("numpy")
image = _namespace("image")


# Control flow (frontend/ops/control.py: branches selected and loops
# unrolled in traced steps), outside the ops core's import cycle.
from .frontend.ops.control import (  # noqa: E402,F401
    associative_scan,
    cond,
    fori_loop,
    map,
    scan,
    switch,
    vectorized_map,
    while_loop,
)

__all__ = [*_ALL,
           "associative_scan", "cond", "ctc_decode", "ctc_loss",
           "custom_gradient", "fori_loop", "grad", "image", "jvp", "linalg",
           "map", "nn", "numpy", "scan", "switch", "value_and_grad",
           "vectorized_map", "while_loop"]
