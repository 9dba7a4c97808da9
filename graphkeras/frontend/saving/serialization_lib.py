"""Objects to JSON-able configs and back, in Keras 3's format.

A serialized object is `{"module", "class_name", "config",
"registered_name"}` (plus `build_config` / `compile_config` for layers and
models), as Keras 3 writes it in `config.json`, so files move both ways.

Resolving a `class_name` when loading never imports a module named by the
file: the name is looked up, in this order, in `custom_objects`, the active
`custom_object_scope`s, the `register_keras_serializable` registry, and
graphkeras's own public classes and functions (the `module` field only
says which family to search first, so the spellings older Keras wrote,
`keras.engine.functional`, `keras.layers.core.dense`,
`tensorflow.python.keras...`, all load). In safe mode (the default) a
config that would run code from the file (a Python lambda, marshalled
bytecode) is refused with Keras's explanation.

Invariants: `deserialize_keras_object(serialize_keras_object(x))` rebuilds
an equal object for every registered class; unknown constructor arguments
that are inert in Keras 3 (None, False, Keras defaults of features
graphkeras does not have) are dropped when loading, any other unknown
argument is an error naming the class and the argument.
"""

from __future__ import annotations

import base64
import inspect
import marshal
import threading
import types

import numpy as np

from ... import config
from .. import families
from ..families import ORDER, base_class, family_objects, family_of
from . import object_registration
from .bytecode import load_code

# --- safe mode --------------------------------------------------------------

_STATE = threading.local()


def in_safe_mode():
    """True or False inside a SafeModeScope, None outside any."""
    return getattr(_STATE, "safe_mode", None)


class SafeModeScope:
    """`with SafeModeScope(False):` lets deserialization load lambdas."""

    def __init__(self, safe_mode=True):
        self.safe_mode = safe_mode

    def __enter__(self):
        self._old = in_safe_mode()
        _STATE.safe_mode = self.safe_mode
        return self

    def __exit__(self, *exc):
        _STATE.safe_mode = self._old
        return False


def enable_unsafe_deserialization() -> None:
    """Let every later load run lambdas from files (trusted files only)."""
    config.enable_unsafe_deserialization()


def _effective_safe_mode(safe_mode) -> bool:
    scoped = in_safe_mode()
    if scoped is not None:
        return bool(scoped)
    if config._unsafe_deserialization_enabled():
        return False
    return True if safe_mode is None else bool(safe_mode)


LAMBDA_REFUSED = (
    "Requested the deserialization of a Python lambda{what}. Rebuilding it "
    "would run code stored in the file, which could do anything, so it is "
    "refused by default. If you trust the source of the file, pass "
    "`safe_mode=False` to the loading function, or call "
    "`graphkeras.saving.enable_unsafe_deserialization()`."
)


def lambda_refused(what: str = "") -> ValueError:
    return ValueError(LAMBDA_REFUSED.format(what=what))


# --- the families of built-in objects ---------------------------------------
#
# Each family registers itself when its package is imported
# (frontend/families.py): nothing here imports a family to find one.


def builtin_objects(kind: str) -> dict:
    """Every public class and function of one family, by name (read live,
    so objects added by other modules are found)."""
    return family_objects(kind)


def _kind_order(module) -> list:
    """Families to search, the one `module` names first."""
    order = list(ORDER)
    if not module:
        return order
    m = module.lower()
    hint = None
    for kind in ("schedules", "initializers", "regularizers", "constraints",
                 "optimizers", "losses", "metrics", "activations", "models",
                 "layers"):
        if kind in m or (kind == "schedules" and "learning_rate" in m):
            hint = kind
            break
    if hint is None and any(w in m for w in ("engine", "functional",
                                             "sequential", "training")):
        hint = "models"
    if hint is None:
        return order
    return [hint] + [k for k in order if k != hint]


def _kind_of(obj) -> str | None:
    return family_of(obj)


