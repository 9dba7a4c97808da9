"""The Layer base class: Keras's contract, recorded into IR.

A layer owns weights (Variables made by `add_weight` in `build`) and maps
inputs to outputs in `call`, written with `graphkeras.ops`. `__call__`
dispatches on what it receives:

- KerasTensors (functional API): build from the shapes, run `call` in a
  throwaway spec trace to learn the output shapes, record a `Node` in the
  functional graph, return KerasTensors; None in a non-batch dimension (a
  sequence of unknown length) is traced at two probe sizes, and the output
  dimensions that follow it are None;
- traced tensors (while a model is traced into a program): run `call`,
  which appends IR nodes tagged with the layer's name;
- NumPy arrays: run `call` eagerly on the ops' NumPy references.

Invariants:
- `build` runs once, with Keras shapes (None for the batch); `built` is set
  after it (subclasses need not set it).
- Weights are tracked in creation order; sublayers are found from the
  layer's attributes (also inside lists, tuples and dicts), in assignment
  order; `weights` = own trainable, own non-trainable, then sublayers'.
- Setting `trainable` sets it on every weight created trainable and on
  every sublayer, as in Keras 3.

Writing a new layer:

    class Scale(Layer):
        def __init__(self, factor=2.0, **kwargs):
            super().__init__(**kwargs)
            self.factor = factor

        def build(self, input_shape):
            self.w = self.add_weight(shape=(input_shape[-1],),
                                     initializer="ones", name="w")

        def call(self, inputs):
            return ops.multiply(inputs, self.w) * self.factor

        def get_config(self):
            return {**super().get_config(), "factor": self.factor}

Declare `training=None` in `call` to receive the training flag; set
`self.input_spec` (an InputSpec) to have inputs checked with Keras's
messages; call `self.add_loss(x)` for activity losses.
"""

from __future__ import annotations

import contextlib
import functools
import inspect
import threading
import warnings

import numpy as np

from ...ir import IRTypeError
from .. import initializers as initializers_module
from .. import ops, tracing, tree
from ..naming import auto_name, uniquify
from ..random import SeedGenerator
from ..tensors import HostStaged, KerasHistory, KerasTensor, TracedTensor
from ..variables import Variable, bump_structure, standardize_dtype
from .input_spec import InputSpec, assert_input_compatibility
from .masks import call_with_masks, get_keras_mask, set_keras_mask
from .own_state import assign_own_variables, own_variables

_CONTEXT = threading.local()


def _call_training():
    return getattr(_CONTEXT, "training", None)


class _TrainingScope:
    def __init__(self, training):
        self.training = training

    def __enter__(self):
        self.old = _call_training()
        _CONTEXT.training = self.training

    def __exit__(self, *exc):
        _CONTEXT.training = self.old


_BASE_KWARGS = ("input_shape", "input_dim", "batch_input_shape", "batch_size",
                "weights", "activity_regularizer", "autocast")


class Node:
    """One call of an operation in the functional graph: its arguments
    (holding KerasTensors), and the KerasTensors it produced."""

    def __init__(self, operation, call_args=(), call_kwargs=None, outputs=None):
        self.operation = operation
        self.arguments = (tuple(call_args), dict(call_kwargs or {}))
        self.input_tensors = [x for x in tree.flatten(self.arguments)
                              if isinstance(x, KerasTensor)]
        self.outputs = outputs
        self.output_tensors = [x for x in tree.flatten(outputs)
                               if isinstance(x, KerasTensor)]
        node_index = len(operation._inbound_nodes)
        operation._inbound_nodes.append(self)
        for i, kt in enumerate(self.output_tensors):
            kt._keras_history = KerasHistory(operation, node_index, i)

    @property
    def parent_nodes(self) -> list:
        out = []
        for kt in self.input_tensors:
            h = kt._keras_history
            if h is not None:
                out.append(h.operation._inbound_nodes[h.node_index])
        return out

    @property
    def is_input(self) -> bool:
        return not self.input_tensors and type(self.operation).__name__ == (
            "InputLayer")


