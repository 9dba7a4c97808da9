"""MultiOptimizer and OptimizerMap (Keras 3.15): each trainable variable
goes to one inner optimizer, chosen by its path (OptimizerMap: an exact
key, else the one regex key that fully matches, else the default) or by a
function of the variable.

Inside the train step `apply` splits the gradients by optimizer and runs
each inner optimizer's `apply` (its clipping, weight decay, update and
iteration counter) on its share; the MultiOptimizer's own `iterations`
counts the steps. Its variables are its own (iterations, the unused
learning rate, as Keras's) followed by each inner optimizer's, in the
order the inner optimizers were first met.
"""

from __future__ import annotations

import re
from collections.abc import MutableMapping

from .. import ops
from .loss_scale_optimizer import LossScaleOptimizer
from .optimizer import Optimizer


def _serialize(optimizer) -> dict:
    from . import serialize

    return serialize(optimizer)


def _deserialize(config, custom_objects=None):
    from . import deserialize

    return deserialize(config, custom_objects=custom_objects)


class OptimizerMap(MutableMapping):
    """A mapping from variable paths (exact keys or regexes matched in
    full) to optimizers, with a default for the variables no key matches.

    Args:
        default_optimizer: the optimizer of unmatched variables.
        optimizer_map: an initial dict of {path or regex: optimizer}.
    """

    def __init__(self, default_optimizer, optimizer_map=None):
        if not isinstance(default_optimizer, Optimizer):
            raise TypeError(
                "default_optimizer must be a Keras Optimizer instance. "
                f"Received: {default_optimizer}")
        if optimizer_map is not None and not isinstance(optimizer_map, dict):
            raise TypeError(
                f"optimizer_map must be a dictionary. Received: {optimizer_map}")
        self._default_optimizer = default_optimizer
        self._optimizer_map = dict(optimizer_map or {})

    @property
    def default_optimizer(self):
        return self._default_optimizer

    def __getitem__(self, key):
        if key in self._optimizer_map:
            return self._optimizer_map[key]
        matching = [p for p in self._optimizer_map if re.fullmatch(p, key)]
        if len(matching) > 1:
            raise ValueError(f"Multiple optimizers assigned to variable {key}.")
        if matching:
            return self._optimizer_map[matching[0]]
        return self._default_optimizer

    def __setitem__(self, key, optimizer):
        if key in self._optimizer_map:
            raise ValueError(
                f"'{key}' already exists in the OptimizerMap with value "
                f"{self._optimizer_map[key]}. Please make sure to not use "
                "duplicated keys.")
        if not isinstance(key, str):
            raise ValueError(f"key must be a string. Received: {key}")
        if not isinstance(optimizer, Optimizer):
            raise ValueError("optimizer must be a Keras Optimizer instance. "
                             f"Received: {optimizer}")
        if isinstance(optimizer, LossScaleOptimizer):
            raise ValueError("optimizer cannot be LossScaleOptimizer.")
        if isinstance(optimizer, MultiOptimizer):
            raise ValueError("optimizer cannot be MultiOptimizer.")
        self._optimizer_map[key] = optimizer

    def __delitem__(self, key):
        del self._optimizer_map[key]

    def __len__(self):
        return len(self._optimizer_map)

    def __iter__(self):
        return iter(self._optimizer_map)

    def __call__(self, variable):
        return self[variable.path]

    def get_config(self):
        return {"default_optimizer": _serialize(self._default_optimizer),
                "optimizer_map": {k: _serialize(v)
                                  for k, v in self._optimizer_map.items()}}

    @classmethod
    def from_config(cls, config, custom_objects=None):
        return cls(_deserialize(config["default_optimizer"], custom_objects),
                   {k: _deserialize(v, custom_objects)
                    for k, v in config.get("optimizer_map", {}).items()})


