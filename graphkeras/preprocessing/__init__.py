"""graphkeras.preprocessing: the names of keras.preprocessing (Keras 3).

`timeseries_dataset_from_array`, and the submodules `image`
(array_to_img, img_to_array, load_img, save_img) and `sequence`
(pad_sequences). The same functions as in graphkeras.utils.
"""

from ..frontend.utils import timeseries_dataset_from_array
from . import image, sequence

__all__ = ["image", "sequence", "timeseries_dataset_from_array"]
