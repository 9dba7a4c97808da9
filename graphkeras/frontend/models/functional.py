"""Functional models: a graph of layer calls between Inputs and outputs.

`Functional(inputs, outputs)` walks the KerasTensors' histories back from
the outputs to the inputs and keeps the nodes in an order where every node
comes after its parents (input nodes first, in input order). `call()`
replays that graph on whatever it is given: arrays (eager), traced tensors
(tracing a program) or KerasTensors (nesting the model in another graph).

Invariants: every path from an output leads back to one of `inputs`
(else "Graph disconnected"); `_nodes` is an execution order (producers
first); `_graph_layers` lists each layer once, in Keras 3's order (by
depth from the outputs, see `_keras_layer_order`: get/set_weights lists
match Keras's); `layers` is that list without the op nodes (`OpLayer`s, the
keras.ops calls), as Keras 3's `Functional.layers` leaves out Operations.
"""

from __future__ import annotations

from ... import ir  # noqa: F401  (keeps import order: ir before frontend)
from .. import tree
from ..layers.core import OpLayer
from ..layers.input_layer import InputLayer
from ..layers.input_spec import InputSpec
from ..layers.layer import Layer
from ..tensors import HostStaged, KerasTensor
from .host_stage import HostStage
from .model import Model


def _check_keras_tensors(struct, what):
    for x in tree.flatten(struct):
        if not isinstance(x, KerasTensor):
            raise ValueError(  # noqa: TRY004  (Keras raises ValueError)
                f"All `{what}` of a functional Model must be KerasTensors "
                f"(from keras.Input or from calling layers on them). "
                f"Received: {what}={struct!r}"
            )


def _is_input_tensor(x) -> bool:
    h = x._keras_history
    return h is not None and isinstance(h.operation, InputLayer)


def _inputs_from_tensors(inputs, outputs):
    """Keras 3: the inputs of a functional model may be tensors that layers
    made (keras.io's FeatureSpace example: `keras.Model(inputs=
    encoded_features, ...)`). Each becomes a new Input of its shape and
    dtype, and the layers between them and the outputs are called again
    on those (new nodes, the same layers and weights), as Keras's
    clone_graph_nodes does; the original graph is left as it was."""
    flat_in = tree.flatten(inputs)
    if all(_is_input_tensor(x) for x in flat_in):
        return inputs, outputs
    values = {}
    for x in flat_in:
        values[id(x)] = x if _is_input_tensor(x) else InputLayer(
            batch_shape=x.shape, dtype=x.dtype).output
    order, done = [], set()
    for y in tree.flatten(outputs):
        if id(y) in values or y._keras_history is None:
            continue
        h = y._keras_history
        root = h.operation._inbound_nodes[h.node_index]
        if id(root) in done:
            continue
        stack = [(root, iter(root.input_tensors))]
        done.add(id(root))
        while stack:
            node, it = stack[-1]
            kt = next(it, None)
            if kt is None:
                stack.pop()
                order.append(node)
                continue
            if id(kt) in values or kt._keras_history is None:
                continue
            h = kt._keras_history
            parent = h.operation._inbound_nodes[h.node_index]
            if id(parent) not in done and not parent.is_input:
                done.add(id(parent))
                stack.append((parent, iter(parent.input_tensors)))
    for node in order:
        if not any(id(kt) in values for kt in node.input_tensors):
            continue  # (a branch from elsewhere: Graph disconnected later)
        args, kwargs = tree.map_structure(
            lambda t: values.get(id(t), t) if isinstance(t, KerasTensor)
            else t, node.arguments)
        out = node.operation(*args, **kwargs)
        for kt, v in zip(node.output_tensors, tree.flatten(out)):
            values[id(kt)] = v
    return (tree.pack_like(inputs, [values[id(x)] for x in flat_in]),
            tree.pack_like(outputs, [values.get(id(y), y)
                                     for y in tree.flatten(outputs)]))


