"""The configs of Functional and Sequential models, in Keras 3's layout.

A Functional config lists every layer once (InputLayers included) with
its serialized config, its `name` and its `inbound_nodes`: one entry per
call of the layer inside this model, `{"args": [...], "kwargs": {...}}`,
where each input tensor is `{"class_name": "__keras_tensor__", "config":
{"shape", "dtype", "keras_history": [layer name, node index, tensor
index]}}`; `input_layers` / `output_layers` name the model's inputs and
outputs the same way. Node indices count only the calls inside this model,
from 1 for a nested functional model (Keras 3 counts the node that links
its own inputs to its outputs first; a Sequential has no such node).
Files older graphkeras wrote count a nested functional model's calls from
0: a config naming node 0 of such a model is read that way.

Op nodes (keras.ops calls on KerasTensors, `OpLayer`s here) are entries
with Keras 3's Operation class and module (`keras.src.ops.numpy.Mean`),
the constructor arguments in "config" and the call's arguments in the
node, translated both ways by `keras_ops.py`.

Reading also accepts what older Keras wrote: `inbound_nodes` as lists of
`[layer name, node index, tensor index, kwargs]`, Sequential configs as a
bare list of layers or with `batch_input_shape` on the first layer, and
`batch_input_shape` / `input_shape` in InputLayer configs.

Invariant: `from_config(get_config(m))` calls the same layers (by name) on
the same tensors in the same order, so weights map one to one.
"""

from __future__ import annotations

from .. import tree
from ..layers.core import OpLayer
from ..tensors import KerasTensor
from . import keras_ops
from . import serialization_lib as sl

# --- Functional ------------------------------------------------------------------


def _model_nodes(model) -> dict:
    """layer id -> the layer's nodes that belong to this model, in order."""
    mine = {id(n) for n in model._nodes}
    out: dict = {}
    for layer in model._graph_layers:
        out[id(layer)] = [n for n in layer._inbound_nodes if id(n) in mine]
    return out


def _history(kt, nodes_of) -> list:
    h = kt._keras_history
    node = h.operation._inbound_nodes[h.node_index]
    index = next(i for i, n in enumerate(nodes_of[id(h.operation)])
                 if n is node)
    # Keras 3: a functional model's node 0 is its own (inputs -> outputs)
    return [h.operation.name, index + _is_functional(h.operation),
            h.tensor_index]


def _is_functional(layer) -> int:
    """1 for a functional model (not a Sequential), else 0."""
    from ..models.functional import Functional

    return int(isinstance(layer, Functional))


def _histories(x, out: list) -> list:
    """Every [layer name, node index, tensor index] in config `x`."""
    if isinstance(x, dict):
        h = x.get("keras_history") if x.get("class_name") is None else None
        if h is None and isinstance(x.get("config"), dict):
            h = x["config"].get("keras_history")
        if _is_history(h):
            out.append(h)
        for v in x.values():
            _histories(v, out)
    elif isinstance(x, (list, tuple)):
        if _is_history(x) or (len(x) == 4 and _is_history(x[:3])
                              and isinstance(x[3], dict)):  # (legacy)
            out.append(x)
        else:
            for v in x:
                _histories(v, out)
    return out


def _serialize_arg(x, nodes_of):
    if isinstance(x, KerasTensor):
        return {"class_name": "__keras_tensor__",
                "config": {"shape": list(x.shape), "dtype": x.dtype,
                           "keras_history": _history(x, nodes_of)}}
    if isinstance(x, slice):  # x[1:3] on a KerasTensor: GetItem's key
        return {"class_name": "__slice__",
                "config": {"start": _serialize_arg(x.start, nodes_of),
                           "stop": _serialize_arg(x.stop, nodes_of),
                           "step": _serialize_arg(x.step, nodes_of)}}
    if x is Ellipsis:
        return {"class_name": "__ellipsis__", "config": {}}
    if isinstance(x, (list, tuple)):
        return [_serialize_arg(v, nodes_of) for v in x]
    if isinstance(x, dict):
        return {k: _serialize_arg(v, nodes_of) for k, v in x.items()}
    return sl.serialize_keras_object(x)


