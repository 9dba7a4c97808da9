"""graphkeras.preprocessing: the names of keras.preprocessing (Keras 3).

`timeseries_dataset_from_array`, `image_dataset_from_directory`,
`text_dataset_from_directory`, and the submodules `image`
(array_to_img, img_to_array, load_img, save_img) and `sequence`
(pad_sequences). The same functions as in graphkeras.utils.
"""

from ..frontend.utils import timeseries_dataset_from_array
from ..frontend.utils.directory_datasets import (
    image_dataset_from_directory,
    text_dataset_from_directory,
)
from . import image, sequence

__all__ = ["image", "image_dataset_from_directory", "sequence",
           "text_dataset_from_directory", "timeseries_dataset_from_array"]
