"""The host stage of a functional model: its host layers (layers/host.py:
TextVectorization, StringLookup, Hashing, HashedCrossing, FeatureSpace),
run in NumPy on each batch before the compiled program.

A model whose graph holds host layers is split in two when it is made:

    raw inputs ──host nodes (NumPy)──▶ boundary values ──compiled nodes──▶ outputs

The *boundary* is what the compiled part reads from the host side: the
outputs of host nodes that compiled nodes (or the model's outputs) use,
and the model inputs that compiled nodes read directly, in first-use
order. fit / evaluate / predict / the on-batch methods / run_eagerly run
`run(xs)` on each batch and hand the boundary arrays, as a `HostStaged`
tuple, to the traced step: Functional.call given a HostStaged runs only
the compiled nodes. An eager call on NumPy data (`model(x)`) runs the
whole graph, host layers included.

Invariants:
- Host nodes read only model inputs or other host nodes' outputs (a host
  layer after a compiled layer raises, naming both).
- No boundary value is a string: strings end in the host stage.
- A model holding host layers is not nested in another model (its host
  stage would run inside the outer compiled program): that raises, naming
  the model and its host layer.
"""

from __future__ import annotations

import numpy as np

from .. import tree
from ..layers.host import is_host_layer
from ..tensors import HostStaged, KerasTensor


def _host_layers_of(op) -> list:
    """The host layers of a model used as a layer (empty for a layer)."""
    fn = op if hasattr(op, "_inputs_struct") else op.__dict__.get(
        "_functional")
    host = None if fn is None else fn.__dict__.get("_host")
    return [] if host is None else [n.operation for n in host.nodes]


def _as_compiled_input(a, consumer) -> np.ndarray:
    """A host-stage value as an array a compiled program takes."""
    a = np.asarray(a)
    if a.dtype.kind in "USO":
        raise ValueError(
            f'Layer "{consumer.name}" ({type(consumer).__name__}) is '
            "compiled and received strings (the model's input or a host "
            "layer's output, dtype "
            f"{a.dtype}): compiled layers compute on numbers. Turn the "
            "strings into numbers first with a host preprocessing layer "
            "(StringLookup, TextVectorization, Hashing).")
    if a.dtype == np.float64 or a.dtype == np.float16:
        a = a.astype(np.float32)
    elif a.dtype.kind in "iu" and a.dtype.itemsize < 4:
        a = a.astype(np.int32)
    elif a.dtype in (np.uint32, np.uint64):
        a = a.astype(np.int64)
    return np.ascontiguousarray(a)


class HostStage:
    """The host part of functional model `fn` (see the module docstring).

    Attributes:
        nodes: the host nodes, in execution order.
        compiled_nodes: the other non-input nodes, in execution order.
        boundary: the KerasTensors the compiled part takes, in order.
    """

    def __init__(self, fn, host_nodes: list):
        self.inputs = list(fn._inputs)
        self.nodes = host_nodes
        host_ids = {id(n) for n in host_nodes}
        self.compiled_nodes = [n for n in fn._nodes
                               if not n.is_input and id(n) not in host_ids]
        on_host = {id(kt) for kt in self.inputs}
        for n in host_nodes:
            on_host.update(id(kt) for kt in n.output_tensors)
        self.boundary = []
        self._consumer = []  # a compiled layer reading each boundary value
        seen = set()

        def want(kt, consumer):
            if id(kt) in on_host and id(kt) not in seen:
                seen.add(id(kt))
                self.boundary.append(kt)
                self._consumer.append(consumer)

        for n in self.compiled_nodes:
            nested = _host_layers_of(n.operation)
            if nested:
                raise ValueError(
                    f'Model "{n.operation.name}" holds the host '
                    f'preprocessing layer "{nested[0].name}" '
                    f"({type(nested[0]).__name__}) and is called inside "
                    f'model "{fn.name}": a model with host layers cannot '
                    "be nested in another model (its host layers run in "
                    "NumPy before the compiled program). Apply the host "
                    "layer in the outer model instead, to its "
                    "keras.Input, and nest a model of the compiled layers.")
            for kt in n.input_tensors:
                want(kt, n.operation)
        for kt in fn._outputs:
            want(kt, fn)
        for kt, consumer in zip(self.boundary, self._consumer):
            if kt.dtype == "string":
                op = kt._keras_history.operation
                raise ValueError(
                    f'Model "{fn.name}" would hand strings (the output of '
                    f'"{op.name}", {type(op).__name__}) to its compiled part'
                    + (" as a model output" if consumer is fn else
                       f' (layer "{consumer.name}")')
                    + ": compiled programs hold numbers only. Apply a layer "
                    "that outputs strings (StringLookup(invert=True)) to "
                    "the NumPy results of predict() instead.")
        # boundary values that index an Embedding: checked as the data
        # adapter checks model inputs (the compiled gather would clamp)
        from ..layers.embedding import Embedding

        index = {id(kt): i for i, kt in enumerate(self.boundary)}
        self.limits = []
        for n in self.compiled_nodes:
            if isinstance(n.operation, Embedding) and n.input_tensors and \
                    id(n.input_tensors[0]) in index and \
                    id(n.input_tensors[0]) not in {
                        id(kt) for kt in self.inputs}:
                self.limits.append((index[id(n.input_tensors[0])],
                                    n.operation.input_dim, n.operation.name))

    @classmethod
    def of(cls, fn):
        """The host stage of functional model `fn`, or None when its graph
        holds no host layer."""
        host_nodes = [n for n in fn._nodes
                      if not n.is_input and is_host_layer(n.operation)]
        if not host_nodes:
            for n in fn._nodes:  # (a nested model with host layers)
                if not n.is_input and _host_layers_of(n.operation):
                    cls(fn, [])
            return None
        on_host = {id(kt) for kt in fn._inputs}
        for n in host_nodes:
            for kt in n.input_tensors:
                if id(kt) not in on_host:
                    op = kt._keras_history.operation
                    layer = n.operation
                    raise ValueError(
                        f'Layer "{layer.name}" ({type(layer).__name__}) '
                        f"{layer.host_work}, so it runs on the host in NumPy "
                        "before the compiled model: it must be applied to "
                        "the model's inputs or to another host layer's "
                        f'output. In model "{fn.name}" it reads the output '
                        f'of layer "{op.name}" ({type(op).__name__}), which '
                        "is compiled. Move it to the front of the model.")
            on_host.update(id(kt) for kt in n.output_tensors)
        return cls(fn, host_nodes)

    def run(self, xs: list) -> list:
        """The boundary arrays for one batch of raw inputs `xs` (in the
        model's input order)."""
        values = {id(kt): x for kt, x in zip(self.inputs, xs)}
        for node in self.nodes:
            args, kwargs = tree.map_structure(
                lambda x: values[id(x)] if isinstance(x, KerasTensor) else x,
                node.arguments)
            out = node.operation(*args, **kwargs)
            for kt, v in zip(node.output_tensors, tree.flatten(out)):
                values[id(kt)] = v
        out = [_as_compiled_input(values[id(kt)], c)
               for kt, c in zip(self.boundary, self._consumer)]
        if self.limits:
            from ..data import check_indices

            for i, size, name in self.limits:
                check_indices(out[i], size, name)
        return out

    def stage_batch(self, batch):
        """(xs, ys, sws) of raw inputs -> (boundary arrays, ys, sws), and
        the x template the traced step packs them with."""
        xs, ys, sws = batch
        staged = self.run(xs)
        return (staged, ys, sws), HostStaged([None] * len(staged))

