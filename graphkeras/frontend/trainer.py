"""The training loop: compile / fit / evaluate / predict and the programs
they run.

`compile()` records the optimizer, losses and metrics. The first call that
needs a step traces the model into a Program (runtime/program.py):

- train: inputs (x..., y..., sample_weight...) -> forward(training=True),
  the loss (weighted per-output losses + regularization + add_loss), the
  loss tracker and metric state updates, `differentiate` w.r.t. the
  trainable variables read by the step, the optimizer's update ops;
- test: the same without gradients and optimizer (training=False);
- predict: forward(training=False) -> outputs.

Every persistent tensor the step reads is program *state* (a Variable in
the shared StateStore); everything it assigns is an *update* written back
after each call. One executable call runs one batch.

Invariants: a program is rebuilt only when what it computes changes: the
compile() call, the set of variables or their trainable flags, or the
per-sample shapes / dtypes of the data (the batch size is the IR symbol N
and never triggers a rebuild). A model whose Inputs have None in other
dimensions (sequences of any length) gets one program per concrete
per-sample shape, all sharing the weights and optimizer state in the
store; the most recently used `_MAX_PROGRAMS` are kept. Logs hold the
running epoch values of `model.metrics`, sorted by name as Keras 3 prints
them.
"""

from __future__ import annotations

import warnings

import numpy as np

from .. import config as _config
from .. import ir
from ..passes import differentiate
from ..runtime import Program, make_executable
from . import ops, tracing, tree
from .callbacks import CallbackList
from .compile_utils import CompileLoss, CompileMetrics
from . import distributed_trainer as _dist
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


def _float(x):
    # a Python float, or (a metric with several values, e.g. Precision with
    # a list of thresholds) the array itself, as Keras's pythonify_logs
    a = np.asarray(x)
    return float(a.reshape(())) if a.size == 1 else a


