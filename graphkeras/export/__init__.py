"""graphkeras.export: writing programs in other formats (ONNX).

The exporter reads only the IR (`graphkeras.ir`); it knows nothing of
layers or LLVM. The Keras-level entry points (`model.export(...)`) call
into it with the model's inference Function and weights.
"""

from .onnx import (
    DEFAULT_OPSET,
    MAX_OPSET,
    MIN_OPSET,
    ExportError,
    export_function,
    save_function,
)

__all__ = [
    "DEFAULT_OPSET",
    "MAX_OPSET",
    "MIN_OPSET",
    "ExportError",
    "export_function",
    "save_function",
]