class Layer:
    """Base class of every layer (and of Model).

    Args:
        trainable: whether the layer's weights are updated by training.
        name: the layer's name (unique automatic name by default).
        dtype: the dtype of the weights and computations ("float32").
        input_shape / input_dim / batch_input_shape: on the first layer of a
            Sequential model, the shape of its input (batch excluded for the
            first two).
        activity_regularizer: a regularizer applied to the outputs, added to
            the loss.
    """

    # the keyword arguments every layer takes besides its own (read by
    # saving/serialization_lib.accepted_arguments)
    _base_kwargs = _BASE_KWARGS
    # under mixed_float16 a layer's inputs and outputs are float16 values
    # (a Model's are those of the layers inside it)
    _rounds_outputs = True

    def __new__(cls, *args, **kwargs):
        obj = super().__new__(cls)
        # Keras 3 captures constructor arguments for the default get_config.
        obj._init_args = (args, dict(kwargs))
        return obj

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if "build" in cls.__dict__:
            cls.build = _build_wrapper(cls.__dict__["build"])

    def __init__(self, *, activity_regularizer=None, trainable=True, dtype=None,
                 autocast=True, name=None, **kwargs):
        bad = [k for k in kwargs if k not in _BASE_KWARGS]
        if bad:
            raise ValueError(
                f"Unrecognized keyword arguments passed to "
                f"{type(self).__name__}: { {k: kwargs[k] for k in bad} }"
            )
        object.__setattr__(self, "_tracking", True)
        self.name = name if name else auto_name(self)
        self._trainable = bool(trainable)
        from .. import mixed_precision

        # mixed_bfloat16: float32 variables and tensors, bfloat16 products
        if isinstance(dtype, dict):  # a serialized DTypePolicy (Keras's
            dtype = dtype.get("config", dtype).get("name")  # get_config)
        try:
            self._dtype_policy = mixed_precision.policy_of(dtype)
        except ValueError as e:  # "float16": say which layer
            raise ValueError(f'Layer "{self.name}" ({type(self).__name__}), '
                             f"dtype={dtype!r}: {e}") from None
        if self._dtype_policy is not None:
            mixed_precision.note_conversion(self._dtype_policy.compute_dtype)
            dtype = self._dtype_policy.variable_dtype
        self.dtype = standardize_dtype(getattr(dtype, "name", dtype))
        self.autocast = autocast
        self.built = False
        self.input_spec = None
        # Keras 3: a layer that overrides compute_mask supports masking
        self.supports_masking = type(self).compute_mask is not \
            Layer.compute_mask
        self._trainable_variables: list = []
        self._non_trainable_variables: list = []
        self._inbound_nodes: list = []
        self._eager_losses: list = []
        self._build_shapes = None
        self.activity_regularizer = None
        if activity_regularizer is not None:
            from .. import regularizers

            self.activity_regularizer = regularizers.get(activity_regularizer)
        self._input_shape_arg = None
        if kwargs.get("input_shape") is not None or kwargs.get(
                "input_dim") is not None:
            warnings.warn(  # Keras 3's words
                "Do not pass an `input_shape`/`input_dim` argument to a "
                "layer. When using Sequential models, prefer using an "
                "`Input(shape)` object as the first layer in the model "
                "instead.", stacklevel=2)
        if kwargs.get("batch_input_shape") is not None:
            self._input_shape_arg = tuple(kwargs["batch_input_shape"])
        elif kwargs.get("input_shape") is not None:
            shape = kwargs["input_shape"]
            shape = (shape,) if isinstance(shape, int) else tuple(shape)
            self._input_shape_arg = (kwargs.get("batch_size"),) + shape
        elif kwargs.get("input_dim") is not None:
            self._input_shape_arg = (kwargs.get("batch_size"),
                                     int(kwargs["input_dim"]))
        self._initial_weights = kwargs.get("weights")

    def __setattr__(self, name, value):
        if isinstance(value, Layer) or (
            isinstance(value, (list, tuple, dict)) and any(
                isinstance(v, Layer) for v in (
                    value.values() if isinstance(value, dict) else value))
        ):
            bump_structure()  # a sublayer was attached
        elif isinstance(value, Variable) and "_non_trainable_variables" in \
                self.__dict__:
            self._track_variable(value)
        object.__setattr__(self, name, value)

    def _track_variable(self, v) -> None:
        """A variable assigned to an attribute (`self.v = keras.Variable(
        ...)`) is one of the layer's own, in assignment order among those
        add_weight made, as Keras 3 tracks it: `weights` and the saved
        files list it there."""
        if any(v is w for w in self._trainable_variables) or any(
                v is w for w in self._non_trainable_variables):
            return
        if v.trainable and self._trainable is False:
            v.trainable = False
            v._created_trainable = True
        (self._trainable_variables if v.trainable
         else self._non_trainable_variables).append(v)

    # --- building ------------------------------------------------------------

    def build(self, input_shape):
        """Create the weights for inputs of `input_shape` (Keras shape,
        None for the batch). The default creates nothing."""
        self.built = True

    def _maybe_build(self, inputs) -> None:
        if self.built:
            return
        shapes = tree.map_structure(
            lambda x: tuple(ops.shape(x)) if _is_tensorlike(x) else x, inputs
        )
        if isinstance(shapes, list) and len(shapes) == 1 and not isinstance(
            inputs, (list, tuple)
        ):
            shapes = shapes[0]
        # Build outside any active trace: weights are created eagerly.
        t = tracing.current_trace()
        if t is not None:
            with t.suspended():
                self.build(shapes)
        else:
            self.build(shapes)
        self.built = True
        if self._initial_weights is not None:
            self.set_weights(self._initial_weights)
            self._initial_weights = None

    # --- weights -------------------------------------------------------------

    def add_weight(self, shape=None, initializer=None, dtype=None, trainable=True,
                   autocast=True, regularizer=None, constraint=None,
                   aggregation="none", overwrite_with_gradient=False, name=None):
        """Create a weight of this layer (call it from `build`).

        Args:
            shape: the shape (default: scalar).
            initializer: name or callable; default "glorot_uniform" for float
                weights, "zeros" otherwise.
            dtype: default the layer's dtype.
            trainable: whether the optimizer updates it.
            regularizer: a penalty on it, added to the loss.
            constraint: a projection applied after each optimizer update.
            name: the weight's name (its path is "<layer>/<name>").
        """
        from .. import constraints, regularizers

        shape = () if shape is None else tuple(shape)
        # NOTE: an unnamed weight is named as Keras 3 names it: "variable",
        # "variable_1", ... counted across the session (clear_session resets)
        name = name or uniquify("variable")
        if any(d is None for d in shape):
            built_on = self.__dict__.get("_building_shape")
            seen = "" if built_on is None else (
                f" It was built for inputs of shape {built_on}, with None "
                "in a dimension the weight depends on.")
            raise NeedsStaticSizeError(
                f'Layer "{self.name}" ({type(self).__name__}) cannot create '
                f'its weight "{name}" of shape {shape}: a weight needs a '
                f"static size in every dimension.{seen} Give that input "
                "dimension a fixed size (e.g. keras.Input(shape=(20, 8)) "
                "instead of (None, 8)); a Flatten before this layer needs "
                "every flattened dimension known."
            )
        dtype = standardize_dtype(dtype, self.dtype)
        if initializer is None:
            initializer = ("glorot_uniform" if dtype.startswith("float")
                           else "zeros")
        v = Variable(initializers_module.get(initializer), shape=shape,
                     dtype=dtype, trainable=trainable, name=name,
                     path=_scoped_path(self, name),
                     regularizer=regularizers.get(regularizer),
                     constraint=constraints.get(constraint))
        v.autocast = bool(autocast)
        if trainable and self._trainable is False:
            v.trainable = False
            v._created_trainable = True
        (self._trainable_variables if trainable
         else self._non_trainable_variables).append(v)
        return v

    def _all_own_variables(self) -> list:
        own = self._trainable_variables + self._non_trainable_variables
        seen = {id(v) for v in own}
        for v in vars(self).values():
            if isinstance(v, Variable) and id(v) not in seen:
                own.append(v)
                seen.add(id(v))
        return own

    def _sublayers(self) -> list:
        found, seen = [], set()

        def visit(v):
            if isinstance(v, Layer):
                if id(v) not in seen and v is not self:
                    seen.add(id(v))
                    found.append(v)
            elif isinstance(v, (list, tuple)):
                for x in v:
                    visit(x)
            elif isinstance(v, dict):
                for x in v.values():
                    visit(x)

        for k, v in vars(self).items():
            if k in ("_inbound_nodes", "_init_args", "_functional",
                     "_outbound"):
                continue
            visit(v)
        return found

    @property
    def layers(self) -> list:
        return self._sublayers()

    def _seed_generators(self) -> list:
        return [v for v in vars(self).values() if isinstance(v, SeedGenerator)]

    @property
    def weights(self) -> list:
        """Every weight: own trainable, own non-trainable, then sublayers'."""
        out, seen = [], set()
        for v in self._all_own_variables():
            if id(v) not in seen:
                seen.add(id(v))
                out.append(v)
        for layer in self._sublayers():
            for v in layer.weights:
                if id(v) not in seen:
                    seen.add(id(v))
                    out.append(v)
        return out

    @property
    def variables(self) -> list:
        """Weights plus the states of random seed generators."""
        out = list(self.weights)
        seen = {id(v) for v in out}
        layers = [self] + self._all_sublayers()
        for layer in layers:
            for g in layer._seed_generators():
                if id(g.state) not in seen:
                    seen.add(id(g.state))
                    out.append(g.state)
        return out

    def _all_sublayers(self) -> list:
        out, seen = [], set()
        stack = list(self._sublayers())
        while stack:
            layer = stack.pop(0)
            if id(layer) in seen:
                continue
            seen.add(id(layer))
            out.append(layer)
            stack.extend(layer._sublayers())
        return out

    @property
    def trainable_weights(self) -> list:
        if not self.trainable:
            return []
        return [v for v in self.weights if v.trainable]

    @property
    def non_trainable_weights(self) -> list:
        if not self.trainable:
            return self.weights
        return [v for v in self.weights if not v.trainable]

    trainable_variables = trainable_weights
    non_trainable_variables = non_trainable_weights

    @property
    def trainable(self) -> bool:
        return self._trainable

    @trainable.setter
    def trainable(self, value) -> None:
        value = bool(value)
        self._trainable = value
        for v in self._trainable_variables:
            v.trainable = value
        for layer in self._sublayers():
            layer.trainable = value

    def save_own_variables(self, store) -> None:
        """Put the layer's own state into `store` (a dict), as Keras 3:
        `store["0"]`, `store["1"]`, ... its variables (trainable first).
        `model.save` and `save_weights` call an override (which may call
        super() and add entries of its own, e.g. `store["variables"]`)
        and write what it stored under the layer's `vars` group."""
        for i, v in enumerate(own_variables(self)):
            store[str(i)] = v

    def load_own_variables(self, store) -> None:
        """Set the layer's own state from `store` (what
        `save_own_variables` put there: a dict of arrays). An override is
        called by `load_model` and `load_weights`, as in Keras 3."""
        assign_own_variables(self, own_variables(self), own_variables(self),
                             store)

    def get_weights(self) -> list:
        """The weights' values, as NumPy arrays, in `weights` order."""
        return [v.numpy() for v in self.weights]

    def set_weights(self, weights) -> None:
        """Set the weights from NumPy arrays given in `weights` order."""
        mine = self.weights
        weights = list(weights)
        if len(weights) != len(mine):
            raise ValueError(
                f'You called `set_weights(weights)` on layer "{self.name}" '
                f"with a weight list of length {len(weights)}, but the layer "
                f"was expecting {len(mine)} weights."
            )
        for v, w in zip(mine, weights):
            w = np.asarray(w)
            if tuple(w.shape) != tuple(v.shape):
                raise ValueError(
                    f'Layer {self.name} weight shape {v.shape} is not '
                    f"compatible with provided weight shape {w.shape}."
                )
        for v, w in zip(mine, weights):
            v.assign(np.asarray(w))

    def get_build_config(self):
        """The shapes build() took, for saving (Keras 3): {"input_shape":
        shape} once built, else None. Override it together with
        build_from_config for a build that takes other arguments."""
        shapes = getattr(self, "_build_shapes", None)
        if not self.built or shapes is None:
            return None
        return {"input_shape": shapes}

    def build_from_config(self, config):
        """Build from what get_build_config returned (a saved
        "build_config"): build(input_shape), or build(**shapes_dict)."""
        from ..saving.serialization_lib import build_from_config

        build_from_config(self, config, default=True)

    def count_params(self) -> int:
        if not self.built:
            raise ValueError(
                f"You tried to call `count_params` on layer '{self.name}', but "
                "the layer isn't built. You can build it manually via: "
                f"`{self.name}.build(batch_input_shape)`."
            )
        return int(sum(int(np.prod(v.shape)) for v in self.weights))

    # --- losses ----------------------------------------------------------------

    def add_loss(self, loss) -> None:
        """Add a scalar to the training loss (inside a traced call), or
        record it (eager call)."""
        t = tracing.current_trace()
        if t is not None and isinstance(loss, TracedTensor):
            t.losses.append(loss)
            _traced_losses(t).setdefault(id(self), []).append(loss)
        else:
            self._eager_losses.append(np.asarray(loss))

    @property
    def losses(self) -> list:
        """The losses added by `add_loss()` in the last eager call (this
        layer's and its sublayers'; cleared when an outermost call starts,
        as Keras 3 does) plus the current weight-regularization
        penalties."""
        t = tracing.current_trace()
        if t is not None and t.kind != "spec":
            # NOTE: inside a traced step (a custom train_step adding
            # `sum(model.losses)`), the traced values, so that they carry
            # gradients; eager arrays would be constants of the program
            table = _traced_losses(t)
            out = list(table.get(id(self), ()))
            for layer in self._all_sublayers():
                out.extend(table.get(id(layer), ()))
            return out + [v.regularizer(v.value)
                          for v in self.trainable_weights
                          if v.regularizer is not None]
        out = list(self._eager_losses)
        for layer in self._all_sublayers():
            out.extend(layer.__dict__.get("_eager_losses", ()))
        for v in self.trainable_weights:
            if v.regularizer is not None:
                out.append(np.asarray(v.regularizer(v.numpy())))
        return out

    def stateless_call(self, trainable_variables, non_trainable_variables,
                       *args, return_losses=False, **kwargs):
        """Call the layer with the given variable values; returns
        (outputs, new non-trainable values), as Keras 3
        (frontend/stateless.py)."""
        from ..stateless import stateless_call

        return stateless_call(self, trainable_variables,
                              non_trainable_variables, *args,
                              return_losses=return_losses, **kwargs)

    def _traced_regularization(self) -> list:
        """Weight penalties as traced values (inside an active trace)."""
        out = []
        for v in self.trainable_weights:
            if v.regularizer is not None:
                out.append(v.regularizer(v.value))
        return out

    # --- calling -------------------------------------------------------------

    def call(self, inputs, *args, **kwargs):
        """The forward computation, written with graphkeras.ops."""
        raise NotImplementedError(
            f'Layer "{self.name}" ({type(self).__name__}) does not implement '
            "call(). Subclasses of Layer must define call(self, inputs)."
        )

    def __call__(self, *args, **kwargs):
        if not args and "inputs" in kwargs:
            args = (kwargs.pop("inputs"),)
        if not args:
            # Keras 3 takes the first argument of call() by its name too:
            # mha(query=q, value=v) (keras.io's translation example)
            first = self._first_call_arg()
            if first is not None and first in kwargs:
                args = (kwargs.pop(first),)
        if not args:
            raise ValueError(
                f'Layer "{self.name}" was called without inputs: call it on '
                "a tensor, e.g. layer(x)."
            )
        leaves = tree.flatten((args, kwargs))
        if any(isinstance(x, KerasTensor) for x in leaves):
            with _name_scope(self):
                return self._symbolic_call(args, kwargs)
        outermost = not getattr(_CONTEXT, "depth", 0)
        trace = tracing.current_trace()
        if outermost and trace is None:
            # an eager call's add_loss() values replace the last call's
            self._eager_losses.clear()
            for layer in self._all_sublayers():
                layer.__dict__.get("_eager_losses", []).clear()
        elif outermost and trace.kind != "spec":
            table = _traced_losses(trace)  # the same within a traced step
            for layer in [self] + self._all_sublayers():
                table.pop(id(layer), None)
        _CONTEXT.depth = getattr(_CONTEXT, "depth", 0) + 1
        try:
            # Keras's mask protocol (layers/masks.py): masks of the inputs
            # go to call(mask=...) and compute_mask() attaches the outputs'
            with _name_scope(self):
                return call_with_masks(self, args, kwargs,
                                       self._convert_and_run)
        finally:
            _CONTEXT.depth -= 1

    def _convert_and_run(self, args, kwargs):
        args = (self._convert_inputs(args[0]),) + tuple(args[1:])
        return self._run_call(args, kwargs)

    def compute_mask(self, inputs, previous_mask):
        """The mask of the outputs (Keras: the input mask, passed through;
        used when `supports_masking` is True)."""
        return previous_mask

    def _convert_inputs(self, inputs):
        def conv(x):
            if isinstance(x, (TracedTensor, Variable)):
                if (self.autocast and isinstance(x, TracedTensor)
                        and x.dtype.startswith("float")
                        and x.dtype != self._tensor_dtype):
                    return ops.cast(x, self._tensor_dtype)
                return x
            if isinstance(x, (np.ndarray, list, float, int)) and not isinstance(
                x, bool
            ):
                a = np.asarray(x)
                if a.dtype.kind not in "fiub":
                    raise ValueError(
                        f'Layer "{self.name}" ({type(self).__name__}) cannot '
                        f"take an input of dtype {a.dtype} (shape {a.shape}): "
                        "inputs must be numbers (floats, integers or "
                        "booleans).")
                if a.dtype.kind in "iu" and a.dtype not in (np.int32,
                                                            np.int64):
                    # as the data adapter does: small ints widen to int32
                    a = a.astype(np.int64 if a.dtype.itemsize >= 4
                                 else np.int32)
                if a.dtype.kind == "f" and self.autocast:
                    a = a.astype(self._tensor_dtype, copy=False)
                elif a.dtype.kind == "f" and a.dtype.itemsize < 4:
                    # (float16 arrays, a mixed_float16 layer's eager
                    # outputs: held as float32 here, whatever autocast)
                    a = a.astype(np.float32)
                return a
            return x

        if self.autocast and self._rounds_outputs:
            from .. import mixed_precision

            if mixed_precision.is_float16(getattr(self, "_dtype_policy",
                                                  None)):
                # Keras casts a mixed_float16 layer's floating inputs to
                # float16
                from ..ops.core import round_float16

                inner = conv
                conv = lambda x: round_float16(inner(x))  # noqa: E731

        if isinstance(inputs, (list, tuple)) and inputs and all(
            not isinstance(x, (int, float)) for x in inputs
        ):
            return type(inputs)(tree.map_structure(conv, list(inputs)))
        if isinstance(inputs, dict):
            return tree.map_structure(conv, inputs)
        return conv(inputs)

    @property
    def dtype_policy(self):
        """The layer's DTypePolicy (Keras 3): its own mixed policy, else
        that of its variable dtype."""
        from ..mixed_precision import DTypePolicy

        return getattr(self, "_dtype_policy", None) or DTypePolicy(self.dtype)

    @property
    def compute_dtype(self) -> str:
        """The dtype the layer computes in, its policy's (Keras 3):
        "float16" / "bfloat16" under a mixed policy, whose tensors are
        float32 arrays here (holding float16 values under mixed_float16),
        else the variable dtype."""
        policy = self.__dict__.get("_dtype_policy")
        return policy.compute_dtype if policy is not None else self.dtype

    @property
    def variable_dtype(self) -> str:
        """The dtype of the layer's variables (Keras 3: the policy's
        variable dtype, "float32" under a mixed policy)."""
        return self.dtype

    @property
    def _tensor_dtype(self) -> str:
        # the dtype of the arrays the layer's call() computes on: the
        # variable dtype (float32 under a mixed policy)
        return self.dtype

    @dtype_policy.setter
    def dtype_policy(self, value):
        from .. import mixed_precision

        if self.built:
            raise ValueError(f"Layer {self.name!r}: the dtype policy can only "
                             "be set before the layer is built.")
        policy = mixed_precision.policy_of(value)
        object.__setattr__(self, "_dtype_policy", policy)
        if policy is None:
            self.dtype = standardize_dtype(
                getattr(value, "name", value))

    def _run_call(self, args, kwargs):
        inputs = args[0]
        if not self.built and self.input_spec is not None and \
                inputs.__class__ is not HostStaged:
            # as Keras 3, the spec is checked before build: build() on a
            # scalar or a wrong rank failed inside the layer's own code
            assert_input_compatibility(self.input_spec, inputs, self.name)
        self._maybe_build(inputs)
        if inputs.__class__ is not HostStaged:  # (a model's compiled part)
            assert_input_compatibility(self.input_spec, inputs, self.name)
        kwargs = dict(kwargs)
        training = kwargs.pop("training", None)
        if training is None:
            training = _call_training()
        if training is None:
            # Keras 3: given, else an outer call's, else call()'s default
            # (True for the image augmentation layers: a direct call
            # augments); the value resolved here is the inner layers' too
            training = self._default_training()
        if self._accepts("training"):
            kwargs["training"] = training
        trace = tracing.current_trace()
        loc = trace.builder.at(self.name) if trace is not None else _nullctx()
        from .. import mixed_precision

        policy = getattr(self, "_dtype_policy", None)
        with _TrainingScope(training), loc, \
                mixed_precision.products(policy, getattr(self, "autocast", True)):
            try:
                outputs = self.call(*args, **kwargs)
            except IRTypeError as e:
                # an op's type error from deep inside call(): say which
                # layer made it (Keras: "Exception encountered when calling
                # ..."); the innermost layer names itself, once
                if not getattr(e, "_layer_named", False):
                    e.args = ((f"Exception encountered when calling "
                               f"{type(self).__name__}.call() (layer "
                               f'"{self.name}"): {e}'),)
                    e._layer_named = True
                raise
            if self._rounds_outputs:
                half = mixed_precision.is_float16(policy)
                if half:
                    outputs = _round_outputs(outputs)
                if trace is not None:
                    # which traced values hold float16 values at a layer's
                    # output (predict returns those as float16 arrays)
                    outputs = _mark_half(trace, args, outputs, half)
            # (not in a spec trace: shapes only, and the penalty may need
            # the concrete batch size, e.g. PointNet's orthogonality one)
            if self.activity_regularizer is not None and (
                    trace is None or trace.kind != "spec"):
                for o in tree.flatten(outputs):
                    if _is_tensorlike(o):
                        self.add_loss(self._activity_loss(o))
        return outputs

    def _activity_loss(self, output):
        # Keras 3 divides the penalty by the batch size, so its strength
        # does not depend on how the data is batched.
        loss = self.activity_regularizer(output)
        if ops.ndim(output) > 0:
            loss = ops.divide_no_nan(loss, ops.batch_size(output))
        return loss

    def _first_call_arg(self):
        """The name of call()'s first positional parameter, or None."""
        try:
            params = inspect.signature(self.call).parameters.values()
        except (TypeError, ValueError):
            return None
        for p in params:
            if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD):
                return p.name
            break
        return None

    def _default_training(self):
        cache = type(self).__dict__.get("_training_default_cache")
        if cache is None:
            try:
                p = inspect.signature(self.call).parameters.get("training")
            except (TypeError, ValueError):
                p = None
            cache = (None if p is None or p.default is inspect.Parameter.empty
                     else p.default,)
            type.__setattr__(type(self), "_training_default_cache", cache)
        return cache[0]

    def _accepts(self, arg: str) -> bool:
        cache = type(self).__dict__.get("_call_args_cache")
        if cache is None:
            params = inspect.signature(self.call).parameters
            cache = (set(params), any(
                p.kind == p.VAR_KEYWORD for p in params.values()))
            type.__setattr__(type(self), "_call_args_cache", cache)
        names, _ = cache
        return arg in names

    def _symbolic_call(self, args, kwargs):
        _refuse_strings(self, args, kwargs)
        inputs = args[0]
        if not self.built and self.input_spec is not None:
            assert_input_compatibility(self.input_spec, inputs, self.name)
        self._maybe_build(inputs)
        assert_input_compatibility(self.input_spec, inputs, self.name)
        outputs = self._spec_outputs(args, kwargs)
        Node(self, args, kwargs, outputs)
        return outputs

    def _spec_outputs(self, args, kwargs):
        """Run call() in a throwaway trace to learn the output shapes; a
        call that needs a concrete batch size (NeedsConcreteBatch: Keras
        code reading ops.shape(x)[0] as a number) is traced with two
        made-up batch sizes, as Keras's backends trace with one, and the
        sizes that follow them are None."""
        try:
            return self._spec_outputs_for(args, kwargs, None)
        except tracing.NeedsConcreteBatch:
            outs = [self._spec_outputs_for(args, kwargs, b)
                    for b in _BATCH_PROBES]
            return _merge_specs(outs[0], outs[1])

    def _spec_outputs_for(self, args, kwargs, batch):
        """_spec_outputs with the batch size `batch` (None: symbolic).

        An input with None in a dimension other than the batch (a sequence
        of unknown length) is traced twice, with two different sizes in
        its unknown dimensions: an output dimension that differs between
        the two traces depends on them and is None, as Keras infers it.
        (Compiled programs are traced per concrete input shape, so no
        layer ever computes with an unknown non-batch size.)
        """
        unknown = [x for x in tree.flatten((args, kwargs))
                   if isinstance(x, KerasTensor)
                   and any(d is None for d in x.shape[1:])]
        if not unknown:
            return self._spec_once(args, kwargs, None, batch)
        try:
            outs = [self._spec_once(args, kwargs, p, batch)
                    for p in _PROBE_SIZES]
        except (NeedsStaticSizeError, tracing.NeedsConcreteBatch):
            raise  # from a nested layer, which it names; or retried
        except (ValueError, TypeError) as e:
            ks = [x for x in tree.flatten((args, kwargs))
                  if isinstance(x, KerasTensor)]
            i = next(i for i, x in enumerate(ks) if x is unknown[0])
            raise NeedsStaticSizeError(
                f'Layer "{self.name}" ({type(self).__name__}) cannot be '
                f"called on input {i} of shape {unknown[0].shape}: it needs "
                "a static size in a dimension that is None (graphkeras "
                f"traced it with that dimension set to {_PROBE_SIZES[0]} "
                f"and got: {e}). Give that dimension a fixed size, e.g. "
                "keras.Input(shape=(20, 8)) instead of "
                "keras.Input(shape=(None, 8))."
            ) from e
        return _merge_specs(outs[0], outs[1])

    def _spec_once(self, args, kwargs, probe, batch=None):
        """One spec trace; `probe` replaces unknown non-batch sizes, and
        `batch` (when given) an unknown batch size."""
        spec = tracing.Trace(kind="spec")
        counter = [0]
        specs = tree.flatten(self.input_spec) if self.input_spec else []

        def to_traced(x):
            if isinstance(x, KerasTensor):
                counter[0] += 1
                shape = x.shape
                if probe is not None:
                    ispec = (specs[counter[0] - 1]
                             if counter[0] - 1 < len(specs) else None)
                    shape = _probe_shape(shape, ispec, probe)
                if batch is not None and shape and shape[0] is None:
                    shape = (batch,) + tuple(shape[1:])
                try:
                    # (a mixed_float16 layer's output: float16 values in
                    # a float32 tensor)
                    t = spec.input(f"in{counter[0]}", shape,
                                   "float32" if x.dtype == "float16"
                                   else x.dtype)
                    if x.dtype == "float16":
                        spec.half_values[t.value.name] = True
                except ValueError as e:
                    raise ValueError(
                        f'Layer "{self.name}" received input {counter[0] - 1} '
                        f"of shape {x.shape}: {e}"
                    ) from None
                m = getattr(x, "_keras_mask", None)
                if isinstance(m, KerasTensor):
                    # Keras's mask protocol in symbolic calls too: call()
                    # gets the mask, compute_mask() gives the outputs'
                    mshape = tuple(t.shape[:len(m.shape)]) if len(
                        m.shape) <= len(t.shape) else m.shape
                    set_keras_mask(t, spec.input(f"mask{counter[0]}",
                                                 mshape, m.dtype))
                return t
            return x

        targs = tree.map_structure(to_traced, args)
        tkwargs = tree.map_structure(to_traced, kwargs)
        with spec:
            out = call_with_masks(self, targs, tkwargs, self._run_call)

        def to_keras(x):
            if isinstance(x, TracedTensor):
                # float16 where a mixed_float16 layer made it, as in Keras
                kt = KerasTensor(x.shape, "float16" if spec.half_values.get(
                    x.value.name) else x.dtype)
                m = get_keras_mask(x)
                if isinstance(m, TracedTensor):
                    kt._keras_mask = KerasTensor(m.shape, m.dtype)
                return kt
            if isinstance(x, np.ndarray):
                return KerasTensor(x.shape, x.dtype.name)
            return x

        return tree.map_structure(to_keras, out)

    def compute_output_spec(self, *args, **kwargs):
        return self._spec_outputs(args, kwargs)

    def compute_output_shape(self, input_shape):
        """The output shape for `input_shape`, found by tracing call()."""
        def spec(s):
            return KerasTensor(s, self._tensor_dtype)

        if isinstance(input_shape, list) and input_shape and isinstance(
            input_shape[0], (list, tuple)
        ):
            x = [spec(s) for s in input_shape]
        else:
            x = spec(tuple(input_shape))
        self._maybe_build(x)
        out = self._spec_outputs((x,), {})
        return tree.map_structure(lambda t: t.shape, out)

    # --- functional-graph conveniences ----------------------------------------

    def _node_attr(self, attr, what):
        if not self._inbound_nodes:
            raise AttributeError(
                f'The layer "{self.name}" has never been called and thus has '
                f"no defined {what}."
            )
        return getattr(self._inbound_nodes[0], attr)

    @property
    def input(self):
        node = self._node_attr("arguments", "input")
        t = node[0][0] if node[0] else None
        return t

    @property
    def output(self):
        return self._node_attr("outputs", "output")

    @property
    def output_shape(self):
        return tree.map_structure(lambda t: t.shape, self.output)

    @property
    def input_shape(self):
        return tree.map_structure(lambda t: t.shape, self.input)

    # --- config ----------------------------------------------------------------

    def get_config(self) -> dict:
        """The constructor arguments that rebuild this layer (weights
        excluded). The default records the arguments the constructor was
        called with, as Keras 3 does."""
        config = {"name": self.name, "trainable": self.trainable,
                  "dtype": self.dtype_policy.name
                  if getattr(self, "_dtype_policy", None) is not None
                  else self.dtype}
        if self.activity_regularizer is not None:
            reg = self.activity_regularizer
            config["activity_regularizer"] = (
                {"class_name": type(reg).__name__, "config": reg.get_config()}
                if hasattr(reg, "get_config") else reg)
        if type(self).get_config is Layer.get_config:
            args, kwargs = getattr(self, "_init_args", ((), {}))
            sig = inspect.signature(type(self).__init__)
            try:
                bound = sig.bind(None, *args, **kwargs)
            except TypeError:
                return config
            first = next(iter(sig.parameters), None)
            for k, v in bound.arguments.items():
                kind = sig.parameters[k].kind
                if k == first or kind is inspect.Parameter.VAR_POSITIONAL:
                    continue
                if kind is inspect.Parameter.VAR_KEYWORD:  # **kwargs, **kw
                    config.update({a: b for a, b in v.items()
                                   if _serializable(b)})
                elif _serializable(v):
                    config[k] = v
        return config

    @classmethod
    def from_config(cls, config: dict):
        try:
            return cls(**config)
        except TypeError as e:
            raise TypeError(
                f"Error when deserializing class '{cls.__name__}' using "
                f"config={config}. Exception encountered: {e}. If the layer "
                "has a custom __init__, override get_config() and "
                "from_config()."
            ) from None

    def __repr__(self) -> str:
        return f"<{type(self).__name__} name={self.name}, built={self.built}>"


