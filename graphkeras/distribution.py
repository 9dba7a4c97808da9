"""graphkeras.distribution: data-parallel training on MPI ranks
(docs/distributed.md)."""

from .frontend.distribution import (  # noqa: F401
    DataParallel,
    DeviceMesh,
    Distribution,
    ModelParallel,
    distribution,
    initialize,
    list_devices,
    process_count,
    process_index,
    set_distribution,
)
from .frontend.distribution import __all__  # noqa: F401
