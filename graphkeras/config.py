"""Keras's global settings, the `keras.config` API (floatx, epsilon,
image_data_format, max_epochs, interactive logging, dtype policies, ...),
reached as `graphkeras.config.<name>`.

The GRAPHKERAS_* environment flags are read in flags.py (add a new one
there); their readers are re-exported here for code that reached them as
`graphkeras.config.<name>`.
"""

from __future__ import annotations

import os

from .flags import (  # noqa: F401  (readers of GRAPHKERAS_* flags)
    cache_dir,
    cache_enabled,
    cache_max_bytes,
    compile_processes,
    dump_dir,
    dump_kinds,
    inject_compile_fault,
    mpi_timeout,
    num_threads,
    verify_passes,
)


# --- Keras's global settings (keras.config) -------------------------------------
#
# NOTE: this module imports nothing of the project but flags.py, so the
# frontend (layers, losses, the trainer) reads these settings from here
# without import cycles.
# The state is process-wide, as in Keras. KERAS_MAX_EPOCHS and
# KERAS_MAX_STEPS_PER_EPOCH are read once at import, as Keras reads them.

_FLOATX_SUPPORTED = ("float32", "float64")


def _env_int(name: str):
    v = os.environ.get(name)
    if not v:
        return None
    try:
        return int(v)
    except ValueError:
        raise ValueError(
            f"The environment variable {name} must be an integer, got {v!r}."
        ) from None


_SETTINGS: dict = {
    "floatx": "float32",
    "epsilon": 1e-7,
    "image_data_format": "channels_last",
    "max_epochs": _env_int("KERAS_MAX_EPOCHS"),
    "max_steps_per_epoch": _env_int("KERAS_MAX_STEPS_PER_EPOCH"),
    "interactive_logging": True,
    "traceback_filtering": True,
    "flash_attention": None,
    "unsafe_deserialization": False,
}


def backend() -> str:
    """The name of the backend: always `"graphkeras"`.

    Keras returns "tensorflow", "jax", "torch" or "numpy"; code that branches
    on `keras.config.backend() == "jax"` takes its generic path here.
    """
    return "graphkeras"


def floatx() -> str:
    """The default float dtype of weights and computations ("float32")."""
    return _SETTINGS["floatx"]


def set_floatx(value) -> None:
    """Set the default float dtype: "float32" (default) or "float64".

    Keras also accepts "float16" / "bfloat16"; graphkeras compiles no half
    precision kernels, so those are refused with a ValueError.

    Example:
        >>> set_floatx("float64"); floatx()
        'float64'
    """
    name = getattr(value, "name", value)
    if name not in _FLOATX_SUPPORTED:
        if name in ("float16", "bfloat16", "half"):
            raise ValueError(
                f"graphkeras does not support floatx={name!r}: it compiles "
                "float32 and float64 kernels only. Use "
                "set_floatx('float32') or set_floatx('float64')."
            )
        raise ValueError(
            "Unknown `floatx` value. Expected one of {'float32', 'float64'}. "
            f"Received: floatx={value!r}"
        )
    _SETTINGS["floatx"] = str(name)


def epsilon() -> float:
    """The fuzz factor of numeric expressions (1e-7 by default)."""
    return _SETTINGS["epsilon"]


def set_epsilon(value) -> None:
    """Set the fuzz factor (losses' clipping read it when they are traced)."""
    try:
        value = float(value)
    except (TypeError, ValueError):
        raise ValueError(
            f"set_epsilon expects a number, received value={value!r}."
        ) from None
    _SETTINGS["epsilon"] = value


def image_data_format() -> str:
    """"channels_last" (default) or "channels_first": what `data_format=None`
    means for convolution, pooling and other spatial layers."""
    return _SETTINGS["image_data_format"]


def set_image_data_format(data_format) -> None:
    """Set the default image data format (read when a layer is created)."""
    fmt = str(data_format).lower() if data_format is not None else None
    if fmt not in ("channels_first", "channels_last"):
        raise ValueError(
            "The `data_format` argument must be one of {'channels_first', "
            f"'channels_last'}}. Received: data_format={data_format!r}"
        )
    _SETTINGS["image_data_format"] = fmt


def _limit(name: str, value):
    if value is not None and (isinstance(value, bool) or not isinstance(
            value, int) or value < 1):
        raise ValueError(
            f"set_{name} expects a positive integer or None, received "
            f"{name}={value!r}."
        )
    _SETTINGS[name] = value


def set_max_epochs(max_epochs) -> None:
    """Cap the epochs of every `fit` (None: no cap), for debugging runs."""
    _limit("max_epochs", max_epochs)


def max_epochs():
    """The cap set by `set_max_epochs` or KERAS_MAX_EPOCHS, or None."""
    return _SETTINGS["max_epochs"]


def set_max_steps_per_epoch(max_steps_per_epoch) -> None:
    """Cap the steps of one epoch of fit / evaluate / predict (None: no
    cap)."""
    _limit("max_steps_per_epoch", max_steps_per_epoch)


def max_steps_per_epoch():
    """The cap set by `set_max_steps_per_epoch` or KERAS_MAX_STEPS_PER_EPOCH,
    or None."""
    return _SETTINGS["max_steps_per_epoch"]


def enable_interactive_logging() -> None:
    """Progress bars and messages go to stdout (the default)."""
    _SETTINGS["interactive_logging"] = True


