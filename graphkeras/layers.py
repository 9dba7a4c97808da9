"""graphkeras.layers: the Keras layers (`from graphkeras.layers import Dense`)."""

from .frontend.layers import (  # noqa: F401
    Activation,
    AvgPool1D,
    AvgPool2D,
    AvgPool3D,
    Convolution1D,
    Convolution1DTranspose,
    Convolution2D,
    Convolution2DTranspose,
    Convolution3D,
    Convolution3DTranspose,
    Dense,
    Dropout,
    Flatten,
    GlobalAvgPool1D,
    GlobalAvgPool2D,
    GlobalAvgPool3D,
    GlobalMaxPool1D,
    GlobalMaxPool2D,
    GlobalMaxPool3D,
    Identity,
    Input,
    InputLayer,
    InputSpec,
    Layer,
    MaxPool1D,
    MaxPool2D,
    MaxPool3D,
    Reshape,
    SeparableConvolution1D,
    SeparableConvolution2D,
)
from .frontend.layers.activation_layers import (  # noqa: F401
    ELU,
    LeakyReLU,
    PReLU,
    ReLU,
    Softmax,
)
from .frontend.layers.adaptive_pooling import (  # noqa: F401
    AdaptiveAveragePooling1D,
    AdaptiveAveragePooling2D,
    AdaptiveAveragePooling3D,
    AdaptiveMaxPooling1D,
    AdaptiveMaxPooling2D,
    AdaptiveMaxPooling3D,
)
from .frontend.layers.attention import (  # noqa: F401
    AdditiveAttention,
    Attention,
    MultiHeadAttention,
)
from .frontend.layers.convolutional import (  # noqa: F401
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
from .frontend.layers.conv_lstm import (  # noqa: F401
    ConvLSTM1D,
    ConvLSTM2D,
    ConvLSTM3D,
)
from .frontend.layers.embedding import Embedding  # noqa: F401
from .frontend.layers.reversible_embedding import (  # noqa: F401
    ReversibleEmbedding,
)
from .frontend.layers.grouped_query_attention import (  # noqa: F401
    GroupQueryAttention,
)
from .frontend.layers.lambda_layer import Lambda  # noqa: F401
from .frontend.layers.masking import Masking  # noqa: F401
from .frontend.layers.merging import (  # noqa: F401
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
from .frontend.layers.normalization import (  # noqa: F401
    BatchNormalization,
    LayerNormalization,
    UnitNormalization,
)
from .frontend.layers.normalization_spatial import GroupNormalization  # noqa: F401
from .frontend.layers.pooling import (  # noqa: F401
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
from .frontend.layers.preprocessing import Rescaling, Resizing  # noqa: F401
from .frontend.layers.preprocessing_audio import (  # noqa: F401
    MelSpectrogram,
    STFTSpectrogram,
)
from .frontend.layers.regularization import (  # noqa: F401
    ActivityRegularization,
    AlphaDropout,
    GaussianDropout,
    GaussianNoise,
)
from .frontend.layers.regularization_spatial import (  # noqa: F401
    SpatialDropout1D,
    SpatialDropout2D,
    SpatialDropout3D,
)
from .frontend.layers.reshaping import Permute, RepeatVector  # noqa: F401
from .frontend.layers.reshaping_spatial import (  # noqa: F401
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
from .frontend.layers.rnn import (  # noqa: F401
    GRU,
    LSTM,
    RNN,
    GRUCell,
    LSTMCell,
    SimpleRNN,
    SimpleRNNCell,
    StackedRNNCells,
)
from .frontend.layers.spectral_normalization import (  # noqa: F401
    SpectralNormalization,
)
from .frontend.layers.wrappers import Bidirectional, TimeDistributed  # noqa: F401
from .frontend.layers.augmentation import (  # noqa: F401
    CenterCrop,
    RandomBrightness,
    RandomContrast,
    RandomCrop,
    RandomFlip,
)
from .frontend.layers.augmentation_affine import (  # noqa: F401
    RandomRotation,
    RandomTranslation,
    RandomZoom,
)
from .frontend.layers.augmentation_color import (  # noqa: F401
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
from .frontend.layers.augmentation_mix import (  # noqa: F401
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
from .frontend.layers.base_wrapper import Wrapper  # noqa: F401
from .frontend.layers.einsum_dense import (  # noqa: F401
    EinsumDense,
    RMSNormalization,
)
from .frontend.layers.layer_serialization import (  # noqa: F401
    deserialize,
    serialize,
)
from .frontend.layers.preprocessing_tabular import (  # noqa: F401
    CategoryEncoding,
    Discretization,
    IntegerLookup,
    Normalization,
)
from .frontend.layers.preprocessing_hashing import (  # noqa: F401
    HashedCrossing,
    Hashing,
)
from .frontend.layers.preprocessing_text import (  # noqa: F401
    StringLookup,
    TextVectorization,
)
