"""Sequential: a plain stack of layers.

Layers come from the constructor list or `add()`. The model is built (a
Functional graph made from an Input of the known shape) as soon as the
input shape is known: from an `Input`/`InputLayer` added first, from
`input_shape=` / `input_dim=` given to the first layer, or, deferred, from
the first data it sees (`fit`, a call). Built from data, it keeps that
shape for its InputLayer (summary, config) but accepts inputs of other
non-batch sizes of the same rank where its layers do (a text model fitted
on length 7 predicts on length 11): the layers' own InputSpecs decide.
"""

from __future__ import annotations

from .. import tree
from ..layers.input_layer import InputLayer
from ..layers.input_spec import InputSpec
from ..layers.layer import Layer
from ..naming import auto_name
from ..tensors import KerasTensor, TracedTensor
from ..variables import bump_structure
from .functional import Functional
from .model import Model


class Sequential(Model):
    """A linear stack of layers.

    Example:
        >>> model = Sequential([Dense(64, activation="relu", input_shape=(100,)),
        ...                     Dense(10, activation="softmax")])
    """

    def __init__(self, layers=None, trainable=True, name=None):
        super().__init__(trainable=trainable, name=name)
        self._layers = []
        self._functional = None
        # the names and ids of the layers so far, kept while the list is
        # added (each add would otherwise scan every layer before it: a
        # model of 3000 layers took 2 s to construct)
        seen = ({}, set())
        for layer in layers or []:
            self.add(layer, rebuild=False, _seen=seen)
        self._maybe_rebuild()

    def add(self, layer, rebuild=True, _seen=None):
        """Append a layer (or an `Input(...)` tensor as the first item)."""
        if isinstance(layer, KerasTensor):
            h = layer._keras_history
            if h is not None and isinstance(h.operation, InputLayer):
                layer = h.operation
        if not isinstance(layer, Layer):
            raise ValueError(  # noqa: TRY004  (Keras raises ValueError)
                "Only instances of `keras.Layer` can be added to a Sequential "
                f"model. Received: {layer!r} (of type {type(layer)})"
            )
        names, ids = _seen if _seen is not None else (
            {x.name: x for x in self._layers}, {id(x) for x in self._layers})
        if names.get(layer.name, layer) is not layer:
            raise ValueError(
                "All layers added to a Sequential model should have unique "
                f"names. Name '{layer.name}' is already the name of a layer "
                "in this model. Update the `name` argument to pass a unique "
                "name.")
        if isinstance(layer, InputLayer) and self._layers:
            raise ValueError(
                f"Sequential model '{self.name}' has already been configured "
                "to use an input; an InputLayer can only be the first layer."
            )
        if id(layer) in ids:
            raise ValueError(
                f'Layer "{layer.name}" is already in Sequential model '
                f"'{self.name}'; a layer can appear only once."
            )
        if not self._layers and not isinstance(layer, InputLayer) and \
                layer._input_shape_arg is not None:
            first = InputLayer(batch_shape=layer._input_shape_arg)
            self._layers.append(first)
            names.setdefault(first.name, first)
            ids.add(id(first))
        self._layers.append(layer)
        names.setdefault(layer.name, layer)
        ids.add(id(layer))
        bump_structure()
        if rebuild:
            self._maybe_rebuild()

    def pop(self, rebuild=True):
        if not self.layers:
            raise TypeError("There are no layers in the model.")
        layer = self._layers.pop()
        bump_structure()
        self._functional = None
        self.built = False
        if rebuild:
            self._maybe_rebuild()
        return layer

    def _maybe_rebuild(self):
        self.built = False
        self._functional = None
        if self._layers and isinstance(self._layers[0], InputLayer) and len(
            self._layers
        ) > 1:
            self.build(self._layers[0].batch_shape)

    def build(self, input_shape=None):
        """Build the stack for inputs of `input_shape` (batch included)."""
        if input_shape is None:
            raise ValueError(
                "You must provide an `input_shape` argument to build a "
                "Sequential model."
            )
        input_shape = tuple(input_shape)
        if not self._layers or not isinstance(self._layers[0], InputLayer):
            self._layers.insert(0, InputLayer(batch_shape=input_shape))
        x = self._layers[0].output
        for layer in self._layers[1:]:
            x = layer(x)
        # NOTE: Keras 3's Sequential wraps an auto-named Functional: the
        # "functional" name counter moves, so a user's first Model() after
        # a Sequential is functional_1, as in Keras
        auto_name(Functional)
        self._functional = Functional(self._layers[0].output, x,
                                      name=self.name, trainable=self.trainable)
        self.input_spec = self._functional.input_spec
        if self.__dict__.get("_built_from_data"):
            # NOTE: built from the first data seen, the model accepts other
            # sizes wherever its layers do (Keras 3's fit/predict check
            # only the rank here): each layer checks its own InputSpec when
            # the program for the new shape is traced, naming the layer.
            self.input_spec = InputSpec(ndim=len(input_shape),
                                        allow_last_axis_squeeze=False)
        self.built = True

    @property
    def layers(self) -> list:
        return [x for x in self._layers if not isinstance(x, InputLayer)]

    def _sublayers(self) -> list:
        return self.layers

    def _maybe_build(self, inputs):
        if self.built:
            return
        x = tree.flatten(inputs)[0]
        shape = tuple(x.shape) if isinstance(x, (KerasTensor, TracedTensor)) \
            else tuple(getattr(x, "shape", ()))
        self.__dict__["_built_from_data"] = True
        # the data's batch size, which Keras 3's summary shows (summary.py)
        self.__dict__["_built_batch"] = shape[0] if shape else None
        dtype = getattr(x, "dtype", None)
        # NOTE: a KerasTensor's dtype is a name ("float32", "string"), an
        # array's a numpy dtype ("" in "USO" would hold for the first)
        strings = dtype == "string" if isinstance(dtype, str) else \
            getattr(dtype, "kind", None) in ("U", "S", "O")
        if strings and self._layers and \
                not isinstance(self._layers[0], InputLayer):
            # strings for a host layer at the front (layers/host.py)
            self._layers.insert(0, InputLayer(
                batch_shape=(None,) + tuple(shape[1:]), dtype="string"))
        self.build((None,) + tuple(shape[1:]))

    def call(self, inputs, training=None, mask=None):
        return self._functional.call(inputs, training=training)

    def _convert_inputs(self, inputs):
        fn = self._functional
        if fn is not None and fn.__dict__.get("_host") is not None:
            return inputs  # (strings for the host layers: each converts)
        return Layer._convert_inputs(self, inputs)

    @property
    def inputs(self):
        return self._functional.inputs if self._functional else None

    @property
    def outputs(self):
        return self._functional.outputs if self._functional else None

    @property
    def input(self):
        return self._functional.input if self._functional else None

    @property
    def output(self):
        if self._functional is None:
            raise AttributeError(
                f"Sequential model '{self.name}' has no defined outputs yet: "
                "it has not been built."
            )
        return self._functional.output

    @property
    def input_names(self):
        return self._functional.input_names if self._functional else ["x0"]

    @property
    def output_names(self):
        return self._functional.output_names if self._functional else None

    def get_config(self):
        from ..saving.model_config import sequential_config

        return sequential_config(self)

    @classmethod
    def from_config(cls, config, custom_objects=None):
        from ..saving.model_config import sequential_from_config

        return sequential_from_config(cls, config, custom_objects)
