"""Keras 3's stateless API: run a layer, an optimizer or a metric with the
values of its variables given, and get the new values back instead of
having them assigned.

    y_pred, nt_vars = model.stateless_call(t_vars, nt_vars, x)
    t_vars, opt_vars = optimizer.stateless_apply(opt_vars, grads, t_vars)
    m_vars = metric.stateless_update_state(m_vars, y, y_pred)

Inside a traced step the values are traced tensors: `substituted` points
the trace's latest value of each Variable at the given one, runs the
code, reads the latest values back, and restores the trace, so nothing
the stateless code assigned leaks into the step's updates. Outside a trace
(eager code) the same happens on the store's arrays.

Invariants: after `substituted` exits, the trace (or the store) holds
what it held before; a Variable first read inside it stays a parameter of
the step (its value is the stored one, as for any read).
"""

from __future__ import annotations

import contextlib

import numpy as np

from . import tracing
from .variables import STORE

__all__ = ["substituted", "stateless_call", "stateless_apply",
           "stateless_update_state", "stateless_result"]


def _check_count(what, owner, given, expected) -> None:
    if len(given) != len(expected):
        raise ValueError(
            f"Argument `{what}` must be a list of {len(expected)} values "
            f"(one per variable of {owner}). Received a list of "
            f"{len(given)} values."
        )


@contextlib.contextmanager
def substituted(pairs):
    """Run the block with each (Variable, value) pair's value as the
    Variable's; yields `read(variable)`, the latest value inside."""
    pairs = list(pairs)
    t = tracing.current_trace()
    if t is not None:
        for var, _ in pairs:
            t.read(var)
        saved_current, saved_updates = dict(t.current), dict(t.updates)
        for var, value in pairs:
            # the values stand for the variables: gradients flow into them
            t.assign(var, value, barrier=False)
        try:
            yield lambda var: t.read(var)
        finally:
            t.current = {k: saved_current.get(k, t.params[k])
                         for k in t.params}
            t.updates = saved_updates
        return
    saved = {var.key: STORE[var.key].copy() for var, _ in pairs}
    for var, value in pairs:
        var.assign(np.asarray(value))
    try:
        yield lambda var: var.numpy()
    finally:
        for var, _ in pairs:
            var.assign(saved[var.key])


def stateless_call(layer, trainable_variables, non_trainable_variables,
                   *args, return_losses=False, **kwargs):
    """`layer(*args, **kwargs)` with the given variable values; returns
    (outputs, new non-trainable values) (and the losses it added, with
    return_losses)."""
    t_vars = list(layer.trainable_variables)
    nt_vars = list(layer.non_trainable_variables)
    _check_count("trainable_variables", f'layer "{layer.name}"',
                 list(trainable_variables), t_vars)
    _check_count("non_trainable_variables", f'layer "{layer.name}"',
                 list(non_trainable_variables), nt_vars)
    pairs = list(zip(t_vars, trainable_variables)) + list(
        zip(nt_vars, non_trainable_variables))
    t = tracing.current_trace()
    n_losses = len(t.losses) if t is not None else 0
    with substituted(pairs) as read:
        outputs = layer(*args, **kwargs)
        new_nt = [read(v) for v in nt_vars]
    if not return_losses:
        return outputs, new_nt
    losses = list(t.losses[n_losses:]) if t is not None else list(
        layer.losses)
    return outputs, new_nt, losses


def stateless_apply(optimizer, optimizer_variables, grads,
                    trainable_variables):
    """One optimizer step on the given values; returns (new trainable
    values, new optimizer variable values)."""
    variables = optimizer._built_variables()
    if variables is None:
        raise ValueError(
            f"Optimizer {optimizer.name} must be built before "
            "stateless_apply(): call `optimizer.build(trainable_variables)`"
            " first."
        )
    opt_vars = list(optimizer.variables)
    _check_count("optimizer_variables", f"optimizer {optimizer.name}",
                 list(optimizer_variables), opt_vars)
    _check_count("trainable_variables", f"optimizer {optimizer.name}",
                 list(trainable_variables), variables)
    pairs = list(zip(opt_vars, optimizer_variables)) + list(
        zip(variables, trainable_variables))
    with substituted(pairs) as read:
        optimizer.apply(list(grads), variables)
        return ([read(v) for v in variables],
                [read(v) for v in optimizer.variables])


def stateless_update_state(metric, metric_variables, *args, **kwargs):
    """metric.update_state(*args) on the given state; returns the new."""
    mv = list(metric.variables)
    _check_count("metric_variables", f"metric {metric.name}",
                 list(metric_variables), mv)
    with substituted(zip(mv, metric_variables)) as read:
        metric.update_state(*args, **kwargs)
        return [read(v) for v in mv]


def stateless_result(metric, metric_variables):
    """metric.result() of the given state."""
    mv = list(metric.variables)
    _check_count("metric_variables", f"metric {metric.name}",
                 list(metric_variables), mv)
    with substituted(zip(mv, metric_variables)):
        return metric.result()
