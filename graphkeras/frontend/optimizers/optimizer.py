"""The Optimizer base class: updates written as IR inside the train step.

`apply(grads, variables)` runs inside the traced train step, in Keras 3's
order: it clips the gradients (one of clipnorm, global_clipnorm,
clipvalue), reads the learning rate (a Variable, or a schedule evaluated at
the iteration counter before the increment), applies decoupled weight
decay (w -= w * weight_decay * lr), calls `update_step(gradient, variable,
learning_rate)` for each variable, updates the weights' moving averages
(use_ema), increments `iterations`, then applies the variables'
constraints. With `gradient_accumulation_steps` = n, the gradients of n
steps are summed in accumulator slots and the weights change on every n-th
step only, with their mean (Keras 3's rule: see `apply`). `fit` calls
`finalize_variable_values` at its end. Every `assign` becomes a state
update of the program.

Invariants: slot variables are created once (`build`), before the first
trace that uses them; `learning_rate` is a Variable, so setting it (for
instance from a callback) changes the next step without recompiling.

Adding an optimizer: subclass `Optimizer`, create slots in
`build(var_list)` with `add_variable_from_reference(var, "momentum")`,
implement `update_step` with ops and `self.assign / assign_add /
assign_sub`, give `get_config`, and register it in
`optimizers/__init__.py`'s `ALL_OBJECTS`. Values that every variable's
update reads alike (bias corrections, the learning rate in the variable's
dtype, constants) go through `per_step` / `constant_as`, so that a deep
model's traced step holds them once, not once per variable.
"""

from __future__ import annotations

import re

import numpy as np

from .. import ops, tracing
from ..naming import auto_name
from ..variables import Variable
from .schedules import LearningRateSchedule


