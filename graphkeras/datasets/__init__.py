"""graphkeras.datasets: small datasets shipped inside the package."""

from . import co2, digits, names

__all__ = ["co2", "digits", "names"]
