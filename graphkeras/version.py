"""The graphkeras version (a leaf of the import ladder: the saving code and
the ONNX exporter read it without importing the public package)."""

__version__ = "0.1.0"