class Trainer:
    """Mixed into Model: compile, fit, evaluate, predict, *_on_batch."""

    def __init__(self):
        self.compiled = False
        self.optimizer = None
        self.loss = None
        self.stop_training = False
        self.history = None
        self._executables: dict = {}
        self._compile_version = 0
        self._run_eagerly = False
        self.steps_per_execution = 1
        self._loss_tracker = None
        self._compile_loss = None
        self._compile_metrics = None
        self._last_programs: dict = {}
        self._sig = None

    # --- compile -----------------------------------------------------------------

    def compile(self, optimizer="rmsprop", loss=None, loss_weights=None,
                metrics=None, weighted_metrics=None, run_eagerly=False,
                steps_per_execution=1, jit_compile="auto",
                auto_scale_loss=True):
        """Configure the model for training.

        Args:
            optimizer: name or Optimizer instance ("rmsprop").
            loss: name, function or Loss; or a list / dict per output.
            loss_weights: scalars weighting the per-output losses.
            metrics: names, functions or Metric instances; a list, or a
                list / dict per output. "accuracy" resolves from shapes.
            weighted_metrics: metrics that use the sample weights.
            run_eagerly: True runs the reference interpreter (debugging).
            steps_per_execution: batches run per executable call during
                fit (one native call for the whole group when compiled);
                batch callbacks see each group once.
        """
        from . import optimizers

        self.optimizer = optimizers.get(optimizer)
        self.loss = loss
        self._compile_loss = CompileLoss(loss, loss_weights) if (
            loss is not None) else None
        self._compile_metrics = CompileMetrics(metrics, weighted_metrics) if (
            metrics is not None or weighted_metrics is not None) else None
        self._loss_tracker = Mean(name="loss")
        self._run_eagerly = bool(run_eagerly)
        self.steps_per_execution = int(steps_per_execution)
        self.compiled = True
        self._compile_version += 1
        self._executables.clear()

    @property
    def run_eagerly(self) -> bool:
        return self._run_eagerly

    @run_eagerly.setter
    def run_eagerly(self, value) -> None:
        self._run_eagerly = bool(value)
        self._executables.clear()

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
        out = []
        if self._loss_tracker is not None:
            out.append(self._loss_tracker)
        if self._compile_loss is not None and self._compile_loss.built:
            out.extend(self._compile_loss.metrics)
        if self._compile_metrics is not None and self._compile_metrics.built:
            out.extend(self._compile_metrics.metrics)
        return out

    @property
    def metrics_names(self) -> list:
        return [m.name for m in self.metrics]

    def reset_metrics(self) -> None:
        for m in self.metrics:
            m.reset_state()

    def _logs(self) -> dict:
        logs = {m.name: _float(m.result()) for m in self.metrics}
        return dict(sorted(logs.items()))

    def _ordered_results(self, logs: dict):
        return [logs[m.name] for m in self.metrics if m.name in logs]

    # --- programs --------------------------------------------------------------------

    def _state_signature(self):
        version = (structure_version(), self._compile_version)
        cached = self.__dict__.get("_sig_cache")
        if cached is not None and cached[0] == version:
            return cached[1]
        sig = (self._compile_version,
               tuple((v.key, v.trainable) for v in self.variables))
        object.__setattr__(self, "_sig_cache", (version, sig))
        return sig

    def _input_names(self, n):
        names = getattr(self, "input_names", None)
        if not names or len(names) != n or len(set(names)) != n:
            return ["x"] if n == 1 else [f"x{i}" for i in range(n)]
        return [n_ if ir.text.NAME_RE.match(n_) else f"x{i}"
                for i, n_ in enumerate(names)]

    def _executable(self, kind, xs, ys, sws, x_template):
        key = (kind,
               tuple((a.shape[1:], a.dtype.str) for a in xs),
               None if ys is None else tuple((a.shape[1:], a.dtype.str)
                                             for a in ys),
               None if sws is None else tuple((a.shape[1:], a.dtype.str)
                                             for a in sws),
               repr(x_template),
               None if self.__dict__.get("_dp") is None else self._dp.key,
               self._sig)
        exe = self._executables.get(key)
        if exe is not None:
            # least recently used goes first: keep this one fresh
            self._executables[key] = self._executables.pop(key)
        else:
            program = self._build_program(kind, xs, ys, sws, x_template)
            exe = make_executable(program, STORE, run_eagerly=self.run_eagerly)
            if self.__dict__.get("_dp") is not None:  # DataParallel ranks
                exe = self._dp.wrap(exe, program, kind)
            while len(self._executables) >= _MAX_PROGRAMS:
                # NOTE: one program per per-sample shape (sequences of many
                # lengths): the least recently used goes, a later batch of
                # its shape traces it again (the compile cache makes that
                # cheap); weights and optimizer state live in the store.
                self._executables.pop(next(iter(self._executables)))
            self._executables[key] = exe
            self._last_programs[kind] = program
            # A first trace can create weights (subclassed models build on
            # their first call): file the program under the new signature
            # too, so the next batch does not trace it again.
            sig = self._state_signature()
            if sig != self._sig:
                self._sig = sig
                self._executables[key[:-1] + (sig,)] = exe
        return exe

    def _trace_forward(self, trace, xs, x_template, training):
        names = self._input_names(len(xs))
        inputs = [trace.input(name, (None,) + a.shape[1:], a.dtype.name)
                  for name, a in zip(names, xs)]
        packed = (tree.pack_like(x_template, inputs) if x_template is not None
                  else inputs[0])
        y_pred = self(packed, training=training)
        return inputs, y_pred

    def _output_names_for(self, n):
        names = getattr(self, "output_names", None)
        if names and len(names) == n:
            return list(names)
        return ["output"] if n == 1 else [f"output_{i + 1}" for i in range(n)]

    def _flatten_targets(self, ys, y_template, n_out):
        return ys

    def _build_program(self, kind, xs, ys, sws, x_template) -> Program:
        b = ir.Builder(f"{kind}_step")
        trace = tracing.Trace(b, kind)
        with trace:
            inputs, y_pred = self._trace_forward(trace, xs, x_template,
                                                 training=(kind == "train"))
            flat_pred = tree.flatten(y_pred)
            in_names = [p.value.name for p in inputs]
            if kind == "predict":
                results = [t.value for t in flat_pred]
                return self._finish(trace, results, in_names, n_out=len(results))
            n_out = len(flat_pred)
            output_names = self._output_names_for(n_out)
            if ys is not None and len(ys) != n_out:
                raise ValueError(
                    f"The model has {n_out} output(s) ({output_names}), but "
                    f"{len(ys)} target array(s) were given. Pass one target "
                    "per output."
                )
            y_true = [] if ys is None else [
                trace.input(f"y{i}" if n_out > 1 else "y",
                            (None,) + a.shape[1:], a.dtype.name)
                for i, a in enumerate(ys)]
            sw_in = None
            if sws is not None:
                sw_in = [trace.input(f"sample_weight{i}" if len(sws) > 1
                                     else "sample_weight",
                                     (None,) + a.shape[1:], a.dtype.name)
                         for i, a in enumerate(sws)]
                if len(sw_in) == 1 and n_out > 1:
                    sw_in = sw_in * n_out
            names = in_names + [t.value.name for t in y_true] + (
                [t.value.name for t in dict.fromkeys(sw_in)] if sw_in else [])
            batch = ops.batch_size(inputs[0])
            dp = self.__dict__.get("_dp")
            if dp is not None:  # this rank's samples (distributed_trainer)
                count = dp.count_input(trace)
                names.append(count.value.name)
            total = None
            if self._compile_loss is not None:
                if ys is None:
                    raise ValueError(
                        "The model was compiled with a loss, but no targets "
                        "(y) were given. Pass `y` to fit / evaluate."
                    )
                if not self._compile_loss.built:
                    self._compile_loss.build(y_true, flat_pred, output_names)
                total = self._compile_loss(y_true, flat_pred, sw_in, batch)
            extra = list(trace.losses) + self._traced_regularization_all()
            for e in extra:
                # Keras sums a non-scalar add_loss() value
                e = ops.sum(ops.cast(e, "float32"))
                total = e if total is None else ops.add(total, e)
            if total is None:
                raise ValueError(
                    "No loss to compute. Provide a `loss` argument in "
                    "`compile()`."
                )
            total = ops.cast(total, "float32")
            self._loss_tracker.update_state(total, sample_weight=batch)
            if self._compile_metrics is not None and ys is not None:
                if not self._compile_metrics.built:
                    self._compile_metrics.build(y_true, flat_pred, output_names)
                self._compile_metrics.update_state(y_true, flat_pred, sw_in,
                                                   output_names)
            # the gradients are those of the scaled loss (loss_scale_factor,
            # LossScaleOptimizer); the logs keep the loss itself (Keras)
            scaled = total
            if kind == "train" and hasattr(self.optimizer, "scale_loss"):
                scaled = self.optimizer.scale_loss(total)
            if dp is not None and kind == "train":
                scaled = dp.scale_loss(scaled, count)
        if kind == "test":
            if dp is not None:
                dp.reduce_step(self, trace, [], count)
            return self._finish(trace, [total.value], names, n_out=1)
        train_vars = [v for v in self.trainable_weights if v.key in trace.params]
        fn = b.build([scaled.value])
        if train_vars:
            fn = differentiate(fn, [v.key for v in train_vars])
            trace.builder = ir.Builder.from_function(fn)
            grads = [trace.wrap(g) for g in fn.results[1:]]
            if dp is not None:  # summed across ranks in the step
                grads = dp.reduce_step(self, trace, grads, count)
            with trace:
                self.optimizer.apply(grads, train_vars)
        return self._finish(trace, [total.value], names, n_out=1)

    def _finish(self, trace, results, input_names, n_out) -> Program:
        keys = list(trace.updates)
        all_results = list(results) + [trace.updates[k] for k in keys]
        fn = trace.builder.build(all_results)
        return Program(
            fn=fn,
            state=tuple(trace.variables),
            inputs=tuple(input_names),
            updates=tuple((k, len(results) + i) for i, k in enumerate(keys)),
            outputs=tuple(range(n_out)),
        )

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

    def _run_step(self, kind, batch, x_template):
        xs, ys, sws = batch
        if kind != "predict" and ys is not None and sws is None:
            sws = None
        exe = self._executable(kind, xs, ys if kind != "predict" else None,
                               sws if kind != "predict" else None, x_template)
        self._check_labels(kind, ys)
        args = list(xs)
        if kind != "predict":
            args += list(ys or [])
            args += list(sws or [])
        return exe.run(args)

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
        xs, ys, sws = group[0]
        exe = self._executable(kind, xs, ys, sws, x_template)
        same = all(
            [a.shape[1:] + (a.dtype,) for a in b[0] + (b[1] or []) + (b[2] or [])]
            == [a.shape[1:] + (a.dtype,) for a in xs + (ys or []) + (sws or [])]
            for b in group)
        if same and hasattr(exe, "run_steps"):
            for b in group:
                self._check_labels(kind, b[1])
            return exe.run_steps([list(b[0]) + list(b[1] or []) + list(b[2] or [])
                                  for b in group])
        return [self._run_step(kind, b, x_template) for b in group]

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
        adapter = make_adapter(x, y, sample_weight, **kwargs)
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

    def _ensure_built(self, xs, x_template):
        if not self.built:
            data = tree.pack_like(x_template, xs) if x_template is not None \
                else xs[0]
            self._maybe_build(data)

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
        self._sig = None
        cbs.on_train_begin()
        # BackupAndRestore resumes an interrupted fit from a later epoch
        resume = self.__dict__.pop("_initial_epoch", None)
        if resume is not None:
            initial_epoch = max(initial_epoch, int(resume))
        logs = {}
        epoch_logs = {}
        for epoch in range(initial_epoch, epochs):
            self.reset_metrics()
            cbs.on_epoch_begin(epoch)
            self._sig = self._state_signature()
            step = -1
            for first, group in self._groups(train.epoch()):
                if first == 0 and epoch == initial_epoch:
                    self._ensure_built(group[0][0], train.x_template)
                    self._sig = self._state_signature()
                    self._check_inputs(group[0][0], train.x_template)
                step = first + len(group) - 1
                cbs.on_train_batch_begin(first)
                self._run_steps("train", group, train.x_template)
                logs = self._logs()
                cbs.on_train_batch_end(step, logs)
                if self.stop_training:
                    break
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
        if not in_fit:
            self._sig = self._state_signature()
        cbs.on_test_begin()
        logs = {}
        for step, batch in enumerate(adapter.epoch()):
            if step == 0:
                self._ensure_built(batch[0], adapter.x_template)
                self._sig = self._state_signature()
                self._check_inputs(batch[0], adapter.x_template)
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
        self._sig = self._state_signature()
        cbs.on_predict_begin()
        outs = None
        for step, batch in enumerate(adapter.epoch()):
            if step == 0:
                self._ensure_built(batch[0], adapter.x_template)
                self._sig = self._state_signature()
                self._check_inputs(batch[0], adapter.x_template)
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
        self._ensure_built(batch[0], adapter.x_template)
        self._sig = self._state_signature()
        self._check_inputs(batch[0], adapter.x_template)
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
        dp = self._distributed()
        if (isinstance(x, np.ndarray) and x.dtype == np.float32 and x.ndim
                and x.flags.c_contiguous and self.built and dp is None):
            # Fast path for one array (latency-bound serving): the executable
            # of the last call, when neither the state signature nor the
            # per-sample shape changed (that shape was checked then)
            sig = self._state_signature()
            fast = self.__dict__.get("_predict_fast")
            if fast is not None and fast[0] == sig and fast[1] == x.shape[1:]:
                res = fast[2].run([x])
                return res[0] if fast[3] else self._pack_outputs(list(res))
            self._sig = sig
            fit = getattr(self, "_fit_input_ranks", None)
            if fit is not None:  # 1-D data for an Input((1,)) model
                x = fit(x)
            batch = ([x], None, None)
            self._check_inputs(batch[0], None)
            exe = self._executable("predict", batch[0], None, None, None)
            res = exe.run([x])
            out = self._pack_outputs(list(res))
            plain = len(res) == 1 and out is res[0]
            self.__dict__["_predict_fast"] = (self._state_signature(),
                                              x.shape[1:], exe, plain)
            return out
        adapter, batch = self._single_batch(x, None, None, allow_empty=True)
        res = self._run_step("predict", batch, adapter.x_template)
        return self._pack_outputs(list(res))


class _ShapeOnly:
    __slots__ = ("shape",)

    def __init__(self, shape):
        self.shape = shape