def _traced_losses(trace) -> dict:
    """id(layer) -> the add_loss() values of its last call in `trace`."""
    return trace.__dict__.setdefault("_layer_losses", {})


def _refuse_strings(layer, args, kwargs) -> None:
    """A string KerasTensor (Input(dtype="string")) cannot flow through a
    compiled model: say so, naming the layer and the NumPy-side pattern."""
    fn = layer if hasattr(layer, "_inputs_struct") else \
        layer.__dict__.get("_functional")
    host = None if fn is None else fn.__dict__.get("_host")
    if host is not None:
        first = host.nodes[0].operation
        raise ValueError(
            f'Model "{layer.name}" holds the host preprocessing layer '
            f'"{first.name}" ({type(first).__name__}) and cannot be called '
            "on symbolic tensors inside another model: its host layers run "
            "in NumPy before the compiled program, so a model with host "
            "layers cannot be nested. Apply the host layer in the outer "
            "model, to its keras.Input, and nest a model of the compiled "
            "layers.")
    for x in tree.flatten((args, kwargs)):
        if isinstance(x, KerasTensor) and x.dtype == "string":
            raise ValueError(
                f'Layer "{layer.name}" ({type(layer).__name__}) received a '
                f"string input of shape {x.shape} (from keras.Input(..., "
                'dtype="string")). graphkeras models compute on numbers '
                "only: turn the strings into numbers first with a host "
                "preprocessing layer at the front of the model "
                "(TextVectorization, StringLookup, Hashing applied to the "
                "keras.Input), or apply such a layer to the NumPy strings "
                "outside the model and feed the model its output."
            )