def _is_builtin(obj) -> bool:
    mod = getattr(obj, "__module__", "") or ""
    return mod.startswith("graphkeras.") and mod != "graphkeras.__main__"


# --- serializing ----------------------------------------------------------------


def _func_dump(fn) -> dict:
    code = base64.b64encode(marshal.dumps(fn.__code__)).decode("ascii")
    closure = (tuple(c.cell_contents for c in fn.__closure__)
               if fn.__closure__ else None)
    return {"code": code, "defaults": fn.__defaults__, "closure": closure}


def func_load(config: dict):
    """Rebuild a function from `__lambda__` config (unsafe: runs code)."""
    code = config.get("code", config.get("value"))
    if isinstance(code, (list, tuple)):  # {"value": (code, defaults, closure)}
        code, defaults, closure = (list(code) + [None, None])[:3]
    else:
        defaults, closure = config.get("defaults"), config.get("closure")
    try:
        raw = base64.b64decode(str(code).encode("ascii"))
    except (ValueError, TypeError) as e:
        raise ValueError(
            f"Could not rebuild a Python lambda from its saved bytecode: it "
            f"is not base64 ({e})") from None
    # another version's bytecode reads back, and can crash the interpreter
    # as it is read or run (frontend/saving/bytecode.py)
    code_obj = load_code(raw)
    if closure is not None:
        def cell(v):
            return (lambda: v).__closure__[0]

        closure = tuple(cell(v) for v in closure)
    if defaults is not None:
        defaults = tuple(defaults)
    return types.FunctionType(code_obj, globals(), code_obj.co_name,
                              defaults, closure)


def serialize_function(fn):
    """A function as Keras 3 writes it: the name of a built-in, a
    `function` record for a named user function, `__lambda__` for a
    lambda."""
    if getattr(fn, "__name__", None) == "<lambda>":
        return {"class_name": "__lambda__", "config": _func_dump(fn),
                "module": None, "registered_name": None}
    if _is_builtin(fn):
        for kind in ("activations", "losses", "metrics"):
            table = builtin_objects(kind)
            for name, obj in table.items():
                if obj is fn and name == name.lower():
                    if kind == "activations":
                        return name
                    return {"module": families.keras_module(kind), "class_name":
                            "function",
                            "config": name, "registered_name": "function"}
    name = object_registration.get_registered_name(fn)
    return {"module": getattr(fn, "__module__", "builtins"),
            "class_name": "function", "config": name,
            "registered_name": "function"}


def _module_for(obj) -> str:
    cls = obj if inspect.isclass(obj) else type(obj)
    # a class standing for a Keras class says where Keras keeps it
    # (graphkeras.applications' layers: keras.src.applications.convnext)
    keras_module = cls.__dict__.get("_keras_module")
    if keras_module:
        return keras_module
    if cls in object_registration.GLOBAL_CUSTOM_NAMES or not _is_builtin(cls):
        return cls.__module__
    if cls.__name__ == "Functional":
        return "keras.src.models.functional"
    if cls.__name__ in ("Sequential", "Model"):
        return "keras"
    return families.keras_module(_kind_of(cls), "keras")


