"""The training loop: compile / fit / evaluate / predict, and Keras 3's
trainer seams.

`compile()` records the optimizer, losses and metrics. The first call that
needs a step traces it into a Program (frontend/trainer_steps.py,
`trace_step`): the model's own `train_step` / `test_step` /
`predict_step` when it overrides them, else the built-in ones defined here:

- train: forward(training=True), `compute_loss` (the weighted per-output
  losses + regularization + add_loss), the loss tracker and
  `compute_metrics`, the gradients (frontend/gradients.py: the IR's
  `differentiate`) and the optimizer's update ops;
- test: the same without gradients and optimizer (training=False);
- predict: forward(training=False) -> outputs.

Every persistent tensor the step reads is program *state* (a Variable in
the shared StateStore); everything it assigns is an *update* written back
after each call. One executable call runs one batch.

Invariants: the executables live in one StepCache (frontend/step_cache.py),
which traces again only when what a step computes changes. Logs hold the
running epoch values of `model.metrics`, or, for an overridden step, the
dict it returns, sorted by name as Keras 3 hands logs to callbacks,
History and the progress bar.
"""

from __future__ import annotations

import inspect
import warnings

import numpy as np

from .. import config as _config
from .. import ir
from ..runtime import make_executable
from . import ops, trainer_steps, tracing, tree
from .callbacks import CallbackList
from .compile_utils import CompileLoss, CompileMetrics
from . import distributed_trainer as _dist
from .gradients import gradient
from .metrics.metric import Metric
from .step_cache import Entry, StepCache
from .data import (
    StandardizedAdapter,
    check_count,
    check_validation_data,
    check_validation_freq,
    check_validation_split,
    make_adapter,
    train_validation_split,
)
from .metrics.reduction_metrics import Mean
from .variables import STORE, structure_version

# Programs kept per model (train / test / predict x per-sample shapes).
_MAX_PROGRAMS = 16
_F32 = np.dtype(np.float32)


def _float(x):
    """A Python float, or (a metric with a value per class or threshold:
    Recall(thresholds=[...]), F1Score(average=None)) the array itself, as
    Keras's `float(value)` in pythonify_logs: with NumPy >= 2.3 an array of
    shape (1,) stays an array (F1Score of one sigmoid output)."""
    a = np.asarray(x)
    try:
        return float(a)
    except (TypeError, ValueError):
        return a


def _float16_run(run1):
    def run(x):
        res = run1(x)
        return None if res is None else (res[0].astype(np.float16),)

    return run


