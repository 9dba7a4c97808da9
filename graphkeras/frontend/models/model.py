"""Model: a Layer with training (Trainer) and summary.

`Model(inputs, outputs)` returns a Functional model (as in Keras 3);
subclassing Model and defining `call()` gives a subclassed model whose
layers are found from its attributes and which builds on its first call.
"""

from __future__ import annotations

import numpy as np

from .. import distributed_trainer as _dist
from .. import tracing, tree
from ..layers.layer import _CONTEXT, Layer
from ..tensors import HostStaged, KerasTensor
from ..trainer import Trainer
from ..variables import structure_version

_F32 = np.dtype(np.float32)

# model(x) on a NumPy array: after this many eager calls on arrays of one
# per-sample shape, the calls run the compiled predict step (a model
# called once or twice compiles nothing)
EAGER_CALLS = 2
_EAGER = object()  # _array_call's "run the eager call"


def _is_functional_call(args, kwargs) -> bool:
    if "inputs" in kwargs and "outputs" in kwargs:
        return True
    if len(args) >= 2:
        # Model(inputs, outputs) with KerasTensor inputs is functional even
        # when the outputs are wrong: Functional names what is wrong
        return any(isinstance(x, KerasTensor) for x in tree.flatten(args[0]))
    return len(args) == 1 and "outputs" in kwargs


def _inject_functional(cls) -> None:
    """Put Functional in place of Model among the bases of `cls` (Keras 3's
    inject_functional_model_class)."""
    from .functional import Functional

    if cls is Model or issubclass(cls, Functional):
        return
    bases = tuple(Functional if base is Model else base
                  for base in cls.__bases__)
    if bases == cls.__bases__:
        for base in cls.__bases__:
            if issubclass(base, Model):
                _inject_functional(base)
        return
    cls.__bases__ = bases


