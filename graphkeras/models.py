"""graphkeras.models: Model, Sequential (`from graphkeras.models import
Sequential`)."""

from .frontend.models import Functional, Model, Sequential  # noqa: F401
from .frontend.saving import clone_model, load_model, save_model  # noqa: F401


def model_from_json(json_string, custom_objects=None):
    """The model `model.to_json()` described (fresh weights, not
    compiled), as Keras 3's `keras.models.model_from_json`."""
    import json

    from .frontend.saving.keras_format import model_from_config

    try:
        config = json.loads(json_string)
    except (TypeError, ValueError) as e:
        raise ValueError(
            f"model_from_json expects the JSON text model.to_json() returns; "
            f"received {type(json_string).__name__} that does not parse: {e}"
        ) from None
    except RecursionError:
        raise ValueError(
            "model_from_json expects the JSON text model.to_json() returns; "
            "received JSON that nests too deeply to be a model "
            "configuration (thousands of levels).") from None
    return model_from_config(config, custom_objects=custom_objects,
                             compile=False)