def serialize_keras_object(obj):
    """`obj` as a JSON-able value in Keras 3's format."""
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return obj
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return {"class_name": "__numpy__",
                "config": {"value": obj.tolist(), "dtype": obj.dtype.name}}
    if isinstance(obj, bytes):
        return {"class_name": "__bytes__",
                "config": {"value": obj.decode("utf-8")}}
    if isinstance(obj, (list, tuple)):
        return [serialize_keras_object(x) for x in obj]
    if isinstance(obj, dict):
        return {str(k): serialize_keras_object(v) for k, v in obj.items()}
    if isinstance(obj, type) and not hasattr(obj, "get_config"):
        raise TypeError(f"Cannot serialize the class {obj!r}.")
    if inspect.isfunction(obj) or inspect.isbuiltin(obj):
        return serialize_function(obj)
    get_config = getattr(obj, "get_config", None)
    if get_config is None:
        if callable(obj):
            return serialize_function(obj)
        raise TypeError(
            f"Cannot serialize {obj!r} (of type {type(obj).__name__}): it "
            "has no get_config() method."
        )
    config = get_config()
    if not isinstance(config, dict):
        raise TypeError(
            f"{type(obj).__name__}.get_config() must return a dict, "
            f"received {type(config).__name__}."
        )
    cls = type(obj)
    registered = object_registration.GLOBAL_CUSTOM_NAMES.get(cls)
    if registered is None and not _is_builtin(cls):
        registered = cls.__name__
    if cls.__name__ == "Functional" and _is_builtin(cls):
        registered = "Functional"
    out = {
        "module": _module_for(obj),
        "class_name": cls.__name__,
        "config": _canonical_config(config),
        "registered_name": registered,
    }
    if isinstance(obj, base_class("layers")):
        build = get_build_config(obj)
        if build is not None:
            out["build_config"] = build
        compile_config = getattr(obj, "get_compile_config", None)
        if compile_config is not None:
            cc = compile_config()
            if cc is not None:
                out["compile_config"] = cc
    return out


def _canonical_config(value):
    """A get_config() dict made JSON-able: nested objects serialized,
    tuples as lists, and `{"class_name", "config"}` dicts given the
    `module` and `registered_name` Keras 3 expects."""
    if isinstance(value, dict):
        if "class_name" in value and "config" in value and "module" not in \
                value and not str(value["class_name"]).startswith("__"):
            obj = resolve_class(value["class_name"], None, None, {},
                                strict=False)
            out = {"module": _module_for(obj) if obj is not None else None,
                   "class_name": value["class_name"],
                   "config": _canonical_config(value["config"]),
                   "registered_name": (
                       object_registration.GLOBAL_CUSTOM_NAMES.get(obj)
                       if obj is not None else None)}
            out.update({k: _canonical_config(v) for k, v in value.items()
                        if k not in out})
            return out
        return {str(k): _canonical_config(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_canonical_config(v) for v in value]
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return serialize_keras_object(value)


def get_build_config(layer):
    """{"input_shape": ...} of a built layer (Keras 3's build_config): the
    layer's get_build_config(), its shapes as JSON lists unless a layer of
    its own wrote them."""
    config = layer.get_build_config()
    if config and not _overrides(layer, "get_build_config") and \
            "input_shape" in config:
        config = {"input_shape": _shape_json(config["input_shape"])}
    return config


def _shape_json(shapes):
    if isinstance(shapes, dict):
        return {k: _shape_json(v) for k, v in shapes.items()}
    if isinstance(shapes, (list, tuple)) and shapes and all(
        isinstance(s, (list, tuple)) for s in shapes
    ):
        return [_shape_json(s) for s in shapes]
    return [None if d is None else int(d) for d in shapes]


# --- deserializing --------------------------------------------------------------


def resolve_class(class_name, registered_name, module, custom_objects,
                  kind=None, strict=True):
    """The class or function a config names (see the module docstring)."""
    for key, value in (("class_name", class_name), ("module", module),
                       ("registered_name", registered_name)):
        if value is not None and not isinstance(value, str):
            raise TypeError(
                f"A config's {key} must be a string. Received: "
                f"{key}={value!r} (of type {type(value).__name__}).")
    for name in (registered_name, class_name):
        if not name:
            continue
        obj = object_registration.get_registered_object(name, custom_objects)
        if obj is not None:
            return obj
    if registered_name and ">" in str(registered_name):
        # a registered user object that is not registered here
        if strict:
            raise _not_found(class_name, registered_name)
        return None
    kinds = _kind_order(module)
    if kind is not None:
        kinds = [kind] + [k for k in kinds if k != kind]
    for k in kinds:
        obj = builtin_objects(k).get(class_name)
        if obj is not None:
            return obj
    if strict:
        raise _not_found(class_name, registered_name)
    return None


class ClassNotFound(TypeError):
    """A config names a class or function that is not known here."""


def _short(config, limit: int = 300) -> str:
    text = repr(config)
    return text if len(text) <= limit else text[:limit] + "...}"


def _not_found(class_name, registered_name):
    shown = registered_name if registered_name and registered_name != \
        class_name else class_name
    return ClassNotFound(
        f"Could not locate class '{shown}'. Make sure custom classes and "
        "functions are decorated with "
        "`@graphkeras.saving.register_keras_serializable()` and imported "
        "before loading, or pass them to the loading function as "
        f"`custom_objects={{'{shown}': ...}}`."
    )


# Constructor arguments Keras 3 writes for features graphkeras lacks,
# harmless at these values: dropped when loading.
_INERT = {
    "quantization_config": (None,),
    "synchronized": (False,),
    "renorm": (False,),
    "renorm_clipping": (None,),
    "renorm_momentum": (0.99,),
    "ragged": (False,),
    "sparse": (False, None),
    "input_axes": (None,),
    "output_axes": (None,),
    "lora_rank": (None,),
    "lora_alpha": (None,),
    "use_ema": (False,),
    "ema_momentum": (0.99,),
    "ema_overwrite_frequency": (None,),
    "loss_scale_factor": (None,),
    "autocast": (True,),
    "optional": (False,),
}


def accepted_arguments(cls) -> tuple:
    """(names cls's constructor accepts, whether it also takes **kwargs
    that reach no named parameter)."""
    Layer = base_class("layers")
    names: set = set()
    open_kwargs = False
    for klass in cls.__mro__:
        if klass is object:
            open_kwargs = True
            break
        if issubclass(cls, Layer) and not issubclass(klass, Layer):
            continue  # mixins (Trainer) take no constructor arguments
        init = klass.__dict__.get("__init__")
        if init is None:
            continue
        try:
            params = inspect.signature(init).parameters
        except (TypeError, ValueError):
            continue
        names.update(n for n, p in params.items()
                     if p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL))
        if klass is Layer or not any(p.kind == p.VAR_KEYWORD
                                     for p in params.values()):
            break  # Layer.__init__ checks its **kwargs itself
    else:
        open_kwargs = True
    if issubclass(cls, Layer):
        names.update(Layer._base_kwargs)
    names.discard("self")
    return names, open_kwargs


