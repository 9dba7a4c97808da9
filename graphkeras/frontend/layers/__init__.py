import sys as _sys

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
from .preprocessing_audio import MelSpectrogram, STFTSpectrogram
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
    "MaxPooling1D", "MaxPooling2D", "MaxPooling3D", "MelSpectrogram",
    "Rescaling", "Resizing", "STFTSpectrogram",
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
from .augmentation_color import (
    AutoContrast,
    ContrastLimitedAdaptiveHistogramEqualization,
    Equalization,
    MaxNumBoundingBoxes,
    RandomColorDegeneration,
    RandomColorJitter,
    RandomGrayscale,
    RandomHue,
    RandomInvert,
    RandomPosterization,
    RandomSaturation,
    RandomSharpness,
    Solarization,
)
from .augmentation_mix import (
    AugMix,
    CutMix,
    MixUp,
    Pipeline,
    RandAugment,
    RandomElasticTransform,
    RandomErasing,
    RandomGaussianBlur,
    RandomPerspective,
    RandomShear,
)
from .base_wrapper import Wrapper
from .einsum_dense import EinsumDense, RMSNormalization
from .preprocessing_tabular import (
    CategoryEncoding,
    Discretization,
    IntegerLookup,
    Normalization,
)
from .preprocessing_hashing import HashedCrossing, Hashing
from .preprocessing_text import StringLookup, TextVectorization

__all__ += [
    "CategoryEncoding", "CenterCrop", "Discretization", "EinsumDense",
    "HashedCrossing", "Hashing", "IntegerLookup", "Normalization", "RMSNormalization", "RandomBrightness",
    "RandomContrast", "RandomCrop", "RandomFlip", "RandomRotation",
    "RandomTranslation", "RandomZoom", "StringLookup", "TextVectorization",
    "Wrapper",
]
__all__ += [
    "AutoContrast", "ContrastLimitedAdaptiveHistogramEqualization",
    "Equalization", "MaxNumBoundingBoxes", "RandomColorDegeneration",
    "RandomColorJitter", "RandomGrayscale", "RandomHue", "RandomInvert",
    "RandomPosterization", "RandomSaturation", "RandomSharpness",
    "Solarization",
]
__all__ += [
    "AugMix", "CutMix", "MixUp", "Pipeline", "RandAugment",
    "RandomElasticTransform", "RandomErasing", "RandomGaussianBlur",
    "RandomPerspective", "RandomShear",
]

# Keras 3's alternative names (the same classes)
AvgPool1D = AveragePooling1D
AvgPool2D = AveragePooling2D
AvgPool3D = AveragePooling3D
MaxPool1D = MaxPooling1D
MaxPool2D = MaxPooling2D
MaxPool3D = MaxPooling3D
GlobalAvgPool1D = GlobalAveragePooling1D
GlobalAvgPool2D = GlobalAveragePooling2D
GlobalAvgPool3D = GlobalAveragePooling3D
GlobalMaxPool1D = GlobalMaxPooling1D
GlobalMaxPool2D = GlobalMaxPooling2D
GlobalMaxPool3D = GlobalMaxPooling3D
Convolution1D = Conv1D
Convolution2D = Conv2D
Convolution3D = Conv3D
Convolution1DTranspose = Conv1DTranspose
Convolution2DTranspose = Conv2DTranspose
Convolution3DTranspose = Conv3DTranspose
SeparableConvolution1D = SeparableConv1D
SeparableConvolution2D = SeparableConv2D


def _family_namespace() -> dict:
    """The layers family (frontend/families.py): this package's names, and
    the public classes and functions of its loaded submodules (rnn,
    attention, ...: the public graphkeras.layers imports them), read live."""
    out = {}
    prefix = __name__ + "."
    for name, module in list(_sys.modules.items()):
        if name.startswith(prefix) and module is not None:
            for k, v in vars(module).items():
                if not k.startswith("_") and getattr(v, "__module__",
                                                     None) == name:
                    out.setdefault(k, v)
    out.update({k: v for k, v in globals().items() if not k.startswith("_")})
    return out


# the family serialization finds its objects in (frontend/families.py)
from ..families import register_family as _register_family  # noqa: E402

_register_family("layers", "keras.layers", Layer, _family_namespace)