class Trainer:
    """Mixed into Model: compile, fit, evaluate, predict, *_on_batch."""

    def __init__(self):
        self.compiled = False
        self.optimizer = None
        self.loss = None
        self.stop_training = False
        self.history = None
        self._steps = StepCache(_MAX_PROGRAMS)
        self._step_logs = None  # the logs of an overridden step's last run
        self._compile_version = 0
        self._run_eagerly = False
        self.steps_per_execution = 1
        self._loss_tracker = None
        self._compile_loss = None
        self._compile_metrics = None

    # --- compile -----------------------------------------------------------------

    def compile(self, optimizer="rmsprop", loss=None, loss_weights=None,
                metrics=None, weighted_metrics=None, run_eagerly=False,
                steps_per_execution=1, jit_compile="auto",
                auto_scale_loss=True):
        """Configure the model for training.

        Args:
            optimizer: name or Optimizer instance ("rmsprop").
            loss: name, function or Loss; or a list / dict per output
                (None keeps the loss of an earlier compile, as Keras 3).
            loss_weights: scalars weighting the per-output losses.
            metrics: names, functions or Metric instances; a list, or a
                list / dict per output. "accuracy" resolves from shapes.
            weighted_metrics: metrics that use the sample weights (with
                `metrics` None, those of an earlier compile stay).
            run_eagerly: True runs the reference interpreter (debugging).
            steps_per_execution: batches run per executable call during
                fit (one native call for the whole group when compiled);
                batch callbacks see each group once.
            auto_scale_loss: under the "mixed_float16" policy, wrap the
                optimizer in a LossScaleOptimizer (Keras 3's default).
        """
        from . import optimizers

        self.optimizer = optimizers.get(optimizer)
        if (auto_scale_loss and self.optimizer is not None
                and getattr(self, "dtype_policy", None) is not None
                and self.dtype_policy.name == "mixed_float16"):
            # Keras 3: a mixed_float16 model trains with dynamic loss scaling
            from .optimizers.loss_scale_optimizer import LossScaleOptimizer

            if not isinstance(self.optimizer, LossScaleOptimizer):
                self.optimizer = LossScaleOptimizer(
                    self.optimizer, name="loss_scale_optimizer")
        # NOTE: as Keras 3, compiling again without a loss (or without
        # metrics) keeps the ones compiled before: `model.compile(
        # optimizer=...)` only changes the optimizer
        if loss is not None:
            self.loss = loss
            self._compile_loss = CompileLoss(loss, loss_weights)
        if metrics is not None or weighted_metrics is not None:
            self._compile_metrics = CompileMetrics(metrics, weighted_metrics)
        self._loss_tracker = Mean(name="loss")
        self._run_eagerly = bool(run_eagerly)
        if isinstance(steps_per_execution, bool) or not isinstance(
                steps_per_execution, (int, np.integer)) or \
                steps_per_execution < 1:
            raise ValueError(
                "Expected `steps_per_execution` to be a positive integer "
                "(the batches run per call into the compiled step). "
                f"Received: steps_per_execution={steps_per_execution!r}")
        self.steps_per_execution = int(steps_per_execution)
        self.compiled = True
        if not self._run_eagerly:
            # the GEMM and threads libraries compile in a forked child
            # while the first step traces (a cold first step waits less)
            from ..runtime import prefetch_libraries

            prefetch_libraries()
        self._compile_version += 1
        self._steps.clear()

    @property
    def run_eagerly(self) -> bool:
        return self._run_eagerly

    @run_eagerly.setter
    def run_eagerly(self, value) -> None:
        self._run_eagerly = bool(value)
        self._steps.clear()

    def _distributed(self, *verbose):
        """Look up the DataParallel job for this call (None: one process;
        frontend/distributed_trainer.py); returns it, or with `verbose`
        given, the verbosity for this rank (0 but on rank 0)."""
        dp = self.__dict__["_dp"] = _dist.active()
        if not verbose:
            return dp
        return verbose[0] if dp is None else dp.verbose(verbose[0])

    def _assert_compiled(self, method):
        if not self.compiled:
            raise ValueError(
                f"You must call `compile()` before using the model. "
                f"(`model.{method}()` was called on model '{self.name}' before "
                "`model.compile(optimizer, loss)`.)"
            )

    # --- metrics -------------------------------------------------------------------

    @property
    def metrics(self) -> list:
        """The loss tracker, the compiled losses' and metrics' trackers,
        then the Metric objects set as attributes of the model (custom
        trackers, as Keras 3 tracks them)."""
        out = []
        if self._loss_tracker is not None:
            out.append(self._loss_tracker)
        if self._compile_loss is not None and self._compile_loss.built:
            out.extend(self._compile_loss.metrics)
        if self._compile_metrics is not None and self._compile_metrics.built:
            out.extend(self._compile_metrics.metrics)
        seen = {id(m) for m in out}
        for k, v in vars(self).items():
            if k in _TRAINER_ATTRS:
                continue
            for m in (v if isinstance(v, (list, tuple)) else [v]):
                if isinstance(m, Metric) and id(m) not in seen:
                    seen.add(id(m))
                    out.append(m)
        return out

    @property
    def metrics_names(self) -> list:
        """Keras 3's names: the compiled metrics are one container there
        ("compile_metrics"), before the per-output losses and the custom
        trackers."""
        compiled = []
        if self._compile_loss is not None and self._compile_loss.built:
            compiled += self._compile_loss.metrics
        if self._compile_metrics is not None and self._compile_metrics.built:
            compiled += self._compile_metrics.metrics
        inner = {id(m) for m in compiled}
        names = []
        for m in self.metrics:
            if m is self._loss_tracker:
                names.append(m.name)
                if self._compile_metrics is not None:
                    names.append("compile_metrics")
                if self._compile_loss is not None and self._compile_loss.built:
                    names += [x.name for x in self._compile_loss.metrics]
            elif id(m) not in inner:
                names.append(m.name)
        return names

    def reset_metrics(self) -> None:
        for m in self.metrics:
            m.reset_state()

    def _logs(self) -> dict:
        if self._step_logs is not None:  # what an overridden step returned
            # sorted by key, as Keras 3's pythonify_logs hands them on
            return dict(sorted(self._step_logs.items()))
        logs = {}
        for m in self.metrics:
            r = m.result()
            if isinstance(r, dict):
                logs.update({k: _float(v) for k, v in r.items()})
            else:
                logs[m.name] = _float(r)
        return dict(sorted(logs.items()))

    def _ordered_results(self, logs: dict):
        # Keras 3's _flatten_metrics_in_order: the metrics' order, then the
        # other logs (an overridden step's own keys) sorted by name. The
        # compiled metrics of several outputs fall in the second group:
        # Keras looks them up by their own names, which their prefixed log
        # names do not match.
        cm = self._compile_metrics
        skip = {id(m) for m in cm.metrics} if (
            cm is not None and cm.built and getattr(cm, "prefixed", False)) \
            else set()
        names = [m.name for m in self.metrics if id(m) not in skip]
        return [logs[n] for n in names if n in logs] + [
            logs[k] for k in sorted(logs) if k not in names]

    # --- programs --------------------------------------------------------------------

    def _input_names(self, n):
        names = getattr(self, "input_names", None)
        if not names or len(names) != n or len(set(names)) != n:
            return ["x"] if n == 1 else [f"x{i}" for i in range(n)]
        return [n_ if ir.text.NAME_RE.match(n_) else f"x{i}"
                for i, n_ in enumerate(names)]

    def _output_names_for(self, n):
        names = getattr(self, "output_names", None)
        if names and len(names) == n:
            return list(names)
        return ["output"] if n == 1 else [f"output_{i + 1}" for i in range(n)]

    def _entry(self, kind, xs, ys, sws, x_template):
        """The cached step for this data (traced on a miss). A step that
        cannot keep the batch size symbolic (NeedsConcreteBatch) is traced
        per batch size from then on."""
        concrete = kind in self.__dict__.get("_concrete_batch_kinds", ())

        def make():
            traced = trainer_steps.trace(self, kind, xs, ys, sws, x_template,
                                         concrete_batch=concrete)
            exe = make_executable(traced.program, STORE,
                                  run_eagerly=self.run_eagerly)
            dp = self.__dict__.get("_dp")
            if dp is not None:  # DataParallel ranks
                exe = dp.wrap(exe, traced.program, kind)
            return Entry(exe, traced.program, traced.log_names)

        dp = self.__dict__.get("_dp")
        variant = None if dp is None else dp.key
        if concrete:
            variant = (variant, "batch", int(xs[0].shape[0]) if xs else 0)
        try:
            return self._steps.get(self, kind, xs, ys, sws, x_template, make,
                                   variant=variant)
        except tracing.NeedsConcreteBatch:
            if concrete or not xs:
                raise
            self.__dict__.setdefault("_concrete_batch_kinds", set()).add(kind)
            return self._entry(kind, xs, ys, sws, x_template)

    def _executable(self, kind, xs, ys, sws, x_template):
        return self._entry(kind, xs, ys, sws, x_template).executable

    # --- the steps (Keras 3's seams) ---------------------------------------------

    def train_step(self, data):
        """One training step on `data` (`x`, `(x, y)` or `(x, y,
        sample_weight)`): forward, `compute_loss`, gradients, the
        optimizer, `compute_metrics`; returns the logs. Override it to
        customize what fit() does; it is traced into one program (see
        docs/custom_training.md)."""
        x, y, sw = trainer_steps.unpack_x_y_sample_weight(data)
        self._train_body(x, y, sw)
        return self.get_metrics_result()

    def test_step(self, data):
        """One evaluation step on `data`; returns the logs."""
        x, y, sw = trainer_steps.unpack_x_y_sample_weight(data)
        self._test_body(x, y, sw)
        return self.get_metrics_result()

    def predict_step(self, data):
        """The outputs of the model for one batch `data`."""
        x, _, _ = trainer_steps.unpack_x_y_sample_weight(data)
        return self._predict_body(x)

    def _predict_body(self, x):
        return self(x, training=False)

    def _call_compute_loss(self, x, y, y_pred, sw, training):
        fn = self.compute_loss
        try:
            takes = "training" in inspect.signature(fn).parameters
        except (TypeError, ValueError):
            takes = False
        kw = {"training": training} if takes else {}
        loss = fn(x=x, y=y, y_pred=y_pred, sample_weight=sw, **kw)
        return ops.cast(loss, "float32")

    def _update_metrics(self, x, y, y_pred, sw):
        if trainer_steps.overrides(self, "compute_metrics"):
            self.compute_metrics(x, y, y_pred, sw)
        else:
            self._update_compile_metrics(y, y_pred, sw)

    def _train_body(self, x, y, sw):
        """The built-in train step in the active trace; returns the loss."""
        if tracing.current_trace() is None:
            raise RuntimeError(
                f"{type(self).__name__}.train_step() runs traced by fit() "
                "(one compiled program per step); it cannot be called on "
                "arrays. Use model.train_on_batch(x, y) for one step."
            )
        y_pred = self(x, training=True)
        total = self._call_compute_loss(x, y, y_pred, sw, True)
        self._loss_tracker.update_state(total, sample_weight=ops.batch_size(
            _first_tensor(x, y_pred)))
        self._update_metrics(x, y, y_pred, sw)
        # the gradients are those of the scaled loss (loss_scale_factor,
        # LossScaleOptimizer); the logs keep the loss itself (Keras)
        scaled = total
        if hasattr(self.optimizer, "scale_loss"):
            scaled = self.optimizer.scale_loss(total)
        trace = tracing.current_trace()
        dp, count = self._dp_count(trace)
        if dp is not None:
            scaled = dp.scale_loss(scaled, count)
        if not self.optimizer.built and self.trainable_weights:
            # slots for every trainable variable, as Keras 3 builds the
            # optimizer (one the loss does not use has them in saved files)
            self.optimizer.build(self.trainable_weights)
        train_vars = [v for v in self.trainable_weights
                      if v.key in trace.params]
        if train_vars:
            grads = gradient(scaled, train_vars)
            if dp is not None:  # summed across ranks in the step
                grads = dp.reduce_step(self, trace, grads, count)
            self.optimizer.apply(grads, train_vars)
        return total

    def _dp_count(self, trace):
        """(DataParallel hooks, this rank's sample-count input) of the step
        being traced, or (None, None) in one process."""
        dp = self.__dict__.get("_dp")
        if dp is None or trace is None:
            return None, None
        return dp, getattr(trace, "dp_count", None)

    def _test_body(self, x, y, sw):
        y_pred = self(x, training=False)
        total = self._call_compute_loss(x, y, y_pred, sw, False)
        self._loss_tracker.update_state(total, sample_weight=ops.batch_size(
            _first_tensor(x, y_pred)))
        self._update_metrics(x, y, y_pred, sw)
        dp, count = self._dp_count(tracing.current_trace())
        if dp is not None:
            dp.reduce_step(self, tracing.current_trace(), [], count)
        return total

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None,
                     training=True):
        """The total loss of a batch: the compiled losses (weighted per
        output), plus the losses added with `add_loss()` during the
        forward pass and the weight regularization penalties.

        Args:
            x: the inputs (unused by the default; kept for overrides).
            y: the targets (one per output).
            y_pred: the model's outputs.
            sample_weight: sample weights (one array, or one per output).
            training: whether the step trains.

        Returns:
            A float32 scalar tensor.
        """
        flat_pred = tree.flatten(y_pred)
        n_out = len(flat_pred)
        output_names = self._output_names_for(n_out)
        y_true = [] if y is None else tree.flatten(y)
        if y is not None and len(y_true) != n_out:
            y_true = self._targets_of_partial_loss(y_true, flat_pred)
        if y is not None and len(y_true) != n_out:
            raise ValueError(
                f"The model has {n_out} output(s) ({output_names}), but "
                f"{len(y_true)} target array(s) were given. Pass one target "
                "per output."
            )
        sw_in = None if sample_weight is None else tree.flatten(sample_weight)
        if sw_in is not None and len(sw_in) == 1 and n_out > 1:
            sw_in = sw_in * n_out
        total = None
        if self._compile_loss is not None:
            if y is None:
                raise ValueError(
                    "The model was compiled with a loss, but no targets "
                    "(y) were given. Pass `y` to fit / evaluate."
                )
            if not self._compile_loss.built:
                self._compile_loss.build(y_true, flat_pred, output_names,
                                         dict_outputs=isinstance(y_pred, dict))
            batch = ops.batch_size(_first_tensor(x, y_pred))
            total = self._compile_loss(y_true, flat_pred, sw_in, batch)
        trace = tracing.current_trace()
        extra = (list(trace.losses) if trace is not None else []) + \
            self._traced_regularization_all()
        for e in extra:
            # Keras sums a non-scalar add_loss() value
            e = ops.sum(ops.cast(e, "float32"))
            total = e if total is None else ops.add(total, e)
        if total is None:
            raise ValueError(
                "No loss to compute. Provide a `loss` argument in "
                "`compile()`."
            )
        return ops.cast(total, "float32")

    def _targets_of_partial_loss(self, y_true, flat_pred):
        """Keras 3: with a list loss that is None for some outputs (keras.io's
        miniature GPT: outputs [logits, x], loss=[fn, None]), the targets
        given go to the outputs that have a loss, in order; the others get
        their prediction as a stand-in nothing reads. Else y_true as is."""
        loss = getattr(self._compile_loss, "_user_loss", None)
        if not isinstance(loss, (list, tuple)) or len(loss) != len(flat_pred):
            return y_true
        with_loss = [i for i, fn in enumerate(loss) if fn is not None]
        if len(with_loss) != len(y_true):
            return y_true
        out = list(flat_pred)
        for i, t in zip(with_loss, y_true):
            out[i] = t
        return out

    def _update_compile_metrics(self, y, y_pred, sample_weight):
        if self._compile_metrics is None or y is None:
            return
        flat_pred = tree.flatten(y_pred)
        output_names = self._output_names_for(len(flat_pred))
        y_true = tree.flatten(y)
        if len(y_true) != len(flat_pred):
            y_true = self._targets_of_partial_loss(y_true, flat_pred)
        sw_in = None if sample_weight is None else tree.flatten(sample_weight)
        if sw_in is not None and len(sw_in) == 1 and len(flat_pred) > 1:
            sw_in = sw_in * len(flat_pred)
        if not self._compile_metrics.built:
            self._compile_metrics.build(y_true, flat_pred, output_names)
        self._compile_metrics.update_state(y_true, flat_pred, sw_in,
                                           output_names)

    def compute_metrics(self, x, y, y_pred, sample_weight=None):
        """Update the compiled metrics with one batch; returns the logs
        (`get_metrics_result()`), as Keras 3's default."""
        self._update_compile_metrics(y, y_pred, sample_weight)
        return self.get_metrics_result()

    def get_metrics_result(self) -> dict:
        """{name: result} of `self.metrics` (a metric with several results
        contributes each)."""
        out = {}
        for m in self.metrics:
            r = m.result()
            if isinstance(r, dict):
                out.update(r)
            else:
                out[m.name] = r
        return out

    def _symbolic_build(self, x, y) -> None:
        """Before an overridden step: the optimizer and the compiled loss
        and metrics exist, so `self.metrics` and the state of a
        `train_step(state, data)` list every variable (Keras 3's symbolic
        build, on a throwaway trace of the forward pass)."""
        if self.optimizer is not None and not self.optimizer.built and \
                self.trainable_variables:
            self.optimizer.build(self.trainable_variables)
        cl, cm = self._compile_loss, self._compile_metrics
        if y is None or ((cl is None or cl.built) and (cm is None or cm.built)):
            return
        spec = tracing.Trace(kind="spec")
        count = iter(range(10**6))
        with spec:
            def spec_input(t):
                return spec.input(f"in{next(count)}", t.shape, t.dtype)

            xs = tree.map_structure(spec_input, x)
            ys = tree.map_structure(spec_input, y)
            try:
                y_pred = self(xs, training=False)
            except NotImplementedError:
                return  # no call(): only the overridden step knows
            flat = tree.flatten(y_pred)
            names = self._output_names_for(len(flat))
            if len(tree.flatten(ys)) != len(flat):
                return
            if cl is not None and not cl.built:
                cl.build(tree.flatten(ys), flat, names,
                         dict_outputs=isinstance(y_pred, dict))
            if cm is not None and not cm.built:
                cm.build(tree.flatten(ys), flat, names)

    def _traced_regularization_all(self) -> list:
        out = []
        layers = [self] + self._all_sublayers()
        for layer in layers:
            for v in layer._all_own_variables():
                if v.regularizer is not None and v.trainable and layer.trainable:
                    out.append(ops.cast(v.regularizer(v.value), "float32"))
        return out

    # --- steps -----------------------------------------------------------------------

    def _check_inputs(self, xs, x_template):
        spec = getattr(self, "input_spec", None)
        if spec is None:
            return
        from .layers.input_spec import assert_input_compatibility

        data = tree.pack_like(x_template, xs) if x_template is not None else xs[0]
        if isinstance(spec, dict) and isinstance(data, dict):
            data = [data[k] for k in spec]
            spec = list(spec.values())
        elif isinstance(spec, dict):
            spec = list(spec.values())
        if isinstance(data, dict):
            names = getattr(self, "input_names", list(data))
            data = [data[k] for k in names if k in data]
        flat_spec = tree.flatten(spec)
        flat = tree.flatten(data)
        if len(flat) != len(flat_spec):
            raise ValueError(
                f'Layer "{self.name}" expects {len(flat_spec)} input(s), but it '
                f"received {len(flat)} input tensors."
            )
        shapes = [_ShapeOnly((None,) + a.shape[1:]) for a in flat]
        assert_input_compatibility(flat_spec, shapes, self.name)

    def _host_stage_of(self):
        """The host stage of a functional / Sequential model with host
        layers at its front (models/host_stage.py), else None."""
        fn = self if hasattr(self, "_inputs_struct") else \
            self.__dict__.get("_functional")
        return None if fn is None else fn.__dict__.get("_host")

    def _takes_strings(self) -> bool:
        """Whether fit / predict data may hold strings: the model has a
        host stage, or is an unbuilt Sequential whose first layer is a
        host layer."""
        if self._host_stage_of() is not None:
            return True
        layers = self.__dict__.get("_layers")
        if not layers or self.__dict__.get("_functional") is not None:
            return False
        from .layers.host import is_host_layer

        return is_host_layer(layers[0])

    def _run_step(self, kind, batch, x_template):
        host = self._host_stage_of()
        if host is not None:  # the host layers, in NumPy, on this batch
            batch, x_template = host.stage_batch(batch)
        return self._run_staged(kind, batch, x_template)

    def _run_staged(self, kind, batch, x_template):
        xs, ys, sws = batch
        if kind != "predict" and ys is not None and sws is None:
            sws = None
        entry = self._entry(kind, xs, ys if kind != "predict" else None,
                            sws if kind != "predict" else None, x_template)
        self._check_labels(kind, ys)
        args = list(xs)
        if kind != "predict":
            args += list(ys or [])
            args += list(sws or [])
        res = entry.executable.run(args)
        self._note_logs(entry, res)
        return res

    def _note_logs(self, entry, res) -> None:
        self._step_logs = None if entry.log_names is None else {
            k: _float(v) for k, v in zip(entry.log_names, res)}

    def _groups(self, batches):
        """(index of the first batch, [batches]) in groups of
        steps_per_execution (the last group may be shorter)."""
        k = max(1, self.steps_per_execution)
        group, first = [], 0
        for i, batch in enumerate(batches):
            if not group:
                first = i
            group.append(batch)
            if len(group) == k:
                yield first, group
                group = []
        if group:
            yield first, group

    def _run_steps(self, kind, group, x_template):
        """Run several batches; one native call when the executable can
        (steps_per_execution), else one call per batch."""
        if len(group) == 1:
            return [self._run_step(kind, group[0], x_template)]
        host = self._host_stage_of()
        if host is not None:
            staged = [host.stage_batch(b) for b in group]
            group = [b for b, _ in staged]
            x_template = staged[0][1]
        xs, ys, sws = group[0]
        entry = self._entry(kind, xs, ys, sws, x_template)
        exe = entry.executable
        same = all(
            [a.shape[1:] + (a.dtype,) for a in b[0] + (b[1] or []) + (b[2] or [])]
            == [a.shape[1:] + (a.dtype,) for a in xs + (ys or []) + (sws or [])]
            for b in group)
        if same and hasattr(exe, "run_steps"):
            for b in group:
                self._check_labels(kind, b[1])
            res = exe.run_steps([list(b[0]) + list(b[1] or []) +
                                 list(b[2] or []) for b in group])
            self._note_logs(entry, res[-1])
            return res
        return [self._run_staged(kind, b, x_template) for b in group]

    def _adapter(self, x, y=None, sample_weight=None, **kwargs):
        """make_adapter, its batches matched to the model's inputs and
        outputs when they are known (data.StandardizedAdapter)."""
        if sample_weight is not None and \
                kwargs.get("class_weight") is not None:
            # Keras 3 refuses the pair rather than multiplying them
            raise ValueError(
                "You cannot `class_weight` and `sample_weight` at the same "
                f"time: received class_weight={kwargs['class_weight']!r} and "
                f"a sample_weight of type {type(sample_weight).__name__}. "
                "Fold the class weights into sample_weight instead."
            )
        cap = _config.max_steps_per_epoch()  # keras.config's debugging cap
        if cap and (not kwargs.get("steps") or cap < kwargs["steps"]):
            warnings.warn(f"Limiting steps_per_epoch to {cap}", stacklevel=3)
            kwargs["steps"] = cap
        adapter = make_adapter(x, y, sample_weight,
                               strings=self._takes_strings(), **kwargs)
        dp = self.__dict__.get("_dp")
        fn = self if hasattr(self, "_inputs_struct") else getattr(
            self, "_functional", None)
        if fn is None:
            return adapter if dp is None else dp.shard(adapter)
        struct = fn._inputs_struct
        input_keys = list(struct) if isinstance(struct, dict) else \
            fn.input_names
        outs = fn.outputs
        n_classes = None
        if len(outs) == 1 and outs[0].shape and isinstance(
                outs[0].shape[-1], int):
            n_classes = max(2, outs[0].shape[-1])
        adapter = StandardizedAdapter(adapter, input_keys, fn.output_names,
                                      n_classes, self._index_limits(fn),
                                      [struct[k].shape for k in input_keys]
                                      if isinstance(struct, dict) else
                                      [t.shape for t in fn._inputs])
        return adapter if dp is None else dp.shard(adapter)

    def _feeds_embedding(self) -> bool:
        """Whether an Input feeds an Embedding directly: its data's indices
        are checked by the adapter, which the float32 fast path of
        predict skips (float indices are cast, as Keras does; out of range,
        the compiled gather clamps where the adapter raises)."""
        cached = self.__dict__.get("_feeds_embedding_cache")
        if cached is not None and cached[0] == structure_version():
            return cached[1]
        fn = self if hasattr(self, "_inputs_struct") else getattr(
            self, "_functional", None)
        feeds = bool(fn is not None and self._index_limits(fn))
        self.__dict__["_feeds_embedding_cache"] = (structure_version(), feeds)
        return feeds

    @staticmethod
    def _index_limits(fn) -> list:
        """(input index, input_dim, layer name) of the model's Inputs that
        feed an Embedding directly (data.StandardizedAdapter checks them)."""
        from .layers.embedding import Embedding

        ids = {id(t): i for i, t in enumerate(fn._inputs)}
        out = []
        for node in getattr(fn, "_nodes", ()):
            op = node.operation
            if isinstance(op, Embedding) and node.input_tensors and id(
                    node.input_tensors[0]) in ids:
                out.append((ids[id(node.input_tensors[0])], op.input_dim,
                            op.name))
        return out

    def _check_labels(self, kind, ys) -> None:
        if kind != "predict" and self._compile_loss is not None and \
                self._compile_loss.sparse_outputs:
            self._compile_loss.check_labels(ys)

    def _first_batch(self, xs, x_template):
        """Before the first step on some data: build the model on it and
        check it against the model's inputs (once per fit / evaluate /
        predict)."""
        if not self.built:
            data = tree.pack_like(x_template, xs) if x_template is not None \
                else xs[0]
            self._maybe_build(data)
        self._check_inputs(xs, x_template)

    # --- fit -----------------------------------------------------------------------

    def fit(self, x=None, y=None, batch_size=None, epochs=1, verbose="auto",
            callbacks=None, validation_split=0.0, validation_data=None,
            shuffle=True, class_weight=None, sample_weight=None,
            initial_epoch=0, steps_per_epoch=None, validation_steps=None,
            validation_batch_size=None, validation_freq=1):
        """Train the model; returns a History (Keras 3's signature and
        defaults)."""
        self._assert_compiled("fit")
        verbose = self._distributed(verbose)
        batch_size = check_count("batch_size", batch_size)
        epochs = check_count("epochs", epochs, minimum=0, allow_none=False)
        cap = _config.max_epochs()  # keras.config.set_max_epochs
        if cap and cap < epochs:
            warnings.warn(f"Limiting epochs to {cap}", stacklevel=2)
            epochs = cap
        initial_epoch = check_count("initial_epoch", initial_epoch, minimum=0,
                                    allow_none=False)
        steps_per_epoch = check_count("steps_per_epoch", steps_per_epoch)
        validation_steps = check_count("validation_steps", validation_steps)
        validation_batch_size = check_count("validation_batch_size",
                                            validation_batch_size)
        validation_split = check_validation_split(validation_split)
        validation_freq = check_validation_freq(validation_freq)
        if validation_data is not None:
            validation_data = check_validation_data(
                validation_data, self._compile_loss is not None)
        from .callbacks import Callback

        if isinstance(callbacks, Callback):  # Keras flattens one callback
            callbacks = [callbacks]
        if self.__dict__.get("_dp") is not None:
            callbacks = self._dp.fit_callbacks(callbacks)
        if validation_split and validation_data is None:
            (x, y, sample_weight), (vx, vy, vsw) = train_validation_split(
                (x, y, sample_weight), validation_split)
            validation_data = (vx, vy, vsw)
        train = self._adapter(x, y, sample_weight, batch_size=batch_size,
                              shuffle=shuffle, class_weight=class_weight,
                              steps=steps_per_epoch)
        val = None
        if validation_data is not None:
            vx, vy, vsw = validation_data
            val = self._adapter(vx, vy, vsw,
                                batch_size=validation_batch_size or batch_size,
                                steps=validation_steps, repeat=False)
        cbs = callbacks if isinstance(callbacks, CallbackList) else CallbackList(
            callbacks, add_history=True, add_progbar=verbose != 0, model=self,
            verbose=verbose, epochs=epochs, steps=train.num_batches)
        self.stop_training = False
        cbs.on_train_begin()
        # BackupAndRestore resumes an interrupted fit from a later epoch
        resume = self.__dict__.pop("_initial_epoch", None)
        if resume is not None:
            initial_epoch = max(initial_epoch, int(resume))
        logs = {}
        epoch_logs = {}
        # a batch's logs (every metric's result) only when a callback reads
        # them: ~20-40 us of Python a step (W1: 1-2% of a two-thread step)
        batch_logs = cbs.reads_batch_logs("train")
        for epoch in range(initial_epoch, epochs):
            self.reset_metrics()
            cbs.on_epoch_begin(epoch)
            step = -1
            for first, group in self._groups(train.epoch()):
                if first == 0 and epoch == initial_epoch:
                    self._first_batch(group[0][0], train.x_template)
                step = first + len(group) - 1
                cbs.on_train_batch_begin(first)
                self._run_steps("train", group, train.x_template)
                logs = self._logs() if batch_logs else {}
                cbs.on_train_batch_end(step, logs)
                if self.stop_training:
                    break
            if not batch_logs and step >= 0:
                logs = self._logs()  # (the results after the last batch)
            if step < 0:
                raise ValueError(
                    "The training data yielded no batches in epoch "
                    f"{epoch + 1}: a generator given to fit() must yield "
                    "enough batches for every epoch (set steps_per_epoch)."
                )
            train.on_epoch_end()
            epoch_logs = dict(logs)
            if val is not None and self._should_validate(epoch, validation_freq):
                val_logs = self._evaluate_adapter(val, cbs, in_fit=True)
                epoch_logs.update({"val_" + k: v for k, v in val_logs.items()})
            cbs.on_epoch_end(epoch, epoch_logs)
            if self.stop_training:
                break
        if epochs > 0 and hasattr(self.optimizer, "finalize_variable_values"):
            # use_ema: the weights take their averages (Keras 3, before
            # on_train_end, so EarlyStopping's restored weights win)
            self.optimizer.finalize_variable_values(self.trainable_weights)
        cbs.on_train_end(epoch_logs)
        return cbs.history

    @staticmethod
    def _should_validate(epoch, freq):
        if isinstance(freq, int):
            return (epoch + 1) % freq == 0
        return (epoch + 1) in freq

    # --- evaluate ------------------------------------------------------------------

    def _evaluate_adapter(self, adapter, cbs, in_fit=False):
        self.reset_metrics()
        cbs.on_test_begin()
        logs = {}
        for step, batch in enumerate(adapter.epoch()):
            if step == 0:
                self._first_batch(batch[0], adapter.x_template)
            cbs.on_test_batch_begin(step)
            self._run_step("test", batch, adapter.x_template)
            logs = self._logs()
            cbs.on_test_batch_end(step, logs)
        logs = self._logs()
        cbs.on_test_end(logs)
        return logs

    def evaluate(self, x=None, y=None, batch_size=None, verbose="auto",
                 sample_weight=None, steps=None, callbacks=None,
                 return_dict=False, **kwargs):
        """The loss and metrics on the data: a scalar without metrics, a
        list with them (loss first), a dict with return_dict=True."""
        self._assert_compiled("evaluate")
        verbose = self._distributed(verbose)
        adapter = self._adapter(x, y, sample_weight, batch_size=batch_size,
                                steps=steps, repeat=False)
        cbs = callbacks if isinstance(callbacks, CallbackList) else CallbackList(
            callbacks, add_progbar=verbose != 0, model=self, verbose=verbose,
            epochs=1, steps=adapter.num_batches)
        logs = self._evaluate_adapter(adapter, cbs)
        if return_dict:
            return logs
        results = self._ordered_results(logs)
        return results[0] if len(results) == 1 else results

    # --- predict -----------------------------------------------------------------

    def predict(self, x, batch_size=None, verbose="auto", steps=None,
                callbacks=None):
        """Outputs for x, batch by batch, concatenated (NumPy arrays in the
        structure of the model's outputs)."""
        if (verbose == 0 and batch_size is None and steps is None
                and callbacks is None and x.__class__ is np.ndarray and x.ndim
                and 0 < len(x) <= 32):
            return self.predict_on_batch(x)  # (as below, sooner)
        batch_size = check_count("batch_size", batch_size)
        verbose = self._distributed(verbose)
        if (verbose == 0 and callbacks is None and steps is None
                and isinstance(x, np.ndarray) and x.ndim
                and 0 < len(x) <= (batch_size or 32)):
            # one batch, no callback to call and nothing to print: the
            # same result as the loop below, without its per-call work
            return self.predict_on_batch(x)
        adapter = self._adapter(x, batch_size=batch_size, steps=steps,
                                repeat=False)
        cbs = callbacks if isinstance(callbacks, CallbackList) else CallbackList(
            callbacks, add_progbar=verbose != 0, model=self, verbose=verbose,
            epochs=1, steps=adapter.num_batches)
        cbs.on_predict_begin()
        outs = None
        for step, batch in enumerate(adapter.epoch()):
            if step == 0:
                self._first_batch(batch[0], adapter.x_template)
            cbs.on_predict_batch_begin(step)
            res = self._run_step("predict", batch, adapter.x_template)
            outs = [[r] for r in res] if outs is None else [
                o + [r] for o, r in zip(outs, res)]
            cbs.on_predict_batch_end(step, {"outputs": res})
        cbs.on_predict_end()
        if outs is None:
            raise ValueError("predict() received no data.")
        flat = [np.concatenate(o, axis=0) for o in outs]
        return self._pack_outputs(flat)

    def _pack_outputs(self, flat):
        half = self.__dict__.get("_half_outputs")
        if half is not None and len(half) == len(flat):
            # float16 values (a mixed_float16 layer's outputs) as float16
            # arrays, as Keras returns them
            flat = [a.astype(np.float16) if h and a.dtype == np.float32
                    else a for a, h in zip(flat, half)]
        struct = getattr(self, "_outputs_struct", None)
        if struct is None and getattr(self, "_functional", None) is not None:
            struct = self._functional._outputs_struct
        if struct is not None:
            return tree.pack_like(struct, flat)
        return flat[0] if len(flat) == 1 else flat

    # --- on-batch -------------------------------------------------------------------

    def _single_batch(self, x, y, sample_weight, class_weight=None,
                      allow_empty=False):
        adapter = self._adapter(x, y, sample_weight, batch_size=2**62,
                                class_weight=class_weight,
                                allow_empty=allow_empty)
        batch = next(iter(adapter.epoch()))
        self._first_batch(batch[0], adapter.x_template)
        return adapter, batch

    def train_on_batch(self, x, y=None, sample_weight=None, class_weight=None,
                       return_dict=False):
        """One training step on one batch; returns its loss and metrics
        (the metrics are reset first, as in Keras 3)."""
        self._assert_compiled("train_on_batch")
        self._distributed()
        adapter, batch = self._single_batch(x, y, sample_weight, class_weight)
        self.reset_metrics()
        self._run_step("train", batch, adapter.x_template)
        logs = self._logs()
        if return_dict:
            return logs
        r = self._ordered_results(logs)
        return r[0] if len(r) == 1 else r

    def test_on_batch(self, x, y=None, sample_weight=None, return_dict=False):
        self._assert_compiled("test_on_batch")
        self._distributed()
        adapter, batch = self._single_batch(x, y, sample_weight)
        self.reset_metrics()
        self._run_step("test", batch, adapter.x_template)
        logs = self._logs()
        if return_dict:
            return logs
        r = self._ordered_results(logs)
        return r[0] if len(r) == 1 else r

    def predict_on_batch(self, x):
        """The model's outputs for one batch (NumPy arrays)."""
        fast = self._steps.fast
        if (fast is not None and fast[0] == structure_version()
                and fast[1] == self._compile_version
                and _dist.active() is None):
            # (never set for a model with a host stage: _predict_batch)
            # Fast path for one array (latency-bound serving): the
            # executable of the last call, when neither the variables nor
            # compile() changed since; it runs the step only on an array
            # like the last call's (an ndarray of that shape and dtype,
            # C-contiguous: checked there), else returns None
            res = fast[3](x)
            if res is not None:
                return res[0] if fast[4] else self._pack_outputs(list(res))
        return self._predict_batch(x)

    def _predict_batch(self, x):
        dp = self._distributed()
        if (x.__class__ is np.ndarray and dp is None
                and (x.dtype is _F32 or x.dtype == _F32) and x.ndim
                and x.flags.c_contiguous and self.built
                and not self._feeds_embedding()
                and self._host_stage_of() is None):
            fit = getattr(self, "_fit_input_ranks", None)
            if fit is not None:  # 1-D data for an Input((1,)) model
                x = fit(x)
            batch = ([x], None, None)
            self._check_inputs(batch[0], None)
            version = (structure_version(), self._compile_version)
            exe = self._executable("predict", batch[0], None, None, None)
            res = exe.run([x])
            out = self._pack_outputs(list(res))
            plain = len(res) == 1 and out is res[0]
            run1 = getattr(exe, "run1_fast", None)
            if run1 is not None and len(res) == 1 and isinstance(
                    out, np.ndarray) and out.dtype == np.float16:
                # one float16 output (mixed_float16): cast in the fast
                # path itself (_pack_outputs' cast, without its work)
                run1, plain = _float16_run(run1), True
            if run1 is not None and version == (structure_version(),
                                                self._compile_version):
                # (a model built by this call has a new version: the next
                # call fills the fast path)
                self._steps.fast = (*version, x.shape[1:], run1, plain)
            return out
        adapter, batch = self._single_batch(x, None, None, allow_empty=True)
        res = self._run_step("predict", batch, adapter.x_template)
        return self._pack_outputs(list(res))


# The trainer's own attributes, left out of the tracked metrics.
_TRAINER_ATTRS = frozenset({"_loss_tracker", "_compile_loss",
                            "_compile_metrics", "optimizer", "_steps"})


def _first_tensor(x, y_pred):
    """A tensor whose axis 0 is the batch (for the batch size)."""
    for t in tree.flatten(x) + tree.flatten(y_pred):
        if hasattr(t, "shape") and len(t.shape):
            return t
    raise ValueError("The step has no batched tensor to take the batch "
                     "size from.")


class _ShapeOnly:
    __slots__ = ("shape",)

    def __init__(self, shape):
        self.shape = shape
