from .core import Activation, Dense, Dropout, Flatten, Identity, OpLayer, Reshape
from .input_layer import Input, InputLayer
from .input_spec import InputSpec
from .layer import Layer

__all__ = ["Activation", "Dense", "Dropout", "Flatten", "Identity", "Input",
           "InputLayer", "InputSpec", "Layer", "OpLayer", "Reshape"]
