"""graphkeras.datasets: small datasets shipped inside the package."""

from . import digits

__all__ = ["digits"]