def clean_config(cls, config: dict, where: str = "") -> dict:
    """`config` without the inert arguments `cls` does not take; an
    unknown argument with a meaningful value is an error naming it."""
    names, open_kwargs = accepted_arguments(cls)
    if open_kwargs:
        return dict(config)
    out = {}
    for k, v in config.items():
        if k in names:
            out[k] = v
        elif k == "dtype" or v is None or v is False or v in _INERT.get(k, ()):
            continue
        else:
            raise ValueError(
                f"{where}{cls.__name__} was saved with the argument "
                f"{k}={v!r}, which graphkeras's {cls.__name__} does not "
                f"support (its arguments: {', '.join(sorted(names))})."
            )
    return out


def _dtype_name(value):
    """A DTypePolicy config (Keras 3) or a dtype string -> the dtype."""
    if isinstance(value, dict) and value.get("class_name") in (
        "DTypePolicy", "Policy", "FloatDTypePolicy", "DTypePolicyMap",
        "QuantizedDTypePolicy",
    ):
        # a mixed policy ("mixed_float16", "mixed_bfloat16") stays a name
        # the layer turns into its policy; others are checked there too
        return value.get("config", {}).get("name", "float32")
    return value


def deserialize_keras_object(config, custom_objects=None, safe_mode=True,
                             kind=None):
    """Rebuild an object from what `serialize_keras_object` wrote (or a
    Keras 3 / older Keras config)."""
    safe = _effective_safe_mode(safe_mode)
    custom_objects = dict(custom_objects or {})
    if config is None or isinstance(config, (bool, int, float)):
        return config
    if isinstance(config, str):
        obj = object_registration.get_registered_object(config,
                                                        custom_objects)
        return obj if obj is not None else config
    if isinstance(config, (list, tuple)):
        return [deserialize_keras_object(x, custom_objects, safe, kind)
                for x in config]
    if not isinstance(config, dict):
        raise TypeError(f"Could not parse config: {config!r}")
    if "class_name" not in config:
        return {k: deserialize_keras_object(v, custom_objects, safe)
                for k, v in config.items()}
    class_name = config["class_name"]
    inner = config.get("config")
    inner = {} if inner is None else inner
    if class_name == "__numpy__":
        return np.array(inner["value"], dtype=inner["dtype"])
    if class_name == "__bytes__":
        return inner["value"].encode("utf-8")
    if class_name == "__ellipsis__":
        return Ellipsis
    if class_name == "__tuple__":
        return tuple(deserialize_keras_object(x, custom_objects, safe)
                     for x in inner.get("value", []))
    if class_name == "__slice__":
        return slice(*(deserialize_keras_object(inner.get(k), custom_objects,
                                                safe)
                       for k in ("start", "stop", "step")))
    if class_name == "__lambda__":
        if safe:
            raise lambda_refused()
        return func_load(inner)
    if class_name in ("DTypePolicy", "Policy", "FloatDTypePolicy"):
        return _dtype_name(config)
    module = config.get("module")
    registered = config.get("registered_name")
    if class_name == "function":
        name = inner if isinstance(inner, str) else registered
        fn = object_registration.get_registered_object(name, custom_objects)
        if fn is None and isinstance(name, str) and ">" not in name:
            for k in _kind_order(module):
                if k in ("layers", "models"):
                    continue
                fn = builtin_objects(k).get(name)
                if fn is not None and not inspect.isclass(fn):
                    break
                fn = None
        if fn is None:
            raise _not_found(name, None)
        return fn
    cls = resolve_class(class_name, registered, module, custom_objects, kind)
    if inspect.isfunction(cls) or not inspect.isclass(cls):
        return cls
    return instantiate(cls, config, custom_objects, safe)