class NeedsStaticSizeError(ValueError):
    """A layer needs a static size where its input has None."""


# Sizes tried for an unknown non-batch dimension in a spec trace: two
# different sizes, large enough for the usual kernels and pools, with many
# divisors so that reshapes by small factors work for both.
_PROBE_SIZES = (64, 96)
# Batch sizes tried when a call needs a concrete one (two, so that the
# sizes that follow the batch are found and made None).
_BATCH_PROBES = (5, 7)


def _probe_shape(shape, spec, probe) -> tuple:
    """`shape` with its unknown non-batch sizes set to `probe`, or to the
    size the layer's InputSpec fixes for that axis."""
    rank = len(shape)
    fixed = {}
    if spec is not None:
        if spec.shape is not None and len(spec.shape) == rank:
            fixed.update({i: d for i, d in enumerate(spec.shape)
                          if d is not None})
        for axis, d in spec.axes.items():
            if d is not None and -rank <= axis < rank:
                fixed[axis % rank] = d
    return tuple(d if d is not None or i == 0 else fixed.get(i, probe)
                 for i, d in enumerate(shape))


def _merge_specs(a, b):
    """KerasTensors of a, with None where a and b differ in size."""
    flat_a, flat_b = tree.flatten(a), tree.flatten(b)
    if len(flat_a) != len(flat_b):
        return a
    merged = []
    for x, y in zip(flat_a, flat_b):
        if isinstance(x, KerasTensor) and isinstance(y, KerasTensor) and (
                len(x.shape) == len(y.shape)):
            shape = tuple(p if p == q else None
                          for p, q in zip(x.shape, y.shape))
            mask = getattr(x, "_keras_mask", None)
            x = KerasTensor(shape, x.dtype, name=x.name)
            if mask is not None:
                x._keras_mask = KerasTensor(shape[:len(mask.shape)],
                                            mask.dtype)
        merged.append(x)
    return tree.pack_like(a, merged)


