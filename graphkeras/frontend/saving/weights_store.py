"""Model state <-> Keras 3's `model.weights.h5` group layout.

The layout (what Keras 3's saving_lib writes, and reads back):

    vars                         the model's own variables (attrs: name)
    layers/<snake_class>[_k]/vars/<i>
                                 each layer of `model.layers`, named by its
                                 class (dense, dense_1, ...), never by its
                                 layer name; <i> counts the layer's own
                                 variables, trainable ones first
    layers/<...>/<attr>/vars/<i> a sublayer kept in attribute <attr>
                                 (e.g. an RNN's `cell`); lists of
                                 sublayers get snake_class names again
    optimizer/vars/<i>           optimizer.variables: iterations, the
                                 learning rate, then the slots in the order
                                 the optimizer made them
    graphkeras_rng/<path>/<i>    graphkeras only (Keras ignores it): the
                                 [seed, counter] of each SeedGenerator of a
                                 layer (Dropout...), so that training
                                 resumed from a file draws the same random
                                 numbers it would have drawn uninterrupted

`collect_state(model)` lists (path, variables) in that order;
`write_h5(file, model)` writes it, `read_h5(file, model, filename)` checks
every count and shape first and then assigns, so a file that does not fit
the model changes nothing and gives one error naming the file, the layer
and what differs.
"""

from __future__ import annotations

import warnings

import numpy as np

from ..layers.own_state import own_variables
from ..naming import to_snake_case

# Attributes that hold bookkeeping, not sublayers.
_SKIP = {"_inbound_nodes", "_init_args", "_outbound", "_functional",
         "_graph_layers", "_nodes", "_inputs", "_outputs", "_inputs_struct",
         "_outputs_struct", "_layers", "input_spec", "_tracking",
         "_loss_tracker", "_compile_loss", "_compile_metrics",
         "_steps", "optimizer"}


# Datasets Keras 3 keeps by name beside a layer's numbered variables
# (a tf_idf lookup layer's idf weights): handed to the layer's
# load_h5_extras, not counted as variables.
NAMED_ENTRIES = ("idf_weights",)


class StateError(ValueError):
    """A weights file that does not fit the model."""


def _name_key(name: str) -> str:
    return f"~{name}" if name.startswith("_") else name


def _is_layer(x) -> bool:
    from ..layers.layer import Layer

    return isinstance(x, Layer)


def _unique(name: str, used: dict) -> str:
    if name in used:
        used[name] += 1
        return f"{name}_{used[name]}"
    used[name] = 0
    return name


RNG_GROUP = "graphkeras_rng"


def collect_state(model, include_optimizer: bool = True,
                  include_rng: bool = False, _layers_out=None) -> list:
    """[(h5 path of a vars group, object name, [Variable, ...]), ...];
    with include_rng, also (graphkeras_rng path, name, [SeedGenerator])."""
    out: list = []
    out_layers: list = [] if _layers_out is None else _layers_out
    visited: set = set()

    def visit(obj, path):
        if id(obj) in visited:
            return
        visited.add(id(obj))
        out_layers.append((path, obj))
        out.append((_join(path, "vars"), obj.name, own_variables(obj)))
        for attr, child in _children(obj):
            sub = _join(path, attr)
            if _is_layer(child):
                visit(child, sub)
            else:
                container(child, sub)

    def container(items, path):
        used: dict = {}
        if isinstance(items, dict):
            items = list(items.values())
        for item in items:
            if _is_layer(item):
                if id(item) in visited:
                    _unique(to_snake_case(type(item).__name__), used)
                    continue
                visit(item, _join(path, _unique(
                    to_snake_case(type(item).__name__), used)))
            elif isinstance(item, (list, tuple, dict)) and _has_layer(item):
                container(item, _join(path, _unique("container", used)))

    visit(model, "")
    if include_rng:
        out.extend(_rng_entries(out_layers))
    if include_optimizer:
        opt = getattr(model, "optimizer", None)
        if opt is not None and hasattr(opt, "variables"):
            out.append(("optimizer/vars", opt.name, list(opt.variables)))
            inner = getattr(opt, "inner_optimizer", None)
            if inner is not None:
                # a LossScaleOptimizer: Keras also keeps its inner
                # optimizer's variables in their own group and loads them
                # from there (loading here reads optimizer/vars, which
                # hold them too)
                out.append(("optimizer/inner_optimizer/vars", inner.name,
                            list(inner.variables)))
    return out


