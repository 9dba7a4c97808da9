"""graphkeras.layers: the Keras layers (`from graphkeras.layers import Dense`)."""

from .frontend.layers import (  # noqa: F401
    Activation,
    Dense,
    Dropout,
    Flatten,
    Identity,
    Input,
    InputLayer,
    InputSpec,
    Layer,
    Reshape,
)
from .frontend.layers.activation_layers import (  # noqa: F401
    ELU,
    LeakyReLU,
    PReLU,
    ReLU,
    Softmax,
)
from .frontend.layers.attention import (  # noqa: F401
    AdditiveAttention,
    Attention,
    MultiHeadAttention,
)
from .frontend.layers.embedding import Embedding  # noqa: F401
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
from .frontend.layers.regularization import (  # noqa: F401
    ActivityRegularization,
    GaussianDropout,
    GaussianNoise,
)
from .frontend.layers.reshaping import Permute, RepeatVector  # noqa: F401
from .frontend.layers.rnn import (  # noqa: F401
    GRU,
    LSTM,
    RNN,
    GRUCell,
    LSTMCell,
    SimpleRNN,
    SimpleRNNCell,
)
from .frontend.layers.wrappers import Bidirectional, TimeDistributed  # noqa: F401