def _has_lambda(value) -> bool:
    if isinstance(value, dict):
        if value.get("class_name") == "__lambda__":
            return True
        return any(_has_lambda(v) for v in value.values())
    if isinstance(value, (list, tuple)):
        return any(_has_lambda(v) for v in value)
    return False


_LEAF_KINDS = ("initializers", "regularizers", "constraints", "schedules")


def _prepare_inner(cls, inner: dict, custom_objects, safe) -> dict:
    """Layer/optimizer configs: DTypePolicy -> dtype name, nested
    initializer / regularizer / constraint / schedule configs -> objects
    (so their Keras 3 arguments are cleaned too), lambdas checked. A
    user's class with its own from_config gets those configs as dicts, as
    Keras 3 passes them (its from_config deserializes them itself)."""
    keep_dicts = not _is_builtin(cls) and _own_from_config(cls)
    out = {}
    for k, v in inner.items():
        if k == "dtype":
            v = _dtype_name(v)
        elif isinstance(v, dict) and "class_name" in v and "config" in v:
            name = v["class_name"]
            if name == "__lambda__":
                if safe:
                    raise lambda_refused(
                        f" (argument `{k}` of {cls.__name__} "
                        f"\"{inner.get('name', '?')}\")")
                v = func_load(v.get("config") or {})
            else:
                target = None if keep_dicts else resolve_class(
                    name, v.get("registered_name"), v.get("module"),
                    custom_objects, strict=False)
                if target is not None and inspect.isclass(target) and \
                        _kind_of(target) in _LEAF_KINDS:
                    v = instantiate(target, v, custom_objects, safe)
        elif _has_lambda(v) and safe and not _is_model_class(cls):
            # (a model's layers are checked one by one, naming the layer)
            raise lambda_refused(
                f" (inside argument `{k}` of {cls.__name__})")
        out[k] = v
    return out


