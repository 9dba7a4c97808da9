from .core import Activation, Dense, Dropout, Flatten, Identity, OpLayer, Reshape
from .input_layer import Input, InputLayer
from .input_spec import InputSpec
from .layer import Layer

__all__ = ["Activation", "Dense", "Dropout", "Flatten", "Identity", "Input",
           "InputLayer", "InputSpec", "Layer", "OpLayer", "Reshape"]
from .activation_layers import ELU, LeakyReLU, PReLU, ReLU, Softmax
from .lambda_layer import Lambda
from .merging import (
    Add,
    Average,
    Concatenate,
    Dot,
    Maximum,
    Minimum,
    Multiply,
    Subtract,
    add,
    average,
    concatenate,
    dot,
    maximum,
    minimum,
    multiply,
    subtract,
)
from .normalization import BatchNormalization, LayerNormalization, UnitNormalization
from .regularization import ActivityRegularization, GaussianDropout, GaussianNoise
from .reshaping import Permute, RepeatVector

__all__ += [
    "ELU", "ActivityRegularization", "Add", "Average", "BatchNormalization",
    "Concatenate", "Dot", "GaussianDropout", "GaussianNoise", "Lambda",
    "LayerNormalization", "LeakyReLU", "Maximum", "Minimum", "Multiply",
    "PReLU", "Permute", "ReLU", "RepeatVector", "Softmax", "Subtract",
    "UnitNormalization", "add", "average", "concatenate", "dot", "maximum",
    "minimum", "multiply", "subtract",
]
