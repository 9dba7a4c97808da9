"""The op functions layers are written with (`graphkeras.ops` reads them
from here), one module per Keras 3 namespace:

    core.py    dispatch (arrays, traced tensors, KerasTensors), dtype rules,
               conversions, cast
    numpy.py   elementwise math, reductions, shapes, creation, sorting
    nn.py      activations, losses as ops, normalizations, attention, conv
               and pooling
    math.py    logsumexp, top_k, segment reductions, erfinv
    linalg.py  norm, solve, inv, det, cholesky for small static matrices
    image.py   resize, patches, padding and cropping, colour spaces (the
               module is `ops.image`)

Modules import downward in that order (core < numpy < nn < math, linalg <
image). This package's namespace holds every function each module defines
(the private helpers other frontend modules call, such as `_apply`,
included); `__all__` lists the public ones.
"""

from . import core, numpy, nn, math, linalg, image  # noqa: I001  (ladder order)

_MODULES = (core, numpy, nn, math, linalg, image)


def _defined_in(module) -> dict:
    """The functions `module` defines itself (not those it imports)."""
    return {k: v for k, v in vars(module).items()
            if not k.startswith("__") and callable(v)
            and getattr(v, "__module__", None) == module.__name__}


for _module in _MODULES:
    globals().update(_defined_in(_module))
# Keras's names; numpy.py defines them as any_ / all_ (there they would
# shadow the builtins it uses)
any, all = numpy.any_, numpy.all_  # noqa: A001
__all__ = sorted([k for m in _MODULES for k in _defined_in(m)
                  if not k.startswith("_")] + ["all", "any"])
del _module