def _serializable(v) -> bool:
    if v is None or isinstance(v, (bool, int, float, str)):
        return True
    if isinstance(v, (list, tuple)):
        return all(_serializable(x) for x in v)
    if isinstance(v, dict):
        return all(isinstance(k, str) and _serializable(x) for k, x in v.items())
    return False


def _round_outputs(outputs):
    """A mixed_float16 layer's float32 outputs rounded to float16 values,
    each keeping the mask call() gave it."""
    from ..ops.core import round_float16
    from .masks import get_keras_mask, set_keras_mask

    def one(x):
        if isinstance(x, np.ndarray) and x.dtype == np.float32:
            # eager: a float16 array, as Keras's layer returns (float16
            # arrays compute as float32 in graphkeras's ops)
            with np.errstate(over="ignore"):
                return x.astype(np.float16)
        y = round_float16(x)
        if y is not x:
            mask = get_keras_mask(x)
            if mask is not None:
                set_keras_mask(y, mask)
        return y

    return tree.map_structure(one, outputs)


def _mark_half(trace, args, outputs, half: bool):
    """Record in trace.half_values whether each traced output holds
    float16 values (`half`: a mixed_float16 layer's). A float32 layer that
    passes a float16 input through (Activation("linear", dtype="float32"))
    outputs a value of its own: in Keras its output is float32 and its
    input stays float16."""
    marks = trace.half_values
    inputs = {x.value.name for x in tree.flatten(args)
              if isinstance(x, TracedTensor)}

    def one(o):
        if not isinstance(o, TracedTensor):
            return o
        if not half and o.value.name in inputs and marks.get(o.value.name):
            new = trace.wrap(trace.builder.op("cast", o.value,
                                              dtype="float32"))
            mask = get_keras_mask(o)
            if mask is not None:
                set_keras_mask(new, mask)
            o = new
        if half and o.dtype == "float32":
            marks[o.value.name] = True
        elif marks.get(o.value.name):
            marks[o.value.name] = False
        # (a model without float16 layers leaves half_values empty, and
        # ops.core._follow_half is skipped)
        return o

    return tree.map_structure(one, outputs)