def _io_spec(struct, nodes_of):
    if isinstance(struct, dict):
        return {k: _history(v, nodes_of) for k, v in struct.items()}
    if isinstance(struct, (list, tuple)):
        return [_io_spec(v, nodes_of) for v in struct]
    return _history(struct, nodes_of)


def functional_config(model) -> dict:
    """Keras 3's config of a Functional model."""
    nodes_of = _model_nodes(model)
    layers = []
    for layer in model._graph_layers:  # op nodes included
        if isinstance(layer, OpLayer):
            layers.append(_op_entry(layer, nodes_of))
            continue
        entry = sl.serialize_keras_object(layer)
        entry["name"] = layer.name
        entry["inbound_nodes"] = [
            {"args": _serialize_arg(list(n.arguments[0]), nodes_of),
             "kwargs": _serialize_arg(dict(n.arguments[1]), nodes_of)}
            for n in nodes_of[id(layer)] if not n.is_input
        ]
        layers.append(entry)
    return {
        "name": model.name,
        "trainable": model.trainable,
        "layers": layers,
        "input_layers": _io_spec(model._inputs_struct, nodes_of),
        "output_layers": _io_spec(model._outputs_struct, nodes_of),
    }


def _fill(template, tensors: list):
    """`template` with its KerasTensors replaced by `tensors`, in order
    (as OpLayer.call fills it)."""
    it = iter(tensors)
    return tree.map_structure(
        lambda x: next(it) if isinstance(x, KerasTensor) else x, template)


def _op_entry(layer, nodes_of) -> dict:
    """An op node (`OpLayer`) as Keras 3 writes an Operation: the class
    and constructor config from the keras_ops table, the call's tensors
    and other arguments in the inbound node."""
    entry = None
    nodes = []
    for n in nodes_of[id(layer)]:
        if n.is_input:
            continue
        template = _fill(layer._template, tree.flatten(n.arguments[0][0]))
        op, config, args, kwargs = keras_ops.keras_call(layer, template)
        if entry is None:
            entry = {"module": op.module, "class_name": op.class_name,
                     "config": sl.serialize_keras_object(
                         {"name": layer.name, **config}),
                     "registered_name": op.class_name, "name": layer.name}
        nodes.append({"args": _serialize_arg(args, nodes_of),
                      "kwargs": _serialize_arg(kwargs, nodes_of)})
    entry["inbound_nodes"] = nodes
    return entry


def _is_history(x) -> bool:
    return (isinstance(x, (list, tuple)) and len(x) == 3
            and isinstance(x[0], str) and isinstance(x[1], int)
            and isinstance(x[2], int))


class _Pending(Exception):
    """A node's input tensors are not made yet."""


