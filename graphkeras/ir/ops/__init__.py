"""The op definitions. Importing this package registers every op."""

from . import elementwise, index, linalg, nn, random, reduce, shape, source  # noqa: F401
from . import scan  # noqa: F401  (a loop over a body Function)
from . import fused  # noqa: F401  (kernels built by passes.fuse_elementwise)
from . import conv  # noqa: F401  (convolution, pooling, resizing)
from . import collective  # noqa: F401  (all_reduce_sum across ranks)
