from .core import Activation, Dense, Dropout, Flatten, Identity, OpLayer, Reshape
from .input_layer import Input, InputLayer
from .input_spec import InputSpec
from .layer import Layer

__all__ = ["Activation", "Dense", "Dropout", "Flatten", "Identity", "Input",
           "InputLayer", "InputSpec", "Layer", "OpLayer", "Reshape"]
from .activation_layers import ELU, LeakyReLU, PReLU, ReLU, Softmax
from .convolutional import (
    Conv1D,
    Conv1DTranspose,
    Conv2D,
    Conv2DTranspose,
    Conv3D,
    Conv3DTranspose,
    DepthwiseConv1D,
    DepthwiseConv2D,
    SeparableConv1D,
    SeparableConv2D,
)
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
from .normalization_spatial import GroupNormalization
from .pooling import (
    AveragePooling1D,
    AveragePooling2D,
    AveragePooling3D,
    GlobalAveragePooling1D,
    GlobalAveragePooling2D,
    GlobalAveragePooling3D,
    GlobalMaxPooling1D,
    GlobalMaxPooling2D,
    GlobalMaxPooling3D,
    MaxPooling1D,
    MaxPooling2D,
    MaxPooling3D,
)
from .preprocessing import Rescaling, Resizing
from .regularization import (
    ActivityRegularization,
    AlphaDropout,
    GaussianDropout,
    GaussianNoise,
)
from .regularization_spatial import (
    SpatialDropout1D,
    SpatialDropout2D,
    SpatialDropout3D,
)
from .reshaping import Permute, RepeatVector
from .reshaping_spatial import (
    Cropping1D,
    Cropping2D,
    Cropping3D,
    UpSampling1D,
    UpSampling2D,
    UpSampling3D,
    ZeroPadding1D,
    ZeroPadding2D,
    ZeroPadding3D,
)

__all__ += [
    "ELU", "ActivityRegularization", "Add", "AlphaDropout", "Average", "BatchNormalization",
    "Concatenate", "Dot", "GaussianDropout", "GaussianNoise", "Lambda",
    "LayerNormalization", "LeakyReLU", "Maximum", "Minimum", "Multiply",
    "PReLU", "Permute", "ReLU", "RepeatVector", "Softmax", "Subtract",
    "UnitNormalization", "add", "average", "concatenate", "dot", "maximum",
    "minimum", "multiply", "subtract",
]

__all__ += [
    "AveragePooling1D", "AveragePooling2D", "AveragePooling3D", "Conv1D",
    "Conv1DTranspose", "Conv2D", "Conv2DTranspose", "Conv3D",
    "Conv3DTranspose", "Cropping1D", "Cropping2D", "Cropping3D",
    "DepthwiseConv1D", "DepthwiseConv2D", "GlobalAveragePooling1D",
    "GlobalAveragePooling2D", "GlobalAveragePooling3D", "GlobalMaxPooling1D",
    "GlobalMaxPooling2D", "GlobalMaxPooling3D", "GroupNormalization",
    "MaxPooling1D", "MaxPooling2D", "MaxPooling3D", "Rescaling", "Resizing",
    "SeparableConv1D", "SeparableConv2D", "SpatialDropout1D",
    "SpatialDropout2D", "SpatialDropout3D", "UpSampling1D", "UpSampling2D",
    "UpSampling3D", "ZeroPadding1D", "ZeroPadding2D", "ZeroPadding3D",
]

# preprocessing, augmentation and the Keras 3 layers added by h14
from .augmentation import (
    CenterCrop,
    RandomBrightness,
    RandomContrast,
    RandomCrop,
    RandomFlip,
)
from .augmentation_affine import RandomRotation, RandomTranslation, RandomZoom
from .base_wrapper import Wrapper
from .einsum_dense import EinsumDense, RMSNormalization
from .preprocessing_tabular import (
    CategoryEncoding,
    Discretization,
    IntegerLookup,
    Normalization,
)
from .preprocessing_text import StringLookup, TextVectorization

__all__ += [
    "CategoryEncoding", "CenterCrop", "Discretization", "EinsumDense",
    "IntegerLookup", "Normalization", "RMSNormalization", "RandomBrightness",
    "RandomContrast", "RandomCrop", "RandomFlip", "RandomRotation",
    "RandomTranslation", "RandomZoom", "StringLookup", "TextVectorization",
    "Wrapper",
]
