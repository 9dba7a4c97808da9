"""Every environment flag graphkeras reads, in one place.

GRAPHKERAS_DUMP        comma list of ir, llvm, llvm-opt, asm: write what
                       was generated (to GRAPHKERAS_DUMP_DIR, default
                       ./graphkeras_dump)
GRAPHKERAS_VERIFY      1: verify the program after every pass
GRAPHKERAS_CACHE       0: turn the on-disk compile cache off
GRAPHKERAS_CACHE_DIR   where the compile cache lives
GRAPHKERAS_CACHE_MAX   the compile cache's size cap (bytes, or with a
                       K/M/G suffix; default 1G): LRU entries are evicted
GRAPHKERAS_NUM_THREADS threads for native steps (default: all cores)
GRAPHKERAS_COMPILE_PROCESSES  child processes that compile object code
                       (default: one per core, at most 2; 0 compiles in
                       this process, where an LLVM abort ends it)
GRAPHKERAS_INJECT_COMPILE_FAULT  (tests) a compile process aborts on a
                       kernel whose label contains this text
GRAPHKERAS_MPI_TIMEOUT seconds a rank may wait in one collective before
                       the job is aborted (graphkeras.distribution;
                       default 300)

It also holds Keras's global settings, the `keras.config` API (floatx,
epsilon, image_data_format, max_epochs, interactive logging, ...), reached
as `graphkeras.config.<name>`.
"""

from __future__ import annotations

import os


def _flag(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


def dump_kinds() -> set[str]:
    return {k.strip() for k in _flag("GRAPHKERAS_DUMP").split(",") if k.strip()}


def dump_dir() -> str:
    return _flag("GRAPHKERAS_DUMP_DIR", os.path.join(os.getcwd(), "graphkeras_dump"))


def verify_passes() -> bool:
    return _flag("GRAPHKERAS_VERIFY") not in ("", "0")


def cache_enabled() -> bool:
    return _flag("GRAPHKERAS_CACHE", "1") != "0"


def cache_dir() -> str:
    d = _flag("GRAPHKERAS_CACHE_DIR")
    if d:
        return d
    base = _flag("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "graphkeras")


def compile_processes() -> int:
    v = _flag("GRAPHKERAS_COMPILE_PROCESSES").strip()
    if v:
        try:
            return max(int(v), 0)
        except ValueError:
            pass
    return max(1, min(os.cpu_count() or 1, 2))


def inject_compile_fault() -> str:
    return _flag("GRAPHKERAS_INJECT_COMPILE_FAULT")


def cache_max_bytes() -> int:
    v = _flag("GRAPHKERAS_CACHE_MAX").strip()
    if not v:
        return 1 << 30
    scale = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}.get(v[-1:].upper(), 1)
    try:
        n = int(v[:-1] if scale > 1 else v) * scale
    except ValueError:
        n = -1
    if n < 0:
        raise ValueError(
            "GRAPHKERAS_CACHE_MAX must be a size in bytes (optionally with a "
            f"K, M or G suffix, e.g. 512M), got {v!r}."
        )
    return n


def num_threads() -> int:
    v = _flag("GRAPHKERAS_NUM_THREADS")
    if v:
        try:
            n = int(v)
        except ValueError:
            raise ValueError(
                f"GRAPHKERAS_NUM_THREADS must be a positive integer, got {v!r}."
            ) from None
        if n < 1:
            raise ValueError(
                f"GRAPHKERAS_NUM_THREADS must be a positive integer, got {v!r}."
            )
        return n
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def mpi_timeout() -> float:
    v = _flag("GRAPHKERAS_MPI_TIMEOUT")
    if not v:
        return 300.0
    try:
        t = float(v)
    except ValueError:
        t = -1.0
    if not t > 0:
        raise ValueError(
            f"GRAPHKERAS_MPI_TIMEOUT must be a positive number of seconds, "
            f"got {v!r}.")
    return t


# --- Keras's global settings (keras.config) -------------------------------------
#
# NOTE: this module imports nothing of the project, so the frontend (layers,
# losses, the trainer) reads these settings from here without import cycles.
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
    from .frontend.saving import serialization_lib

    serialization_lib.enable_unsafe_deserialization()


class DTypePolicy:
    """The dtype policy of layers: "float32" and "float64" (the variable
    and the compute dtype are the same), and "mixed_bfloat16": float32
    variables and activations, products (Dense, attention, ops.matmul) on
    operands rounded to bfloat16 with float32 sums (graphkeras/frontend/
    mixed_precision.py)."""

    def __init__(self, name=None):
        name = floatx() if name is None else getattr(name, "name", name)
        if name not in _FLOATX_SUPPORTED and name not in _MIXED_SUPPORTED:
            if isinstance(name, str) and name.startswith("mixed_"):
                raise ValueError(
                    f"graphkeras does not support the dtype policy {name!r} "
                    "(it has no float16 kernels; 'mixed_bfloat16' is "
                    "supported). Use 'float32'."
                )
            raise ValueError(
                "Unsupported dtype policy. Expected 'float32', 'float64' or "
                f"'mixed_bfloat16'. Received: policy={name!r}"
            )
        self.name = str(name)

    @property
    def compute_dtype(self) -> str:
        return _MIXED_SUPPORTED.get(self.name, self.name)

    @property
    def variable_dtype(self) -> str:
        return "float32" if self.name in _MIXED_SUPPORTED else self.name

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


_MIXED_SUPPORTED = {"mixed_bfloat16": "bfloat16"}  # name -> compute dtype
_GLOBAL_MIXED: list = []  # the global mixed policy's name, when one is set


def dtype_policy() -> DTypePolicy:
    """The global dtype policy (follows floatx, or the mixed policy set)."""
    return DTypePolicy(_GLOBAL_MIXED[0] if _GLOBAL_MIXED else floatx())


def set_dtype_policy(policy) -> None:
    """Set the global dtype policy: "float32" or "float64" (sets floatx),
    or "mixed_bfloat16" (floatx stays float32); "mixed_float16" is refused
    with a ValueError."""
    p = DTypePolicy(policy)
    _GLOBAL_MIXED.clear()
    if p.name in _MIXED_SUPPORTED:
        set_floatx("float32")
        _GLOBAL_MIXED.append(p.name)
    else:
        set_floatx(p.name)
