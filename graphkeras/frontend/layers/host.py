"""Host layers: preprocessing layers that run in NumPy, before the compiled
program (TextVectorization, StringLookup, Hashing, HashedCrossing,
FeatureSpace).

Compiled graphkeras programs compute on numbers; these layers work on
strings or hash values on the host. They can still sit inside a
functional or Sequential model, at its front, as Keras users write
end-to-end models:

    inputs = keras.Input(shape=(1,), dtype="string")
    x = vectorizer(inputs)             # a host layer: a symbolic call
    outputs = classifier(x)            # compiled
    model = keras.Model(inputs, outputs)

On a KerasTensor a host layer records a node whose output spec comes from
the layer's `host_output_spec` (no trace: strings cannot be traced). The
model splits its graph into a host stage (models/host_stage.py), run in
NumPy on each batch, and the compiled rest, which takes the host stage's
outputs as its inputs (`HostStaged`).

Invariants:
- A host layer takes the model's inputs or other host layers' outputs;
  given the output of a compiled layer it raises, naming both layers.
- Inside a trace (a compiled step, a subclassed model's call) a host layer
  raises: its work cannot be recorded as IR.
"""

from __future__ import annotations

from .. import tree
from ..tensors import HostStaged, KerasTensor, TracedTensor
from ..variables import Variable
from .layer import Node, _name_scope


def is_host_layer(op) -> bool:
    return isinstance(op, HostLayer)


def _producer(kt):
    h = kt._keras_history
    return None if h is None else h.operation


class HostLayer:
    """Mixin of the layers that run on the host (before Layer in the
    bases). Subclasses define `host_call(inputs)` (NumPy in, NumPy out) and
    `host_output_spec(inputs)` (KerasTensors in, KerasTensors out)."""

    # what the layer does on the host, for error messages
    host_work = "works on strings"

    def __call__(self, inputs, *args, **kwargs):
        leaves = tree.flatten(inputs)
        if any(isinstance(v, KerasTensor) for v in leaves):
            with _name_scope(self):
                return self._host_symbolic_call(inputs)
        if any(isinstance(v, (TracedTensor, Variable)) for v in leaves):
            raise ValueError(
                f'Layer "{self.name}" ({type(self).__name__}) '
                f"{self.host_work}, which runs in NumPy on the host, not in "
                "a compiled program: it cannot be called inside a traced "
                "step or a subclassed model's call(). Place it at the front "
                "of a functional or Sequential model (applied to the "
                "keras.Input, see docs/preprocessing_tabular.md), or apply "
                "it to the NumPy data before fit / predict.")
        return self.host_call(inputs)

    def _host_symbolic_call(self, inputs):
        for kt in tree.flatten(inputs):
            if not isinstance(kt, KerasTensor):
                continue
            op = _producer(kt)
            if op is None or type(op).__name__ == "InputLayer" or \
                    is_host_layer(op):
                continue
            raise ValueError(
                f'Layer "{self.name}" ({type(self).__name__}) '
                f"{self.host_work}, so it runs on the host in NumPy before "
                "the compiled model: it must be applied to the model's "
                "inputs (keras.Input) or to another host preprocessing "
                "layer's output, at the front of the model. It received "
                f'the output of layer "{op.name}" ({type(op).__name__}), '
                "which is compiled. Move it to the front of the model, or "
                "apply it to the model's NumPy outputs after predict().")
        outputs = self.host_output_spec(inputs)
        Node(self, (inputs,), {}, outputs)
        return outputs

    def host_output_spec(self, inputs):  # pragma: no cover - abstract
        raise NotImplementedError

    def host_call(self, inputs):  # pragma: no cover - abstract
        raise NotImplementedError


def spec(shape, dtype) -> KerasTensor:
    return KerasTensor(tuple(shape), dtype)


__all__ = ["HostLayer", "HostStaged", "is_host_layer"]

