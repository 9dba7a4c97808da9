"""Tracing one train / test / predict step of a model into a Program.

`trace_step(model, kind, xs, ys, sws, x_template)` makes the inputs of the
step (x..., y..., sample_weight...), packs them as Keras hands `data` to a
step (`x`, `(x, y)` or `(x, y, sample_weight)`), and runs the model's
`train_step` / `test_step` / `predict_step` under an active Trace: every op
they call records a node, every Variable they read becomes program state,
every assignment an update. The model's own override runs when it has one
(Keras 3's seams); the built-in steps of `Trainer` otherwise. Either way the
step is one Program, compiled once and run as one native call per batch.

The steps' results:
- built-in train / test: the loss (the logs are read from `model.metrics`,
  whose states the step updates);
- an overridden train / test step: the values of the logs dict it returns,
  in its order (`TracedStep.log_names` holds the keys);
- predict: the flattened outputs.

A `train_step(self, state, data)` (the form of Keras 3's JAX guide) gets
`state = (trainable, non_trainable, optimizer, metrics variables)` as traced
values and returns `(logs, state)`; the returned state is written back.

Invariants: the model's Variables are only read and assigned through the
trace (a traced step never touches the store); the optimizer and metric
variables a step creates are created eagerly, outside the trace.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass

import numpy as np

from .. import ir
from ..runtime import Program
from . import ops, tracing, tree
from .data import unpack_x_y_sample_weight
from .tensors import TracedTensor
from .utils.dataset_utils import pack_x_y_sample_weight

__all__ = ["TracedStep", "trace_step", "overrides", "unpack_x_y_sample_weight",
           "pack_x_y_sample_weight"]


@dataclass(frozen=True)
class TracedStep:
    """A traced step: its Program and, for a step that returns its logs,
    the names of the logs (the program's outputs, in order)."""

    program: Program
    log_names: tuple | None = None


def overrides(model, name: str) -> bool:
    """Whether the model's class defines its own `name` (train_step...)."""
    from .trainer import Trainer

    return getattr(type(model), name, None) is not getattr(Trainer, name)


def trace_step(model, kind: str, xs, ys=None, sws=None,
               x_template=None) -> Program:
    """The Program of one `kind` step ("train", "test" or "predict") of
    `model` for batches shaped like xs / ys / sws (NumPy arrays; only their
    per-sample shapes and dtypes matter)."""
    return trace(model, kind, xs, ys, sws, x_template).program


def trace(model, kind, xs, ys=None, sws=None, x_template=None,
          concrete_batch=False) -> TracedStep:
    """trace_step, with the log names of an overridden step; with
    `concrete_batch`, for this batch size only (the inputs' first dimension
    is the data's, not the symbol N)."""
    if kind not in ("train", "test", "predict"):
        raise ValueError(
            f'trace_step: kind must be "train", "test" or "predict". '
            f"Received: kind={kind!r}"
        )
    b = ir.Builder(f"{kind}_step")
    t = tracing.Trace(b, kind)
    with t:
        x, y, sw, names = _step_inputs(model, t, xs, ys, sws, x_template,
                                       kind, concrete_batch)
        if kind == "predict":
            data = x
            if not overrides(model, "predict_step"):
                out = model._predict_body(x)
            elif _takes_state(model.predict_step):
                out = _stateful_call(model, t, model.predict_step, data,
                                     kind)
            else:
                out = model.predict_step(data)
            flat = [_as_traced(t, o) for o in tree.flatten(out)]
            # the outputs a mixed_float16 layer made: predict returns them
            # as float16 arrays, as Keras does (trainer._pack_outputs)
            half = tuple(t.half_values.get(o.value.name, False)
                         for o in flat)
            model.__dict__["_half_outputs"] = half if any(half) else None
            return TracedStep(_finish(t, [o.value for o in flat], names,
                                      len(flat)))
        step = "train_step" if kind == "train" else "test_step"
        data = pack_x_y_sample_weight(x, y, sw)
        if not overrides(model, step):
            total = (model._train_body if kind == "train" else
                     model._test_body)(x, y, sw)
            return TracedStep(_finish(t, [total.value], names, 1))
        model._symbolic_build(x, y)
        if _takes_state(getattr(model, step)):
            logs = _stateful_call(model, t, getattr(model, step), data,
                                  kind)
        else:
            logs = getattr(model, step)(data)
        logs = _check_logs(model, step, logs)
        dp = model.__dict__.get("_dp")
        if dp is not None:  # metrics summed across ranks (distributed_trainer)
            logs = dp.finish_custom_step(model, t, logs)
        values = [_as_traced(t, v).value for v in logs.values()]
        return TracedStep(_finish(t, values, names, len(values)),
                          tuple(logs))


def _step_inputs(model, t, xs, ys, sws, x_template, kind,
                 concrete_batch=False):
    def per_batch(a):
        return tuple(a.shape) if concrete_batch else (None,) + a.shape[1:]

    in_names = model._input_names(len(xs))
    inputs = [t.input(n, per_batch(a), a.dtype.name)
              for n, a in zip(in_names, xs)]
    x = tree.pack_like(x_template, inputs) if x_template is not None \
        else inputs[0]
    names = [p.value.name for p in inputs]
    if kind == "predict":
        return x, None, None, names
    y = sw = None
    if ys is not None:
        y_in = [t.input(f"y{i}" if len(ys) > 1 else "y", per_batch(a),
                        a.dtype.name)
                for i, a in enumerate(ys)]
        names += [v.value.name for v in y_in]
        y = y_in[0] if len(y_in) == 1 else list(y_in)
        if sws is not None:
            sw_in = [t.input(f"sample_weight{i}" if len(sws) > 1
                             else "sample_weight", per_batch(a),
                             a.dtype.name) for i, a in enumerate(sws)]
            names += [v.value.name for v in sw_in]
            sw = sw_in[0] if len(sw_in) == 1 else list(sw_in)
    dp = model.__dict__.get("_dp")
    if dp is not None:  # this rank's samples (distributed_trainer)
        t.dp_count = dp.count_input(t)
        names.append(t.dp_count.value.name)
    return x, y, sw, names


def _as_traced(t, v):
    if isinstance(v, TracedTensor):
        return v
    v = ops.convert_to_tensor(v)
    if isinstance(v, TracedTensor):
        return v
    return t.wrap(t.builder.constant(np.asarray(v)))


def _check_logs(model, step, logs) -> dict:
    if logs is None:
        return {}
    if not isinstance(logs, dict):
        raise ValueError(
            f"{type(model).__name__}.{step}() must return a dict of logs "
            "(metric name -> value), e.g. "
            "`{m.name: m.result() for m in self.metrics}`. Received: "
            f"{type(logs).__name__} {logs!r}"
        )
    out = {}
    for k, v in logs.items():
        if isinstance(v, dict):  # a metric with several results
            out.update(v)
        else:
            out[k] = v
    return out


def _takes_state(method) -> bool:
    """train_step(self, state, data): the form of Keras 3's JAX guide."""
    try:
        params = [p for p in inspect.signature(method).parameters.values()
                  if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    except (TypeError, ValueError):
        return False
    return len(params) == 2


def _stateful_call(model, t, method, data, kind):
    """Run a `step(state, data) -> (logs, state)` with the variables'
    traced values as state, then write the returned state back. The state
    is Keras-JAX's: (trainable, non_trainable, optimizer, metrics
    variables) for train, without the optimizer's for test, and
    (trainable, non_trainable) for predict, which returns (outputs,
    non_trainable)."""
    groups = [list(model.trainable_variables),
              list(model.non_trainable_variables)]
    if kind == "train":
        groups.append(list(model.optimizer.variables) if model.optimizer
                      else [])
    if kind != "predict":
        groups.append([v for m in model.metrics for v in m.variables])
    state = tuple([t.read(v) for v in g] for g in groups)
    out = method(state, data)
    name = f"{type(model).__name__}.{method.__name__}(state, data)"
    if not isinstance(out, (tuple, list)) or len(out) != 2:
        raise ValueError(
            f"{name} must return "
            f"{'(outputs, non_trainable_variables)' if kind == 'predict' else '(logs, state)'}"
            f". Received: {out!r}"
        )
    result, new_state = out
    if kind == "predict":
        new_state, groups = (new_state,), groups[1:]
    new_state = tuple(new_state)
    if len(new_state) != len(groups):
        raise ValueError(
            f"{name} returned a state of {len(new_state)} lists; expected "
            f"{len(groups)}."
        )
    for i, (g, vals) in enumerate(zip(groups, new_state)):
        vals = list(vals)
        if len(vals) != len(g):
            raise ValueError(
                f"{name} returned a state whose element {i} has "
                f"{len(vals)} values; expected {len(g)} (one per variable)."
            )
        for v, val in zip(g, vals):
            t.assign(v, val)
    return result


def _finish(t, results, input_names, n_out) -> Program:
    # inputs a layer asked for while it was traced (a data-parallel rank's
    # first row in the global batch: distributed_trainer.row_offset_input)
    input_names = list(input_names) + t.__dict__.get("_late_inputs", [])
    keys = list(t.updates)
    all_results = list(results) + [t.updates[k] for k in keys]
    fn = t.builder.build(all_results)
    return Program(
        fn=fn,
        state=tuple(t.variables),
        inputs=tuple(input_names),
        updates=tuple((k, len(results) + i) for i, k in enumerate(keys)),
        outputs=tuple(range(n_out)),
    )