def _is_model_class(cls) -> bool:
    return isinstance(cls, type) and issubclass(cls, base_class("models"))


def instantiate(cls, config: dict, custom_objects=None, safe=True):
    """`cls.from_config(inner config)`, then build / compile as the config
    says. Errors name the class and the object's name."""
    Layer = base_class("layers")
    inner = config.get("config") or {}
    name = inner.get("name") if isinstance(inner, dict) else None
    where = f'"{name}" ' if name else ""
    if not isinstance(inner, dict):
        raise TypeError(
            f"The config of {cls.__name__} must be a dict, received "
            f"{type(inner).__name__}: {inner!r}"
        )
    if not hasattr(cls, "from_config"):
        raise TypeError(
            f"Unable to reconstruct an instance of '{cls.__name__}' because "
            "the class is missing a `from_config()` method."
        )
    inner = _prepare_inner(cls, inner, custom_objects, safe)
    if _is_builtin(cls) and not _own_from_config(cls):
        inner = clean_config(cls, inner, where=where)
    scope = object_registration.CustomObjectScope(custom_objects or {})
    with scope, SafeModeScope(safe):
        try:
            obj = cls.from_config(inner)
        except ClassNotFound:
            raise
        except TypeError as e:
            raise TypeError(
                f"{cls.__name__} {where}could not be rebuilt from its config "
                f"(config={_short(inner)}). Exception encountered: {e}. A "
                "custom "
                "class whose __init__ takes other arguments than get_config() "
                "returns must override get_config() and from_config()."
            ) from None
        if isinstance(obj, Layer):
            build = config.get("build_config")
            if build and not obj.built:
                build_from_config(obj, build)
    return obj


def _own_from_config(cls) -> bool:
    """Whether cls (or a base below the family's base class) defines its
    own from_config, which then gets the config untouched."""
    for klass in cls.__mro__:
        if "from_config" in klass.__dict__:
            return klass.__name__ not in (
                "Layer", "Initializer", "Regularizer", "Constraint",
                "Optimizer", "Loss", "Metric", "LearningRateSchedule")
    return False


def _overrides(layer, method: str) -> bool:
    """Whether layer's class defines its own `method` (not Layer's)."""
    from ..layers.layer import Layer

    return getattr(type(layer), method) is not getattr(Layer, method)


def build_from_config(layer, build_config: dict, default=False) -> None:
    """Build `layer` from a saved build_config: its own build_from_config
    when it has one (unless called from Layer's default), else
    build(input_shape) or build(**shapes_dict)."""
    if not default and _overrides(layer, "build_from_config"):
        layer.build_from_config(build_config)
        return
    if not build_config:
        return
    shapes = build_config.get("shapes_dict")
    if isinstance(shapes, dict) and "input_shape" not in build_config:
        shapes = {k: _shape_tuple(v) for k, v in shapes.items()}
        layer.build(**shapes)
        layer.built = True
        return
    shape = build_config.get("input_shape")
    if shape is None:
        return
    shape = _shape_tuple(shape)
    try:
        layer.build(shape)
    except (ValueError, TypeError, IndexError, KeyError) as e:
        raise ValueError(
            f'Layer "{layer.name}" ({type(layer).__name__}) could not be '
            f"built from its saved build_config input_shape={shape}: {e}"
        ) from None
    layer.built = True


def _shape_tuple(shape):
    if isinstance(shape, dict):
        return {k: _shape_tuple(v) for k, v in shape.items()}
    if isinstance(shape, (list, tuple)) and shape and all(
        isinstance(s, (list, tuple)) or s is None for s in shape
    ) and any(isinstance(s, (list, tuple)) for s in shape):
        return [_shape_tuple(s) if s is not None else None for s in shape]
    return tuple(shape)