def functional_from_config(cls, config: dict, custom_objects=None):
    """Rebuild a Functional model (or a subclass) from its config."""
    from ..layers.layer import Layer

    custom_objects = custom_objects or {}
    if not isinstance(config, dict) or "layers" not in config:
        raise ValueError(
            "A Functional model config must be a dict with 'layers', "
            f"'input_layers' and 'output_layers'; received keys "
            f"{sorted(config) if isinstance(config, dict) else config!r}."
        )
    created: dict = {}
    order = []
    model_name = config.get("name")
    for entry in config["layers"]:
        entry = _legacy_layer_entry(entry)
        if keras_ops.is_op_entry(entry):
            order.append((_OpNode(entry, model_name), _nodes(entry)))
            continue
        if entry.get("class_name") == "OpLayer":
            raise ValueError(
                f'The op node "{entry.get("name")}" of model "{model_name}" '
                "was saved by an older graphkeras, which did not record the "
                "op it applies; the file cannot be loaded. Save the model "
                "again with this version."
            )
        layer = sl.deserialize_keras_object(entry, custom_objects,
                                            kind="layers")
        if not isinstance(layer, Layer):
            raise TypeError(
                f"Layer entry {entry.get('name')!r} of the model config is "
                f"not a layer (received {type(layer).__name__})."
            )
        name = entry.get("name", layer.name)
        created[name] = layer
        order.append((layer, _nodes(entry)))

    # NOTE: tensors are keyed by the name the config gives a layer, which
    # is not the rebuilt layer's when its get_config() leaves "name" out
    # (it then gets an automatic one), as Keras keys created_layers
    config_name = {id(layer): name for name, layer in created.items()}

    def key(layer):
        return config_name.get(id(layer), layer.name)

    # Keras 3 numbers a nested functional model's calls from 1 (see the
    # module docstring); older graphkeras files from 0
    refs = _histories([[e.get("inbound_nodes") for e in config["layers"]],
                       config.get("input_layers"),
                       config.get("output_layers")], [])
    from_zero = {h[0] for h in refs if h[1] == 0}
    shift = {name for name, layer in created.items()
             if _is_functional(layer) and name not in from_zero}

    tensors: dict = {}  # (layer name, node index) -> output structure
    for layer, _ in order:
        if type(layer).__name__ == "InputLayer" and layer._inbound_nodes:
            tensors[(key(layer), 0)] = layer._inbound_nodes[0].outputs

    def resolve(x):
        if isinstance(x, dict) and x.get("class_name") == "__keras_tensor__":
            name, node, index = x["config"]["keras_history"]
            return _tensor(name, node, index)
        if isinstance(x, list):
            return [resolve(v) for v in x]
        if isinstance(x, dict) and "class_name" not in x:
            return {k: resolve(v) for k, v in x.items()}
        return sl.deserialize_keras_object(x, custom_objects)

    def _tensor(name, node, index):
        out = tensors.get((name, node - (name in shift)))
        if out is None:
            raise _Pending()
        flat = tree.flatten(out)
        return flat[index]

    # Layers' nodes in config order; a node whose inputs are not ready
    # waits (Keras's own loader does the same for out-of-order configs).
    queue = [(layer, i, node) for layer, nodes in order
             for i, node in enumerate(nodes)]
    progress = True
    while queue and progress:
        progress = False
        rest = []
        for layer, i, node in queue:
            try:
                args, kwargs = _node_call(node, resolve)
            except _Pending:
                rest.append((layer, i, node))
                continue
            if isinstance(layer, _OpNode):
                tensors[(layer.name, i)] = layer.call(i, args, kwargs)
                progress = True
                continue
            kwargs.pop("training", None)
            if kwargs.get("mask", 0) is None:
                kwargs.pop("mask")
            tensors[(key(layer), i)] = layer(*args, **kwargs)
            progress = True
        queue = rest
    if queue:
        layer = queue[0][0]
        raise ValueError(
            f'The model config is inconsistent: layer "{layer.name}" is '
            "called on tensors that no layer of the config produces."
        )

    def io(spec):
        if isinstance(spec, dict):
            return {k: io(v) for k, v in spec.items()}
        if _is_history(spec):
            return _tensor(*spec)
        if isinstance(spec, (list, tuple)):
            if len(spec) == 1:
                return [io(spec[0])]
            return [io(v) for v in spec]
        raise ValueError(f"Cannot read model inputs/outputs spec {spec!r}.")

    try:
        inputs = io(config.get("input_layers", []))
        outputs = io(config.get("output_layers", []))
    except _Pending:
        raise ValueError(
            "The model config names inputs or outputs that no layer of the "
            f"config produces: input_layers={config.get('input_layers')}, "
            f"output_layers={config.get('output_layers')}."
        ) from None
    inputs = _unwrap_single(inputs)
    outputs = _unwrap_single(outputs)
    kwargs = {k: v for k, v in config.items()
              if k in ("name", "trainable")}
    from ..models.functional import Functional

    if cls is Functional or cls.__name__ == "Model" or not issubclass(
        cls, Functional
    ):
        return Functional(inputs, outputs, **kwargs)
    return cls(inputs=inputs, outputs=outputs, **kwargs)