def _is_tensorlike(x) -> bool:
    return isinstance(x, (KerasTensor, TracedTensor, np.ndarray, Variable))


class _nullctx:
    def __enter__(self):
        return None

    def __exit__(self, *exc):
        return False


_SCOPES = threading.local()


@contextlib.contextmanager
def _name_scope(layer):
    """Keras 3's name scopes: a layer's build and call run under its name,
    so the variables of layers built inside another layer's (a model's)
    build or call get its name in their path ("sequential/dense/kernel")."""
    stack = getattr(_SCOPES, "stack", None)
    if stack is None:
        stack = _SCOPES.stack = []
    if stack and stack[-1][1] is layer:
        yield
        return
    stack.append((layer.name, layer))
    try:
        yield
    finally:
        stack.pop()


def _scoped_path(layer, name: str) -> str:
    stack = getattr(_SCOPES, "stack", None) or []
    names = [n for n, _ in stack]
    if not stack or stack[-1][1] is not layer:
        names.append(layer.name)
    return "/".join(names + [name])


def _build_wrapper(build):
    @functools.wraps(build)
    def wrapper(self, *args, **kwargs):
        with _name_scope(self):
            return _run_build(self, build, args, kwargs)

    return wrapper


def _run_build(self, build, args, kwargs):
    t = tracing.current_trace()
    self.__dict__["_building_shape"] = (
        args[0] if args else kwargs.get("input_shape"))
    rebuilt = self.__dict__.get("built", False)
    before = (len(self._trainable_variables),
              len(self._non_trainable_variables))
    attrs = {k: v for k, v in self.__dict__.items()
             if isinstance(v, Variable)} if rebuilt else {}
    try:
        if t is not None:
            with t.suspended():
                out = build(self, *args, **kwargs)
        else:
            out = build(self, *args, **kwargs)
    finally:
        self.__dict__.pop("_building_shape", None)
    if rebuilt and before != (len(self._trainable_variables),
                              len(self._non_trainable_variables)):
        # a second build() of a built layer (a parent's build() calling
        # self.inner.build() on a layer load_model already built) would
        # hold every weight twice; Keras 3 refuses it so
        del self._trainable_variables[before[0]:]
        del self._non_trainable_variables[before[1]:]
        for k, v in list(self.__dict__.items()):
            if isinstance(v, Variable) and attrs.get(k) is not v:
                if k in attrs:
                    self.__dict__[k] = attrs[k]
                else:
                    del self.__dict__[k]
        raise ValueError(
            "You cannot add new elements of state (variables or sub-layers) "
            "to a layer that is already built. All state must be created in "
            "the `__init__()` method or in the `build()` method. (Layer "
            f'"{self.name}" ({type(self).__name__}) was built again; check '
            "`if not layer.built:` before calling its build().)")
    self._build_shapes = args[0] if args else kwargs.get("input_shape")
    self.built = True
    return out


__all__ = ["InputSpec", "Layer", "Node"]