class Optimizer:
    """Base class of optimizers.

    Args:
        learning_rate: a float or a `LearningRateSchedule`.
        weight_decay: decoupled decay, applied as w -= w * wd * lr.
        clipnorm: clip each gradient to this norm.
        clipvalue: clip each gradient's elements to [-v, v].
        global_clipnorm: clip all gradients to this global norm.
        use_ema: keep an exponential moving average of the weights, which
            replaces them at the end of `fit`.
        ema_momentum: the average's decay (0.99).
        ema_overwrite_frequency: with use_ema, also overwrite the weights
            with their averages every this many steps.
        loss_scale_factor: multiply the loss by this before
            differentiating and divide the gradients by it again.
        gradient_accumulation_steps: an integer n >= 2 or None. With n,
            the weights and the optimizer's own state change every n-th
            step only, with the mean of the last n steps' gradients (the
            others add their gradients to accumulators); `iterations`
            then counts those updates (the steps taken, divided by n).
        name: the optimizer's name.
    """

    def __init__(self, learning_rate, weight_decay=None, clipnorm=None,
                 clipvalue=None, global_clipnorm=None, use_ema=False,
                 ema_momentum=0.99, ema_overwrite_frequency=None,
                 loss_scale_factor=None, gradient_accumulation_steps=None,
                 name=None, **kwargs):
        if kwargs:
            raise ValueError(f"Argument(s) not recognized: {kwargs}")
        if sum(a is not None for a in (clipnorm, clipvalue, global_clipnorm)) > 1:
            raise ValueError(
                "Only one of `clipnorm`, `clipvalue` and `global_clipnorm` can "
                f"be set. Received: clipnorm={clipnorm}, "
                f"clipvalue={clipvalue}, global_clipnorm={global_clipnorm}"
            )
        if gradient_accumulation_steps is not None and (
                isinstance(gradient_accumulation_steps, bool)
                or not isinstance(gradient_accumulation_steps,
                                  (int, np.integer))
                or gradient_accumulation_steps < 2):
            raise ValueError(
                "`gradient_accumulation_steps` must be an integer >= 2. "
                "Received: gradient_accumulation_steps="
                f"{gradient_accumulation_steps}")
        self.gradient_accumulation_steps = (
            None if gradient_accumulation_steps is None
            else int(gradient_accumulation_steps))
        self._accumulators: dict = {}
        if use_ema:
            if not 0 <= ema_momentum <= 1:
                raise ValueError("`ema_momentum` must be in the range [0, 1]. "
                                 f"Received: ema_momentum={ema_momentum}")
            if ema_overwrite_frequency is not None and (
                    isinstance(ema_overwrite_frequency, bool)
                    or not isinstance(ema_overwrite_frequency, int)
                    or ema_overwrite_frequency < 1):
                raise ValueError(
                    "`ema_overwrite_frequency` must be an integer >= 1 or "
                    "None. Received: ema_overwrite_frequency="
                    f"{ema_overwrite_frequency}")
        self.use_ema = bool(use_ema)
        self.ema_momentum = float(ema_momentum)
        self.ema_overwrite_frequency = ema_overwrite_frequency
        self._averages: dict = {}
        # as in Keras 3, a given name is kept (variable keys stay unique)
        self.name = str(name) if name else auto_name(self)
        self.weight_decay = weight_decay
        self.clipnorm = clipnorm
        self.clipvalue = clipvalue
        self.global_clipnorm = global_clipnorm
        self.loss_scale_factor = loss_scale_factor
        self.built = False
        self._variables: list = []
        self._slots: dict = {}
        # the steps taken (apply calls); `iterations` reads it
        self._iterations = Variable(np.zeros((), np.int64), dtype="int64",
                                    trainable=False, name="iteration",
                                    path=f"{self.name}/iteration")
        self._variables.append(self._iterations)
        self._exclude_from_weight_decay = set()
        self._exclude_from_weight_decay_pattern = None
        self._step_memo = None
        if isinstance(learning_rate, LearningRateSchedule) or callable(learning_rate):
            self._schedule = learning_rate
            self._lr_var = None
        else:
            if isinstance(learning_rate, bool) or not isinstance(
                learning_rate, (int, float, np.floating, np.integer)
            ):
                raise ValueError(  # noqa: TRY004  (Keras raises ValueError)
                    "Argument `learning_rate` should be float, or an instance "
                    "of LearningRateSchedule, or a callable (that takes in "
                    "the current iteration value and returns the "
                    "corresponding learning rate value). Received instead: "
                    f"learning_rate={learning_rate}"
                )
            self._schedule = None
            self._lr_var = Variable(np.asarray(float(learning_rate), np.float32),
                                    trainable=False, name="learning_rate",
                                    path=f"{self.name}/learning_rate")
            self._variables.append(self._lr_var)

    @property
    def iterations(self):
        """The update count: the `iteration` Variable (the steps taken),
        or with gradient_accumulation_steps = n, the steps taken divided
        by n (a value, as Keras 3's)."""
        steps = self.gradient_accumulation_steps
        if steps:
            return ops.floor_divide(self._iterations.value, np.int64(steps))
        return self._iterations

    @iterations.setter
    def iterations(self, value):
        self._iterations = value

    # --- learning rate ---------------------------------------------------------

    @property
    def learning_rate(self):
        """The current learning rate: a float (or, with a schedule, its
        value at the current iteration)."""
        if self._schedule is not None:
            # (a schedule counts the steps taken, accumulating ones too)
            return float(np.asarray(self._evaluate_schedule(
                np.asarray(float(self._iterations), np.float32))))
        return float(self._lr_var)

    @learning_rate.setter
    def learning_rate(self, value):
        if self._schedule is not None:
            raise TypeError(
                "This optimizer was created with a `LearningRateSchedule` "
                "object as its `learning_rate` constructor argument, hence "
                "its learning rate is not settable. If you need the learning "
                "rate to be settable, you should instantiate the optimizer "
                "with a float `learning_rate` argument."
            )
        self._lr_var.assign(np.asarray(float(value), np.float32))

    def _evaluate_schedule(self, step):
        # A LearningRateSchedule takes the iteration; any other callable is
        # called without arguments, as in Keras.
        if isinstance(self._schedule, LearningRateSchedule):
            return self._schedule(step)
        return self._schedule()

    def _current_learning_rate(self):
        if self._schedule is not None:
            return ops.cast(self._evaluate_schedule(
                ops.cast(self._iterations.value, "float32")), "float32")
        return self._lr_var.value

    # --- variables ---------------------------------------------------------------

    @property
    def variables(self) -> list:
        return list(self._variables)

    def add_variable(self, shape, initializer="zeros", dtype=None, name=None):
        from .. import initializers

        init = initializers.get(initializer)
        v = Variable(np.asarray(init(tuple(shape), dtype=dtype or "float32")),
                     trainable=False, name=name, path=f"{self.name}/{name}")
        self._variables.append(v)
        return v

    def add_variable_from_reference(self, reference_variable, name=None,
                                    initializer="zeros"):
        """A slot with the shape and dtype of `reference_variable`, named
        like Keras's (`adam/dense_kernel_momentum`)."""
        from .. import initializers

        base = reference_variable.path.replace("/", "_")
        init = initializers.get(initializer)
        value = np.asarray(init(reference_variable.shape,
                                dtype=reference_variable.dtype))
        v = Variable(value, dtype=reference_variable.dtype, trainable=False,
                     name=f"{base}_{name}", path=f"{self.name}/{base}_{name}")
        self._variables.append(v)
        return v

    def build(self, var_list) -> None:
        """Create the slot variables for `var_list` (override and call
        super().build(var_list))."""
        self._trainable_keys = [v.key for v in var_list]
        self._trainable_vars = list(var_list)
        if self.use_ema:
            for var in var_list:
                self._averages[var.key] = self.add_variable_from_reference(
                    var, "average")
        if self.gradient_accumulation_steps:  # after the averages (Keras)
            for var in var_list:
                self._accumulators[var.key] = self.add_variable_from_reference(
                    var, "gradient_accumulator")
        self.built = True

    def _var_index(self, variable) -> int:
        return self._trainable_keys.index(variable.key)

    def _check_built_for(self, variables) -> None:
        if not self.built:
            self.build(variables)
            return
        missing = [v for v in variables if v.key not in self._trainable_keys]
        if missing:
            # New trainable variables (a layer unfrozen or added): give them
            # slots too.
            self.build_more(missing)

    def build_more(self, var_list) -> None:
        old = list(self._trainable_keys)
        old_vars = list(getattr(self, "_trainable_vars", []))
        self.built = False
        self.build(var_list)
        self._trainable_keys = old + self._trainable_keys
        self._trainable_vars = old_vars + self._trainable_vars

    # --- assignment helpers used by update_step --------------------------------

    @staticmethod
    def assign(variable, value):
        variable.assign(value)

    @staticmethod
    def assign_add(variable, value):
        variable.assign(ops.add(variable, value))

    @staticmethod
    def assign_sub(variable, value):
        variable.assign(ops.subtract(variable, value))

    # --- applying ------------------------------------------------------------------

    def _clip(self, grads):
        # Keras applies one of the three (they are mutually exclusive).
        if self.clipnorm and self.clipnorm > 0:
            return [self._clip_by_norm(g) for g in grads]
        if self.global_clipnorm and self.global_clipnorm > 0:
            return clip_by_global_norm(grads, float(self.global_clipnorm))
        if self.clipvalue and self.clipvalue > 0:
            v = float(self.clipvalue)
            return [ops.clip(g, -v, v) for g in grads]
        return grads

    def _clip_by_norm(self, g):
        c = float(self.clipnorm)
        l2sum = ops.sum(ops.square(g), keepdims=True)
        pos = ops.greater(l2sum, 0.0)
        safe = ops.where(pos, l2sum, ops.ones_like(l2sum))
        l2norm = ops.where(pos, ops.sqrt(safe), l2sum)
        return ops.divide(ops.multiply(g, c), ops.maximum(l2norm, c))

    # --- weight decay -----------------------------------------------------------

    def exclude_from_weight_decay(self, var_list=None, var_names=None):
        """Exclude variables (objects, or names matched as regexes) from
        weight decay; call before the first training step."""
        if self.built:
            raise ValueError(
                "`exclude_from_weight_decay()` can only be configured before "
                "the optimizer is built."
            )
        self._exclude_from_weight_decay = {v.key for v in (var_list or [])}
        self._exclude_from_weight_decay_pattern = (
            re.compile("|".join(set(var_names))) if var_names else None)

    def _use_weight_decay(self, variable) -> bool:
        if variable.key in self._exclude_from_weight_decay:
            return False
        pattern = self._exclude_from_weight_decay_pattern
        return pattern is None or re.search(pattern, variable.name) is None

    def _apply_weight_decay(self, variables, lr) -> None:
        if self.weight_decay is None:
            return
        for v in variables:
            if self._use_weight_decay(v):
                decay = ops.multiply(ops.multiply(v, float(self.weight_decay)),
                                     ops.cast(lr, v.dtype))
                v.assign(ops.subtract(v, decay))

    # --- applying ------------------------------------------------------------------

    def apply(self, grads, trainable_variables) -> None:
        """Apply one step of updates (inside a trace or eagerly): unscale,
        clip, weight decay, `update_step` per variable, the iteration
        counter, then the variables' constraints (Keras's order)."""
        grads = list(grads)
        variables = list(trainable_variables)
        if len(grads) != len(variables):
            raise ValueError(
                "Argument `grads` should be a list of gradient tensors, one "
                f"per trainable variable. Received a list of {len(grads)} "
                f"gradients, but the optimizer is handling {len(variables)} "
                "variables."
            )
        self._check_built_for(variables)
        trace = tracing.current_trace()
        if trace is not None and "_replica_hooks" in trace.__dict__:
            # DataParallel ranks: an overridden train_step's gradients
            grads = tracing.replica_gradients(trace, grads)
        if self.loss_scale_factor is not None:
            grads = [ops.divide(g, float(self.loss_scale_factor)) for g in grads]
        if self.gradient_accumulation_steps:
            self._accumulate_or_update(grads, variables)
        else:
            self._update(grads, variables)
        if self.use_ema:
            self._update_averages(variables)
        self._iterations.assign(ops.add(self._iterations, np.int64(1)))
        for v in variables:
            if v.constraint is not None:
                v.assign(v.constraint(v.value))

    def _update(self, grads, variables) -> None:
        """Clip, decay the weights and run the update steps."""
        grads = self._clip(grads)
        lr = self._current_learning_rate()
        self._apply_weight_decay(variables, lr)
        self._step_memo = {}
        try:
            self._update_all(grads, variables, lr)
        finally:
            self._step_memo = None

    def _accumulate_or_update(self, grads, variables) -> None:
        """Keras 3's gradient accumulation with n steps: on every n-th step
        (iteration + 1 divisible by n) update with (g + accumulated) / n
        and zero the accumulators; on the others add g to them and change
        nothing else. Both are computed and a select keeps one (the
        program has no branches)."""
        n = self.gradient_accumulation_steps
        now = ops.equal(ops.mod(ops.add(self._iterations, np.int64(1)),
                                np.int64(n)), np.int64(0))
        accs = [self._accumulators[v.key] for v in variables]
        sums = [a.value for a in accs]
        skip = {a.key for a in accs} | {self._iterations.key}
        state = [v for v in self._variables if v.key not in skip]
        only_when(now, list(variables) + state, lambda: self._update(
            [ops.divide(ops.add(g, s), n) for g, s in zip(grads, sums)],
            variables))
        for a, s, g in zip(accs, sums, grads):
            a.assign(ops.where(now, ops.zeros_like(s),
                               ops.add(s, ops.cast(g, s.dtype))))

    def scale_loss(self, loss):
        """The loss the train step differentiates: times loss_scale_factor
        when set (apply divides the gradients by it again), as in Keras."""
        if self.loss_scale_factor is not None:
            return ops.multiply(loss, float(self.loss_scale_factor))
        return loss

    def _update_averages(self, variables) -> None:
        # Keras's EMA: the first step copies the weights (momentum 0); with
        # ema_overwrite_frequency, every that many steps the weights take
        # their averages
        first = ops.equal(self.iterations, np.int64(0))  # updates, not steps
        momentum = ops.where(first, 0.0, self.ema_momentum)
        freq = self.ema_overwrite_frequency
        overwrite = None
        if freq:
            overwrite = ops.equal(ops.mod(ops.add(self.iterations, np.int64(1)),
                                          np.int64(freq)), np.int64(0))
        for v in variables:
            avg = self._averages[v.key]
            m = ops.cast(momentum, v.dtype)
            new_avg = ops.add(ops.multiply(m, avg),
                              ops.multiply(ops.subtract(1.0, m), v))
            avg.assign(new_avg)
            if overwrite is not None:
                v.assign(ops.where(overwrite, new_avg, v))

    def finalize_variable_values(self, var_list) -> None:
        """At the end of fit: with use_ema, the weights take their moving
        averages (Keras 3); otherwise nothing."""
        if not self.use_ema:
            return
        for v in var_list:
            avg = self._averages.get(v.key)
            if avg is not None:
                v.assign(avg.numpy())

    def _update_all(self, grads, variables, lr) -> None:
        """Run update_step for every variable (a hook for optimizers with
        state shared by all variables, such as Nadam)."""
        for g, v in zip(grads, variables):
            self.update_step(g, v, lr)

    def per_step(self, key, make):
        """`make()`, computed once per step for `key` (a hashable: the
        quantity's name and the dtype it is cast to): the values every
        variable's update reads alike (the step count, bias corrections,
        the learning rate in the variable's dtype). Inside `update_step`
        the first variable computes them and the others reuse them, so a
        deep model's step holds each once instead of once per variable
        (the same values: common-subexpression elimination merged the
        copies before, after tracing them all). Outside an update (an
        `update_step` called directly) it just calls `make()`."""
        memo = getattr(self, "_step_memo", None)
        if memo is None:
            return make()
        if key not in memo:
            memo[key] = make()
        return memo[key]

    def _learning_rate_as(self, learning_rate, dtype):
        """learning_rate cast to `dtype`, once per step (per_step)."""
        # the entry holds learning_rate, so its id names no other object
        return self.per_step(
            ("learning_rate", str(dtype), id(learning_rate)),
            lambda: (learning_rate, ops.cast(learning_rate, dtype)))[1]

    def constant_as(self, value: float, dtype):
        """The number `value` as a constant of `dtype` (the value a Python
        float takes in an op with a tensor of that dtype), built once per
        step inside a traced update (per_step); outside one, `value`."""
        trace = tracing.current_trace()
        if trace is None or getattr(self, "_step_memo", None) is None:
            return value
        return self.per_step(
            ("constant", float(value), str(dtype)),
            lambda: trace.wrap(trace.builder.constant(float(value),
                                                      str(dtype))))

    def _step_count_as(self, dtype, ahead: int = 1):
        """iterations + ahead (the step being taken, counted from 1), cast
        to `dtype`, once per step."""
        return self.per_step(
            ("step", str(dtype), ahead),
            lambda: ops.cast(ops.add(self.iterations, ahead), dtype))

    def _built_variables(self):
        """The trainable variables the optimizer was built for (None if not
        built)."""
        return list(self._trainable_vars) if self.built else None

    def stateless_apply(self, optimizer_variables, grads,
                        trainable_variables):
        """One step on given values: returns (new trainable values, new
        optimizer variable values), as Keras 3 (frontend/stateless.py)."""
        from ..stateless import stateless_apply

        return stateless_apply(self, optimizer_variables, grads,
                               trainable_variables)

    def apply_gradients(self, grads_and_vars) -> None:
        grads, variables = zip(*grads_and_vars)
        self.apply(grads, variables)

    def update_step(self, gradient, variable, learning_rate) -> None:
        raise NotImplementedError

    def get_config(self) -> dict:
        if isinstance(self._schedule, LearningRateSchedule):
            lr = {"module": "keras.optimizers.schedules",
                  "class_name": type(self._schedule).__name__,
                  "config": self._schedule.get_config(),
                  "registered_name": None}
        else:
            lr = self.learning_rate
        return {"name": self.name, "learning_rate": lr,
                "weight_decay": self.weight_decay, "clipnorm": self.clipnorm,
                "global_clipnorm": self.global_clipnorm,
                "clipvalue": self.clipvalue, "use_ema": self.use_ema,
                "ema_momentum": self.ema_momentum,
                "ema_overwrite_frequency": self.ema_overwrite_frequency,
                "loss_scale_factor": self.loss_scale_factor,
                "gradient_accumulation_steps":
                    self.gradient_accumulation_steps}

    @classmethod
    def from_config(cls, config, custom_objects=None):
        config = dict(config)
        if isinstance(config.get("learning_rate"), dict):
            from . import schedules

            config["learning_rate"] = schedules.deserialize(
                config["learning_rate"], custom_objects=custom_objects)
        return cls(**config)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} name={self.name}>"