class _OpNode:
    """A Keras op entry of a functional config (an Operation such as
    keras.src.ops.numpy.NotEqual): each of its saved calls becomes an
    OpLayer applying the graphkeras.ops function."""

    def __init__(self, entry: dict, model_name):
        self.entry = entry
        self.name = entry.get("name") or (entry.get("config") or {}).get(
            "name")
        self.where = keras_ops._where(entry, model_name)
        self.op = keras_ops.BY_CLASS.get(entry.get("class_name"))
        self.fn, self.init = keras_ops.resolve(entry, model_name)

    def call(self, index: int, args: list, kwargs: dict):
        args, kwargs = keras_ops.call_arguments(
            self.op, self.fn, args, kwargs, dict(self.init), self.where)
        tensors = [x for x in tree.flatten((args, kwargs))
                   if isinstance(x, KerasTensor)]
        name = self.name if index == 0 else f"{self.name}_{index}"
        layer = OpLayer(self.fn, template=(args, kwargs), name=name)
        try:
            return layer(tensors)
        except (ValueError, TypeError) as e:
            raise ValueError(
                f"graphkeras cannot load {self.where}: applying "
                f"ops.{self.op.function} to the saved arguments failed: {e}"
            ) from None


def _unwrap_single(x):
    if isinstance(x, list) and len(x) == 1 and not isinstance(x[0], list):
        return x[0]
    return x


def _nodes(entry: dict) -> list:
    return list(entry.get("inbound_nodes") or [])


def _node_call(node, resolve):
    """(args, kwargs) of one saved call, in the Keras 3 or the older
    `[[name, node, index, kwargs], ...]` spelling."""
    if isinstance(node, dict):
        args = [resolve(a) for a in node.get("args", [])]
        kwargs = {k: resolve(v) for k, v in (node.get("kwargs") or {}).items()}
        return args, kwargs
    if isinstance(node, list):
        ins, kwargs = [], {}
        for item in node:
            if not (isinstance(item, list) and len(item) >= 3):
                raise ValueError(f"Cannot read the saved layer call {node!r}.")
            name, nidx, tidx = item[0], item[1], item[2]
            if len(item) > 3 and isinstance(item[3], dict):
                kwargs.update(item[3])
            ins.append(resolve({"class_name": "__keras_tensor__",
                                "config": {"keras_history":
                                           [name, nidx, tidx]}}))
        kwargs = {k: resolve(v) for k, v in kwargs.items()}
        return [ins[0] if len(ins) == 1 else ins], kwargs
    raise ValueError(f"Cannot read the saved layer call {node!r}.")


def _legacy_layer_entry(entry: dict) -> dict:
    """InputLayer configs of older Keras: batch_input_shape -> batch_shape."""
    if not isinstance(entry, dict):
        raise TypeError(f"A layer entry must be a dict, received {entry!r}.")
    if entry.get("class_name") == "InputLayer":
        cfg = dict(entry.get("config") or {})
        if "batch_input_shape" in cfg and "batch_shape" not in cfg:
            cfg["batch_shape"] = cfg.pop("batch_input_shape")
        if "input_shape" in cfg and "batch_shape" not in cfg and \
                "shape" not in cfg:
            cfg["shape"] = cfg.pop("input_shape")
        entry = {**entry, "config": cfg}
    return entry


# --- Sequential ------------------------------------------------------------------


def sequential_config(model) -> dict:
    layers = [sl.serialize_keras_object(x) for x in model._layers]
    config = {"name": model.name, "trainable": model.trainable,
              "layers": layers}
    if model._layers and type(model._layers[0]).__name__ == "InputLayer":
        config["build_input_shape"] = list(model._layers[0].batch_shape)
    return config


def sequential_from_config(cls, config, custom_objects=None):
    from ..models.sequential import Sequential

    if isinstance(config, list):  # Keras 1/2: a bare list of layers
        config = {"layers": config}
    layers = []
    for entry in config.get("layers", []):
        entry = _legacy_layer_entry(entry)
        layers.append(sl.deserialize_keras_object(entry, custom_objects,
                                                  kind="layers"))
    kwargs = {k: v for k, v in config.items() if k in ("name", "trainable")}
    model = (Sequential if cls is None else cls)(**kwargs)
    for layer in layers:
        model.add(layer, rebuild=False)
    model._maybe_rebuild()
    shape = config.get("build_input_shape")
    if not model.built and shape is not None and model._layers:
        model.build(tuple(shape))
    return model