def disable_interactive_logging() -> None:
    """Progress output goes to Python's `logging` (logger "graphkeras") as
    one line per update, instead of a bar redrawn on stdout."""
    _SETTINGS["interactive_logging"] = False


def is_interactive_logging_enabled() -> bool:
    return _SETTINGS["interactive_logging"]


def enable_traceback_filtering() -> None:
    """Accepted for Keras compatibility: graphkeras does not filter
    tracebacks, this only sets the flag."""
    _SETTINGS["traceback_filtering"] = True


def disable_traceback_filtering() -> None:
    """Accepted for Keras compatibility (sets the flag only)."""
    _SETTINGS["traceback_filtering"] = False


def is_traceback_filtering_enabled() -> bool:
    return _SETTINGS["traceback_filtering"]


def enable_flash_attention() -> None:
    """Accepted for Keras compatibility (graphkeras has no flash attention
    kernel; attention layers compute as usual)."""
    _SETTINGS["flash_attention"] = True


def disable_flash_attention() -> None:
    """Accepted for Keras compatibility (sets the flag only)."""
    _SETTINGS["flash_attention"] = False


def is_flash_attention_enabled():
    """The flag's value: None (the default, "automatic"), True or False."""
    return _SETTINGS["flash_attention"]


def is_nnx_enabled() -> bool:
    """False: Flax NNX is a JAX-backend feature."""
    return False


def set_backend(backend) -> None:
    """Keras reloads itself with another backend; graphkeras is its own
    single backend, so only "graphkeras" is accepted (a no-op)."""
    if backend != "graphkeras":
        raise ValueError(
            f"graphkeras has a single backend and cannot switch to "
            f"{backend!r}. Received: backend={backend!r}; import keras "
            "itself to use another backend."
        )


def enable_unsafe_deserialization() -> None:
    """Allow loading code stored in files (Lambda layers' bytecode) without
    passing safe_mode=False each time."""
    _SETTINGS["unsafe_deserialization"] = True


def _unsafe_deserialization_enabled() -> bool:
    """Whether enable_unsafe_deserialization was called (read by
    frontend/saving/serialization_lib.py)."""
    return _SETTINGS["unsafe_deserialization"]


class DTypePolicy:
    """The dtype policy of layers: "float32" and "float64" (the variable
    and the compute dtype are the same; "int32", "int64" and "bool" for
    integer and boolean layers); "mixed_bfloat16": float32 variables and
    activations, products (Dense, attention, ops.matmul) on operands
    rounded to bfloat16 with float32 sums; "mixed_float16": float32
    variables, each layer's inputs, variables and outputs rounded to
    float16 values (graphkeras/frontend/mixed_precision.py). "float16"
    and "bfloat16" (half precision variables) are refused."""

    def __init__(self, name=None):
        name = floatx() if name is None else getattr(name, "name", name)
        if isinstance(name, type):  # np.float32
            name = name.__name__
        if name not in _FLOATX_SUPPORTED and name not in _MIXED_SUPPORTED \
                and name not in _OTHER_SUPPORTED:
            if name in ("float16", "bfloat16", "half"):
                raise ValueError(
                    f"graphkeras does not support the dtype policy {name!r}: "
                    "its variables would be half precision, and it keeps "
                    "float32 or float64 ones. Use 'mixed_float16' or "
                    "'mixed_bfloat16' (float32 variables, half precision "
                    "computations), or 'float32'."
                )
            # (Keras 3's message)
            raise ValueError(
                f"Cannot convert {name!r} to a mixed precision DTypePolicy. "
                "Valid policies include 'mixed_float16', 'mixed_bfloat16', "
                "and the name of any float dtype such as 'float32'."
            )
        self.name = str(name)

    @property
    def compute_dtype(self) -> str:
        return _MIXED_SUPPORTED.get(self.name, self.name)

    @property
    def variable_dtype(self) -> str:
        return "float32" if self.name in _MIXED_SUPPORTED else self.name

    @property
    def quantization_mode(self):
        """None: a float policy (Keras's quantized ones are its
        subclasses)."""
        return None

    def get_config(self) -> dict:
        return {"name": self.name}

    @classmethod
    def from_config(cls, config: dict):
        return cls(**config)

    def __eq__(self, other) -> bool:
        return isinstance(other, DTypePolicy) and other.name == self.name

    def __hash__(self) -> int:
        return hash(self.name)

    def __repr__(self) -> str:
        return f'<DTypePolicy "{self.name}">'


# the policies of integer and boolean layers (compute = variable dtype)
_OTHER_SUPPORTED = ("int32", "int64", "bool")
_MIXED_SUPPORTED = {"mixed_bfloat16": "bfloat16",   # name -> compute dtype
                    "mixed_float16": "float16"}
_GLOBAL_MIXED: list = []  # the global mixed policy's name, when one is set


def dtype_policy() -> DTypePolicy:
    """The global dtype policy (follows floatx, or the mixed policy set)."""
    return DTypePolicy(_GLOBAL_MIXED[0] if _GLOBAL_MIXED else floatx())


def set_dtype_policy(policy) -> None:
    """Set the global dtype policy: "float32" or "float64" (sets floatx),
    or "mixed_bfloat16" / "mixed_float16" (floatx stays float32)."""
    p = DTypePolicy(policy)
    _GLOBAL_MIXED.clear()
    if p.name in _MIXED_SUPPORTED:
        set_floatx("float32")
        _GLOBAL_MIXED.append(p.name)
    else:
        set_floatx(p.name)
