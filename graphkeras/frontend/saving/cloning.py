"""clone_model: the same architecture with new layers (new weights).

As in Keras 3, each layer is rebuilt with `clone_function(layer)`
(default: `layer.__class__.from_config(layer.get_config())`), so the clone
starts from fresh initial weights; copy them with
`clone.set_weights(model.get_weights())`. A Functional model's graph is
replayed on new Inputs (a layer called twice is cloned once and called
twice; op nodes, keras.ops calls, are applied again without going
through clone_function, as Keras's Operations are); a Sequential model
gets the cloned layers in order; a subclassed model is rebuilt from its
config.
"""

from __future__ import annotations

from .. import tree
from . import serialization_lib as sl


def _default_clone(layer):
    return sl.deserialize_keras_object(sl.serialize_keras_object(layer))


def clone_model(model, input_tensors=None, clone_function=None,
                call_function=None, recursive=False, **kwargs):
    """A copy of `model` with new layers (new, freshly initialized
    weights).

    Args:
        model: a Functional, Sequential or subclassed model.
        input_tensors: optional Input tensors to build the clone on.
        clone_function: `fn(layer) -> layer` used for every layer but the
            Inputs (default: from_config(get_config())).
        call_function: `fn(layer, *args, **kwargs)` calling each cloned
            layer (default: `layer(*args, **kwargs)`).
        recursive: also clone the layers of nested models one by one.

    Example:
        >>> twin = clone_model(model)
        >>> twin.set_weights(model.get_weights())
    """
    from ..layers.core import OpLayer
    from ..layers.input_layer import Input, InputLayer
    from ..models.functional import Functional
    from ..models.model import Model
    from ..models.sequential import Sequential

    if kwargs:
        raise ValueError(f"Unexpected argument(s) to clone_model: "
                         f"{sorted(kwargs)}.")
    if not isinstance(model, Model):
        raise ValueError(  # noqa: TRY004  (Keras raises ValueError)
            "Expected `model` argument to be a `Model` instance. Received: "
            f"model={model!r}"
        )
    clone = clone_function or _default_clone

    def clone_layer(layer):
        if isinstance(layer, OpLayer):
            # a keras.ops call: an Operation in Keras, which clone_function
            # never sees; the copy applies the same op to the new tensors
            return OpLayer(layer.fn, template=layer._template,
                           name=layer.name)
        if recursive and isinstance(layer, (Functional, Sequential)):
            return clone_model(layer, clone_function=clone_function,
                               call_function=call_function, recursive=True)
        return clone(layer)

    if isinstance(model, Sequential):
        layers = []
        for layer in model._layers:
            if isinstance(layer, InputLayer):
                if input_tensors is None:
                    layers.append(InputLayer(batch_shape=layer.batch_shape,
                                             dtype=layer.dtype,
                                             name=layer.name))
                continue
            layers.append(clone_layer(layer))
        out = Sequential(name=model.name, trainable=model.trainable)
        if input_tensors is not None:
            out.add(tree.flatten(input_tensors)[0], rebuild=False)
        for layer in layers:
            out.add(layer, rebuild=False)
        out._maybe_rebuild()
        return out
    if not isinstance(model, Functional):
        return sl.deserialize_keras_object(sl.serialize_keras_object(model))

    new_inputs = {}
    given = tree.flatten(input_tensors) if input_tensors is not None else None
    if given is not None and len(given) != len(model._inputs):
        raise ValueError(
            f"input_tensors must hold {len(model._inputs)} tensor(s), "
            f"received {len(given)}."
        )
    for i, x in enumerate(model._inputs):
        if given is not None:
            new_inputs[id(x)] = given[i]
        else:
            layer = x._keras_history.operation
            new_inputs[id(x)] = Input(batch_shape=tuple(x.shape), dtype=x.dtype,
                                      name=layer.name)
    values = dict(new_inputs)
    clones: dict = {}
    for node in model._nodes:
        if node.is_input:
            continue
        layer = node.operation
        if id(layer) not in clones:
            clones[id(layer)] = clone_layer(layer)
        new = clones[id(layer)]
        args, kw = tree.map_structure(
            lambda v: values.get(id(v), v),
            node.arguments)
        out = (call_function(new, *args, **kw) if call_function
               else new(*args, **kw))
        for kt, v in zip(node.output_tensors, tree.flatten(out)):
            values[id(kt)] = v
    inputs = tree.pack_like(model._inputs_struct,
                            [values[id(x)] for x in model._inputs])
    outputs = tree.pack_like(model._outputs_struct,
                             [values[id(y)] for y in model._outputs])
    return Functional(inputs, outputs, name=model.name,
                      trainable=model.trainable)