def only_when(condition, variables, update) -> None:
    """Run `update()` (which assigns some of `variables`), then give each
    of them its value from before unless `condition` (a boolean scalar)
    holds: a select per variable, so traced programs stay branch-free.
    Eagerly, the values from before are copies (assign writes the stored
    arrays in place)."""
    trace = tracing.current_trace()
    before = [v.value if trace is not None else np.array(v.value)
              for v in variables]
    update()
    for v, old in zip(variables, before):
        if trace is not None and v.key not in trace.updates:
            continue  # not written by this step
        v.assign(ops.where(condition, v.value, old))


def global_norm(values):
    """sqrt of the sum of squares of every element of `values`."""
    total = None
    for g in values:
        sq = ops.sum(ops.square(g))
        total = sq if total is None else ops.add(total, sq)
    return ops.sqrt(total)


def clip_by_global_norm(values, clip_norm: float):
    """Scale `values` so that their global norm is at most `clip_norm`
    (Keras's formula; a NaN / inf norm gives NaN values)."""
    n = global_norm(values)
    scale = ops.multiply(ops.minimum(ops.divide(1.0, n), 1.0 / clip_norm),
                         clip_norm)
    scale = ops.add(scale, ops.subtract(n, n))
    return [ops.multiply(g, scale) for g in values]
