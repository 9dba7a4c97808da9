"""graphkeras.utils: the names of keras.utils.

Data (to_categorical, normalize, pad_sequences, timeseries_dataset_from_array,
split_dataset, PyDataset / Sequence, pack / unpack_x_y_sample_weight), files
(get_file), models (get_source_inputs, model_to_dot, plot_model), custom
objects and serialization (as keras.saving), images (img_to_array; Pillow
for the others), and the session / logging switches.
"""

from .backend import clear_session, is_keras_tensor, standardize_dtype
from .config import (
    disable_interactive_logging,
    enable_interactive_logging,
    is_interactive_logging_enabled,
)
from .frontend.saving.object_registration import (
    CustomObjectScope,
    get_custom_objects,
    get_registered_name,
    get_registered_object,
    register_keras_serializable,
)
from .frontend.saving.serialization_lib import (
    deserialize_keras_object,
    serialize_keras_object,
)
from .frontend.layers.feature_space import FeatureSpace
from .frontend.utils import (
    Progbar,
    PyDataset,
    normalize,
    pad_sequences,
    set_random_seed,
    timeseries_dataset_from_array,
    to_categorical,
)
from .frontend.utils.dataset_utils import (
    pack_x_y_sample_weight,
    split_dataset,
    unpack_x_y_sample_weight,
)
from .frontend.utils.directory_datasets import (
    audio_dataset_from_directory,
    image_dataset_from_directory,
    text_dataset_from_directory,
)
from .frontend.utils.file_utils import get_file
from .frontend.utils.image_utils import (
    array_to_img,
    img_to_array,
    load_img,
    save_img,
    smart_resize,
)
from .frontend.utils.model_graph import get_source_inputs, model_to_dot, plot_model

custom_object_scope = CustomObjectScope
Sequence = PyDataset

__all__ = [
    "CustomObjectScope", "FeatureSpace", "Progbar", "PyDataset", "Sequence",
    "array_to_img", "audio_dataset_from_directory",
    "image_dataset_from_directory", "text_dataset_from_directory",
    "clear_session", "custom_object_scope", "deserialize_keras_object",
    "disable_interactive_logging", "enable_interactive_logging",
    "get_custom_objects", "get_file", "get_registered_name",
    "get_registered_object", "get_source_inputs", "img_to_array",
    "is_interactive_logging_enabled", "is_keras_tensor", "load_img",
    "model_to_dot", "normalize", "pack_x_y_sample_weight", "pad_sequences",
    "plot_model", "register_keras_serializable", "save_img",
    "serialize_keras_object", "set_random_seed", "smart_resize",
    "split_dataset",
    "standardize_dtype", "timeseries_dataset_from_array", "to_categorical",
    "unpack_x_y_sample_weight",
]