def _rng_entries(layers) -> list:
    out = []
    for path, layer in layers:
        gens = [v for _, v in sorted(vars(layer).items(),
                                     key=lambda kv: _name_key(kv[0]))
                if type(v).__name__ == "SeedGenerator"]
        if gens:
            out.append((_join(RNG_GROUP, path or "model"), layer.name, gens))
    return out


def _join(a: str, b: str) -> str:
    return f"{a}/{b}" if a else b


def _has_layer(x) -> bool:
    if _is_layer(x):
        return True
    if isinstance(x, dict):
        return any(_has_layer(v) for v in x.values())
    if isinstance(x, (list, tuple)):
        return any(_has_layer(v) for v in x)
    return False


def _children(obj) -> list:
    """(attribute, sublayer or container) in Keras 3's visiting order:
    a model's `layers` first, then public attributes by name, then
    private ones."""
    from ..models.model import Model

    out = []
    attrs = dict(vars(obj))
    if hasattr(obj, "_graph_layers") or hasattr(obj, "_functional"):
        # Functional and Sequential: their layers first
        out.append(("layers", list(obj.layers)))
    elif isinstance(obj, Model):
        # a subclassed model: `layers` is one more public attribute
        attrs["layers"] = list(obj.layers)
    for attr in sorted(attrs, key=_name_key):
        if attr in _SKIP or attr.startswith("__"):
            continue
        value = attrs[attr]
        if _is_layer(value) or (isinstance(value, (list, tuple, dict))
                                and _has_layer(value)):
            out.append((attr, value))
    return out


# --- writing ---------------------------------------------------------------------


def user_hook(layer, method: str):
    """The layer's `save_own_variables` / `load_own_variables` when a class
    of the user's defines it (Keras 3's way to save custom state), else
    None: graphkeras's own layers save what `collect_state` lists."""
    fn = getattr(type(layer), method, None)
    if fn is None or (getattr(fn, "__module__", None) or "").startswith(
            "graphkeras."):
        return None
    return getattr(layer, method)


def _hooked(model, method: str) -> dict:
    """{vars group path: the layer's hook} of the layers with one."""
    out = {}
    for path, layer in _layers_with_paths(model):
        hook = user_hook(layer, method)
        if hook is not None:
            out[_join(path, "vars")] = hook
    return out


def write_h5(h5file, model, include_optimizer: bool = True) -> None:
    """Write `model`'s state into an open h5py.File (Keras 3 layout)."""
    hooks = _hooked(model, "save_own_variables")
    for path, name, variables in collect_state(model, include_optimizer,
                                               include_rng=True):
        group = h5file.require_group(path)
        if name:
            group.attrs["name"] = name
        if path in hooks:
            store: dict = {}
            hooks[path](store)
            for key, value in store.items():
                value = value.numpy() if hasattr(value, "numpy") else value
                group.create_dataset(str(key), data=np.asarray(value))
            continue
        for i, v in enumerate(variables):
            if path.startswith(RNG_GROUP):
                data = np.array([v.seed, v.counter], np.int64)
            else:
                data = np.asarray(v.numpy())
            group.create_dataset(str(i), data=data)
    for path, layer in _layers_with_paths(model):
        extras = getattr(layer, "h5_extras", None)
        entries = extras() if callable(extras) else {}
        if entries:
            group = h5file.require_group(_join(path, "vars"))
            for key, value in entries.items():
                group.create_dataset(key, data=np.asarray(value))


# --- reading ---------------------------------------------------------------------


def _group_arrays(group) -> list:
    import h5py

    keys = [k for k in group if isinstance(group[k], h5py.Dataset)
            and k not in NAMED_ENTRIES]
    try:
        keys.sort(key=int)
    except ValueError:
        raise StateError(
            f"has unexpected entries {sorted(keys)} in {group.name} (expected "
            "datasets named 0, 1, 2, ...)"
        ) from None
    # NOTE: datasets, not arrays: shapes are compared before anything is
    # read, so a dataset declaring terabytes (or a huge gzip of zeros) is
    # refused from its header
    return [group[k] for k in keys]


def _check_assignable(v, arr, where: str) -> np.ndarray:
    """arr (a dataset or array) read as an array, after checking its
    shape and kind against variable v."""
    shape = tuple(getattr(arr, "shape", np.shape(arr)) or ())
    if shape != tuple(v.shape):
        raise StateError(
            f"{where}: variable {v.path} has shape {tuple(v.shape)}, the file "
            f"holds shape {shape}"
        )
    kind = getattr(getattr(arr, "dtype", None), "kind", "f")
    if kind not in "fiub":
        raise StateError(
            f"{where}: variable {v.path} is numeric, the file holds data of "
            f"type {arr.dtype}"
        )
    return np.asarray(arr)