class MultiOptimizer(Optimizer):
    """An optimizer that hands each variable to one of several optimizers.

    Args:
        optimizer_map: an OptimizerMap, or a function of a variable
            returning its optimizer.
        loss_scale_factor: overrides the inner optimizers' (the loss is
            multiplied by it, the gradients divided by it).
        name: the optimizer's name.

    Example:

    ```python
    model.compile(
        optimizer=keras.optimizers.MultiOptimizer(
            keras.optimizers.OptimizerMap(
                keras.optimizers.SGD(0.01),
                {"encoder/.*": keras.optimizers.Adam()})),
        loss="mse")
    ```
    """

    def __init__(self, optimizer_map, loss_scale_factor=None, name=None):
        super().__init__(learning_rate=0.0,
                         loss_scale_factor=loss_scale_factor, name=name)
        self._optimizer_map = optimizer_map
        self._inner_optimizers = []
        inner = list(optimizer_map.values()) if hasattr(
            optimizer_map, "values") else []
        default = getattr(optimizer_map, "default_optimizer", None)
        for opt in inner + ([default] if default is not None else []):
            if opt not in self._inner_optimizers:
                opt.loss_scale_factor = loss_scale_factor
                self._inner_optimizers.append(opt)

    def _choose(self, var):
        opt = self._optimizer_map(var)
        if not isinstance(opt, Optimizer):
            raise ValueError(
                f"Optimizer for variable {var.path} is not an Optimizer "
                f"instance. Received: {opt!r}")
        if isinstance(opt, LossScaleOptimizer):
            raise ValueError(
                "LossScaleOptimizer cannot be used inside an MultiOptimizer.")
        if isinstance(opt, MultiOptimizer):
            raise ValueError(
                "MultiOptimizer cannot be used inside an MultiOptimizer.")
        if opt not in self._inner_optimizers:
            opt.loss_scale_factor = self.loss_scale_factor
            self._inner_optimizers.append(opt)
        return self._inner_optimizers.index(opt)

    def build(self, var_list):
        self._owner = {}
        groups = [[] for _ in self._inner_optimizers]
        for var in var_list:
            k = self._choose(var)
            groups += [[] for _ in range(len(self._inner_optimizers)
                                         - len(groups))]
            self._owner[var.key] = k
            groups[k].append(var)
        for opt, variables in zip(self._inner_optimizers, groups):
            if variables:
                opt.build(variables)
        super().build(var_list)

    @property
    def optimizers(self) -> list:
        return self._inner_optimizers

    @property
    def variables(self) -> list:
        out = list(self._variables)
        for opt in self._inner_optimizers:
            out.extend(opt.variables)
        return out

    @property
    def learning_rate(self):
        raise AttributeError(
            "Learning rate cannot be accessed on a MultiOptimizer. Access the "
            "learning rate on the individual sub-optimizers instead.")

    @learning_rate.setter
    def learning_rate(self, value):
        raise AttributeError(
            "Learning rate cannot be set on a MultiOptimizer. Set the "
            "learning rate on the individual sub-optimizers instead.")

    @property
    def loss_scale_factor(self):
        return getattr(self, "_loss_scale_factor", None)

    @loss_scale_factor.setter
    def loss_scale_factor(self, value):
        self._loss_scale_factor = value
        for opt in getattr(self, "_inner_optimizers", ()):
            opt.loss_scale_factor = value

    def apply(self, grads, trainable_variables=None):
        grads = list(grads)
        if not grads:
            return
        if trainable_variables is None:
            if not self.built:
                raise ValueError(
                    "When passing `grads` without `variables`, the optimizer "
                    "must already be built on a list of variables. Call "
                    "`optimizer.build(trainable_variables)` first.")
            trainable_variables = self._trainable_vars
        variables = list(trainable_variables)
        if not self.built:
            self.build(variables)
        if len(grads) != len(variables):
            raise ValueError(
                "Gradients must match trainable variables one-to-one. "
                f"Received {len(grads)} gradients and {len(variables)} "
                "variables.")
        unknown = [v.path for v in variables if v.key not in self._owner]
        if unknown:
            raise ValueError(
                f"MultiOptimizer was built without the variables {unknown}; "
                "build it on every trainable variable.")
        shares = [([], []) for _ in self._inner_optimizers]
        for g, v in zip(grads, variables):
            gs, vs = shares[self._owner[v.key]]
            gs.append(g)
            vs.append(v)
        for opt, (gs, vs) in zip(self._inner_optimizers, shares):
            if vs:
                opt.apply(gs, vs)
        self._iterations.assign(ops.add(self._iterations, 1))

    def finalize_variable_values(self, var_list):
        shares = [[] for _ in self._inner_optimizers]
        for v in var_list:
            if v.key in getattr(self, "_owner", {}):
                shares[self._owner[v.key]].append(v)
        for opt, vs in zip(self._inner_optimizers, shares):
            if vs:
                opt.finalize_variable_values(vs)

    def get_config(self):
        if not isinstance(self._optimizer_map, OptimizerMap):
            raise ValueError(
                "A MultiOptimizer made with a function cannot be serialized; "
                "give it an OptimizerMap to save it.")
        return {"optimizer_map": {
                    "module": "keras.optimizers", "class_name": "OptimizerMap",
                    "config": self._optimizer_map.get_config(),
                    "registered_name": None},
                "loss_scale_factor": self.loss_scale_factor,
                "name": self.name}

    @classmethod
    def from_config(cls, config, custom_objects=None):
        config = dict(config)
        m = config["optimizer_map"]
        if isinstance(m, dict):
            m = OptimizerMap.from_config(m.get("config", m), custom_objects)
        config["optimizer_map"] = m
        return cls(**config)