def _sort_dicts(struct):
    """`struct` with every dict's keys in sorted order (as Keras 3's tree
    flattens them; keys that do not sort keep their order)."""
    if isinstance(struct, dict):
        try:
            keys = sorted(struct)
        except TypeError:
            keys = list(struct)
        return {k: _sort_dicts(struct[k]) for k in keys}
    if isinstance(struct, (list, tuple)) and not hasattr(struct, "_fields"):
        return type(struct)(_sort_dicts(v) for v in struct)
    return struct


class Functional(Model):
    """A model defined by `Model(inputs, outputs)`."""

    def __init__(self, inputs, outputs, name=None, **kwargs):
        if isinstance(inputs, dict):
            for k, v in inputs.items():
                if isinstance(v, KerasTensor) and v.name and k != v.name:
                    pass
        _check_keras_tensors(inputs, "inputs")
        _check_keras_tensors(outputs, "outputs")
        inputs, outputs = _inputs_from_tensors(inputs, outputs)
        trainable = kwargs.pop("trainable", True)
        Model.__init__(self, name=name, trainable=trainable, **kwargs)
        # Keras 3 flattens a dict by sorted key (its tree is optree): the
        # flat inputs/outputs, `output_names`, `layers`, the weights' order
        # and the matching of list data all follow the sorted keys.
        inputs, outputs = _sort_dicts(inputs), _sort_dicts(outputs)
        self._inputs_struct = inputs
        self._outputs_struct = outputs
        self._inputs = tree.flatten(inputs)
        self._outputs = tree.flatten(outputs)
        for i, x in enumerate(self._inputs):
            h = x._keras_history
            if h is None or not isinstance(h.operation, InputLayer):
                raise ValueError(
                    f"Input {i} of the functional model is not the output of "
                    "keras.Input(): functional models must start from Input "
                    f"tensors. Received: {x!r}"
                )
        self._nodes = self._walk()
        self._graph_layers = self._keras_layer_order()
        # unique names, as Keras 3 requires: saved configs and legacy .h5
        # weights refer to the layers by name
        seen: dict = {}
        for op in self._graph_layers:
            seen[op.name] = seen.get(op.name, 0) + 1
        for op_name, count in seen.items():
            if count > 1:
                raise ValueError(
                    f'The name "{op_name}" is used {count} times in the '
                    "model. All operation names should be unique.")
        # host layers (strings, hashing) at the front run in NumPy on each
        # batch before the compiled part (models/host_stage.py)
        self.__dict__["_host"] = HostStage.of(self)
        self.input_spec = [InputSpec(shape=x.shape, dtype=x.dtype)
                           for x in self._inputs]
        if isinstance(inputs, dict):
            self.input_spec = dict(zip(inputs.keys(), self.input_spec))
        elif not isinstance(inputs, (list, tuple)):
            self.input_spec = self.input_spec[0]
        self.built = True

    # --- graph -----------------------------------------------------------------

    def _walk(self) -> list:
        input_ids = {id(x) for x in self._inputs}
        order, state = [], {}

        def node_of(kt):
            h = kt._keras_history
            if h is None:
                raise ValueError(
                    f"Graph disconnected: the tensor {kt!r} was not produced "
                    "by a layer call from the model's inputs."
                )
            return h.operation._inbound_nodes[h.node_index]

        for x in self._inputs:
            n = node_of(x)
            state[id(n)] = 2
            order.append(n)

        def visit(kt):
            if id(kt) in input_ids:
                return
            n = node_of(kt)
            if state.get(id(n)) == 2:
                return
            if n.is_input:
                raise ValueError(
                    "Graph disconnected: cannot find parent for "
                    f'{kt!r}: it comes from the Input "{n.operation.name}", '
                    "which is not in the model's `inputs`. Add it to inputs."
                )
            stack = [(n, iter(n.input_tensors))]
            state[id(n)] = 1
            while stack:
                cur, it = stack[-1]
                nxt = next(it, None)
                if nxt is None:
                    stack.pop()
                    state[id(cur)] = 2
                    order.append(cur)
                    continue
                if id(nxt) in input_ids:
                    continue
                m = node_of(nxt)
                if state.get(id(m)) == 2:
                    continue
                if m.is_input:
                    raise ValueError(
                        "Graph disconnected: cannot find parent for "
                        f'{nxt!r}: it comes from the Input "{m.operation.name}"'
                        ", which is not in the model's `inputs`. Add it to "
                        "inputs."
                    )
                state[id(m)] = 1
                stack.append((m, iter(m.input_tensors)))

        for y in self._outputs:
            visit(y)
        return order

    def _keras_layer_order(self) -> list:
        """Each layer once, in Keras 3's order (its map_graph), which fixes
        `layers`, `weights` and get/set_weights: deepest first (a layer's
        depth is its longest path to an output, the inputs' deepest), ties
        in the order a depth-first walk from the outputs first meets them.
        Producers always come before their consumers."""
        input_ids = {id(x) for x in self._inputs}

        def node_of(kt):
            h = kt._keras_history
            return h.operation._inbound_nodes[h.node_index]

        def below(node, kt):
            if node.is_input or id(kt) in input_ids:
                return iter(())
            return iter(node.input_tensors)

        index: dict = {}      # id(op) -> (first-visit rank, op)
        post: list = []       # nodes, producers before consumers
        done: set = set()
        for y in self._outputs:
            n = node_of(y)
            if id(n) in done:
                continue
            index.setdefault(id(n.operation), (len(index), n.operation))
            stack = [(n, below(n, y))]
            while stack:
                cur, it = stack[-1]
                kt = next(it, None)
                if kt is None:
                    stack.pop()
                    done.add(id(cur))
                    post.append(cur)
                    continue
                if kt._keras_history is None:
                    continue
                m = node_of(kt)
                if id(m) in done:
                    continue
                index.setdefault(id(m.operation), (len(index), m.operation))
                stack.append((m, below(m, kt)))
        in_graph = {id(n) for n in post}
        node_depth: dict = {}
        op_depth: dict = {}
        for n in reversed(post):
            d = max(node_depth.setdefault(id(n), 0),
                    op_depth.get(id(n.operation), 0))
            op_depth[id(n.operation)] = node_depth[id(n)] = d
            for p in n.parent_nodes:
                if id(p) in in_graph:
                    node_depth[id(p)] = max(d + 1, node_depth.get(id(p), 0))
        for x in self._inputs:
            op = x._keras_history.operation
            if id(op) not in op_depth:
                op_depth[id(op)] = 0
                index[id(op)] = (-1, op)
        return [index[k][1] for k in sorted(
            op_depth, key=lambda k: (-op_depth[k], index[k][0]))]

    @property
    def layers(self) -> list:
        # As in Keras 3, op nodes (keras.ops calls on KerasTensors, which
        # are Operations there) are in the graph but not in `layers`.
        return [x for x in self._graph_layers if not isinstance(x, OpLayer)]

    def _sublayers(self) -> list:
        return list(self._graph_layers)

    @property
    def inputs(self):
        return list(self._inputs)

    @property
    def outputs(self):
        return list(self._outputs)

    @property
    def input(self):
        return self._inputs_struct

    @property
    def output(self):
        return self._outputs_struct

    @property
    def input_names(self) -> list:
        return [x._keras_history.operation.name for x in self._inputs]

    @property
    def output_names(self) -> list:
        if isinstance(self._outputs_struct, dict):
            return list(self._outputs_struct.keys())
        return [x._keras_history.operation.name for x in self._outputs]

    # --- calling ---------------------------------------------------------------

    def _flatten_inputs(self, inputs) -> list:
        n = len(self._inputs)
        if isinstance(inputs, dict):
            keys = (list(self._inputs_struct.keys())
                    if isinstance(self._inputs_struct, dict)
                    else self.input_names)
            missing = [k for k in keys if k not in inputs]
            if missing:
                raise ValueError(
                    f'Missing data for input "{missing[0]}". You passed a data '
                    f"dictionary with keys {list(inputs.keys())}. Expected the "
                    f"following keys: {keys}"
                )
            return [inputs[k] for k in keys]
        flat = list(inputs) if isinstance(inputs, (list, tuple)) else [inputs]
        if len(flat) != n:
            raise ValueError(
                f'Layer "{self.name}" expects {n} input(s), but it received '
                f"{len(flat)} input tensors."
            )
        return flat

    def call(self, inputs, training=None, mask=None):
        if inputs.__class__ is HostStaged:
            # the compiled part: the host stage ran on the batch already
            host = self.__dict__.get("_host")
            if host is None or len(inputs) != len(host.boundary):
                raise ValueError(
                    f'Model "{self.name}" received host-staged inputs it '
                    "does not expect (it has no host preprocessing layers "
                    "or a different boundary).")
            values = {id(kt): v for kt, v in zip(host.boundary, inputs)}
            return self._replay(host.compiled_nodes, values, training)
        flat = self._flatten_inputs(inputs)
        if mask is not None:  # Keras: given masks are attached to the inputs
            from ..layers.masks import set_keras_mask

            for v, m in zip(flat, tree.flatten(mask) if isinstance(
                    mask, (list, tuple, dict)) else [mask]):
                if m is not None:
                    set_keras_mask(v, m)
        values = {id(kt): v for kt, v in zip(self._inputs, flat)}
        return self._replay(self._nodes, values, training)

    def _replay(self, nodes, values, training):
        """Run `nodes` (in order) from `values` (id(KerasTensor) ->
        value); the outputs, packed like the model's."""
        for node in nodes:
            if node.is_input:
                continue
            args, kwargs = tree.map_structure(
                lambda x: values[id(x)] if isinstance(x, KerasTensor) else x,
                node.arguments)
            op = node.operation
            if training is not None and getattr(op, "_accepts", None) \
                    and op._accepts("training"):
                # Keras 3: the model's training flag replaces the one
                # recorded at the layer's call (`base(x, training=False)`
                # runs in training mode under fit; a frozen base's
                # BatchNormalization stays in inference mode through
                # trainable=False)
                kwargs = {**kwargs, "training": training}
            out = op(*args, **kwargs)
            flat_out = tree.flatten(out)
            for kt, v in zip(node.output_tensors, flat_out):
                values[id(kt)] = v
        return tree.pack_like(self._outputs_struct,
                              [values[id(kt)] for kt in self._outputs])

    def _convert_inputs(self, inputs):
        # Functional models take data keyed like their inputs; each layer
        # converts its own inputs. A missing key is named here (before the
        # input specs count the entries); extra keys are dropped with a
        # warning, as fit / predict do (frontend/data.py).
        if isinstance(inputs, dict):
            keys = (list(self._inputs_struct.keys())
                    if isinstance(self._inputs_struct, dict)
                    else self.input_names)
            self._flatten_inputs(inputs)
            extra = [k for k in inputs if k not in keys]
            if extra:
                import warnings

                warnings.warn(
                    f"Input dict contained keys {extra} which did not match "
                    f"any model input ({keys}). They will be ignored by the "
                    "model.", stacklevel=4)
            return {k: inputs[k] for k in keys}
        if self.__dict__.get("_host") is not None:
            return inputs  # (strings for the host layers: each converts)
        return Layer._convert_inputs(self, inputs)

    def get_config(self):
        from ..saving.model_config import functional_config

        return functional_config(self)

    @classmethod
    def from_config(cls, config, custom_objects=None):
        from ..saving.model_config import functional_from_config

        return functional_from_config(cls, config, custom_objects)