def read_h5(h5file, model, skip_mismatch: bool = False,
            load_optimizer: bool = True) -> None:
    """Load `model`'s state from an open h5py.File (Keras 3 layout).

    Everything is checked before anything is assigned. The optimizer's
    state loads when the file has it and the model is compiled: the
    optimizer is built for the model's trainable variables first, as
    Keras does.
    """
    import h5py

    plan, hooked = [], []
    hooks = _hooked(model, "load_own_variables")
    for path, name, variables in collect_state(model, include_optimizer=False):
        where = f'layer "{name}" ({path.rsplit("/vars", 1)[0] or "model"})'
        if path in hooks:
            # the layer's own load_own_variables reads its group, after
            # the rest is assigned
            group = h5file[path] if path in h5file else {}
            hooked.append((hooks[path], {
                k: group[k] for k in group
                if isinstance(group[k], h5py.Dataset)}))
            continue
        if path not in h5file:
            if variables and not skip_mismatch:
                raise StateError(
                    f"has no weights for {where}, which has "
                    f"{len(variables)} variable(s) "
                    f"({', '.join(v.path for v in variables)}); the file was "
                    "saved from a different model"
                )
            continue
        arrays = _group_arrays(h5file[path])
        if len(arrays) != len(variables):
            if skip_mismatch:
                warnings.warn(f"Skipping {where}: it has {len(variables)} "
                              f"variables, the file {len(arrays)}.",
                              stacklevel=3)
                continue
            raise StateError(
                f"{where} expects {len(variables)} variable(s), but the file "
                f"holds {len(arrays)}"
            )
        try:
            checked = [_check_assignable(v, a, where)
                       for v, a in zip(variables, arrays)]
        except StateError:
            if skip_mismatch:
                continue
            raise
        plan.extend(zip(variables, checked))
    opt = getattr(model, "optimizer", None)
    if load_optimizer and opt is not None and "optimizer/vars" in h5file:
        arrays = _group_arrays(h5file["optimizer/vars"])
        opt_vars = _optimizer_variables_for(model, opt, len(arrays))
        if len(opt_vars) == len(arrays):
            try:
                plan.extend((v, _check_assignable(v, a, f'optimizer '
                                                  f'"{opt.name}"'))
                            for v, a in zip(opt_vars, arrays))
            except StateError as e:
                warnings.warn(f"Skipping the optimizer's state: {e}.",
                              stacklevel=3)
        else:
            warnings.warn(
                f"Skipping variable loading for optimizer '{opt.name}', "
                f"because it has {len(opt_vars)} variables whereas the saved "
                f"optimizer has {len(arrays)} variables.", stacklevel=3)
    for v, arr in plan:
        v.assign(arr.astype(v.dtype))
    for hook, store in hooked:
        hook({k: np.asarray(d) for k, d in store.items()})
    for path, layer in _layers_with_paths(model):
        done = getattr(layer, "after_weights_loaded", None)
        if callable(done):  # (a FeatureSpace in a model: its state is in)
            done()
        load = getattr(layer, "load_h5_extras", None)
        group = _join(path, "vars")
        if callable(load) and group in h5file:
            entries = {k: np.asarray(h5file[group][k]) for k in NAMED_ENTRIES
                       if k in h5file[group]}
            if entries:
                load(entries)
        if getattr(layer, "_idf_pending", False) and \
                getattr(layer, "_idf", None) is None:
            raise StateError(
                f'has no idf_weights for layer "{layer.name}" ({path}), a '
                "tf_idf lookup layer whose config has none either")
    for path, _, gens in _rng_entries(_layers_with_paths(model)):
        if path in h5file:
            arrays = _group_arrays(h5file[path])
            for gen, arr in zip(gens, arrays):
                if getattr(arr, "size", 0) != 2:
                    continue
                arr = np.asarray(arr).reshape(-1)
                if arr.shape == (2,):
                    gen.restart(int(arr[0]), int(arr[1]))


def _layers_with_paths(model) -> list:
    found = []
    collect_state(model, include_optimizer=False, include_rng=False,
                  _layers_out=found)
    return found


def _optimizer_variables_for(model, opt, n_saved: int) -> list:
    """The optimizer's variables, building its slots for the model's
    trainable weights when the file has more than an unbuilt optimizer."""
    current = list(opt.variables)
    if n_saved > len(current) and not getattr(opt, "built", False):
        trainable = list(model.trainable_weights)
        if trainable:
            opt.build(trainable)
        current = list(opt.variables)
    return current