class Model(Trainer, Layer):
    """A model: layers plus compile / fit / evaluate / predict.

    Three ways to make one, as in Keras:

        inputs = Input(shape=(100,))
        outputs = Dense(10, activation="softmax")(Dense(64)(inputs))
        model = Model(inputs, outputs)             # functional

        model = Sequential([...])                  # sequential

        class MyModel(Model):                      # subclassed
            def __init__(self):
                super().__init__()
                self.dense = Dense(10)
            def call(self, inputs, training=None):
                return self.dense(inputs)
    """

    _rounds_outputs = False  # mixed_float16: its layers round their own

    def __new__(cls, *args, **kwargs):
        if cls is Model and _is_functional_call(args, kwargs):
            from .functional import Functional

            return Functional.__new__(Functional, *args, **kwargs)
        return super().__new__(cls, *args, **kwargs)

    def __init__(self, *args, **kwargs):
        if args or "inputs" in kwargs or "outputs" in kwargs:
            # `class CustomModel(Model)` + `CustomModel(inputs, outputs)`:
            # as Keras 3, the class becomes a subclass of Functional and
            # the graph is built by Functional.__init__
            from .functional import Functional

            if not isinstance(self, Functional):
                _inject_functional(type(self))
            Functional.__init__(self, *args, **kwargs)
            return
        name = kwargs.pop("name", None)
        trainable = kwargs.pop("trainable", True)
        dtype = kwargs.pop("dtype", None)
        Layer.__init__(self, name=name, trainable=trainable, dtype=dtype,
                       **kwargs)
        Trainer.__init__(self)

    def _maybe_build(self, inputs) -> None:
        if self.built:
            return
        if type(self).build is not Model.build:
            Layer._maybe_build(self, inputs)
            return
        # A subclassed model's sublayers build on their first call; the
        # input shape is kept for its build_config (saving).
        self.built = True
        try:
            self._build_shapes = tree.map_structure(
                lambda x: (None,) + tuple(x.shape[1:]), inputs)
        except (AttributeError, TypeError):
            self._build_shapes = None
        # the dtypes of that first call, for ONNX export's inputs
        self._build_dtypes = tree.map_structure(
            lambda x: getattr(x, "dtype", None), inputs)

    def build(self, input_shape=None):
        """Create the weights by tracing call() on inputs of `input_shape`."""
        if input_shape is None:
            raise ValueError(
                "You must provide an `input_shape` argument to build "
                f"model '{self.name}'."
            )
        self.built = True

        def spec(s):
            return KerasTensor(tuple(s), self._tensor_dtype)

        if isinstance(input_shape, dict):
            x = {k: spec(s) for k, s in input_shape.items()}
        elif isinstance(input_shape, list) and input_shape and isinstance(
            input_shape[0], (list, tuple)
        ):
            x = [spec(s) for s in input_shape]
        else:
            x = spec(input_shape)
        try:
            self._spec_outputs((x,), {})
        except Exception:
            self.built = False
            raise

    def __call__(self, *args, **kwargs):
        if len(args) == 1 and args[0].__class__ is np.ndarray:
            out = self._array_call(args[0], kwargs)
            if out is not _EAGER:
                return out
        if args:
            args = (self._fit_input_ranks(args[0]),) + tuple(args[1:])
        return super().__call__(*args, **kwargs)

    def _array_call(self, x, kwargs):
        """model(x) on one NumPy array, in inference mode, outside any
        layer call or trace: the compiled predict step (predict_on_batch,
        the same outputs as the eager call, as NumPy arrays) once
        EAGER_CALLS eager calls on arrays of this per-sample shape ran
        and added no losses (add_loss values come from eager
        calls only); _EAGER when the eager call must run (and counts)."""
        if kwargs and (len(kwargs) > 1
                       or kwargs.get("training", 0) not in (None, False)):
            return _EAGER
        if x.dtype.kind not in "fiub":  # strings, objects, datetimes,
            return _EAGER  # complex: the eager call refuses them by name
        # (the thread's own dict: getattr on a threading.local that lacks
        # the name costs ~0.5 us, an AttributeError made and dropped)
        ctx = _CONTEXT.__dict__
        if (ctx.get("depth") or ctx.get("training")
                or tracing.current_trace() is not None
                or _dist.active() is not None):
            return _EAGER
        modes = self.__dict__.get("_call_modes")
        if modes is None:
            modes = self.__dict__["_call_modes"] = {}
        key = x.shape[1:]  # (float arrays of any width compute in float32)
        mode = modes.get(key, 0)
        if mode is True:
            fast = self._steps.fast  # (predict_on_batch's fast path)
            if (fast is not None and fast[0] == structure_version()
                    and fast[1] == self._compile_version):
                res = fast[3](x)
                if res is not None:
                    return res[0] if fast[4] else self._pack_outputs(
                        list(res))
            return self.predict_on_batch(
                x if x.dtype is _F32 else x.astype(np.float32))
        if mode is False:
            return _EAGER
        if not self._compilable_call(x):  # (yet: a Sequential builds on
            return _EAGER                  # its first call)
        if mode >= EAGER_CALLS:
            try:
                out = self.predict_on_batch(
                    x if x.dtype is _F32 else x.astype(np.float32))
            except Exception:  # noqa: BLE001 - the eager call says why
                modes[key] = False
                return _EAGER
            modes[key] = True
            return out
        args = (self._fit_input_ranks(x),)
        out = Layer.__call__(self, *args, **kwargs)
        losses = self.__dict__.get("_eager_losses") or any(
            layer.__dict__.get("_eager_losses") for layer in
            self._all_sublayers())
        modes[key] = False if losses else mode + 1
        return out

    def _compilable_call(self, x) -> bool:
        """Whether model(x) may run as the compiled predict step: a built
        functional or Sequential model whose call() is not overridden (its
        call is its graph: no Python of a subclass's call() to run each
        time) computing in float32, not run eagerly, on a non-empty float
        array."""
        from .functional import Functional
        from .sequential import Sequential

        fn = self if hasattr(self, "_inputs_struct") else \
            self.__dict__.get("_functional")
        own = type(self).call in (Functional.call, Sequential.call)
        return (fn is not None and own and self.built and not self.run_eagerly
                and fn.__dict__.get("_host") is None
                and self._tensor_dtype == "float32"
                and x.dtype.kind == "f" and x.ndim >= 1 and len(x) > 0)

    def _fit_input_ranks(self, inputs):
        """NumPy inputs of a functional model with their ranks fitted to
        the model's inputs (data.adjust_input_rank), as Keras 3 does: 1-D
        data for an Input((1,)) model works."""
        import numpy as np

        from ..data import adjust_input_rank

        fn = self if hasattr(self, "_inputs_struct") else \
            self.__dict__.get("_functional")
        if fn is None or inputs.__class__ is HostStaged:
            return inputs
        struct = fn._inputs_struct
        if isinstance(inputs, np.ndarray) and len(fn._inputs) == 1:
            return adjust_input_rank(inputs, fn._inputs[0].shape)
        if isinstance(inputs, dict) and isinstance(struct, dict):
            return {k: adjust_input_rank(v, struct[k].shape)
                    if isinstance(v, np.ndarray) and k in struct else v
                    for k, v in inputs.items()}
        if isinstance(inputs, (list, tuple)) and len(inputs) == len(
                fn._inputs) and not isinstance(struct, dict):
            return type(inputs)(
                adjust_input_rank(v, t.shape) if isinstance(v, np.ndarray)
                else v for v, t in zip(inputs, fn._inputs))
        return inputs

    def call(self, *args, **kwargs):
        raise NotImplementedError(
            f"Model {type(self).__name__} does not implement call(): "
            "subclassed models must define call(self, inputs, training=None)."
        )

    @property
    def output_shape(self):
        outs = getattr(self, "outputs", None)
        if not outs:
            return Layer.output_shape.fget(self)
        shapes = [t.shape for t in outs]
        return shapes[0] if len(shapes) == 1 else shapes

    @property
    def input_shape(self):
        ins = getattr(self, "inputs", None)
        if not ins:
            return Layer.input_shape.fget(self)
        shapes = [t.shape for t in ins]
        return shapes[0] if len(shapes) == 1 else shapes

    def get_layer(self, name=None, index=None):
        """The layer with the given name, or at the given index."""
        if index is not None and name is not None:
            raise ValueError(
                "Provide only a layer name or a layer index. Received: "
                f"index={index}, name={name}."
            )
        if index is not None:
            if len(self.layers) <= index:
                raise ValueError(
                    f"Was asked to retrieve layer at index {index} but model "
                    f"only has {len(self.layers)} layers."
                )
            return self.layers[index]
        if name is not None:
            for layer in self.layers:
                if layer.name == name:
                    return layer
            raise ValueError(
                f"No such layer: {name}. Existing layers are: "
                f"{[layer.name for layer in self.layers]}."
            )
        raise ValueError(
            "Provide either a layer name or layer index at `get_layer`."
        )

    def summary(self, line_length=None, positions=None, print_fn=None,
                expand_nested=False, show_trainable=False, layer_range=None):
        """Print Keras 3's summary table of the model."""
        from ..utils.summary import print_summary

        print_summary(self, line_length=line_length, positions=positions,
                      print_fn=print_fn, expand_nested=expand_nested,
                      show_trainable=show_trainable)

    def get_config(self):
        return Layer.get_config(self)

    def __reduce__(self):
        """Pickle / deepcopy through the `.keras` format (saving/pickling)."""
        from ..saving.pickling import reduce_model

        return reduce_model(self)

    # --- saving and export (graphkeras/frontend/saving/) ---------------------

    def save(self, filepath, overwrite=True, zipped=None, **kwargs):
        """Save the model: `.keras` (Keras 3's format) or legacy `.h5`.
        Under DataParallel with several ranks only rank 0 writes."""
        from ..distribution import is_chief
        from ..saving.saving_api import save_model

        if not is_chief():
            return

        save_model(self, filepath, overwrite=overwrite, zipped=zipped,
                   **kwargs)

    def save_weights(self, filepath, overwrite=True, max_shard_size=None):
        """Save the weights (and optimizer state) to a `.weights.h5` file.
        Under DataParallel with several ranks only rank 0 writes."""
        from ..distribution import is_chief
        from ..saving.saving_api import save_weights

        if not is_chief():
            return

        save_weights(self, filepath, overwrite=overwrite,
                     max_shard_size=max_shard_size)

    def load_weights(self, filepath, skip_mismatch=False, **kwargs):
        """Load weights from a `.weights.h5`, `.keras` or legacy `.h5`."""
        from ..saving.saving_api import load_weights

        load_weights(self, filepath, skip_mismatch=skip_mismatch, **kwargs)

    def export(self, filepath, format="onnx", verbose=None,
               input_signature=None, **kwargs):
        """Export the inference program (`format="onnx"`)."""
        from ..saving.export import export

        return export(self, filepath, format=format, verbose=verbose,
                      input_signature=input_signature, **kwargs)

    def _onnx_export_spec(self):
        from ..saving.export import onnx_export_spec

        return onnx_export_spec(self)

    @classmethod
    def from_config(cls, config, custom_objects=None):
        """A functional config (Keras 2 wrote class_name "Model" for it)
        rebuilds the graph; other configs go to the constructor."""
        if isinstance(config, dict) and "layers" in config and \
                "input_layers" in config:
            from ..saving.model_config import functional_from_config

            return functional_from_config(cls, config, custom_objects)
        return Layer.from_config.__func__(cls, config)

    def get_compile_config(self):
        from ..saving.keras_format import get_compile_config

        return get_compile_config(self)

    def compile_from_config(self, config):
        from ..saving.keras_format import compile_from_config

        compile_from_config(self, config)

    def to_json(self, **kwargs):
        """The model's config as a JSON string."""
        import json

        from ..saving.serialization_lib import serialize_keras_object

        return json.dumps(serialize_keras_object(self), **kwargs)
